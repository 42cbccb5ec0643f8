// Shapes, strides and broadcasting: the bookkeeping under every op.
//
// A tensor is a flat typed array plus a shape and strides: element (i0, i1, …) lives at
//   offset + i0·strides[0] + i1·strides[1] + …
// Views (transpose, slice, expand) only change shape/strides/offset, never the data.
//
// Ops that read strided or broadcast operands use `rowPlan`: it merges dimensions that are laid out
// back-to-back in every operand, then describes the iteration as `rows` runs of `inner` elements, each
// operand with a start offset per row and a fixed stride along the row. Kernels then run a tight inner loop
// per row with no index arithmetic per element, and contiguous operands collapse to a single row.

import { floats } from './step.js';

/** Anything with strided storage: a Tensor, or a bare gradient array wrapped with `contiguousView`. */
export interface Strided {
  readonly data: Float32Array | Int32Array;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** `[2, 3]` — how shapes appear in error messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Row-major strides: shape (2, 3, 4) → strides (12, 4, 1). */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** True when the elements are laid out row-major with no gaps (size-1 dims may have any stride). */
export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Wraps a contiguous array as a Strided of the given shape (used for gradients, which are contiguous). */
export function contiguousView(data: Float32Array | Int32Array, shape: readonly number[]): Strided {
  return { data, shape, strides: contiguousStrides(shape), offset: 0 };
}

/** Python-style dim: -1 is the last. Error names the op and the valid range. */
export function normalizeDim(op: string, dim: number, ndim: number): number {
  const d = dim < 0 ? dim + ndim : dim;
  if (!Number.isInteger(dim) || d < 0 || d >= Math.max(ndim, 1)) {
    throw new RangeError(`${op}: dim ${dim} is out of range for a tensor with ${ndim} dims (expected ${-ndim}..${ndim - 1})`);
  }
  return d;
}

/**
 * PyTorch/NumPy broadcasting: align shapes on the right; each pair of sizes must be equal or one of them 1.
 * (2, 1, 4) with (3, 1) → (2, 3, 4).
 */
export function broadcastShapes(op: string, ...shapes: (readonly number[])[]): number[] {
  let ndim = 0;
  for (const s of shapes) ndim = Math.max(ndim, s.length);
  const out = new Array<number>(ndim).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const d = ndim - s.length + i;
      const n = s[i];
      if (n === out[d] || n === 1) continue;
      if (out[d] === 1) out[d] = n;
      else throw new RangeError(`${op}: shapes ${shapes.map(fmtShape).join(' and ')} cannot be broadcast together (dim ${d - ndim}: ${out[d]} vs ${n})`);
    }
  }
  return out;
}

/**
 * The strides that read `x` as if it had been expanded to `outShape`: dims that x lacks or has as size 1 get
 * stride 0, so every index along them reads the same element. x.shape must broadcast to outShape.
 */
export function broadcastStrides(shape: readonly number[], strides: readonly number[], outShape: readonly number[]): number[] {
  const out = new Array<number>(outShape.length).fill(0);
  const lead = outShape.length - shape.length;
  for (let i = 0; i < shape.length; i++) out[lead + i] = shape[i] === 1 ? 0 : strides[i];
  return out;
}

/** One strided operand of a row plan: its strides aligned to the iteration shape, and its base offset. */
export interface PlanOperand {
  strides: readonly number[];
  offset: number;
}

/** See the file comment. Operand k reads its row r at starts[k][r] + j·innerStrides[k], j < inner. */
export interface RowPlan {
  rows: number;
  inner: number;
  innerStrides: number[];
  starts: Int32Array[];
}

/**
 * Plans an iteration over `shape` (row-major order) reading every operand with its own strides.
 * Size-1 dims are dropped, and neighbouring dims merge when every operand walks them back-to-back
 * (stride[d] = stride[d+1]·shape[d+1]), so a contiguous tensor becomes one row of `size` elements.
 */
