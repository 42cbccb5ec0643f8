// The autograd tape: how `loss.backward()` finds every gradient.
//
// Each op that produces a tensor from inputs needing gradients attaches a GradFn to its output: the inputs,
// and a `backward(g, sink)` closure written right beside the op's forward. backward() then
//   1. sorts the graph reachable from the loss topologically (every tensor after all tensors computed from it),
//   2. walks it from the loss back to the leaves, handing each GradFn the finished gradient of its output,
//   3. the GradFn pushes gradients for its inputs into the GradSink, which sums contributions
//      (a tensor used twice gets the sum of both paths — the multivariate chain rule),
//   4. leaves (parameters, inputs with requiresGrad) accumulate the result into `.grad`.
// Gradients travel as plain contiguous Float32Arrays in the tensor's logical (row-major) shape, so backward
// code is ordinary array code. After backward the graph is released (like PyTorch without retain_graph),
// so the saved activations can be garbage-collected right away.
import { getBackend, type RowKernel } from '../backend/index.js';
import { fmtShape, readContiguous, sameShape } from './shape.js';
import { Tensor } from './tensor.js';
import { floats, floatsToWrite, zeroFloats } from './step.js';

/** Computes input gradients from the output gradient `g` (contiguous, the output's shape). */
export type BackwardFn = (g: Float32Array, sink: GradSink) => void;

export interface GradFn {
  /** The op's name, for error messages and for reading the graph. */
  readonly name: string;
  readonly inputs: readonly Tensor[];
  readonly backward: BackwardFn;
  /**
   * Set by views that show each element of their input at most once (reshape, permute, slice, …; not expand):
   * an op may then write a gradient straight into the input's layout (see viewRoot).
   */
  readonly injectiveView?: boolean;
}

let gradEnabled = true;

/** Whether ops currently record the graph. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Turns graph recording on or off and returns the previous setting. For async code, where noGrad's scope
 * would end before the awaited work runs: `const prev = setGradEnabled(false); try { … } finally { setGradEnabled(prev) }`.
 */
export function setGradEnabled(on: boolean): boolean {
  const prev = gradEnabled;
  gradEnabled = on;
  return prev;
}

/**
 * Runs fn with the tape off: no graph is recorded and results do not require grad (inference, evaluation,
 * optimizer updates). `const logits = noGrad(() => model.forward(ids))`. Synchronous functions only.
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    const r = fn();
    if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
      throw new TypeError('noGrad: fn returned a Promise; the tape is switched back on before awaited work runs. Use setGradEnabled(false) around async code instead.');
    }
    return r;
  } finally {
    gradEnabled = prev;
  }
}

/** True when any input needs a gradient and the tape is on, i.e. when an op must record itself. */
export function needsGrad(inputs: readonly Tensor[]): boolean {
  if (!gradEnabled) return false;
  for (let i = 0; i < inputs.length; i++) if (inputs[i].requiresGrad) return true;
  return false;
}

/** Gradient arrays shorter than this are left to the garbage collector (reuse pays for big arrays only). */
const RECYCLE_MIN = 4096;

interface GradEntry {
  data: Float32Array;
  /** True when the sink allocated `data` itself and may add into it in place. */
  owned: boolean;
}

/**
 * Collects the gradients flowing into each tensor during one backward pass.
 * `add` takes an array without copying (the op must not touch it afterwards): a gradient that passes through
 * unchanged (reshape, add) costs nothing. Such a shared array is never written to. An op that allocated its
 * gradient array itself says so (`fresh`): the sink then owns it and may sum later contributions into it in
 * place, and a leaf may keep it as its .grad without a copy. A second contribution to a tensor whose first
 * one was shared allocates a sum once (or sums into the new one when that is fresh) and adds in place after.
 */
export class GradSink {
  private readonly grads = new Map<Tensor, GradEntry>();
  /** Arrays passed to add() without `fresh`: another entry may hold them, so they are never recycled. */
  private readonly handedOn = new Set<Float32Array>();
  /** Gradient buffers no longer needed, by length, for alloc() to hand out again (see runBackward). */
  private readonly spare = new Map<number, Float32Array[]>();

  /**
   * A buffer of n floats for a backward closure to put a gradient in (then passed to add() as fresh).
   * Reuses a buffer this pass has finished with when one of that length is free: a training step frees and
   * allocates the same sizes layer after layer, and a reused buffer costs no page faults (a fresh large
   * array costs ~0.5 ms per MB in first-touch faults, more than computing most gradients). zero = false
   * when the caller writes every element (a backend kernel's output), so no memset is needed.
   */
  alloc(n: number, zero = true): Float32Array {
    const list = this.spare.get(n);
    const a = list?.pop();
    if (!a) return zero ? floats(n) : floatsToWrite(n);
    if (zero) zeroFloats(a);
    return a;
  }

