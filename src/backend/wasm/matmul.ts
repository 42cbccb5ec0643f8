// Backend.matmul on the WebAssembly kernels: check the spec, copy the operands into WebAssembly memory, pack
// B (or find it already packed), run the GEMM tasks on the pool, copy C out.
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

import type { MatmulSpec } from '../backend.js';
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
    const { batch, m: M, n: N, k: K, transA, transB, aBatchStride, bBatchStride, accumulate } = spec;
    checkSpec(a, b, out, spec);
    if (batch === 0 || M === 0 || N === 0) return;
    if (K === 0) {
      // An empty sum: op(A)·op(B) is all zeros.
      if (!accumulate) out.fill(0, 0, batch * M * N);
      if (spec.bias) for (let r = 0; r < batch * M; r++) for (let j = 0; j < N; j++) out[r * N + j] += spec.bias[j]!;
      return;
    }
    const t0 = this.profile ? performance.now() : 0;
    const flops = 2 * batch * M * N * K;
    const parallel = flops >= this.parallelMinFlops;
    if (parallel) this.pool.prewake(); // workers wake while we copy
    const threads = this.pool.threads;
    const kBlocks = Math.ceil(K / KC);
    const nb = bBatchStride === 0 ? 1 : batch; // distinct B matrices
    const packedFloats = this.kernels.packed_b_floats(K, N); // per B matrix: K × N padded to NR columns

    // Find B already packed, or make room for packing it into the cache.
    let cached: PackedB | null = null;
    let needPack = true;
    if (spec.bVersion !== undefined) {
      const signature = `${transB ? 'T' : 'N'}:${K}:${N}:${nb}:${bBatchStride}`;
      const hit = this.cache.get(b);
      if (hit && hit.ptr !== 0 && hit.version === spec.bVersion && hit.signature === signature) {
        cached = hit;
        needPack = false;
        hit.lastUse = ++this.useCounter;
      } else if (nb * packedFloats * 4 <= this.cacheBudget) {
        cached = this.cacheEntryFor(b, nb * packedFloats * 4, signature);
      } // else: bigger than the whole cache budget, so packed into the work area like any other B
    }

    // Lay out the work area: A, raw B (only to pack it), packed B (unless it goes to the cache), C, and the
    // per-thread scratch. Allocation may grow the memory, so views are taken only after it.
    const aSpan = span(batch, aBatchStride, M * K);
    const bSpan = span(batch, bBatchStride, K * N);
    const scratchStride = alignUp(this.kernels.gemm_scratch_bytes());
    const layout = new Layout();
    const aOff = layout.add(aSpan * 4);
    const bRawOff = needPack ? layout.add(bSpan * 4) : -1;
    const bPackOff = needPack && !cached ? layout.add(nb * packedFloats * 4) : -1;
    const cOff = layout.add(batch * M * N * 4);
    const npad = Math.ceil(N / NR) * NR;
    const biasOff = spec.bias ? layout.add(npad * 4) : -1; // padded with zeros to whole 8-column panels
    const scratchOff = layout.add(threads * scratchStride);
    const base = this.work.reserve(layout.size);
    const bp = cached ? cached.ptr : base + bPackOff;

    const f32 = this.heap.f32;
    f32.set(a.subarray(0, aSpan), (base + aOff) / 4);
    if (accumulate) f32.set(out.subarray(0, batch * M * N), (base + cOff) / 4);
    if (needPack) f32.set(b.subarray(0, bSpan), (base + bRawOff) / 4);
    if (spec.bias) {
      f32.set(spec.bias.subarray(0, N), (base + biasOff) / 4);
      f32.fill(0, (base + biasOff) / 4 + N, (base + biasOff) / 4 + npad);
    }
    const t1 = this.profile ? performance.now() : 0;

    if (needPack) {
      // Pack tasks: one per (B matrix, K block), cut further into column groups when that gives fewer than
      // ~4 tasks per thread (a single 768 × 3072 weight is only 3 K blocks).
      // Packing moves ~K·N floats at a few GB/s: below PACK_PARALLEL_MIN_FLOATS it is done before a
      // worker could even join.
      const packParallel = parallel && nb * K * N >= PACK_PARALLEL_MIN_FLOATS;
      const groups = packParallel ? Math.max(1, Math.min(Math.ceil((4 * threads) / (nb * kBlocks)), Math.ceil(N / 64))) : 1;
      const groupCols = Math.ceil(Math.ceil(N / groups) / NR) * NR;
      const packTasks = nb * kBlocks * Math.ceil(N / groupCols);
      this.pool.run('pack_b_task', packTasks, [base + bRawOff, transB ? 1 : 0, K, N, bBatchStride, nb, bp, groupCols], packParallel);
      if (cached) cached.version = spec.bVersion!; // stamped only once packed
    }
    const t2 = this.profile ? performance.now() : 0;

    // Tiles of C: MC rows × nc columns. With several threads, cut N finer until there are ~4 tasks per
    // thread (so a thread that finishes early can pick up more), but no narrower than 64 columns.
    const mTiles = Math.ceil(M / MC);
    const wanted = parallel ? 4 * threads : 1;
    const nTiles = Math.max(1, Math.min(Math.ceil(wanted / (batch * mTiles)), Math.ceil(N / 64)));
    const nc = Math.ceil(Math.ceil(N / nTiles) / NR) * NR;
    const tasks = batch * mTiles * Math.ceil(N / nc);
    this.pool.run(
      'gemm_task',
      tasks,
      [
        base + aOff, transA ? 1 : 0, M, N, K, aBatchStride, bp, bBatchStride === 0 ? 0 : packedFloats, base + cOff, accumulate ? 1 : 0, nc,
        base + scratchOff, scratchStride, spec.bias ? base + biasOff : 0,
      ],
      parallel,
    );
    const t3 = this.profile ? performance.now() : 0;

    out.set(this.heap.f32.subarray((base + cOff) / 4, (base + cOff) / 4 + batch * M * N));
    if (this.profile) {
      const t4 = performance.now();
      const p = this.profile;
      p.calls++;
      p.copyIn += t1 - t0;
      p.pack += t2 - t1;
      p.compute += t3 - t2;
      p.copyOut += t4 - t3;
    }
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
