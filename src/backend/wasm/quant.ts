// Backend.quantizedMatmul on the WebAssembly kernels (kernels/quant.ts): float activations times an int8 or
// int4 weight W, stored (N, K) with float32 scales (QuantizedWeight in ../backend.ts).
//
// Shape letters: M rows of A (tokens), N outputs, K inputs; kp = K rounded up to the 32-value activation block.
//
// Two ways, as for float weights (matmul.ts):
//   a few rows (M ≤ QUANT_SMALL_M = 4: decoding, a few beams). The product streams W from memory once, so W's bytes are
//     the cost. Each row of A is quantised to a small integer grid in blocks of 32 (quant_act_task, on the
//     calling thread: a row is a few thousand values), then qgemv_task runs integer dot products over W's rows,
//     the rows split between the threads.
//   more rows (a prompt). The product is compute-bound and the float GEMM is the fast kernel, so W is
//     dequantised a block of rows at a time (dequant_rows_task; at most DEQUANT_BLOCK_BYTES of float32, so the
//     block is still in cache when it is packed and read), and each block — a (rows, K) slice of W, i.e. a
//     group of C's columns — goes through matmul.ts's gemmInMemory (pack_b_task + gemm_task); its columns of C
//     are copied out. W is never expanded whole: a GPT-2 LM head (50257 × 768) takes 75 blocks.
// W and its scales are read where they are when they live in WebAssembly memory (src/quant allocates them there
// with Backend.allocate), else copied into the work area for the call.

import { checkQuantized, type MatmulSpec, type QuantizedMatmulSpec, type QuantizedWeight } from '../backend.js';
import type { KernelExports } from './kernels.js';
import { Layout, WasmHeap, WorkArea } from './heap.js';
import type { WasmMatmul } from './matmul.js';
import type { ThreadPool } from './pool.js';

/** Values per activation block (QUANT_BLOCK in kernels/quant.ts). */
const BLOCK = 32;
/** Up to this many rows of A take the integer path (qgemv_task keeps one sum per row in the lanes of a vector). */
const QUANT_SMALL_M = 4;
/** Bytes past W's last row qgemv_task may read (int8 rows whose K is not a multiple of 32). */
export const QUANT_SLACK_BYTES = BLOCK;
/** Most bytes of float32 one dequantised block of W takes on the GEMM path (about an L2 cache). */
export const DEQUANT_BLOCK_BYTES = 1 << 21;
/** Tasks per thread for the row-splitting jobs: several, so a thread slowed by the host holds no one up. */
const TASKS_PER_THREAD = 4;
/**
 * Tasks per thread for an int8 few-row product: one. It streams the weight from memory, and one long stream
 * per thread ran faster than four short ones: GPT-2 124M decoding on two threads, the two settings alternated
 * in one process, 214 vs 197 and 186 vs 177 tokens/s (medians of 14 and 10 generations; one task per thread
 * faster in 21 of 24 pairs). int4's products are bound by their instructions, not by memory, and showed no
 * difference either way, so they keep TASKS_PER_THREAD. A thread the host slows holds the product up for its
 * half; on a busy machine few-row products are not shared at all (ThreadPool.worthParallel).
 */
const INT8_GEMV_TASKS_PER_THREAD = 1;

export class WasmQuantMatmul {
  constructor(
    private readonly kernels: KernelExports,
    private readonly heap: WasmHeap,
    private readonly work: WorkArea,
    private readonly pool: ThreadPool,
    private readonly mm: WasmMatmul,
  ) {}

  matmul(a: Float32Array, w: QuantizedWeight, out: Float32Array, spec: QuantizedMatmulSpec): void {
    checkQuantized('quantizedMatmul (wasm)', a, w, out, spec);
    const M = spec.rows;
    if (M === 0) return;
    // The pool's rules, as for float products (lag, a busy machine; a few rows stream the weight: `streaming`).
    const parallel = this.pool.worthParallel(2 * M * w.n * w.k, this.mm.parallelMinFlops, M <= QUANT_SMALL_M);
    if (parallel) this.pool.prewake(); // workers wake while we copy
    if (M <= QUANT_SMALL_M) this.gemv(a, w, out, spec, parallel);
    else this.gemm(a, w, out, spec, parallel);
  }

  /** The few-rows path: quantise A's rows, then integer dot products over W's rows. */
  private gemv(a: Float32Array, w: QuantizedWeight, out: Float32Array, spec: QuantizedMatmulSpec, parallel: boolean): void {
    const { rows: M, bias } = spec;
    const { bits, n: N, k: K } = w;
    const kp = Math.ceil(K / BLOCK) * BLOCK;
    const G = K / w.groupSize;
    // The kernels see one group of kp inputs when there is one scale per row (K need not be a multiple of 32).
    const kernelGroup = G === 1 ? kp : w.groupSize;
    const dataBytes = bits === 8 ? N * K : (N * K) / 2;

    const l = new Layout();
    const aOff = l.add(M * kp * 4); // A, rows padded with zeros to kp
    const aqOff = l.add(M * kp * 2); // quantised A (int16, or int8 in half the room)
    const asOff = l.add(M * (kp / BLOCK) * 4); // block scales
    const acOff = l.add(M * G * 4); // int4: per-group corrections
    const cOff = l.add(M * N * 4);
    const biasOff = bias ? l.add(N * 4) : -1;
    const wHome = this.home(w.data, dataBytes + QUANT_SLACK_BYTES);
    const sHome = this.home(w.scales, w.scales.byteLength);
    const wOff = wHome === 0 ? l.add(dataBytes + QUANT_SLACK_BYTES) : -1;
    const sOff = sHome === 0 ? l.add(N * G * 4) : -1;
    const base = this.work.reserve(l.size);

    const f32 = this.heap.f32;
    for (let r = 0; r < M; r++) {
      const at = (base + aOff) / 4 + r * kp;
      f32.set(a.subarray(r * K, r * K + K), at);
      f32.fill(0, at + K, at + kp);
    }
    if (bias) f32.set(bias.subarray(0, N), (base + biasOff) / 4);
    if (wHome === 0) this.heap.u8.set(w.data.subarray(0, dataBytes), base + wOff);
    if (sHome === 0) f32.set(w.scales.subarray(0, N * G), (base + sOff) / 4);
    const wPtr = wHome !== 0 ? wHome : base + wOff;
    const sPtr = sHome !== 0 ? sHome : base + sOff;

    this.pool.run('quant_act_task', M, [base + aOff, M, kp, bits, kernelGroup, base + aqOff, base + asOff, base + acOff], false);
    const tasks = parallel ? Math.min(N, (bits === 8 ? INT8_GEMV_TASKS_PER_THREAD : TASKS_PER_THREAD) * this.pool.threads) : 1;
    const rowsPerTask = Math.ceil(N / tasks);
    this.pool.run(
      'qgemv_task',
      Math.ceil(N / rowsPerTask),
      [bits, M, kp, N, wPtr, bits === 8 ? K : K / 2, sPtr, G, kernelGroup, base + aqOff, base + asOff, base + acOff, base + cOff, bias ? base + biasOff : 0, rowsPerTask],
      parallel,
    );
    out.set(this.heap.f32.subarray((base + cOff) / 4, (base + cOff) / 4 + M * N));
  }

