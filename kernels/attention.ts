// Fused scaled-dot-product attention, forward and backward, for float32 in WebAssembly memory: the kernels
// behind Backend.attentionForward / attentionBackward (src/backend/backend.ts explains the operands).
//
// Shape letters: B batch, H heads, Tq query length, Tk key length, D head size. q is (B, H, Tq, D),
// k and v are (B, H, Tk, D), out (B, H, Tq, D), each read or written through its own (batch, head, row)
// strides in floats, with each row of D floats contiguous: (Tq·H·D, D, H·D) for a projection's (B, T, H, D)
// output, (T·3C, D, 3C) for q, k and v sliced out of GPT-2's fused c_attn output, (cap·H·D, D, H·D) for a
// preallocated KV cache — so heads are never split and merged by copies. Query i sees the keys
// lo[i] ≤ j ≤ hi[i] (two Int32 arrays the caller builds from causal / window / query offset, never
// decreasing with i, so a block of queries sees a contiguous block of keys) that are not padding
// (keyMask[b, j] ≠ 0). An optional additive bias (b, h, i, j) joins the scaled scores, and an optional head
// mask ξ[b, h] scales each head's output.
//
// Forward, "online softmax" (as FlashAttention): the Tq × Tk score matrix is never stored. For a block of
// 4 query rows we walk the keys in blocks of 64 and keep, per row, the running max m, the running sum
// l = Σ exp(s − m) and the running output O = Σ exp(s − m)·v. When a new block raises the max to m', the old
// sums are rescaled by exp(m − m'), so at the end out = ξ·O / l and lse = m + log l — exactly ξ·softmax·v.
//
// Layout trick: scores of a 4-row block are stored key-major, S[j] = [s(row0, j), s(row1, j), s(row2, j),
// s(row3, j)] — one v128 per key. Then everything softmax does per row (max, exp, sum, rescale) is a plain
// vertical SIMD operation over the 4 rows at once, with no horizontal reductions.
//
// Backward (FlashAttention-2): per (b, h), loop over key blocks; for each query block that can see them,
// rebuild p = exp(s − lse) from the saved lse, then (m_ij the dropout factor, ξ the head mask)
//   dv_j += Σ_i ξ p_ij m_ij dOut_i,   dp_ij = dOut_i·v_j,   ds_ij = p_ij (ξ m_ij dp_ij − Δ_i), Δ_i = dOut_i·out_i,
//   dk_j += scale Σ_i ds_ij q_i,   dq_i += scale Σ_j ds_ij k_j,   dbias_ij += ds_ij,   dξ += Σ p_ij m_ij dp_ij.
// One task owns a whole head, so its dq, dk and dv rows are written by one thread only (with a bias shared
// by the batch and a bias gradient wanted, one task owns a head across the whole batch, for the same reason).
//
// A block that has fewer than 4 real rows fills the missing ones with "dummy" rows: they read the last real
// row (valid memory), see no key at all (lo = 1 > hi = 0, so every p is 0) and write into a junk row.
//
// Measured on one Zen 4 core (B 16, H 6, T 256, D 64, causal; useful flops only, copies included): forward
// ~29 GFLOP/s, backward ~33 GFLOP/s, against ~50 for the GEMM. The products themselves run at 47–53; the
// rest is exp (~5 ns per key for 4 rows) and copying q, k, v in and the results out.

import { madd, hsum4, exp4, lnPositive } from './simd';
import { dropKeep4 } from './dropout_mask';

/** Query rows per block (one v128 of scores per key). */
const QB: i32 = 4;
/** Keys per block: a block's scores are 64 v128 = 1 KiB, its K and V rows 2 × 64 × D floats (L1). */
const KB: i32 = 64;

/** Bytes of per-thread scratch the attention tasks need for head size d. */
export function attention_scratch_bytes(d: i32): i32 {
  // S and T (KB × 4 floats each), O (4 rows × d), a junk row (d), 16 floats of row vectors
  return (2 * KB * QB + QB * d + d + 16) * 4 + 64;
}

// Scratch offsets (bytes) inside a thread's area.
// @ts-ignore: decorator
@inline function scratchS(ws: usize): usize { return ws; }
// @ts-ignore: decorator
@inline function scratchT(ws: usize): usize { return ws + ((KB * QB) << 2); }
// @ts-ignore: decorator
@inline function scratchVec(ws: usize): usize { return ws + ((2 * KB * QB) << 2); } // 16 floats
// @ts-ignore: decorator
@inline function scratchO(ws: usize): usize { return ws + ((2 * KB * QB + 16) << 2); } // 4 rows × d
// @ts-ignore: decorator
@inline function scratchJunk(ws: usize, d: i32): usize { return scratchO(ws) + ((<usize>(QB * d)) << 2); }

// ---------------------------------------------------------------------------------------------------------
// Building blocks

/**
 * Scores of 4 rows against nk key rows kStride bytes apart: dst[jj] = scale·[r0·k_jj, r1·k_jj, r2·k_jj, r3·k_jj].
 * Two keys at a time: 8 accumulators, and each loaded key chunk is used by all 4 rows.
 */
function scores4(r0: usize, r1: usize, r2: usize, r3: usize, keys: usize, kStride: usize, d: i32, nk: i32, dst: usize, scale: f32): void {
  const ld = <usize>d << 2;
  const vecBytes = <usize>(d & ~3) << 2;
  const sc = f32x4.splat(scale);
  for (let jj = 0; jj < nk; jj += 2) {
    const k0 = keys + <usize>jj * kStride;
    const k1 = jj + 1 < nk ? k0 + kStride : k0; // an odd last key is computed twice and stored once
    let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
    let a10 = f32x4.splat(0), a11 = f32x4.splat(0);
    let a20 = f32x4.splat(0), a21 = f32x4.splat(0);
    let a30 = f32x4.splat(0), a31 = f32x4.splat(0);
    for (let o: usize = 0; o < vecBytes; o += 16) {
      const x0 = v128.load(k0 + o);
      const x1 = v128.load(k1 + o);
      const q0 = v128.load(r0 + o);
      a00 = madd(q0, x0, a00);
      a01 = madd(q0, x1, a01);
      const q1 = v128.load(r1 + o);
      a10 = madd(q1, x0, a10);
      a11 = madd(q1, x1, a11);
      const q2 = v128.load(r2 + o);
      a20 = madd(q2, x0, a20);
      a21 = madd(q2, x1, a21);
      const q3 = v128.load(r3 + o);
      a30 = madd(q3, x0, a30);
      a31 = madd(q3, x1, a31);
    }
    let s0 = hsum4(a00, a10, a20, a30);
    let s1 = hsum4(a01, a11, a21, a31);
    if (vecBytes < ld) {
      s0 = f32x4.add(s0, tailDot4(r0, r1, r2, r3, k0, vecBytes, ld));
      s1 = f32x4.add(s1, tailDot4(r0, r1, r2, r3, k1, vecBytes, ld));
    }
    v128.store(dst + (<usize>jj << 4), f32x4.mul(s0, sc));
    if (jj + 1 < nk) v128.store(dst + (<usize>(jj + 1) << 4), f32x4.mul(s1, sc));
  }
}

