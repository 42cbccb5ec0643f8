// Normalizers: the first step of a tokenizer pipeline, which cleans the text before it is split into words.
//
//   "Héllo\tWörld 你好"  --BertNormalizer-->  "hello world  你  好 "
//
// A normalizer may drop characters (control codes), replace them (é -> e, A -> a), or insert new ones (spaces
// around CJK ideographs). Yet every token must still report WHERE in the original text it came from (offsets,
// for NER highlighting and question-answering spans). So normalization never works on a bare string: it works
// on a `NormalizedString`, which carries, for every UTF-16 code unit of the normalized text, the [start, end)
// range of the ORIGINAL text it came from. This is the alignment scheme of Hugging Face `tokenizers`
// (`NormalizedString` in normalizer.rs), with UTF-16 code units instead of UTF-8 bytes:
//
//   - a character that replaces an original character takes that character's range;
//   - a character inserted after it (the second half of a decomposition, the spaces around 你) shares the range
//     of the character just before it;
//   - a removed character simply has no normalized character pointing to it.
//
// A token covering normalized units [s, e) then maps back to the original range [start[s], end[e - 1]).
//
// Supported normalizers (the tokenizer.json `type` in parentheses): BertNormalizer, Lowercase, StripAccents,
// NFC, NFD, NFKC, NFKD, Strip, Replace (string and regex patterns), Prepend, Nmt, Precompiled (SentencePiece's
// compiled table, in precompiled.ts), Sequence.
// Not supported: the ByteLevel normalizer.

import { Precompiled } from './precompiled.js';

import {
  isBertControl,
  isCombiningMark,
  isBertWhitespace,
  isChineseChar,
  isNonspacingMark,
  normalizeCodePoint,
  type NormalizationForm,
} from './unicode_classes.js';

/** A growable pair of Int32Arrays (start, end) written left to right while a transform runs. */
class AlignmentWriter {
  starts: Int32Array;
  ends: Int32Array;
  length = 0;

  constructor(capacity: number) {
    this.starts = new Int32Array(Math.max(capacity, 16));
    this.ends = new Int32Array(Math.max(capacity, 16));
  }

  push(start: number, end: number): void {
    if (this.length === this.starts.length) {
      const grownStarts = new Int32Array(this.starts.length * 2);
      const grownEnds = new Int32Array(this.ends.length * 2);
      grownStarts.set(this.starts);
      grownEnds.set(this.ends);
      this.starts = grownStarts;
      this.ends = grownEnds;
    }
    this.starts[this.length] = start;
    this.ends[this.length] = end;
    this.length++;
  }

  /** Append starts[from, to) and ends[from, to) of another alignment in one copy. */
  pushRange(starts: Int32Array, ends: Int32Array, from: number, to: number): void {
    const n = to - from;
    if (this.length + n > this.starts.length) {
      const cap = Math.max(this.starts.length * 2, this.length + n);
      const grownStarts = new Int32Array(cap);
      const grownEnds = new Int32Array(cap);
      grownStarts.set(this.starts.subarray(0, this.length));
      grownEnds.set(this.ends.subarray(0, this.length));
      this.starts = grownStarts;
      this.ends = grownEnds;
    }
    this.starts.set(starts.subarray(from, to), this.length);
    this.ends.set(ends.subarray(from, to), this.length);
    this.length += n;
  }
}

/**
 * A piece of text before and after normalization, with an alignment from every normalized UTF-16 code unit
 * back to the original. `originalShift` is where `original` starts in the full input string (non-zero when
 * this is one piece of a longer text, e.g. the part between two special tokens), so that offsets reported to
 * the user are always offsets in the string the user passed in.
 *
 * Example: `const ns = new NormalizedString('Ä b'); new Lowercase().normalize(ns); ns.normalized === 'ä b'`.
 */
