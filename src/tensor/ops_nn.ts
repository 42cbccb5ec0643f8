// Fused neural-network ops: softmax, logSoftmax, layerNorm, rmsNorm, crossEntropy, dropout, and addLayerNorm
// (a post-LN block's "add & norm": LN(dropout(x) + residual) in one pass).
//
// Each is one pass per row with an analytic backward, instead of a chain of small ops: fewer passes over
// memory, fewer temporaries, and the numerically stable form (subtract the row max before exp) built in.
// They work on the last dim; softmax/logSoftmax over another dim transpose it to the end first.
import { dropKeeps, dropThreshold, getBackend, lowbias32, type RowKernel } from '../backend/index.js';
import { fromOp, needsGrad } from './autograd.js';
import { getDefaultRng, type Rng } from './rng.js';
import { expectFloat, expectInt, fmtShape, normalizeDim, readContiguous } from './shape.js';
import { transpose } from './ops_shape.js';
import { Tensor } from './tensor.js';
import { floats } from './step.js';

// ---------------------------------------------------------------------------------------------------------
// softmax / logSoftmax
// ---------------------------------------------------------------------------------------------------------

/**
 * softmax(x)_i = e^(x_i − m) / Σ_j e^(x_j − m), m = max_j x_j, along `dim` (default last).
 * Backward: dx_i = y_i (g_i − Σ_j g_j y_j).
 * A row that is entirely −Infinity (every position masked) gives all zeros instead of NaN.
 */
export function softmax(x: Tensor, dim = -1): Tensor {
  expectFloat('softmax', x);
  const d = normalizeDim('softmax', dim, x.ndim);
  if (x.ndim > 0 && d !== x.ndim - 1) return transpose(softmax(transpose(x, d, -1), -1), d, -1);
  const X = readContiguous(x) as Float32Array;
  const n = x.ndim === 0 ? 1 : x.shape[x.ndim - 1];
  const rows = n === 0 ? 0 : X.length / n;
  const out = floats(X.length);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let m = -Infinity;
    for (let j = 0; j < n; j++) if (X[o + j] > m) m = X[o + j];
    if (m === -Infinity) continue; // fully masked row → zeros
    let s = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.exp(X[o + j] - m);
      out[o + j] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let j = 0; j < n; j++) out[o + j] *= inv;
  }
  return fromOp('softmax', out, x.shape, [x], (g, sink) => {
    const gx = floats(g.length);
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      let dot = 0; // Σ_j g_j y_j
      for (let j = 0; j < n; j++) dot += g[o + j] * out[o + j];
      for (let j = 0; j < n; j++) gx[o + j] = out[o + j] * (g[o + j] - dot);
    }
    sink.add(x, gx, true);
  });
}

/**
 * logSoftmax(x)_i = x_i − m − log Σ_j e^(x_j − m), along `dim` (default last).
 * Backward: dx_i = g_i − softmax_i · Σ_j g_j. A fully −Infinity row stays −Infinity with zero gradient.
 */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  expectFloat('logSoftmax', x);
  const d = normalizeDim('logSoftmax', dim, x.ndim);
  if (x.ndim > 0 && d !== x.ndim - 1) return transpose(logSoftmax(transpose(x, d, -1), -1), d, -1);
  const X = readContiguous(x) as Float32Array;
  const n = x.ndim === 0 ? 1 : x.shape[x.ndim - 1];
  const rows = n === 0 ? 0 : X.length / n;
  const out = floats(X.length);
  const masked = new Uint8Array(rows); // rows that are entirely -Infinity
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let m = -Infinity;
    for (let j = 0; j < n; j++) if (X[o + j] > m) m = X[o + j];
    if (m === -Infinity) {
      out.fill(-Infinity, o, o + n);
      masked[r] = 1;
      continue;
    }
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(X[o + j] - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < n; j++) out[o + j] = X[o + j] - lse;
  }
  return fromOp('logSoftmax', out, x.shape, [x], (g, sink) => {
    const gx = floats(g.length);
    for (let r = 0; r < rows; r++) {
      if (masked[r]) continue;
      const o = r * n;
      let gs = 0;
      for (let j = 0; j < n; j++) gs += g[o + j];
      for (let j = 0; j < n; j++) gx[o + j] = g[o + j] - Math.exp(out[o + j]) * gs;
    }
    sink.add(x, gx, true);
  });
}

