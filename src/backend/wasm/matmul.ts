// Backend.matmul on the WebAssembly kernels: check the spec, put the operands where the kernels can read
// them, run the tasks on the pool, copy C out. Backend.linearBackward runs its two products (and the bias-
// gradient column sums) on one copy of dy: gemmInMemory is the part of a matmul that works on operands already
// in memory.
//
// Shape letters: B batch, M/N/K matmul dims; op(A) is (M, K), op(B) is (K, N), out is (B, M, N).
//
// Where B comes from. A weight that lives in the WebAssembly memory already (parameters are allocated there:
// Backend.allocate) is read in place — no copy at all, and no second copy kept. A weight that does not (built
// from an ordinary array) is copied in once per version (spec.bVersion) and the copy kept, keyed by the
// Float32Array itself (a WeakMap, so it never keeps an array alive), until the array is collected or changes;
// when the memory has no room left the rest are copied per call instead of evicting (cycling through more
// weights than fit would otherwise evict each one just before it is needed again). Other operands are copied
// into a per-call work area.
//
// Two ways to multiply. With a few rows of A (M ≤ 8: generating one token at a time, a few beams, a small batch) the
// product is bound by streaming B from memory, and gemv_task reads B in its stored layout. With more rows B is
// first packed into panels (pack_b_task) and the BLIS-style gemm_task reuses each panel across 128 rows of A;
// packing costs one pass over B against M passes of compute.

import type { LinearSpec, MatmulSpec } from '../backend.js';
import type { KernelExports } from './kernels.js';
import { Layout, WasmHeap, WorkArea, fmtBytes } from './heap.js';
import type { ThreadPool } from './pool.js';

/** The shortest row tile a parallel GEMM is cut into (see gemmInMemory), rounded up to whole MR-row panels. */
const MC_MIN_ROWS = 16;

/**
 * A GEMM smaller than this many flops (2·B·M·N·K) runs on the calling thread alone. Measured on the 2-core
 * Zen 4 VM (calls back to back, B cached): an empty job round trip is ~12 µs while the worker is awake
 * (it spins SPIN_MS after each job, see pool.ts); with the pool, 64×128×64 (1 MFLOP) already runs 1.3× faster
 * (25 → 20 µs), 128³ 1.6×, 1×2304×768 (one token through GPT-2's c_attn) 1.6×; at 0.5 MFLOP there is only
 * one tile, so nothing to share. A worker that has gone to sleep costs ~50 µs to wake in this VM, which
 * only work far above this threshold hides; in a training step or a decode loop the jobs come back to back.
 */
export const PARALLEL_MIN_FLOPS = 1e6;

/**
 * The matrix-vector path (a few rows, B read where it is) goes to the pool from this fraction of
 * PARALLEL_MIN_FLOPS: it streams B from memory, so halving the bytes each thread reads pays sooner than
 * sharing a GEMM's tiles. Marian-base decoding (512 × 512 projections, 0.5 MFLOP each) on 2 threads, 5
 * generate calls, two runs each: threshold 1 MFLOP 114 / 119 tokens/s, 0.4 MFLOP 131 / 146, 0.1 MFLOP 137 / 144.
 */
export const GEMV_PARALLEL_SCALE = 0.25;

/** Packing B is shared between threads only from this many floats (768 × 768 packs in ~0.15 ms alone). */
export const PACK_PARALLEL_MIN_FLOATS = 1 << 20;

/** Default budget for copies of weights that were not allocated in WebAssembly memory. */
export const DEFAULT_CACHE_BYTES = 3 * 1024 ** 3;

/**
 * Up to this many rows of A, matmul reads B where it is (gemv_task) instead of packing it: one pass over B per
 * four rows. Measured on one thread with 5–8 rows (two passes): 1.3–2× faster than packing B for the weights of
 * a Marian and a GPT-2 model (the same speed for GPT-2's 768 × 3072 (K, N) at 8 rows). Packing costs a pass
 * over B too, and pays only when each packed panel is reused over many rows.
 */
export const SMALL_M = 8;

/**
 * On the pool, a few-row product with B stored (K, N) cuts the sum over K into this many parts per thread
 * (gemv_ksplit_task: each part reads whole rows of B), then adds the parts (gemv_reduce_task). More parts
 * balance better when a core is busy with other work; each costs one more (rows, N) partial to add.
 */
export const GEMV_PARTS_PER_THREAD = 2;

