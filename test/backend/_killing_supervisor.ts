// A supervisor thread for wasm-pool.test.ts (not a test itself): like the real one
// (src/platform/node_supervisor.ts), but its workers run _rogue_worker.js, which claims a task of the first
// job and exits without finishing it — a worker killed (out of memory, say) while it holds part of a job.
import { workerData } from 'node:worker_threads';
import { superviseWorkers, type SupervisorData } from '../../src/platform/node_supervisor.js';

superviseWorkers({ ...(workerData as SupervisorData), workerEntry: new URL('./_rogue_worker.js', import.meta.url).href });
