// Masked language modelling, BERT's pretraining objective: hide some tokens, train the model to name them.
//
//   ids       [CLS] the  cat  sat  on   the  mat  [SEP]
//   selected         ·    ✓    ·    ·    ✓    ·            15 % of the non-special tokens
//   inputs    [CLS] the [MASK] sat on   the  dog  [SEP]    of those: 80 % → [MASK], 10 % → a random token,
//   labels    -100 -100  cat  -100 -100 the  -100 -100     10 % kept as they are; labels = the original id at
//                                                          selected positions, -100 (ignored) elsewhere
//
// Why not always [MASK]? [MASK] never appears when the model is fine-tuned or used, so the model must also
// predict tokens it can see (kept) and distrust tokens that look fine (random) — Devlin et al. 2019, §3.1.
// The mask is drawn anew every time a row is used (RoBERTa's "dynamic masking"), from the seeded Rng, so a
// run is reproducible and a resumed run continues the same stream of masks.
//
// Selection follows Hugging Face's DataCollatorForLanguageModeling: every candidate token is selected
// independently with probability 0.15 (so the count varies around 15 %). Whole-word masking follows
// DataCollatorForWholeWordMask (and Google's create_pretraining_data.py): words are shuffled and taken whole
// until round(0.15 × candidate tokens) tokens are covered, skipping a word that would overshoot, so a word is
// never split between masked and unmasked.
// One deliberate difference from Hugging Face: a "random token" is drawn from the non-special ids only (HF
// draws from the whole vocabulary, so it can put a [CLS] or [PAD] in the middle of a sentence).
//
// Also here: word boundaries from token strings (WordPiece "##" continuations, byte-level BPE tokens without
// a leading "Ġ"), and packing a token stream into fixed-length [CLS] … [SEP] rows (single segments or A/B
// pairs, RoBERTa-style: no next-sentence prediction).

import type { Rng } from '../../tensor/rng.js';
import { roundHalfEven, shuffle } from './sampling.js';

/** The options shared by maskTokens and wholeWordMask. */
export interface MaskingOptions {
  /** Id of [MASK]. */
  maskId: number;
  /** Vocabulary size: random replacements are drawn from [0, vocabSize). */
  vocabSize: number;
  /**
   * Ids never selected and never drawn as random replacements ([CLS], [SEP], [PAD], [MASK], [UNK], ...).
   * Padding must be covered here or by `specialMask`.
   */
  specialIds?: ArrayLike<number>;
  /** Per position, 1 = never select (a packed batch's special-token mask; covers padding too). */
  specialMask?: Uint8Array;
  /** Fraction of candidate tokens selected. Default 0.15. */
  probability?: number;
  /** Of the selected tokens: the fraction replaced by [MASK] (default 0.8) and by a random token (default 0.1); the rest are kept. */
  maskFraction?: number;
  randomFraction?: number;
}

/** Masked inputs and their labels (both the shape of the ids given). */
export interface MaskedTokens {
  inputIds: Int32Array;
  /** The original id at selected positions, -100 everywhere else. */
  labels: Int32Array;
}

/**
 * Dynamic BERT masking: each candidate token is selected with probability 0.15, then 80/10/10 as above.
 * Works on one row or a flat (B, T) batch alike. Example:
 * `maskTokens(packed.inputIds, rng, { maskId: 103, vocabSize: 30522, specialMask: packed.specialMask })`.
 * Does not handle: span masking (see span_corruption.ts), per-row exact counts (use wholeWordMask).
 */
export function maskTokens(ids: Int32Array, rng: Rng, options: MaskingOptions): MaskedTokens {
  const o = resolve(options, ids.length, rng);
  const inputIds = ids.slice();
  const labels = new Int32Array(ids.length).fill(-100);
  for (let i = 0; i < ids.length; i++) {
    if (!o.candidate(i, ids[i])) continue;
    if (rng.uniform() >= o.probability) continue;
    labels[i] = ids[i];
    inputIds[i] = o.corrupt(ids[i]);
  }
  return { inputIds, labels };
}

export interface WholeWordMaskOptions extends MaskingOptions {
  /** Per position, 1 = this token starts a new word (from wordStarts()). */
  wordStarts: Uint8Array;
  /** Treat ids as rows of this many tokens, each masked on its own (a flat (B, T) batch). Default: one row. */
  rowLength?: number;
  /** At most this many tokens selected per row. Default: no limit (HF's collator uses 512). */
  maxPredictions?: number;
}

/**
 * Whole-word masking: per row, words are shuffled and selected whole until round(0.15 × candidates) tokens
 * are covered; the selected tokens then get 80/10/10 one by one (as in BERT's code). Example:
 * `wholeWordMask(ids, rng, { maskId, vocabSize, specialMask, wordStarts: wordStarts(ids, table) })`.
 */
