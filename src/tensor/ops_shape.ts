// Shape ops: views that only rewrite shape/strides/offset (reshape, transpose, permute, slice, expand,
// unsqueeze, squeeze) and the copying ones (contiguous, cat, stack; split returns views).
//
// Gradients are contiguous arrays in a tensor's logical shape, so a view's backward is bookkeeping:
// reshape passes the gradient through untouched (same row-major order), permute un-permutes it,
// slice adds it into the matching window of the input's gradient, expand sums over the repeated dims.
import { fromOp, viewOp } from './autograd.js';
import {
  broadcastShapes,
  contiguousStrides,
  fmtShape,
  isContiguous,
  normalizeDim,
  readContiguous,
  reduceTo,
  rowPlan,
  sameShape,
  shapeSize,
  stridedCopy,
} from './shape.js';
import { Tensor } from './tensor.js';
import { floatsToWrite } from './step.js';

/** Resolves one -1 in a requested shape and checks the element count. */
function resolveShape(op: string, x: Tensor, shape: readonly number[]): number[] {
  const out = [...shape];
  let infer = -1;
  let known = 1;
  for (let i = 0; i < out.length; i++) {
    const n = out[i];
    if (n === -1) {
      if (infer >= 0) throw new RangeError(`${op}: only one dim can be -1, got ${fmtShape(shape)}`);
      infer = i;
    } else if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`${op}: invalid size ${n} in shape ${fmtShape(shape)}`);
    } else {
      known *= n;
    }
  }
  if (infer >= 0) {
    if (known === 0 || x.size % known !== 0) {
      throw new RangeError(`${op}: cannot reshape tensor of shape ${fmtShape(x.shape)} (${x.size} elements) into ${fmtShape(shape)}`);
    }
    out[infer] = x.size / known;
  } else if (known !== x.size) {
    throw new RangeError(`${op}: cannot reshape tensor of shape ${fmtShape(x.shape)} (${x.size} elements) into ${fmtShape(shape)} (${known} elements)`);
  }
  return out;
}

/**
 * Strides that show x's elements in `newShape` without copying, or null when the layout does not allow it
 * (e.g. flattening a transposed matrix). PyTorch's algorithm: split the old dims into chunks that are
 * contiguous among themselves; each chunk must map exactly onto a run of new dims.
 */
function viewStrides(oldShape: readonly number[], oldStrides: readonly number[], newShape: readonly number[]): number[] | null {
  if (isContiguous(oldShape, oldStrides)) return contiguousStrides(newShape);
  const newStrides = new Array<number>(newShape.length).fill(1);
  let viewD = newShape.length - 1;
  let chunkBaseStride = oldStrides[oldStrides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d];
    // End of a chunk: the next-outer dim is not laid out right after this one.
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBaseStride)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBaseStride;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBaseStride = oldStrides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? newStrides : null;
}

/** Same elements in a new shape (one dim may be -1): a view when the strides allow it, else a copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const newShape = resolveShape('reshape', x, shape);
  if (sameShape(newShape, x.shape)) return x;
  // Row-major order is unchanged by a reshape, so the gradient passes straight through.
  const backward = (g: Float32Array, sink: { add(t: Tensor, g: Float32Array): void }): void => sink.add(x, g);
  const strides = viewStrides(x.shape, x.strides, newShape);
  if (strides) return viewOp('reshape', x, newShape, strides, x.offset, backward);
  const data = stridedCopy(x);
  if (data instanceof Int32Array) return new Tensor(data, newShape);
  return fromOp('reshape', data, newShape, [x], backward);
}

/** Reorders dims without copying: permute(x, [0, 2, 1, 3]) turns (B, T, nh, hs) into (B, nh, T, hs). */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const nd = x.ndim;
  if (dims.length !== nd) throw new RangeError(`permute: got ${dims.length} dims ${fmtShape(dims)} for a tensor with ${nd} dims ${fmtShape(x.shape)}`);
  const perm = dims.map((d) => normalizeDim('permute', d, nd));
  if (new Set(perm).size !== nd) throw new RangeError(`permute: dims ${fmtShape(dims)} repeat a dim`);
  let identity = true;
  for (let i = 0; i < nd; i++) if (perm[i] !== i) identity = false;
  if (identity) return x;
  const shape = perm.map((d) => x.shape[d]);
  const strides = perm.map((d) => x.strides[d]);
  return viewOp('permute', x, shape, strides, x.offset, (g, sink) => {
    // g is contiguous in the permuted shape; read it back in x's dim order and copy to contiguous.
    const gStrides = contiguousStrides(shape);
    const back = new Array<number>(nd);
    for (let i = 0; i < nd; i++) back[perm[i]] = gStrides[i];
    sink.add(x, stridedCopy({ data: g, shape: x.shape, strides: back, offset: 0 }) as Float32Array, true);
  });
}

