// The time loop of a recurrent layer (LSTM or GRU), forward and backward through time, as one task per
// direction: the SIMD twins of the reference in src/backend/recurrent.ts (which spells out every formula; the
// tests compare the two). src/backend/wasm/recurrent.ts packs W_hh once, lays out a descriptor per direction
// and runs one task per direction on the pool, so a bidirectional layer runs its two directions on two threads
// side by side, each loop on one core with no synchronisation per step. Per step a task does:
//
//   forward   gates_t (B, G·H) += h_{t−1}·W_hhᵀ     (LSTM: gates_t held x·W_ihᵀ + b_ih + b_hh)
//             then one pass over the row: activations, the new state, the output, and the activations saved
//             in place of the pre-activations (backward needs only them)
//   backward  one pass over the row: the gate gradients da_t (B, G·H) from dh = dy_t + the gradient arriving
//             from step t+1, then  dh_{t−1} = da_t·W_hh (+ dh itself on padded rows, where it passes through)
//
// The products are gemm.ts's gemm_task on the calling thread (W_hh packed once per call); what is written here
// is the cell math, four hidden units at a time, with the gates of a row side by side: (i | f | g | o) for the
// LSTM, (r | z | n) for the GRU, H floats each. A padded step (mask 0: past the end of that sequence) carries
// the state over unchanged, outputs 0 and saves zeros.
//
// Addresses are byte offsets into the shared memory (usize); counts are i32. A direction's arrays arrive as a
// descriptor of i32 words (the word order is listed above each task and in src/backend/wasm/recurrent.ts).

import { exp4 } from './simd';
import { gemm_task, MC } from './gemm';

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
// The pieces every sequence task shares

/** Bytes per direction descriptor: DESC_WORDS i32 words (src/backend/wasm/recurrent.ts writes them). */
const DESC_BYTES: usize = 12 * 4;

/** Word w of a descriptor, as an address or a count. */
// @ts-ignore: decorator
@inline function word(d: usize, w: i32): usize {
  return <usize>load<u32>(d + (<usize>w << 2));
}

/**
 * C (m, n) (+)= A (m, k)·B for the packed B at bp, every row tile on this thread: the per-step product of the
 * recurrence (m = B rows, so one or two 128-row tiles). The thread's own gemm scratch keeps the tasks of two
 * directions apart.
 */
// @ts-ignore: decorator
@inline function stepProduct(thread: i32, a: usize, m: i32, n: i32, k: i32, bp: usize, c: usize, accumulate: i32, scratch: usize, scratchStride: i32): void {
  const tiles = (m + MC - 1) / MC;
  for (let mt = 0; mt < tiles; mt++) gemm_task(mt, thread, a, 0, m, n, k, 0, bp, 0, c, accumulate, n, scratch, scratchStride, 0, MC);
}

/** Is row b of step t a real step (mask ≠ 0)? */
// @ts-ignore: decorator
@inline function real(mask: usize, t: i32, B: i32, b: i32): bool {
  return load<f32>(mask + ((<usize>t * <usize>B + <usize>b) << 2)) != 0;
}

// ---------------------------------------------------------------------------------------------------------
// LSTM

/**
 * LSTM forward for the units at byte offset o of a row: g points at the row's gates (i | f | g | o, gb bytes
 * each), holding the pre-activations a_k on entry and the activations on exit.
 *   i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o),  c = f·c_prev + i·g,  h = o·tanh(c)
 */
// @ts-ignore: decorator
@inline function lstmForwardAt(o: usize, scalar: bool, g: usize, gb: usize, cPrev: usize, cNext: usize, hNext: usize, y: usize): void {
  const pi = g + o, pf = pi + gb, pg = pf + gb, po = pg + gb;
  const i = sigmoid4(ld(pi, scalar));
  const f = sigmoid4(ld(pf, scalar));
  const gg = tanh4(ld(pg, scalar));
  const og = sigmoid4(ld(po, scalar));
  const c = f32x4.add(f32x4.mul(f, ld(cPrev + o, scalar)), f32x4.mul(i, gg));
  const h = f32x4.mul(og, tanh4(c));
  st(cNext + o, c, scalar);
  st(hNext + o, h, scalar);
  st(y + o, h, scalar);
  st(pi, i, scalar);
  st(pf, f, scalar);
  st(pg, gg, scalar);
  st(po, og, scalar);
}