export class NormalizedString {
  readonly original: string;
  readonly originalShift: number;
  normalized: string;
  /** alignStart[i], alignEnd[i]: the original range (relative to `original`) of normalized code unit i. */
  alignStart: Int32Array;
  alignEnd: Int32Array;

  constructor(original: string, originalShift = 0) {
    this.original = original;
    this.originalShift = originalShift;
    this.normalized = original;
    const n = original.length;
    this.alignStart = new Int32Array(n);
    this.alignEnd = new Int32Array(n);
    // Identity alignment; both halves of a surrogate pair point at the whole character.
    for (let i = 0; i < n; i++) {
      const c = original.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const d = original.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          this.alignStart[i] = i;
          this.alignEnd[i] = i + 2;
          this.alignStart[i + 1] = i;
          this.alignEnd[i + 1] = i + 2;
          i++;
          continue;
        }
      }
      this.alignStart[i] = i;
      this.alignEnd[i] = i + 1;
    }
  }

  /**
   * Offsets in the FULL input string of normalized range [start, end): the first unit's start and the last
   * unit's end (HF's `expand_alignments`). An empty range maps to an empty range at its position.
   */
  originalRange(start: number, end: number): [number, number] {
    if (end <= start) {
      const at = start < this.alignStart.length ? this.alignStart[start] : this.original.length;
      return [this.originalShift + at, this.originalShift + at];
    }
    return [this.originalShift + this.alignStart[start], this.originalShift + this.alignEnd[end - 1]];
  }

  /**
   * Rebuild the normalized text one code point at a time. `map(cp, unitIndex)` returns what the code point
   * becomes: '' removes it, one character replaces it, several characters replace it with the first and insert
   * the rest (all sharing its alignment). This is HF's `transform` with changes 0 / +1 / removal.
   */
  mapCodePoints(map: (cp: number, unitIndex: number) => string): void {
    const src = this.normalized;
    const out: string[] = [];
    const writer = new AlignmentWriter(src.length);
    let i = 0;
    while (i < src.length) {
      const cp = src.codePointAt(i) as number;
      const width = cp > 0xffff ? 2 : 1;
      const replacement = map(cp, i);
      if (replacement.length > 0) {
        const start = this.alignStart[i];
        const end = this.alignEnd[i];
        for (let k = 0; k < replacement.length; k++) writer.push(start, end);
        out.push(replacement);
      }
      i += width;
    }
    this.normalized = out.join('');
    this.alignStart = writer.starts.subarray(0, writer.length);
    this.alignEnd = writer.ends.subarray(0, writer.length);
  }

  /**
   * Replace the whole normalized text with `pieces`, each piece carrying the index (into the current
   * normalized text) of the code unit whose alignment it takes. Used by transforms that reorder or merge
   * characters (canonical ordering, composition, replace).
   */
  rebuild(pieces: ReadonlyArray<{ text: string; from: number }>): void {
    const out: string[] = [];
    const writer = new AlignmentWriter(this.normalized.length);
    for (const piece of pieces) {
      const start = piece.from >= 0 ? this.alignStart[piece.from] : 0;
      const end = piece.from >= 0 ? this.alignEnd[piece.from] : 0;
      for (let k = 0; k < piece.text.length; k++) writer.push(start, end);
      out.push(piece.text);
    }
    this.normalized = out.join('');
    this.alignStart = writer.starts.subarray(0, writer.length);
    this.alignEnd = writer.ends.subarray(0, writer.length);
  }

  /**
   * Where normalized unit `unit` comes from in the FULL input (its alignment's start); past the end, the end
   * of the original text. Metaspace's prepend_scheme 'first' asks this of a word's first unit.
   */
  originalStart(unit: number): number {
    return this.originalShift + (unit < this.alignStart.length ? this.alignStart[unit]! : this.original.length);
  }

  /**
   * Hugging Face's `NormalizedString::transform`, step for step. The new text is given as steps: one new
   * character with a change — 0: it replaces the next old character (and takes its alignment); 1: it is
   * inserted (and takes the alignment of the old character before it; (0, 0) at the very start); -k: it
   * replaces the next old character and the k after it are removed — or a stretch of the old text kept as it
   * is (each of its characters a change 0, copied in one go). `initialOffset` old characters are removed first.
   * Precompiled needs this exact bookkeeping: its offsets depend on it, quirks included.
   * Example: steps [{ char: 'T', change: 0 }, { char: 'M', change: 1 }, { keep: [1, 2] }] turn "™g" into "TMg".
   */
  transform(steps: readonly TransformStep[], initialOffset: number): void {
    const src = this.normalized;
    // Unit index of each old code point.
    const at = new Int32Array(src.length + 1);
    let count = 0;
    for (let i = 0; i < src.length; ) {
      at[count++] = i;
      i += (src.codePointAt(i) as number) > 0xffff ? 2 : 1;
    }
    at[count] = src.length;
    let offset = Math.min(initialOffset, count); // in old code points
    const writer = new AlignmentWriter(src.length + 16);
    const out: string[] = [];
    /** One new character taking old code point `from`'s alignment (-1: none). */
    const put = (ch: string, from: number): void => {
      const start = from >= 0 ? this.alignStart[at[from]!]! : 0;
      const end = from >= 0 ? this.alignEnd[at[from]!]! : 0;
      for (let u = 0; u < ch.length; u++) writer.push(start, end);
      out.push(ch);
    };
    for (const step of steps) {
      if ('keep' in step) {
        const [s, e] = step.keep;
        if (offset < count && at[offset] === s) {
          // Kept where it stands: its alignment is copied as it is.
          let m = 0;
          for (let i = s; i < e; i++) if ((src.charCodeAt(i) & 0xfc00) !== 0xdc00 || i === s) m++;
          if (offset + m <= count && at[offset + m] === e) {
            writer.pushRange(this.alignStart, this.alignEnd, s, e);
            out.push(src.slice(s, e));
            offset += m;
            continue;
          }
        }
        // Kept, but the old characters have shifted under it (a removal at the very start): one by one.
        for (let i = s; i < e; ) {
          const w = (src.codePointAt(i) as number) > 0xffff && i + 1 < e ? 2 : 1;
          put(src.slice(i, i + w), offset < count ? offset : count - 1);
          if (offset < count) offset++;
          i += w;
        }
        continue;
      }
      const { char, change } = step;
      if (change > 0) put(char, offset >= 1 ? offset - 1 : -1);
      else put(char, offset < count ? offset : count - 1);
      if (change <= 0 && offset < count) offset++;
      if (change < 0) offset = Math.min(count, offset - change);
    }
    this.normalized = out.join('');
    this.alignStart = writer.starts.subarray(0, writer.length);
    this.alignEnd = writer.ends.subarray(0, writer.length);
  }
}

