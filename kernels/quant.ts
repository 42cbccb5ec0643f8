// Quantised weights times float activations, for inference: the kernels behind Backend.quantizedMatmul.
//
// Shape letters: M rows of activations (tokens), N outputs (rows of the stored weight), K inputs.
//
// A quantised weight W is stored as N rows of K weights (one output per row, its K inputs contiguous; the
// layout of torch.nn.Linear, whatever layout the float weight had), with float32 scales (N, G), G = K / g:
//   int8  one signed byte per weight: row j is K bytes, q ∈ [−127, 127]
//   int4  two weights per byte: byte i of a row holds weight 2i in its low nibble and weight 2i + 1 in its high
//         nibble, each stored as u = q + 8 ∈ [0, 15]; row j is K/2 bytes
//   weight (j, k) = scale[j, ⌊k / g⌋] · q[j, k]        (g = K: one scale per row, "per output channel")
// src/quant/format.ts writes these; docs there say why the sizes are what they are.
//
// Why integers. Generating one token reads every weight once and does 2 flops with it, so the time is how fast
// W streams from memory: int8 is a quarter of float32's bytes, int4 an eighth. The multiply must keep up with
// that stream without expanding W to floats in memory. Converting each weight to float in registers costs ~5
// instructions per 4 weights (two widenings, a conversion, the multiply-add); an integer dot product costs
// less: i32x4.dot_i16x8_s multiplies 8 pairs of 16-bit integers and adds them pairwise into 4 sums in one
// instruction, and relaxed SIMD's i16x8.relaxed_dot_i8x16_i7x16_s does 16 products of a signed byte and a
// 7-bit one (0..127) and adds them pairwise, in one.
//
// So each row of activations is quantised too, on the fly, in blocks of B = 32 values (quant_act_task):
//   s_b = max_{k∈b} |a_k| / 127,   â_k = round(a_k / s_b) ∈ [−127, 127]          (a_k ≈ s_b·â_k)
// and a row of the product is a sum of exact integer dot products, one per block, each scaled once:
//   y_j = Σ_g scale[j, g] · Σ_{b∈g} s_b · (Σ_{k∈b} q_jk·â_k)
// One scale per block of 32 (not per row) keeps a single large activation from flattening the others to zero:
// GPT-2's hidden states have a few channels far larger than the rest (the observation behind LLM.int8()), and
// llama.cpp's Q8_0 activations use the same 32-value blocks. The rounding error this adds is at most s_b/2 per
// activation, within the quality bounds the tests and src/quant state.
//
// int8 weights on the relaxed build: the relaxed dot needs one operand in 0..127, and an int8 weight is not. The
// activations are made to fit instead: rounded to a 7-bit grid (s_b = max |a_k| / 63, â_k ∈ [−63, 63]) and stored
// as v_k = â_k + 64 ∈ [1, 127]; the +64 comes back out per block against the same weights:
//   Σ_k q_k·â_k = Σ_k q_k·v_k − Σ_k q_k·64        (two relaxed dots per 16 weights, on registers only)
// Both dots' pairwise int16 sums are below 2·127·127 < 2^15, and their difference below 2·127·63, so the two
// halves of a block still add in int16 (wrapping arithmetic, and the true total fits). This does the block's
// products in 7 instructions where widening to int16 takes 11, and it moved GPT-2 124M's int8 decoding products
// from ~19 to ~24 GB/s of weights on one thread; the price is half a bit of activation precision (the rounding
// error is s_b/2 with s_b = max/63 instead of max/127), well inside the quality bounds of src/quant.
//
// int4 weights enter the dot product as their stored u = q + 8 (a 7-bit operand, 0..15, which is exactly what
// the relaxed dot wants), and the +8 is taken back from the activations alone, Σ_k q_k·â_k = Σ_k u_k·â_k − 8·Σ_k â_k:
//   relaxed build: in each block's int16 sums, against K_i = 8·(â_4i + … + â_4i+3) per lane (nibbleSums);
//   baseline build: once per weight group, y_j,g = Σ_b s_b·(Σ u·â) − C_g,  C_g = 8·Σ_{b∈g} s_b·Σ_{k∈b} â_k.
// Neither K nor C_g depends on j: quant_act_task computes them once per row of activations.
//
// The nibble order (2i low, 2i + 1 high) means the low nibbles of 16 bytes are the even-numbered weights of a
// block of 32 and the high nibbles the odd ones. Rather than shuffle every weight back into order, the
// activations (32 values, done once per row) are stored in the same order: the 16 even-numbered ones, then the
// 16 odd-numbered ones.
//
// Addresses are byte offsets into the shared WebAssembly memory (usize); sizes and indices are i32.

import { hsum4, madd } from './simd';

/** Activations are quantised in blocks of this many values; K is padded with zeros to a multiple of it. */
export const QUANT_BLOCK: i32 = 32;

// ---------------------------------------------------------------------------------------------------------
// Quantising the activations