/**
 * One LSTM direction forward (task t = direction t). Descriptor words: 0 reverse, 1 packed W_hhᵀ (K = H,
 * N = 4H), 2 mask (T, B), 3 gates (T, B, 4H), 4 h (T+1, B, H), 5 c (T+1, B, H), 6 out (T, B, H).
 * State slots: step t reads slot t and writes t+1 (reverse: reads t+1, writes t).
 */
export function lstm_sequence_forward_task(t: i32, thread: i32, T: i32, B: i32, H: i32, desc: usize, scratch: usize, scratchStride: i32): void {
  const d = desc + <usize>t * DESC_BYTES;
  const reverse = word(d, 0) != 0;
  const whh = word(d, 1), mask = word(d, 2), gates = word(d, 3), h = word(d, 4), c = word(d, 5), out = word(d, 6);
  const hb = <usize>H << 2; // bytes of H floats: one row of a state, one gate of a row of gates
  const state = <usize>B * hb; // one (B, H) slot
  const gRow = hb << 2; // one row of gates: 4H floats
  for (let s = 0; s < T; s++) {
    const tt = reverse ? T - 1 - s : s;
    const prev = <usize>(reverse ? tt + 1 : tt), next = <usize>(reverse ? tt : tt + 1);
    const gt = gates + <usize>tt * <usize>B * gRow;
    stepProduct(thread, h + prev * state, B, 4 * H, H, whh, gt, 1, scratch, scratchStride); // a = x·W_ihᵀ + b + h·W_hhᵀ
    for (let b = 0; b < B; b++) {
      const row = <usize>b * hb;
      const hPrev = h + prev * state + row, hNext = h + next * state + row;
      const cPrev = c + prev * state + row, cNext = c + next * state + row;
      const y = out + <usize>tt * state + row;
      const g = gt + <usize>b * gRow;
      if (!real(mask, tt, B, b)) {
        // Padding: the state passes through, the output and the saved gates are 0.
        memory.copy(hNext, hPrev, hb);
        memory.copy(cNext, cPrev, hb);
        memory.fill(y, 0, hb);
        memory.fill(g, 0, gRow);
        continue;
      }
      let j = 0;
      for (; j + 4 <= H; j += 4) lstmForwardAt(<usize>j << 2, false, g, hb, cPrev, cNext, hNext, y);
      for (; j < H; j++) lstmForwardAt(<usize>j << 2, true, g, hb, cPrev, cNext, hNext, y);
    }
  }
}

/**
 * LSTM backward for the units at byte offset o of a row (formulas in src/backend/recurrent.ts): dh = dy + the
 * gradient reaching h_t; with tc = tanh(c_t), dc_total = dc + dh·o·(1 − tc²):
 *   da_i = dc_total·g·i(1−i), da_f = dc_total·c_prev·f(1−f), da_g = dc_total·i·(1−g²), da_o = dh·tc·o(1−o),
 *   dc_prev = dc_total·f (written over dc), and 0 into x (the product da·W_hh adds the rest).
 */
// @ts-ignore: decorator
@inline function lstmBackwardAt(o: usize, scalar: bool, g: usize, gb: usize, da: usize, cPrev: usize, cNext: usize, dy: usize, dh: usize, dc: usize, x: usize): void {
  const one = f32x4.splat(1);
  const pi = g + o, pf = pi + gb, pg = pf + gb, po = pg + gb;
  const qi = da + o, qf = qi + gb, qg = qf + gb, qo = qg + gb;
  const dhv = f32x4.add(ld(dy + o, scalar), ld(dh + o, scalar));
  const i = ld(pi, scalar), f = ld(pf, scalar), gg = ld(pg, scalar), og = ld(po, scalar);
  const tc = tanh4(ld(cNext + o, scalar));
  const dct = f32x4.add(ld(dc + o, scalar), f32x4.mul(f32x4.mul(dhv, og), f32x4.sub(one, f32x4.mul(tc, tc))));
  st(qi, f32x4.mul(f32x4.mul(dct, gg), f32x4.mul(i, f32x4.sub(one, i))), scalar);
  st(qf, f32x4.mul(f32x4.mul(dct, ld(cPrev + o, scalar)), f32x4.mul(f, f32x4.sub(one, f))), scalar);
  st(qg, f32x4.mul(f32x4.mul(dct, i), f32x4.sub(one, f32x4.mul(gg, gg))), scalar);
  st(qo, f32x4.mul(f32x4.mul(dhv, tc), f32x4.mul(og, f32x4.sub(one, og))), scalar);
  st(dc + o, f32x4.mul(dct, f), scalar);
  st(x + o, f32x4.splat(0), scalar);
}

