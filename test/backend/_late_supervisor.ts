// A supervisor thread for wasm-pool.test.ts (not a test itself): like the real one
// (src/platform/node_supervisor.ts), but its workers run _late_worker.js, which holds each task it claims for
// HOLD_MS before running it — a worker that the OS preempts in the middle of a task (another process has its
// core), at its worst.
import { workerData } from 'node:worker_threads';
import { superviseWorkers, type SupervisorData } from '../../src/platform/node_supervisor.js';

superviseWorkers({ ...(workerData as SupervisorData), workerEntry: new URL('./_late_worker.js', import.meta.url).href });
