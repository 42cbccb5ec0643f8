// Added tokens: tokens that live outside the model's learned vocabulary rules and are matched in the raw text
// before anything else happens. Special tokens ([CLS], [SEP], [MASK], <|endoftext|>) are added tokens; so are
// tokens a user adds for fine-tuning ("<user>", a domain word).
//
//   "[CLS] the [MASK] sat"  ->  "[CLS]" | " the " | "[MASK]" | " sat"
//                               the middle pieces go through normalize -> pre-tokenize -> model as usual;
//                               the added tokens become their ids directly, whatever the model would do.
//
// This follows Hugging Face's AddedVocabulary:
//   - tokens with normalized = false (the default for special tokens) are found in the ORIGINAL text;
//   - tokens with normalized = true are found in the normalized text (so "Yesterday" can match an added
//     "yesterday" under a lowercasing normalizer), after the first kind;
//   - matching is leftmost-longest: scanning left to right, the first position where any token matches wins,
//     and among tokens matching there the longest wins;
//   - single_word: only match when not glued to word characters on either side;
//   - lstrip / rstrip: the match swallows the whitespace on its left / right.

/** One added token, with its options (tokenizer.json names). */
export interface AddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** A piece of text after splitting on added tokens: [start, end) and the added token's id if it is one. */
export interface AddedSplit {
  start: number;
  end: number;
  id: number | undefined;
}

// Rust regex's Unicode \w and \s, which HF uses for single_word, lstrip and rstrip.
const WORD_CHAR = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;
const SPACE_CHAR = /\p{White_Space}/u;

/** Leftmost-longest matching over a fixed set of strings, indexed by first UTF-16 unit. */
class Matcher {
  private readonly byFirstUnit = new Map<number, AddedToken[]>();
  readonly size: number;

  /** `patterns[i]` is the text to look for; `tokens[i]` the added token it stands for. */
  constructor(patterns: readonly string[], tokens: readonly AddedToken[]) {
    patterns.forEach((p, i) => {
      if (p.length === 0) return;
      const first = p.charCodeAt(0);
      const list = this.byFirstUnit.get(first) ?? [];
      list.push({ ...tokens[i], content: p });
      this.byFirstUnit.set(first, list);
    });
    // Longest first, so the first hit at a position is the longest one.
    for (const list of this.byFirstUnit.values()) list.sort((a, b) => b.content.length - a.content.length);
    this.size = patterns.filter((p) => p.length > 0).length;
  }

  /** The leftmost-longest match starting at or after `from`, or undefined. */
  next(text: string, from: number): { start: number; end: number; token: AddedToken } | undefined {
    for (let i = from; i < text.length; i++) {
      const list = this.byFirstUnit.get(text.charCodeAt(i));
      if (!list) continue;
      for (const t of list) if (text.startsWith(t.content, i)) return { start: i, end: i + t.content.length, token: t };
    }
    return undefined;
  }
}

/**
 * Split `text` into added-token matches and the text between them (HF `find_matches`). The pieces cover the
 * whole text, in order. Example: with "[SEP]" added, "a[SEP]b" -> [0,1) text, [1,6) id, [6,7) text.
 */
function findMatches(text: string, matcher: Matcher | undefined): AddedSplit[] {
  if (!matcher || matcher.size === 0 || text.length === 0) return [{ start: 0, end: text.length, id: undefined }];
  const out: AddedSplit[] = [];
  let startOffset = 0;
  let from = 0;
  for (let m = matcher.next(text, from); m !== undefined; m = matcher.next(text, from)) {
    let { start, end } = m;
    const t = m.token;
    from = end; // non-overlapping: the scan resumes after this match even if it is discarded below
    if (t.single_word) {
      const before = start === 0 || !WORD_CHAR.test(lastCodePoint(text, start));
      const after = end === text.length || !WORD_CHAR.test(String.fromCodePoint(text.codePointAt(end) as number));
      if (!before || !after) continue;
    }
    if (t.lstrip) {
      let s = start;
      while (s > 0 && SPACE_CHAR.test(text[s - 1])) s--;
      start = Math.max(s, startOffset);
    }
    if (t.rstrip) {
      while (end < text.length && SPACE_CHAR.test(text[end])) end++;
      from = end;
    }
    if (startOffset < start) out.push({ start: startOffset, end: start, id: undefined });
    out.push({ start, end, id: t.id });
    startOffset = end;
  }
  if (startOffset < text.length) out.push({ start: startOffset, end: text.length, id: undefined });
  return out;
}