/** Time spent in each phase, in ms, summed over calls (filled only while `profile` is on). */
export interface MatmulProfile {
  calls: number;
  copyIn: number;
  pack: number;
  compute: number;
  copyOut: number;
}

/** A weight's copy in WebAssembly memory. */
interface WeightCopy {
  /** Byte address of the copy. */
  ptr: number;
  /** Floats copied (the array's length). */
  floats: number;
  /** The weight's version the copy holds (NaN: not yet filled). */
  version: number;
}

export class WasmMatmul {
  private readonly copies = new WeakMap<Float32Array, WeightCopy>();
  private copiedBytes = 0;
  profile: MatmulProfile | null = null;
  /** Below this many flops a call runs on the calling thread alone (tests set 0 to force the pool). */
  parallelMinFlops = PARALLEL_MIN_FLOPS;

  constructor(
    private readonly kernels: KernelExports,
    private readonly heap: WasmHeap,
    private readonly work: WorkArea,
    private readonly pool: ThreadPool,
    private readonly cacheBudget: number = DEFAULT_CACHE_BYTES,
  ) {
  }

  matmul(a: Float32Array, b: Float32Array, out: Float32Array, spec: MatmulSpec): void {
    const { batch, m: M, n: N, k: K, bBatchStride, accumulate } = spec;
    checkSpec(a, b, out, spec);
    if (batch === 0 || M === 0 || N === 0) return;
    if (K === 0) {
      // An empty sum: op(A)·op(B) is all zeros.
      if (!accumulate) out.fill(0, 0, batch * M * N);
      if (spec.bias) for (let r = 0; r < batch * M; r++) for (let j = 0; j < N; j++) out[r * N + j] += spec.bias[j]!;
      if (spec.epilogue) spec.epilogue.reference(batch * M, N, [out], [out], []);
      return;
    }
    const t0 = this.profile ? performance.now() : 0;
    const nb = bBatchStride === 0 ? 1 : batch; // distinct B matrices
    // A few rows against one B (one matrix, or a weight shared by a batch of consecutive A matrices, whose
    // rows then fold into one (batch·M, K) A): the matrix-vector path, B read where it is.
    const folded = batch === 1 || (bBatchStride === 0 && spec.aBatchStride === M * K);
    const rows = batch * M;
    const small = folded && rows <= SMALL_M && !spec.transA;
    // A product of a few rows streams B from memory: on a machine busy with other processes it stays on the
    // calling thread (GPT-2's 77 MFLOP output layer shared on 2 threads beside a busy process made decoding
    // 23 % slower than on 1 thread).
    const parallel = small
      ? this.pool.worthParallel(2 * batch * M * N * K, this.parallelMinFlops * GEMV_PARALLEL_SCALE, true)
      : this.pool.worthParallel(2 * batch * M * N * K, this.parallelMinFlops);
    if (parallel) this.pool.prewake(); // workers wake while we copy
    const bSpan = span(batch, bBatchStride, K * N);
    const bHome = this.weightAddress(b, bSpan, spec.bVersion);

    // A and C are used where they are when they live in this memory (a training step's activations:
    // src/tensor/step.ts), else copied in and out.
    const aHome = this.heap.addressOf(a);
    const cHome = this.heap.addressOf(out);

    // Lay out the work area: A, B and C (unless in memory already), packed B (GEMM path), the bias, and
    // the per-thread scratch. Allocation may grow the memory, so views are taken only after it.
    const aSpan = span(batch, spec.aBatchStride, M * K);
    const layout = new Layout();
    const aOff = aHome === 0 ? layout.add(aSpan * 4) : -1;
    const bOff = bHome === 0 ? layout.add(bSpan * 4) : -1;
    const bPackOff = small ? -1 : layout.add(nb * this.kernels.packed_b_floats(K, N) * 4);
    const cOff = cHome === 0 ? layout.add(batch * M * N * 4) : -1;
    const biasOff = spec.bias ? layout.add(this.padN(N) * 4) : -1;
    const scratchOff = small ? -1 : layout.add(this.scratchBytes());
    const parts = small ? this.gemvParts(rows, K, spec.transB, parallel) : 0;
    const partOff = parts > 0 ? layout.add(parts * rows * N * 4) : -1;
    const base = this.work.reserve(layout.size);

    const f32 = this.heap.f32;
    if (aHome === 0) f32.set(a.subarray(0, aSpan), (base + aOff) / 4);
    if (accumulate && cHome === 0) f32.set(out.subarray(0, batch * M * N), (base + cOff) / 4);
    if (bHome === 0) f32.set(b.subarray(0, bSpan), (base + bOff) / 4);
    if (spec.bias) this.placeBias(spec.bias, N, base + biasOff);
    const aPtr = aHome !== 0 ? aHome : base + aOff;
    const bPtr = bHome !== 0 ? bHome : base + bOff;
    const cPtr = cHome !== 0 ? cHome : base + cOff;
    const t1 = this.profile ? performance.now() : 0;

    let times: [number, number] = [0, 0];
    if (small) {
      this.gemv({ a: aPtr, rows, k: K, n: N, b: bPtr, transB: spec.transB, c: cPtr, accumulate, bias: spec.bias ? base + biasOff : 0, parts, part: base + partOff }, parallel);
    } else {
      times = this.gemmInMemory(
        spec,
        { a: aPtr, bRaw: bPtr, bp: base + bPackOff, c: cPtr, bias: spec.bias ? base + biasOff : 0, scratch: base + scratchOff },
        parallel,
      );
    }

    if (spec.epilogue) {
      // The activation on C where it is, before it is copied out: its task over row blocks, as rows.ts runs it.
      // Shared only when large: a decode step's one row of 3 072 takes ~1 µs, less than handing it over.
      const R = batch * M;
      const share = parallel && R * N >= 1 << 16;
      const tasks = share ? Math.min(R, 4 * this.pool.threads) : 1;
      const rowsPerTask = Math.ceil(R / tasks);
      this.pool.run(`${spec.epilogue.name}_task`, Math.ceil(R / rowsPerTask), [R, N, rowsPerTask, cPtr, cPtr], share);
    }
    if (cHome === 0) out.set(this.heap.f32.subarray((base + cOff) / 4, (base + cOff) / 4 + batch * M * N));
    if (this.profile) {
      const t4 = performance.now();
      const p = this.profile;
      p.calls++;
      p.copyIn += t1 - t0;
      p.pack += times[0];
      p.compute += times[1];
      p.copyOut += t4 - t1 - times[0] - times[1];
    }
  }

