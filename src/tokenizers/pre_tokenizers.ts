// Pre-tokenizers: the second step of a tokenizer pipeline, which cuts the normalized text into "words".
//
//   "hello, world!"  --BertPreTokenizer-->  ["hello", ",", "world", "!"]
//
// The model (WordPiece, BPE) then works on one word at a time and never merges across words. Each word is a
// range [start, end) of the normalized string, in UTF-16 code units; the normalizer's alignment turns it back
// into an offset in the original text later. Each word also becomes a "word id" in the Encoding (HF's
// `word_ids()`), which NER uses to give one label per word.
//
// Supported (tokenizer.json `type`): BertPreTokenizer, Whitespace, WhitespaceSplit, Punctuation, Digits,
// ByteLevel, Split (literal string patterns), Metaspace, Sequence. ByteLevel (GPT-2) is special: its regex
// split and byte mapping are done by the byte-level BPE model itself (src/tokenizers/bpe.ts), so here it only
// records its options and splits on the GPT-2 pattern.
//
// Most pre-tokenizers only cut. Metaspace (SentencePiece) also rewrites each word: spaces become "▁" and a "▁"
// goes in front, "Hello world" -> "▁Hello" "▁world". Such a word carries its new `text` and, for every UTF-16
// unit of it, the normalized unit it stands for (`from`), so offsets still lead back to the input.

import { gpt2PieceEnd } from './gpt2_pretokenize.js';
import { isBertPunctuation, isBertWhitespace } from './unicode_classes.js';

/** One word: the normalized range [start, end) in UTF-16 code units. */
export interface Split {
  start: number;
  end: number;
  /**
   * Set by ByteLevel with add_prefix_space: the model must see this word with a space in front (" Hello"
   * for "Hello"), a space that is not in the text and takes the alignment of the word's first character.
   */
  prefixSpace?: boolean;
  /**
   * Set by pre-tokenizers that rewrite the word (Metaspace): the text the model sees instead of
   * normalized[start, end), and `from[k]`, the normalized unit that unit k of `text` stands for (an inserted
   * "▁" stands for the unit it was put in front of). start/end still span the normalized units it covers.
   */
  text?: string;
  from?: Int32Array;
}

/**
 * Where in the ORIGINAL input a normalized unit comes from (the tokenizer passes it to pre-tokenizers).
 * Metaspace's prepend_scheme 'first' needs it: it marks only the word that starts the input.
 */
export type OriginalStart = (normalizedUnit: number) => number;

/** The tokenizer.json form of a pre-tokenizer. */
export type PreTokenizerJSON = { type: string; [key: string]: unknown };

/** Cuts normalized text into words. `splits` are the words so far; the result replaces them. */
export interface PreTokenizer {
  preTokenize(text: string, splits: Split[], originalStart?: OriginalStart): Split[];
  toJSON(): PreTokenizerJSON;
}

/** The text the model sees for a word: its rewritten text, or the normalized range (with ByteLevel's space). */
export function wordText(normalized: string, w: Split): string {
  if (w.text !== undefined) return w.text;
  return (w.prefixSpace === true ? ' ' : '') + normalized.slice(w.start, w.end);
}

/** What happens to the characters we split on (HF's SplitDelimiterBehavior). */
export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
const BEHAVIORS: readonly SplitBehavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/**
 * Split every word at the code points where `isDelimiter` is true. With input "the-final--countdown" and '-':
 *   Removed            ["the", "final", "countdown"]
 *   Isolated           ["the", "-", "final", "-", "-", "countdown"]
 *   MergedWithPrevious ["the-", "final-", "-", "countdown"]
 *   MergedWithNext     ["the", "-final", "-", "-countdown"]
 *   Contiguous         ["the", "-", "final", "--", "countdown"]
 */