/**
 * Task r: quantise row r of a (m, kp) (float32, rows padded with zeros to kp, a multiple of 32) for a product
 * with `bits`-bit weights whose scales cover `groupSize` inputs:
 *   aq   the quantised values, 2·kp bytes per row: for int8 weights, int16 in natural order on the baseline
 *        build, and â + 64 as bytes on the relaxed build (a 7-bit grid, see the top of this file; kp bytes used);
 *        for int4 weights each block of 32 as its 16 even-numbered values then its 16 odd-numbered ones — as
 *        int8 in the relaxed build, followed by the block's K (8 int16, see nibbleSums) and 16 unused bytes, as
 *        int16 in the baseline build;
 *   as   (m, kp/32) float32: the block scales s_b;
 *   ac   (m, kp/groupSize) float32, int4 on the baseline build only: the corrections C_g = 8·Σ_{b∈g} s_b·Σ_{k∈b} â_k.
 */
export function quant_act_task(t: i32, thread: i32, a: usize, m: i32, kp: i32, bits: i32, groupSize: i32, aq: usize, as: usize, ac: usize): void {
  if (t >= m) return;
  const nb = kp / QUANT_BLOCK;
  const row = a + ((<usize>t * <usize>kp) << 2);
  const qRow = aq + ((<usize>t * <usize>kp) << 1);
  const sRow = as + ((<usize>t * <usize>nb) << 2);
  const blocksPerGroup = groupSize / QUANT_BLOCK;
  const cRow = ac + ((<usize>t * <usize>(kp / groupSize)) << 2);
  let corr: f32 = 0;
  for (let b = 0; b < nb; b++) {
    const p = row + (<usize>b << 7); // 32 floats = 128 bytes
    const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
    const v4 = v128.load(p, 64), v5 = v128.load(p, 80), v6 = v128.load(p, 96), v7 = v128.load(p, 112);
    // max |a| over the block: eight lanes-wise maxima, then across the four lanes
    const m01 = f32x4.pmax(f32x4.abs(v0), f32x4.abs(v1));
    const m23 = f32x4.pmax(f32x4.abs(v2), f32x4.abs(v3));
    const m45 = f32x4.pmax(f32x4.abs(v4), f32x4.abs(v5));
    const m67 = f32x4.pmax(f32x4.abs(v6), f32x4.abs(v7));
    const mx = f32x4.pmax(f32x4.pmax(m01, m23), f32x4.pmax(m45, m67));
    const amax = max(max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
    // the grid: ±127 steps, or ±63 where int8 weights meet the relaxed dot (see the top of this file)
    const top: f32 = ASC_FEATURE_RELAXED_SIMD && bits == 8 ? 63 : 127;
    const s: f32 = amax > 0 ? amax / top : 0;
    const inv = f32x4.splat(amax > 0 ? top / amax : 0);
    store<f32>(sRow + (<usize>b << 2), s);
    // â = round(a / s), to nearest (ties to even); |â| ≤ top by construction
    const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v0, inv)));
    const q1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v1, inv)));
    const q2 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v2, inv)));
    const q3 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v3, inv)));
    const q4 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v4, inv)));
    const q5 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v5, inv)));
    const q6 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v6, inv)));
    const q7 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v7, inv)));
    const h0 = i16x8.narrow_i32x4_s(q0, q1); // â0..â7 as int16
    const h1 = i16x8.narrow_i32x4_s(q2, q3); // â8..â15
    const h2 = i16x8.narrow_i32x4_s(q4, q5); // â16..â23
    const h3 = i16x8.narrow_i32x4_s(q6, q7); // â24..â31
    if (bits == 8 && ASC_FEATURE_RELAXED_SIMD) {
      const d = qRow + (<usize>b << 6); // 32 bytes used of the row's 64
      const off = i8x16.splat(64);
      v128.store(d, i8x16.add(i8x16.narrow_i16x8_s(h0, h1), off));
      v128.store(d, i8x16.add(i8x16.narrow_i16x8_s(h2, h3), off), 16);
      continue;
    }
    if (bits == 8) {
      const d = qRow + (<usize>b << 6); // 32 int16 = 64 bytes
      v128.store(d, h0);
      v128.store(d, h1, 16);
      v128.store(d, h2, 32);
      v128.store(d, h3, 48);
      continue;
    }
    // int4: the even-numbered values of the block, then the odd-numbered ones
    const e0 = i16x8.shuffle(h0, h1, 0, 2, 4, 6, 8, 10, 12, 14); // â0, â2, …, â14
    const e1 = i16x8.shuffle(h2, h3, 0, 2, 4, 6, 8, 10, 12, 14); // â16, …, â30
    const o0 = i16x8.shuffle(h0, h1, 1, 3, 5, 7, 9, 11, 13, 15); // â1, …, â15
    const o1 = i16x8.shuffle(h2, h3, 1, 3, 5, 7, 9, 11, 13, 15); // â17, …, â31
    if (ASC_FEATURE_RELAXED_SIMD) {
      // 64 bytes per block: the evens and odds as int8, then the +8 correction of each int16 lane of the dot
      // products (see nibbleSums): lane i covers inputs 4i … 4i+3, so K_i = 8·(â_4i + … + â_4i+3), |K_i| ≤ 4064
      const d = qRow + (<usize>b << 6);
      v128.store(d, i8x16.narrow_i16x8_s(e0, e1));
      v128.store(d, i8x16.narrow_i16x8_s(o0, o1), 16);
      const s01 = i32x4.extadd_pairwise_i16x8_s(i16x8.narrow_i32x4_s(i32x4.extadd_pairwise_i16x8_s(h0), i32x4.extadd_pairwise_i16x8_s(h1)));
      const s23 = i32x4.extadd_pairwise_i16x8_s(i16x8.narrow_i32x4_s(i32x4.extadd_pairwise_i16x8_s(h2), i32x4.extadd_pairwise_i16x8_s(h3)));
      v128.store(d, i16x8.shl(i16x8.narrow_i32x4_s(s01, s23), 3), 32);
      continue;
    } else {
      const d = qRow + (<usize>b << 6); // 32 int16
      v128.store(d, e0);
      v128.store(d, e1, 16);
      v128.store(d, o0, 32);
      v128.store(d, o1, 48);
    }
    // Σ â over the block, for the +8 correction of this weight group
    const sum4 = i32x4.add(i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)), i32x4.add(i32x4.add(q4, q5), i32x4.add(q6, q7)));
    const sum = i32x4.extract_lane(sum4, 0) + i32x4.extract_lane(sum4, 1) + i32x4.extract_lane(sum4, 2) + i32x4.extract_lane(sum4, 3);
    corr += 8 * s * <f32>sum;
    if ((b + 1) % blocksPerGroup == 0) {
      store<f32>(cRow + (<usize>((b + 1) / blocksPerGroup - 1) << 2), corr);
      corr = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// A few rows of activations: stream W once, integer dot products

/**
 * Task t of C = A·Wᵀ (+ bias) for m ≤ 4 rows of A already quantised by quant_act_task: rows
 * [t·rowsPerTask, …) of W, i.e. those columns of C, for every row of A.
 *   w: the weight rows (rowBytes apart); scales (N, groups); groupSize: inputs per scale (a multiple of 32);
 *   aq, as, ac: quant_act_task's results for kp inputs (kp = groups·groupSize rounded up to 32);
 *   c: C (m, n) float32, contiguous; bias: 0 or n floats.
 * For int8 weights with K not a multiple of 32 the last block of a row reads up to 31 bytes past it (into
 * the next row, or the slack the caller allocates after the last): those bytes meet activations that are
 * zero, so they add exactly 0.
 */
export function qgemv_task(
  t: i32, thread: i32,
  bits: i32, m: i32, kp: i32, n: i32, w: usize, rowBytes: i32, scales: usize, groups: i32, groupSize: i32,
  aq: usize, as: usize, ac: usize, c: usize, bias: usize, rowsPerTask: i32,
): void {
  const j0 = t * rowsPerTask;
  const j1 = min(n, j0 + rowsPerTask);
  const nb = kp / QUANT_BLOCK;
  const bpg = groupSize / QUANT_BLOCK;
  const aStride = <usize>kp << 1; // bytes between rows of aq
  const sStride = <usize>nb << 2; // bytes between rows of as
  const cStride = <usize>groups << 2; // bytes between rows of ac
  let j = j0;
  if (m == 1 && bits == 8) {
    // Decoding, int8: one weight row at a time, so W is read as one contiguous stream. Four rows side by side
    // (four streams 1·K bytes apart, each read 32 bytes at a time) ran at half the speed from memory on one
    // thread (GPT-2 124M's 48 layer products: ~11 GB/s against ~20), though as fast when W was in cache:
    // the hardware prefetcher follows one stream well and four interleaved ones poorly (the float32 product
    // in gemm.ts found the same).
    for (; j < j1; j++) {
      const y = oneRowInt8(w + <usize>j * <usize>rowBytes, scales + ((<usize>j * <usize>groups) << 2), groups, bpg, aq, as);
      store<f32>(c + (<usize>j << 2), bias != 0 ? y + load<f32>(bias + (<usize>j << 2)) : y);
    }
    return;
  }
  if (m == 1 && ASC_FEATURE_RELAXED_SIMD) {
    // Decoding, int4, relaxed build: one row at a time too. Four rows side by side do fewer instructions
    // (2.9 against 3.7 ms for GPT-2 124M's 48 layer products with W in cache) but read W from memory at
    // ~9 GB/s against ~11, and two rows ~8.5: from memory, one stream wins.
    for (; j < j1; j++) {
      const y = oneRowInt4(w + <usize>j * <usize>rowBytes, scales + ((<usize>j * <usize>groups) << 2), groups * bpg, bpg, aq, as);
      store<f32>(c + (<usize>j << 2), bias != 0 ? y + load<f32>(bias + (<usize>j << 2)) : y);
    }
    return;
  }
  if (m == 1) {
    // Decoding, int4, baseline build: four weight rows at a time (the activations, widened to int16, are
    // loaded once for the four); this build's int4 products are bound by their arithmetic, not by memory.
    for (; j + 4 <= j1; j += 4) {
      const wRow = w + <usize>j * <usize>rowBytes;
      const sRow = scales + ((<usize>j * <usize>groups) << 2);
      const y = fourRowsInt4(wRow, <usize>rowBytes, sRow, groups, bpg, aq, as, ac);
      const o = c + (<usize>j << 2);
      v128.store(o, bias != 0 ? f32x4.add(y, v128.load(bias + (<usize>j << 2))) : y);
    }
  }
  for (; j < j1; j++) {
    const wRow = w + <usize>j * <usize>rowBytes;
    const sRow = scales + ((<usize>j * <usize>groups) << 2);
    const y = bits == 8
      ? rowInt8(m, wRow, sRow, groups, bpg, aq, aStride, as, sStride)
      : rowInt4(m, wRow, sRow, groups, bpg, aq, aStride, as, sStride, ac, cStride);
    const bj: f32 = bias != 0 ? load<f32>(bias + (<usize>j << 2)) : 0;
    const o = c + (<usize>j << 2);
    const ld = <usize>n << 2;
    store<f32>(o, f32x4.extract_lane(y, 0) + bj);
    if (m > 1) store<f32>(o + ld, f32x4.extract_lane(y, 1) + bj);
    if (m > 2) store<f32>(o + 2 * ld, f32x4.extract_lane(y, 2) + bj);
    if (m > 3) store<f32>(o + 3 * ld, f32x4.extract_lane(y, 3) + bj);
  }
}

/**
 * One int8 weight row against one row of activations: y_j. Two blocks per step into two float sums, so that
 * consecutive blocks' multiply-adds do not wait for each other.
 */
function oneRowInt8(wRow: usize, sRow: usize, groups: i32, bpg: i32, aq: usize, as: usize): f32 {
  let t = f32x4.splat(0);
  let b = 0;
  for (let g = 0; g < groups; g++) {
    let a0 = f32x4.splat(0), a1 = a0;
    let bb = 0;
    for (; bb + 2 <= bpg; bb += 2, b += 2) {
      const ap = aq + (<usize>b << 6); // 64 bytes per block: 32 int16, or 32 bytes used on the relaxed build
      const wp = wRow + (<usize>b << 5); // 32 int8 per block
      const sp = as + (<usize>b << 2);
      a0 = madd(f32x4.convert_i32x4_s(blockInt8(wp, ap)), v128.load32_splat(sp), a0);
      a1 = madd(f32x4.convert_i32x4_s(blockInt8(wp + 32, ap + 64)), v128.load32_splat(sp + 4), a1);
    }
    if (bb < bpg) {
      a0 = madd(f32x4.convert_i32x4_s(blockInt8(wRow + (<usize>b << 5), aq + (<usize>b << 6))), v128.load32_splat(as + (<usize>b << 2)), a0);
      b++;
    }
    t = madd(f32x4.add(a0, a1), v128.load32_splat(sRow + (<usize>g << 2)), t);
  }
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1) + f32x4.extract_lane(t, 2) + f32x4.extract_lane(t, 3);
}

