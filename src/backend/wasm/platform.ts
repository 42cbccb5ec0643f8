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
   * Start one thread per WorkerInit, each calling runWorker(init) from ./worker.js. They must not keep the
   * process alive. A thread that cannot start should call markFailed(init, error) from ./worker.js. And the
   * platform must watch the threads: when one stops on its own (a crash, out of memory), call
   * markDead(init, exitCode) from ./pool.js — from a thread that is never blocked waiting for the pool
   * (the pool's caller blocks in Atomics.wait, so its own event loop cannot deliver the news). Node does this
   * in a small supervisor thread that starts the workers and listens for their 'exit' events.
   */
  startWorkers(inits: WorkerInit[]): void;
  /**
   * A full, synchronous garbage collection, where the host offers one (Node does; browsers do not). The heap
   * calls it before growing the memory, to free the blocks of models the program has dropped (see heap.ts).
   */
  collectGarbage?(): void;
  /** Threads to use when the user does not say: the number of cores. */
  defaultThreads(): number;
  /**
   * How much CPU other processes (and, in a virtual machine, the host: steal time) took since the previous
   * call, in cores (1 = one core's worth all the time); null where the host cannot tell (browsers, systems
   * without /proc/stat) or on the first call. The pool asks a few times a second, to tell a machine whose
   * cores are busy with other work from a quiet one (see ThreadPool.contended).
   */
  loadOfOthers?(): number | null;
  /** An environment setting (ATTN_WASM_SIMD), or undefined where the platform has none. */
  env(name: string): string | undefined;
  /**
   * Whether the thread calling the backend may block in Atomics.wait (default true). A browser page's main
   * thread may not; the pool then spins while it waits for its workers.
   */
  readonly canBlock?: boolean;
}
