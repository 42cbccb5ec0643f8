// The worker script of the browser adapter (bundled as dist/browser/attn-worker.js). One script, two roles,
// decided by the first message it gets (see browser_messages.ts):
//
//   supervisor  started once by ready() on the thread that runs the engine. It starts the pool's workers and
//               watches them: the engine thread blocks (or spins) while a job runs, so its own event loop
//               cannot hear that a worker died; this thread has nothing else to do, so it can. A worker that
//               raises an error before it joined the pool is reported with markFailed, one that dies after
//               with markDead; either way the waiting engine thread throws instead of waiting forever.
//   pool worker runs the platform-neutral worker loop (src/backend/wasm/worker.ts) on the shared memory until
//               the pool closes, then says so and ends.
//
// This file only defines serveWorkerScript; browser_worker_entry.ts calls it (a test calls it with a pool
// role that dies on purpose, to check the watching).

import { markDead, type WorkerInit } from '../backend/wasm/pool.js';
import { markFailed } from '../backend/wasm/worker.js';
import type { FromWorker, ToWorker } from './browser_messages.js';

/** The few members of a dedicated worker's global scope used here (the project's DOM lib types `self` as a window). */
interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
  close(): void;
}

/**
 * Make this worker answer the adapter's messages; `runPool(init)` is the pool role's body (runWorker).
 * Example (the entry script): `serveWorkerScript(runWorker)`.
 */
export function serveWorkerScript(runPool: (init: WorkerInit) => void): void {
  const scope = self as unknown as WorkerScope;
  scope.onmessage = (e) => {
    const msg = e.data;
    switch (msg.kind) {
      case 'ping':
        scope.postMessage({ kind: 'hello' });
        return;
      case 'supervise':
        supervise(msg.inits, msg.workerUrl);
        return;
      case 'pool':
        // Say "running" first: the loop below never returns to this event loop until the pool closes.
        scope.postMessage({ kind: 'running', index: msg.init.index });
        runPool(msg.init);
        scope.postMessage({ kind: 'left', index: msg.init.index });
        scope.close();
        return;
    }
  };
}

/** Start one pool worker per init and report the ones that fail or die. */
function supervise(inits: WorkerInit[], workerUrl: string): void {
  for (const init of inits) {
    const worker = new Worker(workerUrl, { type: 'module', name: `attn-pool-${init.index}` });
    let running = false;
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      if (e.data.kind === 'running') running = true;
      else if (e.data.kind === 'left') worker.terminate();
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault(); // handled here; do not also report it to the page
      const why = new Error(`${workerUrl}: ${e.message || 'the worker script raised an error'}`);
      // Browsers give a worker no exit code: -1 stands for "stopped by an error".
      if (running) markDead(init, -1);
      else markFailed(init, why);
      worker.terminate();
    };
    worker.postMessage({ kind: 'pool', init } satisfies ToWorker);
  }
}
