// Backend.matmul on the WebAssembly kernels: check the spec, copy the operands into WebAssembly memory, pack
// B (or find it already packed), run the GEMM tasks on the pool, copy C out. Backend.linearBackward runs its
// two products (and the bias-gradient column sums) on one copy of dy: gemmInMemory is the part of a matmul
// that works on operands already in memory.
//
// Shape letters: B batch, M/N/K matmul dims; op(A) is (M, K), op(B) is (K, N), out is (B, M, N).
//
// The packed-B cache: when the caller marks B as a parameter (spec.bVersion, the tensor's version), the
// packed copy is kept in WebAssembly memory, keyed by the Float32Array itself (a WeakMap, so it never keeps
// an array alive) and stamped with the version. The next call with the same array and version skips both the
// copy and the packing of B, which for generating text (M = 1: one new token) is most of the work: the
// weights are the only big operand. A new version (an optimizer step) repacks. A FinalizationRegistry
// returns the memory when the array is collected, and the least recently used entries are dropped when the
// cache grows past its budget.

import type { LinearSpec, MatmulSpec } from '../backend.js';
import type { KernelExports } from './kernels.js';
import { GEMM_TILE } from './kernels.js';
import { Layout, WasmHeap, WorkArea, fmtBytes } from './heap.js';
import type { ThreadPool } from './pool.js';

const { NR, KC, MC } = GEMM_TILE;

/**
 * A GEMM smaller than this many flops (2·B·M·N·K) runs on the calling thread alone. Measured on the 2-core
 * Zen 4 VM (calls back to back, B cached): an empty job round trip is ~12 µs while the worker is awake
 * (it spins SPIN_MS after each job, see pool.ts); with the pool, 64×128×64 (1 MFLOP) already runs 1.3× faster
 * (25 → 20 µs), 128³ 1.6×, 1×2304×768 (one token through GPT-2's c_attn) 1.6×; at 0.5 MFLOP there is only
 * one tile, so nothing to share. A worker that has gone to sleep costs ~50 µs to wake in this VM, which
 * only work far above this threshold hides; in a training step or a decode loop the jobs come back to back.
 */
export const PARALLEL_MIN_FLOPS = 1e6;

/** Packing B is shared between threads only from this many floats (768 × 768 packs in ~0.15 ms alone). */
export const PACK_PARALLEL_MIN_FLOATS = 1 << 20;

/** Default budget for cached packed weights. */
export const DEFAULT_CACHE_BYTES = 2 * 1024 ** 3;

/** Time spent in each phase, in ms, summed over calls (filled only while `profile` is on). */
export interface MatmulProfile {
  calls: number;
  copyIn: number;
  pack: number;
  compute: number;
  copyOut: number;
}

interface PackedB {
  /** Byte address of the packed copy, or 0 once evicted. */
  ptr: number;
  bytes: number;
  version: number;
  /** transB, K, N, how many B matrices and their stride: a different shape means a different packing. */
  signature: string;
  lastUse: number;
}