/** The 32 int8 weights at wp against a block of activations at ap as quant_act_task stored it: four partial sums. */
// @ts-ignore: decorator
@inline function blockInt8(wp: usize, ap: usize): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const v0 = v128.load(wp), v1 = v128.load(wp, 16);
    const off = i8x16.splat(64);
    // Σ q·(â + 64) − Σ q·64 per pair of neighbours, both halves of the block added in int16 (see the top of the file)
    const d = i16x8.sub(
      i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v0, v128.load(ap)), i16x8.relaxed_dot_i8x16_i7x16_s(v1, v128.load(ap, 16))),
      i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v0, off), i16x8.relaxed_dot_i8x16_i7x16_s(v1, off)),
    );
    return i32x4.extadd_pairwise_i16x8_s(d);
  }
  return dotInt8(wp, v128.load(ap), v128.load(ap, 16), v128.load(ap, 32), v128.load(ap, 48));
}

/** The 32 int8 weights at wp against 32 int16 activations (x0..x3): four partial sums. */
// @ts-ignore: decorator
@inline function dotInt8(wp: usize, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const v0 = v128.load(wp);
  const v1 = v128.load(wp, 16);
  const d01 = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v0), x0), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v0), x1));
  const d23 = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v1), x2), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v1), x3));
  return i32x4.add(d01, d23);
}