/** A step of NormalizedString.transform: a new character with its change, or a kept stretch [start, end) of units. */
export type TransformStep = { char: string; change: number } | { keep: [number, number] };

// ---------------------------------------------------------------------------------------------------------
// The normalizers

/** The tokenizer.json form of a normalizer (`{"type": "BertNormalizer", ...}`). */
export type NormalizerJSON = { type: string; [key: string]: unknown };

/** One step of normalization. `normalize` edits the NormalizedString in place. */
export interface Normalizer {
  normalize(ns: NormalizedString): void;
  toJSON(): NormalizerJSON;
}

/** True when every code unit is printable ASCII (space to tilde): BERT's clean-text step changes nothing. */
function isPrintableAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** True when every code unit is ASCII: then NFD/NFC are the identity and we can skip them. */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * NFD or NFKD with alignment. Each code point is decomposed on its own (first output character replaces it,
 * the rest are inserted), then canonical ordering is restored: Unicode requires runs of combining marks to be
 * sorted by combining class, and a decomposition can put a mark next to one that came from the next character
 * (a + U+0301 + U+0323 must become a + U+0323 + U+0301). JavaScript does not expose combining classes, but it
 * can answer "would NFD swap these two marks?", which is all a stable insertion sort needs.
 */
function decompose(ns: NormalizedString, form: 'NFD' | 'NFKD'): void {
  if (isAscii(ns.normalized)) return;
  ns.mapCodePoints((cp) => normalizeCodePoint(cp, form));
  const s = ns.normalized;
  // Code points with their source unit index, so that reordering carries the alignment along.
  const cps: Array<{ text: string; from: number }> = [];
  for (let i = 0; i < s.length; ) {
    const cp = s.codePointAt(i) as number;
    const w = cp > 0xffff ? 2 : 1;
    cps.push({ text: s.slice(i, i + w), from: i });
    i += w;
  }
  const positions = cps.map((c) => c.from);
  let swapped = false;
  for (let i = 1; i < cps.length; i++) {
    // Insertion sort step: move mark i left while it should precede its left neighbour.
    let j = i;
    while (j > 0 && isMarkLike(cps[j].text) && isMarkLike(cps[j - 1].text) && shouldSwap(cps[j - 1].text, cps[j].text)) {
      const t = cps[j - 1];
      cps[j - 1] = cps[j];
      cps[j] = t;
      j--;
      swapped = true;
    }
  }
  // The characters move, the alignments stay where they were: the k-th character of the reordered text takes
  // the alignment of the k-th position (what Hugging Face's normalizer does, so offsets match it).
  if (swapped) ns.rebuild(cps.map((c, k) => ({ text: c.text, from: positions[k] })));
}

