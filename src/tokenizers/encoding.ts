// The Encoding: what a tokenizer returns for one input (a text, or a pair of texts), plus the three operations
// that reshape it: merge (put sequence A and B side by side), truncate (cut to a maximum length, keeping the
// cut-off parts as "overflowing" windows) and pad (fill to a target length).
//
// For "[CLS] hello world [SEP]" an Encoding holds, one entry per token:
//   ids               [101, 7592, 2088, 102]      the token ids the model reads
//   tokens            ["[CLS]", "hello", "world", "[SEP]"]
//   offsets           [[0,0], [0,5], [6,11], [0,0]]   [start, end) in the ORIGINAL text, UTF-16 code units;
//                                                     special tokens have [0, 0]
//   typeIds           [0, 0, 0, 0]                 segment ids (0 for sentence A, 1 for sentence B in BERT)
//   attentionMask     [1, 1, 1, 1]                 0 marks padding
//   specialTokensMask [1, 0, 0, 1]                 1 marks tokens added by the post-processor (and padding)
//   wordIds           [null, 0, 1, null]           which pre-tokenized word each token came from
//   sequenceIds       [null, 0, 0, null]           0 = text A, 1 = text B, null = special/padding
//   overflowing       []                           windows cut off by truncation (question answering)
//
// The semantics follow Hugging Face `tokenizers` (encoding.rs) so results are identical; in particular the
// order of overflowing windows when both texts overflow. Per-token data are plain arrays: an Encoding is
// short (it holds one sequence), is built by pushing, and should print and serialize as readable JSON.

/** One tokenized input. See the top of this file for what each field means. */
export interface Encoding {
  ids: number[];
  tokens: string[];
  offsets: Array<[number, number]>;
  typeIds: number[];
  attentionMask: number[];
  specialTokensMask: number[];
  wordIds: Array<number | null>;
  sequenceIds: Array<number | null>;
  /** Windows cut off by truncation, each a full Encoding (with special tokens and padding applied). */
  overflowing: Encoding[];
}

/** An Encoding with no tokens. */
export function emptyEncoding(): Encoding {
  return {
    ids: [],
    tokens: [],
    offsets: [],
    typeIds: [],
    attentionMask: [],
    specialTokensMask: [],
    wordIds: [],
    sequenceIds: [],
    overflowing: [],
  };
}

/** A copy that shares nothing with the original (overflowing windows are copied too). */
export function cloneEncoding(e: Encoding): Encoding {
  return {
    ids: e.ids.slice(),
    tokens: e.tokens.slice(),
    offsets: e.offsets.map((o) => [o[0], o[1]] as [number, number]),
    typeIds: e.typeIds.slice(),
    attentionMask: e.attentionMask.slice(),
    specialTokensMask: e.specialTokensMask.slice(),
    wordIds: e.wordIds.slice(),
    sequenceIds: e.sequenceIds.slice(),
    overflowing: e.overflowing.map(cloneEncoding),
  };
}

/** Tokens [start, stop) of `e` as a new Encoding without overflowing windows. */
function sliceEncoding(e: Encoding, start: number, stop: number): Encoding {
  return {
    ids: e.ids.slice(start, stop),
    tokens: e.tokens.slice(start, stop),
    offsets: e.offsets.slice(start, stop).map((o) => [o[0], o[1]] as [number, number]),
    typeIds: e.typeIds.slice(start, stop),
    attentionMask: e.attentionMask.slice(start, stop),
    specialTokensMask: e.specialTokensMask.slice(start, stop),
    wordIds: e.wordIds.slice(start, stop),
    sequenceIds: e.sequenceIds.slice(start, stop),
    overflowing: [],
  };
}

/** Append b's tokens to a (in place), without touching overflowing windows. */
function appendTokens(a: Encoding, b: Encoding): void {
  for (let i = 0; i < b.ids.length; i++) {
    a.ids.push(b.ids[i]);
    a.tokens.push(b.tokens[i]);
    a.offsets.push([b.offsets[i][0], b.offsets[i][1]]);
    a.typeIds.push(b.typeIds[i]);
    a.attentionMask.push(b.attentionMask[i]);
    a.specialTokensMask.push(b.specialTokensMask[i]);
    a.wordIds.push(b.wordIds[i]);
    a.sequenceIds.push(b.sequenceIds[i]);
  }
}

/**
 * Concatenate `pair` after `self` (in place on `self`). When either side has overflowing windows, the result's
 * windows are every combination HF produces, in HF's order:
 *   for each window s of self:  s + pair,  then s + each window p of pair;
 *   then self + each window p of pair.
 * (HF also nests windows inside windows; only this top level is ever returned to users, so we keep only it.)
 */
