// The browser adapter: everything the WebAssembly backend needs from a browser, and its registration.
// It is the browser's counterpart of src/platform/node.ts; src/browser/index.ts calls prepareBrowserBackend
// from `await ready()`.
//
// What differs from Node, and why:
//   - Kernels are compiled asynchronously, once, before the first op. The Backend API is synchronous, but
//     Chromium refuses a synchronous `new WebAssembly.Module` of a large module on a page's main thread, so
//     ready() compiles with WebAssembly.compile and loadKernels hands out the compiled module.
//   - Threads are Web Workers sharing the one WebAssembly.Memory. Sending a shared memory to a worker needs a
//     cross-origin isolated page (served with `Cross-Origin-Opener-Policy: same-origin` and
//     `Cross-Origin-Embedder-Policy: require-corp`); elsewhere attn runs its kernels on one thread.
//   - Workers are started and watched by a supervisor worker (browser_worker.ts), for the reason Node has one:
//     the thread that calls the backend is busy while a job runs and could not hear that a worker died.
//   - A page's main thread may not block in Atomics.wait. There the pool spins while it waits (canBlock:
//     false); in a Worker it sleeps. Heavy work belongs in a Worker anyway, so the page stays responsive.
//
//   const info = await prepareBrowserBackend({ kernels, workerUrl });   // → { backend: 'wasm', threads: 8, ... }

import { registerBackend, setBackend } from '../backend/index.js';
import { chooseVariant, createWasmBackend, hasRelaxedSimd, hasSimd, markDead, markFailed, type KernelVariant, type WasmBackend, type WasmBackendOptions, type WasmPlatform, type WorkerInit } from '../backend/wasm/index.js';
import { hasSharedMemory } from '../backend/wasm/kernels.js';
import type { FromWorker, ToWorker } from './browser_messages.js';

/** What ready() chose, and why: shown by the playground and returned by `attn.backendInfo()`. */
export interface BackendInfo {
  /** 'wasm' (SIMD kernels) or 'js' (the reference backend, where WebAssembly SIMD or shared memory is missing). */
  backend: string;
  /** Threads the kernels run on, the calling one included. */
  threads: number;
  /** The kernel build: 'relaxed' (fused multiply-add) or 'baseline'; null for the 'js' backend. */
  simd: KernelVariant | null;
  /** Whether the page is cross-origin isolated (needed for more than one thread). */
  crossOriginIsolated: boolean;
  /** Whether the engine's thread may sleep in Atomics.wait (false on a page's main thread: the pool spins). */
  canBlock: boolean;
  /** The reason for this choice, in words. */
  note: string;
}

export interface PrepareOptions {
  /** The kernel builds as bytes (src/browser embeds them in the bundle). */
  kernels: Readonly<Record<KernelVariant, Uint8Array<ArrayBuffer>>>;
  /** Module URL of the worker script (dist/browser/attn-worker.js). */
  workerUrl: string;
  /** Threads; default: all cores when the page is cross-origin isolated, else 1. */
  threads?: number;
  /** Kernel build; default: 'relaxed' where the browser has relaxed SIMD. */
  simd?: KernelVariant;
  /** 'js' forces the reference backend (tests compare the two). */
  backend?: 'wasm' | 'js';
}

/** Whether this thread may call Atomics.wait (a page's main thread may not; workers may). */
export function threadCanBlock(): boolean {
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    Atomics.wait(new Int32Array(memory.buffer), 0, 1, 0); // value 0 ≠ 1: returns at once where allowed
    return true;
  } catch {
    return false;
  }
}

function isCrossOriginIsolated(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/**
 * Start the worker script as a supervisor and wait until it answers, so that a script that does not load
 * (wrong URL, a server without COEP headers) shows up here, as an error of ready(), not as a stuck job.
 */
export function startSupervisor(workerUrl: string, timeoutMs = 20_000): Promise<Worker> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerUrl, { type: 'module', name: 'attn-supervisor' });
    const timer = setTimeout(() => {
      worker.terminate();
      reject(new Error(`the worker script ${workerUrl} did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      if (e.data.kind !== 'hello') return;
      clearTimeout(timer);
      resolve(worker);
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      clearTimeout(timer);
      worker.terminate();
      reject(new Error(`the worker script ${workerUrl} failed to load${e.message ? `: ${e.message}` : ' (is the URL right, and is it served as JavaScript?)'}`));
    };
    worker.postMessage({ kind: 'ping' } satisfies ToWorker);
  });
}

/**
 * The WasmPlatform over compiled kernels and a running supervisor (null: one thread only).
 * Does not handle: starting a supervisor (startSupervisor) or compiling kernels (prepareBrowserBackend does both).
 */
export function createBrowserPlatform(cfg: {
  modules: ReadonlyMap<KernelVariant, WebAssembly.Module>;
  supervisor: Worker | null;
  workerUrl: string;
  defaultThreads: number;
  canBlock: boolean;
  simd?: KernelVariant;
}): WasmPlatform {
  // The pool being supervised now: if the supervisor itself dies, every one of its workers is lost.
  let current: WorkerInit[] = [];
  if (cfg.supervisor) {
    cfg.supervisor.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      for (const init of current) markDead(init, -1);
    };
  }
  return {
    loadKernels(variant: KernelVariant): WebAssembly.Module {
      const module = cfg.modules.get(variant);
      if (!module) {
        throw new Error(`the '${variant}' WebAssembly kernels are not compiled; call \`await ready()\` before using the engine (compiled: ${[...cfg.modules.keys()].join(', ') || 'none'})`);
      }
      return module;
    },
    startWorkers(inits: WorkerInit[]): void {
      if (!cfg.supervisor) {
        const why = new Error('this page runs attn on one thread (see backendInfo().note); use threads: 1');
        for (const init of inits) markFailed(init, why);
        return;
      }
      current = inits;
      cfg.supervisor.postMessage({ kind: 'supervise', inits, workerUrl: cfg.workerUrl } satisfies ToWorker);
    },
    defaultThreads: () => cfg.defaultThreads,
    // A browser has no environment; ready({ simd }) plays the part of ATTN_WASM_SIMD.
    env: (name) => (name === 'ATTN_WASM_SIMD' ? cfg.simd : undefined),
    canBlock: cfg.canBlock,
  };
}