export function splitOnCodePoints(
  text: string,
  splits: readonly Split[],
  isDelimiter: (cp: number) => boolean,
  behavior: SplitBehavior,
): Split[] {
  const out: Split[] = [];
  for (const split of splits) {
    // First: alternate runs of (non-delimiter text) and single delimiter characters, as HF's matches do.
    const pieces: Array<{ start: number; end: number; delim: boolean }> = [];
    let runStart = split.start;
    for (let i = split.start; i < split.end; ) {
      const cp = text.codePointAt(i) as number;
      const w = cp > 0xffff ? 2 : 1;
      if (isDelimiter(cp)) {
        if (runStart < i) pieces.push({ start: runStart, end: i, delim: false });
        pieces.push({ start: i, end: i + w, delim: true });
        runStart = i + w;
      }
      i += w;
    }
    if (runStart < split.end) pieces.push({ start: runStart, end: split.end, delim: false });

    for (const piece of mergePieces(pieces, behavior)) out.push(piece);
  }
  return out;
}

/**
 * BERT's pre-tokenizer: split on whitespace (dropped), then isolate every punctuation character.
 * Example: "hey friend!  how?!" -> ["hey", "friend", "!", "how", "?", "!"].
 */
export class BertPreTokenizer implements PreTokenizer {
  preTokenize(text: string, splits: Split[]): Split[] {
    const words = splitOnCodePoints(text, splits, isBertWhitespace, 'Removed');
    return splitOnCodePoints(text, words, isBertPunctuation, 'Isolated');
  }
  toJSON(): PreTokenizerJSON {
    return { type: 'BertPreTokenizer' };
  }
}

/** Split on whitespace only (dropped). Example: "a  b\tc" -> ["a", "b", "c"]. */
export class WhitespaceSplit implements PreTokenizer {
  preTokenize(text: string, splits: Split[]): Split[] {
    return splitOnCodePoints(text, splits, isBertWhitespace, 'Removed');
  }
  toJSON(): PreTokenizerJSON {
    return { type: 'WhitespaceSplit' };
  }
}

// Rust regex's \w (Unicode): Alphabetic, marks, decimal digits, connector punctuation, join controls.
const WORD_OR_SYMBOLS_RE = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+/gu;

/** HF's Whitespace pre-tokenizer: the regex \w+|[^\w\s]+. Example: "Hey, you!" -> ["Hey", ",", "you", "!"]. */
export class Whitespace implements PreTokenizer {
  preTokenize(text: string, splits: Split[]): Split[] {
    const out: Split[] = [];
    for (const split of splits) {
      const piece = text.slice(split.start, split.end);
      WORD_OR_SYMBOLS_RE.lastIndex = 0;
      for (const m of piece.matchAll(WORD_OR_SYMBOLS_RE)) {
        const at = split.start + (m.index as number);
        out.push({ start: at, end: at + m[0].length });
      }
    }
    return out;
  }
  toJSON(): PreTokenizerJSON {
    return { type: 'Whitespace' };
  }
}

/** Split on punctuation (same classes as BERT) with a chosen behavior (default Isolated). */
export class Punctuation implements PreTokenizer {
  constructor(readonly behavior: SplitBehavior = 'Isolated') {}
  preTokenize(text: string, splits: Split[]): Split[] {
    return splitOnCodePoints(text, splits, isBertPunctuation, this.behavior);
  }
  toJSON(): PreTokenizerJSON {
    return { type: 'Punctuation', behavior: this.behavior };
  }
}

const NUMERIC_RE = /^\p{N}$/u;
/** Split digits off: individually ("123" -> "1","2","3") or as runs ("123"). Example: "a12" -> ["a", "12"]. */
export class Digits implements PreTokenizer {
  constructor(readonly individualDigits = false) {}
  preTokenize(text: string, splits: Split[]): Split[] {
    const isDigit = (cp: number): boolean => (cp >= 48 && cp <= 57) || (cp > 127 && NUMERIC_RE.test(String.fromCodePoint(cp)));
    return splitOnCodePoints(text, splits, isDigit, this.individualDigits ? 'Isolated' : 'Contiguous');
  }
  toJSON(): PreTokenizerJSON {
    return { type: 'Digits', individual_digits: this.individualDigits };
  }
}