// ---------------------------------------------------------------------------------------------------------
// layerNorm and rmsNorm
// ---------------------------------------------------------------------------------------------------------

/**
 * Layer norm of each row of C = cols values (biased variance, as PyTorch):
 *   μ = mean(x),  σ² = mean((x − μ)²),  r = 1/√(σ² + eps),  x̂ = (x − μ)·r,  y = x̂·w + b
 * inputs x (rows), w and b (perCol); outputs y (rows), μ and r (perRow, saved for backward); params [eps].
 */
export const LAYER_NORM_FORWARD: RowKernel = {
  name: 'layernorm_forward',
  inputs: ['rows', 'perCol', 'perCol'],
  outputs: ['rows', 'perRow', 'perRow'],
  reference(rows, C, [x, w, b], [y, mean, rstd], [eps]) {
    for (let r = 0; r < rows; r++) {
      const o = r * C;
      let mu = 0;
      for (let j = 0; j < C; j++) mu += x![o + j]!;
      mu /= C;
      let v = 0;
      for (let j = 0; j < C; j++) v += (x![o + j]! - mu) ** 2;
      const rs = 1 / Math.sqrt(v / C + eps!);
      mean![r] = mu;
      rstd![r] = rs;
      for (let j = 0; j < C; j++) y![o + j] = (x![o + j]! - mu) * rs * w![j]! + b![j]!;
    }
  },
};

/**
 * Layer norm's backward, per row, with ĝ = g·w (x̂ rebuilt from the saved μ and r):
 *   dx = r · (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),   dw = Σ_rows g·x̂,   db = Σ_rows g
 * inputs x, w, μ, r, g; outputs dx (rows; null to skip), dw and db (colSum).
 */
export const LAYER_NORM_BACKWARD: RowKernel = {
  name: 'layernorm_backward',
  inputs: ['rows', 'perCol', 'perRow', 'perRow', 'rows'],
  outputs: ['rows', 'colSum', 'colSum'],
  reference(rows, C, [x, w, mean, rstd, g], [gx, gw, gb]) {
    const sw = new Float64Array(C);
    const sb = new Float64Array(C);
    for (let r = 0; r < rows; r++) {
      const o = r * C;
      const mu = mean![r]!;
      const rs = rstd![r]!;
      let meanG = 0; // mean(ĝ)
      let meanGX = 0; // mean(ĝ·x̂)
      for (let j = 0; j < C; j++) {
        const xh = (x![o + j]! - mu) * rs;
        const gh = g![o + j]! * w![j]!;
        meanG += gh / C;
        meanGX += (gh * xh) / C;
        sw[j] += g![o + j]! * xh;
        sb[j] += g![o + j]!;
      }
      if (gx) for (let j = 0; j < C; j++) gx[o + j] = rs * (g![o + j]! * w![j]! - meanG - (x![o + j]! - mu) * rs * meanGX);
    }
    gw!.set(sw);
    gb!.set(sb);
  },
};

/**
 * Layer normalization over the last dim (formulas beside the kernels above); weight and bias (C) may be
 * null (no affine transform).
 */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  const { X, C, rows } = normInput('layerNorm', x, { weight, bias });
  // No affine transform is the same as w = 1, b = 0: one kernel either way.
  const W = weight ? (readContiguous(weight) as Float32Array) : floats(C).fill(1);
  const Bs = bias ? (readContiguous(bias) as Float32Array) : floats(C);
  const out = floats(X.length);
  // Saved for backward: two numbers per row (x̂ is recomputed from them rather than stored).
  const mean = floats(rows);
  const rstd = floats(rows);
  const be = getBackend();
  be.runRows(LAYER_NORM_FORWARD, rows, C, [X, W, Bs], [out, mean, rstd], [eps]);
  const inputs = [x];
  if (weight) inputs.push(weight);
  if (bias) inputs.push(bias);
  return fromOp('layerNorm', out, x.shape, inputs, (g, sink) => {
    const gx = x.requiresGrad ? sink.alloc(X.length, false) : null; // the backend writes every element
    // dw and db are computed even when not wanted: they come out of the same pass as dx.
    const gw = floats(C);
    const gb = floats(C);
    be.runRows(LAYER_NORM_BACKWARD, rows, C, [X, W, mean, rstd, g], [gx, gw, gb]);
    if (gx) sink.add(x, gx, true);
    if (weight) sink.add(weight, gw, true);
    if (bias) sink.add(bias, gb, true);
  });
}

