// Elementwise and row-wise kernels of a transformer block, four lanes at a time: ReLU, GELU (tanh and erf forms),
// layer norm and RMS norm forward and backward, and the log-softmax rows of the cross-entropy loss.
//
// These are memory-light but arithmetic-heavy per element (a rational tanh or erf, a square root and a
// division per row), so in plain TypeScript they cost as much as a matmul of the same block: ~8 ns per GELU
// element on one thread, against ~0.5 ns here, and here they also run on every thread of the pool.
//
// Every kernel here is the SIMD twin of a RowKernel in src/tensor (its `reference` is the formula, and the
// tests compare the two), and follows the row-kernel convention of src/backend/backend.ts:
//   name_task(t, thread, rows, cols, rowsPerTask, ...input pointers, ...output pointers, ...params)
// computes rows [t·rowsPerTask, (t+1)·rowsPerTask) of a (rows, cols) job; an elementwise kernel is a job
// of single-element rows (cols = 1), so its task is a contiguous range of elements. Output pointers may be
// 0 (an optional output nobody wants); a 'colSum' output gets this task's partial sums at pointer + t·cols·4.
// Tasks touch disjoint memory, so the pool runs them in any order on any thread.
//
// Addresses are byte offsets into the shared memory (usize); counts are i32.

import { exp4, lnPositive, madd } from './simd';
import { dropKeep4 } from './dropout_mask';

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_C: f32 = 0.044715;
const INV_SQRT_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

/**
 * tanh on four lanes: the rational approximation Eigen uses for float32 (a degree-13 odd polynomial over a
 * degree-6 even one), a few ulps from the true value. Beyond |u| ≥ 7.9988 it is exactly ±1, as float32 tanh
 * is: without that, GELU of a large negative x would be a tiny nonzero instead of 0.
 */
// @ts-ignore: decorator
@inline function tanh4(u: v128): v128 {
  const LIM = f32x4.splat(7.99881172180175781);
  const saturated = f32x4.ge(f32x4.abs(u), LIM);
  const c = f32x4.pmax(f32x4.pmin(u, LIM), f32x4.neg(LIM));
  const c2 = f32x4.mul(c, c);
  let p = f32x4.splat(-2.76076847742355e-16);
  p = madd(p, c2, f32x4.splat(2.00018790482477e-13));
  p = madd(p, c2, f32x4.splat(-8.60467152213735e-11));
  p = madd(p, c2, f32x4.splat(5.12229709037114e-8));
  p = madd(p, c2, f32x4.splat(1.48572235717979e-5));
  p = madd(p, c2, f32x4.splat(6.37261928875436e-4));
  p = madd(p, c2, f32x4.splat(4.89352455891786e-3));
  p = f32x4.mul(p, c);
  let q = f32x4.splat(1.19825839466702e-6);
  q = madd(q, c2, f32x4.splat(1.18534705686654e-4));
  q = madd(q, c2, f32x4.splat(2.268434632439e-3));
  q = madd(q, c2, f32x4.splat(4.89352518554385e-3));
  const r = f32x4.div(p, q);
  // ±1 with the sign of u where saturated
  const one = v128.or(v128.and(u, i32x4.splat(<i32>0x80000000)), f32x4.splat(1));
  return v128.bitselect(one, r, saturated);
}

/** s = ½(1 + tanh u) of GELU's tanh form, four lanes. */
// @ts-ignore: decorator
@inline function geluGate4(x: v128): v128 {
  const x2 = f32x4.mul(x, x);
  const u = f32x4.mul(f32x4.splat(SQRT_2_OVER_PI), madd(f32x4.mul(f32x4.splat(GELU_C), x2), x, x)); // √(2/π)(x + c·x³)
  return madd(f32x4.splat(0.5), tanh4(u), f32x4.splat(0.5));
}

/** The same in scalar form, for the last n mod 4 elements. */
function geluGate(x: f32): f32 {
  return f32x4.extract_lane(geluGate4(f32x4.splat(x)), 0);
}

/** First and one-past-last element of task t: rows [t·rowsPerTask, …) of `cols` floats each. */
// @ts-ignore: decorator
@inline function taskStart(t: i32, rowsPerTask: i32, cols: i32): i32 { return t * rowsPerTask * cols; }
// @ts-ignore: decorator
@inline function taskEnd(t: i32, rows: i32, rowsPerTask: i32, cols: i32): i32 { return min(rows, (t + 1) * rowsPerTask) * cols; }

/**
 * y = max(x, 0) (ReLU) over this task's elements. pmax(0, x) is `0 < x ? x : 0`, so NaN and −0 give +0, as the
 * reference does. Branch-free: in TypeScript the sign test of random activations mispredicts half the time.
 */
export function relu_forward_task(t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32, x: usize, y: usize): void {
  const i1 = taskEnd(t, rows, rowsPerTask, cols);
  let i = taskStart(t, rowsPerTask, cols);
  const zero = f32x4.splat(0);
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.pmax(zero, v128.load(x + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 ? v : 0);
  }
}

