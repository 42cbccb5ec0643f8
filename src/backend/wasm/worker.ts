// The body of one pool worker thread (platform-neutral: the platform adapter only starts a thread that
// calls runWorker with the WorkerInit it was given).
//
// The worker instantiates the same kernels on the same shared memory, then loops: wait (spin briefly, then
// sleep in Atomics.wait) until the job generation changes, claim and run tasks, check in. It returns when
// the pool sets EXIT (close, or a broken pool), which ends the thread. An idle worker sleeps without a time
// limit: the caller re-sends a job's wake-up while it waits, so a lost wake-up costs a few milliseconds
// instead of a hang, and nothing wakes idle threads.

import { instantiateKernels } from './kernels.js';
import { CTRL, CTRL_WORDS, MAX_ARGS, SPIN_MS, runTasks, spinWhileEqual, type WorkerInit } from './pool.js';

export function runWorker(init: WorkerInit): void {
  const ctrl = new Int32Array(init.memory.buffer, init.ctrlPtr, CTRL_WORDS);
  let tasks: ReturnType<typeof instantiateKernels>['tasks'];
  try {
    tasks = instantiateKernels(init.module, init.memory).tasks;
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
    if (!spinWhileEqual(ctrl, CTRL.GEN, seen, SPIN_MS)) {
      Atomics.wait(ctrl, CTRL.GEN, seen);
      Atomics.add(ctrl, CTRL.WAKEUPS, 1);
    }
    if (Atomics.load(ctrl, CTRL.EXIT) !== 0) return;
    const gen = Atomics.load(ctrl, CTRL.GEN);
    if (gen === seen) continue;
    seen = gen;
    try {
      runTasks(tasks, ctrl, args, init.index);
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