/** Split on a literal string with a chosen behavior (HF `Split` with a `String` pattern). */
export class SplitLiteral implements PreTokenizer {
  constructor(
    readonly pattern: string,
    readonly behavior: SplitBehavior,
    readonly invert = false,
  ) {
    if (pattern.length === 0) throw new Error('Split pre-tokenizer: the pattern is an empty string');
    if (invert) throw new Error('Split pre-tokenizer: "invert": true is not supported');
  }
  preTokenize(text: string, splits: Split[]): Split[] {
    // Mark matches, then reuse the code point splitter by treating matched units as one delimiter each run.
    const out: Split[] = [];
    for (const split of splits) {
      const pieces: Array<{ start: number; end: number; delim: boolean }> = [];
      let runStart = split.start;
      let i = split.start;
      while (i < split.end) {
        if (i + this.pattern.length <= split.end && text.startsWith(this.pattern, i)) {
          if (runStart < i) pieces.push({ start: runStart, end: i, delim: false });
          pieces.push({ start: i, end: i + this.pattern.length, delim: true });
          i += this.pattern.length;
          runStart = i;
        } else i++;
      }
      if (runStart < split.end) pieces.push({ start: runStart, end: split.end, delim: false });
      for (const piece of mergePieces(pieces, this.behavior)) out.push(piece);
    }
    return out;
  }
  toJSON(): PreTokenizerJSON {
    return { type: 'Split', pattern: { String: this.pattern }, behavior: this.behavior, invert: this.invert };
  }
}

/** Apply a split behavior to alternating text/delimiter pieces of one word. */
function mergePieces(pieces: ReadonlyArray<{ start: number; end: number; delim: boolean }>, behavior: SplitBehavior): Split[] {
  const out: Array<{ start: number; end: number; delim: boolean }> = [];
  switch (behavior) {
    case 'Removed':
      return pieces.filter((p) => !p.delim).map((p) => ({ start: p.start, end: p.end }));
    case 'Isolated':
      return pieces.map((p) => ({ start: p.start, end: p.end }));
    case 'Contiguous':
      for (const p of pieces) {
        const last = out[out.length - 1];
        if (last && last.delim && p.delim) last.end = p.end;
        else out.push({ ...p });
      }
      break;
    case 'MergedWithPrevious': {
      let prevDelim = false;
      for (const p of pieces) {
        const last = out[out.length - 1];
        if (p.delim && !prevDelim && last) last.end = p.end;
        else out.push({ ...p });
        prevDelim = p.delim;
      }
      break;
    }
    case 'MergedWithNext': {
      let nextDelim = false;
      for (let k = pieces.length - 1; k >= 0; k--) {
        const p = pieces[k];
        const first = out[out.length - 1];
        if (p.delim && !nextDelim && first) first.start = p.start;
        else out.push({ ...p });
        nextDelim = p.delim;
      }
      out.reverse();
      break;
    }
  }
  return out.map((p) => ({ start: p.start, end: p.end }));
}

/** Options of the ByteLevel pre-tokenizer (tokenizer.json names). */
export interface ByteLevelOptions {
  add_prefix_space?: boolean;
  trim_offsets?: boolean;
  use_regex?: boolean;
}

/**
 * GPT-2's byte-level pre-tokenizer: splits with GPT-2's pattern (when use_regex; see gpt2_pretokenize.ts) and,
 * with add_prefix_space, treats the text as if it started with a space (so "Hello" encodes like " Hello").
 * The byte mapping itself is done by the BPE model, which receives each word's text.
 */
export class ByteLevelPreTokenizer implements PreTokenizer {
  readonly addPrefixSpace: boolean;
  readonly trimOffsets: boolean;
  readonly useRegex: boolean;
  constructor(options: ByteLevelOptions = {}) {
    this.addPrefixSpace = options.add_prefix_space ?? false;
    this.trimOffsets = options.trim_offsets ?? true;
    this.useRegex = options.use_regex ?? true;
  }
  preTokenize(text: string, splits: Split[]): Split[] {
    const out: Split[] = [];
    for (const split of splits) {
      if (split.end <= split.start) continue;
      const prefix = this.addPrefixSpace && text.charCodeAt(split.start) !== 0x20;
      if (!this.useRegex) {
        out.push({ start: split.start, end: split.end, prefixSpace: prefix || split.prefixSpace });
        continue;
      }
      if (!prefix) {
        for (let i = split.start; i < split.end; ) {
          const j = gpt2PieceEnd(text, i, split.end);
          out.push({ start: i, end: j });
          i = j;
        }
        continue;
      }
      // Split " " + word, then map the pieces back: the first piece starts with the virtual space.
      const virtual = ' ' + text.slice(split.start, split.end);
      for (let i = 0; i < virtual.length; ) {
        const j = gpt2PieceEnd(virtual, i, virtual.length);
        if (i === 0) out.push({ start: split.start, end: split.start + j - 1, prefixSpace: true });
        else out.push({ start: split.start + i - 1, end: split.start + j - 1 });
        i = j;
      }
    }
    return out;
  }
  toJSON(): PreTokenizerJSON {
    return { type: 'ByteLevel', add_prefix_space: this.addPrefixSpace, trim_offsets: this.trimOffsets, use_regex: this.useRegex };
  }
}