  /** Gives back a gradient array nothing refers to any more (runBackward calls this). */
  recycle(a: Float32Array): void {
    if (this.handedOn.has(a) || a.length < RECYCLE_MIN) return;
    let list = this.spare.get(a.length);
    if (!list) this.spare.set(a.length, (list = []));
    list.push(a);
  }

  /**
   * Adds g (contiguous, t's logical shape) to t's gradient. Ignored when t does not require grad.
   * `fresh`: g was allocated by the caller for this call and nothing else holds it (the sink may write to it).
   */
  add(t: Tensor, g: Float32Array, fresh = false): void {
    if (!t.requiresGrad) return;
    if (g.length !== t.size) {
      throw new Error(`autograd: internal error, gradient of length ${g.length} for a tensor of shape ${fmtShape(t.shape)}`);
    }
    if (!fresh) this.handedOn.add(g);
    const e = this.grads.get(t);
    if (!e) {
      this.grads.set(t, { data: g, owned: fresh });
    } else if (e.owned) {
      addInto(e.data, g);
    } else if (fresh) {
      addInto(g, e.data); // the shared first contribution is read, never written
      e.data = g;
      e.owned = true;
    } else {
      const d = e.data.slice();
      addInto(d, g);
      e.data = d;
      e.owned = true;
    }
  }

  /**
   * A writable gradient buffer for t (zeros, or the sum so far) to accumulate into with `+=`; for ops whose
   * backward scatters (slice, embedding, gather). Returns a throw-away buffer when t does not require grad.
   */
  buffer(t: Tensor): Float32Array {
    if (!t.requiresGrad) return floats(t.size);
    const e = this.grads.get(t);
    if (!e) {
      const d = floats(t.size);
      this.grads.set(t, { data: d, owned: true });
      return d;
    }
    if (!e.owned) {
      e.data = e.data.slice();
      e.owned = true;
    }
    return e.data;
  }

  /** Removes and returns t's finished gradient. */
  take(t: Tensor): GradEntry | undefined {
    const e = this.grads.get(t);
    if (e) this.grads.delete(t);
    return e;
  }
}

/**
 * Every tensor that needs a gradient and is reachable from root, in topological order (inputs before the
 * tensors computed from them). Iterative depth-first search, so deep graphs do not overflow the stack.
 */
function topoSort(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: Tensor[] = [root];
  const nextInput: number[] = [0];
  visited.add(root);
  while (stack.length > 0) {
    const t = stack[stack.length - 1];
    const node = t._node;
    const i = nextInput[nextInput.length - 1];
    if (node && i < node.inputs.length) {
      nextInput[nextInput.length - 1] = i + 1;
      const child = node.inputs[i];
      if (child.requiresGrad && !visited.has(child)) {
        if (child._graphFreed) {
          throw new Error(
            `backward: the graph through a ${fmtShape(child.shape)} tensor (an input of '${node.name}') was already freed by an earlier backward(); compute it again for a second backward`,
          );
        }
        visited.add(child);
        stack.push(child);
        nextInput.push(0);
      }
    } else {
      stack.pop();
      nextInput.pop();
      order.push(t);
    }
  }
  return order;
}

/**
 * y = a + b elementwise, on the backend's row kernels (y may be a). Gradient sums run through it, and so does
 * the residual stream's x + f(x) (ops_elementwise): a JavaScript loop over a view of the WebAssembly memory
 * does ~1.5 G additions a second, the SIMD kernel several times that.
 */
export const ADD_ARRAYS: RowKernel = {
  name: 'add_arrays',
  inputs: ['rows', 'rows'],
  outputs: ['rows'],
  reference(rows, cols, [a, b], [y]) {
    for (let i = 0; i < rows * cols; i++) y![i] = a![i]! + b![i]!;
  },
};

/** Below this many floats a sum stays a JavaScript loop: a backend call costs a few microseconds. */
const ADD_KERNEL_MIN = 1 << 14;

/** y[i] = a[ao + i] + b[bo + i] for every i < y.length (y may be a, with ao = 0). */
export function addArrays(a: Float32Array, ao: number, b: Float32Array, bo: number, y: Float32Array): void {
  const n = y.length;
  if (n >= ADD_KERNEL_MIN) {
    getBackend().runRows(ADD_ARRAYS, n, 1, [a.subarray(ao, ao + n), b.subarray(bo, bo + n)], [y]);
    return;
  }
  for (let i = 0; i < n; i++) y[i] = a[ao + i]! + b[bo + i]!;
}

