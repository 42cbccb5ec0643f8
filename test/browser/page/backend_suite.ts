// The engine's backend-comparison tests (test/backend/wasm-matmul, wasm-attention, wasm-rows: the WASM
// kernels, both builds, on 1 and 2 threads, against the reference 'js' backend) run unchanged inside
// Chromium. Their node:test / node:assert / Node-adapter imports are pointed at the page stand-ins next to
// this file by scripts/build-browser.mjs; test/browser/backend.test.ts calls run() and reports each test.
import { createBrowserPlatform, startSupervisor, threadCanBlock } from '../../../src/platform/browser.js';
import { hasRelaxedSimd, type KernelVariant } from '../../../src/backend/wasm/index.js';
import { KERNEL_BYTES } from '../../../src/browser/kernel_bytes.js';
import { useBrowserPlatform } from './_platform_standin.js';
import { registeredTests } from './_node_test.js';

export interface SuiteResult {
  name: string;
  ok: boolean;
  skipped: boolean;
  error?: string;
  ms: number;
}

/** Set up the browser platform, then run every registered test in order. */
export async function run(): Promise<{ crossOriginIsolated: boolean; results: SuiteResult[] }> {
  const modules = new Map<KernelVariant, WebAssembly.Module>();
  for (const v of hasRelaxedSimd() ? (['relaxed', 'baseline'] as const) : (['baseline'] as const)) modules.set(v, await WebAssembly.compile(KERNEL_BYTES[v]));
  const workerUrl = new URL('/attn/attn-worker.js', location.href).href;
  const supervisor = crossOriginIsolated ? await startSupervisor(workerUrl) : null;
  useBrowserPlatform(createBrowserPlatform({ modules, supervisor, workerUrl, defaultThreads: 2, canBlock: threadCanBlock() }));
  // Imported now, not at the top: their describe blocks build backends while registering, which needs the platform.
  await import('../../backend/wasm-matmul.test.js');
  await import('../../backend/wasm-attention.test.js');
  await import('../../backend/wasm-rows.test.js');
  const results: SuiteResult[] = [];
  for (const t of registeredTests()) {
    if (t.skip) {
      results.push({ name: t.name, ok: true, skipped: true, ms: 0 });
      continue;
    }
    const t0 = performance.now();
    try {
      await t.fn();
      results.push({ name: t.name, ok: true, skipped: false, ms: performance.now() - t0 });
    } catch (e) {
      results.push({ name: t.name, ok: false, skipped: false, error: (e as Error).stack ?? String(e), ms: performance.now() - t0 });
    }
  }
  return { crossOriginIsolated, results };
}