/**
 * RMS norm of each row (T5's LayerNorm, Llama's RMSNorm): no mean, no bias.
 *   r = 1/√(mean(x²) + eps),  x̂ = x·r,  y = x̂·w
 * inputs x (rows), w (perCol); outputs y (rows), r (perRow); params [eps].
 */
export const RMS_NORM_FORWARD: RowKernel = {
  name: 'rmsnorm_forward',
  inputs: ['rows', 'perCol'],
  outputs: ['rows', 'perRow'],
  reference(rows, C, [x, w], [y, rstd], [eps]) {
    for (let r = 0; r < rows; r++) {
      const o = r * C;
      let ss = 0;
      for (let j = 0; j < C; j++) ss += x![o + j]! ** 2;
      const rs = 1 / Math.sqrt(ss / C + eps!);
      rstd![r] = rs;
      for (let j = 0; j < C; j++) y![o + j] = x![o + j]! * rs * w![j]!;
    }
  },
};

/**
 * RMS norm's backward, per row, with ĝ = g·w and x̂ = x·r (r rebuilt from nothing: it was saved):
 *   dx = r · (ĝ − x̂·mean(ĝ·x̂)),   dw = Σ_rows g·x̂
 * (the layer-norm formula without the mean terms). inputs x, w, r, g; outputs dx (rows; null to skip), dw (colSum).
 */
export const RMS_NORM_BACKWARD: RowKernel = {
  name: 'rmsnorm_backward',
  inputs: ['rows', 'perCol', 'perRow', 'rows'],
  outputs: ['rows', 'colSum'],
  reference(rows, C, [x, w, rstd, g], [gx, gw]) {
    const sw = new Float64Array(C);
    for (let r = 0; r < rows; r++) {
      const o = r * C;
      const rs = rstd![r]!;
      let meanGX = 0; // mean(ĝ·x̂)
      for (let j = 0; j < C; j++) {
        const xh = x![o + j]! * rs;
        meanGX += (g![o + j]! * w![j]! * xh) / C;
        sw[j] += g![o + j]! * xh;
      }
      if (gx) for (let j = 0; j < C; j++) gx[o + j] = rs * (g![o + j]! * w![j]! - x![o + j]! * rs * meanGX);
    }
    gw!.set(sw);
  },
};

/**
 * RMS normalization over the last dim (T5LayerNorm): y = x / √(mean(x²) + eps) · weight. Formulas beside the
 * kernels above. `rmsNorm(x, ln.weight, 1e-6)`; weight (C) may be null (no scale).
 */
export function rmsNorm(x: Tensor, weight: Tensor | null, eps = 1e-6): Tensor {
  const { X, C, rows } = normInput('rmsNorm', x, { weight });
  const W = weight ? (readContiguous(weight) as Float32Array) : floats(C).fill(1);
  const out = floats(X.length);
  const rstd = floats(rows);
  const be = getBackend();
  be.runRows(RMS_NORM_FORWARD, rows, C, [X, W], [out, rstd], [eps]);
  return fromOp('rmsNorm', out, x.shape, weight ? [x, weight] : [x], (g, sink) => {
    const gx = x.requiresGrad ? sink.alloc(X.length, false) : null;
    const gw = floats(C);
    be.runRows(RMS_NORM_BACKWARD, rows, C, [X, W, rstd, g], [gx, gw]);
    if (gx) sink.add(x, gx, true);
    if (weight) sink.add(weight, gw, true);
  });
}

