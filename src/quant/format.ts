// Quantised weights: the formats, how a float matrix becomes one, and how to read it back.
//
// A weight matrix W of a linear layer (y = x·Wᵀ + b) has N rows (outputs) of K inputs. Quantised, each row keeps
// its K weights as small integers q and one float32 scale per group of g consecutive inputs:
//
//   W[j, k] ≈ scale[j, ⌊k / g⌋] · q[j, k]          j < N (outputs), k < K (inputs), G = K / g scales per row
//
// Symmetric (no zero point): the scale of a group is max |w| / qmax, so 0 is exact and the largest weight of the
// group lands on ±qmax. Rounding to the nearest integer makes every weight's error at most half a step:
//
//   |W[j, k] − scale·q[j, k]| ≤ scale / 2 = max_group |w| / (2·qmax)
//
//   int8  q ∈ [−127, 127] (qmax 127), one byte each, (N, K) bytes. Default g = K: one scale per output channel,
//         which is already accurate to 1/254 of a row's largest weight (one value of −128 is left unused so
//         that q and −q are both representable).
//   int4  q ∈ [−7, 7] (qmax 7), stored as u = q + 8 ∈ [1, 15] in a nibble, two per byte: byte i of a row holds
//         weight 2i in its low 4 bits and weight 2i + 1 in its high 4 bits; (N, K/2) bytes. Default g = 32
//         (DEFAULT_INT4_GROUP): with 15 levels a whole row's range is too coarse (one large weight would zero
//         out most of the others), while a group of 32 follows the weights closely; its float32 scale adds 1
//         bit per weight (4.5 bits in all, against float32's 32). Group sizes are multiples of 32 and divide K.
//
// This is exactly the layout in memory (what the kernels in kernels/quant.ts read) and on disk (what
// `attn quantize` writes, see ./folder.ts), so a quantised folder loads with no conversion. A layer whose float
// weight is stored (in, out) — GPT-2's Conv1D — is quantised from its transpose: quantised weights are always
// (out, in), one output per row, because each output's dot product then reads its weights contiguously.
//
// What the choices cost in quality is measured, not assumed: `attn eval --dtype float32|int8|int4` scores the same
// text with each (the README's quantisation section records the default run's figures).

import { dequantizeRow, type QuantizedWeight } from '../backend/backend.js';

export type QuantBits = 4 | 8;

/** How to quantise: bits per weight and inputs per scale (default: K for int8, 32 for int4). */
export interface QuantSpec {
  bits: QuantBits;
  groupSize?: number;
}

/** The int4 group size when none is given (see the header for why). */
export const DEFAULT_INT4_GROUP = 32;
/** The kernels quantise activations in blocks of this many values; groups smaller than K are multiples of it. */
export const QUANT_BLOCK = 32;

/** Largest |q| for a number of bits. */
export function qmax(bits: QuantBits): number {
  return bits === 8 ? 127 : 7;
}

/**
 * The group size a spec gives for a row of K inputs, or a reason it cannot be used (null, why): g must divide K
 * and, unless it is K itself, be a multiple of 32; int4 also needs K a multiple of 32 (16-byte blocks).
 * Example: `groupSizeFor({ bits: 4 }, 768)` → `{ groupSize: 32 }`.
 */
export function groupSizeFor(spec: QuantSpec, k: number): { groupSize: number } | { why: string } {
  const g = spec.groupSize ?? (spec.bits === 8 ? k : DEFAULT_INT4_GROUP);
  if (spec.bits === 4 && k % QUANT_BLOCK !== 0) return { why: `int4 needs the input size to be a multiple of ${QUANT_BLOCK}, got K = ${k}` };
  if (!Number.isInteger(g) || g < 1) return { why: `group size must be a positive integer, got ${g}` };
  if (k % g !== 0) return { why: `group size ${g} does not divide K = ${k}` };
  if (g !== k && g % QUANT_BLOCK !== 0) return { why: `group size ${g} must be a multiple of ${QUANT_BLOCK} (or K itself)` };
  return { groupSize: g };
}

/** Check a spec's own fields (not yet against a K): bits 8 or 4, group size a positive integer. */
export function checkQuantSpec(spec: QuantSpec, what = 'quantize'): void {
  if (spec.bits !== 8 && spec.bits !== 4) throw new RangeError(`${what}: bits must be 8 or 4, got ${JSON.stringify(spec.bits)}`);
  const g = spec.groupSize;
  if (g !== undefined && (!Number.isInteger(g) || g < 1)) throw new RangeError(`${what}: group size must be a positive integer, got ${JSON.stringify(g)}`);
}

/** Bytes of quantised values for (N, K). */
export function quantizedBytes(bits: QuantBits, n: number, k: number): number {
  return bits === 8 ? n * k : (n * k) / 2;
}

/**
 * A quantised weight matrix: N rows of K inputs, `bits` per weight, one scale per `groupSize` inputs (the
 * QuantizedWeight the backends multiply with). Its bytes and scales live where `alloc` put them — the backend's
 * memory (Backend.allocate), so the WebAssembly kernels read them in place.
 * Build one with quantizeMatrix(), or allocate() one and read stored bytes into its data and scales.
 */