/** gx = g where x > 0, else 0 (ReLU's gradient; at x = 0 it is 0, as PyTorch's). */
export function relu_backward_task(t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32, x: usize, g: usize, gx: usize): void {
  const i1 = taskEnd(t, rows, rowsPerTask, cols);
  let i = taskStart(t, rowsPerTask, cols);
  const zero = f32x4.splat(0);
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(gx + o, v128.and(v128.load(g + o), f32x4.gt(v128.load(x + o), zero)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(gx + o, load<f32>(x + o) > 0 ? load<f32>(g + o) : 0);
  }
}

/** y = tanh x over this task's elements (tanh4: a few ulps from the true value, exactly ±1 far out). */
export function tanh_forward_task(t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32, x: usize, y: usize): void {
  const i1 = taskEnd(t, rows, rowsPerTask, cols);
  let i = taskStart(t, rowsPerTask, cols);
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, tanh4(v128.load(x + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, f32x4.extract_lane(tanh4(f32x4.splat(load<f32>(x + o))), 0));
  }
}

/** gx = g·(1 − y²), from the forward's output y = tanh x (cheaper than recomputing tanh from x). */
export function tanh_backward_task(t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32, y: usize, g: usize, gx: usize): void {
  const i1 = taskEnd(t, rows, rowsPerTask, cols);
  let i = taskStart(t, rowsPerTask, cols);
  const one = f32x4.splat(1);
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(y + o);
    v128.store(gx + o, f32x4.mul(v128.load(g + o), f32x4.sub(one, f32x4.mul(v, v))));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(y + o);
    store<f32>(gx + o, load<f32>(g + o) * (1 - v * v));
  }
}

/**
 * y = a + b over this task's elements: gradient sums (autograd adds a second contribution into the first) and
 * the residual stream's x + f(x). y may be a (in place): each element is read before it is written.
 */
export function add_arrays_task(t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32, a: usize, b: usize, y: usize): void {
  const i1 = taskEnd(t, rows, rowsPerTask, cols);
  let i = taskStart(t, rowsPerTask, cols);
  for (; i + 16 <= i1; i += 16) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
    v128.store(y + o, f32x4.add(v128.load(a + o, 16), v128.load(b + o, 16)), 16);
    v128.store(y + o, f32x4.add(v128.load(a + o, 32), v128.load(b + o, 32)), 32);
    v128.store(y + o, f32x4.add(v128.load(a + o, 48), v128.load(b + o, 48)), 48);
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** y = x·s (GELU, tanh form) over this task's elements. */
export function gelu_tanh_forward_task(t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32, x: usize, y: usize): void {
  const i1 = taskEnd(t, rows, rowsPerTask, cols);
  let i = taskStart(t, rowsPerTask, cols);
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(y + o, f32x4.mul(v, geluGate4(v)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v * geluGate(v));
  }
}

/** gx = g · d/dx gelu_tanh(x) = g·(s + 2x·s(1 − s)·√(2/π)(1 + 3c·x²)) (s recomputed from x: cheaper than storing it). */
export function gelu_tanh_backward_task(t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32, x: usize, g: usize, gx: usize): void {
  const i1 = taskEnd(t, rows, rowsPerTask, cols);
  let i = taskStart(t, rowsPerTask, cols);
  const one = f32x4.splat(1);
  const two = f32x4.splat(2);
  const k = f32x4.splat(SQRT_2_OVER_PI);
  const k3 = f32x4.splat(SQRT_2_OVER_PI * 3 * GELU_C);
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const s = geluGate4(v);
    const du = madd(k3, f32x4.mul(v, v), k); // √(2/π)(1 + 3c·x²)
    // s + 2x·s(1 − s)·du
    const d = madd(f32x4.mul(f32x4.mul(two, v), f32x4.mul(s, f32x4.sub(one, s))), du, s);
    v128.store(gx + o, f32x4.mul(v128.load(g + o), d));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const s = geluGate(v);
    const du = SQRT_2_OVER_PI * (1 + 3 * GELU_C * v * v);
    store<f32>(gx + o, load<f32>(g + o) * (s + 2 * v * s * (1 - s) * du));
  }
}

/** σ(x) = 1 / (1 + e^−x), four lanes. Far below zero e^−x meets exp4's clamp (~2·10³⁸) and σ is ~0; far above it is 1. */
// @ts-ignore: decorator
@inline function sigmoid4(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(x))));
}

/** y = x·σ(x) (SiLU, Marian's "swish") over this task's elements. */
export function silu_forward_task(t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32, x: usize, y: usize): void {
  const i1 = taskEnd(t, rows, rowsPerTask, cols);
  let i = taskStart(t, rowsPerTask, cols);
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(y + o, f32x4.mul(v, sigmoid4(v)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v * f32x4.extract_lane(sigmoid4(f32x4.splat(v)), 0));
  }
}