/** Checks a norm's input and affine parameters (C each, C the last dim of x); returns x's data and row count. */
function normInput(op: string, x: Tensor, params: Record<string, Tensor | null>): { X: Float32Array; C: number; rows: number } {
  expectFloat(op, x);
  if (x.ndim === 0) throw new RangeError(`${op}: input must have at least one dim, got a scalar`);
  const C = x.shape[x.ndim - 1]!;
  for (const [name, p] of Object.entries(params)) {
    if (p === null || p === undefined) continue;
    expectFloat(op, p, name);
    if (p.size !== C || p.ndim !== 1) {
      throw new RangeError(`${op}: ${name} has shape ${fmtShape(p.shape)}, expected [${C}] to match the last dim of input ${fmtShape(x.shape)}`);
    }
  }
  const X = readContiguous(x) as Float32Array;
  return { X, C, rows: C === 0 ? 0 : X.length / C };
}

// ---------------------------------------------------------------------------------------------------------
// crossEntropy
// ---------------------------------------------------------------------------------------------------------

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (no loss, no gradient, not counted in the mean). Default -100. */
  ignoreIndex?: number;
  /** ε: the target distribution is (1−ε)·onehot + ε/V. Default 0. */
  labelSmoothing?: number;
  /** 'mean' over non-ignored targets (default), 'sum', or 'none' (per-target losses, 0 where ignored). */
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Per row of logits: lse = log Σ_c e^(x_c) (as m + log Σ e^(x_c − m), m the row's max, so no e^(·) exceeds 1),
 * sumX = Σ_c x_c (for label smoothing), and when probs is given, softmax(x) = e^(x_c − lse).
 * inputs x (rows); outputs lse, sumX (perRow), probs (rows; null to skip).
 */
export const LOG_SOFTMAX_ROWS: RowKernel = {
  name: 'logsoftmax_rows',
  inputs: ['rows'],
  outputs: ['perRow', 'perRow', 'rows'],
  reference(rows, V, [x], [lse, sumX, probs]) {
    for (let i = 0; i < rows; i++) {
      const o = i * V;
      let m = -Infinity;
      for (let c = 0; c < V; c++) if (x![o + c]! > m) m = x![o + c]!;
      let s = 0;
      let xs = 0;
      for (let c = 0; c < V; c++) {
        s += Math.exp(x![o + c]! - m);
        xs += x![o + c]!;
      }
      lse![i] = V === 0 ? -Infinity : m + Math.log(s);
      sumX![i] = xs;
      if (probs) for (let c = 0; c < V; c++) probs[o + c] = Math.exp(x![o + c]! - m) / s;
    }
  },
};

/**
 * log_softmax of each row, written out: (x − m) − log Σ e^(x − m), m the row's max, as PyTorch computes it
 * (generation's beam search scores candidates with it). inputs x (rows); output (rows). Rows are not empty.
 */
export const LOG_SOFTMAX: RowKernel = {
  name: 'log_softmax',
  inputs: ['rows'],
  outputs: ['rows'],
  reference(rows, V, [x], [out]) {
    for (let i = 0; i < rows; i++) {
      const o = i * V;
      let m = -Infinity;
      for (let c = 0; c < V; c++) if (x![o + c]! > m) m = x![o + c]!;
      let s = 0;
      for (let c = 0; c < V; c++) s += Math.exp(x![o + c]! - m);
      const l = Math.log(s);
      for (let c = 0; c < V; c++) out![o + c] = x![o + c]! - m - l;
    }
  },
};

/**
 * Cross-entropy from logits, PyTorch semantics, classes on the last dim. For a row with target t,
 * lse = log Σ_c e^(x_c):
 *   loss = (1−ε)·(lse − x_t) + ε·(lse − mean_c x_c)
 *   dloss/dx_c = softmax_c − (1−ε)·[c = t] − ε/V
 * logits (N, V) or (…, V); targets int32 (N) or (…). Mean over zero non-ignored targets is NaN, as in
 * PyTorch (the gradient is then zero). Does not handle class weights or PyTorch's (N, V, d…) layout.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const { ignoreIndex = -100, labelSmoothing = 0, reduction = 'mean' } = opts;
  expectFloat('crossEntropy', logits, 'logits');
  if (!(targets instanceof Tensor)) throw new TypeError(`crossEntropy: targets must be an int32 Tensor, got ${typeof targets}`);
  expectInt('crossEntropy', targets, 'targets');
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new RangeError(`crossEntropy: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new RangeError(`crossEntropy: reduction must be 'mean', 'sum' or 'none', got '${String(reduction)}'`);
  }
  const lead = logits.shape.slice(0, -1);
  const V = logits.shape[logits.ndim - 1];
  if (logits.ndim < 1 || targets.ndim !== lead.length || targets.shape.some((n, i) => n !== lead[i])) {
    throw new RangeError(`crossEntropy: logits ${fmtShape(logits.shape)} and targets ${fmtShape(targets.shape)} do not match; expected targets of shape ${fmtShape(lead)}`);
  }
  const X = readContiguous(logits) as Float32Array;
  const T = readContiguous(targets) as Int32Array;
  const N = T.length;
  const eps = labelSmoothing;
  let count = 0;
  for (let i = 0; i < N; i++) {
    const t = T[i];
    if (t === ignoreIndex) continue;
    if (t < 0 || t >= V) {
      throw new RangeError(`crossEntropy: target ${t} at position ${i} is out of range for ${V} classes (ignoreIndex is ${ignoreIndex})`);
    }
    count++;
  }
  // The backend computes each row's log Σ e^x (and Σx for smoothing). When a gradient will be needed it
  // also keeps softmax(x) (it computes every e^(x_c − m) anyway): backward then needs no exp at all, and
  // turns this array into the gradient in place.
  const probs = needsGrad([logits]) ? floats(X.length) : null;
  const lse = floats(N);
  const sumX = floats(N);
  getBackend().runRows(LOG_SOFTMAX_ROWS, N, V, [X], [lse, sumX, probs]);
  const losses = floats(N);
  for (let i = 0; i < N; i++) {
    const t = T[i];
    if (t === ignoreIndex) continue;
    const l = lse[i];
    losses[i] = (1 - eps) * (l - X[i * V + t]) + (eps > 0 ? eps * (l - sumX[i] / V) : 0);
  }

  let out: Float32Array;
  let outShape: readonly number[];
  if (reduction === 'none') {
    out = losses;
    outShape = targets.shape;
  } else {
    let total = 0;
    for (let i = 0; i < N; i++) total += losses[i];
    out = new Float32Array([reduction === 'mean' ? total / count : total]);
    outShape = [];
  }
  return fromOp('crossEntropy', out, outShape, [logits], (g, sink) => {
    // backward runs once (the graph is freed after it), so the saved probabilities become the gradient.
    const gx = probs as Float32Array;
    const uniform = eps / V;
    for (let i = 0; i < N; i++) {
      const t = T[i];
      const o = i * V;
      if (t === ignoreIndex) {
        gx.fill(0, o, o + V); // an ignored row has no loss, so no gradient
        continue;
      }
      // How much this row's loss counts in the output.
      const w = reduction === 'none' ? g[i] : reduction === 'sum' ? g[0] : g[0] / count;
      for (let c = 0; c < V; c++) gx[o + c] = w * (gx[o + c] - uniform);
      gx[o + t] -= w * (1 - eps);
    }
    sink.add(logits, gx, true);
  });
}

// ---------------------------------------------------------------------------------------------------------
// dropout
// ---------------------------------------------------------------------------------------------------------

export interface DropoutOptions {
  /** Defaults to the global generator (see manualSeed). */
  rng?: Rng;
  /** When false, dropout is the identity (evaluation). Default true. */
  training?: boolean;
}