/** Swaps two dims (a view). */
export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  const nd = x.ndim;
  const a = normalizeDim('transpose', d0, nd);
  const b = normalizeDim('transpose', d1, nd);
  const perm = Array.from({ length: nd }, (_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Elements start..end-1 along dim, as a view. Negative indices count from the end; bounds clamp like Python. */
export function slice(x: Tensor, dim: number, start: number, end?: number): Tensor {
  const d = normalizeDim('slice', dim, x.ndim);
  const n = x.shape[d];
  if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end))) {
    throw new RangeError(`slice: start and end must be integers, got ${start} and ${end}`);
  }
  const clamp = (i: number): number => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const s = clamp(start);
  const e = Math.max(clamp(end ?? n), s);
  if (s === 0 && e === n) return x;
  const shape = [...x.shape];
  shape[d] = e - s;
  return viewOp('slice', x, shape, x.strides, x.offset + s * x.strides[d], (g, sink) => {
    // Add g into the window [s, e) along d of x's (contiguous) gradient.
    const buf = sink.buffer(x);
    const xStrides = contiguousStrides(x.shape);
    const plan = rowPlan(shape, [
      { strides: contiguousStrides(shape), offset: 0 },
      { strides: xStrides, offset: s * xStrides[d] },
    ]);
    const { rows, inner } = plan;
    const [sg, sb] = plan.innerStrides;
    const [gStarts, bStarts] = plan.starts;
    for (let r = 0; r < rows; r++) {
      const go = gStarts[r];
      const bo = bStarts[r];
      if (sg === 1 && sb === 1) for (let j = 0; j < inner; j++) buf[bo + j] += g[go + j];
      else for (let j = 0; j < inner; j++) buf[bo + j * sb] += g[go + j * sg];
    }
  });
}

/** Broadcast view to `shape` (size-1 dims repeat with stride 0; new leading dims may be added). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const target = shape.map((n, i) => (n === -1 ? (x.shape[i - (shape.length - x.ndim)] ?? -1) : n));
  const full = broadcastShapes('expand', x.shape, target);
  if (!sameShape(full, target)) {
    throw new RangeError(`expand: cannot expand shape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  }
  if (sameShape(target, x.shape)) return x;
  const lead = target.length - x.ndim;
  const strides = target.map((_, i) => (i < lead || x.shape[i - lead] === 1 ? 0 : x.strides[i - lead]));
  return viewOp('expand', x, target, strides, x.offset, (g, sink) => {
    const gx = reduceTo(g, target, x.shape);
    sink.add(x, gx, gx !== g);
  }, false);
}

/** Inserts a size-1 dim at `dim` (a view): (T, C) → unsqueeze(0) → (1, T, C). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('unsqueeze', dim, x.ndim + 1);
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.ndim ? x.strides[d] * x.shape[d] : 1);
  return viewOp('unsqueeze', x, shape, strides, x.offset, (g, sink) => sink.add(x, g));
}

/** Removes size-1 dims (all of them, or only `dim`, which must have size 1). */
export function squeeze(x: Tensor, dim?: number): Tensor {
  let keep: number[];
  if (dim === undefined) {
    keep = x.shape.map((_, i) => i).filter((i) => x.shape[i] !== 1);
  } else {
    const d = normalizeDim('squeeze', dim, x.ndim);
    if (x.shape[d] !== 1) throw new RangeError(`squeeze: dim ${dim} has size ${x.shape[d]}, not 1 (shape ${fmtShape(x.shape)})`);
    keep = x.shape.map((_, i) => i).filter((i) => i !== d);
  }
  if (keep.length === x.ndim) return x;
  return viewOp('squeeze', x, keep.map((i) => x.shape[i]), keep.map((i) => x.strides[i]), x.offset, (g, sink) => sink.add(x, g));
}

