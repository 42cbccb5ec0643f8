// Training data for a causal language model: text → one long stream of token ids → random windows.
//
// Each document is tokenized once and split: its first (1 - valFraction) of tokens go to training, the rest
// to validation, so every document (every play, every book) is represented on both sides and the validation
// text is never seen in training. A batch is B random windows of T + 1 consecutive tokens from the training
// stream: inputs are the first T, targets the last T (the same window shifted by one). Token ids are stored
// in an Int32Array (not a JS array) so a 100 MB corpus costs 4 bytes a token.

import { Rng, tensor, type Tensor } from '../tensor/index.js';

/** What training needs from a tokenizer: ids for text (no special tokens added). */
export interface TokenEncoder {
  encodeText(text: string): number[];
}

export interface TokenStream {
  /** Training tokens, documents concatenated in order. */
  train: Int32Array;
  /** Validation tokens, the tail of each document, concatenated. */
  val: Int32Array;
  /** UTF-8 bytes of the validation text: turns a loss per token into bits per byte. */
  valBytes: number;
  /** UTF-8 bytes of the training text. */
  trainBytes: number;
}

export interface Document {
  name: string;
  text: string;
}

/**
 * One document's training head and validation tail: the last `valFraction` of its characters, moved back to the
 * start of a line when one is near (within another valFraction). A tokenizer trained for a run sees only the
 * heads (cli/train.ts), so no merge is learned from validation text.
 */
export function splitText(text: string, valFraction: number): { train: string; val: string } {
  let cut = Math.floor(text.length * (1 - valFraction));
  const nl = text.lastIndexOf('\n', cut);
  if (valFraction > 0 && nl > text.length * (1 - 2 * valFraction)) cut = nl + 1;
  return { train: text.slice(0, cut), val: text.slice(cut) };
}

/**
 * Split each document into train and validation (splitText: validation begins at a clean line, which reads
 * better in samples and splits no word) and tokenize both.
 */
export function buildTokenStream(docs: Document[], tok: TokenEncoder, valFraction = 0.1): TokenStream {
  if (!(valFraction >= 0 && valFraction < 1)) throw new Error(`valFraction must be in [0, 1), got ${valFraction}`);
  const trainParts: number[][] = [];
  const valParts: number[][] = [];
  let valBytes = 0;
  let trainBytes = 0;
  const utf8 = new TextEncoder();
  for (const doc of docs) {
    const { train: trainText, val: valText } = splitText(doc.text, valFraction);
    trainParts.push(tok.encodeText(trainText));
    trainBytes += utf8.encode(trainText).length;
    if (valText.length > 0) {
      valParts.push(tok.encodeText(valText));
      valBytes += utf8.encode(valText).length;
    }
  }
  return { train: concat(trainParts), val: concat(valParts), valBytes, trainBytes };
}

function concat(parts: number[][]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface Batch {
  x: Tensor; // (B, T) int32 inputs
  y: Tensor; // (B, T) int32 targets: x shifted left by one
}

/**
 * B random windows of T + 1 tokens from `tokens`, drawn with `rng` (so a seeded run sees the same batches,
 * and saving the rng's state is all "the data position" is).
 */
export function randomBatch(tokens: Int32Array, B: number, T: number, rng: Rng): Batch {
  if (tokens.length < T + 1) {
    throw new Error(`not enough tokens for a window: have ${tokens.length}, a batch row needs block size + 1 = ${T + 1}; use more text or a smaller --block-size`);
  }
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = Math.floor(rng.uniform() * (tokens.length - T));
    x.set(tokens.subarray(start, start + T), b * T);
    y.set(tokens.subarray(start + 1, start + T + 1), b * T);
  }
  return { x: tensor(x, [B, T], { dtype: 'int32' }), y: tensor(y, [B, T], { dtype: 'int32' }) };
}

/**
 * Every token of `tokens` exactly once (except the very first, which is never a target), as consecutive
 * non-overlapping windows: what evaluation uses so its loss is over the whole validation set, not a sample.
 */
export function* sequentialBatches(tokens: Int32Array, B: number, T: number): Generator<Batch & { count: number }> {
  const windows = Math.floor((tokens.length - 1) / T);
  const rest = tokens.length - 1 - windows * T;
  const rows: Array<[number, number]> = [];
  for (let w = 0; w < windows; w++) rows.push([w * T, T]);
  if (rest > 0) rows.push([windows * T, rest]);
  for (let i = 0; i < rows.length; i += B) {
    const chunk = rows.slice(i, i + B);
    const len = Math.max(...chunk.map((r) => r[1]));
    const x = new Int32Array(chunk.length * len);
    const y = new Int32Array(chunk.length * len).fill(-100); // -100: ignored by the loss (a short last row)
    let count = 0;
    chunk.forEach(([start, n], b) => {
      x.set(tokens.subarray(start, start + n), b * len);
      y.set(tokens.subarray(start + 1, start + n + 1), b * len);
      count += n;
    });
    yield { x: tensor(x, [chunk.length, len], { dtype: 'int32' }), y: tensor(y, [chunk.length, len], { dtype: 'int32' }), count };
  }
}

/** Bits per byte from a mean loss in nats per token: comparable across tokenizers (a byte is a byte). */
export function bitsPerByte(lossPerToken: number, tokens: number, bytes: number): number {
  return (lossPerToken * tokens) / (bytes * Math.LN2);
}
