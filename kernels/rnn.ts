// One time step of an LSTM or GRU cell, forward and backward, four hidden units at a time: the SIMD twins of
// LSTM_CELL_FORWARD/BACKWARD and GRU_CELL_FORWARD/BACKWARD in src/tensor/ops_rnn.ts (whose `reference` is
// the formula; the tests compare the two). The matmuls of a step (x·W_ihᵀ, h·W_hhᵀ) run in gemm.ts; what is
// left per step is this: add the input and recurrent parts and the biases, three sigmoids and two tanh per
// hidden unit, the cell update, and for backward the chain rule through all of it — one pass over the
// (B, H) block instead of a dozen small ops.
//
// Row-kernel convention (see kernels/elementwise.ts): name_task(t, thread, rows, cols, rowsPerTask,
// ...input pointers, ...output pointers) computes rows [t·rowsPerTask, (t+1)·rowsPerTask); here rows are
// batch entries and cols = H hidden units. Gate operands arrive one (B, H) block per gate; biases are
// 'perCol' (H floats); the mask is 'perRow' (1 = a real step of that sequence, 0 = padding, where the state
// is carried over unchanged and the output is 0).
//
// Addresses are byte offsets into the shared memory (usize); counts are i32.

import { exp4 } from './simd';

/** σ(x) = 1/(1 + e^(−x)) on four lanes (exp4 saturates, so ±∞-ish inputs give exactly 0 or 1). */
// @ts-ignore: decorator
@inline function sigmoid4(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(x))));
}

/**
 * tanh on four lanes as sign(x)·(1 − e)/(1 + e) with e = e^(−2|x|) ≤ 1 (no overflow for any x; absolute
 * error ~2e-7), and the series x − x³/3 + 2x⁵/15 below |x| < 0.05, where 1 − e would lose relative precision.
 */
// @ts-ignore: decorator
@inline function tanh4(x: v128): v128 {
  const one = f32x4.splat(1);
  const ax = f32x4.abs(x);
  const e = exp4(f32x4.mul(f32x4.splat(-2), ax));
  const big = v128.or(f32x4.div(f32x4.sub(one, e), f32x4.add(one, e)), v128.and(x, i32x4.splat(<i32>0x80000000)));
  const x2 = f32x4.mul(x, x);
  const small = f32x4.mul(x, f32x4.add(one, f32x4.mul(x2, f32x4.add(f32x4.splat(-1.0 / 3), f32x4.mul(x2, f32x4.splat(2.0 / 15))))));
  return v128.bitselect(small, big, f32x4.lt(ax, f32x4.splat(0.05)));
}

// Loads and stores of either four lanes or one float (the last H mod 4 units of a row): `scalar` is a
// constant at every call site, so each inlined copy keeps one branch.
// @ts-ignore: decorator
@inline function ld(p: usize, scalar: bool): v128 {
  return scalar ? f32x4.splat(load<f32>(p)) : v128.load(p);
}
// @ts-ignore: decorator
@inline function st(p: usize, v: v128, scalar: bool): void {
  if (scalar) store<f32>(p, f32x4.extract_lane(v, 0));
  else v128.store(p, v);
}

/** One past the last row of task t (its first is t·rowsPerTask). */
// @ts-ignore: decorator
@inline function rowEnd(t: i32, rows: i32, rowsPerTask: i32): i32 { return min(rows, (t + 1) * rowsPerTask); }

// ---------------------------------------------------------------------------------------------------------
// LSTM