/**
 * Dropout's mask as a row kernel over single-element rows: y_i = x_i·m_i, m_i = 1/(1 − p) when element i is
 * kept, else 0. Whether it is kept is a hash of (i, seed) (dropKeeps in src/backend/backend.ts, the mask
 * attention's dropout uses too), so the mask costs no random draws per element and is never stored:
 * backward runs this same kernel on the output gradient (gx = g·m). params [threshold, 1/(1 − p), seedHash].
 */
export const DROPOUT: RowKernel = {
  name: 'dropout',
  inputs: ['rows'],
  outputs: ['rows'],
  reference(rows, cols, [x], [y], [threshold, scale, seedHash]) {
    const s = Math.fround(scale!); // the kernels take it as a float32
    for (let i = 0; i < rows * cols; i++) y![i] = x![i]! * (dropKeeps(seedHash!, i, threshold!) ? s : 0); // x·0 = −0 for x < 0, as the kernels
  },
};

/** A dropout call's kernel params: the threshold p·2³², the survivors' scale 1/(1 − p), the seed's hash. */
function dropParams(p: number, seed: number): [number, number, number] {
  return [dropThreshold(p), p === 1 ? 0 : 1 / (1 - p), lowbias32(seed >>> 0)];
}

/**
 * Inverted dropout: each element is zeroed with probability p, survivors are scaled by 1/(1−p) so the
 * expected value is unchanged and evaluation needs no rescaling. Identity when p = 0 or not training.
 * One 32-bit seed is drawn from the generator per call; the mask is a hash of each element's index and it.
 */