/** gx = g · d/dx x·σ(x) = g·σ(x)(1 + x(1 − σ(x))) (σ recomputed from x). */
export function silu_backward_task(t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32, x: usize, g: usize, gx: usize): void {
  const i1 = taskEnd(t, rows, rowsPerTask, cols);
  let i = taskStart(t, rowsPerTask, cols);
  const one = f32x4.splat(1);
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const s = sigmoid4(v);
    v128.store(gx + o, f32x4.mul(v128.load(g + o), f32x4.mul(s, madd(v, f32x4.sub(one, s), one))));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const s = f32x4.extract_lane(sigmoid4(f32x4.splat(v)), 0);
    store<f32>(gx + o, load<f32>(g + o) * (s * (1 + v * (1 - s))));
  }
}

/**
 * erf on four lanes: the rational approximation Eigen and XLA use for float32 (odd degree-13 numerator over
 * even degree-8 denominator) on x clamped to [−4, 4], where float32 erf is ±1 to within an ulp.
 */
// @ts-ignore: decorator
@inline function erf4(a: v128): v128 {
  const x = f32x4.pmax(f32x4.pmin(a, f32x4.splat(4)), f32x4.splat(-4));
  const x2 = f32x4.mul(x, x);
  let p = madd(x2, f32x4.splat(-2.72614225801306e-10), f32x4.splat(2.77068142495902e-8));
  p = madd(x2, p, f32x4.splat(-2.10102402082508e-6));
  p = madd(x2, p, f32x4.splat(-5.69250639462346e-5));
  p = madd(x2, p, f32x4.splat(-7.34990630326855e-4));
  p = madd(x2, p, f32x4.splat(-2.95459980854025e-3));
  p = madd(x2, p, f32x4.splat(-1.60960333262415e-2));
  p = f32x4.mul(x, p);
  let q = madd(x2, f32x4.splat(-1.45660718464996e-5), f32x4.splat(-2.13374055278905e-4));
  q = madd(x2, q, f32x4.splat(-1.68282697438203e-3));
  q = madd(x2, q, f32x4.splat(-7.37332916720468e-3));
  q = madd(x2, q, f32x4.splat(-1.42647390514189e-2));
  return f32x4.div(p, q);
}

/** Φ(x) = ½(1 + erf(x/√2)), four lanes. */
// @ts-ignore: decorator
@inline function normalCdf4(x: v128): v128 {
  return madd(f32x4.splat(0.5), erf4(f32x4.mul(x, f32x4.splat(INV_SQRT_2))), f32x4.splat(0.5));
}

/** y = x·Φ(x) (GELU, exact erf form, BERT's "gelu") over this task's elements. */
export function gelu_erf_forward_task(t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32, x: usize, y: usize): void {
  const i1 = taskEnd(t, rows, rowsPerTask, cols);
  let i = taskStart(t, rowsPerTask, cols);
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(y + o, f32x4.mul(v, normalCdf4(v)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v * f32x4.extract_lane(normalCdf4(f32x4.splat(v)), 0));
  }
}

/** gx = g·(Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π). */
// @ts-ignore: decorator
@inline function geluErfGrad4(v: v128, g: v128): v128 {
  const pdf = f32x4.mul(exp4(f32x4.mul(f32x4.splat(-0.5), f32x4.mul(v, v))), f32x4.splat(INV_SQRT_2PI));
  return f32x4.mul(g, madd(v, pdf, normalCdf4(v)));
}