/** LSTM forward for the units at byte offset o of the row (ob: the same units in the bias vectors). */
// @ts-ignore: decorator
@inline function lstmForwardAt(
  o: usize, ob: usize, scalar: bool,
  xi: usize, xf: usize, xg: usize, xo: usize, hi: usize, hf: usize, hg: usize, ho: usize,
  bi: usize, bf: usize, bg: usize, bo: usize, cPrev: usize,
  h: usize, c: usize, y: usize, si: usize, sf: usize, sg: usize, so: usize,
): void {
  const i = sigmoid4(f32x4.add(f32x4.add(ld(xi + o, scalar), ld(hi + o, scalar)), ld(bi + ob, scalar)));
  const f = sigmoid4(f32x4.add(f32x4.add(ld(xf + o, scalar), ld(hf + o, scalar)), ld(bf + ob, scalar)));
  const g = tanh4(f32x4.add(f32x4.add(ld(xg + o, scalar), ld(hg + o, scalar)), ld(bg + ob, scalar)));
  const og = sigmoid4(f32x4.add(f32x4.add(ld(xo + o, scalar), ld(ho + o, scalar)), ld(bo + ob, scalar)));
  const cn = f32x4.add(f32x4.mul(f, ld(cPrev + o, scalar)), f32x4.mul(i, g)); // c = f·c_prev + i·g
  const hn = f32x4.mul(og, tanh4(cn)); // h = o·tanh(c)
  st(c + o, cn, scalar);
  st(h + o, hn, scalar);
  st(y + o, hn, scalar);
  st(si + o, i, scalar);
  st(sf + o, f, scalar);
  st(sg + o, g, scalar);
  st(so + o, og, scalar);
}

export function lstm_cell_forward_task(
  t: i32, thread: i32, rows: i32, H: i32, rowsPerTask: i32,
  xi: usize, xf: usize, xg: usize, xo: usize, hi: usize, hf: usize, hg: usize, ho: usize,
  bi: usize, bf: usize, bg: usize, bo: usize, cPrev: usize, hPrev: usize, mask: usize,
  h: usize, c: usize, y: usize, si: usize, sf: usize, sg: usize, so: usize,
): void {
  const r1 = rowEnd(t, rows, rowsPerTask);
  const bytes = <usize>H << 2;
  for (let r = t * rowsPerTask; r < r1; r++) {
    const row = <usize>r * bytes;
    if (load<f32>(mask + (<usize>r << 2)) == 0) {
      // Padding: the state passes through, the output and the saved gates are 0.
      memory.copy(c + row, cPrev + row, bytes);
      memory.copy(h + row, hPrev + row, bytes);
      memory.fill(y + row, 0, bytes);
      memory.fill(si + row, 0, bytes);
      memory.fill(sf + row, 0, bytes);
      memory.fill(sg + row, 0, bytes);
      memory.fill(so + row, 0, bytes);
      continue;
    }
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const ob = <usize>j << 2;
      lstmForwardAt(row + ob, ob, false, xi, xf, xg, xo, hi, hf, hg, ho, bi, bf, bg, bo, cPrev, h, c, y, si, sf, sg, so);
    }
    for (; j < H; j++) {
      const ob = <usize>j << 2;
      lstmForwardAt(row + ob, ob, true, xi, xf, xg, xo, hi, hf, hg, ho, bi, bf, bg, bo, cPrev, h, c, y, si, sf, sg, so);
    }
  }
}

/** LSTM backward for the units at byte offset o (formulas beside LSTM_CELL_BACKWARD). */
// @ts-ignore: decorator
@inline function lstmBackwardAt(
  o: usize, scalar: bool,
  si: usize, sf: usize, sg: usize, so: usize, cPrev: usize, c: usize, dy: usize,
  pi: usize, pf: usize, pg: usize, po: usize, dhPass: usize, dc: usize,
  dai: usize, daf: usize, dag: usize, dao: usize, dcPrev: usize, dhOut: usize,
): void {
  const one = f32x4.splat(1);
  const carried = f32x4.add(f32x4.add(f32x4.add(ld(pi + o, scalar), ld(pf + o, scalar)), f32x4.add(ld(pg + o, scalar), ld(po + o, scalar))), ld(dhPass + o, scalar));
  const dh = f32x4.add(ld(dy + o, scalar), carried);
  const i = ld(si + o, scalar);
  const f = ld(sf + o, scalar);
  const g = ld(sg + o, scalar);
  const og = ld(so + o, scalar);
  const tc = tanh4(ld(c + o, scalar));
  // dc_total = dc + dh·o·(1 − tanh²c)
  const dct = f32x4.add(ld(dc + o, scalar), f32x4.mul(f32x4.mul(dh, og), f32x4.sub(one, f32x4.mul(tc, tc))));
  st(dai + o, f32x4.mul(f32x4.mul(dct, g), f32x4.mul(i, f32x4.sub(one, i))), scalar);
  st(daf + o, f32x4.mul(f32x4.mul(dct, ld(cPrev + o, scalar)), f32x4.mul(f, f32x4.sub(one, f))), scalar);
  st(dag + o, f32x4.mul(f32x4.mul(dct, i), f32x4.sub(one, f32x4.mul(g, g))), scalar);
  st(dao + o, f32x4.mul(f32x4.mul(dh, tc), f32x4.mul(og, f32x4.sub(one, og))), scalar);
  st(dcPrev + o, f32x4.mul(dct, f), scalar);
  st(dhOut + o, f32x4.splat(0), scalar);
}