/**
 * One LSTM direction backward (task t = direction t), steps in the reverse of the forward's order.
 * Descriptor words: 0 reverse, 1 packed W_hh (K = 4H, N = H), 2 mask, 3 gates (the saved activations),
 * 5 c (T+1, B, H), 6 dy (T, B, H), 7 dh (B, H), 8 dc (B, H), 9 dGates (T, B, 4H), 10 x (B, H) scratch,
 * 11 needDh0. dh and dc hold the gradients of the final state on entry and of the initial state on exit (dh
 * only when needDh0: otherwise the last product, which only the initial state's gradient needs, is skipped).
 */
export function lstm_sequence_backward_task(t: i32, thread: i32, T: i32, B: i32, H: i32, desc: usize, scratch: usize, scratchStride: i32): void {
  const d = desc + <usize>t * DESC_BYTES;
  const reverse = word(d, 0) != 0;
  const whh = word(d, 1), mask = word(d, 2), gates = word(d, 3), c = word(d, 5), dy = word(d, 6);
  const dhIn = word(d, 7), dc = word(d, 8), dGates = word(d, 9), xIn = word(d, 10);
  const needDh0 = word(d, 11) != 0;
  const hb = <usize>H << 2;
  const state = <usize>B * hb;
  const gRow = hb << 2;
  let dh = dhIn, x = xIn; // the gradient reaching h_t, and the one being built for h_{t−1}: swapped per step
  for (let s = T - 1; s >= 0; s--) {
    const tt = reverse ? T - 1 - s : s;
    const prev = <usize>(reverse ? tt + 1 : tt), next = <usize>(reverse ? tt : tt + 1);
    const gt = gates + <usize>tt * <usize>B * gRow;
    const dat = dGates + <usize>tt * <usize>B * gRow;
    for (let b = 0; b < B; b++) {
      const row = <usize>b * hb;
      const g = gt + <usize>b * gRow, da = dat + <usize>b * gRow;
      if (!real(mask, tt, B, b)) {
        // Nothing happened at this step: no gate gradient, dc and dh pass to the previous state unchanged.
        memory.fill(da, 0, gRow);
        memory.copy(x + row, dh + row, hb);
        continue;
      }
      const cPrev = c + prev * state + row, cNext = c + next * state + row;
      const dyr = dy + <usize>tt * state + row;
      let j = 0;
      for (; j + 4 <= H; j += 4) lstmBackwardAt(<usize>j << 2, false, g, hb, da, cPrev, cNext, dyr, dh + row, dc + row, x + row);
      for (; j < H; j++) lstmBackwardAt(<usize>j << 2, true, g, hb, da, cPrev, cNext, dyr, dh + row, dc + row, x + row);
    }
    if (s > 0 || needDh0) stepProduct(thread, dat, B, H, 4 * H, whh, x, 1, scratch, scratchStride); // x += da_t·W_hh
    const swap = dh;
    dh = x;
    x = swap;
  }
  if (dh != dhIn) memory.copy(dhIn, dh, state);
}

// ---------------------------------------------------------------------------------------------------------
// GRU

/**
 * GRU forward for the units at byte offset o: g points at the row's gates (r | z | n, gb bytes each) holding
 * the input-side pre-activations (x·W_ihᵀ + b_ih, with b_hr and b_hz folded in) and gh at h_{t−1}·W_hhᵀ.
 *   r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), hn = gh_n + b_hn, n = tanh(gx_n + r·hn), h = (1 − z)·n + z·h_prev
 * r, z, n are saved over the pre-activations, hn at hnOut.
 */
