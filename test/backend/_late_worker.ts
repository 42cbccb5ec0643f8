// A pool worker for wasm-pool.test.ts (not a test itself) that is late with every task it takes: it follows
// the pool's protocol (src/backend/wasm/pool.ts) like the real worker (src/backend/wasm/worker.ts), but after
// claiming a task it sleeps HOLD_MS before running it — as if the OS had given its core to another process
// right after the claim. It waits for jobs by spinning, so that it is there to claim a task of every job.
import { isMainThread, workerData } from 'node:worker_threads';
import { instantiateKernels } from '../../src/backend/wasm/kernels.js';
import { CTRL, CTRL_WORDS, MAX_ARGS, claimWord, type WorkerInit } from '../../src/backend/wasm/pool.js';

/** How long the worker sits on each task it claims (ms). */
export const HOLD_MS = 200;

// (The test imports HOLD_MS from this file too: only a worker thread runs the loop.)
if (!isMainThread) {
  const init = (workerData as { init: WorkerInit }).init;
  const ctrl = new Int32Array(init.memory.buffer, init.ctrlPtr, CTRL_WORDS);
  const claim = claimWord(init.memory, init.ctrlPtr);
  const args = new Float64Array(init.memory.buffer, init.argsPtr, MAX_ARGS);
  const tasks = instantiateKernels(init.module, init.memory).tasks;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  Atomics.add(ctrl, CTRL.STARTED, 1);
  let seen = 0;
  for (;;) {
    while (Atomics.load(ctrl, CTRL.GEN) === seen) if (Atomics.load(ctrl, CTRL.EXIT) !== 0) process.exit(0);
    if (Atomics.load(ctrl, CTRL.EXIT) !== 0) process.exit(0);
    const gen = (seen = Atomics.load(ctrl, CTRL.GEN));
    const fn = tasks[ctrl[CTRL.KIND]!];
    const n = ctrl[CTRL.NTASKS]!;
    const a = Array.from(args.subarray(0, ctrl[CTRL.NARGS]!));
    const tag = BigInt(gen) << 32n;
    for (;;) {
      const c = Atomics.load(claim, 0);
      if ((c & ~0xffffffffn) !== tag || Number(c & 0xffffffffn) >= n || !fn) break; // stale, or nothing left
      if (Atomics.compareExchange(claim, 0, c, c + 1n) !== c) continue;
      Atomics.wait(nap, 0, 0, HOLD_MS); // preempted while holding task t
      fn(Number(c & 0xffffffffn), init.index, ...a);
      if (Atomics.add(ctrl, CTRL.DONE, 1) + 1 === n) Atomics.notify(ctrl, CTRL.DONE);
    }
  }
}