export class QuantizedMatrix implements QuantizedWeight {
  /**
   * @internal The arrays `data` and `scales` are views of, held so that their memory is not freed while the
   * views are in use (the backend frees an allocation when its own array is garbage-collected).
   */
  readonly _storage: readonly Float32Array[];

  private constructor(
    readonly bits: QuantBits,
    readonly n: number,
    readonly k: number,
    readonly groupSize: number,
    readonly data: Uint8Array,
    readonly scales: Float32Array,
    storage: readonly Float32Array[],
  ) {
    this._storage = storage;
  }

  /**
   * Room for a matrix, zeroed, from `alloc` (n floats → a Float32Array, e.g. `(n) => backend.allocate(n)`):
   * the bytes come with 32 bytes of slack after the last row, which the int8 kernel may read past a row's end.
   */
  static allocate(bits: QuantBits, n: number, k: number, groupSize: number, alloc: (floats: number) => Float32Array): QuantizedMatrix {
    const bytes = quantizedBytes(bits, n, k);
    const dataStore = alloc(Math.ceil((bytes + QUANT_BLOCK) / 4));
    const scales = alloc(n * (k / groupSize));
    const data = new Uint8Array(dataStore.buffer, dataStore.byteOffset, bytes);
    return new QuantizedMatrix(bits, n, k, groupSize, data, scales, [dataStore, scales]);
  }

  /** Bytes this matrix takes: values plus scales. */
  get byteLength(): number {
    return this.data.length + this.scales.byteLength;
  }

  /** Row j dequantised: `m.row(0)` → Float32Array(K). */
  row(j: number, into = new Float32Array(this.k)): Float32Array {
    if (!Number.isInteger(j) || j < 0 || j >= this.n) throw new RangeError(`QuantizedMatrix.row: row ${j} is out of range for ${this.n} rows`);
    dequantizeRow(this, j, into);
    return into;
  }

  /** The whole matrix dequantised, (N, K) row-major: for inspection and tests, it is 4× (int8) or 8× (int4) larger. */
  dequantize(): Float32Array {
    const out = new Float32Array(this.n * this.k);
    for (let j = 0; j < this.n; j++) dequantizeRow(this, j, out.subarray(j * this.k, (j + 1) * this.k));
    return out;
  }
}

/**
 * Quantise a float weight. `values` holds W in `layout`: 'out_in' (N, K), torch.nn.Linear's and an embedding
 * table's; 'in_out' (K, N), GPT-2's Conv1D, read transposed. Each row j (output j) is cut into groups of
 * `groupSize` inputs, and each group gets scale = max |w| / qmax and q = round(w / scale) (0 for an all-zero
 * group). Example: `quantizeMatrix(w, 2304, 768, 'in_out', { bits: 8, groupSize: 768 }, (n) => new Float32Array(n))`.
 * Does not handle: non-finite weights (an error naming the row), asymmetric (zero-point) formats.
 */
export function quantizeMatrix(
  values: Float32Array,
  n: number,
  k: number,
  layout: 'out_in' | 'in_out',
  spec: { bits: QuantBits; groupSize: number },
  alloc: (floats: number) => Float32Array,
): QuantizedMatrix {
  const { bits, groupSize: g } = spec;
  if (values.length < n * k) throw new RangeError(`quantizeMatrix: ${values.length} values, (N, K) = (${n}, ${k}) needs ${n * k}`);
  if (k % g !== 0) throw new RangeError(`quantizeMatrix: group size ${g} does not divide K = ${k}`);
  if (bits === 4 && k % 2 !== 0) throw new RangeError(`quantizeMatrix: int4 needs an even K, got ${k}`);
  const m = QuantizedMatrix.allocate(bits, n, k, g, alloc);
  const G = k / g;
  const top = qmax(bits);
  // Element (j, i) of W (output j, input i), wherever the layout stores it.
  const at = layout === 'out_in' ? (j: number, i: number) => j * k + i : (j: number, i: number) => i * n + j;
  const row = new Float32Array(k);
  const signed = new Int8Array(m.data.buffer, m.data.byteOffset, m.data.length);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < k; i++) {
      const v = values[at(j, i)]!;
      if (!Number.isFinite(v)) throw new RangeError(`quantizeMatrix: weight (${j}, ${i}) (output, input) is ${v}; only finite weights can be quantised`);
      row[i] = v;
    }
    for (let gi = 0; gi < G; gi++) {
      let amax = 0;
      for (let i = gi * g; i < (gi + 1) * g; i++) amax = Math.max(amax, Math.abs(row[i]!));
      const scale = Math.fround(amax / top);
      m.scales[j * G + gi] = scale;
      for (let i = gi * g; i < (gi + 1) * g; i++) {
        // round half away from zero; |q| ≤ qmax because |w| ≤ amax (the clamp only guards float rounding)
        const q = scale > 0 ? Math.max(-top, Math.min(top, Math.sign(row[i]!) * Math.round(Math.abs(row[i]!) / scale))) : 0;
        if (bits === 8) signed[j * k + i] = q;
        else {
          const b = j * (k / 2) + (i >> 1);
          m.data[b] = i % 2 === 0 ? (m.data[b]! & 0xf0) | (q + 8) : (m.data[b]! & 0x0f) | ((q + 8) << 4);
        }
      }
    }
  }
  return m;
}