/**
 * Scores of one row against nk key rows kStride bytes apart: dst[jj] = scale·(q·k_jj), one float per key (the
 * one-row path of attention_forward_task). Four keys at a time, so q's chunks are loaded once for the four.
 */
function scores1(q: usize, keys: usize, kStride: usize, d: i32, nk: i32, dst: usize, scale: f32): void {
  const ld = <usize>d << 2;
  const vecBytes = <usize>(d & ~3) << 2;
  const sc = f32x4.splat(scale);
  let jj = 0;
  for (; jj + 4 <= nk; jj += 4) {
    const k0 = keys + <usize>jj * kStride;
    const k1 = k0 + kStride, k2 = k1 + kStride, k3 = k2 + kStride;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let o: usize = 0; o < vecBytes; o += 16) {
      const x = v128.load(q + o);
      a0 = madd(x, v128.load(k0 + o), a0);
      a1 = madd(x, v128.load(k1 + o), a1);
      a2 = madd(x, v128.load(k2 + o), a2);
      a3 = madd(x, v128.load(k3 + o), a3);
    }
    let s = hsum4(a0, a1, a2, a3); // [q·k0, q·k1, q·k2, q·k3]
    if (vecBytes < ld) {
      s = f32x4.add(s, f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(tailDot1(q, k0, vecBytes, ld)), 1, tailDot1(q, k1, vecBytes, ld)), 2, tailDot1(q, k2, vecBytes, ld)), 3, tailDot1(q, k3, vecBytes, ld)));
    }
    v128.store(dst + (<usize>jj << 2), f32x4.mul(s, sc));
  }
  for (; jj < nk; jj++) {
    const k0 = keys + <usize>jj * kStride;
    let a = f32x4.splat(0);
    for (let o: usize = 0; o < vecBytes; o += 16) a = madd(v128.load(q + o), v128.load(k0 + o), a);
    const s = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3) + tailDot1(q, k0, vecBytes, ld);
    store<f32>(dst + (<usize>jj << 2), s * scale);
  }
}

/** Σ q[o]·key[o] over the bytes [from, to) of one row: the last (d mod 4) terms of a dot product. */
function tailDot1(q: usize, key: usize, from: usize, to: usize): f32 {
  let s: f32 = 0;
  for (let o = from; o < to; o += 4) s += load<f32>(q + o) * load<f32>(key + o);
  return s;
}

/**
 * One row += p·X: out[:] = out[:]·rescale + Σ_jj p[jj] · x_jj[:] (p one float per key; x_jj nk rows of length
 * d, xStride bytes apart). Sixteen floats of the row in registers while the keys stream by.
 */
function axpy1(p: usize, nk: i32, x: usize, xStride: usize, d: i32, out: usize, rescale: f32): void {
  const ld = <usize>d << 2;
  const vecBytes = <usize>(d & ~3) << 2;
  const rs = f32x4.splat(rescale);
  let o: usize = 0;
  for (; o + 64 <= vecBytes; o += 64) {
    let c0 = f32x4.mul(v128.load(out + o), rs);
    let c1 = f32x4.mul(v128.load(out + o, 16), rs);
    let c2 = f32x4.mul(v128.load(out + o, 32), rs);
    let c3 = f32x4.mul(v128.load(out + o, 48), rs);
    for (let jj = 0; jj < nk; jj++) {
      const pj = v128.load32_splat(p + (<usize>jj << 2));
      const xr = x + <usize>jj * xStride + o;
      c0 = madd(pj, v128.load(xr), c0);
      c1 = madd(pj, v128.load(xr, 16), c1);
      c2 = madd(pj, v128.load(xr, 32), c2);
      c3 = madd(pj, v128.load(xr, 48), c3);
    }
    v128.store(out + o, c0);
    v128.store(out + o, c1, 16);
    v128.store(out + o, c2, 32);
    v128.store(out + o, c3, 48);
  }
  for (; o < vecBytes; o += 16) {
    let c = f32x4.mul(v128.load(out + o), rs);
    for (let jj = 0; jj < nk; jj++) c = madd(v128.load32_splat(p + (<usize>jj << 2)), v128.load(x + <usize>jj * xStride + o), c);
    v128.store(out + o, c);
  }
  for (; o < ld; o += 4) {
    let c: f32 = load<f32>(out + o) * rescale;
    for (let jj = 0; jj < nk; jj++) c += load<f32>(p + (<usize>jj << 2)) * load<f32>(x + <usize>jj * xStride + o);
    store<f32>(out + o, c);
  }
}

/** The last (d mod 4) terms of 4 dot products with one key, for head sizes that are not a multiple of 4. */
function tailDot4(r0: usize, r1: usize, r2: usize, r3: usize, key: usize, from: usize, to: usize): v128 {
  let acc = f32x4.splat(0);
  for (let o = from; o < to; o += 4) {
    let q = f32x4.splat(load<f32>(r0 + o));
    q = f32x4.replace_lane(q, 1, load<f32>(r1 + o));
    q = f32x4.replace_lane(q, 2, load<f32>(r2 + o));
    q = f32x4.replace_lane(q, 3, load<f32>(r3 + o));
    acc = madd(q, f32x4.splat(load<f32>(key + o)), acc);
  }
  return acc;
}

/**
 * Hide invisible keys: S[jj] lane r becomes −Infinity unless lo[r] ≤ j ≤ hi[r] (j = j0 + jj) and the key is
 * not padding (maskRow = &keyMask[b, 0], or 0 when there is no mask).
 */
function maskScores(s: usize, nk: i32, j0: i32, lo: v128, hi: v128, maskRow: usize): void {
  // Most blocks of a long causal sequence are entirely visible to all 4 rows: nothing to do.
  const loMax = max(max(i32x4.extract_lane(lo, 0), i32x4.extract_lane(lo, 1)), max(i32x4.extract_lane(lo, 2), i32x4.extract_lane(lo, 3)));
  const hiMin = min(min(i32x4.extract_lane(hi, 0), i32x4.extract_lane(hi, 1)), min(i32x4.extract_lane(hi, 2), i32x4.extract_lane(hi, 3)));
  if (maskRow == 0 && j0 >= loMax && j0 + nk - 1 <= hiMin) return;
  const ninf = f32x4.splat(-Infinity);
  for (let jj = 0; jj < nk; jj++) {
    const j = j0 + jj;
    const jv = i32x4.splat(j);
    let vis = v128.and(i32x4.le_s(lo, jv), i32x4.ge_s(hi, jv));
    if (maskRow != 0 && load<u8>(maskRow + <usize>j) == 0) vis = i32x4.splat(0);
    const p = s + (<usize>jj << 4);
    v128.store(p, v128.bitselect(v128.load(p), ninf, vis));
  }
}