export function gelu_erf_backward_task(t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32, x: usize, g: usize, gx: usize): void {
  const i1 = taskEnd(t, rows, rowsPerTask, cols);
  let i = taskStart(t, rowsPerTask, cols);
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(gx + o, geluErfGrad4(v128.load(x + o), v128.load(g + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(gx + o, f32x4.extract_lane(geluErfGrad4(f32x4.splat(load<f32>(x + o)), f32x4.splat(load<f32>(g + o))), 0));
  }
}

/** Σ of c floats at p. */
// @ts-ignore: decorator
@inline function rowSum(p: usize, c: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  let j = 0;
  for (; j + 8 <= c; j += 8) {
    a0 = f32x4.add(a0, v128.load(p + (<usize>j << 2)));
    a1 = f32x4.add(a1, v128.load(p + (<usize>j << 2), 16));
  }
  let s = hadd(f32x4.add(a0, a1));
  for (; j < c; j++) s += load<f32>(p + (<usize>j << 2));
  return s;
}

// @ts-ignore: decorator
@inline function hadd(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/**
 * One row of layer norm, given its mean μ: r = 1/√(var + eps) from a second pass (Σ(x − μ)² is exact where
 * Σx² − cμ² cancels), μ and r stored at meanAt / rstdAt, and dst = (src − μ)·r·w + b (dst may be src).
 */
// @ts-ignore: decorator
@inline function normalizeRow(src: usize, dst: usize, c: i32, mu: f32, w: usize, b: usize, eps: f32, meanAt: usize, rstdAt: usize): void {
  const m4 = f32x4.splat(mu);
  let v0 = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= c; j += 4) {
    const d = f32x4.sub(v128.load(src + (<usize>j << 2)), m4);
    v0 = madd(d, d, v0);
  }
  let vs = hadd(v0);
  for (; j < c; j++) {
    const d = load<f32>(src + (<usize>j << 2)) - mu;
    vs += d * d;
  }
  const rs: f32 = 1 / Mathf.sqrt(vs / <f32>c + eps);
  store<f32>(meanAt, mu);
  store<f32>(rstdAt, rs);
  const r4 = f32x4.splat(rs);
  j = 0;
  for (; j + 4 <= c; j += 4) {
    const o = <usize>j << 2;
    const xh = f32x4.mul(f32x4.sub(v128.load(src + o), m4), r4);
    v128.store(dst + o, madd(xh, v128.load(w + o), v128.load(b + o)));
  }
  for (; j < c; j++) {
    const o = <usize>j << 2;
    store<f32>(dst + o, (load<f32>(src + o) - mu) * rs * load<f32>(w + o) + load<f32>(b + o));
  }
}

/**
 * Layer norm of this task's rows of c floats: y = (x − μ)·r·w + b, and the per-row μ and r (float32)
 * saved for backward. w and b are c floats each.
 */
export function layernorm_forward_task(
  t: i32, thread: i32, rows: i32, c: i32, rowsPerTask: i32,
  x: usize, w: usize, b: usize, y: usize, mean: usize, rstd: usize, eps: f32,
): void {
  const r0 = t * rowsPerTask;
  const r1 = min(rows, r0 + rowsPerTask);
  for (let r = r0; r < r1; r++) {
    const xr = x + ((<usize>r * <usize>c) << 2);
    const yr = y + ((<usize>r * <usize>c) << 2);
    normalizeRow(xr, yr, c, rowSum(xr, c) / <f32>c, w, b, eps, mean + (<usize>r << 2), rstd + (<usize>r << 2));
  }
}

/**
 * Layer norm's backward over this task's rows: gx (skipped when gx = 0) for each row, and this task's
 * partial sums of dw = Σ g·x̂ and db = Σ g over its rows, written to gwPart / gbPart + t·c floats (the
 * caller adds the tasks' partial sums; tasks never write the same bytes).
 */
export function layernorm_backward_task(
  t: i32, thread: i32, rows: i32, c: i32, rowsPerTask: i32,
  x: usize, w: usize, mean: usize, rstd: usize, g: usize, gx: usize, gwPart: usize, gbPart: usize,
): void {
  const r0 = t * rowsPerTask;
  const r1 = min(rows, r0 + rowsPerTask);
  const gw = gwPart + ((<usize>t * <usize>c) << 2);
  const gb = gbPart + ((<usize>t * <usize>c) << 2);
  memory.fill(gw, 0, <usize>c << 2);
  memory.fill(gb, 0, <usize>c << 2);
  for (let r = r0; r < r1; r++) {
    const row = (<usize>r * <usize>c) << 2;
    const xr = x + row;
    const gr = g + row;
    const mu = load<f32>(mean + (<usize>r << 2));
    const rs = load<f32>(rstd + (<usize>r << 2));
    const m4 = f32x4.splat(mu);
    const r4 = f32x4.splat(rs);
    // One pass: Σĝ, Σĝ·x̂, and the dw/db partial sums.
    let sg = f32x4.splat(0), sgx = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const o = <usize>j << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), m4), r4);
      const gj = v128.load(gr + o);
      const gh = f32x4.mul(gj, v128.load(w + o));
      sg = f32x4.add(sg, gh);
      sgx = madd(gh, xh, sgx);
      v128.store(gw + o, madd(gj, xh, v128.load(gw + o)));
      v128.store(gb + o, f32x4.add(gj, v128.load(gb + o)));
    }
    let sgs = hadd(sg);
    let sgxs = hadd(sgx);
    for (; j < c; j++) {
      const o = <usize>j << 2;
      const xh = (load<f32>(xr + o) - mu) * rs;
      const gj = load<f32>(gr + o);
      const gh = gj * load<f32>(w + o);
      sgs += gh;
      sgxs += gh * xh;
      store<f32>(gw + o, load<f32>(gw + o) + gj * xh);
      store<f32>(gb + o, load<f32>(gb + o) + gj);
    }
    if (gx == 0) continue;
    // dx = r·ĝ − r·mean(ĝ) − x̂·r·mean(ĝ·x̂)
    const a = rs * (sgs / <f32>c);
    const cc = rs * (sgxs / <f32>c);
    const a4 = f32x4.splat(a);
    const c4 = f32x4.splat(cc);
    const gxr = gx + row;
    j = 0;
    for (; j + 4 <= c; j += 4) {
      const o = <usize>j << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), m4), r4);
      const gh = f32x4.mul(v128.load(gr + o), v128.load(w + o));
      v128.store(gxr + o, f32x4.sub(f32x4.sub(f32x4.mul(r4, gh), a4), f32x4.mul(xh, c4)));
    }
    for (; j < c; j++) {
      const o = <usize>j << 2;
      const xh = (load<f32>(xr + o) - mu) * rs;
      store<f32>(gxr + o, rs * load<f32>(gr + o) * load<f32>(w + o) - a - xh * cc);
    }
  }
}