  /**
   * The three gradients of a linear layer y = x·op(W) + b from dy (rows, out), in one call so that dy goes
   * into WebAssembly memory once for both products, and db is summed there (on the pool) instead of in
   * JavaScript:
   *   dx = dy·op(W)ᵀ (rows, in);   dW = xᵀ·dy ('in_out', W (in, out)) or dyᵀ·x ('out_in', W (out, in));
   *   db = Σ_rows dy (out).
   * Each result is written only when its array is given. W is read where it is, like any weight.
   */
  linearBackward(x: Float32Array, w: Float32Array, dy: Float32Array, spec: LinearSpec, dx: Float32Array | null, dw: Float32Array | null, db: Float32Array | null): void {
    const { rows: R, inF, outF, layout: wl } = spec;
    checkLinear(x, w, dy, spec, dx, dw, db);
    if (outF === 0 || R === 0 || inF === 0) {
      // Empty sums: every gradient is zero.
      dx?.fill(0, 0, R * inF);
      dw?.fill(0, 0, inF * outF);
      db?.fill(0, 0, outF);
      return;
    }
    const parallel = this.pool.worthParallel(2 * R * inF * outF, this.parallelMinFlops);
    if (parallel) this.pool.prewake();
    // dx = dy (R, out) · op(W)ᵀ: B = W read as (K = out, N = in), transposed when W is stored (in, out).
    const dxSpec: MatmulSpec = {
      batch: 1, m: R, n: inF, k: outF, transA: false, transB: wl === 'in_out', aBatchStride: 0, bBatchStride: 0, accumulate: false,
    };
    if (spec.wVersion !== undefined) dxSpec.bVersion = spec.wVersion;
    // dW: 'in_out' (in, out) = xᵀ·dy, A = x (R, in) transposed, B = dy (K = R, N = out);
    //     'out_in' (out, in) = dyᵀ·x, A = dy (R, out) transposed, B = x (K = R, N = in).
    const dwSpec: MatmulSpec = wl === 'in_out'
      ? { batch: 1, m: inF, n: outF, k: R, transA: true, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false }
      : { batch: 1, m: outF, n: inF, k: R, transA: true, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false };
    const wHome = dx ? this.weightAddress(w, inF * outF, spec.wVersion) : 0;
    const dxSmall = R <= SMALL_M;

    // Operands that live in this memory (a training step's activations and gradients) are used in place.
    const dyHome = this.heap.addressOf(dy);
    const xHome = dw ? this.heap.addressOf(x) : 0;
    const dxHome = this.heap.addressOf(dx);
    const dwHome = this.heap.addressOf(dw);
    const dbHome = this.heap.addressOf(db);

    const l = new Layout();
    const dyOff = dyHome === 0 ? l.add(R * outF * 4) : -1;
    const xOff = dw && xHome === 0 ? l.add(R * inF * 4) : -1;
    const wRawOff = dx && wHome === 0 ? l.add(inF * outF * 4) : -1;
    const wPackOff = dx && !dxSmall ? l.add(this.kernels.packed_b_floats(outF, inF) * 4) : -1;
    const dxOff = dx && dxHome === 0 ? l.add(R * inF * 4) : -1;
    const dwPackOff = dw ? l.add(this.kernels.packed_b_floats(R, dwSpec.n) * 4) : -1;
    const dwOff = dw && dwHome === 0 ? l.add(inF * outF * 4) : -1;
    const dbOff = db && dbHome === 0 ? l.add(outF * 4) : -1;
    const scratchOff = l.add(this.scratchBytes());
    const dxParts = dx && dxSmall ? this.gemvParts(R, outF, dxSpec.transB, parallel) : 0;
    const dxPartOff = dxParts > 0 ? l.add(dxParts * R * inF * 4) : -1;
    const base = this.work.reserve(l.size);

    const f32 = this.heap.f32;
    if (dyHome === 0) f32.set(dy.subarray(0, R * outF), (base + dyOff) / 4);
    if (dw && xHome === 0) f32.set(x.subarray(0, R * inF), (base + xOff) / 4);
    if (dx && wHome === 0) f32.set(w.subarray(0, inF * outF), (base + wRawOff) / 4);
    const dyPtr = dyHome || base + dyOff;
    const xPtr = xHome || base + xOff;
    const dxPtr = dxHome || base + dxOff;
    const dwPtr = dwHome || base + dwOff;
    const dbPtr = dbHome || base + dbOff;

    if (dx) {
      const wPtr = wHome !== 0 ? wHome : base + wRawOff;
      if (dxSmall) {
        this.gemv({ a: dyPtr, rows: R, k: outF, n: inF, b: wPtr, transB: dxSpec.transB, c: dxPtr, accumulate: false, bias: 0, parts: dxParts, part: base + dxPartOff }, parallel);
      } else {
        this.gemmInMemory(dxSpec, { a: dyPtr, bRaw: wPtr, bp: base + wPackOff, c: dxPtr, bias: 0, scratch: base + scratchOff }, parallel);
      }
    }
    if (dw) {
      const [aPtr, bPtr] = wl === 'in_out' ? [xPtr, dyPtr] : [dyPtr, xPtr];
      this.gemmInMemory(dwSpec, { a: aPtr, bRaw: bPtr, bp: base + dwPackOff, c: dwPtr, bias: 0, scratch: base + scratchOff }, parallel);
    }
    if (db) {
      // Column sums of dy: one task per group of columns (a multiple of 4), every row.
      const groups = parallel ? Math.min(Math.ceil(outF / 4), 4 * this.pool.threads) : 1;
      const cols = Math.ceil(Math.ceil(outF / groups) / 4) * 4;
      this.pool.run('colsum_task', Math.ceil(outF / cols), [dyPtr, dbPtr, R, outF, cols], parallel && R * outF >= 1 << 16);
    }

    const after = this.heap.f32;
    if (dx && dxHome === 0) dx.set(after.subarray((base + dxOff) / 4, (base + dxOff) / 4 + R * inF));
    if (dw && dwHome === 0) dw.set(after.subarray((base + dwOff) / 4, (base + dwOff) / 4 + inF * outF));
    if (db && dbHome === 0) db.set(after.subarray((base + dbOff) / 4, (base + dbOff) / 4 + outF));
  }