/**
 * Relaxed build: one int4 weight row against one row of activations, so that W is read as one stream (as
 * oneRowInt8), two blocks per step into two sums. Each block's scale is s_b times its group's weight scale.
 */
function oneRowInt4(wRow: usize, sRow: usize, nb: i32, bpg: i32, aq: usize, as: usize): f32 {
  let t0 = f32x4.splat(0), t1 = t0;
  if (!ASC_FEATURE_RELAXED_SIMD) return 0;
  let gp = sRow; // the weight scale of the next block's group
  let gi = 0; // that block's position in its group
  let b = 0;
  for (; b + 2 <= nb; b += 2) {
    const ap = aq + (<usize>b << 6);
    const sp = as + (<usize>b << 2);
    const s0 = f32x4.mul(v128.load32_splat(sp), v128.load32_splat(gp));
    if (++gi == bpg) {
      gi = 0;
      gp += 4;
    }
    const s1 = f32x4.mul(v128.load32_splat(sp, 4), v128.load32_splat(gp));
    if (++gi == bpg) {
      gi = 0;
      gp += 4;
    }
    const wp = wRow + (<usize>b << 4);
    t0 = madd(f32x4.convert_i32x4_s(i32x4.extadd_pairwise_i16x8_s(blockInt4(wp, ap))), s0, t0);
    t1 = madd(f32x4.convert_i32x4_s(i32x4.extadd_pairwise_i16x8_s(blockInt4(wp + 16, ap + 64))), s1, t1);
  }
  if (b < nb) {
    const s0 = f32x4.mul(v128.load32_splat(as + (<usize>b << 2)), v128.load32_splat(gp));
    t0 = madd(f32x4.convert_i32x4_s(i32x4.extadd_pairwise_i16x8_s(blockInt4(wRow + (<usize>b << 4), aq + (<usize>b << 6)))), s0, t0);
  }
  const t = f32x4.add(t0, t1);
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1) + f32x4.extract_lane(t, 2) + f32x4.extract_lane(t, 3);
}