/**
 * Rows += P·X: out_r[:] = out_r[:]·rescale[r] + Σ_jj P[jj][r] · x_jj[:] for the 4 rows (rescale = 0: none).
 * P is key-major (one v128 per key); x_jj are nk rows of length d, xStride bytes apart. Eight accumulators hold two
 * 4-float chunks of each of the 4 rows while the keys stream by.
 */
function rowsAxpy(p: usize, nk: i32, x: usize, xStride: usize, d: i32, o0: usize, o1: usize, o2: usize, o3: usize, rescale: usize): void {
  const ld = <usize>d << 2;
  const vecBytes = <usize>(d & ~3) << 2;
  let s0 = f32x4.splat(1), s1 = s0, s2 = s0, s3 = s0;
  if (rescale != 0) {
    s0 = v128.load32_splat(rescale);
    s1 = v128.load32_splat(rescale, 4);
    s2 = v128.load32_splat(rescale, 8);
    s3 = v128.load32_splat(rescale, 12);
  }
  let o: usize = 0;
  for (; o + 32 <= vecBytes; o += 32) {
    let c00 = f32x4.mul(v128.load(o0 + o), s0), c01 = f32x4.mul(v128.load(o0 + o, 16), s0);
    let c10 = f32x4.mul(v128.load(o1 + o), s1), c11 = f32x4.mul(v128.load(o1 + o, 16), s1);
    let c20 = f32x4.mul(v128.load(o2 + o), s2), c21 = f32x4.mul(v128.load(o2 + o, 16), s2);
    let c30 = f32x4.mul(v128.load(o3 + o), s3), c31 = f32x4.mul(v128.load(o3 + o, 16), s3);
    let xr = x + o;
    let pj = p;
    for (let jj = 0; jj < nk; jj++) {
      const x0 = v128.load(xr);
      const x1 = v128.load(xr, 16);
      const p0 = v128.load32_splat(pj);
      c00 = madd(p0, x0, c00);
      c01 = madd(p0, x1, c01);
      const p1 = v128.load32_splat(pj, 4);
      c10 = madd(p1, x0, c10);
      c11 = madd(p1, x1, c11);
      const p2 = v128.load32_splat(pj, 8);
      c20 = madd(p2, x0, c20);
      c21 = madd(p2, x1, c21);
      const p3 = v128.load32_splat(pj, 12);
      c30 = madd(p3, x0, c30);
      c31 = madd(p3, x1, c31);
      xr += xStride;
      pj += 16;
    }
    v128.store(o0 + o, c00); v128.store(o0 + o, c01, 16);
    v128.store(o1 + o, c10); v128.store(o1 + o, c11, 16);
    v128.store(o2 + o, c20); v128.store(o2 + o, c21, 16);
    v128.store(o3 + o, c30); v128.store(o3 + o, c31, 16);
  }
  if (o < vecBytes) {
    // one chunk of 4 left (d mod 8 ≥ 4)
    let c0 = f32x4.mul(v128.load(o0 + o), s0);
    let c1 = f32x4.mul(v128.load(o1 + o), s1);
    let c2 = f32x4.mul(v128.load(o2 + o), s2);
    let c3 = f32x4.mul(v128.load(o3 + o), s3);
    let xr = x + o;
    let pj = p;
    for (let jj = 0; jj < nk; jj++) {
      const x0 = v128.load(xr);
      c0 = madd(v128.load32_splat(pj), x0, c0);
      c1 = madd(v128.load32_splat(pj, 4), x0, c1);
      c2 = madd(v128.load32_splat(pj, 8), x0, c2);
      c3 = madd(v128.load32_splat(pj, 12), x0, c3);
      xr += xStride;
      pj += 16;
    }
    v128.store(o0 + o, c0);
    v128.store(o1 + o, c1);
    v128.store(o2 + o, c2);
    v128.store(o3 + o, c3);
    o += 16;
  }
  // the last d mod 4 columns, one float at a time
  for (; o < ld; o += 4) {
    let c0 = load<f32>(o0 + o) * f32x4.extract_lane(s0, 0);
    let c1 = load<f32>(o1 + o) * f32x4.extract_lane(s1, 0);
    let c2 = load<f32>(o2 + o) * f32x4.extract_lane(s2, 0);
    let c3 = load<f32>(o3 + o) * f32x4.extract_lane(s3, 0);
    for (let jj = 0; jj < nk; jj++) {
      const xv = load<f32>(x + <usize>jj * xStride + o);
      const pj = p + (<usize>jj << 4);
      c0 += load<f32>(pj) * xv;
      c1 += load<f32>(pj, 4) * xv;
      c2 += load<f32>(pj, 8) * xv;
      c3 += load<f32>(pj, 12) * xv;
    }
    store<f32>(o0 + o, c0);
    store<f32>(o1 + o, c1);
    store<f32>(o2 + o, c2);
    store<f32>(o3 + o, c3);
  }
}

/**
 * Keys += Pᵀ·R: y_jj[:] += Σ_r P[jj][r] · r_r[:] for nk rows y_jj (length d, yStride bytes apart), e.g. dv_j += Σ_i p_ij dOut_i.
 * Two keys at a time: their 8 broadcast p values stay in registers while the 4 source rows stream by in
 * 4-float chunks, so each loaded chunk of r_r feeds two multiply-adds.
 */
