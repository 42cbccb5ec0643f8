// The compiled kernels (kernels/*.ts → dist/kernels/attn-*.wasm) as TypeScript sees them: their exports,
// typed, and the list of "task kernels" the thread pool can run.
//
// A task kernel is an export `name(t, thread, ...args)`: it computes task number t of a job, using the
// scratch area of thread number `thread`. The pool only ever calls these; all other exports are helpers
// the main thread calls directly (sizes of scratch areas and packed buffers).

/** Which build of the kernels: fused multiply-add (relaxed SIMD) or multiply + add (baseline SIMD). */
export type KernelVariant = 'relaxed' | 'baseline';

type TaskFn = (t: number, thread: number, ...args: number[]) => void;

export interface KernelExports {
  heap_base(): number;
  gemm_scratch_bytes(): number;
  packed_b_floats(k: number, n: number): number;
  attention_scratch_bytes(d: number): number;
  pack_b_task: TaskFn;
  gemm_task: TaskFn;
  attention_forward_task: TaskFn;
  attention_backward_task: TaskFn;
  gelu_forward_task: TaskFn;
  gelu_backward_task: TaskFn;
  layernorm_forward_task: TaskFn;
  layernorm_backward_task: TaskFn;
  logsoftmax_rows_task: TaskFn;
  colsum_task: TaskFn;
}

/** Job kinds, in the order the pool's kernel table lists them (the kind travels between threads as an int). */
export const TASK_KERNELS = [
  'pack_b_task',
  'gemm_task',
  'attention_forward_task',
  'attention_backward_task',
  'gelu_forward_task',
  'gelu_backward_task',
  'layernorm_forward_task',
  'layernorm_backward_task',
  'logsoftmax_rows_task',
  'colsum_task',
] as const;
export type TaskKernel = (typeof TASK_KERNELS)[number];

/** Tile sizes compiled into kernels/gemm.ts (kept in step by a check in readExports). */
export const GEMM_TILE = { MR: 4, NR: 8, KC: 256, MC: 128 } as const;

const FUNCTIONS = [
  'heap_base',
  'gemm_scratch_bytes',
  'packed_b_floats',
  'attention_scratch_bytes',
  ...TASK_KERNELS,
] as const;

/** Instantiate the kernels on a (shared) memory and check that every export we rely on is there. */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return readExports(instance);
}

function readExports(instance: WebAssembly.Instance): KernelExports {
  const ex = instance.exports;
  for (const name of FUNCTIONS) {
    if (typeof ex[name] !== 'function') {
      throw new Error(`attn wasm: the kernel module has no export '${name}'; rebuild it with \`npm run build\``);
    }
  }
  for (const [name, want] of Object.entries(GEMM_TILE)) {
    const g = ex[name];
    const got = g instanceof WebAssembly.Global ? g.value : undefined;
    if (got !== want) {
      throw new Error(`attn wasm: kernel constant ${name} is ${got}, src/backend/wasm/kernels.ts expects ${want}; rebuild with \`npm run build\``);
    }
  }
  return ex as unknown as KernelExports;
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

/** Does this runtime have shared memory and atomics (needed even with one thread: the memory is shared)? */
export function hasSharedMemory(): boolean {
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return typeof Atomics === 'object' && typeof SharedArrayBuffer === 'function';
  } catch {
    return false;
  }
}
