// Matrix multiply C = op(A)·op(B) (+ C) in the BLIS / GotoBLAS shape, for float32 in WebAssembly memory.
//
// Shape letters: M rows of C, N columns of C, K the shared dimension. op(A) is (M, K), op(B) is (K, N).
//
// Why the shape: a multiply-add needs one value of A and one of B. Reading both from memory for every
// multiply-add would make the loop memory-bound; a GEMM is fast only when each loaded value is reused many
// times from registers and caches. So:
//
//   1. The micro-kernel keeps a tile of C in v128 registers: 4×8 in the baseline build (MR = 4 rows × NR = 8
//      columns, two vectors per row: 8 accumulators). Per step p of K it loads 8 values of B (two vectors)
//      and broadcasts 4 values of A, then does 8 vector multiply-adds: 32 multiply-adds for 6 loads. 8
//      independent accumulators just cover the 4-cycle latency of a multiply-add on two pipes. (Measured on
//      x86-64/V8 with an L1-resident loop: 4×8 runs at the machine's peak, ~55 GFLOP/s on a 3.5 GHz Zen 4
//      core; 5×8, 6×8, 4×12 and 8×8 need more than the 15 vector registers V8 hands out and spill, running
//      at half that.) The relaxed build, whose multiply-add is one instruction, uses 3×12 (MR = 3, NR = 12:
//      9 accumulators, 13 registers): 36 multiply-adds for 6 loads and some slack over the latency, 5–7 %
//      faster than 4×8 in place (see kernel3x12).
//   2. A and B are "packed" first: copied into the exact order the micro-kernel reads them, so its loads are
//      sequential. Packed B is a sequence of (kc × NR) panels, packed A a sequence of (kc × MR) panels.
//      Packing also pads the edges with zeros, so the micro-kernel always computes a full MR×NR tile and
//      only the store at the edge of C is special.
//   3. K is cut into blocks of KC = 256: one A panel (256 × MR floats, 3–4 KiB) stays in L1 while the
//      micro-kernel walks along the B panels of the tile (KC × nc floats, streamed from L2/L3), and the
//      packed block of A (MC × KC ≈ 128 × 256 floats ≈ 128 KiB) stays in L2. (The other order, a B panel
//      in L1 and A streamed, measured 2–3 % slower.)
//   4. C is cut into MC × nc tiles (MC = 129 or 128 rows; the caller picks the width nc, a multiple of NR, so that
//      there are enough tiles for its threads); one tile is one task for the thread pool (tasks are claimed
//      by whichever thread is free, see src/backend/wasm/pool.ts). Measured on Zen 4 with one thread:
//      KC in 128…512, MC in 64…256 and nc in 256…1024 are all within ±3 % of each other.
//
// What was measured and not kept: unrolling the K loop by two (V8 then spills: half the speed), and a
// separate (not inlined) micro-kernel function (5 % slower). The whole GEMM runs at ~52 GFLOP/s on one
// core, 95 % of the micro-kernel alone; copying operands in and out costs another 2–4 % (bench/matmul.ts).
//
// The packed B of a weight matrix can be kept between calls (src/backend/wasm/matmul.ts caches it), which is
// why packing B is its own task kind and packing A happens inside the multiply task.
//
// Addresses are byte offsets into the one shared WebAssembly memory (usize); sizes and indices are i32.

import { hsum4, madd } from './simd';

/**
 * Rows of the register tile: 3 with relaxed SIMD (the 3×12 tile), 4 without (4×8). Each build is compiled with
 * its own constants; src/backend/wasm/kernels.ts reads them from the module.
 */
export const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 3 : 4;
/** Columns of the register tile: 12 (three v128) with relaxed SIMD, 8 (two) without. */
export const NR: i32 = ASC_FEATURE_RELAXED_SIMD ? 12 : 8;
/** K block: a (KC × NR) B panel is 8–12 KiB, comfortably inside a 32 KiB L1. */
export const KC: i32 = 256;
/** Rows of C per task, a multiple of MR (129 = 43 panels of 3, so 128-row products stay one tile): the packed
 * A block (MC × KC floats, ~128 KiB) lives in L2. */
export const MC: i32 = ASC_FEATURE_RELAXED_SIMD ? 129 : 128;

/** Bytes of per-thread scratch gemm_task needs: one packed A block plus an MR×NR tile for edge stores. */
export function gemm_scratch_bytes(): i32 {
  return (MC * KC + MR * NR) * 4;
}

/** Floats one packed copy of op(B) (K, N) takes: N is padded up to a multiple of NR. */
export function packed_b_floats(k: i32, n: i32): i32 {
  return k * ceilTo(n, NR);
}

// ---------------------------------------------------------------------------------------------------------
// Packing

/**
 * Task `t` of packing op(B) for `nb` batch entries: one (batch entry, K block, group of `groupCols` columns)
 * per task (groupCols: a multiple of NR; the caller makes enough groups to keep every thread busy).
 * op(B)(p, j) = B[p·N + j], or B[j·K + p] when transB. The packed copy of entry bi starts at
 * bp + bi·K·Npad floats; inside it, K block pb starts at pb·KC·Npad and holds Npad/NR panels of kc × NR.
 */
export function pack_b_task(t: i32, thread: i32, b: usize, transB: i32, k: i32, n: i32, bBatchStride: i32, nb: i32, bp: usize, groupCols: i32): void {
  const kBlocks = (k + KC - 1) / KC;
  const groups = (n + groupCols - 1) / groupCols;
  const bi = t / (kBlocks * groups);
  const rest = t - bi * kBlocks * groups;
  const pb = rest / groups;
  const g = rest - pb * groups;
  if (bi >= nb) return;
  const npad = ceilTo(n, NR);
  const p0 = pb * KC;
  const kc = min(KC, k - p0);
  const src = b + ((<usize>bi * <usize>bBatchStride) << 2);
  const dstBlock = bp + ((<usize>bi * <usize>k * <usize>npad + <usize>p0 * <usize>npad) << 2);
  const jEnd = min(n, (g + 1) * groupCols);
  for (let j0 = g * groupCols; j0 < jEnd; j0 += NR) {
    const dst = dstBlock + ((<usize>j0 * <usize>kc) << 2); // panel j0/NR: kc × NR floats
    const cols = min(NR, n - j0);
    if (!transB) packBPanelRowMajor(src, n, p0, kc, j0, cols, dst);
    else packBPanelTransposed(src, k, p0, kc, j0, cols, dst);
  }
}

