// Which backend runs the heavy kernels. Backends register a factory by name; the first call to getBackend()
// picks 'wasm' when a platform adapter registered it and it starts, else the reference 'js' backend.
// The environment variable ATTN_BACKEND=js|wasm overrides the default (used by tests to run both).
import type { Backend } from './backend.js';
import { JsBackend } from './js/index.js';

export type {
  Backend,
  MatmulSpec,
  LinearSpec,
  AttentionSpec,
  AttnOperand,
  AttentionOutputs,
  AttentionGrads,
  AttentionMaskOptions,
  RowKernel,
  RowOperand,
  RowOutput,
} from './backend.js';
export { attentionMaskRanges, dropKeeps, dropThreshold, lowbias32 } from './backend.js';
export type { RecurrentCell, RecurrentSpec, RecurrentOperands, RecurrentGradients } from './recurrent.js';

export interface BackendOptions {
  /** Worker threads for large kernels; defaults to the number of cores. The calling thread counts as one. */
  threads?: number;
}

type Factory = (opts: BackendOptions) => Backend;
const factories = new Map<string, Factory>();
let current: Backend | null = null;

// The reference backend is always there; 'wasm' is registered by a platform adapter (src/platform/node.ts).
factories.set('js', () => new JsBackend());

/** Make a backend available under a name (done by the backend's own module or a platform adapter). */
export function registerBackend(name: string, factory: Factory): void {
  factories.set(name, factory);
}

export function availableBackends(): string[] {
  return [...factories.keys()];
}

/** Switch backends: `setBackend('js')`, `setBackend('wasm', { threads: 1 })`. */
export function setBackend(name: string, opts: BackendOptions = {}): Backend {
  const f = factories.get(name);
  if (!f) throw new Error(`unknown backend '${name}'; available: ${availableBackends().join(', ') || '(none)'}`);
  current = f(opts);
  return current;
}

/**
 * Stop the current backend's worker threads (the next heavy op starts them again). Idle workers never keep a
 * process alive, so this is only needed to free the threads early, e.g. in a long-lived server between jobs.
 */
export function closeBackend(): void {
  current?.close();
}

export function getBackend(): Backend {
  if (current) return current;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const wanted = env?.['ATTN_BACKEND'];
  if (wanted) return setBackend(wanted);
  if (factories.has('wasm')) {
    try {
      return setBackend('wasm');
    } catch (e) {
      // No SIMD in this runtime, or the kernels were not built: fall back loudly once, keep working.
      console.warn(`attn: WebAssembly backend unavailable (${(e as Error).message}); using the reference 'js' backend`);
    }
  }
  return setBackend('js');
}
