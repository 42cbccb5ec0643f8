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
// everything on the reference backend (its stepMemory is null).
//
// Inference uses it one layer at a time: the models run each layer in `layerStep` (below), whose
// intermediates are given back when the layer returns, and whose result is kept (copied out into an ordinary
// array, or moved down within an outer step). Users see none of this: what a model returns to them is
// ordinary memory, and their own loops may use trainingStep or not.
import { getBackend } from '../backend/index.js';
import type { StepMemory } from '../backend/backend.js';
import { isGradEnabled } from './autograd.js';
import { Tensor } from './tensor.js';

/** Arrays smaller than this stay ordinary JavaScript arrays (allocated on V8's heap, as cheap as a bump). */
const STEP_MIN_FLOATS = 64;

/** The step memory while a step runs (null between steps, and on backends without one). */
let memory: StepMemory | null = null;
let depth = 0;
/**
 * The generation of the running (or next) step; a tensor made in step g is stale once g is neither this nor
 * one of the `enclosing` steps' (a layer step runs inside an outer step). Every step gets a number never used
 * before (`lastGeneration` counts them), so a step that ended can never look alive again.
 */
let generation = 1;
let lastGeneration = 1;
const enclosing: number[] = [];

/** How many training steps (trainingStep calls that opened a step) have run: tests count them. */
let stepsRun = 0;
export function trainingStepsRun(): number {
  return stepsRun;
}

/** Whether tensors made in step `g` may still be read (see Tensor.data). */
export function stepIsLive(g: number): boolean {
  return g === generation || (enclosing.length > 0 && enclosing.includes(g));
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
  stepsRun++;
  try {
    const r = fn();
    if (r instanceof Promise) throw new Error('trainingStep: the step must be synchronous (it returned a Promise)');
    return r;
  } finally {
    endOuterStep();
  }
}

function endOuterStep(): void {
  depth = 0;
  memory?.reset();
  memory = null;
  generation = ++lastGeneration;
}

/**
 * Run one layer of a model's forward pass; when no gradient is wanted (inference) and the backend has step
 * memory, the layer's intermediates live in step memory and are given back as soon as it returns, and only
 * what it returns is kept — moved down over the dead intermediates when an outer step (trainingStep, or an
 * earlier layerStep's caller in one) is running, else copied out into ordinary arrays. So a 12-layer encoder
 * reuses one layer's worth of memory twelve times, and its kernels read and write every intermediate in
 * place, with no copies in and out of the WebAssembly memory and no fresh pages to fault in.
 *
 * What counts as returned: the tensors in `fn`'s result — the result itself, or inside arrays and plain
 * objects (`{ x, weights }`), two levels deep. Any other tensor the layer made is stale afterwards (reading
 * it throws). With the tape on (training, or grad not switched off) this is just `fn()`: backward needs the
 * intermediates.
 * Example: `const r = layerStep(() => layer.forward(x, mask))`.
 */
export function layerStep<T>(fn: () => T): T {
  if (isGradEnabled()) return fn();
  const mem = memory ?? getBackend().stepMemory;
  if (mem === null) return fn();
  const outer = depth > 0;
  const mark = mem.mark();
  if (outer) enclosing.push(generation);
  else memory = mem;
  depth++;
  const inner = (generation = ++lastGeneration);
  let kept: Tensor[] = [];
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('layerStep: the layer must be synchronous (it returned a Promise)');
    tensorsIn(result, kept, 0);
    kept = kept.filter((t) => t._stepGeneration === inner);
  } catch (e) {
    kept = [];
    throw e;
  } finally {
    depth--;
    const storages = [...new Set(kept.map((t) => t._storage as Float32Array))];
    if (outer) {
      generation = enclosing.pop()!;
      const moved = keepStorages(storages, (spans) => mem.rewindKeeping(mark, spans));
      for (const t of kept) t._rebind(moved.get(t._storage as Float32Array)!);
    } else {
      const copies = keepStorages(storages, (spans) => spans.map((a) => a.slice()));
      endOuterStep();
      for (const t of kept) t._rebind(copies.get(t._storage as Float32Array)!);
    }
  }
  return result;
}

/**
 * New places for `storages` (arrays of step memory): `place` moves or copies spans of memory, one per group of
 * arrays that overlap (a subarray and the array that holds it, two views of one array), and the map gives
 * every storage its array in the new place.
 */
function keepStorages(storages: Float32Array[], place: (spans: Float32Array[]) => Float32Array[]): Map<Float32Array, Float32Array> {
  const byStart = [...storages].sort((a, b) => a.byteOffset - b.byteOffset);
  const groups: { start: number; end: number; members: Float32Array[] }[] = [];
  for (const a of byStart) {
    const last = groups[groups.length - 1];
    const end = a.byteOffset + a.byteLength;
    if (last && a.byteOffset < last.end) {
      last.end = Math.max(last.end, end);
      last.members.push(a);
    } else groups.push({ start: a.byteOffset, end, members: [a] });
  }
  // A span over overlapping members is made over the largest of their buffer objects: a shared memory's buffer
  // object is replaced when it grows (WasmHeap.buffer), and an older one does not reach the newer bytes.
  const spanOf = (g: (typeof groups)[number]): Float32Array => {
    if (g.members.length === 1) return g.members[0]!;
    const buffer = g.members.map((a) => a.buffer).reduce((a, b) => (b.byteLength > a.byteLength ? b : a));
    return new Float32Array(buffer, g.start, (g.end - g.start) / 4);
  };
  const spans = groups.map(spanOf);
  const placed = place(spans);
  const at = new Map<Float32Array, Float32Array>();
  groups.forEach((g, i) => {
    const to = placed[i]!;
    for (const a of g.members) at.set(a, g.members.length === 1 ? to : new Float32Array(to.buffer, to.byteOffset + (a.byteOffset - g.start), a.length));
  });
  return at;
}

/** Collect the tensors in `v`: v itself, or the elements of an array or the values of a plain object (two levels). */
function tensorsIn(v: unknown, out: Tensor[], level: number): void {
  if (v instanceof Tensor) out.push(v);
  else if (level < 2 && Array.isArray(v)) for (const x of v) tensorsIn(x, out, level + 1);
  else if (level < 2 && v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v)) tensorsIn(x, out, level + 1);
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