  /** Bytes of per-thread GEMM scratch for every thread of the pool. */
  scratchBytes(): number {
    return this.pool.threads * alignUp(this.kernels.gemm_scratch_bytes());
  }

  /** N rounded up to whole NR-column panels (the length gemm_task reads of a bias). */
  padN(n: number): number {
    const { NR } = this.kernels.tile;
    return Math.ceil(n / NR) * NR;
  }

  /** N bias floats at byte address `at`, padded with zeros to whole NR-column panels. */
  private placeBias(bias: Float32Array, n: number, at: number): void {
    const f32 = this.heap.f32;
    f32.set(bias.subarray(0, n), at / 4);
    f32.fill(0, at / 4 + n, at / 4 + this.padN(n));
  }

  /**
   * Byte address of a weight already in WebAssembly memory, or 0 when it must be copied into the work area
   * for this call. A view of this memory (a parameter from Backend.allocate) is used where it is. Another
   * array marked as a weight (version given) gets a kept copy, refreshed when its version moves — unless the
   * budget or the memory has no room, in which case it is copied per call (never evicting others).
   */
  private weightAddress(b: Float32Array, floats: number, version: number | undefined): number {
    const home = this.heap.addressOf(b);
    if (home !== 0) return home;
    if (version === undefined) return 0;
    let copy = this.copies.get(b);
    if (copy && copy.floats < floats) {
      this.dropCopy(copy); // the same array read over a longer span than before: copy it again
      this.copies.delete(b);
      copy = undefined;
    }
    if (!copy) {
      const bytes = b.length * 4;
      if (this.copiedBytes + bytes > this.cacheBudget) return 0;
      let ptr: number;
      try {
        ptr = this.heap.alloc(bytes);
      } catch {
        return 0; // the memory is full: this weight is copied per call
      }
      const made: WeightCopy = { ptr, floats: b.length, version: NaN };
      this.copiedBytes += bytes;
      this.copies.set(b, made);
      // The copy lives as long as the array (the heap frees it when the array is collected).
      this.heap.own(b, ptr, () => {
        this.copiedBytes -= bytes;
        made.ptr = 0;
      });
      copy = made;
    }
    if (copy.version !== version) {
      this.heap.f32.set(b, copy.ptr / 4);
      copy.version = version;
    }
    return copy.ptr;
  }