/** B stored (K, N): each step p copies NR consecutive floats of row p0+p. */
function packBPanelRowMajor(src: usize, n: i32, p0: i32, kc: i32, j0: i32, cols: i32, dst: usize): void {
  let s = src + ((<usize>p0 * <usize>n + <usize>j0) << 2);
  const ld = <usize>n << 2;
  if (cols == NR) {
    for (let p = 0; p < kc; p++) {
      v128.store(dst, v128.load(s));
      v128.store(dst, v128.load(s, 16), 16);
      if (NR == 12) v128.store(dst, v128.load(s, 32), 32);
      s += ld;
      dst += NR << 2;
    }
    return;
  }
  for (let p = 0; p < kc; p++) {
    for (let jj = 0; jj < NR; jj++) store<f32>(dst + (<usize>jj << 2), jj < cols ? load<f32>(s + (<usize>jj << 2)) : 0);
    s += ld;
    dst += NR << 2;
  }
}

/** B stored (N, K): column j of op(B) is row j of B; gather NR rows, 4 values of p at a time, transposing. */
function packBPanelTransposed(src: usize, k: i32, p0: i32, kc: i32, j0: i32, cols: i32, dst: usize): void {
  const ld = <usize>k << 2;
  const row = src + ((<usize>j0 * <usize>k + <usize>p0) << 2); // &B[j0, p0]
  let p = 0;
  if (cols == NR) {
    for (; p + 4 <= kc; p += 4) {
      const s = row + (<usize>p << 2);
      transpose4Store(v128.load(s), v128.load(s + ld), v128.load(s + 2 * ld), v128.load(s + 3 * ld), dst, NR << 2);
      const s4 = s + 4 * ld;
      transpose4Store(v128.load(s4), v128.load(s4 + ld), v128.load(s4 + 2 * ld), v128.load(s4 + 3 * ld), dst + 16, NR << 2);
      if (NR == 12) {
        const s8 = s + 8 * ld;
        transpose4Store(v128.load(s8), v128.load(s8 + ld), v128.load(s8 + 2 * ld), v128.load(s8 + 3 * ld), dst + 32, NR << 2);
      }
      dst += (4 * NR) << 2;
    }
  }
  for (; p < kc; p++) {
    for (let jj = 0; jj < NR; jj++) {
      store<f32>(dst + (<usize>jj << 2), jj < cols ? load<f32>(row + <usize>jj * ld + (<usize>p << 2)) : 0);
    }
    dst += NR << 2;
  }
}

/**
 * Rows r0..r3 (each 4 floats) → columns: writes [r0[c], r1[c], r2[c], r3[c]] to dst + c·stride for c = 0..3.
 */
// @ts-ignore: decorator
@inline function transpose4Store(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize): void {
  const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5); // [r0₀ r1₀ r0₁ r1₁]
  const t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7); // [r0₂ r1₂ r0₃ r1₃]
  const t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst + stride, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

/**
 * Pack rows i0..i0+mc of op(A), K block p0..p0+kc, into panels of MR rows: panel ip holds, for each p, the
 * MR values op(A)(i0 + MR·ip + r, p0 + p), r = 0..MR−1 (zeros past row M).
 * op(A)(i, p) = A[i·K + p], or A[p·M + i] when transA.
 */
