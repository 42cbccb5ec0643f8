// A quantised weight is still a Tensor: it has the shape of the float weight it replaces, so a model keeps it
// where the float weight was (a Linear's `weight`, an Embedding's `weight`, a tied LM head) and model files,
// Module's parameter walk and the ops that read weights — linear() and embedding() — need no other type. What
// differs is the storage: a QuantizedMatrix (int8 or int4 values and float32 scales, ./format.ts) instead of a
// Float32Array. linear() and embedding() recognise it (./ops.ts) and call the quantised kernels.
//
//   const w = QuantizedTensor.fromFloat(linear.weight, { bits: 8, groupSize: 768 }, 'in_out', 'h.0.attn.c_attn.weight');
//   linear.weight = w;        // y = linear(x, w, b, 'in_out') now runs on int8 weights
//
// It is for inference: it never requires gradients, and an op that is not quantisation-aware and reaches for
// its float storage fails with an error naming the weight, rather than computing with numbers that are not there.

import { getBackend } from '../backend/index.js';
import { Tensor } from '../tensor/index.js';
import { quantizeMatrix, type QuantBits, type QuantizedMatrix } from './format.js';

/** Stands in for the float storage a quantised tensor does not have (reading it through `data` throws). */
const NO_STORAGE = new Float32Array(0);

export class QuantizedTensor extends Tensor {
  /** The int8/int4 values and scales, stored (N, K): one output per row. */
  readonly quantized: QuantizedMatrix;
  /** The float weight was (in, out) — GPT-2's Conv1D — so this tensor's shape is (K, N), the stored matrix read transposed. */
  readonly transposed: boolean;
  /** The parameter this weight is (in errors): e.g. 'h.0.attn.c_attn.weight'. */
  readonly name: string;

  /** A tensor over a quantised matrix: shape (N, K), or (K, N) when `transposed`. */
  constructor(matrix: QuantizedMatrix, opts: { transposed?: boolean; name?: string } = {}) {
    const transposed = opts.transposed ?? false;
    super(NO_STORAGE, transposed ? [matrix.k, matrix.n] : [matrix.n, matrix.k]);
    this.quantized = matrix;
    this.transposed = transposed;
    this.name = opts.name ?? 'a quantised weight';
    // Ops other than linear() and embedding() read a tensor's numbers through `data`; this one has none in float.
    Object.defineProperty(this, 'data', {
      enumerable: false,
      get: (): never => {
        throw new Error(
          `${this.name} is quantised (int${this.quantized.bits}): only linear() and embedding() can use it; ` +
            `dequantize() gives its float values (quantised weights are for inference)`,
        );
      },
    });
  }

  /**
   * Quantise a float weight into backend memory. `layout` is how `w` is stored: 'out_in' (N, K) for
   * torch.nn.Linear and embedding tables, 'in_out' (K, N) for GPT-2's Conv1D. The float tensor is left as it is.
   * Example: `QuantizedTensor.fromFloat(lin.weight, { bits: 4, groupSize: 32 }, lin.layout, 'h.0.mlp.c_fc.weight')`.
   */
  static fromFloat(w: Tensor, spec: { bits: QuantBits; groupSize: number }, layout: 'out_in' | 'in_out', name: string): QuantizedTensor {
    if (w.ndim !== 2) throw new RangeError(`${name}: only 2-D weights can be quantised, got shape [${w.shape.join(', ')}]`);
    const [n, k] = layout === 'out_in' ? [w.shape[0]!, w.shape[1]!] : [w.shape[1]!, w.shape[0]!];
    const be = getBackend();
    const matrix = quantizeMatrix(w.toFloat32Array(), n, k, layout, spec, (floats) => be.allocate(floats));
    return new QuantizedTensor(matrix, { transposed: layout === 'in_out', name });
  }

  /** Never: a quantised weight has no gradient. */
  override get requiresGrad(): boolean {
    return false;
  }
  override set requiresGrad(on: boolean) {
    if (on) throw new Error(`${this.name} is quantised (int${this.quantized.bits}) and cannot require gradients: quantised weights are for inference; train or fine-tune the float model`);
  }

  /** The float values, in this tensor's shape: 4× (int8) or 8× (int4) the memory of the quantised form. */
  dequantize(): Tensor {
    const m = this.quantized;
    const rows = m.dequantize(); // (N, K)
    if (!this.transposed) return new Tensor(rows, [m.n, m.k]);
    const t = new Float32Array(m.n * m.k); // (K, N)
    for (let j = 0; j < m.n; j++) for (let i = 0; i < m.k; i++) t[i * m.n + j] = rows[j * m.k + i]!;
    return new Tensor(t, [m.k, m.n]);
  }

  override toString(): string {
    const m = this.quantized;
    const group = m.groupSize === m.k ? 'one scale per row' : `groups of ${m.groupSize}`;
    return `QuantizedTensor(${this.name}, int${m.bits}, ${group}, shape [${this.shape.join(', ')}])`;
  }
}

/** The float values of a tensor, dequantised if it is quantised: `dequantize(model.wte.weight)`. */
export function dequantize(t: Tensor): Tensor {
  return t instanceof QuantizedTensor ? t.dequantize() : t;
}
