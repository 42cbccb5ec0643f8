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
// ByteLevel, Split (literal string patterns), Sequence. ByteLevel (GPT-2) is special: its regex split and
// byte mapping are done by the byte-level BPE model itself (src/tokenizers/bpe.ts), so here it only records
// its options and splits on the GPT-2 pattern.

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
}

/** The tokenizer.json form of a pre-tokenizer. */
export type PreTokenizerJSON = { type: string; [key: string]: unknown };

/** Cuts normalized text into words. `splits` are the words so far; the result replaces them. */
export interface PreTokenizer {
  preTokenize(text: string, splits: Split[]): Split[];
  toJSON(): PreTokenizerJSON;
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

/** Apply several pre-tokenizers in order, each one splitting the words of the previous. */
export class SequencePreTokenizer implements PreTokenizer {
  constructor(readonly pretokenizers: readonly PreTokenizer[]) {}
  preTokenize(text: string, splits: Split[]): Split[] {
    let out = splits;
    for (const p of this.pretokenizers) out = p.preTokenize(text, out);
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