/** d += g, elementwise (same lengths). */
function addInto(d: Float32Array, g: Float32Array): void {
  addArrays(d, 0, g, 0, d);
}

/** Adds a finished gradient into t.grad (creating it), copying unless the array is the sink's own. */
function accumulateGrad(t: Tensor, e: GradEntry, copy: boolean): void {
  if (t.grad === null) {
    t.grad = new Tensor(copy || !e.owned ? e.data.slice() : e.data, t.shape);
    return;
  }
  const gt = t.grad;
  if (!sameShape(gt.shape, t.shape) || !(gt.data instanceof Float32Array)) {
    throw new Error(`backward: existing .grad of shape ${fmtShape(gt.shape)} (${gt.dtype}) does not fit a float32 tensor of shape ${fmtShape(t.shape)}`);
  }
  if (!gt.isContiguous() || gt.offset !== 0) t.grad = gt.contiguous().detach();
  addInto(t.grad.data as Float32Array, e.data);
}

/** The engine behind `tensor.backward(grad?)`. */
export function runBackward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) {
    throw new Error(
      `backward: this ${fmtShape(root.shape)} tensor does not require grad (none of its inputs has requiresGrad, or it was computed inside noGrad)`,
    );
  }
  if (root._graphFreed) {
    throw new Error(`backward: the graph of this ${fmtShape(root.shape)} tensor was already freed by an earlier backward(); compute it again`);
  }
  let seed: Float32Array;
  if (grad) {
    if (!sameShape(grad.shape, root.shape) || grad.dtype !== 'float32') {
      throw new RangeError(`backward: grad has shape ${fmtShape(grad.shape)} (${grad.dtype}), expected float32 of shape ${fmtShape(root.shape)}`);
    }
    seed = readContiguous(grad) as Float32Array;
  } else {
    if (root.size !== 1) {
      throw new RangeError(`backward: grad can be implicit only for a scalar; this tensor has shape ${fmtShape(root.shape)} (pass grad of that shape)`);
    }
    seed = new Float32Array([1]);
  }

  const order = topoSort(root);
  const sink = new GradSink();
  sink.add(root, seed);
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    const e = sink.take(t);
    const node = t._node;
    if (node === null) {
      if (e) accumulateGrad(t, e, false); // a leaf: its gradient is complete
      continue;
    }
    if (e) {
      if (t._retainGrad) accumulateGrad(t, e, true);
      node.backward(e.data, sink);
      // t's gradient has been used; if the sink owns it and did not pass it on, later ops may reuse it.
      if (e.owned) sink.recycle(e.data);
    }
    // Release the graph behind t: its saved activations can now be collected.
    t._node = null;
    t._graphFreed = true;
  }
}

/**
 * Wraps an op's freshly computed contiguous output as a Tensor and, when gradients are needed, records the op
 * on the tape. `backward` is only ever called if some input requires grad.
 */
export function fromOp(name: string, data: Float32Array, shape: readonly number[], inputs: readonly Tensor[], backward: BackwardFn): Tensor {
  const out = new Tensor(data, shape);
  if (needsGrad(inputs)) {
    out._node = { name, inputs, backward };
    out.requiresGrad = true;
  }
  return out;
}

/**
 * Like fromOp for views: the result shares x's storage with new shape/strides/offset. `injective`: every
 * element of the view is a different element of x (false for expand, whose repeated dims have stride 0).
 */
export function viewOp(
  name: string,
  x: Tensor,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  backward: BackwardFn,
  injective = true,
): Tensor {
  const out = new Tensor(x.data, shape, strides, offset, x);
  if (needsGrad([x])) {
    out._node = injective ? { name, inputs: [x], backward, injectiveView: true } : { name, inputs: [x], backward };
    out.requiresGrad = true;
  }
  return out;
}

/**
 * The tensor whose gradient a view's gradient ends up in: follow recorded injective views (reshape,
 * permute, slice, …) back over the same storage to the first tensor that is not such a view, stopping at one
 * that keeps its own gradient (retainGrad). When that tensor is contiguous, an element of the view at
 * storage index i has gradient index i − root.offset in the root's gradient, so an op can write the view's
 * gradient straight into the root's layout and skip the copies each view's backward would make (attention
 * does this for q, k and v sliced out of one fused projection).
 */
export function viewRoot(t: Tensor): Tensor {
  let r = t;
  while (r._node?.injectiveView && !r._retainGrad) {
    const base = r._node.inputs[0]!;
    if (base.data !== r.data) break;
    r = base;
  }
  return r;
}
