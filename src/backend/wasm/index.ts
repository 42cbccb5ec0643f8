// The WebAssembly SIMD backend: the Backend interface on kernels compiled from kernels/*.ts, run by a
// worker pool that shares one WebAssembly.Memory.
//
// How a call flows (matmul; attention is the same with its own kernels):
//   Float32Arrays on the JS heap ──copy──▶ work area in WebAssembly memory ──tasks on the pool──▶ result
//   in WebAssembly memory ──copy──▶ out. The copies are O(n²) next to the kernel's O(n³). Operands that live
//   in the memory already — parameters (Backend.allocate), a training step's activations and gradients
//   (Backend.stepMemory, src/tensor/step.ts) — are read and written where they are, with no copy.
//
// This file only assembles the parts; it imports nothing from node: (a platform adapter such as
// src/platform/node.ts supplies file loading and threads), so the same code can run in a browser.
//
//   const backend = createWasmBackend(nodePlatform, { threads: 2 });   // or setBackend('wasm', { threads: 2 })

import type { AttentionGrads, AttentionOutputs, AttentionSpec, AttnOperand, Backend, LinearSpec, MatmulSpec, QuantizedMatmulSpec, QuantizedWeight, RowKernel } from '../backend.js';
import type { RecurrentGradients, RecurrentOperands, RecurrentSpec } from '../recurrent.js';
import type { BackendOptions } from '../index.js';
import { WasmAttention } from './attention.js';
import { StepArena, WasmHeap, WorkArea } from './heap.js';
import { hasRelaxedSimd, hasSharedMemory, hasSimd, instantiateKernels, type KernelExports, type KernelVariant } from './kernels.js';
import { DEFAULT_CACHE_BYTES, WasmMatmul, type MatmulProfile } from './matmul.js';
import type { WasmPlatform } from './platform.js';
import { CTRL_WORDS, MAX_ARGS, ThreadPool } from './pool.js';
import { WasmQuantMatmul } from './quant.js';
import { WasmRecurrent } from './recurrent.js';
import { WasmRows } from './rows.js';

export type { WasmPlatform } from './platform.js';
export type { KernelVariant } from './kernels.js';
export type { WorkerInit } from './pool.js';
export { CTRL, CTRL_WORDS, markDead } from './pool.js';
export { runWorker, markFailed } from './worker.js';
export { hasRelaxedSimd, hasSimd } from './kernels.js';

export interface WasmBackendOptions extends BackendOptions {
  /**
   * Which kernel build: 'relaxed' (fused multiply-add; needs relaxed SIMD) or 'baseline'. Default: the
   * ATTN_WASM_SIMD environment variable if set, else 'relaxed' where the runtime has it.
   */
  simd?: KernelVariant;
  /**
   * Most bytes of WebAssembly memory kept for copies of weights that were not allocated there
   * (MatmulSpec.bVersion set, the array an ordinary one); past it, or when the memory is full, further
   * weights are copied per call. Default 3 GiB. Parameters allocated by the engine live in the memory already
   * and need no copy.
   */
  weightCacheBytes?: number;
}

const PAGE = 65536;
/** The memory starts at 16 MiB and grows on demand up to 4 GiB, the most a 32-bit WebAssembly memory can address. */
const INITIAL_PAGES = 256;
const MAX_PAGES = 65536;

export class WasmBackend implements Backend {
  readonly name = 'wasm';
  readonly threads: number;
  readonly variant: KernelVariant;
  /** The worker pool (tests look at it). */
  readonly pool: ThreadPool;
  private readonly heap: WasmHeap;
  private readonly mm: WasmMatmul;
  private readonly attn: WasmAttention;
  private readonly rows: WasmRows;
  private readonly quant: WasmQuantMatmul;
  private readonly rec: WasmRecurrent;

  constructor(platform: WasmPlatform, opts: WasmBackendOptions = {}) {
    if (!hasSimd()) throw new Error('this JavaScript engine has no WebAssembly SIMD');
    if (!hasSharedMemory()) {
      throw new Error('this JavaScript engine has no shared WebAssembly memory (in a browser the page must be cross-origin isolated)');
    }
    this.variant = chooseVariant(platform, opts.simd);
    const threads = opts.threads ?? platform.defaultThreads();
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new Error(`wasm backend: threads must be an integer from 1 to 256, got ${threads}`);
    }
    this.threads = threads;