export function rowPlan(shape: readonly number[], operands: readonly PlanOperand[]): RowPlan {
  const nOps = operands.length;
  // Collect the dims that matter (size > 1), merging each into the previous one when possible.
  const sizes: number[] = [];
  const strides: number[][] = operands.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d];
    if (n === 1) continue;
    const last = sizes.length - 1;
    let mergeable = last >= 0;
    for (let k = 0; k < nOps && mergeable; k++) {
      if (strides[k][last] !== operands[k].strides[d] * n) mergeable = false;
    }
    if (mergeable) {
      sizes[last] *= n;
      for (let k = 0; k < nOps; k++) strides[k][last] = operands[k].strides[d];
    } else {
      sizes.push(n);
      for (let k = 0; k < nOps; k++) strides[k].push(operands[k].strides[d]);
    }
  }

  const nd = sizes.length;
  const inner = nd === 0 ? 1 : sizes[nd - 1];
  const innerStrides = operands.map((_, k) => (nd === 0 ? 0 : strides[k][nd - 1]));
  let rows = 1;
  for (let d = 0; d < nd - 1; d++) rows *= sizes[d];

  // Start offset of every row, walking the outer dims like an odometer.
  const starts = operands.map(() => new Int32Array(rows));
  const idx = new Array<number>(Math.max(nd - 1, 0)).fill(0);
  const cur = operands.map((o) => o.offset);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < nOps; k++) starts[k][r] = cur[k];
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < nOps; k++) cur[k] += strides[k][d];
      if (idx[d] < sizes[d]) break;
      for (let k = 0; k < nOps; k++) cur[k] -= strides[k][d] * sizes[d];
      idx[d] = 0;
    }
  }
  return { rows, inner, innerStrides, starts };
}

/** Copies any strided array into a fresh contiguous array of the same logical shape. */
export function stridedCopy(x: Strided): Float32Array | Int32Array {
  const size = shapeSize(x.shape);
  const out = x.data instanceof Int32Array ? new Int32Array(size) : floats(size);
  const plan = rowPlan(x.shape, [{ strides: x.strides, offset: x.offset }]);
  const src = x.data;
  const { rows, inner } = plan;
  const s = plan.innerStrides[0];
  const starts = plan.starts[0];
  if (s === 1) {
    for (let r = 0; r < rows; r++) out.set(src.subarray(starts[r], starts[r] + inner), r * inner);
  } else {
    for (let r = 0; r < rows; r++) {
      const o = r * inner;
      const xo = starts[r];
      for (let j = 0; j < inner; j++) out[o + j] = src[xo + j * s];
    }
  }
  return out;
}

/**
 * The logical contents of x as a contiguous array, copying only when x's layout requires it. The result may
 * be x's own storage (or a subarray of it): treat it as read-only.
 */
export function readContiguous(x: Strided): Float32Array | Int32Array {
  if (isContiguous(x.shape, x.strides)) {
    const size = shapeSize(x.shape);
    if (x.offset === 0 && size === x.data.length) return x.data;
    return x.data.subarray(x.offset, x.offset + size);
  }
  return stridedCopy(x);
}

/**
 * Sums a contiguous gradient of shape `from` down to shape `to` (which broadcast to `from`): the backward of
 * broadcasting. Returns g itself when the shapes are equal.
 */
export function reduceTo(g: Float32Array, from: readonly number[], to: readonly number[]): Float32Array {
  if (sameShape(from, to)) return g;
  const out = floats(shapeSize(to));
  if (out.length === 1) {
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i];
    out[0] = s;
    return out;
  }
  const plan = rowPlan(from, [
    { strides: contiguousStrides(from), offset: 0 },
    { strides: broadcastStrides(to, contiguousStrides(to), from), offset: 0 },
  ]);
  const { rows, inner } = plan;
  const gs = plan.starts[0];
  const os = plan.starts[1];
  const oStride = plan.innerStrides[1];
  for (let r = 0; r < rows; r++) {
    const go = gs[r];
    const oo = os[r];
    if (oStride === 0) {
      let s = 0;
      for (let j = 0; j < inner; j++) s += g[go + j];
      out[oo] += s;
    } else {
      for (let j = 0; j < inner; j++) out[oo + j * oStride] += g[go + j];
    }
  }
  return out;
}

/** Float ops reject int32 tensors with a message naming the op and the argument. */
export function expectFloat(op: string, x: Strided, arg = 'input'): void {
  if (!(x.data instanceof Float32Array)) {
    throw new TypeError(`${op}: ${arg} must be float32, got int32 tensor of shape ${fmtShape(x.shape)}`);
  }
}

/** Index ops require int32 ids/indices. */
export function expectInt(op: string, x: Strided, arg = 'index'): void {
  if (!(x.data instanceof Int32Array)) {
    throw new TypeError(`${op}: ${arg} must be an int32 tensor, got float32 of shape ${fmtShape(x.shape)}`);
  }
}