function packA(a: usize, transA: i32, m: i32, k: i32, i0: i32, mc: i32, p0: i32, kc: i32, dst: usize): void {
  for (let ib = 0; ib < mc; ib += MR) {
    const rows = min(MR, mc - ib);
    const i = i0 + ib;
    let p = 0;
    if (MR == 3 && !transA && rows == MR) {
      // Three rows of A, 4 values of p at a time: q_r = row r's [p p+1 p+2 p+3]; the panel wants
      // [q0₀ q1₀ q2₀ | q0₁ q1₁ q2₁ | q0₂ q1₂ q2₂ | q0₃ q1₃ q2₃], i.e. three vectors, made with five shuffles.
      const ld = <usize>k << 2;
      const s = a + ((<usize>i * <usize>k + <usize>p0) << 2);
      for (; p + 4 <= kc; p += 4) {
        const q = s + (<usize>p << 2);
        const q0 = v128.load(q), q1 = v128.load(q + ld), q2 = v128.load(q + 2 * ld);
        const t = f32x4.shuffle(q0, q1, 0, 4, 1, 5); // [q0₀ q1₀ q0₁ q1₁]
        const u = f32x4.shuffle(q0, q1, 2, 6, 3, 7); // [q0₂ q1₂ q0₃ q1₃]
        v128.store(dst, f32x4.shuffle(t, q2, 0, 1, 4, 2)); // [q0₀ q1₀ q2₀ q0₁]
        v128.store(dst, f32x4.shuffle(f32x4.shuffle(t, q2, 3, 5, 3, 5), u, 0, 1, 4, 5), 16); // [q1₁ q2₁ q0₂ q1₂]
        v128.store(dst, f32x4.shuffle(u, q2, 6, 2, 3, 7), 32); // [q2₂ q0₃ q1₃ q2₃]
        dst += (4 * MR) << 2;
      }
    } else if (MR == 4 && !transA && rows == MR) {
      // Four rows of A, 4 values of p at a time: a 4×4 transpose puts each p's 4 row values together.
      const ld = <usize>k << 2;
      const s = a + ((<usize>i * <usize>k + <usize>p0) << 2);
      for (; p + 4 <= kc; p += 4) {
        const q = s + (<usize>p << 2);
        transpose4Store(v128.load(q), v128.load(q + ld), v128.load(q + 2 * ld), v128.load(q + 3 * ld), dst, MR << 2);
        dst += (4 * MR) << 2;
      }
    } else if (MR == 3 && transA && rows == MR) {
      // A stored (K, M): the 3 row values for one p are adjacent already. Read as 2 + 1 floats (a 4-wide load
      // could run past the end of A at its last rows) and stored 4 wide: the 4th lane lands where the next p
      // goes, or past the block, in this thread's scratch (the edge tile, written before it is read).
      let s = a + ((<usize>p0 * <usize>m + <usize>i) << 2);
      const ld = <usize>m << 2;
      for (; p < kc; p++) {
        v128.store(dst, v128.load32_lane(s + 8, v128.load64_zero(s), 2));
        s += ld;
        dst += MR << 2;
      }
    } else if (MR == 4 && transA && rows == MR) {
      // A stored (K, M): the 4 row values for one p are adjacent already.
      let s = a + ((<usize>p0 * <usize>m + <usize>i) << 2);
      const ld = <usize>m << 2;
      for (; p < kc; p++) {
        v128.store(dst, v128.load(s));
        s += ld;
        dst += MR << 2;
      }
    }
    // Leftover p (and every p of a partial panel at the bottom edge), one value at a time.
    for (; p < kc; p++) {
      for (let r = 0; r < MR; r++) {
        let x: f32 = 0;
        if (r < rows) {
          const idx = transA ? <usize>(p0 + p) * <usize>m + <usize>(i + r) : <usize>(i + r) * <usize>k + <usize>(p0 + p);
          x = load<f32>(a + (idx << 2));
        }
        store<f32>(dst + (<usize>r << 2), x);
      }
      dst += MR << 2;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The multiply

/**
 * Task `t` of C = op(A)·op(B) (+ C): one mcTile × ncTile tile of C of one batch entry (mcTile ≤ MC, a multiple
 * of MR; ncTile a multiple of NR).
 * a: A of batch entry 0; entry bi starts aBatchStride floats later (0 = the same A for every entry).
 * bp: packed op(B) (from pack_b_task); entry bi starts bpBatchStride floats later (0 = broadcast B).
 * c: C (batch, M, N), contiguous. accumulate ≠ 0 adds into C instead of overwriting it.
 * bias: 0, or N floats padded with zeros to a multiple of NR, added to every row of C (nn.Linear's bias): the
 * first K block starts its accumulators from the bias instead of zero, so adding it costs nothing.
 * scratch + thread·scratchStride: this thread's private bytes (gemm_scratch_bytes()).
 */
export function gemm_task(
  t: i32, thread: i32,
  a: usize, transA: i32, m: i32, n: i32, k: i32, aBatchStride: i32,
  bp: usize, bpBatchStride: i32, c: usize, accumulate: i32, ncTile: i32, scratch: usize, scratchStride: i32,
  bias: usize, mcTile: i32,
): void {
  const mTiles = (m + mcTile - 1) / mcTile;
  const nTiles = (n + ncTile - 1) / ncTile;
  const bi = t / (mTiles * nTiles);
  const rest = t - bi * mTiles * nTiles;
  const it = rest / nTiles;
  const jt = rest - it * nTiles;
  const i0 = it * mcTile;
  const j0 = jt * ncTile;
  const mc = min(mcTile, m - i0);
  const nc = min(ncTile, n - j0);
  const npad = ceilTo(n, NR);

  const ap = scratch + <usize>thread * <usize>scratchStride; // packed A block, MC × KC floats
  const tmp = ap + ((<usize>MC * <usize>KC) << 2); // an MR×NR tile for edge stores
  const aEntry = a + ((<usize>bi * <usize>aBatchStride) << 2);
  const bEntry = bp + ((<usize>bi * <usize>bpBatchStride) << 2);
  const cTile = c + ((<usize>bi * <usize>m * <usize>n + <usize>i0 * <usize>n + <usize>j0) << 2);

  for (let p0 = 0; p0 < k; p0 += KC) {
    const kc = min(KC, k - p0);
    packA(aEntry, transA, m, k, i0, mc, p0, kc, ap);
    // The first K block overwrites C (unless accumulating); later blocks add their partial sums.
    const add = accumulate != 0 || p0 > 0;
    const biasHere: usize = p0 == 0 ? bias : 0;
    const bBlock = bEntry + ((<usize>p0 * <usize>npad) << 2);
    for (let ii = 0; ii < mc; ii += MR) {
      const rows = min(MR, mc - ii);
      const aPanel = ap + ((<usize>ii * <usize>kc) << 2); // stays in L1 for the whole row of panels
      for (let jj = 0; jj < nc; jj += NR) {
        const bPanel = bBlock + ((<usize>(j0 + jj) * <usize>kc) << 2);
        const cols = min(NR, nc - jj);
        const cPtr = cTile + ((<usize>ii * <usize>n + <usize>jj) << 2);
        const biasCols: usize = biasHere != 0 ? biasHere + ((<usize>(j0 + jj)) << 2) : 0;
        if (MR == 3) {
          if (rows == 1) kernel1x12(kc, aPanel, bPanel, cPtr, cols, add, tmp, biasCols);
          else kernel3x12(kc, aPanel, bPanel, cPtr, n, rows, cols, add, tmp, biasCols);
        } else {
          if (rows == 1) kernel1x8(kc, aPanel, bPanel, cPtr, cols, add, tmp, biasCols);
          else kernel4x8(kc, aPanel, bPanel, cPtr, n, rows, cols, add, tmp, biasCols);
        }
      }
    }
  }
}

/**
 * The 4×8 micro-kernel: C[0..4, 0..8] (+)= (bias[0..8] +) Σ_p a[p·4 + r] · b[p·8 + j] over p < kc.
 * ldc is the row stride of C in floats. Only the top-left rows × cols of the tile are written (edges).
 * bias: 0, or 8 floats the accumulators start from. Inlined into gemm_task: as a separate function it
 * measured 5 % slower.
 */
// @ts-ignore: decorator
@inline function kernel4x8(kc: i32, a: usize, b: usize, c: usize, ldc: i32, rows: i32, cols: i32, add: bool, tmp: usize, bias: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  if (bias != 0) {
    c00 = v128.load(bias);
    c01 = v128.load(bias, 16);
  }
  let c10 = c00, c11 = c01;
  let c20 = c00, c21 = c01;
  let c30 = c00, c31 = c01;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    const a0 = v128.load32_splat(a); // [a₀ a₀ a₀ a₀]
    c00 = madd(a0, b0, c00);
    c01 = madd(a0, b1, c01);
    const a1 = v128.load32_splat(a, 4);
    c10 = madd(a1, b0, c10);
    c11 = madd(a1, b1, c11);
    const a2 = v128.load32_splat(a, 8);
    c20 = madd(a2, b0, c20);
    c21 = madd(a2, b1, c21);
    const a3 = v128.load32_splat(a, 12);
    c30 = madd(a3, b0, c30);
    c31 = madd(a3, b1, c31);
    a += 4 << 2;
    b += 8 << 2;
  }
  const full = rows == 4 && cols == 8;
  // At an edge, the tile goes to tmp (stride NR) and only its valid part is copied to C.
  const dst = full ? c : tmp;
  const ld: usize = full ? <usize>ldc << 2 : 8 << 2;
  const addHere = add && full;
  storeRow(dst, c00, c01, addHere);
  storeRow(dst + ld, c10, c11, addHere);
  storeRow(dst + 2 * ld, c20, c21, addHere);
  storeRow(dst + 3 * ld, c30, c31, addHere);
  if (!full) copyEdge(tmp, c, ldc, rows, cols, add);
}

/**
 * The 3×12 micro-kernel of the relaxed build: C[0..3, 0..12] (+)= (bias[0..12] +) Σ_p a[p·3 + r] · b[p·12 + j].
 * Nine accumulators, three B vectors and one broadcast value of A: 13 of the 15 vector registers V8 hands out
 * on x86-64, so nothing spills. Per step p: 6 loads for 9 multiply-adds (4×8: 6 for 8), and one accumulator
 * more than the 8 that just cover a multiply-add's latency on two pipes, so a load that arrives late from L2
 * stalls less. In place, with B streamed from L2 as in gemm_task, it ran 5–7 % faster than 4×8 on Zen 4
 * (49.4 → 52.7 GFLOP/s for 128 × 768 × 256, 47.2 → 49.8 for 128 × 3072 × 256). The baseline build keeps 4×8:
 * there a multiply-add is two instructions and needs a register for the product, and 3×12 spills.
 */
// @ts-ignore: decorator
@inline function kernel3x12(kc: i32, a: usize, b: usize, c: usize, ldc: i32, rows: i32, cols: i32, add: bool, tmp: usize, bias: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0);
  if (bias != 0) {
    c00 = v128.load(bias);
    c01 = v128.load(bias, 16);
    c02 = v128.load(bias, 32);
  }
  let c10 = c00, c11 = c01, c12 = c02;
  let c20 = c00, c21 = c01, c22 = c02;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    const b2 = v128.load(b, 32);
    const a0 = v128.load32_splat(a); // [a₀ a₀ a₀ a₀]
    c00 = madd(a0, b0, c00);
    c01 = madd(a0, b1, c01);
    c02 = madd(a0, b2, c02);
    const a1 = v128.load32_splat(a, 4);
    c10 = madd(a1, b0, c10);
    c11 = madd(a1, b1, c11);
    c12 = madd(a1, b2, c12);
    const a2 = v128.load32_splat(a, 8);
    c20 = madd(a2, b0, c20);
    c21 = madd(a2, b1, c21);
    c22 = madd(a2, b2, c22);
    a += 3 << 2;
    b += 12 << 2;
  }
  const full = rows == 3 && cols == 12;
  // At an edge, the tile goes to tmp (stride NR) and only its valid part is copied to C.
  const dst = full ? c : tmp;
  const ld: usize = full ? <usize>ldc << 2 : 12 << 2;
  const addHere = add && full;
  storeRow3(dst, c00, c01, c02, addHere);
  storeRow3(dst + ld, c10, c11, c12, addHere);
  storeRow3(dst + 2 * ld, c20, c21, c22, addHere);
  if (!full) copyEdge(tmp, c, ldc, rows, cols, add);
}