const MARK_RE = /^\p{M}$/u;
function isMarkLike(ch: string): boolean {
  return ch.charCodeAt(0) >= 0x300 && MARK_RE.test(ch);
}

/** True when canonical ordering puts b before a (combining class of b < that of a, both non-zero). */
function shouldSwap(a: string, b: string): boolean {
  return (a + b).normalize('NFD') === b + a;
}

/**
 * NFC or NFKC with alignment: decompose, then compose each "starter + following marks" segment with the
 * platform's normalize(). A composed character takes the alignment of its starter (é from e + U+0301 points at
 * the e), and marks that stay separate keep their own, as in HF.
 */
function compose(ns: NormalizedString, form: 'NFC' | 'NFKC'): void {
  if (isAscii(ns.normalized)) return;
  decompose(ns, form === 'NFC' ? 'NFD' : 'NFKD');
  const s = ns.normalized;
  const pieces: Array<{ text: string; from: number }> = [];
  let segStart = 0;
  const flush = (segEnd: number): void => {
    if (segEnd <= segStart) return;
    const seg = s.slice(segStart, segEnd);
    const composed = seg.normalize(form);
    // Input code points of the segment with their unit index.
    const inputs: Array<{ ch: string; at: number }> = [];
    for (let i = segStart; i < segEnd; ) {
      const w = (s.codePointAt(i) as number) > 0xffff ? 2 : 1;
      inputs.push({ ch: s.slice(i, i + w), at: i });
      i += w;
    }
    // The first output character (the starter, possibly composed) takes the starter's alignment; every later
    // output character is a mark that did not compose and keeps its own alignment (found in order).
    let next = 1;
    let k = 0;
    for (const ch of composed) {
      if (k === 0) pieces.push({ text: ch, from: inputs[0].at });
      else {
        let j = next;
        while (j < inputs.length && inputs[j].ch !== ch) j++;
        if (j < inputs.length) {
          pieces.push({ text: ch, from: inputs[j].at });
          next = j + 1;
        } else pieces.push({ text: ch, from: inputs[Math.min(k, inputs.length - 1)].at });
      }
      k++;
    }
  };
  for (let i = 0; i < s.length; ) {
    const cp = s.codePointAt(i) as number;
    const w = cp > 0xffff ? 2 : 1;
    const ch = s.slice(i, i + w);
    // Marks and Hangul medial/final jamo attach to the preceding starter; anything else starts a segment.
    const attaches = isMarkLike(ch) || (cp >= 0x1161 && cp <= 0x11c2);
    if (!attaches && i > segStart) {
      flush(i);
      segStart = i;
    }
    i += w;
  }
  flush(s.length);
  ns.rebuild(pieces);
}