export function wholeWordMask(ids: Int32Array, rng: Rng, options: WholeWordMaskOptions): MaskedTokens {
  const o = resolve(options, ids.length, rng);
  if (options.wordStarts.length !== ids.length) {
    throw new Error(`wholeWordMask: wordStarts has ${options.wordStarts.length} entries for ${ids.length} ids`);
  }
  const rowLength = options.rowLength ?? ids.length;
  if (!(Number.isInteger(rowLength) && rowLength > 0 && ids.length % rowLength === 0) && ids.length > 0) {
    throw new Error(`wholeWordMask: rowLength ${rowLength} does not divide the ${ids.length} ids into rows`);
  }
  const maxPredictions = options.maxPredictions ?? Infinity;
  const inputIds = ids.slice();
  const labels = new Int32Array(ids.length).fill(-100);
  for (let row = 0; row < ids.length; row += rowLength) {
    // Words of this row: runs of candidate tokens, a new one at each word start or after a non-candidate.
    const words: Array<[number, number]> = []; // [start, end)
    let candidates = 0;
    for (let i = row; i < row + rowLength; i++) {
      if (!o.candidate(i, ids[i])) continue;
      candidates++;
      const last = words[words.length - 1];
      if (last && last[1] === i && options.wordStarts[i] === 0) last[1] = i + 1;
      else words.push([i, i + 1]);
    }
    if (words.length === 0) continue;
    shuffle(words, rng);
    const target = Math.min(maxPredictions, Math.max(1, roundHalfEven(candidates * o.probability)));
    let covered = 0;
    for (const [start, end] of words) {
      if (covered >= target) break;
      if (covered + (end - start) > target) continue; // would overshoot: try a shorter word
      covered += end - start;
      for (let i = start; i < end; i++) {
        labels[i] = ids[i];
        inputIds[i] = o.corrupt(ids[i]);
      }
    }
  }
  return { inputIds, labels };
}

/** The checks and the 80/10/10 replacement shared by both maskers. */
function resolve(options: MaskingOptions, n: number, rng: Rng) {
  const probability = options.probability ?? 0.15;
  const maskFraction = options.maskFraction ?? 0.8;
  const randomFraction = options.randomFraction ?? 0.1;
  const { maskId, vocabSize } = options;
  if (!(probability >= 0 && probability <= 1)) throw new Error(`masking: probability must be in [0, 1], got ${probability}`);
  if (!(maskFraction >= 0 && randomFraction >= 0 && maskFraction + randomFraction <= 1)) {
    throw new Error(`masking: maskFraction ${maskFraction} and randomFraction ${randomFraction} must be ≥ 0 and add up to at most 1`);
  }
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new Error(`masking: vocabSize must be a positive integer, got ${vocabSize}`);
  if (!Number.isInteger(maskId) || maskId < 0 || maskId >= vocabSize) throw new Error(`masking: maskId ${maskId} is not an id of a vocabulary of ${vocabSize}`);
  if (options.specialMask && options.specialMask.length !== n) {
    throw new Error(`masking: specialMask has ${options.specialMask.length} entries for ${n} ids`);
  }
  const special = new Set<number>(Array.from(options.specialIds ?? []));
  special.add(maskId);
  if (special.size >= vocabSize && randomFraction > 0) throw new Error('masking: every id is special, so there is no token to draw as a random replacement');
  const specialMask = options.specialMask;
  return {
    probability,
    candidate: (i: number, id: number): boolean => !(specialMask && specialMask[i]) && !special.has(id),
    /** [MASK], a random non-special id, or the id itself. */
    corrupt: (id: number): number => {
      // rng is drawn once per selected token for the 80/10/10 choice; the random id takes more draws.
      const u = rng.uniform();
      if (u < maskFraction) return maskId;
      if (u < maskFraction + randomFraction) {
        let r: number;
        do r = rng.int(vocabSize);
        while (special.has(r));
        return r;
      }
      return id;
    },
  };
}

// ── word boundaries ───────────────────────────────────────────────────────────────────────────────────────

/** How a vocabulary marks words: WordPiece marks continuations ("##ing"), byte-level BPE marks starts ("Ġthe"). */
export type WordBoundaryScheme = 'wordpiece' | 'byte-level';

/**
 * Per vocabulary id, 1 when the token continues the word before it: WordPiece tokens starting with "##" (or the
 * given prefix), byte-level BPE tokens not starting with "Ġ" (a space). Unknown ids get 0.
 * Example: `continuationTable(tok.vocabSize, (id) => tok.idToToken(id), 'wordpiece')`.
 * SentencePiece vocabularies ("▁the") work as scheme 'byte-level' with startMarker '▁'.
 * Does not handle: vocabularies that mark neither starts nor continuations (character-level).
 */
export function continuationTable(
  vocabSize: number,
  idToToken: (id: number) => string | undefined,
  scheme: WordBoundaryScheme,
  options: { continuationPrefix?: string; startMarker?: string; specialIds?: ArrayLike<number> } = {},
): Uint8Array {
  const prefix = options.continuationPrefix ?? '##';
  const marker = options.startMarker ?? '\u0120'; // Ġ: byte-level BPE's picture of a space
  const special = new Set<number>(Array.from(options.specialIds ?? []));
  const table = new Uint8Array(vocabSize);
  for (let id = 0; id < vocabSize; id++) {
    const t = idToToken(id);
    if (t === undefined || special.has(id)) continue;
    table[id] = scheme === 'wordpiece' ? (t.startsWith(prefix) ? 1 : 0) : t.startsWith(marker) ? 0 : 1;
  }
  return table;
}

