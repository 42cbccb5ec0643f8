// Training steps' memory: where an op puts its result while a training loop runs a step.
//
// A training step computes thousands of arrays (activations, their gradients) that are all dead once the
// optimizer has used the gradients. As ordinary Float32Arrays each one costs a fresh allocation (page faults
// on first touch, ~0.5 ms per MB here), a copy into the WebAssembly memory for every kernel that reads it and
// a copy out of every kernel that writes it, and in the end a garbage collection. So the engine's training
// loops run each step inside `trainingStep(() => ...)`: while it runs, ops take their result arrays from the
// backend's step memory (Backend.stepMemory: for the WebAssembly backend a bump allocator inside its memory,
// where kernels read and write them in place), and when the step returns all of them are given back at once
// and reused by the next step.
//
// A tensor made from step memory must not be used after its step: its bytes then belong to the next step.
// Such a tensor remembers its step's generation, and reading its data afterwards throws (Tensor.data), naming
// the tensor — so a tensor that escapes its step fails loudly instead of reading another step's numbers.
// Parameters, optimizer state and anything made outside a step are ordinary memory (or Backend.allocate's), as is
// everything on the reference backend (its stepMemory is null). Users never see any of this: their own loops
// (and inference) use ordinary arrays throughout.
import { getBackend } from '../backend/index.js';
import type { StepMemory } from '../backend/backend.js';

/** Arrays smaller than this stay ordinary JavaScript arrays (allocated on V8's heap, as cheap as a bump). */
const STEP_MIN_FLOATS = 64;

/** The step memory while a step runs (null between steps, and on backends without one). */
let memory: StepMemory | null = null;
let depth = 0;
/** The generation of the current (or next) step; a tensor made in step g is stale once this moves past g. */
let generation = 1;

/** Generation of the running step; tensors compare theirs against it (see Tensor.data). */
export function stepGeneration(): number {
  return generation;
}

/**
 * Run one training step: the ops inside put their results in step memory, which is handed back, all of it,
 * when `fn` returns (or throws). Nested calls run inside the outer step. `fn` must be synchronous: the memory is
 * reused as soon as it returns.
 */
export function trainingStep<T>(fn: () => T): T {
  if (depth > 0) return fn();
  memory = getBackend().stepMemory;
  depth = 1;
  try {
    const r = fn();
    if (r instanceof Promise) throw new Error('trainingStep: the step must be synchronous (it returned a Promise)');
    return r;
  } finally {
    depth = 0;
    memory?.reset();
    memory = null;
    generation++;
  }
}

/** n zeroed floats for an op's result: step memory inside a training step, else an ordinary array. */
export function floats(n: number): Float32Array {
  if (memory !== null && n >= STEP_MIN_FLOATS) {
    const a = memory.take(n);
    if (a !== null) {
      memory.zero(a);
      return a;
    }
  }
  return new Float32Array(n);
}

/** Set `a` to zeros: inside a step, the step memory's way (the kernels' memset for its arrays), else fill. */
export function zeroFloats(a: Float32Array): void {
  if (memory !== null) memory.zero(a);
  else a.fill(0);
}

/** Like floats(n) for a result that a kernel writes in full: not zeroed when it is step memory. */
export function floatsToWrite(n: number): Float32Array {
  if (memory !== null && n >= STEP_MIN_FLOATS) {
    const a = memory.take(n);
    if (a !== null) return a;
  }
  return new Float32Array(n);
}

/** The generation a new tensor over `data` belongs to: the running step's when data is step memory, else 0. */
export function generationOf(data: Float32Array | Int32Array): number {
  return memory !== null && data instanceof Float32Array && data.length >= STEP_MIN_FLOATS && memory.holds(data) ? generation : 0;
}