/** x itself when already contiguous, else a row-major copy (the gradient passes straight through). */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  const data = stridedCopy(x);
  if (data instanceof Int32Array) return new Tensor(data, x.shape);
  return fromOp('contiguous', data, x.shape, [x], (g, sink) => sink.add(x, g));
}

/**
 * Joins tensors along an existing dim: cat([(B, 2, C), (B, 3, C)], 1) → (B, 5, C). All shapes must match
 * except along dim, and all dtypes must agree.
 */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new RangeError('cat: expected a non-empty array of tensors');
  const first = tensors[0];
  const d = normalizeDim('cat', dim, first.ndim);
  let total = 0;
  for (const t of tensors) {
    if (!(t instanceof Tensor)) throw new TypeError(`cat: every element must be a Tensor, got ${typeof t}`);
    if (t.dtype !== first.dtype) throw new TypeError(`cat: dtypes differ (${first.dtype} and ${t.dtype})`);
    const ok = t.ndim === first.ndim && t.shape.every((n, i) => i === d || n === first.shape[i]);
    if (!ok) throw new RangeError(`cat: shapes ${fmtShape(first.shape)} and ${fmtShape(t.shape)} differ outside dim ${dim}`);
    total += t.shape[d];
  }
  const shape = [...first.shape];
  shape[d] = total;
  // View every tensor as (outer, n_i·inner) rows; the output row is their rows side by side.
  const outer = shapeSize(first.shape.slice(0, d));
  const inner = shapeSize(first.shape.slice(d + 1));
  const rowLen = total * inner;
  // every element is written below (the parts cover each output row), so the result need not be zeroed first
  const out = first.dtype === 'int32' ? new Int32Array(outer * rowLen) : floatsToWrite(outer * rowLen);
  let col = 0;
  const cols: number[] = [];
  for (const t of tensors) {
    const src = readContiguous(t);
    const w = t.shape[d] * inner;
    for (let o = 0; o < outer; o++) out.set(src.subarray(o * w, (o + 1) * w), o * rowLen + col);
    cols.push(col);
    col += w;
  }
  if (out instanceof Int32Array) return new Tensor(out, shape);
  return fromOp('cat', out, shape, tensors, (g, sink) => {
    tensors.forEach((t, k) => {
      if (!t.requiresGrad) return;
      const w = t.shape[d] * inner;
      const gt = floatsToWrite(outer * w); // written in full by the copies
      for (let o = 0; o < outer; o++) gt.set(g.subarray(o * rowLen + cols[k], o * rowLen + cols[k] + w), o * w);
      sink.add(t, gt, true);
    });
  });
}

/**
 * Splits along dim into views: a number is the size of each piece (the last may be smaller), an array lists
 * the sizes. split(qkv, C, 2) turns (B, T, 3C) into three (B, T, C).
 */
export function split(x: Tensor, sizeOrSizes: number | readonly number[], dim = 0): Tensor[] {
  const d = normalizeDim('split', dim, x.ndim);
  const n = x.shape[d];
  let sizes: number[];
  if (typeof sizeOrSizes === 'number') {
    if (!Number.isInteger(sizeOrSizes) || sizeOrSizes <= 0) throw new RangeError(`split: size must be a positive integer, got ${sizeOrSizes}`);
    sizes = [];
    for (let s = 0; s < n; s += sizeOrSizes) sizes.push(Math.min(sizeOrSizes, n - s));
  } else {
    sizes = [...sizeOrSizes];
    const sum = sizes.reduce((a, b) => a + b, 0);
    if (sum !== n || sizes.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new RangeError(`split: sizes ${fmtShape(sizes)} must be non-negative and sum to ${n} (dim ${dim} of shape ${fmtShape(x.shape)})`);
    }
  }
  const out: Tensor[] = [];
  let start = 0;
  for (const s of sizes) {
    out.push(slice(x, d, start, start + s));
    start += s;
  }
  return out;
}

/** Stacks same-shape tensors along a new dim: stack([(T, C), (T, C)], 0) → (2, T, C). */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new RangeError('stack: expected a non-empty array of tensors');
  const first = tensors[0];
  for (const t of tensors) {
    if (!sameShape(t.shape, first.shape)) throw new RangeError(`stack: shapes ${fmtShape(first.shape)} and ${fmtShape(t.shape)} differ`);
  }
  const d = normalizeDim('stack', dim, first.ndim + 1);
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}
