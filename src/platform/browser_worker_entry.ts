// Entry point of dist/browser/attn-worker.js: the supervisor / pool worker script of the browser adapter
// (see browser_worker.ts). Started by the adapter with `new Worker(url, { type: 'module' })`.
import { runWorker } from '../backend/wasm/worker.js';
import { serveWorkerScript } from './browser_worker.js';

serveWorkerScript(runWorker);
