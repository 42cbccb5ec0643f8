// The supervisor thread of the Node adapter: it starts the WebAssembly pool's worker threads and watches
// them. It exists because the thread that calls the backend blocks (Atomics.wait) while a job runs, so its
// own event loop could never deliver a worker's 'exit' event; this thread has nothing else to do, so it can.
// When a worker stops without the pool having asked it to (killed, out of memory, a crash outside a task),
// markDead records it in the pool's control block and wakes the waiting caller, whose call then fails with
// an error instead of waiting forever. When every worker has stopped, this thread ends too.

import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { markDead, type WorkerInit } from '../backend/wasm/index.js';

export interface SupervisorData {
  inits: WorkerInit[];
  /** URL of the module each pool worker runs (node_worker.js). */
  workerEntry: string;
}

/** Start one worker per init and report the ones that stop unasked; `started` sees the Worker objects. */
export function superviseWorkers(data: SupervisorData, started?: (workers: Worker[]) => void): void {
  const workers = data.inits.map((init) => {
    const w = new Worker(new URL(data.workerEntry), { workerData: { init } });
    w.on('error', (e) => console.error(`attn wasm worker ${init.index}:`, e));
    w.on('exit', (code) => markDead(init, code));
    return w;
  });
  started?.(workers);
}

if (!isMainThread && (workerData as { supervisor?: boolean } | null)?.supervisor) {
  superviseWorkers(workerData as SupervisorData);
}