function lastCodePoint(text: string, end: number): string {
  const c = text.charCodeAt(end - 1);
  if (c >= 0xdc00 && c <= 0xdfff && end >= 2) {
    const h = text.charCodeAt(end - 2);
    if (h >= 0xd800 && h <= 0xdbff) return text.slice(end - 2, end);
  }
  return text[end - 1];
}

/**
 * The added tokens of a tokenizer, with their id <-> content maps and the two matchers.
 * `normalizeContent` gives the normalized form of a token's content (for normalized = true tokens).
 */
export class AddedVocabulary {
  private readonly list: AddedToken[] = [];
  private readonly byContent = new Map<string, AddedToken>();
  private readonly byId = new Map<number, AddedToken>();
  private rawMatcher: Matcher | undefined;
  private normalizedMatcher: Matcher | undefined;
  private normalizeContent: (s: string) => string = (s) => s;

  /** Set how normalized tokens' contents are normalized (the tokenizer's normalizer). */
  setNormalizer(normalizeContent: (s: string) => string): void {
    this.normalizeContent = normalizeContent;
    this.rebuild();
  }

  /** All added tokens, in id order. */
  all(): AddedToken[] {
    return [...this.list].sort((a, b) => a.id - b.id);
  }

  get size(): number {
    return this.list.length;
  }

  /**
   * Add a token with a fixed id. Re-adding the same content replaces its options and id, as HF does.
   * Returns true when the content was new.
   */
  add(token: AddedToken): boolean {
    if (token.content.length === 0) throw new Error('added token: the content is an empty string');
    if (!Number.isInteger(token.id) || token.id < 0) {
      throw new Error(`added token ${JSON.stringify(token.content)}: id must be a non-negative integer, got ${token.id}`);
    }
    const old = this.byContent.get(token.content);
    if (old) {
      this.list.splice(this.list.indexOf(old), 1);
      if (this.byId.get(old.id) === old) this.byId.delete(old.id);
    }
    const copy = { ...token };
    this.list.push(copy);
    this.byContent.set(copy.content, copy);
    this.byId.set(copy.id, copy);
    this.rebuild();
    return old === undefined;
  }

  get(content: string): AddedToken | undefined {
    return this.byContent.get(content);
  }

  getById(id: number): AddedToken | undefined {
    return this.byId.get(id);
  }

  /**
   * The string an added token decodes to: its content, normalized when the token is matched in normalized
   * text (a "Covid19" added under a lowercasing normalizer decodes as "covid19", as in Hugging Face).
   */
  tokenString(t: AddedToken): string {
    return t.normalized ? this.normalizeContent(t.content) : t.content;
  }

  isSpecialId(id: number): boolean {
    return this.byId.get(id)?.special === true;
  }

  /** Largest id among added tokens, or -1. */
  maxId(): number {
    let m = -1;
    for (const t of this.list) if (t.id > m) m = t.id;
    return m;
  }

  private rebuild(): void {
    // Special tokens first, then the others, in the order they were added (HF's order; it only matters when
    // two tokens of the same length match at the same place, which needs two identical contents).
    const ordered = [...this.list.filter((t) => t.special), ...this.list.filter((t) => !t.special)];
    const raw = ordered.filter((t) => !t.normalized);
    const norm = ordered.filter((t) => t.normalized);
    this.rawMatcher = new Matcher(
      raw.map((t) => t.content),
      raw,
    );
    this.normalizedMatcher = new Matcher(
      norm.map((t) => this.normalizeContent(t.content)),
      norm,
    );
  }

  /** Split raw text on the non-normalized added tokens. */
  splitRaw(text: string): AddedSplit[] {
    return findMatches(text, this.rawMatcher);
  }

  /** Split normalized text on the normalized added tokens. */
  splitNormalized(text: string): AddedSplit[] {
    return findMatches(text, this.normalizedMatcher);
  }
}