/** Options of BertNormalizer, named as in tokenizer.json. `strip_accents: null` means "same as lowercase". */
export interface BertNormalizerOptions {
  clean_text?: boolean;
  handle_chinese_chars?: boolean;
  strip_accents?: boolean | null;
  lowercase?: boolean;
}

/**
 * BERT's normalizer, step by step as in the original BERT `BasicTokenizer` and HF's `BertNormalizer`:
 *   1. clean text: drop NUL, U+FFFD and control characters; turn every whitespace character into ' ';
 *   2. put spaces around CJK ideographs, so each becomes its own word;
 *   3. strip accents: NFD (é -> e + U+0301), then drop non-spacing marks (U+0301);
 *   4. lowercase (per character, as Rust's `char::to_lowercase`).
 * Example: `new BertNormalizer().normalize(ns)` turns "Héllo\u0000 你" into "hello  你 ".
 */
export class BertNormalizer implements Normalizer {
  readonly cleanText: boolean;
  readonly handleChineseChars: boolean;
  readonly stripAccents: boolean | null;
  readonly lowercase: boolean;

  constructor(options: BertNormalizerOptions = {}) {
    this.cleanText = options.clean_text ?? true;
    this.handleChineseChars = options.handle_chinese_chars ?? true;
    this.stripAccents = options.strip_accents ?? null;
    this.lowercase = options.lowercase ?? true;
  }

  normalize(ns: NormalizedString): void {
    // Printable ASCII (the common case) has nothing to clean: skip the pass.
    if (this.cleanText && !isPrintableAscii(ns.normalized)) {
      ns.mapCodePoints((cp) => {
        if (cp === 0 || cp === 0xfffd || isBertControl(cp)) return '';
        if (isBertWhitespace(cp)) return ' ';
        return String.fromCodePoint(cp);
      });
    }
    if (this.handleChineseChars && !isAscii(ns.normalized)) {
      ns.mapCodePoints((cp) => (isChineseChar(cp) ? ' ' + String.fromCodePoint(cp) + ' ' : String.fromCodePoint(cp)));
    }
    if (this.stripAccents ?? this.lowercase) {
      if (!isAscii(ns.normalized)) {
        decompose(ns, 'NFD');
        ns.mapCodePoints((cp) => (isNonspacingMark(cp) ? '' : String.fromCodePoint(cp)));
      }
    }
    if (this.lowercase) lowercase(ns);
  }

  toJSON(): NormalizerJSON {
    return {
      type: 'BertNormalizer',
      clean_text: this.cleanText,
      handle_chinese_chars: this.handleChineseChars,
      strip_accents: this.stripAccents,
      lowercase: this.lowercase,
    };
  }
}

/** Per-character lowercase: 'İ' becomes 'i' + U+0307, 'Σ' always 'σ' (no final-sigma context), as in Rust. */
function lowercase(ns: NormalizedString): void {
  const s = ns.normalized;
  // Fast paths: nothing changes, or ASCII, where every character maps to one character (alignment unchanged).
  const lowered = s.toLowerCase();
  if (lowered === s) return;
  if (isAscii(s)) {
    ns.normalized = lowered;
    return;
  }
  ns.mapCodePoints((cp) => {
    if (cp < 0x80) return cp >= 65 && cp <= 90 ? String.fromCharCode(cp + 32) : String.fromCharCode(cp);
    return String.fromCodePoint(cp).toLowerCase();
  });
}