  private dropCopy(copy: WeightCopy): void {
    if (copy.ptr !== 0) this.heap.freeNow(copy.ptr); // its onFree (above) settles copiedBytes and ptr
  }

  /**
   * Parts of the sum over K for a few-row product on the pool (0: the columns are cut instead). Only for B
   * stored (K, N): stored (N, K), a column group is a block of whole rows of B already. Each part gets at
   * least 16 rows of B.
   */
  private gemvParts(rows: number, k: number, transB: boolean, parallel: boolean): number {
    if (!parallel || transB || this.pool.threads === 1) return 0;
    const parts = Math.min(GEMV_PARTS_PER_THREAD * this.pool.threads, Math.floor(k / 16));
    return parts >= 2 ? parts : 0;
  }

  /**
   * C = op(A)·op(B) for a few rows of A, every operand already in memory. With `parts` (gemvParts, and
   * parts·rows·N floats at byte address `part`) the tasks cut K and their sums are added after; otherwise the
   * tasks cut N (gemv_task).
   */
  private gemv(
    p: { a: number; rows: number; k: number; n: number; b: number; transB: boolean; c: number; accumulate: boolean; bias: number; parts: number; part: number },
    parallel: boolean,
  ): void {
    const { rows, k, n } = p;
    if (p.parts > 0) {
      const kPer = Math.ceil(k / p.parts);
      const tasks = Math.ceil(k / kPer); // every task has rows of B (so every partial is written)
      this.pool.run('gemv_ksplit_task', tasks, [p.a, rows, k, n, p.b, p.part, kPer], true);
      // The sum reads tasks·rows·N floats from L2: a few µs, less than handing it to the pool, up to ~64 K.
      const total = rows * n;
      const sumParallel = tasks * total >= 1 << 16;
      const chunk = sumParallel ? Math.ceil(Math.ceil(total / (4 * this.pool.threads)) / 4) * 4 : Math.ceil(total / 4) * 4;
      this.pool.run('gemv_reduce_task', Math.ceil(total / chunk), [p.part, tasks, total, p.c, p.accumulate ? 1 : 0, p.bias, n, chunk], sumParallel);
      return;
    }
    // Column groups: a few per thread (the product streams B, so splitting N splits the traffic), whole
    // 32-column tiles for B stored (K, N), whole groups of 4 dot products for B stored (N, K).
    const unit = p.transB ? 4 : 32;
    const groups = parallel ? 4 * this.pool.threads : 1;
    const cols = Math.max(unit, Math.ceil(Math.ceil(n / groups) / unit) * unit);
    this.pool.run(
      'gemv_task',
      Math.ceil(n / cols),
      [p.a, rows, p.k, n, p.b, p.transB ? 1 : 0, p.c, p.accumulate ? 1 : 0, p.bias, cols],
      parallel,
    );
  }