function keysAxpy(p: usize, nk: i32, r0: usize, r1: usize, r2: usize, r3: usize, d: i32, y: usize, yStride: usize): void {
  const ld = <usize>d << 2;
  const vecBytes = <usize>(d & ~3) << 2;
  let jj = 0;
  for (; jj + 2 <= nk; jj += 2) {
    const pj = p + (<usize>jj << 4);
    const a0 = v128.load32_splat(pj), a1 = v128.load32_splat(pj, 4), a2 = v128.load32_splat(pj, 8), a3 = v128.load32_splat(pj, 12);
    const b0 = v128.load32_splat(pj, 16), b1 = v128.load32_splat(pj, 20), b2 = v128.load32_splat(pj, 24), b3 = v128.load32_splat(pj, 28);
    const ya = y + <usize>jj * yStride; // key jj
    const yb = ya + yStride; // key jj + 1
    for (let o: usize = 0; o < vecBytes; o += 16) {
      const x0 = v128.load(r0 + o);
      let u = madd(a0, x0, v128.load(ya + o));
      let w = madd(b0, x0, v128.load(yb + o));
      const x1 = v128.load(r1 + o);
      u = madd(a1, x1, u);
      w = madd(b1, x1, w);
      const x2 = v128.load(r2 + o);
      u = madd(a2, x2, u);
      w = madd(b2, x2, w);
      const x3 = v128.load(r3 + o);
      u = madd(a3, x3, u);
      w = madd(b3, x3, w);
      v128.store(ya + o, u);
      v128.store(yb + o, w);
    }
  }
  if (jj < nk) {
    // an odd last key
    const pj = p + (<usize>jj << 4);
    const a0 = v128.load32_splat(pj), a1 = v128.load32_splat(pj, 4), a2 = v128.load32_splat(pj, 8), a3 = v128.load32_splat(pj, 12);
    const ya = y + <usize>jj * yStride;
    for (let o: usize = 0; o < vecBytes; o += 16) {
      const u = madd(a1, v128.load(r1 + o), madd(a0, v128.load(r0 + o), v128.load(ya + o)));
      const w = madd(a3, v128.load(r3 + o), f32x4.mul(a2, v128.load(r2 + o)));
      v128.store(ya + o, f32x4.add(u, w));
    }
  }
  // the last d mod 4 columns, one float at a time
  for (let o = vecBytes; o < ld; o += 4) {
    const x0 = load<f32>(r0 + o), x1 = load<f32>(r1 + o), x2 = load<f32>(r2 + o), x3 = load<f32>(r3 + o);
    for (let k = 0; k < nk; k++) {
      const pk = p + (<usize>k << 4);
      const yr = y + <usize>k * yStride + o;
      store<f32>(yr, load<f32>(yr) + load<f32>(pk) * x0 + load<f32>(pk, 4) * x1 + load<f32>(pk, 8) * x2 + load<f32>(pk, 12) * x3);
    }
  }
}

/** [a0·b0, a1·b1, a2·b2, a3·b3] summed over d: four row dot products at once (Δ_i = dOut_i·out_i). */
function rowDots4(a0: usize, a1: usize, a2: usize, a3: usize, b0: usize, b1: usize, b2: usize, b3: usize, d: i32): v128 {
  const ld = <usize>d << 2;
  const vecBytes = <usize>(d & ~3) << 2;
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  let o: usize = 0;
  for (; o < vecBytes; o += 16) {
    c0 = madd(v128.load(a0 + o), v128.load(b0 + o), c0);
    c1 = madd(v128.load(a1 + o), v128.load(b1 + o), c1);
    c2 = madd(v128.load(a2 + o), v128.load(b2 + o), c2);
    c3 = madd(v128.load(a3 + o), v128.load(b3 + o), c3);
  }
  let s = hsum4(c0, c1, c2, c3);
  for (; o < ld; o += 4) {
    let t = f32x4.splat(load<f32>(a0 + o) * load<f32>(b0 + o));
    t = f32x4.replace_lane(t, 1, load<f32>(a1 + o) * load<f32>(b1 + o));
    t = f32x4.replace_lane(t, 2, load<f32>(a2 + o) * load<f32>(b2 + o));
    t = f32x4.replace_lane(t, 3, load<f32>(a3 + o) * load<f32>(b3 + o));
    s = f32x4.add(s, t);
  }
  return s;
}

/** First visible key of query i (lo[i]) and last (hi[i]), from the caller's Int32 arrays. */
// @ts-ignore: decorator
@inline function keyLo(lo: usize, i: i32): i32 { return load<i32>(lo + (<usize>i << 2)); }
// @ts-ignore: decorator
@inline function keyHi(hi: usize, i: i32): i32 { return load<i32>(hi + (<usize>i << 2)); }

/** Visible-key bounds of a block's 4 rows as vectors; rows past nr are dummies that see nothing (1 > 0). */
// @ts-ignore: decorator
@inline function boundsLo(lo: usize, i0: i32, nr: i32): v128 {
  let v = i32x4.splat(1);
  v = i32x4.replace_lane(v, 0, keyLo(lo, i0));
  if (nr > 1) v = i32x4.replace_lane(v, 1, keyLo(lo, i0 + 1));
  if (nr > 2) v = i32x4.replace_lane(v, 2, keyLo(lo, i0 + 2));
  if (nr > 3) v = i32x4.replace_lane(v, 3, keyLo(lo, i0 + 3));
  return v;
}

// @ts-ignore: decorator
@inline function boundsHi(hi: usize, i0: i32, nr: i32): v128 {
  let v = i32x4.splat(0);
  v = i32x4.replace_lane(v, 0, keyHi(hi, i0));
  if (nr > 1) v = i32x4.replace_lane(v, 1, keyHi(hi, i0 + 1));
  if (nr > 2) v = i32x4.replace_lane(v, 2, keyHi(hi, i0 + 2));
  if (nr > 3) v = i32x4.replace_lane(v, 3, keyHi(hi, i0 + 3));
  return v;
}

/**
 * S[jj] += [bias(row0, j), …, bias(row3, j)] for j = j0 + jj: the additive bias of 4 query rows, rowBytes
 * apart starting at b0 (dummy rows re-read the last real row; their scores are masked anyway).
 */
function addBias4(s: usize, nk: i32, j0: i32, b0: usize, rowBytes: usize, nr: i32): void {
  const r1 = b0 + (nr > 1 ? rowBytes : 0);
  const r2 = b0 + (nr > 2 ? 2 * rowBytes : nr > 1 ? rowBytes : 0);
  const r3 = b0 + <usize>(min(nr, 4) - 1) * rowBytes;
  for (let jj = 0; jj < nk; jj++) {
    const o = <usize>(j0 + jj) << 2;
    let v = f32x4.splat(load<f32>(b0 + o));
    v = f32x4.replace_lane(v, 1, load<f32>(r1 + o));
    v = f32x4.replace_lane(v, 2, load<f32>(r2 + o));
    v = f32x4.replace_lane(v, 3, load<f32>(r3 + o));
    const p = s + (<usize>jj << 4);
    v128.store(p, f32x4.add(v128.load(p), v));
  }
}

/** dBias rows += the real rows' lanes of T[jj] (ds_ij), j = j0 + jj; rows are rowBytes apart from d0. */
function addGradBias4(t: usize, nk: i32, j0: i32, d0: usize, rowBytes: usize, nr: i32): void {
  for (let jj = 0; jj < nk; jj++) {
    const o = <usize>(j0 + jj) << 2;
    const v = v128.load(t + (<usize>jj << 4));
    store<f32>(d0 + o, load<f32>(d0 + o) + f32x4.extract_lane(v, 0));
    if (nr > 1) store<f32>(d0 + rowBytes + o, load<f32>(d0 + rowBytes + o) + f32x4.extract_lane(v, 1));
    if (nr > 2) store<f32>(d0 + 2 * rowBytes + o, load<f32>(d0 + 2 * rowBytes + o) + f32x4.extract_lane(v, 2));
    if (nr > 3) store<f32>(d0 + 3 * rowBytes + o, load<f32>(d0 + 3 * rowBytes + o) + f32x4.extract_lane(v, 3));
  }
}