/** Relaxed build: a block's 32 int4 weights (16 bytes at wp) against its activations at ap (see nibbleSums). */
// @ts-ignore: decorator
@inline function blockInt4(wp: usize, ap: usize): v128 {
  const v = v128.load(wp);
  const nibble = i8x16.splat(0x0f);
  return nibbleSums(v128.and(v, nibble), v128.and(i16x8.shr_u(v, 4), nibble), ap); // x86 has no 8-bit shift
}

/**
 * Relaxed build: Σ q·â over a block as eight int16 sums, from the block's low nibbles (u of the even-numbered
 * weights, 0..15: the relaxed dot's 7-bit operand) against the 16 even-numbered activations at ap, and its high
 * nibbles against the 16 odd ones at ap + 16. Each dot adds neighbouring products, so lane i of the two dots'
 * sum covers inputs 4i … 4i+3 (|Σ u·â| ≤ 4·15·127 = 7620); less K_i = 8·(â_4i + … + â_4i+3), which
 * quant_act_task stored at ap + 32, lane i is Σ (u − 8)·â = Σ q·â, |·| ≤ 4·8·127 = 4064. (The one-instruction
 * i32x4.relaxed_dot_i8x16_i7x16_add_s would save the int16 add, but Node 20's V8 returns twice the sum for it on
 * this x86-64 machine, while its i16x8 form is right.)
 */
// @ts-ignore: decorator
@inline function nibbleSums(lo: v128, hi: v128, ap: usize): v128 {
  const d = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(ap), lo), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(ap, 16), hi));
  return i16x8.sub(d, v128.load(ap, 32));
}

/**
 * Baseline build, decoding int4: four weight rows (ld bytes apart) against one row of activations:
 * [y_j, …, y_j+3], each group's correction C_g subtracted (it is the same for every row, times the row's
 * scale). The activations (widened to int16 by quant_act_task) are loaded once for the four rows.
 */
