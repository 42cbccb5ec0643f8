// The compiled kernels (kernels/*.ts → dist/kernels/attn-*.wasm) as TypeScript sees them: a few typed
// helper exports, and the table of "task kernels" the thread pool can run.
//
// A task kernel is an export `name_task(t, thread, ...args)`: it computes task number t of a job, using the
// scratch area of thread number `thread`. The pool only ever calls these; the other exports are helpers
// the main thread calls directly (sizes of scratch areas and packed buffers).

/** Which build of the kernels: fused multiply-add (relaxed SIMD) or multiply + add (baseline SIMD). */
export type KernelVariant = 'relaxed' | 'baseline';

type TaskFn = (t: number, thread: number, ...args: number[]) => void;

export interface KernelExports {
  heap_base(): number;
  gemm_scratch_bytes(): number;
  packed_b_floats(k: number, n: number): number;
  attention_scratch_bytes(d: number): number;
  zero_bytes(ptr: number, bytes: number): void;
  copy_bytes(dst: number, src: number, bytes: number): void;
  /** The GEMM's tile sizes compiled into this build (kernels/gemm.ts: 3×12 with relaxed SIMD, 4×8 without). */
  readonly tile: GemmTile;
  /** Every export whose name ends in `_task`, sorted by name; the pool refers to them by index. */
  readonly taskNames: readonly string[];
  readonly tasks: readonly TaskFn[];
}

/** Tasks the backend's own code calls by name (row kernels are found by the name their RowKernel gives). */
const REQUIRED_TASKS = ['pack_b_task', 'gemm_task', 'attention_forward_task', 'attention_backward_task', 'colsum_task'] as const;

/**
 * Tile sizes compiled into kernels/gemm.ts, read from the module's exported globals: MR × NR register tile
 * (3 × 12 in the relaxed build, 4 × 8 in the baseline one), KC-deep K blocks, MC-row blocks of A (a multiple
 * of MR).
 */
export interface GemmTile {
  readonly MR: number;
  readonly NR: number;
  readonly KC: number;
  readonly MC: number;
}

const FUNCTIONS = ['heap_base', 'gemm_scratch_bytes', 'packed_b_floats', 'attention_scratch_bytes', 'zero_bytes', 'copy_bytes'] as const;

/** Instantiate the kernels on a (shared) memory and check that every export we rely on is there. */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return readExports(instance);
}

function readExports(instance: WebAssembly.Instance): KernelExports {
  const ex = instance.exports;
  for (const name of [...FUNCTIONS, ...REQUIRED_TASKS]) {
    if (typeof ex[name] !== 'function') {
      throw new Error(`attn wasm: the kernel module has no export '${name}'; rebuild it with \`npm run build\``);
    }
  }
  const tile = readTile(ex);
  // The task table: discovered, not listed, so a new kernel is one export in kernels/ and nothing here.
  // Every thread instantiates the same module, so every thread builds the same table.
  const taskNames = Object.keys(ex).filter((n) => n.endsWith('_task') && typeof ex[n] === 'function').sort();
  const tasks = taskNames.map((n) => ex[n] as TaskFn);
  const fn = (name: (typeof FUNCTIONS)[number]) => ex[name] as (...a: number[]) => number;
  return {
    heap_base: fn('heap_base') as () => number,
    gemm_scratch_bytes: fn('gemm_scratch_bytes') as () => number,
    packed_b_floats: fn('packed_b_floats') as (k: number, n: number) => number,
    attention_scratch_bytes: fn('attention_scratch_bytes') as (d: number) => number,
    zero_bytes: fn('zero_bytes') as (ptr: number, bytes: number) => void,
    copy_bytes: fn('copy_bytes') as (dst: number, src: number, bytes: number) => void,
    tile,
    taskNames,
    tasks,
  };
}

/** The tile constants a kernel module exports, checked for the shapes the JavaScript side relies on. */
function readTile(ex: WebAssembly.Instance['exports']): GemmTile {
  const get = (name: keyof GemmTile): number => {
    const g = ex[name];
    const v: unknown = g instanceof WebAssembly.Global ? g.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new Error(`attn wasm: the kernel module's constant ${name} is ${String(v)}, expected a positive integer; rebuild it with \`npm run build\``);
    }
    return v;
  };
  const tile = { MR: get('MR'), NR: get('NR'), KC: get('KC'), MC: get('MC') };
  if (tile.NR % 4 !== 0 || tile.MC % tile.MR !== 0) {
    throw new Error(`attn wasm: the kernel module's GEMM tile ${JSON.stringify(tile)} needs NR a multiple of 4 and MC a multiple of MR; rebuild it with \`npm run build\``);
  }
  return tile;
}

/** Byte modules that WebAssembly.validate accepts only when the runtime has the feature. */
const PROBES = {
  // (module (func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0))))
  relaxed: new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    253, 133, 2, 11,
  ]),
  // (module (func (result v128) (v128.const 0)))
  simd: new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0,
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
  ]),
};

/** Does this runtime run WebAssembly SIMD at all? */
export function hasSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(PROBES.simd);
}

/** Does this runtime have relaxed SIMD (f32x4.relaxed_madd)? Node ≥ 22 does; Node 20 behind a V8 flag. */
export function hasRelaxedSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(PROBES.relaxed);
}

/**
 * Does this runtime have shared memory and atomics (needed even with one thread: the memory is shared)?
 * We ask the memory, not the SharedArrayBuffer global: browsers hide that global in pages that are not
 * cross-origin isolated, yet Chromium still makes shared WebAssembly memories there, which one thread can use.
 */
export function hasSharedMemory(): boolean {
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return typeof Atomics === 'object' && memory.buffer.byteLength === 65536;
  } catch {
    return false;
  }
}