export function dropout(x: Tensor, p: number, opts: DropoutOptions = {}): Tensor {
  expectFloat('dropout', x);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  const { rng = getDefaultRng(), training = true } = opts;
  if (!training || p === 0) return x;
  const X = readContiguous(x) as Float32Array;
  const n = X.length;
  const out = floats(n);
  const params = dropParams(p, rng.uint32());
  const be = getBackend();
  be.runRows(DROPOUT, n, 1, [X], [out], params);
  return fromOp('dropout', out, x.shape, [x], (g, sink) => {
    const gx = sink.alloc(n, false); // the backend writes every element
    be.runRows(DROPOUT, n, 1, [g], [gx], params);
    sink.add(x, gx, true);
  });
}

// ---------------------------------------------------------------------------------------------------------
// addLayerNorm: the "add & norm" that ends each sub-layer of a post-LN transformer (BERT, the 2017 Transformer)
// ---------------------------------------------------------------------------------------------------------

/**
 * y = LN(z), z = dropout(x) + res, per row of C = cols values (the layer-norm formulas above, on z).
 * inputs x, res (rows), w, b (perCol); outputs y (rows), μ and r (perRow); params [eps, threshold, scale,
 * seedHash] (threshold 0: no dropout). z is not kept: backward rebuilds it from x, res and the seed.
 */
export const ADD_LAYER_NORM_FORWARD: RowKernel = {
  name: 'add_layernorm_forward',
  inputs: ['rows', 'rows', 'perCol', 'perCol'],
  outputs: ['rows', 'perRow', 'perRow'],
  reference(rows, C, [x, res, w, b], [y, mean, rstd], [eps, threshold, scale, seedHash]) {
    const m = (i: number): number => (threshold === 0 ? 1 : dropKeeps(seedHash!, i, threshold!) ? Math.fround(scale!) : 0);
    const z = floats(rows * C);
    for (let i = 0; i < rows * C; i++) z[i] = x![i]! * m(i) + res![i]!;
    LAYER_NORM_FORWARD.reference(rows, C, [z, w!, b!], [y!, mean!, rstd!], [eps!]);
  },
};

/**
 * Its backward: with z rebuilt, dz is layer norm's dx (the residual's gradient) and dx = dz·m (m the dropout
 * mask times 1/(1 − p), or 1); dw, db as layer norm's. inputs x, res, w, μ, r, g; outputs dz (rows), dx (rows;
 * null to skip), dw and db (colSum); params [threshold, scale, seedHash].
 */