function fourRowsInt4(w0: usize, ld: usize, sRow: usize, groups: i32, bpg: i32, aq: usize, as: usize, ac: usize): v128 {
  const w1 = w0 + ld, w2 = w1 + ld, w3 = w2 + ld;
  const sStride = <usize>groups << 2;
  let t0 = f32x4.splat(0), t1 = t0, t2 = t0, t3 = t0;
  let corr = f32x4.splat(0); // [Σ_g s_j,g·C_g, …] for the four rows
  let b = 0;
  for (let g = 0; g < groups; g++) {
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let bb = 0; bb < bpg; bb++, b++) {
      const sa = v128.load32_splat(as + (<usize>b << 2));
      const o = <usize>b << 4;
      const ap = aq + (<usize>b << 6);
      const x0 = v128.load(ap), x1 = v128.load(ap, 16), x2 = v128.load(ap, 32), x3 = v128.load(ap, 48);
      a0 = madd(f32x4.convert_i32x4_s(dotInt4(w0 + o, x0, x1, x2, x3)), sa, a0);
      a1 = madd(f32x4.convert_i32x4_s(dotInt4(w1 + o, x0, x1, x2, x3)), sa, a1);
      a2 = madd(f32x4.convert_i32x4_s(dotInt4(w2 + o, x0, x1, x2, x3)), sa, a2);
      a3 = madd(f32x4.convert_i32x4_s(dotInt4(w3 + o, x0, x1, x2, x3)), sa, a3);
    }
    const so = sRow + (<usize>g << 2);
    const s0 = v128.load32_splat(so), s1 = v128.load32_splat(so + sStride), s2 = v128.load32_splat(so + 2 * sStride), s3 = v128.load32_splat(so + 3 * sStride);
    t0 = madd(a0, s0, t0);
    t1 = madd(a1, s1, t1);
    t2 = madd(a2, s2, t2);
    t3 = madd(a3, s3, t3);
    // [s0, s1, s2, s3] · C_g
    const sv = f32x4.shuffle(f32x4.shuffle(s0, s1, 0, 4, 0, 4), f32x4.shuffle(s2, s3, 0, 4, 0, 4), 0, 1, 4, 5);
    corr = madd(sv, v128.load32_splat(ac + (<usize>g << 2)), corr);
  }
  return f32x4.sub(hsum4(t0, t1, t2, t3), corr);
}

/** Baseline build: the 32 int4 weights at wp widened to int16 against the int16 activations (evens x0 x1, odds x2 x3). */
// @ts-ignore: decorator
@inline function dotInt4(wp: usize, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const v = v128.load(wp);
  const nibble = i8x16.splat(0x0f);
  const lo = v128.and(v, nibble);
  const hi = v128.and(i16x8.shr_u(v, 4), nibble);
  const d01 = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo), x0), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo), x1));
  const d23 = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi), x2), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi), x3));
  return i32x4.add(d01, d23);
}

/** Σ of the 32 products of a block: 4 widened weight vectors (int16) against 32 int16 activations at ap. */
// @ts-ignore: decorator
@inline function dot32(w0: v128, w1: v128, w2: v128, w3: v128, ap: usize): v128 {
  const d01 = i32x4.add(i32x4.dot_i16x8_s(w0, v128.load(ap)), i32x4.dot_i16x8_s(w1, v128.load(ap, 16)));
  const d23 = i32x4.add(i32x4.dot_i16x8_s(w2, v128.load(ap, 32)), i32x4.dot_i16x8_s(w3, v128.load(ap, 48)));
  return i32x4.add(d01, d23); // four partial sums; their total is the block's dot product
}

/**
 * One int8 weight row against m ≤ 4 rows of activations: lane r of the result is y_r. Per block, the 32 weights
 * are loaded (and on the baseline build widened to int16) once and used for every row; the block's integer sums
 * are scaled by s_b into float accumulators, and those by the weight scale at the end of each group.
 */
function rowInt8(m: i32, wRow: usize, sRow: usize, groups: i32, bpg: i32, aq: usize, aStride: usize, as: usize, sStride: usize): v128 {
  let t0 = f32x4.splat(0), t1 = t0, t2 = t0, t3 = t0;
  let b = 0;
  for (let g = 0; g < groups; g++) {
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let bb = 0; bb < bpg; bb++, b++) {
      const wp = wRow + (<usize>b << 5);
      const v0 = v128.load(wp);
      const v1 = v128.load(wp, 16);
      const ap = aq + (<usize>b << 6);
      const sp = as + (<usize>b << 2);
      if (ASC_FEATURE_RELAXED_SIMD) {
        // the weights' side of the +64 offset (Σ q·64 per pair), once for every row of activations
        const off = i8x16.splat(64);
        const o = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v0, off), i16x8.relaxed_dot_i8x16_i7x16_s(v1, off));
        a0 = madd(f32x4.convert_i32x4_s(relaxedInt8(v0, v1, o, ap)), v128.load32_splat(sp), a0);
        if (m > 1) a1 = madd(f32x4.convert_i32x4_s(relaxedInt8(v0, v1, o, ap + aStride)), v128.load32_splat(sp + sStride), a1);
        if (m > 2) a2 = madd(f32x4.convert_i32x4_s(relaxedInt8(v0, v1, o, ap + 2 * aStride)), v128.load32_splat(sp + 2 * sStride), a2);
        if (m > 3) a3 = madd(f32x4.convert_i32x4_s(relaxedInt8(v0, v1, o, ap + 3 * aStride)), v128.load32_splat(sp + 3 * sStride), a3);
      } else {
        const w0 = i16x8.extend_low_i8x16_s(v0);
        const w1 = i16x8.extend_high_i8x16_s(v0);
        const w2 = i16x8.extend_low_i8x16_s(v1);
        const w3 = i16x8.extend_high_i8x16_s(v1);
        a0 = madd(f32x4.convert_i32x4_s(dot32(w0, w1, w2, w3, ap)), v128.load32_splat(sp), a0);
        if (m > 1) a1 = madd(f32x4.convert_i32x4_s(dot32(w0, w1, w2, w3, ap + aStride)), v128.load32_splat(sp + sStride), a1);
        if (m > 2) a2 = madd(f32x4.convert_i32x4_s(dot32(w0, w1, w2, w3, ap + 2 * aStride)), v128.load32_splat(sp + 2 * sStride), a2);
        if (m > 3) a3 = madd(f32x4.convert_i32x4_s(dot32(w0, w1, w2, w3, ap + 3 * aStride)), v128.load32_splat(sp + 3 * sStride), a3);
      }
    }
    const s = v128.load32_splat(sRow + (<usize>g << 2));
    t0 = madd(a0, s, t0);
    t1 = madd(a1, s, t1);
    t2 = madd(a2, s, t2);
    t3 = madd(a3, s, t3);
  }
  return hsum4(t0, t1, t2, t3);
}

