// Indexing ops: embedding, gather, indexSelect. Forward reads rows/elements picked by int32 indices;
// backward scatters the gradient back with +=, since the same index may be picked more than once.
// Every index is range-checked with an error that names the index, its position and the bound.
import { fromOp } from './autograd.js';
import { expectFloat, expectInt, fmtShape, normalizeDim, readContiguous, shapeSize } from './shape.js';
import { Tensor } from './tensor.js';
import { asQuantized, quantizedEmbedding } from '../quant/ops.js';
import { floats } from './step.js';

/**
 * Looks up rows of a table: weight (V, C), ids int32 of any shape → (...ids.shape, C).
 * `embedding(wte, ids)` with ids (B, T) gives (B, T, C). Backward: dW[id] += g for every position.
 */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  // A quantised table (src/quant) gives its rows dequantised; inference only.
  const q = asQuantized(weight);
  if (q) return quantizedEmbedding(q, ids);
  expectFloat('embedding', weight, 'weight');
  if (!(ids instanceof Tensor)) throw new TypeError(`embedding: ids must be an int32 Tensor, got ${typeof ids}`);
  expectInt('embedding', ids, 'ids');
  if (weight.ndim !== 2) throw new RangeError(`embedding: weight must be (V, C), got shape ${fmtShape(weight.shape)}`);
  const [V, C] = weight.shape;
  const W = readContiguous(weight) as Float32Array;
  const I = readContiguous(ids) as Int32Array;
  const n = I.length;
  const out = floats(n * C);
  for (let i = 0; i < n; i++) {
    const id = I[i];
    if (id < 0 || id >= V) {
      throw new RangeError(`embedding: id ${id} at position ${i} of ids ${fmtShape(ids.shape)} is out of range for a table of ${V} rows`);
    }
    out.set(W.subarray(id * C, id * C + C), i * C);
  }
  return fromOp('embedding', out, [...ids.shape, C], [weight], (g, sink) => {
    const gw = sink.buffer(weight);
    for (let i = 0; i < n; i++) {
      const row = I[i] * C;
      const o = i * C;
      for (let c = 0; c < C; c++) gw[row + c] += g[o + c];
    }
  });
}

/**
 * torch.gather: out has index's shape, and out[i][j][k] = x[index[i][j][k]][j][k] for dim 0
 * (the index replaces the coordinate along dim). index must have x's number of dims and be no larger than x
 * along every other dim. `gather(logProbs, -1, targets.unsqueeze(-1))` picks one value per row.
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  expectFloat('gather', x);
  if (!(index instanceof Tensor)) throw new TypeError(`gather: index must be an int32 Tensor, got ${typeof index}`);
  expectInt('gather', index);
  const d = normalizeDim('gather', dim, x.ndim);
  if (index.ndim !== x.ndim || index.shape.some((n, i) => i !== d && n > x.shape[i])) {
    throw new RangeError(`gather: index of shape ${fmtShape(index.shape)} does not fit input ${fmtShape(x.shape)} along dims other than ${dim}`);
  }
  const X = readContiguous(x) as Float32Array;
  const I = readContiguous(index) as Int32Array;
  const nd = x.ndim;
  const xStrides = x.shape.map((_, i) => shapeSize(x.shape.slice(i + 1)));
  const n = I.length;
  const src = new Int32Array(n); // flat position in x of each output element, reused by backward
  const coord = new Array<number>(nd).fill(0);
  const bound = x.shape[d];
  for (let i = 0; i < n; i++) {
    const k = I[i];
    if (k < 0 || k >= bound) throw new RangeError(`gather: index ${k} at position ${i} is out of range for dim ${dim} of size ${bound}`);
    let o = 0;
    for (let a = 0; a < nd; a++) o += (a === d ? k : coord[a]) * xStrides[a];
    src[i] = o;
    for (let a = nd - 1; a >= 0; a--) {
      if (++coord[a] < index.shape[a]) break;
      coord[a] = 0;
    }
  }
  const out = floats(n);
  for (let i = 0; i < n; i++) out[i] = X[src[i]];
  return fromOp('gather', out, index.shape, [x], (g, sink) => {
    const gx = sink.buffer(x);
    for (let i = 0; i < n; i++) gx[src[i]] += g[i];
  });
}

/** Picks whole slices along dim by a 1-D int32 index: x (A, B, C), dim 1, index (k) → (A, k, C). */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  if (!(index instanceof Tensor)) throw new TypeError(`indexSelect: index must be an int32 Tensor, got ${typeof index}`);
  expectInt('indexSelect', index);
  if (index.ndim !== 1) throw new RangeError(`indexSelect: index must be 1-D, got shape ${fmtShape(index.shape)}`);
  const d = normalizeDim('indexSelect', dim, x.ndim);
  const X = readContiguous(x);
  const I = readContiguous(index) as Int32Array;
  const k = I.length;
  const n = x.shape[d];
  const outer = shapeSize(x.shape.slice(0, d));
  const inner = shapeSize(x.shape.slice(d + 1));
  const seen = new Uint8Array(n);
  let distinct = true;
  for (let i = 0; i < k; i++) {
    if (I[i] < 0 || I[i] >= n) throw new RangeError(`indexSelect: index ${I[i]} at position ${i} is out of range for dim ${dim} of size ${n}`);
    if (seen[I[i]]) distinct = false;
    seen[I[i]] = 1;
  }
  const shape = [...x.shape];
  shape[d] = k;
  const out = X instanceof Int32Array ? new Int32Array(outer * k * inner) : floats(outer * k * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < k; i++) {
      const from = (o * n + I[i]) * inner;
      out.set(X.subarray(from, from + inner), (o * k + i) * inner);
    }
  }
  if (out instanceof Int32Array) return new Tensor(out, shape);
  return fromOp('indexSelect', out, shape, [x], (g, sink) => {
    if (distinct) {
      // Each slice of x was picked at most once (Packing's rows): its gradient is a copy, not a sum.
      const gx = sink.alloc(x.size); // zeros where nothing was picked
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < k; i++) gx.set(g.subarray((o * k + i) * inner, (o * k + i + 1) * inner), (o * n + I[i]) * inner);
      }
      sink.add(x, gx, true);
      return;
    }
    const gx = sink.buffer(x);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < k; i++) {
        const to = (o * n + I[i]) * inner;
        const from = (o * k + i) * inner;
        for (let j = 0; j < inner; j++) gx[to + j] += g[from + j];
      }
    }
  });
}