// @ts-ignore: decorator
@inline function gruForwardAt(o: usize, scalar: bool, g: usize, gh: usize, gb: usize, bhn: usize, hPrev: usize, hNext: usize, y: usize, hnOut: usize): void {
  const one = f32x4.splat(1);
  const pr = g + o, pz = pr + gb, pn = pz + gb;
  const qr = gh + o, qz = qr + gb, qn = qz + gb;
  const r = sigmoid4(f32x4.add(ld(pr, scalar), ld(qr, scalar)));
  const z = sigmoid4(f32x4.add(ld(pz, scalar), ld(qz, scalar)));
  const hn = f32x4.add(ld(qn, scalar), ld(bhn + o, scalar));
  const n = tanh4(f32x4.add(ld(pn, scalar), f32x4.mul(r, hn)));
  const h = f32x4.add(f32x4.mul(f32x4.sub(one, z), n), f32x4.mul(z, ld(hPrev + o, scalar)));
  st(hNext + o, h, scalar);
  st(y + o, h, scalar);
  st(hnOut + o, hn, scalar);
  st(pr, r, scalar);
  st(pz, z, scalar);
  st(pn, n, scalar);
}

/**
 * One GRU direction forward (task t = direction t). Descriptor words: 0 reverse, 1 packed W_hhᵀ (K = H,
 * N = 3H), 2 mask, 3 gates (T, B, 3H), 4 h (T+1, B, H), 5 hn (T, B, H), 6 out (T, B, H), 7 b_hn (H),
 * 8 gh (B, 3H) scratch.
 */
export function gru_sequence_forward_task(t: i32, thread: i32, T: i32, B: i32, H: i32, desc: usize, scratch: usize, scratchStride: i32): void {
  const d = desc + <usize>t * DESC_BYTES;
  const reverse = word(d, 0) != 0;
  const whh = word(d, 1), mask = word(d, 2), gates = word(d, 3), h = word(d, 4), hnAll = word(d, 5), out = word(d, 6);
  const bhn = word(d, 7), gh = word(d, 8);
  const hb = <usize>H << 2;
  const state = <usize>B * hb;
  const gRow: usize = 3 * hb;
  for (let s = 0; s < T; s++) {
    const tt = reverse ? T - 1 - s : s;
    const prev = <usize>(reverse ? tt + 1 : tt), next = <usize>(reverse ? tt : tt + 1);
    const gt = gates + <usize>tt * <usize>B * gRow;
    stepProduct(thread, h + prev * state, B, 3 * H, H, whh, gh, 0, scratch, scratchStride); // gh = h·W_hhᵀ
    for (let b = 0; b < B; b++) {
      const row = <usize>b * hb;
      const hPrev = h + prev * state + row, hNext = h + next * state + row;
      const y = out + <usize>tt * state + row;
      const hn = hnAll + <usize>tt * state + row;
      const g = gt + <usize>b * gRow;
      if (!real(mask, tt, B, b)) {
        memory.copy(hNext, hPrev, hb);
        memory.fill(y, 0, hb);
        memory.fill(hn, 0, hb);
        memory.fill(g, 0, gRow);
        continue;
      }
      const q = gh + <usize>b * gRow;
      let j = 0;
      for (; j + 4 <= H; j += 4) gruForwardAt(<usize>j << 2, false, g, q, hb, bhn, hPrev, hNext, y, hn);
      for (; j < H; j++) gruForwardAt(<usize>j << 2, true, g, q, hb, bhn, hPrev, hNext, y, hn);
    }
  }
}

/**
 * GRU backward for the units at byte offset o (formulas in src/backend/recurrent.ts), dh = dy + the gradient
 * reaching h_t:  da_n = dh·(1 − z)·(1 − n²),  da_r = da_n·hn·r(1 − r),  da_z = dh·(h_prev − n)·z(1 − z);
 * the input side gets (da_r, da_z, da_n), the recurrent side (da_r, da_z, da_n·r), and x = dh·z (the direct
 * path h_prev → h; the product dRec·W_hh adds the rest).
 */