/** One row of A against a 12-wide B panel (the relaxed build's kernel1x8); K unrolled by two likewise. */
function kernel1x12(kc: i32, a: usize, b: usize, c: usize, cols: i32, add: bool, tmp: usize, bias: usize): void {
  let e0 = f32x4.splat(0), e1 = f32x4.splat(0), e2 = f32x4.splat(0); // even p
  if (bias != 0) {
    e0 = v128.load(bias);
    e1 = v128.load(bias, 16);
    e2 = v128.load(bias, 32);
  }
  let o0 = f32x4.splat(0), o1 = f32x4.splat(0), o2 = f32x4.splat(0); // odd p
  let p = 0;
  for (; p + 2 <= kc; p += 2) {
    const x0 = v128.load32_splat(a);
    e0 = madd(x0, v128.load(b), e0);
    e1 = madd(x0, v128.load(b, 16), e1);
    e2 = madd(x0, v128.load(b, 32), e2);
    const x1 = v128.load32_splat(a, 3 << 2);
    o0 = madd(x1, v128.load(b, 48), o0);
    o1 = madd(x1, v128.load(b, 64), o1);
    o2 = madd(x1, v128.load(b, 80), o2);
    a += 6 << 2;
    b += 24 << 2;
  }
  if (p < kc) {
    const x0 = v128.load32_splat(a);
    e0 = madd(x0, v128.load(b), e0);
    e1 = madd(x0, v128.load(b, 16), e1);
    e2 = madd(x0, v128.load(b, 32), e2);
  }
  const r0 = f32x4.add(e0, o0);
  const r1 = f32x4.add(e1, o1);
  const r2 = f32x4.add(e2, o2);
  if (cols == 12) {
    storeRow3(c, r0, r1, r2, add);
  } else {
    storeRow3(tmp, r0, r1, r2, false);
    copyEdge(tmp, c, 0, 1, cols, add);
  }
}

// @ts-ignore: decorator
@inline function storeRow3(dst: usize, x0: v128, x1: v128, x2: v128, add: bool): void {
  if (add) {
    x0 = f32x4.add(x0, v128.load(dst));
    x1 = f32x4.add(x1, v128.load(dst, 16));
    x2 = f32x4.add(x2, v128.load(dst, 32));
  }
  v128.store(dst, x0);
  v128.store(dst, x1, 16);
  v128.store(dst, x2, 32);
}

/**
 * One row of A against an 8-wide B panel (M = 1, e.g. generating one token). The K loop is unrolled by two
 * with separate accumulators so consecutive multiply-adds do not wait on each other.
 */