/** Lowercase every character. Example: "ÀB" -> "àb". */
export class Lowercase implements Normalizer {
  normalize(ns: NormalizedString): void {
    lowercase(ns);
  }
  toJSON(): NormalizerJSON {
    return { type: 'Lowercase' };
  }
}

/**
 * Remove combining marks (use after NFD/NFKD to remove accents). Example: "e\u0301" -> "e". Unlike BERT's
 * strip_accents, which drops only non-spacing marks (Mn), this drops every mark (Mn, Mc, Me), as HF's does.
 */
export class StripAccents implements Normalizer {
  normalize(ns: NormalizedString): void {
    ns.mapCodePoints((cp) => (isCombiningMark(cp) ? '' : String.fromCodePoint(cp)));
  }
  toJSON(): NormalizerJSON {
    return { type: 'StripAccents' };
  }
}

/** Unicode normalization (NFC, NFD, NFKC or NFKD) with alignment. Example: NFD turns "é" into "e\u0301". */
export class UnicodeNormalizer implements Normalizer {
  constructor(readonly form: NormalizationForm) {}
  normalize(ns: NormalizedString): void {
    if (this.form === 'NFD' || this.form === 'NFKD') decompose(ns, this.form);
    else compose(ns, this.form);
  }
  toJSON(): NormalizerJSON {
    return { type: this.form };
  }
}

/** Remove leading and/or trailing whitespace. Example: new Strip(true, true) turns "  a " into "a". */
export class Strip implements Normalizer {
  constructor(
    readonly left = true,
    readonly right = true,
  ) {}
  normalize(ns: NormalizedString): void {
    const s = ns.normalized;
    let a = 0;
    let b = s.length;
    // Rust's `char::is_whitespace` (Unicode White_Space); every such character is a single UTF-16 unit.
    const ws = (i: number): boolean => isBertWhitespace(s.charCodeAt(i));
    if (this.left) while (a < b && ws(a)) a++;
    if (this.right) while (b > a && ws(b - 1)) b--;
    if (a === 0 && b === s.length) return;
    // Cutting off the ends keeps every remaining unit's alignment: slice the text and the alignment.
    ns.normalized = s.slice(a, b);
    ns.alignStart = ns.alignStart.slice(a, b);
    ns.alignEnd = ns.alignEnd.slice(a, b);
  }
  toJSON(): NormalizerJSON {
    return { type: 'Strip', strip_left: this.left, strip_right: this.right };
  }
}

/**
 * The pattern of a Replace (normalizer or decoder): a literal string, or a regular expression. tokenizer.json
 * writes {"String": "``"} or {"Regex": " {2,}"}. Hugging Face runs regexes with Oniguruma; we compile them as
 * JavaScript regexes (with the u flag), which read the patterns tokenizer.json files use (" {2,}", "\\s+",
 * character classes, \\p{...}) the same way. Oniguruma-only syntax is an error when the file is loaded.
 */
export class ReplacePattern {
  readonly regex: RegExp;
  constructor(
    readonly kind: 'String' | 'Regex',
    readonly source: string,
  ) {
    if (source.length === 0) throw new Error('Replace: the pattern is an empty string; give the text (or regex) to replace');
    const body = kind === 'String' ? source.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&') : source;
    try {
      this.regex = new RegExp(body, 'gu');
    } catch (e) {
      throw new Error(`Replace: cannot compile the regex ${JSON.stringify(source)}: ${(e as Error).message}`);
    }
  }
  toJSON(): { String: string } | { Regex: string } {
    return this.kind === 'String' ? { String: this.source } : { Regex: this.source };
  }
}

/** Read {"String": ...} or {"Regex": ...}; `where` names the section for errors. */
export function replacePatternFromJSON(value: unknown, where: string): ReplacePattern {
  const v = value as { String?: unknown; Regex?: unknown } | null | undefined;
  if (v && typeof v.String === 'string') return new ReplacePattern('String', v.String);
  if (v && typeof v.Regex === 'string') return new ReplacePattern('Regex', v.Regex);
  throw new Error(`tokenizer.json ${where}: "pattern" must be {"String": "..."} or {"Regex": "..."}, got ${JSON.stringify(value)}`);
}

