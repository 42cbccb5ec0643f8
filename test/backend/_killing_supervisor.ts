// A supervisor thread for wasm-pool.test.ts (not a test itself): starts the pool's workers like the real one
// (src/platform/node_supervisor.ts) and then kills worker 1 after 60 ms, as an out-of-memory kill would.
import { workerData } from 'node:worker_threads';
import { superviseWorkers, type SupervisorData } from '../../src/platform/node_supervisor.js';

superviseWorkers(workerData as SupervisorData, (workers) => {
  setTimeout(() => void workers[0]!.terminate(), 60);
});