/**
 * RMS norm (T5's LayerNorm) of this task's rows: r = 1/√(mean(x²) + eps), y = x·r·w; r saved for backward.
 */
export function rmsnorm_forward_task(
  t: i32, thread: i32, rows: i32, c: i32, rowsPerTask: i32,
  x: usize, w: usize, y: usize, rstd: usize, eps: f32,
): void {
  const r0 = t * rowsPerTask;
  const r1 = min(rows, r0 + rowsPerTask);
  for (let r = r0; r < r1; r++) {
    const xr = x + ((<usize>r * <usize>c) << 2);
    const yr = y + ((<usize>r * <usize>c) << 2);
    let s0 = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const v = v128.load(xr + (<usize>j << 2));
      s0 = madd(v, v, s0);
    }
    let ss = hadd(s0);
    for (; j < c; j++) {
      const v = load<f32>(xr + (<usize>j << 2));
      ss += v * v;
    }
    const rs: f32 = 1 / Mathf.sqrt(ss / <f32>c + eps);
    store<f32>(rstd + (<usize>r << 2), rs);
    const r4 = f32x4.splat(rs);
    j = 0;
    for (; j + 4 <= c; j += 4) {
      const o = <usize>j << 2;
      v128.store(yr + o, f32x4.mul(f32x4.mul(v128.load(xr + o), r4), v128.load(w + o)));
    }
    for (; j < c; j++) {
      const o = <usize>j << 2;
      store<f32>(yr + o, load<f32>(xr + o) * rs * load<f32>(w + o));
    }
  }
}

/**
 * RMS norm's backward over this task's rows, with ĝ = g·w and x̂ = x·r:
 *   dx = r·(ĝ − x̂·mean(ĝ·x̂)) (skipped when gx = 0),  and this task's partial sums of dw = Σ g·x̂ at gwPart + t·c.
 */
export function rmsnorm_backward_task(
  t: i32, thread: i32, rows: i32, c: i32, rowsPerTask: i32,
  x: usize, w: usize, rstd: usize, g: usize, gx: usize, gwPart: usize,
): void {
  const r0 = t * rowsPerTask;
  const r1 = min(rows, r0 + rowsPerTask);
  const gw = gwPart + ((<usize>t * <usize>c) << 2);
  memory.fill(gw, 0, <usize>c << 2);
  for (let r = r0; r < r1; r++) {
    const row = (<usize>r * <usize>c) << 2;
    const xr = x + row;
    const gr = g + row;
    const rs = load<f32>(rstd + (<usize>r << 2));
    const r4 = f32x4.splat(rs);
    let sgx = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const o = <usize>j << 2;
      const xh = f32x4.mul(v128.load(xr + o), r4);
      const gj = v128.load(gr + o);
      sgx = madd(f32x4.mul(gj, v128.load(w + o)), xh, sgx);
      v128.store(gw + o, madd(gj, xh, v128.load(gw + o)));
    }
    let sgxs = hadd(sgx);
    for (; j < c; j++) {
      const o = <usize>j << 2;
      const xh = load<f32>(xr + o) * rs;
      const gj = load<f32>(gr + o);
      sgxs += gj * load<f32>(w + o) * xh;
      store<f32>(gw + o, load<f32>(gw + o) + gj * xh);
    }
    if (gx == 0) continue;
    const cc = rs * (sgxs / <f32>c);
    const c4 = f32x4.splat(cc);
    const gxr = gx + row;
    j = 0;
    for (; j + 4 <= c; j += 4) {
      const o = <usize>j << 2;
      const xh = f32x4.mul(v128.load(xr + o), r4);
      v128.store(gxr + o, f32x4.sub(f32x4.mul(r4, f32x4.mul(v128.load(gr + o), v128.load(w + o))), f32x4.mul(xh, c4)));
    }
    for (; j < c; j++) {
      const o = <usize>j << 2;
      store<f32>(gxr + o, rs * load<f32>(gr + o) * load<f32>(w + o) - load<f32>(xr + o) * rs * cc);
    }
  }
}

/**
 * The log-softmax statistics of this task's rows of c logits. Per row:
 *   m = max x,  s = Σ e^(x − m),  lse = m + ln s,  sumx = Σ x  (cross-entropy needs lse − x_target, and
 *   Σ x for label smoothing); and when probs ≠ 0, softmax(x) = e^(x − m)/s written to probs.
 */