export const ADD_LAYER_NORM_BACKWARD: RowKernel = {
  name: 'add_layernorm_backward',
  inputs: ['rows', 'rows', 'perCol', 'perRow', 'perRow', 'rows'],
  outputs: ['rows', 'rows', 'colSum', 'colSum'],
  reference(rows, C, [x, res, w, mean, rstd, g], [gz, gx, gw, gb], [threshold, scale, seedHash]) {
    const m = (i: number): number => (threshold === 0 ? 1 : dropKeeps(seedHash!, i, threshold!) ? Math.fround(scale!) : 0);
    const z = floats(rows * C);
    for (let i = 0; i < rows * C; i++) z[i] = x![i]! * m(i) + res![i]!;
    LAYER_NORM_BACKWARD.reference(rows, C, [z, w!, mean!, rstd!, g!], [gz!, gw!, gb!], []);
    if (gx) for (let i = 0; i < rows * C; i++) gx[i] = gz![i]! * m(i);
  },
};

export interface AddLayerNormOptions {
  /** Dropout probability on x before the add (training); default 0. */
  dropout?: number;
  /** Generator for the dropout seed; defaults to the global one. */
  rng?: Rng;
}

/**
 * LN(dropout(x) + residual) over the last dim, in one pass each way: the end of every sub-layer of a
 * post-LN transformer (BERT's BertSelfOutput / BertOutput: dense → dropout → add the residual → LayerNorm).
 * `addLayerNorm(dense(h), h, ln.weight, ln.bias, 1e-12, { dropout: 0.1, rng })`. x and residual have the same
 * shape (no broadcasting); the dropout mask is dropout()'s for the same seed. Equal to
 * layerNorm(add(dropout(x, p), residual), weight, bias, eps), with fewer passes over memory and no temporaries.
 */
export function addLayerNorm(x: Tensor, residual: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5, opts: AddLayerNormOptions = {}): Tensor {
  const { X, C, rows } = normInput('addLayerNorm', x, { weight, bias });
  if (!(residual instanceof Tensor)) throw new TypeError(`addLayerNorm: residual must be a Tensor, got ${typeof residual}`);
  expectFloat('addLayerNorm', residual, 'residual');
  if (residual.ndim !== x.ndim || residual.shape.some((n, i) => n !== x.shape[i])) {
    throw new RangeError(`addLayerNorm: residual has shape ${fmtShape(residual.shape)}, expected the input's shape ${fmtShape(x.shape)}`);
  }
  const p = opts.dropout ?? 0;
  if (!(p >= 0 && p < 1)) throw new RangeError(`addLayerNorm: dropout must be in [0, 1), got ${p}`);
  const R = readContiguous(residual) as Float32Array;
  const W = weight ? (readContiguous(weight) as Float32Array) : floats(C).fill(1);
  const Bs = bias ? (readContiguous(bias) as Float32Array) : floats(C);
  const drop = p > 0 ? dropParams(p, (opts.rng ?? getDefaultRng()).uint32()) : ([0, 1, 0] as [number, number, number]);
  const out = floats(X.length);
  const mean = floats(rows);
  const rstd = floats(rows);
  const be = getBackend();
  be.runRows(ADD_LAYER_NORM_FORWARD, rows, C, [X, R, W, Bs], [out, mean, rstd], [eps, ...drop]);
  const inputs = [x, residual];
  if (weight) inputs.push(weight);
  if (bias) inputs.push(bias);
  return fromOp('addLayerNorm', out, x.shape, inputs, (g, sink) => {
    // dz always comes out (the kernel works in it); it is the residual's gradient.
    const gz = sink.alloc(X.length, false);
    const gx = x.requiresGrad ? sink.alloc(X.length, false) : null;
    const gw = floats(C);
    const gb = floats(C);
    be.runRows(ADD_LAYER_NORM_BACKWARD, rows, C, [X, R, W, mean, rstd, g], [gz, gx, gw, gb], drop);
    if (gx) sink.add(x, gx, true);
    sink.add(residual, gz, true);
    if (weight) sink.add(weight, gw, true);
    if (bias) sink.add(bias, gb, true);
  });
}