/** Where Metaspace puts a "▁" in front of a word (tokenizer.json "prepend_scheme"). */
export type PrependScheme = 'always' | 'first' | 'never';

/**
 * SentencePiece's word marks (HF's Metaspace pre-tokenizer). For each word the tokenizer hands it:
 *   1. every space becomes the replacement character "▁" (U+2581);
 *   2. a "▁" goes in front unless the word already starts with one: always, only for the word at the very
 *      start of the input ('first'; what T5 with legacy=false does), or never;
 *   3. with `split`, the word is cut before every "▁", which stays with the text after it.
 * So "Hello  world" becomes "▁Hello" "▁" "▁world": the model learns pieces that begin words. The inserted
 * "▁" takes the alignment of the character it was put in front of, so offsets stay in the input.
 * Example: `new Metaspace().preTokenize('Hey you', [{ start: 0, end: 7 }])` gives the words "▁Hey" and "▁you".
 */
export class Metaspace implements PreTokenizer {
  readonly replacement: string;
  constructor(
    replacement = '▁',
    readonly prependScheme: PrependScheme = 'always',
    readonly split = true,
  ) {
    if ([...replacement].length !== 1) {
      throw new Error(`Metaspace: the replacement must be exactly one character, got ${JSON.stringify(replacement)}`);
    }
    this.replacement = replacement;
  }

  preTokenize(text: string, splits: Split[], originalStart?: OriginalStart): Split[] {
    const out: Split[] = [];
    const r = this.replacement;
    for (const split of splits) {
      if (split.end <= split.start) continue;
      // 1. Spaces -> "▁". With a one-unit replacement (always, in practice) unit k of the new text still
      //    stands for normalized unit split.start + k; a two-unit one shifts the rest (tracked in `shift`).
      const raw = text.slice(split.start, split.end);
      const word = r.length === 1 ? raw.replaceAll(' ', r) : raw.split(' ').join(r);
      // 2. The "▁" in front (it stands for the word's first character).
      const prepend =
        !word.startsWith(r) &&
        (this.prependScheme === 'always' || (this.prependScheme === 'first' && (originalStart?.(split.start) ?? split.start) === 0));
      const full = prepend ? r + word : word;
      const lead = prepend ? r.length : 0;
      // Normalized unit of each unit of `full`.
      const wide = r.length === 1 ? null : wideMap(raw, r);
      const source = (k: number): number => (k < lead ? split.start : split.start + (wide === null ? k - lead : wide[k - lead]!));
      // 3. Cut before every "▁" (HF: split on the replacement, MergedWithNext).
      let pieceStart = 0;
      const cut = (end: number): void => {
        if (end <= pieceStart) return;
        const from = new Int32Array(end - pieceStart);
        for (let k = pieceStart; k < end; k++) from[k - pieceStart] = source(k);
        out.push({ start: from[0]!, end: from[from.length - 1]! + 1, text: full.slice(pieceStart, end), from });
        pieceStart = end;
      };
      if (this.split) for (let k = full.indexOf(r, 1); k > 0; k = full.indexOf(r, k + 1)) cut(k);
      cut(full.length);
    }
    return out;
  }

  toJSON(): PreTokenizerJSON {
    return { type: 'Metaspace', replacement: this.replacement, prepend_scheme: this.prependScheme, split: this.split };
  }
}