/**
 * Attention dropout's mask for 4 query rows and key j: lane r is 1/(1 − p) when probability (row r, j) is kept,
 * else 0. rowBase lane r = (row index)·Tk + hash(seed), so rowBase + j is the probability's flat index plus
 * the seed hash; dropKeep4 (kernels/dropout_mask.ts, the one dropout mask of every kernel) decides from that.
 */
// @ts-ignore: decorator
@inline function dropMask4(rowBase: v128, j: i32, threshold: v128, keepScale: v128): v128 {
  return dropKeep4(i32x4.add(rowBase, i32x4.splat(j)), threshold, keepScale);
}

/** [row(i0)·tk + seedHash, …, row(i0 + 3)·tk + seedHash] for the mask: row(i) = bh·tq + i. */
// @ts-ignore: decorator
@inline function dropRowBase(bh: i32, tq: i32, tk: i32, i0: i32, seedHash: i32): v128 {
  const r0 = (bh * tq + i0) * tk + seedHash;
  let v = i32x4.splat(r0);
  v = i32x4.replace_lane(v, 1, r0 + tk);
  v = i32x4.replace_lane(v, 2, r0 + 2 * tk);
  v = i32x4.replace_lane(v, 3, r0 + 3 * tk);
  return v;
}

/** Address of row min(i0 + r, i0 + nr − 1) of rows `stride` bytes apart: dummy rows re-read the last real row. */
// @ts-ignore: decorator
@inline function rowPtr(base: usize, i0: i32, r: i32, nr: i32, stride: usize): usize {
  return base + <usize>(i0 + min(r, nr - 1)) * stride;
}

/** Byte address of head h of batch entry b in a tensor with (batch, head) strides in floats. */
// @ts-ignore: decorator
@inline function headPtr(base: usize, b: i32, h: i32, bStride: i32, hStride: i32): usize {
  return base + ((<usize>b * <usize>bStride + <usize>h * <usize>hStride) << 2);
}

// ---------------------------------------------------------------------------------------------------------
// Forward

/**
 * Task t of the forward pass: rows [c·qChunk, (c+1)·qChunk) of head bh, for t = bh·chunks + c.
 * Writes out (in its strides), lse (B, H, Tq) and, when weights ≠ 0, the probabilities × ξ (B, H, Tq, Tk);
 * lse and weights are contiguous. mask: keyMask (B, Tk) bytes, or 0. lo, hi: the per-query key ranges
 * (Int32, Tq each). bias: the additive bias in its (biasB, biasH, biasR) strides, or 0. headMask: ξ at
 * headMask + (b·hmB + h) floats, or 0. Layouts (strides in floats): q by (qB, qH, qR), k by (kB, kH, kR),
 * v by (vB, vH, vR), out by (oB, oH, oR). dropThreshold ≠ 0: attention dropout (see dropMask4): the running
 * sum l uses the probabilities before dropout (lse is the softmax's), the output the dropped and rescaled ones.
 */