/** Relaxed build: the block's int8 weights (v0, v1) against one row's â + 64 at ap, less the offset's share o. */
// @ts-ignore: decorator
@inline function relaxedInt8(v0: v128, v1: v128, o: v128, ap: usize): v128 {
  const d = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v0, v128.load(ap)), i16x8.relaxed_dot_i8x16_i7x16_s(v1, v128.load(ap, 16)));
  return i32x4.extadd_pairwise_i16x8_s(i16x8.sub(d, o));
}

/**
 * One int4 weight row against m ≤ 4 rows of activations (lane r = y_r). Per block the 16 bytes split into
 * their low nibbles (the even-numbered weights) and high nibbles (the odd ones), unsigned 0..15; the dot
 * product with the activations (stored evens, then odds) is one relaxed instruction per 16 products, or
 * widening to int16 and dot_i16x8_s on the baseline build. The +8 comes out of each block's sums on the
 * relaxed build (nibbleSums) and once per group (C_g) on the baseline build.
 */
function rowInt4(m: i32, wRow: usize, sRow: usize, groups: i32, bpg: i32, aq: usize, aStride: usize, as: usize, sStride: usize, ac: usize, cStride: usize): v128 {
  let t0 = f32x4.splat(0), t1 = t0, t2 = t0, t3 = t0;
  let c0: f32 = 0, c1: f32 = 0, c2: f32 = 0, c3: f32 = 0;
  const nibble = i8x16.splat(0x0f);
  let b = 0;
  for (let g = 0; g < groups; g++) {
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let bb = 0; bb < bpg; bb++, b++) {
      const v = v128.load(wRow + (<usize>b << 4));
      const lo = v128.and(v, nibble); // u of weights 0, 2, …, 30 of the block
      const hi = v128.and(i16x8.shr_u(v, 4), nibble); // u of weights 1, 3, …, 31
      const sp = as + (<usize>b << 2);
      if (ASC_FEATURE_RELAXED_SIMD) {
        const ap = aq + (<usize>b << 6);
        a0 = madd(f32x4.convert_i32x4_s(i32x4.extadd_pairwise_i16x8_s(nibbleSums(lo, hi, ap))), v128.load32_splat(sp), a0);
        if (m > 1) a1 = madd(f32x4.convert_i32x4_s(i32x4.extadd_pairwise_i16x8_s(nibbleSums(lo, hi, ap + aStride))), v128.load32_splat(sp + sStride), a1);
        if (m > 2) a2 = madd(f32x4.convert_i32x4_s(i32x4.extadd_pairwise_i16x8_s(nibbleSums(lo, hi, ap + 2 * aStride))), v128.load32_splat(sp + 2 * sStride), a2);
        if (m > 3) a3 = madd(f32x4.convert_i32x4_s(i32x4.extadd_pairwise_i16x8_s(nibbleSums(lo, hi, ap + 3 * aStride))), v128.load32_splat(sp + 3 * sStride), a3);
      } else {
        const w0 = i16x8.extend_low_i8x16_u(lo);
        const w1 = i16x8.extend_high_i8x16_u(lo);
        const w2 = i16x8.extend_low_i8x16_u(hi);
        const w3 = i16x8.extend_high_i8x16_u(hi);
        const ap = aq + (<usize>b << 6);
        a0 = madd(f32x4.convert_i32x4_s(dot32(w0, w1, w2, w3, ap)), v128.load32_splat(sp), a0);
        if (m > 1) a1 = madd(f32x4.convert_i32x4_s(dot32(w0, w1, w2, w3, ap + aStride)), v128.load32_splat(sp + sStride), a1);
        if (m > 2) a2 = madd(f32x4.convert_i32x4_s(dot32(w0, w1, w2, w3, ap + 2 * aStride)), v128.load32_splat(sp + 2 * sStride), a2);
        if (m > 3) a3 = madd(f32x4.convert_i32x4_s(dot32(w0, w1, w2, w3, ap + 3 * aStride)), v128.load32_splat(sp + 3 * sStride), a3);
      }
    }
    const s = load<f32>(sRow + (<usize>g << 2));
    const sv = f32x4.splat(s);
    t0 = madd(a0, sv, t0);
    t1 = madd(a1, sv, t1);
    t2 = madd(a2, sv, t2);
    t3 = madd(a3, sv, t3);
    if (ASC_FEATURE_RELAXED_SIMD) continue; // the correction is in each block's sums (nibbleSums)
    const cp = ac + (<usize>g << 2);
    c0 += s * load<f32>(cp);
    if (m > 1) c1 += s * load<f32>(cp + cStride);
    if (m > 2) c2 += s * load<f32>(cp + 2 * cStride);
    if (m > 3) c3 += s * load<f32>(cp + 3 * cStride);
  }
  if (ASC_FEATURE_RELAXED_SIMD) return hsum4(t0, t1, t2, t3);
  let corr = f32x4.splat(c0);
  corr = f32x4.replace_lane(corr, 1, c1);
  corr = f32x4.replace_lane(corr, 2, c2);
  corr = f32x4.replace_lane(corr, 3, c3);
  return f32x4.sub(hsum4(t0, t1, t2, t3), corr);
}