  /** The many-rows path: blocks of W's rows dequantised, packed and multiplied by the float GEMM. */
  private gemm(a: Float32Array, w: QuantizedWeight, out: Float32Array, spec: QuantizedMatmulSpec, parallel: boolean): void {
    const { rows: M, bias } = spec;
    const { bits, n: N, k: K, groupSize } = w;
    const G = K / groupSize;
    const dataBytes = bits === 8 ? N * K : (N * K) / 2;
    // Rows of W per block: a multiple of NR (whole packed panels) within the byte budget; all of W if it fits.
    const { NR } = this.kernels.tile;
    const fit = Math.max(NR, Math.floor(DEQUANT_BLOCK_BYTES / (4 * K) / NR) * NR);
    const nb = Math.min(N, fit);
    const single = nb === N;

    const l = new Layout();
    const aOff = l.add(M * K * 4);
    const tOff = l.add(nb * K * 4); // one dequantised block of W, (nb, K)
    const pOff = l.add(this.kernels.packed_b_floats(K, nb) * 4); // the same, packed for gemm_task
    const cOff = l.add(M * nb * 4); // the block's columns of C (all of C when there is one block)
    const biasOff = bias ? l.add(this.mm.padN(N) * 4) : -1; // padded: gemm_task reads whole NR-column panels
    const scratchOff = l.add(this.mm.scratchBytes());
    const wHome = this.home(w.data, dataBytes);
    const sHome = this.home(w.scales, w.scales.byteLength);
    const wOff = wHome === 0 ? l.add(dataBytes) : -1;
    const sOff = sHome === 0 ? l.add(N * G * 4) : -1;
    const base = this.work.reserve(l.size);

    const f32 = this.heap.f32;
    f32.set(a.subarray(0, M * K), (base + aOff) / 4);
    if (bias) {
      f32.set(bias.subarray(0, N), (base + biasOff) / 4);
      f32.fill(0, (base + biasOff) / 4 + N, (base + biasOff) / 4 + this.mm.padN(N));
    }
    if (wHome === 0) this.heap.u8.set(w.data.subarray(0, dataBytes), base + wOff);
    if (sHome === 0) f32.set(w.scales.subarray(0, N * G), (base + sOff) / 4);
    const wPtr = wHome !== 0 ? wHome : base + wOff;
    const sPtr = sHome !== 0 ? sHome : base + sOff;

    for (let j0 = 0; j0 < N; j0 += nb) {
      const rows = Math.min(nb, N - j0);
      const tasks = parallel ? Math.min(rows, TASKS_PER_THREAD * this.pool.threads) : 1;
      const rowsPerTask = Math.ceil(rows / tasks);
      this.pool.run(
        'dequant_rows_task',
        Math.ceil(rows / rowsPerTask),
        [bits, wPtr, bits === 8 ? K : K / 2, K, sPtr, G, groupSize, j0, j0 + rows, rowsPerTask, base + tOff],
        parallel,
      );
      // C[:, j0 : j0 + rows] = A (M, K) · block (rows, K)ᵀ (+ bias[j0 : j0 + rows]): the block is B stored (N, K).
      const mmSpec: MatmulSpec = { batch: 1, m: M, n: rows, k: K, transA: false, transB: true, aBatchStride: 0, bBatchStride: 0, accumulate: false };
      this.mm.gemmInMemory(
        mmSpec,
        { a: base + aOff, bRaw: base + tOff, bp: base + pOff, c: base + cOff, bias: bias ? base + biasOff + j0 * 4 : 0, scratch: base + scratchOff },
        parallel,
      );
      const after = this.heap.f32;
      const c = (base + cOff) / 4;
      if (single) out.set(after.subarray(c, c + M * N));
      else for (let r = 0; r < M; r++) out.set(after.subarray(c + r * rows, c + (r + 1) * rows), r * N + j0);
    }
  }

  /**
   * Byte address of `x` when it lives in this memory with `bytes` readable from its start (W's rows may be read
   * a little past their end), else 0: then it is copied into the work area for the call.
   */
  private home(x: Uint8Array | Float32Array, bytes: number): number {
    if (!this.heap.owns(x)) return 0;
    return x.byteOffset + bytes <= this.heap.u8.length ? x.byteOffset : 0;
  }
}
