// What the WebAssembly backend needs from its host, kept behind one small interface so that nothing in
// src/backend/wasm imports a node: module and the same code can run in a browser. src/platform/node.ts is
// the Node implementation (fs to read the .wasm, worker_threads for the pool, os for the core count).

import type { KernelVariant } from './kernels.js';
import type { WorkerInit } from './pool.js';

export interface WasmPlatform {
  /**
   * The compiled kernels of one build, loaded synchronously (the Backend API is synchronous). Throws an
   * error that says how to build them when they are missing.
   */
  loadKernels(variant: KernelVariant): WebAssembly.Module;
  /**
   * Start a thread that calls runWorker(init) from ./worker.js. It must not keep the process alive, and if
   * it cannot start it should call markFailed(init, error) from ./worker.js so the pool reports it.
   */
  startWorker(init: WorkerInit): void;
  /** Threads to use when the user does not say: the number of cores. */
  defaultThreads(): number;
  /** An environment setting (ATTN_WASM_SIMD), or undefined where the platform has none. */
  env(name: string): string | undefined;
}