export function mergeInto(self: Encoding, pair: Encoding): void {
  const windows: Encoding[] = [];
  const pairMain = { ...pair, overflowing: [] as Encoding[] };
  for (const s of self.overflowing) {
    const withPair = sliceEncoding(s, 0, s.ids.length);
    appendTokens(withPair, pairMain);
    windows.push(withPair);
    for (const p of pair.overflowing) {
      const both = sliceEncoding(s, 0, s.ids.length);
      appendTokens(both, p);
      windows.push(both);
    }
  }
  for (const p of pair.overflowing) {
    const selfWithP = sliceEncoding(self, 0, self.ids.length);
    appendTokens(selfWithP, p);
    windows.push(selfWithP);
  }
  appendTokens(self, pairMain);
  self.overflowing = windows;
}

/** Merge several encodings left to right (HF `Encoding::merge`). */
export function mergeEncodings(parts: readonly Encoding[]): Encoding {
  const out = emptyEncoding();
  for (const p of parts) mergeInto(out, p);
  return out;
}

/** Which end truncation cuts from. */
export type Side = 'right' | 'left';

/**
 * Cut `e` to `maxLength` tokens (in place). The tokens that did not fit become overflowing windows of
 * `maxLength` tokens each, consecutive windows sharing `stride` tokens of context:
 *   10 tokens, maxLength 4, stride 1, right:  [0..4) kept, windows [3..7), [6..10)
 * Requires stride < maxLength (otherwise the windows would never advance).
 */
export function truncateEncoding(e: Encoding, maxLength: number, stride: number, side: Side): void {
  const n = e.ids.length;
  if (maxLength >= n) return;
  if (maxLength === 0) {
    const all = sliceEncoding(e, 0, n);
    Object.assign(e, emptyEncoding());
    e.overflowing = [all];
    return;
  }
  if (stride >= maxLength) {
    throw new Error(
      `truncation: stride ${stride} must be smaller than the ${maxLength} tokens each window keeps ` +
        '(maxLength minus the special tokens and the other text); lower the stride or raise maxLength',
    );
  }
  const step = maxLength - stride;
  const ranges: Array<[number, number]> = [];
  if (side === 'right') {
    for (let start = 0; start < n; start += step) {
      const stop = Math.min(start + maxLength, n);
      ranges.push([start, stop]);
      if (stop === n) break;
    }
  } else {
    for (let last = n - 1; last >= 0; last -= step) {
      const stop = last + 1;
      const start = Math.max(0, stop - maxLength);
      ranges.push([start, stop]);
      if (start === 0) break;
    }
  }
  const parts = ranges.map(([a, b]) => sliceEncoding(e, a, b));
  const main = parts[0];
  Object.assign(e, main);
  e.overflowing = parts.slice(1);
}

/** How to pad. `padId`/`padToken` default to 0 / "[PAD]" when the tokenizer has no padding settings. */
export interface PadParams {
  padId: number;
  padTypeId: number;
  padToken: string;
  side: Side;
}

/**
 * Pad `e` (and its overflowing windows) to `length` tokens, in place. Padding tokens have attention 0,
 * special-token mask 1, offsets [0, 0], no word and no sequence. Longer encodings are left alone.
 */
export function padEncoding(e: Encoding, length: number, params: PadParams): void {
  for (const o of e.overflowing) padEncoding(o, length, params);
  const missing = length - e.ids.length;
  if (missing <= 0) return;
  const fill = <T>(value: T): T[] => new Array<T>(missing).fill(value);
  const offsets = (): Array<[number, number]> => Array.from({ length: missing }, () => [0, 0] as [number, number]);
  if (params.side === 'left') {
    e.ids = fill(params.padId).concat(e.ids);
    e.typeIds = fill(params.padTypeId).concat(e.typeIds);
    e.tokens = fill(params.padToken).concat(e.tokens);
    e.wordIds = fill<number | null>(null).concat(e.wordIds);
    e.sequenceIds = fill<number | null>(null).concat(e.sequenceIds);
    e.attentionMask = fill(0).concat(e.attentionMask);
    e.specialTokensMask = fill(1).concat(e.specialTokensMask);
    e.offsets = offsets().concat(e.offsets);
  } else {
    e.ids = e.ids.concat(fill(params.padId));
    e.typeIds = e.typeIds.concat(fill(params.padTypeId));
    e.tokens = e.tokens.concat(fill(params.padToken));
    e.wordIds = e.wordIds.concat(fill<number | null>(null));
    e.sequenceIds = e.sequenceIds.concat(fill<number | null>(null));
    e.attentionMask = e.attentionMask.concat(fill(0));
    e.specialTokensMask = e.specialTokensMask.concat(fill(1));
    e.offsets = e.offsets.concat(offsets());
  }
}