function kernel1x8(kc: i32, a: usize, b: usize, c: usize, cols: i32, add: bool, tmp: usize, bias: usize): void {
  let e0 = f32x4.splat(0), e1 = f32x4.splat(0); // even p
  if (bias != 0) {
    e0 = v128.load(bias);
    e1 = v128.load(bias, 16);
  }
  let o0 = f32x4.splat(0), o1 = f32x4.splat(0); // odd p
  let p = 0;
  for (; p + 2 <= kc; p += 2) {
    const x0 = v128.load32_splat(a);
    e0 = madd(x0, v128.load(b), e0);
    e1 = madd(x0, v128.load(b, 16), e1);
    const x1 = v128.load32_splat(a, 4 << 2);
    o0 = madd(x1, v128.load(b, 32), o0);
    o1 = madd(x1, v128.load(b, 48), o1);
    a += 8 << 2;
    b += 16 << 2;
  }
  if (p < kc) {
    const x0 = v128.load32_splat(a);
    e0 = madd(x0, v128.load(b), e0);
    e1 = madd(x0, v128.load(b, 16), e1);
  }
  const r0 = f32x4.add(e0, o0);
  const r1 = f32x4.add(e1, o1);
  if (cols == 8) {
    storeRow(c, r0, r1, add);
  } else {
    storeRow(tmp, r0, r1, false);
    copyEdge(tmp, c, 0, 1, cols, add);
  }
}

// @ts-ignore: decorator
@inline function storeRow(dst: usize, x0: v128, x1: v128, add: bool): void {
  if (add) {
    x0 = f32x4.add(x0, v128.load(dst));
    x1 = f32x4.add(x1, v128.load(dst, 16));
  }
  v128.store(dst, x0);
  v128.store(dst, x1, 16);
}

/** Copy the valid rows × cols of a tile held in tmp (row stride NR) into C (row stride ldc floats). */
function copyEdge(tmp: usize, c: usize, ldc: i32, rows: i32, cols: i32, add: bool): void {
  for (let r = 0; r < rows; r++) {
    const src = tmp + (<usize>(r * NR) << 2);
    const dst = c + ((<usize>r * <usize>ldc) << 2);
    for (let j = 0; j < cols; j++) {
      const o = <usize>j << 2;
      const x = load<f32>(src + o);
      store<f32>(dst + o, add ? load<f32>(dst + o) + x : x);
    }
  }
}

// @ts-ignore: decorator
@inline function ceilTo(x: i32, m: i32): i32 {
  return ((x + m - 1) / m) * m;
}

// ---------------------------------------------------------------------------------------------------------
// A few rows: matrix-vector products reading B where it is

/**
 * Task t of C = op(A)·op(B) (+ C) (+ bias) for a few rows of A (m ≤ 8; with more, src/backend/wasm/matmul.ts
 * packs B and runs gemm_task): columns [t·colsPerTask, …) of C for every row, reading B in its stored layout,
 * unpacked. With one token at a time (decoding) the product is a matrix-vector product: every element of B is
 * used once per row of A, so the time is how fast B streams from memory, and packing B first would only add a
 * pass over it (and a packed copy to keep). With a few rows (beams, a small batch) each value of B, once
 * loaded, is used for several rows, so four rows should cost one pass over B plus four times the multiply-adds —
 * which holds only while B is read as one or two long contiguous streams, never as many short ones:
 *   transB = 0, B stored (K, N) (GPT-2's Conv1D): C[r, j] = Σ_p A[r, p]·B[p, j]; rows of B stream by and are
 *     multiplied into the rows of C, which stay in L1;
 *   transB = 1, B stored (N, K) (torch.nn.Linear): C[r, j] = A[r, :]·B[j, :]; each row of B is dotted with all
 *     the rows of A at once (A stays in L1).
 * a: A (m, K) contiguous; c: C (m, N) contiguous; bias: 0 or N floats; accumulate ≠ 0 adds into C.
 */
export function gemv_task(
  t: i32, thread: i32,
  a: usize, m: i32, k: i32, n: i32, b: usize, transB: i32, c: usize, accumulate: i32, bias: usize, colsPerTask: i32,
): void {
  const j0 = t * colsPerTask;
  const j1 = min(n, j0 + colsPerTask);
  if (j0 >= j1) return;
  // Rows in groups of up to four, each group one pass over B: the sums of four rows are all the registers
  // hold next to B's values. (One pass for 5–8 rows, with one register per row, ran 1.3–1.7× slower than
  // two passes: per value of B it needs as many loads of A, or stores of C, as multiply-adds.)
  const lda = <usize>k << 2, ldc = <usize>n << 2;
  for (let r0 = 0; r0 < m; r0 += 4) {
    const rows = min(4, m - r0);
    const ar = a + <usize>r0 * lda, cr = c + <usize>r0 * ldc;
    if (transB == 0) {
      if (rows == 1) gemvRowsKN(ar, k, n, b, cr, accumulate, bias, j0, j1);
      else gemmSmallKN(ar, rows, k, n, b, cr, accumulate, bias, j0, j1);
    } else {
      if (rows == 1) gemvDotsNK(ar, k, b, cr, accumulate, bias, j0, j1);
      else gemmSmallNK(ar, rows, k, b, cr, n, accumulate, bias, j0, j1);
    }
  }
}

/**
 * Task t of a few rows of A times B stored (K, N) with the sum over K cut into parts (src/backend/wasm/matmul.ts
 * uses it on the pool): part[t] (m, N) = A[:, p0..p1)·B[p0..p1, :] for the rows p0..p1 = t·kPerTask … of B.
 * Why cut K and not N: a task then reads whole rows of B, one contiguous block of memory, where cutting N made
 * every task read a short slice of every row (a jump of N floats per row, which the prefetcher follows
 * poorly): on one thread, a 768 × 768 weight took 1.5× as long cut into 2 column groups as whole, 1.8× in 8,
 * so two threads sharing a column-cut product were slower than one thread alone. gemv_reduce_task then adds
 * the parts (a few times N floats, from L2) into C.
 */
export function gemv_ksplit_task(t: i32, thread: i32, a: usize, m: i32, k: i32, n: i32, b: usize, part: usize, kPerTask: i32): void {
  const p0 = t * kPerTask;
  const kk = min(k, p0 + kPerTask) - p0;
  const dst = part + <usize>t * <usize>m * (<usize>n << 2);
  const lda = <usize>k << 2, ldc = <usize>n << 2;
  for (let r0 = 0; r0 < m; r0 += 4) {
    const rows = min(4, m - r0);
    const ar = a + <usize>r0 * lda + (<usize>p0 << 2), cr = dst + <usize>r0 * ldc;
    const br = b + <usize>p0 * ldc;
    const width = max(4, (KN_BLOCK_FLOATS / rows) & ~3);
    for (let jb = 0; jb < n; jb += width) {
      const je = min(n, jb + width);
      if (rows == 1) rowsKN1(ar, lda, kk, n, br, cr, 0, 0, jb, je);
      else if (rows == 2) rowsKN2(ar, lda, kk, n, br, cr, 0, 0, jb, je);
      else if (rows == 3) rowsKN3(ar, lda, kk, n, br, cr, 0, 0, jb, je);
      else rowsKN4(ar, lda, kk, n, br, cr, 0, 0, jb, je);
    }
  }
}