/** For a replacement longer than one unit: for each unit of raw-with-spaces-replaced, the unit of `raw` it stands for. */
function wideMap(raw: string, r: string): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const w = raw.charCodeAt(i) === 0x20 ? r.length : 1;
    for (let k = 0; k < w; k++) out.push(i);
  }
  return Int32Array.from(out);
}

/**
 * Read a Metaspace section (pre-tokenizer or decoder; both have the same fields). Old files say
 * "add_prefix_space": true/false instead of "prepend_scheme". false together with a prepend_scheme other than
 * "never" is an error, as in Hugging Face; false alone (which Hugging Face also refuses, because its
 * prepend_scheme defaults to "always") is read as "never", what such a file meant.
 */
export function metaspaceFields(obj: { type: string; [key: string]: unknown }, where: string): { replacement: string; prependScheme: PrependScheme; split: boolean } {
  const replacement = obj.replacement ?? '▁';
  if (typeof replacement !== 'string' || [...replacement].length !== 1) {
    throw new Error(`tokenizer.json ${where} Metaspace: "replacement" must be one character, got ${JSON.stringify(obj.replacement)}`);
  }
  const scheme = obj.prepend_scheme ?? 'always';
  if (scheme !== 'always' && scheme !== 'first' && scheme !== 'never') {
    throw new Error(`tokenizer.json ${where} Metaspace: "prepend_scheme" must be "always", "first" or "never", got ${JSON.stringify(obj.prepend_scheme)}`);
  }
  let prependScheme: PrependScheme = scheme;
  if (obj.add_prefix_space === false) {
    if (prependScheme !== 'never' && obj.prepend_scheme !== undefined) {
      throw new Error(
        `tokenizer.json ${where} Metaspace: "add_prefix_space": false contradicts "prepend_scheme": ${JSON.stringify(obj.prepend_scheme)}; ` +
          'drop one of them (add_prefix_space false means prepend_scheme "never")',
      );
    }
    prependScheme = 'never';
  } else if (obj.add_prefix_space !== undefined && obj.add_prefix_space !== true && obj.add_prefix_space !== null) {
    throw new Error(`tokenizer.json ${where} Metaspace: "add_prefix_space" must be true or false, got ${JSON.stringify(obj.add_prefix_space)}`);
  }
  const split = obj.split ?? true;
  if (typeof split !== 'boolean') throw new Error(`tokenizer.json ${where} Metaspace: "split" must be true or false, got ${JSON.stringify(obj.split)}`);
  return { replacement, prependScheme, split };
}

/**
 * Run one pre-tokenizer over words that may already be rewritten (by a Metaspace earlier in a Sequence): plain
 * words are cut in the normalized text as usual; a rewritten word is cut in its own text, and the pieces keep
 * pointing back to normalized units through its `from`.
 */
function preTokenizeWords(p: PreTokenizer, text: string, splits: Split[], originalStart?: OriginalStart): Split[] {
  if (splits.every((w) => w.text === undefined)) return p.preTokenize(text, splits, originalStart);
  const out: Split[] = [];
  let plain: Split[] = [];
  const flush = (): void => {
    if (plain.length > 0) for (const w of p.preTokenize(text, plain, originalStart)) out.push(w);
    plain = [];
  };
  for (const w of splits) {
    if (w.text === undefined || w.from === undefined) {
      plain.push(w);
      continue;
    }
    flush();
    const from = w.from;
    const inner = p.preTokenize(w.text, [{ start: 0, end: w.text.length }], originalStart && ((u) => originalStart(from[Math.min(u, from.length - 1)] ?? w.start)));
    for (const r of inner) {
      // r is in the coordinates of w.text; compose with w.from to get back to normalized units.
      const subText = wordText(w.text, r);
      const subFrom = new Int32Array(subText.length);
      for (let k = 0; k < subText.length; k++) {
        const inWord = r.from !== undefined ? r.from[k]! : r.prefixSpace === true ? Math.max(r.start + k - 1, r.start) : r.start + k;
        subFrom[k] = from[Math.min(inWord, from.length - 1)]!;
      }
      if (subText.length === 0) continue;
      out.push({ start: subFrom[0]!, end: subFrom[subFrom.length - 1]! + 1, text: subText, from: subFrom });
    }
  }
  flush();
  return out;
}