/**
 * Per position, 1 when the token starts a word: the first token, and every token whose id is not a
 * continuation. Example: `wordStarts(ids, continuationTable(...))`. (wholeWordMask also starts a new word after
 * any special token, so "<s>Hello" keeps "Hello" apart from "<s>".)
 */
export function wordStarts(ids: Int32Array, continuation: Uint8Array): Uint8Array {
  const out = new Uint8Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = i === 0 || !continuation[ids[i]] ? 1 : 0;
  return out;
}

// ── packing ───────────────────────────────────────────────────────────────────────────────────────────────

/** Fixed-length rows for an encoder, each array (rows, length) flattened. */
export interface PackedRows {
  inputIds: Int32Array;
  typeIds: Int32Array; // 0 for segment A (and [CLS]), 1 for segment B
  attentionMask: Uint8Array; // 0 on padding
  specialMask: Uint8Array; // 1 on [CLS], [SEP] and padding: never masked
  rows: number;
  length: number;
}

export interface PackOptions {
  /** Tokens per row, [CLS] and [SEP]s included. */
  length: number;
  clsId: number;
  sepId: number;
  padId: number;
  /** Drop a last row that would need padding. Default false (pad it). */
  dropLast?: boolean;
}

/**
 * Cut a token stream into rows `[CLS] t₀ … t_{L−3} [SEP]` of `length` tokens (the last one padded), the way
 * RoBERTa packs "full sentences": the stream runs on across rows and documents (put a separator id between
 * documents in the stream if they should be marked). Example:
 * `packSequences(stream, { length: 128, clsId: 101, sepId: 102, padId: 0 })`.
 */
export function packSequences(stream: Int32Array, options: PackOptions): PackedRows {
  const content = checkPack(options, 2);
  const rows = options.dropLast ? Math.floor(stream.length / content) : Math.ceil(stream.length / content);
  const out = emptyRows(rows, options);
  for (let r = 0; r < rows; r++) {
    const piece = stream.subarray(r * content, Math.min((r + 1) * content, stream.length));
    writeRow(out, r, [piece], options);
  }
  return out;
}

/**
 * Rows `[CLS] A [SEP] B [SEP]`: each row takes the next L − 3 tokens of the stream and splits them at a
 * uniformly random point into two non-empty segments A and B (type ids 0 and 1), so the model learns the
 * two-segment format without next-sentence prediction. A last piece of one token has no B.
 * Example: `packSequencePairs(stream, rng, { length: 128, clsId: 101, sepId: 102, padId: 0 })`.
 */
export function packSequencePairs(stream: Int32Array, rng: Rng, options: PackOptions): PackedRows {
  const content = checkPack(options, 3);
  const rows = options.dropLast ? Math.floor(stream.length / content) : Math.ceil(stream.length / content);
  const out = emptyRows(rows, options);
  for (let r = 0; r < rows; r++) {
    const piece = stream.subarray(r * content, Math.min((r + 1) * content, stream.length));
    if (piece.length < 2) {
      writeRow(out, r, [piece], options);
      continue;
    }
    const cut = 1 + rng.int(piece.length - 1); // A = piece[0, cut), B = piece[cut, n): both non-empty
    writeRow(out, r, [piece.subarray(0, cut), piece.subarray(cut)], options);
  }
  return out;
}

function checkPack(options: PackOptions, specials: number): number {
  const { length } = options;
  if (!Number.isInteger(length) || length <= specials) {
    throw new Error(`packing: length must be an integer above ${specials} (the special tokens of a row), got ${length}`);
  }
  return length - specials;
}

function emptyRows(rows: number, options: PackOptions): PackedRows {
  const n = rows * options.length;
  return {
    inputIds: new Int32Array(n).fill(options.padId),
    typeIds: new Int32Array(n),
    attentionMask: new Uint8Array(n),
    specialMask: new Uint8Array(n).fill(1),
    rows,
    length: options.length,
  };
}

/** Row r = [CLS] seg₀ [SEP] (seg₁ [SEP]); segment k has type id k. */
function writeRow(out: PackedRows, r: number, segments: Int32Array[], options: PackOptions): void {
  let t = r * options.length;
  const put = (id: number, type: number, special: number): void => {
    out.inputIds[t] = id;
    out.typeIds[t] = type;
    out.attentionMask[t] = 1;
    out.specialMask[t] = special;
    t++;
  };
  put(options.clsId, 0, 1);
  segments.forEach((seg, k) => {
    for (let i = 0; i < seg.length; i++) put(seg[i], k, 0);
    put(options.sepId, k, 1);
  });
}