/**
 * Task t of the sum after gemv_ksplit_task: C[i] = Σ_q part[q][i] (+ C[i] when accumulating) (+ bias[i mod N])
 * for the elements i in [t·chunk, (t + 1)·chunk) of C (m·N floats), chunk a multiple of 4.
 */
export function gemv_reduce_task(t: i32, thread: i32, part: usize, parts: i32, total: i32, c: usize, accumulate: i32, bias: usize, n: i32, chunk: i32): void {
  const i0 = t * chunk;
  const i1 = min(total, i0 + chunk);
  const stride = <usize>total << 2;
  // Four neighbours of C have four neighbouring biases unless a row of C ends among them: vectors only when
  // N is a multiple of 4 (or there is no bias).
  const vec = bias == 0 || (n & 3) == 0;
  let i = i0;
  if (vec) {
    for (; i + 4 <= i1; i += 4) {
      const o = <usize>i << 2;
      let x = v128.load(part + o);
      for (let q = 1; q < parts; q++) x = f32x4.add(x, v128.load(part + <usize>q * stride + o));
      if (accumulate != 0) x = f32x4.add(x, v128.load(c + o));
      if (bias != 0) x = f32x4.add(x, v128.load(bias + (<usize>(i % n) << 2)));
      v128.store(c + o, x);
    }
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    let x: f32 = load<f32>(part + o);
    for (let q = 1; q < parts; q++) x += load<f32>(part + <usize>q * stride + o);
    if (accumulate != 0) x += load<f32>(c + o);
    if (bias != 0) x += load<f32>(bias + (<usize>(i % n) << 2));
    store<f32>(c + o, x);
  }
}

/** Store one result to dst (+ dst when accumulating) (+ bias). */
// @ts-ignore: decorator
@inline function store1(dst: usize, x: f32, add: i32, bias: usize): void {
  if (bias != 0) x += load<f32>(bias);
  if (add != 0) x += load<f32>(dst);
  store<f32>(dst, x);
}

/**
 * One row of A, B (K, N): c[j0..j1) = Σ_p a[p]·B[p, j0..j1). B is read row by row, each row's slice one
 * contiguous stream, while c's slice (at most N floats) stays in L1. Both alternatives measured slower on one
 * thread decoding GPT-2 124M: walking down 32-column strips at a stride of N floats (a new page almost every
 * row: 24 tokens per CPU-second) and four rows side by side (four streams: 28); one row at a time: ~41, as
 * fast as the packed copy this replaced, with no copy.
 */
function gemvRowsKN(a: usize, k: i32, n: i32, b: usize, c: usize, add: i32, bias: usize, j0: i32, j1: i32): void {
  const ld = <usize>n << 2;
  const c0 = c + (<usize>j0 << 2);
  const cols = j1 - j0;
  const v = cols & ~3; // whole vectors; the last cols - v columns are scalar
  // c starts as its old value (accumulate) or 0, plus the bias.
  for (let j = 0; j < cols; j++) {
    const dst = c0 + (<usize>j << 2);
    let x: f32 = add != 0 ? load<f32>(dst) : 0;
    if (bias != 0) x += load<f32>(bias + (<usize>(j0 + j) << 2));
    store<f32>(dst, x);
  }
  for (let p = 0; p < k; p++) {
    const ap = a + (<usize>p << 2);
    const x0 = v128.load32_splat(ap);
    const r0 = b + <usize>p * ld + (<usize>j0 << 2);
    let j = 0;
    for (; j + 16 <= v; j += 16) {
      const o = <usize>j << 2;
      const d = c0 + o, r = r0 + o;
      v128.store(d, madd(x0, v128.load(r), v128.load(d)));
      v128.store(d, madd(x0, v128.load(r, 16), v128.load(d, 16)), 16);
      v128.store(d, madd(x0, v128.load(r, 32), v128.load(d, 32)), 32);
      v128.store(d, madd(x0, v128.load(r, 48), v128.load(d, 48)), 48);
    }
    for (; j < v; j += 4) {
      const o = <usize>j << 2;
      v128.store(c0 + o, madd(x0, v128.load(r0 + o), v128.load(c0 + o)));
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      store<f32>(c0 + o, load<f32>(c0 + o) + load<f32>(ap) * load<f32>(r0 + o));
    }
  }
}

/**
 * One row of A, B (N, K): c[j] = A·B[j, :] for j in j0..j1, one row of B at a time — a single contiguous stream
 * (reading four rows side by side ran ~25 % slower: more streams for the prefetcher to follow).
 */
function gemvDotsNK(a: usize, k: i32, b: usize, c: usize, add: i32, bias: usize, j0: i32, j1: i32): void {
  const ld = <usize>k << 2;
  for (let j = j0; j < j1; j++) store1(c + (<usize>j << 2), dotRow(a, b + <usize>j * ld, k), add, bias != 0 ? bias + (<usize>j << 2) : 0);
}

/** Σ_p x[p]·y[p] over k floats, 16 at a time in four independent sums. */
function dotRow(x: usize, y: usize, k: i32): f32 {
  let e0 = f32x4.splat(0), e1 = e0, e2 = e0, e3 = e0;
  let p = 0;
  for (; p + 16 <= k; p += 16) {
    const o = <usize>p << 2;
    e0 = madd(v128.load(x + o), v128.load(y + o), e0);
    e1 = madd(v128.load(x + o, 16), v128.load(y + o, 16), e1);
    e2 = madd(v128.load(x + o, 32), v128.load(y + o, 32), e2);
    e3 = madd(v128.load(x + o, 48), v128.load(y + o, 48), e3);
  }
  for (; p + 4 <= k; p += 4) e0 = madd(v128.load(x + (<usize>p << 2)), v128.load(y + (<usize>p << 2)), e0);
  const acc = f32x4.add(f32x4.add(e0, e1), f32x4.add(e2, e3));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; p < k; p++) s += load<f32>(x + (<usize>p << 2)) * load<f32>(y + (<usize>p << 2));
  return s;
}

