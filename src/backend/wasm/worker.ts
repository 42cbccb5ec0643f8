// The body of one pool worker thread (platform-neutral: the platform adapter only starts a thread that
// calls runWorker with the WorkerInit it was given).
//
// The worker instantiates the same kernels on the same shared memory, then loops forever: wait (spin
// briefly, then sleep in Atomics.wait) until the job generation changes, claim and run tasks, check in. It never returns to its
// event loop, which is fine: it has nothing else to do, and the platform unref()s it so the process can
// exit while it sleeps.

import { instantiateKernels } from './kernels.js';
import { CTRL, CTRL_WORDS, MAX_ARGS, SPIN_MS, runTasks, spinWhileEqual, taskTable, type WorkerInit } from './pool.js';

/** A sleeping worker re-reads the job generation at least this often (ms). */
const WAKE_CHECK_MS = 50;

export function runWorker(init: WorkerInit): void {
  const ctrl = new Int32Array(init.memory.buffer, init.ctrlPtr, CTRL_WORDS);
  let table: ReturnType<typeof taskTable>;
  try {
    table = taskTable(instantiateKernels(init.module, init.memory));
  } catch (e) {
    markFailed(init, e);
    return;
  }
  const args = new Float64Array(init.memory.buffer, init.argsPtr, MAX_ARGS);
  // Start from generation 0, not from what GEN says now: if the first job was published while this thread
  // was starting, Atomics.wait returns at once and the worker joins it (the caller waits for its check-in).
  let seen = 0;
  Atomics.add(ctrl, CTRL.STARTED, 1);
  for (;;) {
    // The sleep has a time limit so that a wake-up that never arrives (seen under a CPU profiler, whose
    // signals interrupt futex waits) costs at most WAKE_CHECK_MS instead of hanging the pool.
    if (!spinWhileEqual(ctrl, CTRL.GEN, seen, SPIN_MS)) Atomics.wait(ctrl, CTRL.GEN, seen, WAKE_CHECK_MS);
    const gen = Atomics.load(ctrl, CTRL.GEN);
    if (gen === seen) continue;
    seen = gen;
    try {
      runTasks(table, ctrl, args, init.index);
    } catch (e) {
      console.error(`attn wasm worker ${init.index}:`, e);
      Atomics.store(ctrl, CTRL.ERROR, 1);
      Atomics.store(ctrl, CTRL.NEXT, ctrl[CTRL.NTASKS]!); // nobody starts another task of this job
    }
    Atomics.add(ctrl, CTRL.DONE, 1);
    Atomics.notify(ctrl, CTRL.DONE);
  }
}

/** Record that this worker cannot run (the caller's wait loop turns it into an error). */
export function markFailed(init: Pick<WorkerInit, 'memory' | 'ctrlPtr' | 'index'>, error: unknown): void {
  console.error(`attn wasm worker ${init.index} failed to start:`, error);
  const ctrl = new Int32Array(init.memory.buffer, init.ctrlPtr, CTRL_WORDS);
  Atomics.store(ctrl, CTRL.FAILED, 1);
  Atomics.notify(ctrl, CTRL.DONE);
}