  /**
   * One GEMM on operands already in WebAssembly memory (byte addresses): pack B from bRaw into bp, then run
   * the tiles of C on the pool. Returns [pack ms, gemm ms] when profiling. (Also used by quant.ts, for blocks
   * of a dequantised weight.)
   */
  gemmInMemory(
    spec: MatmulSpec,
    p: { a: number; bRaw: number; bp: number; c: number; bias: number; scratch: number },
    parallel: boolean,
  ): [number, number] {
    const { batch, m: M, n: N, k: K, transA, transB, aBatchStride, bBatchStride, accumulate } = spec;
    const threads = this.pool.threads;
    const { MR, NR, KC, MC } = this.kernels.tile;
    const kBlocks = Math.ceil(K / KC);
    const nb = bBatchStride === 0 ? 1 : batch;
    const packedFloats = this.kernels.packed_b_floats(K, N);
    const t0 = this.profile ? performance.now() : 0;
    {
      // Pack tasks: one per (B matrix, K block), cut further into column groups when that gives fewer than
      // ~4 tasks per thread (a single 768 × 3072 weight is only 3 K blocks).
      // Packing moves ~K·N floats at a few GB/s: below PACK_PARALLEL_MIN_FLOATS it is done before a
      // worker could even join.
      const packParallel = parallel && nb * K * N >= PACK_PARALLEL_MIN_FLOATS;
      const groups = packParallel ? Math.max(1, Math.min(Math.ceil((4 * threads) / (nb * kBlocks)), Math.ceil(N / 64))) : 1;
      const groupCols = Math.ceil(Math.ceil(N / groups) / NR) * NR;
      const packTasks = nb * kBlocks * Math.ceil(N / groupCols);
      this.pool.run('pack_b_task', packTasks, [p.bRaw, transB ? 1 : 0, K, N, bBatchStride, nb, p.bp, groupCols], packParallel);
    }
    const t1 = this.profile ? performance.now() : 0;

    // Tiles of C: mc rows × nc columns, ~4 tasks per thread when parallel (so a thread that finishes early can
    // pick up more). Rows are cut first, down to MC_MIN: every task packs its own block of A, so tiles that
    // share rows pack the same A twice, and each packed row of A then serves fewer columns (nanoGPT's
    // 768 × 128 × 512 product ran 1.40× faster on two threads than on one when cut into 6 × 2 tiles of
    // 128 × 64, ~1.7× as 8 tiles of 96 rows; a weight gradient's 128 × 384 × 768 product, Aᵀ packed from
    // strided rows, ~5 % faster with tiles of 16 rows than of 32). Only then is N cut, to no narrower than 64
    // columns.
    const wanted = parallel ? 4 * threads : 1;
    const rowsPer = Math.ceil(M / Math.max(1, Math.ceil(wanted / batch)));
    const mcMin = Math.ceil(MC_MIN_ROWS / MR) * MR;
    const mc = Math.min(MC, Math.max(mcMin, Math.ceil(rowsPer / MR) * MR));
    const mTiles = Math.ceil(M / mc);
    const nTiles = Math.max(1, Math.min(Math.ceil(wanted / (batch * mTiles)), Math.ceil(N / 64)));
    const nc = Math.ceil(Math.ceil(N / nTiles) / NR) * NR;
    const tasks = batch * mTiles * Math.ceil(N / nc);
    const scratchStride = alignUp(this.kernels.gemm_scratch_bytes());
    this.pool.run(
      'gemm_task',
      tasks,
      [
        p.a, transA ? 1 : 0, M, N, K, aBatchStride, p.bp, bBatchStride === 0 ? 0 : packedFloats, p.c, accumulate ? 1 : 0, nc,
        p.scratch, scratchStride, p.bias, mc,
      ],
      parallel,
    );
    const t2 = this.profile ? performance.now() : 0;
    return [t1 - t0, t2 - t1];
  }

}