/** Padding in backward: da = 0, dc passes through, and so does the whole gradient reaching h. */
// @ts-ignore: decorator
@inline function passAt(o: usize, scalar: bool, p0: usize, p1: usize, p2: usize, p3: usize, dhPass: usize, dhOut: usize): void {
  st(dhOut + o, f32x4.add(f32x4.add(f32x4.add(ld(p0 + o, scalar), ld(p1 + o, scalar)), f32x4.add(ld(p2 + o, scalar), ld(p3 + o, scalar))), ld(dhPass + o, scalar)), scalar);
}

export function lstm_cell_backward_task(
  t: i32, thread: i32, rows: i32, H: i32, rowsPerTask: i32,
  si: usize, sf: usize, sg: usize, so: usize, cPrev: usize, c: usize, dy: usize,
  pi: usize, pf: usize, pg: usize, po: usize, dhPass: usize, dc: usize, mask: usize,
  dai: usize, daf: usize, dag: usize, dao: usize, dcPrev: usize, dhOut: usize,
): void {
  const r1 = rowEnd(t, rows, rowsPerTask);
  const bytes = <usize>H << 2;
  for (let r = t * rowsPerTask; r < r1; r++) {
    const row = <usize>r * bytes;
    let j = 0;
    if (load<f32>(mask + (<usize>r << 2)) == 0) {
      memory.fill(dai + row, 0, bytes);
      memory.fill(daf + row, 0, bytes);
      memory.fill(dag + row, 0, bytes);
      memory.fill(dao + row, 0, bytes);
      memory.copy(dcPrev + row, dc + row, bytes);
      for (; j + 4 <= H; j += 4) passAt(row + (<usize>j << 2), false, pi, pf, pg, po, dhPass, dhOut);
      for (; j < H; j++) passAt(row + (<usize>j << 2), true, pi, pf, pg, po, dhPass, dhOut);
      continue;
    }
    for (; j + 4 <= H; j += 4) {
      lstmBackwardAt(row + (<usize>j << 2), false, si, sf, sg, so, cPrev, c, dy, pi, pf, pg, po, dhPass, dc, dai, daf, dag, dao, dcPrev, dhOut);
    }
    for (; j < H; j++) {
      lstmBackwardAt(row + (<usize>j << 2), true, si, sf, sg, so, cPrev, c, dy, pi, pf, pg, po, dhPass, dc, dai, daf, dag, dao, dcPrev, dhOut);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// GRU

/** GRU forward for the units at byte offset o (ob in the biases); formulas beside GRU_CELL_FORWARD. */
// @ts-ignore: decorator
@inline function gruForwardAt(
  o: usize, ob: usize, scalar: bool,
  xr: usize, xz: usize, xn: usize, hr: usize, hz: usize, hnIn: usize, br: usize, bz: usize, bin: usize, bhn: usize, hPrev: usize,
  h: usize, y: usize, sr: usize, sz: usize, sn: usize, shn: usize,
): void {
  const one = f32x4.splat(1);
  const r = sigmoid4(f32x4.add(f32x4.add(ld(xr + o, scalar), ld(hr + o, scalar)), ld(br + ob, scalar)));
  const z = sigmoid4(f32x4.add(f32x4.add(ld(xz + o, scalar), ld(hz + o, scalar)), ld(bz + ob, scalar)));
  const hn = f32x4.add(ld(hnIn + o, scalar), ld(bhn + ob, scalar)); // W_hn h + b_hn
  const n = tanh4(f32x4.add(f32x4.add(ld(xn + o, scalar), ld(bin + ob, scalar)), f32x4.mul(r, hn)));
  const hp = ld(hPrev + o, scalar);
  const hv = f32x4.add(f32x4.mul(f32x4.sub(one, z), n), f32x4.mul(z, hp)); // (1 − z)·n + z·h_prev
  st(h + o, hv, scalar);
  st(y + o, hv, scalar);
  st(sr + o, r, scalar);
  st(sz + o, z, scalar);
  st(sn + o, n, scalar);
  st(shn + o, hn, scalar);
}

export function gru_cell_forward_task(
  t: i32, thread: i32, rows: i32, H: i32, rowsPerTask: i32,
  xr: usize, xz: usize, xn: usize, hr: usize, hz: usize, hnIn: usize, br: usize, bz: usize, bin: usize, bhn: usize,
  hPrev: usize, mask: usize,
  h: usize, y: usize, sr: usize, sz: usize, sn: usize, shn: usize,
): void {
  const r1 = rowEnd(t, rows, rowsPerTask);
  const bytes = <usize>H << 2;
  for (let r = t * rowsPerTask; r < r1; r++) {
    const row = <usize>r * bytes;
    if (load<f32>(mask + (<usize>r << 2)) == 0) {
      memory.copy(h + row, hPrev + row, bytes);
      memory.fill(y + row, 0, bytes);
      memory.fill(sr + row, 0, bytes);
      memory.fill(sz + row, 0, bytes);
      memory.fill(sn + row, 0, bytes);
      memory.fill(shn + row, 0, bytes);
      continue;
    }
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const ob = <usize>j << 2;
      gruForwardAt(row + ob, ob, false, xr, xz, xn, hr, hz, hnIn, br, bz, bin, bhn, hPrev, h, y, sr, sz, sn, shn);
    }
    for (; j < H; j++) {
      const ob = <usize>j << 2;
      gruForwardAt(row + ob, ob, true, xr, xz, xn, hr, hz, hnIn, br, bz, bin, bhn, hPrev, h, y, sr, sz, sn, shn);
    }
  }
}

/** GRU backward for the units at byte offset o (formulas beside GRU_CELL_BACKWARD). */
// @ts-ignore: decorator
@inline function gruBackwardAt(
  o: usize, scalar: bool,
  sr: usize, sz: usize, sn: usize, shn: usize, hPrev: usize, dy: usize, pr: usize, pz: usize, pn: usize, dhPass: usize,
  dar: usize, daz: usize, dan: usize, dghn: usize, dhOut: usize,
): void {
  const one = f32x4.splat(1);
  const carried = f32x4.add(f32x4.add(ld(pr + o, scalar), ld(pz + o, scalar)), f32x4.add(ld(pn + o, scalar), ld(dhPass + o, scalar)));
  const dh = f32x4.add(ld(dy + o, scalar), carried);
  const r = ld(sr + o, scalar);
  const z = ld(sz + o, scalar);
  const n = ld(sn + o, scalar);
  const an = f32x4.mul(f32x4.mul(dh, f32x4.sub(one, z)), f32x4.sub(one, f32x4.mul(n, n))); // dh·(1 − z)·(1 − n²)
  st(dan + o, an, scalar);
  st(dghn + o, f32x4.mul(an, r), scalar);
  st(dar + o, f32x4.mul(f32x4.mul(an, ld(shn + o, scalar)), f32x4.mul(r, f32x4.sub(one, r))), scalar);
  st(daz + o, f32x4.mul(f32x4.mul(dh, f32x4.sub(ld(hPrev + o, scalar), n)), f32x4.mul(z, f32x4.sub(one, z))), scalar);
  st(dhOut + o, f32x4.mul(dh, z), scalar);
}

/** GRU padding in backward: da = 0 and the gradient reaching h passes to h_prev. */
// @ts-ignore: decorator
@inline function gruPassAt(o: usize, scalar: bool, pr: usize, pz: usize, pn: usize, dhPass: usize, dhOut: usize): void {
  st(dhOut + o, f32x4.add(f32x4.add(ld(pr + o, scalar), ld(pz + o, scalar)), f32x4.add(ld(pn + o, scalar), ld(dhPass + o, scalar))), scalar);
}

export function gru_cell_backward_task(
  t: i32, thread: i32, rows: i32, H: i32, rowsPerTask: i32,
  sr: usize, sz: usize, sn: usize, shn: usize, hPrev: usize, dy: usize, pr: usize, pz: usize, pn: usize, dhPass: usize, mask: usize,
  dar: usize, daz: usize, dan: usize, dghn: usize, dhOut: usize,
): void {
  const r1 = rowEnd(t, rows, rowsPerTask);
  const bytes = <usize>H << 2;
  for (let r = t * rowsPerTask; r < r1; r++) {
    const row = <usize>r * bytes;
    let j = 0;
    if (load<f32>(mask + (<usize>r << 2)) == 0) {
      memory.fill(dar + row, 0, bytes);
      memory.fill(daz + row, 0, bytes);
      memory.fill(dan + row, 0, bytes);
      memory.fill(dghn + row, 0, bytes);
      for (; j + 4 <= H; j += 4) gruPassAt(row + (<usize>j << 2), false, pr, pz, pn, dhPass, dhOut);
      for (; j < H; j++) gruPassAt(row + (<usize>j << 2), true, pr, pz, pn, dhPass, dhOut);
      continue;
    }
    for (; j + 4 <= H; j += 4) {
      gruBackwardAt(row + (<usize>j << 2), false, sr, sz, sn, shn, hPrev, dy, pr, pz, pn, dhPass, dar, daz, dan, dghn, dhOut);
    }
    for (; j < H; j++) {
      gruBackwardAt(row + (<usize>j << 2), true, sr, sz, sn, shn, hPrev, dy, pr, pz, pn, dhPass, dar, daz, dan, dghn, dhOut);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Additive attention scores (ADDITIVE_SCORE_FORWARD/BACKWARD in src/tensor/ops_additive.ts): per row of A
// values u = U·h_j + W·s, e = Σ_a v_a·tanh(u_a), keeping t = tanh(u) for backward.

/** Σ of the four lanes. */
// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

export function additive_score_forward_task(t: i32, thread: i32, rows: i32, A: i32, rowsPerTask: i32, u: usize, v: usize, e: usize, th: usize): void {
  const r1 = rowEnd(t, rows, rowsPerTask);
  for (let r = t * rowsPerTask; r < r1; r++) {
    const row = <usize>r * (<usize>A << 2);
    let acc = f32x4.splat(0);
    let a = 0;
    for (; a + 4 <= A; a += 4) {
      const o = <usize>a << 2;
      const x = tanh4(v128.load(u + row + o));
      v128.store(th + row + o, x);
      acc = f32x4.add(acc, f32x4.mul(x, v128.load(v + o)));
    }
    let s = hsum(acc);
    for (; a < A; a++) {
      const o = <usize>a << 2;
      const x = f32x4.extract_lane(tanh4(f32x4.splat(load<f32>(u + row + o))), 0);
      store<f32>(th + row + o, x);
      s += x * load<f32>(v + o);
    }
    store<f32>(e + (<usize>r << 2), s);
  }
}

/** du = g·v·(1 − t²) per row; this task's partial sums of dv = Σ g·t at dvPart + t·A floats. */
export function additive_score_backward_task(t: i32, thread: i32, rows: i32, A: i32, rowsPerTask: i32, th: usize, v: usize, g: usize, du: usize, dvPart: usize): void {
  const r1 = rowEnd(t, rows, rowsPerTask);
  const dv = dvPart + ((<usize>t * <usize>A) << 2);
  memory.fill(dv, 0, <usize>A << 2);
  const one = f32x4.splat(1);
  for (let r = t * rowsPerTask; r < r1; r++) {
    const row = <usize>r * (<usize>A << 2);
    const gr = load<f32>(g + (<usize>r << 2));
    const g4 = f32x4.splat(gr);
    let a = 0;
    for (; a + 4 <= A; a += 4) {
      const o = <usize>a << 2;
      const x = v128.load(th + row + o);
      v128.store(du + row + o, f32x4.mul(f32x4.mul(g4, v128.load(v + o)), f32x4.sub(one, f32x4.mul(x, x))));
      v128.store(dv + o, f32x4.add(v128.load(dv + o), f32x4.mul(g4, x)));
    }
    for (; a < A; a++) {
      const o = <usize>a << 2;
      const x = load<f32>(th + row + o);
      store<f32>(du + row + o, gr * load<f32>(v + o) * (1 - x * x));
      store<f32>(dv + o, load<f32>(dv + o) + gr * x);
    }
  }
}