/**
 * indexSelect's inverse along dim 0: x (N, ...) → (rows, ...), where x's row i lands on row index[i] and every
 * row no index names is zero. Padding-free training uses it to put the real positions of a batch, computed
 * as N packed rows, back into their padded (B·T) places for attention (src/nn/packing.ts). The indices must
 * be distinct, so backward is a plain gather: dx[i] = g[index[i]].
 * Example: scatterRows(x (2, C), [3, 0], 4) → rows 0 and 3 hold x[1] and x[0], rows 1 and 2 are zero.
 */
export function scatterRows(x: Tensor, index: Tensor, rows: number): Tensor {
  expectFloat('scatterRows', x);
  if (!(index instanceof Tensor)) throw new TypeError(`scatterRows: index must be an int32 Tensor, got ${typeof index}`);
  expectInt('scatterRows', index);
  const N = x.shape[0];
  if (x.ndim < 1 || index.ndim !== 1 || index.shape[0] !== N) {
    throw new RangeError(`scatterRows: index must be 1-D with one entry per row of x ${fmtShape(x.shape)}, got shape ${fmtShape(index.shape)}`);
  }
  if (!Number.isInteger(rows) || rows < N) throw new RangeError(`scatterRows: cannot place ${N} rows into ${rows}`);
  const X = readContiguous(x) as Float32Array;
  const I = readContiguous(index) as Int32Array;
  const inner = shapeSize(x.shape.slice(1));
  const taken = new Uint8Array(rows);
  for (let i = 0; i < N; i++) {
    const r = I[i];
    if (r < 0 || r >= rows) throw new RangeError(`scatterRows: index ${r} at position ${i} is out of range for ${rows} rows`);
    if (taken[r]) throw new RangeError(`scatterRows: row ${r} is named twice (at position ${i}); the indices must be distinct`);
    taken[r] = 1;
  }
  const out = floats(rows * inner); // zeros
  for (let i = 0; i < N; i++) out.set(X.subarray(i * inner, (i + 1) * inner), I[i] * inner);
  return fromOp('scatterRows', out, [rows, ...x.shape.slice(1)], [x], (g, sink) => {
    const gx = sink.alloc(N * inner, false); // every row written
    for (let i = 0; i < N; i++) gx.set(g.subarray(I[i] * inner, (I[i] + 1) * inner), i * inner);
    sink.add(x, gx, true);
  });
}
