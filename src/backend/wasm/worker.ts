// The body of one pool worker thread (platform-neutral: the platform adapter only starts a thread that
// calls runWorker with the WorkerInit it was given).
//
// The worker instantiates the same kernels on the same shared memory, then loops: wait (spin briefly, then
// sleep in Atomics.wait) until the job generation changes, claim and run tasks (see pool.ts). It returns when
// the pool sets EXIT (close, or a broken pool), which ends the thread. An idle worker sleeps without a time
// limit: the caller re-sends a job's wake-up while it waits, so a lost wake-up costs a few milliseconds
// instead of a hang, and nothing wakes idle threads.

import { instantiateKernels } from './kernels.js';
import { CTRL, CTRL_WORDS, MAX_ARGS, SPIN_MS, claimWord, runTasks, spinWhileEqual, type WorkerInit } from './pool.js';

export function runWorker(init: WorkerInit): void {
  const ctrl = new Int32Array(init.memory.buffer, init.ctrlPtr, CTRL_WORDS);
  const claim = claimWord(init.memory, init.ctrlPtr);
  let tasks: ReturnType<typeof instantiateKernels>['tasks'];
  try {
    tasks = instantiateKernels(init.module, init.memory).tasks;
  } catch (e) {
    markFailed(init, e);
    return;
  }
  const args = new Float64Array(init.memory.buffer, init.argsPtr, MAX_ARGS);
  // Start from generation 0, not from what GEN says now: if the first job was published while this thread
  // was starting, the wait returns at once and the worker joins it.
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
    // The descriptor as published for `gen`; runTasks claims only while CLAIM still belongs to `gen`, which
    // proves this read was not torn by the next job's publication.
    const fn = tasks[ctrl[CTRL.KIND]!];
    const n = ctrl[CTRL.NTASKS]!;
    const a = Array.from(args.subarray(0, ctrl[CTRL.NARGS]!));
    if (!fn) continue; // a torn read of a newer job's kind: that job's claims will not match this generation
    try {
      runTasks(fn, n, a, ctrl, claim, gen, init.index);
    } catch (e) {
      console.error(`attn wasm worker ${init.index}:`, e);
    }
  }
}

/** Record that this worker cannot run (the caller's wait loop turns it into an error). */
export function markFailed(init: Pick<WorkerInit, 'memory' | 'ctrlPtr' | 'index'>, error: unknown): void {
  console.error(`attn wasm worker ${init.index} failed to start:`, error);
  const ctrl = new Int32Array(init.memory.buffer, init.ctrlPtr, CTRL_WORDS);
  Atomics.store(ctrl, CTRL.FAILED, 1);
  Atomics.notify(ctrl, CTRL.DONE);
}