export function logsoftmax_rows_task(
  t: i32, thread: i32, rows: i32, c: i32, rowsPerTask: i32,
  x: usize, lse: usize, sumx: usize, probs: usize,
): void {
  const r0 = t * rowsPerTask;
  const r1 = min(rows, r0 + rowsPerTask);
  for (let r = r0; r < r1; r++) {
    if (c == 0) {
      // An empty row: log Σ of nothing is −∞, and Σx = 0.
      store<f32>(lse + (<usize>r << 2), -Infinity);
      store<f32>(sumx + (<usize>r << 2), 0);
      continue;
    }
    const row = (<usize>r * <usize>c) << 2;
    const xr = x + row;
    // max and Σx in one pass
    let mx = f32x4.splat(-Infinity);
    let sx = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const v = v128.load(xr + (<usize>j << 2));
      mx = f32x4.pmax(mx, v);
      sx = f32x4.add(sx, v);
    }
    let m = max(max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
    let xs = hadd(sx);
    for (; j < c; j++) {
      const v = load<f32>(xr + (<usize>j << 2));
      m = max(m, v);
      xs += v;
    }
    // Σ e^(x − m), keeping e^(x − m) in probs when asked
    const m4 = f32x4.splat(m);
    const pr = probs + row;
    let s4 = f32x4.splat(0);
    j = 0;
    for (; j + 4 <= c; j += 4) {
      const e = exp4(f32x4.sub(v128.load(xr + (<usize>j << 2)), m4));
      if (probs != 0) v128.store(pr + (<usize>j << 2), e);
      s4 = f32x4.add(s4, e);
    }
    let s = hadd(s4);
    for (; j < c; j++) {
      const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(xr + (<usize>j << 2)) - m)), 0);
      if (probs != 0) store<f32>(pr + (<usize>j << 2), e);
      s += e;
    }
    store<f32>(lse + (<usize>r << 2), m + lnPositive(s));
    store<f32>(sumx + (<usize>r << 2), xs);
    if (probs != 0) {
      const inv = f32x4.splat(1 / s);
      j = 0;
      for (; j + 4 <= c; j += 4) {
        const o = pr + (<usize>j << 2);
        v128.store(o, f32x4.mul(v128.load(o), inv));
      }
      for (; j < c; j++) {
        const o = pr + (<usize>j << 2);
        store<f32>(o, load<f32>(o) / s);
      }
    }
  }
}

/**
 * log_softmax of this task's rows of c logits, written out (generation's beam scores): per row m = max x,
 * s = Σ e^(x − m), out = (x − m) − ln s, as PyTorch computes it (the shift first keeps ln s ≤ ln c, so its
 * rounding stays far below a beam score's). Three passes over the row, all SIMD.
 */