/**
 * Floats of C a block of gemmSmallKN keeps in L1 while B's rows stream by (16 KiB: half of a 32 KiB L1 data
 * cache, leaving room for B's streams). With m rows that is KN_BLOCK_FLOATS / m columns: 2048 for two rows,
 * 1024 for four.
 */
const KN_BLOCK_FLOATS: i32 = 4096;

/**
 * 2–4 rows of A, B (K, N): C[r, j0..j1) = Σ_p A[r, p]·B[p, j0..j1) for every r < m — gemvRowsKN for several
 * rows at once. Row p of B is loaded once, 4 values at a time, and each vector is multiplied into all m rows of
 * C. C's rows are summed in place, so the columns are cut into blocks whose m rows fit in L1 (KN_BLOCK_FLOATS);
 * within a block each row of B is still read as one contiguous run of at least 4 KiB. (The strips of 8
 * columns this replaced, with C in registers and B read down a column at a stride of N floats, streamed a
 * 768 × 3072 weight at under half the speed for four rows.)
 */
function gemmSmallKN(a: usize, m: i32, k: i32, n: i32, b: usize, c: usize, add: i32, bias: usize, j0: i32, j1: i32): void {
  const width = max(4, (KN_BLOCK_FLOATS / m) & ~3);
  for (let jb = j0; jb < j1; jb += width) {
    const je = min(j1, jb + width);
    // One function per row count: inside each, the count is a constant, so each keeps exactly m vectors of A
    // per row of B in registers and has no per-row branches left in its inner loop.
    if (m == 2) rowsKN2(a, <usize>k << 2, k, n, b, c, add, bias, jb, je);
    else if (m == 3) rowsKN3(a, <usize>k << 2, k, n, b, c, add, bias, jb, je);
    else rowsKN4(a, <usize>k << 2, k, n, b, c, add, bias, jb, je);
  }
}

// Separate (not inlined) functions: inlined into one, the optimizer merges the copies back into one loop
// with the row count as a variable (measured: four rows at half the speed).
function rowsKN1(a: usize, lda: usize, k: i32, n: i32, b: usize, c: usize, add: i32, bias: usize, j0: i32, j1: i32): void { rowsKN(1, a, lda, k, n, b, c, add, bias, j0, j1); }
function rowsKN2(a: usize, lda: usize, k: i32, n: i32, b: usize, c: usize, add: i32, bias: usize, j0: i32, j1: i32): void { rowsKN(2, a, lda, k, n, b, c, add, bias, j0, j1); }
function rowsKN3(a: usize, lda: usize, k: i32, n: i32, b: usize, c: usize, add: i32, bias: usize, j0: i32, j1: i32): void { rowsKN(3, a, lda, k, n, b, c, add, bias, j0, j1); }
function rowsKN4(a: usize, lda: usize, k: i32, n: i32, b: usize, c: usize, add: i32, bias: usize, j0: i32, j1: i32): void { rowsKN(4, a, lda, k, n, b, c, add, bias, j0, j1); }

/**
 * The block j0..j1 of gemmSmallKN for R ≤ 4 rows (R a constant after inlining: the `R > r` tests fold away),
 * over k rows of B starting at b, the matching k columns of A's rows (lda bytes apart) starting at a.
 * Per pair of vectors of B: two loads, then for each row a load of C, two multiply-adds and a store.
 */
// @ts-ignore: decorator
@inline function rowsKN(R: i32, a: usize, lda: usize, k: i32, n: i32, b: usize, c: usize, add: i32, bias: usize, j0: i32, j1: i32): void {
  const ld = <usize>n << 2; // bytes between rows of B, and between rows of C (lda: between rows of A)
  const cols = j1 - j0;
  const v = cols & ~3; // whole vectors; the last cols − v columns are scalar
  const c0 = c + (<usize>j0 << 2);
  // Each row of C's block starts as its old value (accumulate) or 0, plus the bias.
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < cols; j++) {
      const dst = c0 + <usize>r * ld + (<usize>j << 2);
      let x: f32 = add != 0 ? load<f32>(dst) : 0;
      if (bias != 0) x += load<f32>(bias + (<usize>(j0 + j) << 2));
      store<f32>(dst, x);
    }
  }
  // Two rows of B per pass, p and p + kh (kh = ⌊k/2⌋), so each vector of C is loaded and stored once per two
  // multiply-adds, not one (with one row of B per pass, four rows of C made 4 stores per 16 bytes of B, and
  // the stores set the pace: 1.5–2× slower). The two rows come from the two halves of B, each read front to
  // back: two long streams, rather than neighbouring rows p, p + 1 (two short streams that restart every pass).
  const kh = k >> 1;
  for (let p = 0; p < kh; p++) {
    const ap = a + (<usize>p << 2), aq = ap + (<usize>kh << 2);
    const x0 = v128.load32_splat(ap), y0 = v128.load32_splat(aq);
    const x1 = R > 1 ? v128.load32_splat(ap + lda) : x0, y1 = R > 1 ? v128.load32_splat(aq + lda) : y0;
    const x2 = R > 2 ? v128.load32_splat(ap + 2 * lda) : x0, y2 = R > 2 ? v128.load32_splat(aq + 2 * lda) : y0;
    const x3 = R > 3 ? v128.load32_splat(ap + 3 * lda) : x0, y3 = R > 3 ? v128.load32_splat(aq + 3 * lda) : y0;
    const bp = b + <usize>p * ld + (<usize>j0 << 2);
    const bq = bp + <usize>kh * ld;
    let j = 0;
    for (; j < v; j += 4) {
      const o = <usize>j << 2;
      const w = v128.load(bp + o), u = v128.load(bq + o);
      const d = c0 + o;
      v128.store(d, madd(y0, u, madd(x0, w, v128.load(d))));
      if (R > 1) v128.store(d + ld, madd(y1, u, madd(x1, w, v128.load(d + ld))));
      if (R > 2) v128.store(d + 2 * ld, madd(y2, u, madd(x2, w, v128.load(d + 2 * ld))));
      if (R > 3) v128.store(d + 3 * ld, madd(y3, u, madd(x3, w, v128.load(d + 3 * ld))));
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      const w = load<f32>(bp + o), u = load<f32>(bq + o);
      for (let r = 0; r < R; r++) {
        const d = c0 + <usize>r * ld + o;
        store<f32>(d, load<f32>(d) + load<f32>(ap + <usize>r * lda) * w + load<f32>(aq + <usize>r * lda) * u);
      }
    }
  }
  // With k odd, the last row of B on its own.
  if (k & 1) {
    const p = k - 1;
    const ap = a + (<usize>p << 2);
    const x0 = v128.load32_splat(ap);
    const x1 = R > 1 ? v128.load32_splat(ap + lda) : x0;
    const x2 = R > 2 ? v128.load32_splat(ap + 2 * lda) : x0;
    const x3 = R > 3 ? v128.load32_splat(ap + 3 * lda) : x0;
    const bRow = b + <usize>p * ld + (<usize>j0 << 2);
    let j = 0;
    for (; j < v; j += 4) {
      const o = <usize>j << 2;
      const w = v128.load(bRow + o);
      const d = c0 + o;
      v128.store(d, madd(x0, w, v128.load(d)));
      if (R > 1) v128.store(d + ld, madd(x1, w, v128.load(d + ld)));
      if (R > 2) v128.store(d + 2 * ld, madd(x2, w, v128.load(d + 2 * ld)));
      if (R > 3) v128.store(d + 3 * ld, madd(x3, w, v128.load(d + 3 * ld)));
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      const w = load<f32>(bRow + o);
      for (let r = 0; r < R; r++) {
        const d = c0 + <usize>r * ld + o;
        store<f32>(d, load<f32>(d) + load<f32>(ap + <usize>r * lda) * w);
      }
    }
  }
}

