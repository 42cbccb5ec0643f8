// The page's stand-in for src/platform/node.ts, for the engine's backend test files run inside Chromium:
// they build WebAssembly backends with `createWasmBackend(nodePlatform, …)`, and here `nodePlatform` is the
// browser adapter, set up (kernels compiled, supervisor started) by backend_suite.ts before any test runs.
import type { WasmPlatform } from '../../../src/backend/wasm/index.js';

let current: WasmPlatform | null = null;

export function useBrowserPlatform(p: WasmPlatform): void {
  current = p;
}

function platform(): WasmPlatform {
  if (!current) throw new Error('the browser platform is not set up yet (backend_suite.ts sets it before running tests)');
  return current;
}

export const nodePlatform: WasmPlatform = {
  loadKernels: (v) => platform().loadKernels(v),
  startWorkers: (inits) => platform().startWorkers(inits),
  defaultThreads: () => platform().defaultThreads(),
  env: (name) => platform().env(name),
  get canBlock() {
    return platform().canBlock;
  },
};
