// Reductions over one or more dims: sum, mean, max.
//
// All three walk the input once with a row plan whose output operand has stride 0 along the reduced dims,
// so `out[o] += x[i]` lands every input element in its output slot, whatever the strides.
// Backward broadcasts the output gradient back over the reduced dims (sum, mean), or routes it to the
// position of the maximum (max).
import { fromOp } from './autograd.js';
import { contiguousStrides, expectFloat, fmtShape, normalizeDim, readContiguous, rowPlan, shapeSize } from './shape.js';
import type { Tensor } from './tensor.js';
import { floats } from './step.js';

interface Reduction {
  /** Sorted, normalized reduced dims. */
  dims: number[];
  /** x's shape with reduced dims set to 1 (the keepdim shape). */
  keptShape: number[];
  /** The result's shape (keptShape, or without the reduced dims). */
  outShape: number[];
  /** Strides of the keepdim output, with 0 along reduced dims: where each input element accumulates. */
  outStrides: number[];
  /** How many input elements fold into each output element. */
  count: number;
}

function planReduction(op: string, x: Tensor, dims: number | readonly number[] | undefined, keepdim: boolean): Reduction {
  const list = dims === undefined ? x.shape.map((_, i) => i) : typeof dims === 'number' ? [dims] : [...dims];
  const norm = [...new Set(list.map((d) => normalizeDim(op, d, x.ndim)))].sort((a, b) => a - b);
  if (norm.length !== list.length) throw new RangeError(`${op}: dims ${fmtShape(list)} repeat a dim`);
  const keptShape = x.shape.map((n, i) => (norm.includes(i) ? 1 : n));
  const kept = contiguousStrides(keptShape);
  const outStrides = kept.map((s, i) => (norm.includes(i) ? 0 : s));
  const outShape = keepdim ? keptShape : x.shape.filter((_, i) => !norm.includes(i));
  let count = 1;
  for (const d of norm) count *= x.shape[d];
  return { dims: norm, keptShape, outShape, outStrides, count };
}

/** Sums x into a new array of the reduced (keepdim) size. */
function sumKernel(x: Tensor, red: Reduction): Float32Array {
  const out = floats(shapeSize(red.keptShape));
  const X = x.data as Float32Array;
  if (out.length === 1) {
    // Whole-tensor sum: accumulate in a JS number (float64) for accuracy.
    const flat = readContiguous(x) as Float32Array;
    let s = 0;
    for (let i = 0; i < flat.length; i++) s += flat[i];
    out[0] = s;
    return out;
  }
  const plan = rowPlan(x.shape, [
    { strides: x.strides, offset: x.offset },
    { strides: red.outStrides, offset: 0 },
  ]);
  const { rows, inner } = plan;
  const [sx, so] = plan.innerStrides;
  for (let r = 0; r < rows; r++) {
    const xo = plan.starts[0][r];
    const oo = plan.starts[1][r];
    if (so === 0) {
      let s = 0; // the whole row folds into one output element
      for (let j = 0; j < inner; j++) s += X[xo + j * sx];
      out[oo] += s;
    } else {
      for (let j = 0; j < inner; j++) out[oo + j * so] += X[xo + j * sx];
    }
  }
  return out;
}

/** The backward of sum/mean: every input element receives scale · g of its output slot. */
function broadcastBack(g: Float32Array, x: Tensor, red: Reduction, scale: number): Float32Array {
  const gx = floats(x.size);
  const plan = rowPlan(x.shape, [
    { strides: contiguousStrides(x.shape), offset: 0 },
    { strides: red.outStrides, offset: 0 },
  ]);
  const { rows, inner } = plan;
  const [sx, so] = plan.innerStrides;
  for (let r = 0; r < rows; r++) {
    const xo = plan.starts[0][r];
    const oo = plan.starts[1][r];
    for (let j = 0; j < inner; j++) gx[xo + j * sx] = scale * g[oo + j * so];
  }
  return gx;
}

/** Σ over dims (all dims by default): sum(x, -1) on (B, T, C) → (B, T); keepdim keeps (B, T, 1). */
export function sum(x: Tensor, dims?: number | readonly number[], keepdim = false): Tensor {
  expectFloat('sum', x);
  const red = planReduction('sum', x, dims, keepdim);
  const out = sumKernel(x, red);
  return fromOp('sum', out, red.outShape, [x], (g, sink) => sink.add(x, broadcastBack(g, x, red, 1), true));
}

/** Mean over dims (all by default). */
export function mean(x: Tensor, dims?: number | readonly number[], keepdim = false): Tensor {
  expectFloat('mean', x);
  const red = planReduction('mean', x, dims, keepdim);
  const out = sumKernel(x, red);
  const inv = 1 / red.count;
  for (let i = 0; i < out.length; i++) out[i] *= inv;
  return fromOp('mean', out, red.outShape, [x], (g, sink) => sink.add(x, broadcastBack(g, x, red, inv), true));
}

/**
 * Maximum over dims (all by default); returns the values. The gradient goes to the first position holding the
 * maximum (row-major order), as in PyTorch's max(dim). NaN wins, as in PyTorch.
 */
export function max(x: Tensor, dims?: number | readonly number[], keepdim = false): Tensor {
  expectFloat('max', x);
  if (x.size === 0) throw new RangeError(`max: cannot reduce an empty tensor of shape ${fmtShape(x.shape)}`);
  const red = planReduction('max', x, dims, keepdim);
  const X = readContiguous(x) as Float32Array; // contiguous, so an input position is a flat index
  const out = floats(shapeSize(red.keptShape)).fill(-Infinity);
  const argmax = new Int32Array(out.length).fill(-1);
  const plan = rowPlan(x.shape, [
    { strides: contiguousStrides(x.shape), offset: 0 },
    { strides: red.outStrides, offset: 0 },
  ]);
  const { rows, inner } = plan;
  const [sx, so] = plan.innerStrides;
  for (let r = 0; r < rows; r++) {
    const xo = plan.starts[0][r];
    const oo = plan.starts[1][r];
    for (let j = 0; j < inner; j++) {
      const i = xo + j * sx;
      const o = oo + j * so;
      const v = X[i];
      const best = out[o];
      // Strict > keeps the first maximum; a NaN replaces a number once and then stays.
      if (argmax[o] < 0 || v > best || (v !== v && best === best)) {
        out[o] = v;
        argmax[o] = i;
      }
    }
  }
  return fromOp('max', out, red.outShape, [x], (g, sink) => {
    const gx = sink.buffer(x);
    for (let o = 0; o < argmax.length; o++) gx[argmax[o]] += g[o];
  });
}