export function attention_forward_task(
  t: i32, thread: i32,
  q: usize, k: usize, v: usize, out: usize, lse: usize, weights: usize, mask: usize, lo: usize, hi: usize, bias: usize, headMask: usize,
  heads: i32, tq: i32, tk: i32, d: i32, scale: f32, qChunk: i32, scratch: usize, scratchStride: i32,
  qB: i32, qH: i32, qR: i32, kB: i32, kH: i32, kR: i32, vB: i32, vH: i32, vR: i32, oB: i32, oH: i32, oR: i32,
  biasB: i32, biasH: i32, biasR: i32, hmB: i32,
  dropThreshold: i32, dropScale: f32, seedHash: i32,
): void {
  const chunks = (tq + qChunk - 1) / qChunk;
  const bh = t / chunks;
  const c = t - bh * chunks;
  const b = bh / heads;
  const h = bh - b * heads;
  const iEnd = min(tq, (c + 1) * qChunk);
  const ws = scratch + <usize>thread * <usize>scratchStride;
  const S = scratchS(ws);
  const vec = scratchVec(ws);
  const O = scratchO(ws);
  const rowBytes = <usize>d << 2;
  const qLd = <usize>qR << 2, kLd = <usize>kR << 2, vLd = <usize>vR << 2, oLd = <usize>oR << 2; // row strides in bytes
  const qHead = headPtr(q, b, h, qB, qH); // (Tq, D)
  const kHead = headPtr(k, b, h, kB, kH); // (Tk, D)
  const vHead = headPtr(v, b, h, vB, vH); // (Tk, D)
  const oHead = headPtr(out, b, h, oB, oH); // (Tq, D)
  const biasHead = bias != 0 ? headPtr(bias, b, h, biasB, biasH) : 0; // (Tq, Tk) rows biasR floats apart
  const biasLd = <usize>biasR << 2;
  const xi: f32 = headMask != 0 ? load<f32>(headMask + ((<usize>(b * hmB + h)) << 2)) : 1;
  const maskRow = mask != 0 ? mask + <usize>b * <usize>tk : 0;
  const ninf = f32x4.splat(-Infinity);
  const zero = f32x4.splat(0);

  for (let i0 = c * qChunk; i0 < iEnd; i0 += QB) {
    const nr = min(QB, iEnd - i0);
    const q0 = rowPtr(qHead, i0, 0, nr, qLd), q1 = rowPtr(qHead, i0, 1, nr, qLd);
    const q2 = rowPtr(qHead, i0, 2, nr, qLd), q3 = rowPtr(qHead, i0, 3, nr, qLd);
    const loV = boundsLo(lo, i0, nr);
    const hiV = boundsHi(hi, i0, nr);
    const jlo = max(0, keyLo(lo, i0)); // ranges never decrease with i: the block sees [lo(first row), hi(last row)]
    const jhi = min(tk, keyHi(hi, i0 + nr - 1) + 1);
    const rowBase = dropRowBase(bh, tq, tk, i0, seedHash);
    const thr = i32x4.splat(dropThreshold);
    const keepScale = f32x4.splat(dropScale);

    let m = ninf; // running max per row
    let l = zero; // running Σ exp(s − m) per row
    if (nr == 1 && dropThreshold == 0) {
      // One query row (decoding: one new token per step). The same online softmax with one score per key:
      // the 4-row blocks below would carry three dummy rows through every dot product and multiply-add.
      // (jlo..jhi is exactly this row's visible range lo..hi, so only padding needs masking)
      const biasRow = biasHead != 0 ? biasHead + <usize>i0 * biasLd : 0;
      let ms: f32 = -Infinity;
      let ls: f32 = 0;
      memory.fill(O, 0, rowBytes);
      for (let j0 = jlo; j0 < jhi; j0 += KB) {
        const nk = min(KB, jhi - j0);
        scores1(q0, kHead + <usize>j0 * kLd, kLd, d, nk, S, scale);
        let blockMax: f32 = -Infinity;
        for (let jj = 0; jj < nk; jj++) {
          const j = j0 + jj;
          const ps = S + (<usize>jj << 2);
          let s = load<f32>(ps);
          if (biasRow != 0) s += load<f32>(biasRow + (<usize>j << 2));
          if (maskRow != 0 && load<u8>(maskRow + <usize>j) == 0) s = -Infinity;
          store<f32>(ps, s);
          blockMax = max(blockMax, s);
        }
        const mNew = max(ms, blockMax);
        const mUse: f32 = mNew == -Infinity ? 0 : mNew; // as below: a row that saw only hidden keys keeps −∞
        const corr = f32x4.extract_lane(exp4(f32x4.splat(ms - mUse)), 0);
        // p = exp(s − m'), four keys at a time; the slots up to a whole vector hold −∞ (p = 0)
        for (let jj = nk; jj < ((nk + 3) & ~3); jj++) store<f32>(S + (<usize>jj << 2), -Infinity);
        const mv = f32x4.splat(mUse);
        let sum = zero;
        for (let jj = 0; jj < nk; jj += 4) {
          const ps = S + (<usize>jj << 2);
          const pr = exp4(f32x4.sub(v128.load(ps), mv));
          v128.store(ps, pr);
          sum = f32x4.add(sum, pr);
        }
        ls = ls * corr + (f32x4.extract_lane(sum, 0) + f32x4.extract_lane(sum, 1) + f32x4.extract_lane(sum, 2) + f32x4.extract_lane(sum, 3));
        ms = mNew;
        axpy1(S, nk, vHead + <usize>j0 * vLd, vLd, d, O, corr);
      }
      m = f32x4.splat(ms);
      l = f32x4.splat(ls);
    } else {
      memory.fill(O, 0, <usize>QB * rowBytes);
      for (let j0 = jlo; j0 < jhi; j0 += KB) {
        const nk = min(KB, jhi - j0);
        scores4(q0, q1, q2, q3, kHead + <usize>j0 * kLd, kLd, d, nk, S, scale);
        if (biasHead != 0) addBias4(S, nk, j0, biasHead + <usize>i0 * biasLd, biasLd, nr);
        maskScores(S, nk, j0, loV, hiV, maskRow);
        let blockMax = ninf;
        for (let jj = 0; jj < nk; jj++) blockMax = f32x4.pmax(blockMax, v128.load(S + (<usize>jj << 4)));
        const mNew = f32x4.pmax(m, blockMax);
        // A row that has seen only hidden keys so far keeps m = −∞; subtract 0 instead so exp gives 0, not NaN.
        const mUse = v128.bitselect(zero, mNew, f32x4.eq(mNew, ninf));
        const corr = exp4(f32x4.sub(m, mUse)); // exp(m − m'): rescales what was summed before
        let sum = zero;
        for (let jj = 0; jj < nk; jj++) {
          const ps = S + (<usize>jj << 4);
          const pr = exp4(f32x4.sub(v128.load(ps), mUse)); // p = exp(s − m')
          sum = f32x4.add(sum, pr);
          v128.store(ps, dropThreshold != 0 ? f32x4.mul(pr, dropMask4(rowBase, j0 + jj, thr, keepScale)) : pr);
        }
        l = madd(l, corr, sum); // l' = l·exp(m − m') + Σ p
        m = mNew;
        v128.store(vec, corr);
        // O' = O·exp(m − m') + Σ_j p_j v_j
        rowsAxpy(S, nk, vHead + <usize>j0 * vLd, vLd, d, O, O + rowBytes, O + 2 * rowBytes, O + 3 * rowBytes, vec);
      }
    }

    // out = ξ·O / l, lse = m + log l; a row that saw no key gets out = 0 and lse = −∞.
    v128.store(vec, l);
    v128.store(vec, m, 16);
    for (let r = 0; r < nr; r++) {
      const row = <usize>bh * <usize>tq + <usize>(i0 + r);
      const lr = load<f32>(vec + (<usize>r << 2));
      const mr = load<f32>(vec + (<usize>r << 2), 16);
      const dst = oHead + <usize>(i0 + r) * oLd;
      const src = O + <usize>r * rowBytes;
      const inv: f32 = lr > 0 ? xi / lr : 0;
      scaleRow(src, dst, d, inv);
      const lseR: f32 = lr > 0 ? mr + lnPositive(lr) : -Infinity;
      store<f32>(lse + (row << 2), lseR);
      // for the weights pass: +∞ for rows that saw nothing, so exp(s − lse) = 0
      store<f32>(vec + (<usize>r << 2), lr > 0 ? lseR : Infinity);
    }
    if (weights != 0) {
      for (let r = nr; r < QB; r++) store<f32>(vec + (<usize>r << 2), Infinity);
      const lseVec = v128.load(vec);
      const b0 = biasHead != 0 ? biasHead + <usize>i0 * biasLd : 0;
      writeWeights(weights, bh, tq, tk, i0, nr, jlo, jhi, q0, q1, q2, q3, kHead, kLd, d, scale, loV, hiV, maskRow, lseVec, S, b0, biasLd, xi);
    }
  }
}

/** dst[:] = src[:]·s for one row of length d. */
function scaleRow(src: usize, dst: usize, d: i32, s: f32): void {
  const sv = f32x4.splat(s);
  const ld = <usize>d << 2;
  const vecBytes = <usize>(d & ~3) << 2;
  let o: usize = 0;
  for (; o < vecBytes; o += 16) v128.store(dst + o, f32x4.mul(v128.load(src + o), sv));
  for (; o < ld; o += 4) store<f32>(dst + o, load<f32>(src + o) * s);
}