    const module = platform.loadKernels(this.variant);
    const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
    const kernels: KernelExports = instantiateKernels(module, memory);
    const heap = new WasmHeap(memory, kernels.heap_base(), MAX_PAGES * PAGE, platform.collectGarbage?.bind(platform), kernels.zero_bytes, kernels.copy_bytes);
    this.heap = heap;
    // The pool's control block and job arguments live in memory that is never released while a worker
    // might read it (a closed or broken pool's successor gets fresh blocks), so every thread's views stay
    // valid when the memory grows.
    const blocks = () => ({ ctrlPtr: heap.alloc(CTRL_WORDS * 4), argsPtr: heap.alloc(MAX_ARGS * 8) });
    this.pool = new ThreadPool(platform, module, memory, kernels, threads, blocks);
    const work = new WorkArea(heap);
    const budget = opts.weightCacheBytes ?? DEFAULT_CACHE_BYTES;
    if (!(budget >= 0)) throw new Error(`wasm backend: weightCacheBytes must be a number ≥ 0, got ${budget}`);
    this.mm = new WasmMatmul(kernels, heap, work, this.pool, budget);
    this.attn = new WasmAttention(kernels, heap, work, this.pool);
    this.rows = new WasmRows(heap, work, this.pool);
    this.quant = new WasmQuantMatmul(kernels, heap, work, this.pool, this.mm);
    this.rec = new WasmRecurrent(kernels, heap, work, this.pool);
    this.stepMemory = new StepArena(heap, (MAX_PAGES * PAGE) / 4);
  }

  matmul(a: Float32Array, b: Float32Array, out: Float32Array, spec: MatmulSpec): void {
    this.mm.matmul(a, b, out, spec);
  }

  linearBackward(x: Float32Array, w: Float32Array, dy: Float32Array, spec: LinearSpec, dx: Float32Array | null, dw: Float32Array | null, db: Float32Array | null): void {
    this.mm.linearBackward(x, w, dy, spec, dx, dw, db);
  }

  attentionForward(spec: AttentionSpec, q: AttnOperand, k: AttnOperand, v: AttnOperand, res: AttentionOutputs): void {
    this.attn.forward(spec, q, k, v, res);
  }

  attentionBackward(
    spec: AttentionSpec,
    q: AttnOperand,
    k: AttnOperand,
    v: AttnOperand,
    out: AttnOperand,
    lse: Float32Array,
    dOut: AttnOperand,
    grads: AttentionGrads,
  ): void {
    this.attn.backward(spec, q, k, v, out, lse, dOut, grads);
  }

  quantizedMatmul(a: Float32Array, w: QuantizedWeight, out: Float32Array, spec: QuantizedMatmulSpec): void {
    this.quant.matmul(a, w, out, spec);
  }

  recurrentForward(spec: RecurrentSpec, dirs: readonly RecurrentOperands[]): void {
    this.rec.forward(spec, dirs);
  }

  recurrentBackward(spec: RecurrentSpec, dirs: readonly RecurrentOperands[], grads: readonly RecurrentGradients[]): void {
    this.rec.backward(spec, dirs, grads);
  }

  runRows(kernel: RowKernel, rows: number, cols: number, inputs: readonly Float32Array[], outputs: readonly (Float32Array | null)[], params: readonly number[] = []): void {
    this.rows.run(kernel, rows, cols, inputs, outputs, params);
  }

  /**
   * n floats inside the WebAssembly memory (see Backend.allocate): a weight stored here is used in place by
   * matmul. When the 4 GiB memory cannot hold it (a very large model), an ordinary array: that weight is then
   * copied in per call instead.
   */
  allocate(n: number, zero = true): Float32Array {
    try {
      return this.heap.allocFloat32(n, zero);
    } catch {
      return new Float32Array(n);
    }
  }
  release(a: Float32Array): void {
    this.heap.freeArray(a);
  }


  /**
   * Training steps' activations and gradients (Backend.stepMemory): at most a quarter of the memory's
   * limit, past which a step's further arrays are ordinary ones.
   */
  readonly stepMemory: StepArena;

  /** Stop the worker threads; the next parallel job starts new ones. */
  close(): void {
    this.pool.close();
  }

  /**
   * Work below this many flops runs on the calling thread alone: waking the pool costs more than it saves.
   * The default is measured (see PARALLEL_MIN_FLOPS in matmul.ts); tests set 0 to run the pool on small shapes.
   */
  get parallelMinFlops(): number {
    return this.mm.parallelMinFlops;
  }
  set parallelMinFlops(flops: number) {
    this.mm.parallelMinFlops = flops;
    this.attn.parallelMinFlops = flops;
    this.rec.parallelMinFlops = flops;
    // Row jobs count elements, not flops, so only 0 (what tests set: always use the pool) carries over.
    if (flops === 0) this.rows.parallelMin = 0;
  }

  /**
   * Start (or with `false` stop) timing matmul's phases; returns the running totals. Used by bench/matmul.ts
   * to show how much of a call is copying operands in and out.
   */
  profileMatmul(on = true): MatmulProfile | null {
    this.mm.profile = on ? (this.mm.profile ?? { calls: 0, copyIn: 0, pack: 0, compute: 0, copyOut: 0 }) : null;
    return this.mm.profile;
  }
}

/** Build a WebAssembly backend on a platform adapter (throws, with the reason, where it cannot run). */
export function createWasmBackend(platform: WasmPlatform, opts: WasmBackendOptions = {}): WasmBackend {
  return new WasmBackend(platform, opts);
}

/** The kernel build to use: an explicit request, else ATTN_WASM_SIMD, else relaxed where available. */
export function chooseVariant(platform: WasmPlatform, requested?: KernelVariant): KernelVariant {
  const env = platform.env('ATTN_WASM_SIMD');
  if (env !== undefined && env !== '' && env !== 'relaxed' && env !== 'baseline') {
    throw new Error(`ATTN_WASM_SIMD must be 'relaxed' or 'baseline', got '${env}'`);
  }
  const want = requested ?? (env === 'relaxed' || env === 'baseline' ? env : undefined);
  if (want === 'relaxed' && !hasRelaxedSimd()) {
    throw new Error("wasm backend: the 'relaxed' kernels need relaxed SIMD, which this runtime lacks (Node 20 needs --experimental-wasm-relaxed-simd; importing attn's Node adapter sets it)");
  }
  return want ?? (hasRelaxedSimd() ? 'relaxed' : 'baseline');
}