/**
 * Replace every match of a pattern (a literal string or a regex). The replacement takes the alignment of the
 * LAST character of the match (HF's choice). Example: new Replace('``', '"') turns "``hi" into "\"hi";
 * new Replace(new ReplacePattern('Regex', ' {2,}'), '▁') turns "a   b" into "a▁b".
 */
export class Replace implements Normalizer {
  readonly pattern: ReplacePattern;
  constructor(
    pattern: string | ReplacePattern,
    readonly content: string,
  ) {
    this.pattern = typeof pattern === 'string' ? new ReplacePattern('String', pattern) : pattern;
  }
  normalize(ns: NormalizedString): void {
    const s = ns.normalized;
    if (this.pattern.kind === 'String' && !s.includes(this.pattern.source)) return;
    const pieces: Array<{ text: string; from: number }> = [];
    let i = 0;
    let matched = false;
    for (const m of s.matchAll(this.pattern.regex)) {
      const start = m.index as number;
      const end = start + m[0].length;
      matched = true;
      for (; i < start; i++) pieces.push({ text: s[i]!, from: i });
      // An empty match inserts the content after the previous character (HF's "inserted" alignment).
      if (this.content.length > 0) pieces.push({ text: this.content, from: end > start ? end - 1 : start - 1 });
      i = end;
    }
    if (!matched) return;
    for (; i < s.length; i++) pieces.push({ text: s[i]!, from: i });
    ns.rebuild(pieces);
  }
  toJSON(): NormalizerJSON {
    return { type: 'Replace', pattern: this.pattern.toJSON(), content: this.content };
  }
}

/**
 * HF's Nmt normalizer (SentencePiece's "nmt" clean-up): drop ASCII control characters (except tab, newline,
 * carriage return) and U+008F, U+009F; turn tab, newline, form feed, carriage return, U+1680, U+200B-U+200F,
 * U+2028, U+2029, U+2581, U+FEFF and U+FFFD into a space. Example: "a\u200bb\u0001" -> "a b".
 */
export class Nmt implements Normalizer {
  normalize(ns: NormalizedString): void {
    if (isPrintableAscii(ns.normalized)) return;
    ns.mapCodePoints((cp) => {
      if ((cp >= 0x01 && cp <= 0x08) || cp === 0x0b || (cp >= 0x0e && cp <= 0x1f) || cp === 0x7f || cp === 0x8f || cp === 0x9f) return '';
      if (
        cp === 0x09 || cp === 0x0a || cp === 0x0c || cp === 0x0d || cp === 0x1680 || (cp >= 0x200b && cp <= 0x200f) ||
        cp === 0x2028 || cp === 0x2029 || cp === 0x2581 || cp === 0xfeff || cp === 0xfffd
      ) {
        return ' ';
      }
      return String.fromCodePoint(cp);
    });
  }
  toJSON(): NormalizerJSON {
    return { type: 'Nmt' };
  }
}

/** Prepend a string (e.g. '▁' for SentencePiece-style models); the prefix aligns with the first character. */
export class Prepend implements Normalizer {
  constructor(readonly prepend: string) {}
  normalize(ns: NormalizedString): void {
    if (ns.normalized.length === 0) return;
    const s = ns.normalized;
    const pieces: Array<{ text: string; from: number }> = [{ text: this.prepend, from: 0 }];
    for (let i = 0; i < s.length; i++) pieces.push({ text: s[i], from: i });
    ns.rebuild(pieces);
  }
  toJSON(): NormalizerJSON {
    return { type: 'Prepend', prepend: this.prepend };
  }
}

