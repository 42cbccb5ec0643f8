// A pool worker for wasm-pool.test.ts (not a test itself) that dies holding a task: it waits for the first job,
// claims one of its tasks with the pool's own protocol (src/backend/wasm/pool.ts), and exits with code 7
// without running it, so the job can never finish and only the supervisor's report can end the caller's wait.
import { workerData } from 'node:worker_threads';
import { CTRL, CTRL_WORDS, claimWord, type WorkerInit } from '../../src/backend/wasm/pool.js';

const init = (workerData as { init: WorkerInit }).init;
const ctrl = new Int32Array(init.memory.buffer, init.ctrlPtr, CTRL_WORDS);
const claim = claimWord(init.memory, init.ctrlPtr);
Atomics.add(ctrl, CTRL.STARTED, 1);
while (Atomics.load(ctrl, CTRL.GEN) === 0) Atomics.wait(ctrl, CTRL.GEN, 0); // (a wake-up may come before the job)
const gen = Atomics.load(ctrl, CTRL.GEN);
for (;;) {
  const c = Atomics.load(claim, 0);
  if (c >> 32n !== BigInt(gen) || Number(c & 0xffffffffn) >= ctrl[CTRL.NTASKS]!) break; // nothing left to take
  if (Atomics.compareExchange(claim, 0, c, c + 1n) === c) break; // holding a task now
}
process.exit(7);