// @ts-ignore: decorator
@inline function gruBackwardAt(o: usize, scalar: bool, g: usize, gb: usize, hn: usize, hPrev: usize, dy: usize, dh: usize, da: usize, dr: usize, x: usize): void {
  const one = f32x4.splat(1);
  const dhv = f32x4.add(ld(dy + o, scalar), ld(dh + o, scalar));
  const pr = g + o;
  const r = ld(pr, scalar), z = ld(pr + gb, scalar), n = ld(pr + 2 * gb, scalar);
  const an = f32x4.mul(f32x4.mul(dhv, f32x4.sub(one, z)), f32x4.sub(one, f32x4.mul(n, n)));
  const ar = f32x4.mul(f32x4.mul(an, ld(hn + o, scalar)), f32x4.mul(r, f32x4.sub(one, r)));
  const az = f32x4.mul(f32x4.mul(dhv, f32x4.sub(ld(hPrev + o, scalar), n)), f32x4.mul(z, f32x4.sub(one, z)));
  const qa = da + o, qr = dr + o;
  st(qa, ar, scalar);
  st(qa + gb, az, scalar);
  st(qa + 2 * gb, an, scalar);
  st(qr, ar, scalar);
  st(qr + gb, az, scalar);
  st(qr + 2 * gb, f32x4.mul(an, r), scalar);
  st(x + o, f32x4.mul(dhv, z), scalar);
}

/**
 * One GRU direction backward (task t = direction t). Descriptor words: 0 reverse, 1 packed W_hh (K = 3H,
 * N = H), 2 mask, 3 gates (saved r, z, n), 4 h (T+1, B, H), 5 hn (T, B, H), 6 dy, 7 dh (B, H), 8 dRec
 * (T, B, 3H), 9 dGates (T, B, 3H), 10 x (B, H) scratch, 11 needDh0 (as for the LSTM).
 */
export function gru_sequence_backward_task(t: i32, thread: i32, T: i32, B: i32, H: i32, desc: usize, scratch: usize, scratchStride: i32): void {
  const d = desc + <usize>t * DESC_BYTES;
  const reverse = word(d, 0) != 0;
  const whh = word(d, 1), mask = word(d, 2), gates = word(d, 3), h = word(d, 4), hnAll = word(d, 5), dy = word(d, 6);
  const dhIn = word(d, 7), dRec = word(d, 8), dGates = word(d, 9), xIn = word(d, 10);
  const needDh0 = word(d, 11) != 0;
  const hb = <usize>H << 2;
  const state = <usize>B * hb;
  const gRow: usize = 3 * hb;
  let dh = dhIn, x = xIn;
  for (let s = T - 1; s >= 0; s--) {
    const tt = reverse ? T - 1 - s : s;
    const prev = <usize>(reverse ? tt + 1 : tt);
    const gt = gates + <usize>tt * <usize>B * gRow;
    const dat = dGates + <usize>tt * <usize>B * gRow;
    const drt = dRec + <usize>tt * <usize>B * gRow;
    for (let b = 0; b < B; b++) {
      const row = <usize>b * hb;
      const da = dat + <usize>b * gRow, dr = drt + <usize>b * gRow;
      if (!real(mask, tt, B, b)) {
        memory.fill(da, 0, gRow);
        memory.fill(dr, 0, gRow);
        memory.copy(x + row, dh + row, hb);
        continue;
      }
      const g = gt + <usize>b * gRow;
      const hPrev = h + prev * state + row;
      const hn = hnAll + <usize>tt * state + row;
      const dyr = dy + <usize>tt * state + row;
      let j = 0;
      for (; j + 4 <= H; j += 4) gruBackwardAt(<usize>j << 2, false, g, hb, hn, hPrev, dyr, dh + row, da, dr, x + row);
      for (; j < H; j++) gruBackwardAt(<usize>j << 2, true, g, hb, hn, hPrev, dyr, dh + row, da, dr, x + row);
    }
    if (s > 0 || needDh0) stepProduct(thread, drt, B, H, 3 * H, whh, x, 1, scratch, scratchStride); // x += dRec_t·W_hh
    const swap = dh;
    dh = x;
    x = swap;
  }
  if (dh != dhIn) memory.copy(dhIn, dh, state);
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