// ---------------------------------------------------------------------------------------------------------
// Many rows of activations: dequantise a block of W for the float GEMM

/**
 * Task t of writing rows [j0 + t·rowsPerTask, …) (up to jEnd) of W as float32 into out (rows of k floats,
 * row j − j0 at out + (j − j0)·k·4): weight (j, p) = scale[j, ⌊p / groupSize⌋]·q[j, p]. The GEMM path of
 * src/backend/wasm/quant.ts packs these rows (as a (N, K) operand) and multiplies with gemm_task, a block of
 * rows at a time, so W is never expanded whole.
 */
export function dequant_rows_task(
  t: i32, thread: i32,
  bits: i32, w: usize, rowBytes: i32, k: i32, scales: usize, groups: i32, groupSize: i32, j0: i32, jEnd: i32, rowsPerTask: i32, out: usize,
): void {
  const ja = j0 + t * rowsPerTask;
  const jb = min(jEnd, ja + rowsPerTask);
  for (let j = ja; j < jb; j++) {
    const wRow = w + <usize>j * <usize>rowBytes;
    const sRow = scales + ((<usize>j * <usize>groups) << 2);
    const dst = out + ((<usize>(j - j0) * <usize>k) << 2);
    if (bits == 8) dequantRow8(wRow, sRow, groupSize, k, dst);
    else dequantRow4(wRow, sRow, groupSize, k, dst);
  }
}

/** k int8 weights → floats, 16 at a time (the last few of a row that is not a multiple of 16 one by one). */
function dequantRow8(wRow: usize, sRow: usize, groupSize: i32, k: i32, dst: usize): void {
  let p = 0;
  for (let p0 = 0; p0 < k; p0 += groupSize) {
    const s = load<f32>(sRow + (<usize>(p0 / groupSize) << 2));
    const sv = f32x4.splat(s);
    const pEnd = min(k, p0 + groupSize);
    for (; p + 16 <= pEnd; p += 16) {
      const v = v128.load(wRow + <usize>p);
      const lo = i16x8.extend_low_i8x16_s(v);
      const hi = i16x8.extend_high_i8x16_s(v);
      const o = dst + (<usize>p << 2);
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), sv));
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), sv), 16);
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), sv), 32);
      v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), sv), 48);
    }
    for (; p < pEnd; p++) store<f32>(dst + (<usize>p << 2), s * <f32>load<i8>(wRow + <usize>p));
  }
}

/** k int4 weights → floats, a block of 32 (16 bytes) at a time: nibbles back in order, minus 8, times the scale. */
function dequantRow4(wRow: usize, sRow: usize, groupSize: i32, k: i32, dst: usize): void {
  const nibble = i8x16.splat(0x0f);
  const eight = i8x16.splat(8);
  for (let p = 0; p < k; p += QUANT_BLOCK) {
    const sv = v128.load32_splat(sRow + (<usize>(p / groupSize) << 2));
    const v = v128.load(wRow + <usize>(p >> 1));
    const lo = i8x16.sub(v128.and(v, nibble), eight); // q of weights 0, 2, …, 30
    const hi = i8x16.sub(i8x16.shr_u(v, 4), eight); // q of weights 1, 3, …, 31
    const q0 = i8x16.shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23); // q0 … q15
    const q1 = i8x16.shuffle(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31); // q16 … q31
    const o = dst + (<usize>p << 2);
    storeDequant16(q0, sv, o);
    storeDequant16(q1, sv, o + 64);
  }
}

/** 16 int8 values × a scale → 16 floats at o. */
// @ts-ignore: decorator
@inline function storeDequant16(q: v128, sv: v128, o: usize): void {
  const lo = i16x8.extend_low_i8x16_s(q);
  const hi = i16x8.extend_high_i8x16_s(q);
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), sv));
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), sv), 16);
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), sv), 32);
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), sv), 48);
}