// Compiled once per page (or worker); ready() may be called again to change threads or the kernel build.
let compiled: Promise<Map<KernelVariant, WebAssembly.Module>> | null = null;
const supervisors = new Map<string, Promise<Worker>>();
const backends = new Map<string, WasmBackend>();

async function compileKernels(kernels: PrepareOptions['kernels']): Promise<Map<KernelVariant, WebAssembly.Module>> {
  const variants: KernelVariant[] = hasRelaxedSimd() ? ['relaxed', 'baseline'] : ['baseline'];
  const modules = new Map<KernelVariant, WebAssembly.Module>();
  for (const v of variants) modules.set(v, await WebAssembly.compile(kernels[v]));
  return modules;
}

/**
 * Compile the kernels, start the supervisor when threads are possible, register the 'wasm' backend and
 * switch to it (or to 'js', with the reason in `note`). Throws when asked for what cannot work here
 * (threads > 1 in a page that is not cross-origin isolated; the 'relaxed' build without relaxed SIMD).
 */
export async function prepareBrowserBackend(opts: PrepareOptions): Promise<BackendInfo> {
  const coi = isCrossOriginIsolated();
  const canBlock = threadCanBlock();
  const info = (backend: string, threads: number, simd: KernelVariant | null, note: string): BackendInfo => ({ backend, threads, simd, crossOriginIsolated: coi, canBlock, note });
  if (opts.backend === 'js') {
    setBackend('js');
    return info('js', 1, null, 'the reference JavaScript backend, as asked');
  }
  if (!hasSimd()) {
    setBackend('js');
    return info('js', 1, null, 'this browser has no WebAssembly SIMD: using the reference JavaScript backend');
  }
  if (!hasSharedMemory()) {
    setBackend('js');
    return info('js', 1, null, 'this browser makes shared WebAssembly memory only in cross-origin isolated pages: using the reference JavaScript backend');
  }
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1 || opts.threads > 256)) {
    throw new Error(`ready: threads must be an integer from 1 to 256, got ${opts.threads}`);
  }
  if ((opts.threads ?? 1) > 1 && !coi) {
    throw new Error(`ready: threads: ${opts.threads} needs a cross-origin isolated page (headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp); this page is not, so attn can use 1 thread here`);
  }
  compiled ??= compileKernels(opts.kernels);
  const modules = await compiled;

  const cores = Math.max(1, (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1);
  let threads = opts.threads ?? (coi ? cores : 1);
  let note = coi ? `cross-origin isolated: ${threads} thread${threads > 1 ? 's' : ''} (Web Workers on shared memory)` : 'not cross-origin isolated: one thread (serve the page with COOP/COEP headers for more)';
  let supervisor: Worker | null = null;
  if (threads > 1) {
    let started = supervisors.get(opts.workerUrl);
    if (!started) {
      started = startSupervisor(opts.workerUrl);
      supervisors.set(opts.workerUrl, started);
      started.catch(() => supervisors.delete(opts.workerUrl)); // a later ready() may try again
    }
    try {
      supervisor = await started;
    } catch (e) {
      if (opts.threads !== undefined) throw e; // asked for threads explicitly: say why there are none
      threads = 1;
      note = `one thread: ${(e as Error).message}`;
    }
  }
  const platform = createBrowserPlatform({ modules, supervisor, workerUrl: opts.workerUrl, defaultThreads: threads, canBlock, ...(opts.simd ? { simd: opts.simd } : {}) });
  const simd = chooseVariant(platform, opts.simd);
  // One backend per (threads, build, worker script), as on Node: each owns a memory and its workers.
  registerBackend('wasm', (o: WasmBackendOptions) => {
    const t = o.threads ?? threads;
    const key = `${t}/${chooseVariant(platform, o.simd ?? simd)}/${opts.workerUrl}`;
    let backend = backends.get(key);
    if (!backend) {
      backend = createWasmBackend(platform, { ...o, threads: t, simd: o.simd ?? simd });
      backends.set(key, backend);
    }
    return backend;
  });
  setBackend('wasm', { threads });
  return info('wasm', threads, simd, note);
}
