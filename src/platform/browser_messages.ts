// The messages between the browser adapter (src/platform/browser.ts) and its worker script
// (src/platform/browser_worker.ts, bundled as dist/browser/attn-worker.js). One script plays two roles:
//
//   engine thread ──ping──▶ supervisor ──hello──▶ engine thread        (at ready(): the script loads and runs)
//   engine thread ──supervise {inits}──▶ supervisor                      (the pool's first parallel job)
//   supervisor ──pool {init}──▶ pool worker i ──running──▶ supervisor   (then runWorker blocks until EXIT)
//   pool worker i ──left──▶ supervisor                                   (the pool closed; the worker ends)
//
// Types only: importing this file runs nothing.

import type { WorkerInit } from '../backend/wasm/index.js';

/** Sent to the worker script. */
export type ToWorker =
  | { kind: 'ping' }
  | { kind: 'supervise'; inits: WorkerInit[]; workerUrl: string }
  | { kind: 'pool'; init: WorkerInit };

/** Sent by the worker script. */
export type FromWorker = { kind: 'hello' } | { kind: 'running'; index: number } | { kind: 'left'; index: number };
