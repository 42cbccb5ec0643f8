// Optimizer updates and gradient clipping, four lanes at a time: the SIMD twins of the RowKernels in src/optim (their `reference` is
// the formula, and the tests compare the two). Row-kernel convention (see kernels/elementwise.ts):
//   name_task(t, thread, rows, cols, rowsPerTask, ...input pointers, ...output pointers, ...params)
// An update is an elementwise job (cols = 1) whose outputs are its inputs: a parameter and its moments that
// live in WebAssembly memory are updated where they are.

import { madd } from './simd';

/**
 * AdamW, exactly as torch.optim.AdamW computes it in float32, for this task's elements:
 *   p ← p·decay;  m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·g²;  p ← p − stepSize · m / (√v · invBc2Sqrt + ε)
 * with decay = 1 − lr·λ, stepSize = lr / (1 − β₁ᵗ), invBc2Sqrt = 1 / √(1 − β₂ᵗ).
 * Inputs p, g, m, v; outputs p, m, v (usually the same arrays).
 */
export function adamw_step_task(
  t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32,
  p: usize, g: usize, m: usize, v: usize, pOut: usize, mOut: usize, vOut: usize,
  b1: f32, b2: f32, c1: f32, c2: f32, stepSize: f32, decay: f32, invBc2Sqrt: f32, eps: f32,
): void {
  const i1 = min(rows, (t + 1) * rowsPerTask) * cols;
  let i = t * rowsPerTask * cols;
  const B1 = f32x4.splat(b1), B2 = f32x4.splat(b2), C1 = f32x4.splat(c1), C2 = f32x4.splat(c2);
  const S = f32x4.splat(stepSize), DEC = f32x4.splat(decay), IB = f32x4.splat(invBc2Sqrt), E = f32x4.splat(eps);
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const gi = v128.load(g + o);
    const mi = madd(C1, gi, f32x4.mul(B1, v128.load(m + o)));
    const vi = madd(f32x4.mul(C2, gi), gi, f32x4.mul(B2, v128.load(v + o)));
    const denom = madd(f32x4.sqrt(vi), IB, E);
    v128.store(mOut + o, mi);
    v128.store(vOut + o, vi);
    v128.store(pOut + o, f32x4.sub(f32x4.mul(v128.load(p + o), DEC), f32x4.div(f32x4.mul(S, mi), denom)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    const mi = b1 * load<f32>(m + o) + c1 * gi;
    const vi = b2 * load<f32>(v + o) + c2 * gi * gi;
    store<f32>(mOut + o, mi);
    store<f32>(vOut + o, vi);
    store<f32>(pOut + o, load<f32>(p + o) * decay - (stepSize * mi) / (Mathf.sqrt(vi) * invBc2Sqrt + eps));
  }
}

/**
 * This task's part of Σx² (gradient clipping's squared norm), summed in float64 (two lanes of each four
 * squares at a time) and stored as one float at out + t·4; the caller adds the tasks' parts.
 */
export function sum_squares_task(t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32, x: usize, out: usize): void {
  const i1 = min(rows, (t + 1) * rowsPerTask) * cols;
  let i = t * rowsPerTask * cols;
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  for (; i + 4 <= i1; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
    a0 = f64x2.add(a0, f64x2.mul(lo, lo));
    a1 = f64x2.add(a1, f64x2.mul(hi, hi));
  }
  const a = f64x2.add(a0, a1);
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; i < i1; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    s += v * v;
  }
  store<f32>(out + (<usize>t << 2), <f32>s);
}

/** y = x·s over this task's elements (gradient clipping's rescale; y may be x). */
export function scale_task(t: i32, thread: i32, rows: i32, cols: i32, rowsPerTask: i32, x: usize, y: usize, s: f32): void {
  const i1 = min(rows, (t + 1) * rowsPerTask) * cols;
  let i = t * rowsPerTask * cols;
  const s4 = f32x4.splat(s);
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.mul(v128.load(x + o), s4));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(x + o) * s);
  }
}
