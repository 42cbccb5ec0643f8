// A worker script whose pool workers die holding a task (an uncaught error, as a crash would be): each waits for
// the first job, claims one of its tasks with the pool's own protocol (src/backend/wasm/pool.ts) and throws
// without running it, so the job can never finish and only the supervisor's report can end the caller's wait.
import { CTRL, CTRL_WORDS, claimWord } from '../../../src/backend/wasm/pool.js';
import { serveWorkerScript } from '../../../src/platform/browser_worker.js';

serveWorkerScript((init) => {
  const ctrl = new Int32Array(init.memory.buffer, init.ctrlPtr, CTRL_WORDS);
  const claim = claimWord(init.memory, init.ctrlPtr);
  Atomics.add(ctrl, CTRL.STARTED, 1);
  while (Atomics.load(ctrl, CTRL.GEN) === 0) Atomics.wait(ctrl, CTRL.GEN, 0);
  const gen = Atomics.load(ctrl, CTRL.GEN);
  for (;;) {
    const c = Atomics.load(claim, 0);
    if (c >> 32n !== BigInt(gen) || Number(c & 0xffffffffn) >= ctrl[CTRL.NTASKS]!) break;
    if (Atomics.compareExchange(claim, 0, c, c + 1n) === c) break; // holding a task now
  }
  throw new Error(`test: pool worker ${init.index} dies on purpose, holding a task`);
});
