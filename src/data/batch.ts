// Rows of different lengths → one rectangular batch, the shape a model's forward takes.
//
//   rows      [101, 7592, 102]            [101, 7592, 2088, 999, 102]
//   batch     101 7592  102    0   0      (B=2, T=5), padded on the right with the pad id
//             101 7592 2088  999 102
//   mask        1    1    1    0   0      attention mask: 0 marks padding
//
// Padding goes on the right (BERT, T5 and classification heads read position 0 or the first tokens); labels
// of padded positions are -100 so the loss skips them.

/** A rectangular batch in one typed array: element (b, t) is data[b * length + t]. */
export interface PaddedRows {
  data: Int32Array; // (B, T)
  size: number; // B
  length: number; // T
}

export interface PadOptions {
  /** Pad to exactly this length (rows longer than it are an error). Default: the longest row. */
  length?: number;
  /** Round the length up to a multiple of this. */
  multipleOf?: number;
}

/** The length a batch of rows is padded to. */
export function paddedLength(rows: ReadonlyArray<ArrayLike<number>>, options: PadOptions = {}): number {
  const longest = rows.reduce((m, r) => Math.max(m, r.length), 0);
  let length = options.length ?? longest;
  if (length < longest) throw new Error(`padRows: a row has ${longest} values, more than the requested length ${length}`);
  const m = options.multipleOf ?? 0;
  if (m > 0 && length % m !== 0) length += m - (length % m);
  return length;
}

/**
 * Stack rows into (B, T), filling the right end of short rows with `padValue`.
 * Example: `padRows([[1, 2], [3]], 0)` → `{ data: Int32Array [1, 2, 3, 0], size: 2, length: 2 }`.
 */
export function padRows(rows: ReadonlyArray<ArrayLike<number>>, padValue: number, options: PadOptions = {}): PaddedRows {
  const length = paddedLength(rows, options);
  const data = new Int32Array(rows.length * length).fill(padValue);
  rows.forEach((r, b) => {
    for (let t = 0; t < r.length; t++) data[b * length + t] = r[t];
  });
  return { data, size: rows.length, length };
}

/** What every encoder feature has: the three per-token arrays a BERT-style model reads. */
export interface EncodedInput {
  inputIds: Int32Array; // (T,)
  typeIds: Int32Array; // (T,) segment ids: 0 first text, 1 second text
  attentionMask: Uint8Array; // (T,) 1 real token, 0 padding
}

/** A padded batch of EncodedInputs, each array (B, T) flattened. */
export interface EncodedBatch {
  inputIds: Int32Array;
  typeIds: Int32Array;
  attentionMask: Uint8Array;
  size: number; // B
  length: number; // T
}

/**
 * Pad features into one batch: ids with `padId`, type ids with 0, attention mask with 0.
 * Example: `collateInputs(features.slice(0, 16), tok.tokenToId('[PAD]')!)`.
 */
export function collateInputs(features: readonly EncodedInput[], padId: number, options: PadOptions = {}): EncodedBatch {
  const ids = padRows(features.map((f) => f.inputIds), padId, options);
  const types = padRows(features.map((f) => f.typeIds), 0, { length: ids.length });
  const mask = padRows(features.map((f) => f.attentionMask), 0, { length: ids.length });
  return { inputIds: ids.data, typeIds: types.data, attentionMask: Uint8Array.from(mask.data), size: ids.size, length: ids.length };
}

/** The three arrays of an Encoding as typed arrays (what every feature builder stores). */
export function encodedInput(e: { ids: number[]; typeIds: number[]; attentionMask: number[] }): EncodedInput {
  return { inputIds: Int32Array.from(e.ids), typeIds: Int32Array.from(e.typeIds), attentionMask: Uint8Array.from(e.attentionMask) };
}