/** The second pass for returnWeights: p_ij = ξ·exp(s_ij − lse_i), zeros where hidden. */
function writeWeights(
  weights: usize, bh: i32, tq: i32, tk: i32, i0: i32, nr: i32, jlo: i32, jhi: i32,
  q0: usize, q1: usize, q2: usize, q3: usize, kHead: usize, kLd: usize, d: i32, scale: f32,
  lo: v128, hi: v128, maskRow: usize, lseVec: v128, S: usize, bias0: usize, biasLd: usize, xi: f32,
): void {
  const wRow0 = weights + ((<usize>bh * <usize>tq + <usize>i0) * <usize>tk << 2); // (nr, Tk) rows
  const wLd = <usize>tk << 2;
  const xiVec = f32x4.splat(xi);
  memory.fill(wRow0, 0, <usize>nr * wLd);
  for (let j0 = jlo; j0 < jhi; j0 += KB) {
    const nk = min(KB, jhi - j0);
    scores4(q0, q1, q2, q3, kHead + <usize>j0 * kLd, kLd, d, nk, S, scale);
    if (bias0 != 0) addBias4(S, nk, j0, bias0, biasLd, nr);
    maskScores(S, nk, j0, lo, hi, maskRow);
    for (let jj = 0; jj < nk; jj++) {
      const p = f32x4.mul(exp4(f32x4.sub(v128.load(S + (<usize>jj << 4)), lseVec)), xiVec);
      const w = wRow0 + (<usize>(j0 + jj) << 2);
      store<f32>(w, f32x4.extract_lane(p, 0));
      if (nr > 1) store<f32>(w + wLd, f32x4.extract_lane(p, 1));
      if (nr > 2) store<f32>(w + 2 * wLd, f32x4.extract_lane(p, 2));
      if (nr > 3) store<f32>(w + 3 * wLd, f32x4.extract_lane(p, 3));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Backward

/**
 * Task t of the backward pass: all of head h of batch entry b, t = b·H + h — or, when batchLoop ≠ 0 (a bias
 * shared by the batch whose gradient is wanted), head h = t of every batch entry, so that one thread owns
 * each dBias row. Given q, k, v, the forward's out and lse, and dOut (laid out like out), writes dq, dk and
 * dv (every row of the head, in their own strides; nothing between rows is touched), adds ds into dBias
 * (contiguous (Bb, H, Tq, Tk), Bb = 1 when biasB = 0; or 0 for none) and writes dξ into dHeadMask (B, H)
 * (or 0 for none).
 */
export function attention_backward_task(
  t: i32, thread: i32,
  q: usize, k: usize, v: usize, out: usize, lse: usize, dOut: usize, dq: usize, dk: usize, dv: usize,
  mask: usize, lo: usize, hi: usize, bias: usize, dBias: usize, headMask: usize, dHeadMask: usize,
  heads: i32, batch: i32, tq: i32, tk: i32, d: i32, scale: f32, scratch: usize, scratchStride: i32, batchLoop: i32,
  qB: i32, qH: i32, qR: i32, kB: i32, kH: i32, kR: i32, vB: i32, vH: i32, vR: i32, oB: i32, oH: i32, oR: i32,
  dqB: i32, dqH: i32, dqR: i32, dkB: i32, dkH: i32, dkR: i32, dvB: i32, dvH: i32, dvR: i32,
  biasB: i32, biasH: i32, biasR: i32, hmB: i32,
  dropThreshold: i32, dropScale: f32, seedHash: i32,
): void {
  const b0 = batchLoop != 0 ? 0 : t / heads;
  const b1 = batchLoop != 0 ? batch : b0 + 1;
  const h = batchLoop != 0 ? t : t - b0 * heads;
  for (let b = b0; b < b1; b++) {
    backwardHead(
      b, h, thread,
      q, k, v, out, lse, dOut, dq, dk, dv, mask, lo, hi, bias, dBias, headMask, dHeadMask,
      heads, tq, tk, d, scale, scratch, scratchStride,
      qB, qH, qR, kB, kH, kR, vB, vH, vR, oB, oH, oR, dqB, dqH, dqR, dkB, dkH, dkR, dvB, dvH, dvR,
      biasB, biasH, biasR, hmB, dropThreshold, dropScale, seedHash,
    );
  }
}

function backwardHead(
  b: i32, h: i32, thread: i32,
  q: usize, k: usize, v: usize, out: usize, lse: usize, dOut: usize, dq: usize, dk: usize, dv: usize,
  mask: usize, lo: usize, hi: usize, bias: usize, dBias: usize, headMask: usize, dHeadMask: usize,
  heads: i32, tq: i32, tk: i32, d: i32, scale: f32, scratch: usize, scratchStride: i32,
  qB: i32, qH: i32, qR: i32, kB: i32, kH: i32, kR: i32, vB: i32, vH: i32, vR: i32, oB: i32, oH: i32, oR: i32,
  dqB: i32, dqH: i32, dqR: i32, dkB: i32, dkH: i32, dkR: i32, dvB: i32, dvH: i32, dvR: i32,
  biasB: i32, biasH: i32, biasR: i32, hmB: i32,
  dropThreshold: i32, dropScale: f32, seedHash: i32,
): void {
  const bh = b * heads + h;
  const ws = scratch + <usize>thread * <usize>scratchStride;
  const S = scratchS(ws); // scores, then p
  const T = scratchT(ws); // dp, then ds
  const vec = scratchVec(ws);
  const junk = scratchJunk(ws, d); // where dummy rows write their (zero) dq
  const rowBytes = <usize>d << 2;
  const qLd = <usize>qR << 2, kLd = <usize>kR << 2, vLd = <usize>vR << 2, oLd = <usize>oR << 2; // row strides in bytes
  const dqLd = <usize>dqR << 2, dkLd = <usize>dkR << 2, dvLd = <usize>dvR << 2;
  const qHead = headPtr(q, b, h, qB, qH), dqHead = headPtr(dq, b, h, dqB, dqH); // (Tq, D)
  const oHead = headPtr(out, b, h, oB, oH), dOHead = headPtr(dOut, b, h, oB, oH); // (Tq, D)
  const kHead = headPtr(k, b, h, kB, kH), vHead = headPtr(v, b, h, vB, vH); // (Tk, D)
  const dkHead = headPtr(dk, b, h, dkB, dkH), dvHead = headPtr(dv, b, h, dvB, dvH); // (Tk, D)
  const biasHead = bias != 0 ? headPtr(bias, b, h, biasB, biasH) : 0;
  const biasLd = <usize>biasR << 2;
  // dBias is contiguous (Bb, H, Tq, Tk): rows of Tk floats, the batch entry 0 when the bias is shared.
  const dBiasHead = dBias != 0 ? dBias + ((<usize>((biasB == 0 ? 0 : b) * heads + h) * <usize>tq * <usize>tk) << 2) : 0;
  const dBiasLd = <usize>tk << 2;
  const xi: f32 = headMask != 0 ? load<f32>(headMask + ((<usize>(b * hmB + h)) << 2)) : 1;
  const xiVec = f32x4.splat(xi);
  let gxi = f32x4.splat(0); // Σ p·m·dp per lane, for dξ
  const lseHead = lse + ((<usize>bh * <usize>tq) << 2); // (Tq)
  const maskRow = mask != 0 ? mask + <usize>b * <usize>tk : 0;
  const scaleVec = f32x4.splat(scale);
  const thr = i32x4.splat(dropThreshold);
  const keepScale = f32x4.splat(dropScale);

  for (let i = 0; i < tq; i++) memory.fill(dqHead + <usize>i * dqLd, 0, rowBytes);
  for (let j = 0; j < tk; j++) {
    memory.fill(dkHead + <usize>j * dkLd, 0, rowBytes);
    memory.fill(dvHead + <usize>j * dvLd, 0, rowBytes);
  }

  // The queries that can see a key of block [j0, jLast] are those with hi ≥ j0 and lo ≤ jLast: since lo and
  // hi never decrease, that is one range [iStart, iEnd) that only moves forward as the key blocks do.
  let iStart = 0;
  let iEnd = 0;
  for (let j0 = 0; j0 < tk; j0 += KB) {
    const nk = min(KB, tk - j0);
    const jLast = j0 + nk - 1;
    while (iStart < tq && keyHi(hi, iStart) < j0) iStart++;
    while (iEnd < tq && keyLo(lo, iEnd) <= jLast) iEnd++;
    for (let i0 = iStart; i0 < iEnd; i0 += QB) {
      const nr = min(QB, iEnd - i0);
      const q0 = rowPtr(qHead, i0, 0, nr, qLd), q1 = rowPtr(qHead, i0, 1, nr, qLd);
      const q2 = rowPtr(qHead, i0, 2, nr, qLd), q3 = rowPtr(qHead, i0, 3, nr, qLd);
      const g0 = rowPtr(dOHead, i0, 0, nr, oLd), g1 = rowPtr(dOHead, i0, 1, nr, oLd);
      const g2 = rowPtr(dOHead, i0, 2, nr, oLd), g3 = rowPtr(dOHead, i0, 3, nr, oLd);
      const loV = boundsLo(lo, i0, nr);
      const hiV = boundsHi(hi, i0, nr);
      // The part of this key block the 4 rows can see at all: [ja, jb) ⊆ [j0, j0 + nk). Near the diagonal of
      // a causal mask (or the edge of a window) that is much less than the whole block; the rest is skipped.
      const ja = max(j0, keyLo(lo, i0));
      const jb = min(j0 + nk, keyHi(hi, i0 + nr - 1) + 1);
      if (ja >= jb) continue;
      const nkv = jb - ja;
      const kRows = kHead + <usize>ja * kLd;
      const vRows = vHead + <usize>ja * vLd;

      // lse per row; +∞ for rows that saw nothing (lse = −∞) and for dummies, so p = exp(s − lse) = 0.
      for (let r = 0; r < QB; r++) {
        let x: f32 = Infinity;
        if (r < nr) {
          x = load<f32>(lseHead + (<usize>(i0 + r) << 2));
          if (x == -Infinity) x = Infinity;
        }
        store<f32>(vec + (<usize>r << 2), x);
      }
      const lseVec = v128.load(vec);
      // Δ_i = dOut_i · out_i
      const delta = rowDots4(
        g0, g1, g2, g3,
        rowPtr(oHead, i0, 0, nr, oLd), rowPtr(oHead, i0, 1, nr, oLd), rowPtr(oHead, i0, 2, nr, oLd), rowPtr(oHead, i0, 3, nr, oLd), d,
      );

      scores4(q0, q1, q2, q3, kRows, kLd, d, nkv, S, scale);
      if (biasHead != 0) addBias4(S, nkv, ja, biasHead + <usize>i0 * biasLd, biasLd, nr);
      maskScores(S, nkv, ja, loV, hiV, maskRow);
      for (let jj = 0; jj < nkv; jj++) {
        const ps = S + (<usize>jj << 4);
        v128.store(ps, exp4(f32x4.sub(v128.load(ps), lseVec))); // p_ij
      }
      scores4(g0, g1, g2, g3, vRows, vLd, d, nkv, T, 1); // dp_ij = dOut_i · v_j
      const rowBase = dropRowBase(bh, tq, tk, i0, seedHash);
      for (let jj = 0; jj < nkv; jj++) {
        const pt = T + (<usize>jj << 4);
        const ps = S + (<usize>jj << 4);
        let p = v128.load(ps);
        let dp = v128.load(pt);
        if (dropThreshold != 0) {
          // With dropout m_ij (0 or 1/(1 − p)): dp takes the factor, and so does dv's p̃ = p·m.
          const mk = dropMask4(rowBase, ja + jj, thr, keepScale);
          dp = f32x4.mul(dp, mk);
          p = f32x4.mul(p, mk);
        }
        if (dHeadMask != 0) gxi = madd(v128.load(ps), dp, gxi); // p·(m·dp)
        if (headMask != 0) dp = f32x4.mul(dp, xiVec);
        // ds_ij = p_ij (ξ m_ij dp_ij − Δ_i), with p the softmax probability before dropout
        v128.store(pt, f32x4.mul(v128.load(ps), f32x4.sub(dp, delta)));
        v128.store(ps, headMask != 0 ? f32x4.mul(p, xiVec) : p); // ξ p̃: what dv sums
      }
      if (dBiasHead != 0) addGradBias4(T, nkv, ja, dBiasHead + <usize>i0 * dBiasLd, dBiasLd, nr);
      for (let jj = 0; jj < nkv; jj++) {
        const pt = T + (<usize>jj << 4);
        v128.store(pt, f32x4.mul(v128.load(pt), scaleVec)); // scale·ds: q and k saw s = scale·q·k
      }
      keysAxpy(S, nkv, g0, g1, g2, g3, d, dvHead + <usize>ja * dvLd, dvLd); // dv_j += Σ_i ξ p̃_ij dOut_i
      keysAxpy(T, nkv, q0, q1, q2, q3, d, dkHead + <usize>ja * dkLd, dkLd); // dk_j += Σ_i scale·ds_ij q_i
      // dq_i += Σ_j scale·ds_ij k_j (dummy rows write to the junk row, never over a real row)
      const o0 = dqHead + <usize>i0 * dqLd;
      const o1 = nr > 1 ? o0 + dqLd : junk;
      const o2 = nr > 2 ? o0 + 2 * dqLd : junk;
      const o3 = nr > 3 ? o0 + 3 * dqLd : junk;
      rowsAxpy(T, nkv, kRows, kLd, d, o0, o1, o2, o3, 0);
    }
  }
  if (dHeadMask != 0) {
    const sum = f32x4.extract_lane(gxi, 0) + f32x4.extract_lane(gxi, 1) + f32x4.extract_lane(gxi, 2) + f32x4.extract_lane(gxi, 3);
    store<f32>(dHeadMask + (<usize>bh << 2), sum);
  }
}