/**
 * 2–4 rows of A, B (N, K): c[r, j] = A[r, :]·B[j, :] for j in j0..j1. Two rows of B at a time, each vector of
 * them multiplied with all four rows of A (8 accumulators: 6 loads per 8 multiply-adds, where one row of B at a
 * time needs 10 and ran 25 % slower with B in cache). The two rows are not neighbours but j and j + h, h half
 * the range: the first half of the range and the second are each read front to back, two long contiguous
 * streams. (Neighbouring rows j and j + 1, the kernel this replaced, make a pair of new 2 KiB streams every step
 * down a 512-wide weight, and ran the 58 101 × 512 output layer of a translation model, far bigger than the
 * caches, at a quarter of the speed of one row.) Rows of A past m repeat the last one (computed, never stored).
 */
function gemmSmallNK(a: usize, m: i32, k: i32, b: usize, c: usize, n: i32, add: i32, bias: usize, j0: i32, j1: i32): void {
  const ld = <usize>k << 2; // bytes between rows of B, and between rows of A
  const a1 = a + (m > 1 ? ld : 0), a2 = a + <usize>min(2, m - 1) * ld, a3 = a + <usize>min(3, m - 1) * ld;
  const k4 = k & ~3;
  const h = (j1 - j0 + 1) >> 1; // rows j0 + i and j0 + h + i go together; with an odd count the middle row is alone
  for (let i = 0; i < h; i++) {
    const ja = j0 + i;
    const jb = j0 + h + i;
    const two = jb < j1;
    const ba = b + <usize>ja * ld;
    const bb = two ? b + <usize>jb * ld : ba;
    let s0 = f32x4.splat(0), t0 = s0, s1 = s0, t1 = s0, s2 = s0, t2 = s0, s3 = s0, t3 = s0; // s: row ja, t: row jb
    let p = 0;
    for (; p < k4; p += 4) {
      const o = <usize>p << 2;
      const wa = v128.load(ba + o), wb = v128.load(bb + o);
      const x0 = v128.load(a + o);
      s0 = madd(x0, wa, s0);
      t0 = madd(x0, wb, t0);
      const x1 = v128.load(a1 + o);
      s1 = madd(x1, wa, s1);
      t1 = madd(x1, wb, t1);
      const x2 = v128.load(a2 + o);
      s2 = madd(x2, wa, s2);
      t2 = madd(x2, wb, t2);
      const x3 = v128.load(a3 + o);
      s3 = madd(x3, wa, s3);
      t3 = madd(x3, wb, t3);
    }
    // [A₀·B_ja, A₁·B_ja, A₂·B_ja, A₃·B_ja] and the same for jb, then the last k mod 4 products.
    let ya = hsum4(s0, s1, s2, s3);
    let yb = hsum4(t0, t1, t2, t3);
    for (; p < k; p++) {
      const x = column4(a, a1, a2, a3, p);
      ya = madd(x, v128.load32_splat(ba + (<usize>p << 2)), ya);
      yb = madd(x, v128.load32_splat(bb + (<usize>p << 2)), yb);
    }
    storeColumn(c, n, m, ja, ya, add, bias);
    if (two) storeColumn(c, n, m, jb, yb, add, bias);
  }
}

/** [r0[p], r1[p], r2[p], r3[p]]: one value from each of four rows. */
// @ts-ignore: decorator
@inline function column4(r0: usize, r1: usize, r2: usize, r3: usize, p: i32): v128 {
  const o = <usize>p << 2;
  let x = v128.load32_splat(r0 + o);
  x = f32x4.replace_lane(x, 1, load<f32>(r1 + o));
  x = f32x4.replace_lane(x, 2, load<f32>(r2 + o));
  return f32x4.replace_lane(x, 3, load<f32>(r3 + o));
}

/** Lane r of y to C[r, j] (row stride n floats) for r < rows (≤ 4), each + bias[j] and + its old value when adding. */
// @ts-ignore: decorator
@inline function storeColumn(c: usize, n: i32, rows: i32, j: i32, y: v128, add: i32, bias: usize): void {
  const dst = c + (<usize>j << 2);
  const ldc = <usize>n << 2;
  const bj: usize = bias != 0 ? bias + (<usize>j << 2) : 0;
  store1(dst, f32x4.extract_lane(y, 0), add, bj);
  if (rows > 1) store1(dst + ldc, f32x4.extract_lane(y, 1), add, bj);
  if (rows > 2) store1(dst + 2 * ldc, f32x4.extract_lane(y, 2), add, bj);
  if (rows > 3) store1(dst + 3 * ldc, f32x4.extract_lane(y, 3), add, bj);
}
