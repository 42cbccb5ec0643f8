// The two ops that read a quantised weight: linear() and embedding() (src/tensor) hand a QuantizedTensor here.
//
//   linear:    y (…, N) = x (…, K) · Wᵀ + b, on Backend.quantizedMatmul (int8/int4 kernels)
//   embedding: out (…, C) = rows ids of the table, each row dequantised (C numbers per token: no kernel needed)
//
// Neither records a gradient: a quantised model is for inference. A graph that would need one (an input that
// requires grad, under grad mode) is an error naming the weight.
//
// This file is imported by src/tensor/matmul.ts and ops_index.ts, which the Tensor class itself imports; so it
// must not import the QuantizedTensor class (its `extends Tensor` would run before Tensor exists). It recognises
// one by its `quantized` field, a QuantizedMatrix, whose module needs nothing from src/tensor.

import { getBackend } from '../backend/index.js';
import { isGradEnabled } from '../tensor/autograd.js';
import { fromStorage } from '../tensor/creation.js';
import { expectFloat, expectInt, fmtShape, readContiguous } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { QuantizedMatrix } from './format.js';
import type { QuantizedTensor } from './tensor.js';

/** `t` as a QuantizedTensor when it is one, else null. */
export function asQuantized(t: Tensor): QuantizedTensor | null {
  return (t as { quantized?: unknown }).quantized instanceof QuantizedMatrix ? (t as QuantizedTensor) : null;
}

/**
 * y = x·Wᵀ + b with W quantised; `layout` is the one the float weight had ('in_out' for GPT-2's Conv1D, whose
 * quantised tensor is marked transposed). Example: `quantizedLinear(x, asQuantized(lin.weight)!, lin.bias, 'in_out')`.
 * Does not handle: gradients (an error naming the weight when a graph would need them).
 */
export function quantizedLinear(x: Tensor, w: QuantizedTensor, bias: Tensor | null | undefined, layout: 'in_out' | 'out_in'): Tensor {
  expectFloat('linear', x, 'input');
  const m = w.quantized;
  if ((layout === 'in_out') !== w.transposed) {
    throw new RangeError(`linear: ${w.name} was quantised from a weight stored ${w.transposed ? "(in, out) ('in_out')" : "(out, in) ('out_in')"}, but is used with layout '${layout}'`);
  }
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== m.k) {
    throw new RangeError(`linear: input ${fmtShape(x.shape)} does not match ${w.name} ${fmtShape(w.shape)} (layout '${layout}' expects last dim ${m.k})`);
  }
  if (bias) {
    expectFloat('linear', bias, 'bias');
    if (bias.ndim !== 1 || bias.shape[0] !== m.n) throw new RangeError(`linear: bias has shape ${fmtShape(bias.shape)}, expected [${m.n}]`);
  }
  if (isGradEnabled() && (x.requiresGrad || (bias?.requiresGrad ?? false))) {
    throw new Error(
      `linear: ${w.name} is quantised (int${m.bits}) and has no gradient, but this call would record one (its input or bias requires grad); ` +
        `quantised models are for inference: run them under noGrad(), or train the float model`,
    );
  }
  const rows = x.size / m.k;
  const out = new Float32Array(rows * m.n); // (rows, N)
  const spec: { rows: number; bias?: Float32Array } = { rows };
  if (bias) spec.bias = readContiguous(bias) as Float32Array;
  getBackend().quantizedMatmul(readContiguous(x) as Float32Array, m, out, spec);
  return fromStorage(out, [...x.shape.slice(0, -1), m.n]);
}

/** Rows `ids` of a quantised table (V, C), dequantised: (…) int32 → (…, C). Example: `quantizedEmbedding(asQuantized(wte.weight)!, ids)`. */
export function quantizedEmbedding(w: QuantizedTensor, ids: Tensor): Tensor {
  expectInt('embedding', ids, 'ids');
  const m = w.quantized;
  if (w.transposed) throw new RangeError(`embedding: ${w.name} was quantised from a weight stored (in, out); an embedding table must be (V, C)`);
  const I = readContiguous(ids) as Int32Array;
  const out = new Float32Array(I.length * m.k);
  for (let i = 0; i < I.length; i++) {
    const id = I[i]!;
    if (!(id >= 0 && id < m.n)) throw new RangeError(`embedding: id ${id} at position ${i} of ids ${fmtShape(ids.shape)} is out of range for a table of ${m.n} rows`);
    m.row(id, out.subarray(i * m.k, (i + 1) * m.k));
  }
  return fromStorage(out, [...ids.shape, m.k]);
}
