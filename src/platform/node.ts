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
// It keeps fs, os, v8, vm and worker_threads out of src/backend/wasm, which must also run in a browser.

import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { registerBackend } from '../backend/index.js';
import {
  chooseVariant,
  createWasmBackend,
  hasRelaxedSimd,
  markFailed,
  type KernelVariant,
  type WasmBackend,
  type WasmBackendOptions,
  type WasmPlatform,
  type WorkerInit,
} from '../backend/wasm/index.js';
import type { SupervisorData } from './node_supervisor.js';

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

let gc: (() => void) | null | undefined; // undefined: not looked for yet; null: not available

/**
 * A full garbage collection: the global gc() of `node --expose-gc`, or else one obtained by setting that flag
 * now and reading gc from a fresh context (the flag only affects contexts made after it is set).
 */
function fullCollection(): void {
  if (gc === undefined) {
    const given = (globalThis as { gc?: unknown }).gc;
    if (typeof given === 'function') gc = given as () => void;
    else {
      try {
        setFlagsFromString('--expose-gc');
        const fn: unknown = runInNewContext('typeof gc === "function" ? gc : null');
        gc = typeof fn === 'function' ? (fn as () => void) : null;
      } catch {
        gc = null; // the heap then reclaims only what the collector has found on its own
      }
    }
  }
  gc?.();
}

/**
 * WasmPlatform.loadOfOthers on Linux: the machine's busy CPU time from /proc/stat (its first line, all cores,
 * in 1/100 s: user, nice, system, irq, softirq and steal — steal being time the hypervisor gave this virtual
 * machine's cores to someone else), minus this process's own CPU time (process.cpuUsage, every thread),
 * divided by the wall-clock time since the previous call. Elsewhere (no /proc/stat) it answers null.
 */
function othersLoadSampler(): () => number | null {
  let last: { busy: number; own: number; wall: number } | null = null;
  let unavailable = false;
  return () => {
    if (unavailable) return null;
    let line: string;
    try {
      const text = readFileSync('/proc/stat', 'latin1');
      line = text.slice(0, text.indexOf('\n'));
    } catch {
      unavailable = true;
      return null;
    }
    // "cpu  user nice system idle iowait irq softirq steal guest guest_nice" (guest time is inside user)
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (!line.startsWith('cpu ') || f.length < 8 || f.some((x) => !Number.isFinite(x))) {
      unavailable = true;
      return null;
    }
    const busy = (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100; // seconds (USER_HZ is 100 on Linux)
    const use = process.cpuUsage();
    const now = { busy, own: (use.user + use.system) / 1e6, wall: performance.now() / 1000 };
    const prev = last;
    last = now;
    if (!prev || now.wall - prev.wall <= 0) return null;
    return Math.max(0, (now.busy - prev.busy - (now.own - prev.own)) / (now.wall - prev.wall));
  };
}

// dist/src/platform/node.js → dist/kernels/attn-*.wasm and the thread entry points beside this file.
const kernelsDir = new URL('../../kernels/', import.meta.url);
const supervisorEntry = new URL('./node_supervisor.js', import.meta.url);
const workerEntry = new URL('./node_worker.js', import.meta.url);

const modules = new Map<KernelVariant, WebAssembly.Module>();

/**
 * The Node platform. `supervisor` (a module URL) replaces the thread that starts and watches the pool's
 * workers (see node_supervisor.ts); tests use it to kill a worker on purpose.
 */
export function createNodePlatform(opts: { supervisor?: URL } = {}): WasmPlatform {
  return {
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

    startWorkers(inits: WorkerInit[]): void {
      // The pool's workers are started by a supervisor thread, which watches them (see node_supervisor.ts).
      const data: SupervisorData & { supervisor: true } = { inits, workerEntry: workerEntry.href, supervisor: true };
      // Threads inherit the process's Node options, but --input-type (from `node --input-type=module -e …`)
      // is only valid with code on the command line and would stop a thread started from a file: start
      // those with no options (V8 flags such as relaxed SIMD are process-wide and apply anyway).
      const execArgv = process.execArgv.some((a) => a.startsWith('--input-type')) ? [] : undefined;
      const supervisor = new Worker(opts.supervisor ?? supervisorEntry, execArgv ? { workerData: data, execArgv } : { workerData: data });
      supervisor.unref(); // neither it nor the workers it started keep the process alive
      supervisor.on('error', (e) => {
        console.error('attn wasm supervisor thread:', e);
        for (const init of inits) markFailed(init, e);
      });
    },

    collectGarbage(): void {
      fullCollection();
    },

    defaultThreads(): number {
      return availableParallelism();
    },

    loadOfOthers: othersLoadSampler(),

    env(name: string): string | undefined {
      return process.env[name];
    },
  };
}

export const nodePlatform: WasmPlatform = createNodePlatform();

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