export class WasmMatmul {
  private readonly cache = new WeakMap<Float32Array, PackedB>();
  private readonly live = new Set<PackedB>(); // for LRU eviction (the WeakMap cannot be walked)
  private cachedBytes = 0;
  private useCounter = 0;
  private readonly finalizer: FinalizationRegistry<PackedB>;
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
    this.finalizer = new FinalizationRegistry((entry: PackedB) => this.evict(entry));
  }

  matmul(a: Float32Array, b: Float32Array, out: Float32Array, spec: MatmulSpec): void {
    const { batch, m: M, n: N, k: K, bBatchStride, accumulate } = spec;
    checkSpec(a, b, out, spec);
    if (batch === 0 || M === 0 || N === 0) return;
    if (K === 0) {
      // An empty sum: op(A)·op(B) is all zeros.
      if (!accumulate) out.fill(0, 0, batch * M * N);
      if (spec.bias) for (let r = 0; r < batch * M; r++) for (let j = 0; j < N; j++) out[r * N + j] += spec.bias[j]!;
      return;
    }
    const t0 = this.profile ? performance.now() : 0;
    const parallel = 2 * batch * M * N * K >= this.parallelMinFlops;
    if (parallel) this.pool.prewake(); // workers wake while we copy
    const nb = bBatchStride === 0 ? 1 : batch; // distinct B matrices
    const { cached, needPack } = this.findPacked(b, spec);

    // Lay out the work area: A, raw B (only to pack it), packed B (unless it goes to the cache), C, the bias,
    // and the per-thread scratch. Allocation may grow the memory, so views are taken only after it.
    const aSpan = span(batch, spec.aBatchStride, M * K);
    const bSpan = span(batch, bBatchStride, K * N);
    const layout = new Layout();
    const aOff = layout.add(aSpan * 4);
    const bRawOff = needPack ? layout.add(bSpan * 4) : -1;
    const bPackOff = needPack && !cached ? layout.add(nb * this.kernels.packed_b_floats(K, N) * 4) : -1;
    const cOff = layout.add(batch * M * N * 4);
    const biasOff = spec.bias ? layout.add(padN(N) * 4) : -1;
    const scratchOff = layout.add(this.scratchBytes());
    const base = this.work.reserve(layout.size);

    const f32 = this.heap.f32;
    f32.set(a.subarray(0, aSpan), (base + aOff) / 4);
    if (accumulate) f32.set(out.subarray(0, batch * M * N), (base + cOff) / 4);
    if (needPack) f32.set(b.subarray(0, bSpan), (base + bRawOff) / 4);
    if (spec.bias) this.placeBias(spec.bias, N, base + biasOff);
    const t1 = this.profile ? performance.now() : 0;

    const times = this.gemmInMemory(
      spec,
      {
        a: base + aOff, bRaw: needPack ? base + bRawOff : 0, bp: cached ? cached.ptr : base + bPackOff, c: base + cOff,
        bias: spec.bias ? base + biasOff : 0, scratch: base + scratchOff,
      },
      parallel,
    );
    if (cached && needPack) cached.version = spec.bVersion!; // stamped only once packed

    out.set(this.heap.f32.subarray((base + cOff) / 4, (base + cOff) / 4 + batch * M * N));
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
   * Each result is written only when its array is given. W's packed copy is cached like any weight.
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
    const parallel = 2 * R * inF * outF >= this.parallelMinFlops;
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
    const dxPacked = dx ? this.findPacked(w, dxSpec) : { cached: null, needPack: false };

    const l = new Layout();
    const dyOff = l.add(R * outF * 4);
    const xOff = dw ? l.add(R * inF * 4) : -1;
    const wRawOff = dx && dxPacked.needPack ? l.add(inF * outF * 4) : -1;
    const wPackOff = dx && dxPacked.needPack && !dxPacked.cached ? l.add(this.kernels.packed_b_floats(outF, inF) * 4) : -1;
    const dxOff = dx ? l.add(R * inF * 4) : -1;
    const dwPackOff = dw ? l.add(this.kernels.packed_b_floats(R, dwSpec.n) * 4) : -1;
    const dwOff = dw ? l.add(inF * outF * 4) : -1;
    const dbOff = db ? l.add(outF * 4) : -1;
    const scratchOff = l.add(this.scratchBytes());
    const base = this.work.reserve(l.size);

    const f32 = this.heap.f32;
    f32.set(dy.subarray(0, R * outF), (base + dyOff) / 4);
    if (dw) f32.set(x.subarray(0, R * inF), (base + xOff) / 4);
    if (dx && dxPacked.needPack) f32.set(w.subarray(0, inF * outF), (base + wRawOff) / 4);

    if (dx) {
      const bp = dxPacked.cached ? dxPacked.cached.ptr : base + wPackOff;
      this.gemmInMemory(dxSpec, { a: base + dyOff, bRaw: dxPacked.needPack ? base + wRawOff : 0, bp, c: base + dxOff, bias: 0, scratch: base + scratchOff }, parallel);
      if (dxPacked.cached && dxPacked.needPack) dxPacked.cached.version = spec.wVersion!;
    }
    if (dw) {
      const [aPtr, bPtr] = wl === 'in_out' ? [base + xOff, base + dyOff] : [base + dyOff, base + xOff];
      this.gemmInMemory(dwSpec, { a: aPtr, bRaw: bPtr, bp: base + dwPackOff, c: base + dwOff, bias: 0, scratch: base + scratchOff }, parallel);
    }
    if (db) {
      // Column sums of dy: one task per group of columns (a multiple of 4), every row.
      const groups = parallel ? Math.min(Math.ceil(outF / 4), 4 * this.pool.threads) : 1;
      const cols = Math.ceil(Math.ceil(outF / groups) / 4) * 4;
      this.pool.run('colsum_task', Math.ceil(outF / cols), [base + dyOff, base + dbOff, R, outF, cols], parallel && R * outF >= 1 << 16);
    }

    const after = this.heap.f32;
    if (dx) dx.set(after.subarray((base + dxOff) / 4, (base + dxOff) / 4 + R * inF));
    if (dw) dw.set(after.subarray((base + dwOff) / 4, (base + dwOff) / 4 + inF * outF));
    if (db) db.set(after.subarray((base + dbOff) / 4, (base + dbOff) / 4 + outF));
  }

  /** Bytes of per-thread GEMM scratch for every thread of the pool. */
  private scratchBytes(): number {
    return this.pool.threads * alignUp(this.kernels.gemm_scratch_bytes());
  }

  /** N bias floats at byte address `at`, padded with zeros to whole 8-column panels. */
  private placeBias(bias: Float32Array, n: number, at: number): void {
    const f32 = this.heap.f32;
    f32.set(bias.subarray(0, n), at / 4);
    f32.fill(0, at / 4 + n, at / 4 + padN(n));
  }

  /**
   * Whether B (spec.bVersion set: a weight) is already packed in the cache, or where its packed copy will go:
   * cached = the cache entry (null when B is not cacheable), needPack = it must be packed first.
   */
  private findPacked(b: Float32Array, spec: MatmulSpec): { cached: PackedB | null; needPack: boolean } {
    if (spec.bVersion === undefined) return { cached: null, needPack: true };
    const { batch, n: N, k: K, transB, bBatchStride } = spec;
    const nb = bBatchStride === 0 ? 1 : batch;
    const bytes = nb * this.kernels.packed_b_floats(K, N) * 4;
    const signature = `${transB ? 'T' : 'N'}:${K}:${N}:${nb}:${bBatchStride}`;
    const hit = this.cache.get(b);
    if (hit && hit.ptr !== 0 && hit.version === spec.bVersion && hit.signature === signature) {
      hit.lastUse = ++this.useCounter;
      return { cached: hit, needPack: false };
    }
    // Bigger than the whole cache budget: packed into the work area like any other B.
    if (bytes > this.cacheBudget) return { cached: null, needPack: true };
    return { cached: this.cacheEntryFor(b, bytes, signature), needPack: true };
  }

  /**
   * One GEMM on operands already in WebAssembly memory (byte addresses): pack B from bRaw into bp unless
   * bRaw is 0 (bp already holds it packed), then run the tiles of C on the pool. Returns [pack ms, gemm ms]
   * when profiling.
   */
  private gemmInMemory(
    spec: MatmulSpec,
    p: { a: number; bRaw: number; bp: number; c: number; bias: number; scratch: number },
    parallel: boolean,
  ): [number, number] {
    const { batch, m: M, n: N, k: K, transA, transB, aBatchStride, bBatchStride, accumulate } = spec;
    const threads = this.pool.threads;
    const kBlocks = Math.ceil(K / KC);
    const nb = bBatchStride === 0 ? 1 : batch;
    const packedFloats = this.kernels.packed_b_floats(K, N);
    const t0 = this.profile ? performance.now() : 0;
    if (p.bRaw !== 0) {
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

    // Tiles of C: MC rows × nc columns. With several threads, cut N finer until there are ~4 tasks per
    // thread (so a thread that finishes early can pick up more), but no narrower than 64 columns.
    const mTiles = Math.ceil(M / MC);
    const wanted = parallel ? 4 * threads : 1;
    const nTiles = Math.max(1, Math.min(Math.ceil(wanted / (batch * mTiles)), Math.ceil(N / 64)));
    const nc = Math.ceil(Math.ceil(N / nTiles) / NR) * NR;
    const tasks = batch * mTiles * Math.ceil(N / nc);
    const scratchStride = alignUp(this.kernels.gemm_scratch_bytes());
    this.pool.run(
      'gemm_task',
      tasks,
      [
        p.a, transA ? 1 : 0, M, N, K, aBatchStride, p.bp, bBatchStride === 0 ? 0 : packedFloats, p.c, accumulate ? 1 : 0, nc,
        p.scratch, scratchStride, p.bias,
      ],
      parallel,
    );
    const t2 = this.profile ? performance.now() : 0;
    return [t1 - t0, t2 - t1];
  }

  /**
   * The cache entry of `b`, with `bytes` of memory for its packed copy. Its version is cleared: the caller
   * stamps it after packing, so an entry whose packing failed is never mistaken for a valid one.
   */
  private cacheEntryFor(b: Float32Array, bytes: number, signature: string): PackedB {
    let entry = this.cache.get(b);
    if (entry && entry.ptr !== 0 && entry.bytes !== bytes) this.evict(entry);
    if (!entry) {
      entry = { ptr: 0, bytes: 0, version: NaN, signature, lastUse: 0 };
      this.cache.set(b, entry);
      this.finalizer.register(b, entry);
    }
    if (entry.ptr === 0) {
      this.makeRoom(bytes);
      entry.ptr = this.heap.alloc(bytes);
      entry.bytes = bytes;
      this.cachedBytes += bytes;
      this.live.add(entry);
    }
    entry.signature = signature;
    entry.version = NaN;
    entry.lastUse = ++this.useCounter;
    return entry;
  }

  /** Drop least recently used entries until `bytes` more fit in the budget. */
  private makeRoom(bytes: number): void {
    while (this.cachedBytes + bytes > this.cacheBudget) {
      let oldest: PackedB | null = null;
      for (const e of this.live) if (!oldest || e.lastUse < oldest.lastUse) oldest = e;
      if (!oldest) break;
      this.evict(oldest);
    }
  }

  private evict(entry: PackedB): void {
    if (entry.ptr === 0) return;
    this.heap.release(entry.ptr);
    this.cachedBytes -= entry.bytes;
    this.live.delete(entry);
    entry.ptr = 0;
    entry.bytes = 0;
    entry.version = NaN;
  }
}

/** Elements of an operand that batch matrices of `size` elements, `stride` apart, reach (0 = broadcast). */
function span(batch: number, stride: number, size: number): number {
  return stride === 0 ? size : (batch - 1) * stride + size;
}

/** N rounded up to whole NR-column panels. */
function padN(n: number): number {
  return Math.ceil(n / NR) * NR;
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
