// The Node adapter: everything the WebAssembly backend needs from Node, and its registration.
//
//   import 'attn/dist/src/platform/node.js';   // (done by attn's Node entry point)
//   setBackend('wasm', { threads: 2 });
//
// Importing this module
//   1. turns on relaxed SIMD on Node 20 (V8 flag --experimental-wasm-relaxed-simd; Node ≥ 22 has it on, and
//      Node 24 rejects the flag). The flag must be set before any WebAssembly is compiled, and it is
//      process-wide, so worker threads get it too. Users get the fused multiply-add without knowing the flag.
//   2. registers the 'wasm' backend, which getBackend() then prefers over the reference 'js' backend.
// It keeps fs, os, v8 and worker_threads out of src/backend/wasm, which must also run in a browser.

import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { registerBackend } from '../backend/index.js';
import {
  CTRL,
  CTRL_WORDS,
  chooseVariant,
  createWasmBackend,
  hasRelaxedSimd,
  type KernelVariant,
  type WasmBackend,
  type WasmBackendOptions,
  type WasmPlatform,
  type WorkerInit,
} from '../backend/wasm/index.js';

enableRelaxedSimd();

/** Node 20: set the V8 flag that enables relaxed SIMD (before any module is compiled). */
function enableRelaxedSimd(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 22 || hasRelaxedSimd()) return;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // An engine that does not know the flag simply runs the baseline kernels.
  }
}

// dist/src/platform/node.js → dist/kernels/attn-*.wasm and dist/src/backend/wasm/worker.js
const kernelsDir = new URL('../../kernels/', import.meta.url);
const workerEntry = new URL('../backend/wasm/worker.js', import.meta.url).href;

const modules = new Map<KernelVariant, WebAssembly.Module>();

// The worker's first lines: load the platform-neutral worker loop and run it. Only dynamic import() is used,
// because an eval'd worker is a CommonJS script normally but an ES module when the parent was started with
// --input-type=module. If loading fails, flag it in the control block so the pool reports an error instead
// of waiting for a worker that will never check in.
const workerSource = `
const workerData = import('node:worker_threads').then((wt) => wt.workerData);
workerData.then((data) => import(data.entry)).then(
  async (m) => m.runWorker((await workerData).init),
  async (e) => {
    const { init } = await workerData;
    console.error('attn wasm worker failed to load:', e);
    const ctrl = new Int32Array(init.memory.buffer, init.ctrlPtr, ${CTRL_WORDS});
    Atomics.store(ctrl, ${CTRL.FAILED}, 1);
    Atomics.notify(ctrl, ${CTRL.DONE});
  },
);
`;

export const nodePlatform: WasmPlatform = {
  loadKernels(variant: KernelVariant): WebAssembly.Module {
    const cachedModule = modules.get(variant);
    if (cachedModule) return cachedModule;
    const file = new URL(`attn-${variant}.wasm`, kernelsDir);
    if (!existsSync(file)) {
      throw new Error(`the WebAssembly kernels are not built (${file.pathname} is missing); run \`npm install\` or \`npm run build\` in the attn folder`);
    }
    const module = new WebAssembly.Module(readFileSync(file));
    modules.set(variant, module);
    return module;
  },

  startWorker(init: WorkerInit): void {
    const worker = new Worker(workerSource, { eval: true, workerData: { entry: workerEntry, init } });
    worker.unref(); // a sleeping worker must not keep the process alive
    worker.on('error', (e) => console.error(`attn wasm worker ${init.index}:`, e));
  },

  defaultThreads(): number {
    return availableParallelism();
  },

  env(name: string): string | undefined {
    return process.env[name];
  },
};

// One backend per (threads, kernel build): setBackend('wasm') may be called many times (every test suite
// does), and each backend owns a WebAssembly memory and worker threads that live as long as the process.
const backends = new Map<string, WasmBackend>();

registerBackend('wasm', (opts: WasmBackendOptions) => {
  const threads = opts.threads ?? nodePlatform.defaultThreads();
  const key = `${threads}/${chooseVariant(nodePlatform, opts.simd)}`;
  let backend = backends.get(key);
  if (!backend) {
    backend = createWasmBackend(nodePlatform, { ...opts, threads });
    backends.set(key, backend);
  }
  return backend;
});
