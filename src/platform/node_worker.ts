// One worker thread of the WebAssembly pool under Node: run the platform-neutral worker loop with the
// WorkerInit the supervisor passed (src/backend/wasm/worker.ts). The loop returns when the pool closes,
// and the thread ends.
import { workerData } from 'node:worker_threads';
import { runWorker, type WorkerInit } from '../backend/wasm/index.js';

runWorker((workerData as { init: WorkerInit }).init);