export function log_softmax_task(t: i32, thread: i32, rows: i32, c: i32, rowsPerTask: i32, x: usize, out: usize): void {
  const r0 = t * rowsPerTask;
  const r1 = min(rows, r0 + rowsPerTask);
  for (let r = r0; r < r1; r++) {
    const row = (<usize>r * <usize>c) << 2;
    const xr = x + row, yr = out + row;
    let mx = f32x4.splat(-Infinity);
    let j = 0;
    for (; j + 4 <= c; j += 4) mx = f32x4.pmax(mx, v128.load(xr + (<usize>j << 2)));
    let m = max(max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
    for (; j < c; j++) m = max(m, load<f32>(xr + (<usize>j << 2)));
    const m4 = f32x4.splat(m);
    let s4 = f32x4.splat(0);
    j = 0;
    for (; j + 4 <= c; j += 4) s4 = f32x4.add(s4, exp4(f32x4.sub(v128.load(xr + (<usize>j << 2)), m4)));
    let s = hadd(s4);
    for (; j < c; j++) s += f32x4.extract_lane(exp4(f32x4.splat(load<f32>(xr + (<usize>j << 2)) - m)), 0);
    const l = lnPositive(s);
    const l4 = f32x4.splat(l);
    j = 0;
    for (; j + 4 <= c; j += 4) {
      const o = <usize>j << 2;
      v128.store(yr + o, f32x4.sub(f32x4.sub(v128.load(xr + o), m4), l4));
    }
    for (; j < c; j++) {
      const o = <usize>j << 2;
      store<f32>(yr + o, (load<f32>(xr + o) - m) - l);
    }
  }
}

/**
 * Task t of column sums out[j] = Σ_r x[r, j] over an (rows, c) matrix (a linear layer's bias gradient), for
 * columns [t·cols, (t+1)·cols) (cols a multiple of 4). Sixteen columns at a time, so each row contributes
 * one 64-byte cache line per pass; even and odd rows go to separate accumulators (shorter addition chains).
 */
export function colsum_task(t: i32, thread: i32, x: usize, out: usize, rows: i32, c: i32, cols: i32): void {
  const j0 = t * cols;
  const j1 = min(c, j0 + cols);
  const ld = <usize>c << 2;
  let j = j0;
  for (; j + 16 <= j1; j += 16) {
    let p = x + (<usize>j << 2);
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    let r = 0;
    for (; r + 2 <= rows; r += 2) {
      a0 = f32x4.add(a0, v128.load(p));
      a1 = f32x4.add(a1, v128.load(p, 16));
      a2 = f32x4.add(a2, v128.load(p, 32));
      a3 = f32x4.add(a3, v128.load(p, 48));
      b0 = f32x4.add(b0, v128.load(p + ld));
      b1 = f32x4.add(b1, v128.load(p + ld, 16));
      b2 = f32x4.add(b2, v128.load(p + ld, 32));
      b3 = f32x4.add(b3, v128.load(p + ld, 48));
      p += 2 * ld;
    }
    if (r < rows) {
      a0 = f32x4.add(a0, v128.load(p));
      a1 = f32x4.add(a1, v128.load(p, 16));
      a2 = f32x4.add(a2, v128.load(p, 32));
      a3 = f32x4.add(a3, v128.load(p, 48));
    }
    const o = out + (<usize>j << 2);
    v128.store(o, f32x4.add(a0, b0));
    v128.store(o, f32x4.add(a1, b1), 16);
    v128.store(o, f32x4.add(a2, b2), 32);
    v128.store(o, f32x4.add(a3, b3), 48);
  }
  for (; j < j1; j++) {
    let s: f32 = 0;
    let p = x + (<usize>j << 2);
    for (let r = 0; r < rows; r++) {
      s += load<f32>(p);
      p += ld;
    }
    store<f32>(out + (<usize>j << 2), s);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Dropout, and dropout fused with the residual add and layer norm that follow it in a post-LN block

/** [i + seedHash, i + 1 + seedHash, i + 2 + seedHash, i + 3 + seedHash]: the hash inputs of elements i..i+3. */
// @ts-ignore: decorator
@inline function dropIndex4(i: i32, seedHash: i32): v128 {
  return i32x4.add(i32x4.splat(i + seedHash), i32x4(0, 1, 2, 3));
}

/**
 * y = x·mask over this task's elements (element i kept, times 1/(1 − p), by dropKeep4 of i + seedHash).
 * Dropout's forward and backward are this same product (gx = g·mask).
 */
export function dropout_task(
  t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32,
  x: usize, y: usize, threshold: i32, scale: f32, seedHash: i32,
): void {
  const i1 = taskEnd(t, rows, rowsPerTask, cols);
  let i = taskStart(t, rowsPerTask, cols);
  const thr = i32x4.splat(threshold);
  const s4 = f32x4.splat(scale);
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.mul(v128.load(x + o), dropKeep4(dropIndex4(i, seedHash), thr, s4)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(x + o) * f32x4.extract_lane(dropKeep4(i32x4.splat(i + seedHash), thr, s4), 0));
  }
}

/**
 * z = x·mask + res of row r's element j (flat index r·c + j; mask as dropout_task's, or 1 when threshold = 0),
 * four lanes at byte offset o of the row.
 */
// @ts-ignore: decorator
@inline function dropAdd4(x: usize, res: usize, o: usize, idx: i32, threshold: i32, thr: v128, s4: v128, seedHash: i32): v128 {
  const xv = v128.load(x + o);
  const m = threshold != 0 ? f32x4.mul(xv, dropKeep4(dropIndex4(idx, seedHash), thr, s4)) : xv;
  return f32x4.add(m, v128.load(res + o));
}
// @ts-ignore: decorator
@inline function dropAdd(x: usize, res: usize, o: usize, idx: i32, threshold: i32, thr: v128, s4: v128, seedHash: i32): f32 {
  const xv = load<f32>(x + o);
  const m = threshold != 0 ? xv * f32x4.extract_lane(dropKeep4(i32x4.splat(idx + seedHash), thr, s4), 0) : xv;
  return m + load<f32>(res + o);
}

/**
 * "Add & norm" of a post-LN block over this task's rows of c floats: z = dropout(x) + res, y = LN(z) =
 * (z − μ)·r·w + b, with μ and r saved for backward (z is not: backward rebuilds it from x, res and the seed).
 * z is first written into y's row, which the normalization then overwrites in place.
 */
export function add_layernorm_forward_task(
  t: i32, thread: i32, rows: i32, c: i32, rowsPerTask: i32,
  x: usize, res: usize, w: usize, b: usize, y: usize, mean: usize, rstd: usize,
  eps: f32, threshold: i32, scale: f32, seedHash: i32,
): void {
  const r0 = t * rowsPerTask;
  const r1 = min(rows, r0 + rowsPerTask);
  const thr = i32x4.splat(threshold);
  const s4 = f32x4.splat(scale);
  for (let r = r0; r < r1; r++) {
    const row = (<usize>r * <usize>c) << 2;
    const xr = x + row;
    const rr = res + row;
    const yr = y + row;
    const base = r * c;
    // z into y, and Σz
    let a0 = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const o = <usize>j << 2;
      const z = dropAdd4(xr, rr, o, base + j, threshold, thr, s4, seedHash);
      v128.store(yr + o, z);
      a0 = f32x4.add(a0, z);
    }
    let sum = hadd(a0);
    for (; j < c; j++) {
      const o = <usize>j << 2;
      const z = dropAdd(xr, rr, o, base + j, threshold, thr, s4, seedHash);
      store<f32>(yr + o, z);
      sum += z;
    }
    normalizeRow(yr, yr, c, sum / <f32>c, w, b, eps, mean + (<usize>r << 2), rstd + (<usize>r << 2));
  }
}

/**
 * Backward of add_layernorm over this task's rows, with z = dropout(x) + res rebuilt and x̂ = (z − μ)·r:
 *   dz = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), ĝ = g·w  (the residual's gradient; z is first written into gz's
 *   row, then overwritten by dz),  dx = dz·mask (skipped when gx = 0),
 * and this task's partial sums of dw = Σ g·x̂ and db = Σ g at gwPart / gbPart + t·c floats.
 */
export function add_layernorm_backward_task(
  t: i32, thread: i32, rows: i32, c: i32, rowsPerTask: i32,
  x: usize, res: usize, w: usize, mean: usize, rstd: usize, g: usize, gz: usize, gx: usize, gwPart: usize, gbPart: usize,
  threshold: i32, scale: f32, seedHash: i32,
): void {
  const r0 = t * rowsPerTask;
  const r1 = min(rows, r0 + rowsPerTask);
  const gw = gwPart + ((<usize>t * <usize>c) << 2);
  const gb = gbPart + ((<usize>t * <usize>c) << 2);
  memory.fill(gw, 0, <usize>c << 2);
  memory.fill(gb, 0, <usize>c << 2);
  const thr = i32x4.splat(threshold);
  const s4 = f32x4.splat(scale);
  for (let r = r0; r < r1; r++) {
    const row = (<usize>r * <usize>c) << 2;
    const xr = x + row;
    const rr = res + row;
    const gr = g + row;
    const zr = gz + row;
    const base = r * c;
    const mu = load<f32>(mean + (<usize>r << 2));
    const rs = load<f32>(rstd + (<usize>r << 2));
    const m4 = f32x4.splat(mu);
    const r4 = f32x4.splat(rs);
    // One pass: z (kept in gz's row), Σĝ, Σĝ·x̂, and the dw/db partial sums.
    let sg = f32x4.splat(0), sgx = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const o = <usize>j << 2;
      const z = dropAdd4(xr, rr, o, base + j, threshold, thr, s4, seedHash);
      v128.store(zr + o, z);
      const xh = f32x4.mul(f32x4.sub(z, m4), r4);
      const gj = v128.load(gr + o);
      const gh = f32x4.mul(gj, v128.load(w + o));
      sg = f32x4.add(sg, gh);
      sgx = madd(gh, xh, sgx);
      v128.store(gw + o, madd(gj, xh, v128.load(gw + o)));
      v128.store(gb + o, f32x4.add(gj, v128.load(gb + o)));
    }
    let sgs = hadd(sg);
    let sgxs = hadd(sgx);
    for (; j < c; j++) {
      const o = <usize>j << 2;
      const z = dropAdd(xr, rr, o, base + j, threshold, thr, s4, seedHash);
      store<f32>(zr + o, z);
      const xh = (z - mu) * rs;
      const gj = load<f32>(gr + o);
      const gh = gj * load<f32>(w + o);
      sgs += gh;
      sgxs += gh * xh;
      store<f32>(gw + o, load<f32>(gw + o) + gj * xh);
      store<f32>(gb + o, load<f32>(gb + o) + gj);
    }
    // dz = r·ĝ − r·mean(ĝ) − x̂·r·mean(ĝ·x̂), then dx = dz·mask
    const a4 = f32x4.splat(rs * (sgs / <f32>c));
    const cc = rs * (sgxs / <f32>c);
    const c4 = f32x4.splat(cc);
    const a = rs * (sgs / <f32>c);
    const gxr = gx + row;
    j = 0;
    for (; j + 4 <= c; j += 4) {
      const o = <usize>j << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(zr + o), m4), r4);
      const gh = f32x4.mul(v128.load(gr + o), v128.load(w + o));
      const dz = f32x4.sub(f32x4.sub(f32x4.mul(r4, gh), a4), f32x4.mul(xh, c4));
      v128.store(zr + o, dz);
      if (gx != 0) v128.store(gxr + o, threshold != 0 ? f32x4.mul(dz, dropKeep4(dropIndex4(base + j, seedHash), thr, s4)) : dz);
    }
    for (; j < c; j++) {
      const o = <usize>j << 2;
      const xh = (load<f32>(zr + o) - mu) * rs;
      const dz = rs * load<f32>(gr + o) * load<f32>(w + o) - a - xh * cc;
      store<f32>(zr + o, dz);
      if (gx != 0) store<f32>(gxr + o, threshold != 0 ? dz * f32x4.extract_lane(dropKeep4(i32x4.splat(base + j + seedHash), thr, s4), 0) : dz);
    }
  }
}