/** Apply several pre-tokenizers in order, each one splitting the words of the previous. */
export class SequencePreTokenizer implements PreTokenizer {
  constructor(readonly pretokenizers: readonly PreTokenizer[]) {}
  preTokenize(text: string, splits: Split[], originalStart?: OriginalStart): Split[] {
    let out = splits;
    for (const p of this.pretokenizers) out = preTokenizeWords(p, text, out, originalStart);
    return out;
  }
  toJSON(): PreTokenizerJSON {
    return { type: 'Sequence', pretokenizers: this.pretokenizers.map((p) => p.toJSON()) };
  }
}

/** The pre-tokenizer types `preTokenizerFromJSON` accepts, for error messages. */
export const SUPPORTED_PRE_TOKENIZERS = [
  'BertPreTokenizer',
  'Whitespace',
  'WhitespaceSplit',
  'Punctuation',
  'Digits',
  'Split (String pattern)',
  'ByteLevel',
  'Metaspace',
  'Sequence',
] as const;

function behaviorField(obj: PreTokenizerJSON, fallback: SplitBehavior): SplitBehavior {
  const b = obj.behavior;
  if (b === undefined || b === null) return fallback;
  if (typeof b !== 'string' || !(BEHAVIORS as readonly string[]).includes(b)) {
    throw new Error(`tokenizer.json pre_tokenizer ${obj.type}: "behavior" must be one of ${BEHAVIORS.join(', ')}, got ${JSON.stringify(b)}`);
  }
  return b as SplitBehavior;
}

function optBool(obj: PreTokenizerJSON, key: string): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') {
    throw new Error(`tokenizer.json pre_tokenizer ${obj.type}: "${key}" must be true or false, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Build a pre-tokenizer from its tokenizer.json form; unknown types are an error listing the supported ones.
 * Example: `preTokenizerFromJSON({ type: 'BertPreTokenizer' })`.
 */
export function preTokenizerFromJSON(obj: PreTokenizerJSON): PreTokenizer {
  switch (obj.type) {
    case 'BertPreTokenizer':
      return new BertPreTokenizer();
    case 'Whitespace':
      return new Whitespace();
    case 'WhitespaceSplit':
      return new WhitespaceSplit();
    case 'Punctuation':
      return new Punctuation(behaviorField(obj, 'Isolated'));
    case 'Digits':
      return new Digits(optBool(obj, 'individual_digits') ?? false);
    case 'ByteLevel':
      return new ByteLevelPreTokenizer({
        add_prefix_space: optBool(obj, 'add_prefix_space'),
        trim_offsets: optBool(obj, 'trim_offsets'),
        use_regex: optBool(obj, 'use_regex'),
      });
    case 'Metaspace': {
      const f = metaspaceFields(obj, 'pre_tokenizer');
      return new Metaspace(f.replacement, f.prependScheme, f.split);
    }
    case 'Split': {
      const pattern = obj.pattern as { String?: unknown; Regex?: unknown } | undefined;
      if (!pattern || typeof pattern.String !== 'string') {
        throw new Error(
          `tokenizer.json pre_tokenizer Split: only literal patterns {"String": "..."} are supported, got ${JSON.stringify(obj.pattern)}`,
        );
      }
      return new SplitLiteral(pattern.String, behaviorField(obj, 'Isolated'), optBool(obj, 'invert') ?? false);
    }
    case 'Sequence': {
      if (!Array.isArray(obj.pretokenizers)) {
        throw new Error('tokenizer.json pre_tokenizer Sequence: "pretokenizers" must be a list of pre-tokenizers');
      }
      return new SequencePreTokenizer((obj.pretokenizers as PreTokenizerJSON[]).map((p) => preTokenizerFromJSON(p)));
    }
    default:
      throw new Error(
        `tokenizer.json pre_tokenizer: type ${JSON.stringify(obj.type)} is not supported; supported pre-tokenizers: ${SUPPORTED_PRE_TOKENIZERS.join(', ')}`,
      );
  }
}