/** Elements of an operand that batch matrices of `size` elements, `stride` apart, reach (0 = broadcast). */
function span(batch: number, stride: number, size: number): number {
  return stride === 0 ? size : (batch - 1) * stride + size;
}

function alignUp(n: number): number {
  return Math.ceil(n / 64) * 64;
}

/** Shapes and lengths must agree; every message names the op, the field and both numbers. */
function checkSpec(a: Float32Array, b: Float32Array, out: Float32Array, spec: MatmulSpec): void {
  const { batch, m, n, k, aBatchStride, bBatchStride } = spec;
  for (const [name, v] of [['batch', batch], ['m', m], ['n', n], ['k', k], ['aBatchStride', aBatchStride], ['bBatchStride', bBatchStride]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`matmul (wasm): spec.${name} must be a non-negative integer, got ${v}`);
  }
  if (batch === 0 || m === 0 || n === 0) return;
  const needA = span(batch, aBatchStride, m * k);
  const needB = span(batch, bBatchStride, k * n);
  if (a.length < needA) {
    throw new Error(`matmul (wasm): A has ${a.length} elements, but batch=${batch} × (m=${m}, k=${k}) with aBatchStride=${aBatchStride} needs ${needA}`);
  }
  if (b.length < needB) {
    throw new Error(`matmul (wasm): B has ${b.length} elements, but batch=${batch} × (k=${k}, n=${n}) with bBatchStride=${bBatchStride} needs ${needB}`);
  }
  if (spec.bias && spec.bias.length < n) {
    throw new Error(`matmul (wasm): bias has ${spec.bias.length} elements, but n=${n} columns need ${n}`);
  }
  const e = spec.epilogue;
  if (e && (spec.accumulate || e.inputs.length !== 1 || e.inputs[0] !== 'rows' || e.outputs.length !== 1 || e.outputs[0] !== 'rows')) {
    throw new Error(`matmul (wasm): the epilogue '${e.name}' must be a map kernel (one rows input, one rows output) on a product that does not accumulate`);
  }
  if (out.length < batch * m * n) {
    throw new Error(`matmul (wasm): out has ${out.length} elements, but (batch=${batch}, m=${m}, n=${n}) needs ${batch * m * n}`);
  }
  if (needA + needB + 2 * batch * m * n > 2 ** 30 - 1) {
    throw new Error(`matmul (wasm): operands of ${fmtBytes((needA + needB + batch * m * n) * 4)} do not fit in 32-bit WebAssembly memory`);
  }
}

/** Lengths for linearBackward: x (rows, in), W (in·out), dy (rows, out) and the results. */
function checkLinear(x: Float32Array, w: Float32Array, dy: Float32Array, spec: LinearSpec, dx: Float32Array | null, dw: Float32Array | null, db: Float32Array | null): void {
  const { rows, inF, outF, layout } = spec;
  for (const [name, v] of [['rows', rows], ['inF', inF], ['outF', outF]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`linearBackward (wasm): spec.${name} must be a non-negative integer, got ${v}`);
  }
  if (layout !== 'in_out' && layout !== 'out_in') throw new Error(`linearBackward (wasm): spec.layout must be 'in_out' or 'out_in', got '${String(layout)}'`);
  const want: [string, Float32Array | null, number, string][] = [
    ['x', dw ? x : null, rows * inF, `(rows, in) = (${rows}, ${inF})`],
    ['w', dx ? w : null, inF * outF, `in·out = ${inF}·${outF}`],
    ['dy', dy, rows * outF, `(rows, out) = (${rows}, ${outF})`],
    ['dx', dx, rows * inF, `(rows, in) = (${rows}, ${inF})`],
    ['dw', dw, inF * outF, `in·out = ${inF}·${outF}`],
    ['db', db, outF, `(out) = (${outF})`],
  ];
  for (const [name, a, n, dims] of want) {
    if (a && a.length < n) throw new Error(`linearBackward (wasm): ${name} has ${a.length} elements, needs ${dims} = ${n}`);
  }
  if ((rows * (inF + 2 * outF) + 2 * inF * outF) * 4 > 2 ** 32 - 2 ** 28) {
    throw new Error(`linearBackward (wasm): operands of ${fmtBytes((rows * (inF + 2 * outF) + 2 * inF * outF) * 4)} do not fit in 32-bit WebAssembly memory`);
  }
}