/** Apply several normalizers in order. */
export class SequenceNormalizer implements Normalizer {
  constructor(readonly normalizers: readonly Normalizer[]) {}
  normalize(ns: NormalizedString): void {
    for (const n of this.normalizers) n.normalize(ns);
  }
  toJSON(): NormalizerJSON {
    return { type: 'Sequence', normalizers: this.normalizers.map((n) => n.toJSON()) };
  }
}

/** The normalizer types `normalizerFromJSON` accepts, for error messages. */
export const SUPPORTED_NORMALIZERS = [
  'BertNormalizer',
  'Lowercase',
  'StripAccents',
  'NFC',
  'NFD',
  'NFKC',
  'NFKD',
  'Strip',
  'Replace',
  'Prepend',
  'Nmt',
  'Precompiled',
  'Sequence',
] as const;

function boolField(obj: NormalizerJSON, key: string, fallback: boolean): boolean {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') {
    throw new Error(`tokenizer.json normalizer ${obj.type}: "${key}" must be true or false, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Build a normalizer from its tokenizer.json form. Unknown types are an error that lists what is supported.
 * Example: `normalizerFromJSON({ type: 'Lowercase' })`.
 */
export function normalizerFromJSON(obj: NormalizerJSON): Normalizer {
  switch (obj.type) {
    case 'BertNormalizer': {
      const sa = obj.strip_accents;
      if (sa !== undefined && sa !== null && typeof sa !== 'boolean') {
        throw new Error(`tokenizer.json normalizer BertNormalizer: "strip_accents" must be true, false or null, got ${JSON.stringify(sa)}`);
      }
      return new BertNormalizer({
        clean_text: boolField(obj, 'clean_text', true),
        handle_chinese_chars: boolField(obj, 'handle_chinese_chars', true),
        strip_accents: sa ?? null,
        lowercase: boolField(obj, 'lowercase', true),
      });
    }
    case 'Lowercase':
      return new Lowercase();
    case 'StripAccents':
      return new StripAccents();
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return new UnicodeNormalizer(obj.type);
    case 'Strip':
      return new Strip(boolField(obj, 'strip_left', true), boolField(obj, 'strip_right', true));
    case 'Replace': {
      if (typeof obj.content !== 'string') {
        throw new Error(`tokenizer.json normalizer Replace: "content" must be a string, got ${JSON.stringify(obj.content)}`);
      }
      return new Replace(replacePatternFromJSON(obj.pattern, 'normalizer Replace'), obj.content);
    }
    case 'Nmt':
      return new Nmt();
    case 'Precompiled': {
      const map = obj.precompiled_charsmap;
      if (typeof map !== 'string') {
        throw new Error(
          `tokenizer.json normalizer Precompiled: "precompiled_charsmap" must be the base64 text of SentencePiece's table, got ${JSON.stringify(map)?.slice(0, 60)}` +
            (map === null ? ' (a file converted without the table; re-convert it, or replace the normalizer with {"type": "NFKC"})' : ''),
        );
      }
      try {
        return Precompiled.fromBase64(map);
      } catch (e) {
        throw new Error(`tokenizer.json normalizer Precompiled: ${(e as Error).message}`);
      }
    }
    case 'Prepend':
      if (typeof obj.prepend !== 'string') {
        throw new Error(`tokenizer.json normalizer Prepend: "prepend" must be a string, got ${JSON.stringify(obj.prepend)}`);
      }
      return new Prepend(obj.prepend);
    case 'Sequence': {
      if (!Array.isArray(obj.normalizers)) {
        throw new Error('tokenizer.json normalizer Sequence: "normalizers" must be a list of normalizers');
      }
      return new SequenceNormalizer((obj.normalizers as NormalizerJSON[]).map((n) => normalizerFromJSON(n)));
    }
    default:
      throw new Error(
        `tokenizer.json normalizer: type ${JSON.stringify(obj.type)} is not supported; supported normalizers: ${SUPPORTED_NORMALIZERS.join(', ')}`,
      );
  }
}
