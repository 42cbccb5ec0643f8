// Making tensors: from JS data, filled with constants, ranges, or random numbers.
//
//   tensor([[1, 2], [3, 4]])                 // (2, 2) float32
//   tensor([1, 2, 3], [3], { dtype: 'int32' })
//   zeros([B, T, C]); ones([C], { requiresGrad: true })
//   randn([C, 4 * C], { std: 0.02, rng })    // N(mean, std²)
//   fromStorage(float32Array, [T, C])        // wraps without copying
import { getBackend } from '../backend/index.js';
import { getDefaultRng, type Rng } from './rng.js';
import { fmtShape, shapeSize } from './shape.js';
import { Tensor, type DType, type Storage } from './tensor.js';

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

/** Numbers, possibly nested (rectangular): 1, [1, 2], [[1, 2], [3, 4]]. */
export type NestedNumbers = number | readonly NestedNumbers[];

function checkShape(op: string, shape: readonly number[]): void {
  if (!Array.isArray(shape)) throw new TypeError(`${op}: shape must be an array of sizes, got ${typeof shape}`);
  for (const n of shape) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`${op}: invalid size ${n} in shape ${fmtShape(shape)}`);
  }
}

/**
 * Storage for a new tensor. A float32 tensor that requires grad is a parameter (or a leaf the user will
 * differentiate): it lives as long as the model and every matmul reads it, so it is allocated where the backend
 * computes (Backend.allocate: inside the WebAssembly memory, where kernels use it in place). Everything else is
 * an ordinary array.
 */
function allocate(dtype: DType, size: number, requiresGrad = false): Storage {
  if (dtype !== 'float32' && dtype !== 'int32') throw new TypeError(`unknown dtype '${String(dtype)}' (expected 'float32' or 'int32')`);
  if (dtype === 'int32') return new Int32Array(size);
  return requiresGrad ? getBackend().allocate(size) : new Float32Array(size);
}

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Shape of a rectangular nested array; errors on ragged input. */
function nestedShape(data: NestedNumbers): number[] {
  const shape: number[] = [];
  let cur: NestedNumbers = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur.length > 0 ? (cur as readonly NestedNumbers[])[0] : 0;
  }
  return shape;
}

function flatten(data: NestedNumbers, shape: readonly number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (typeof data !== 'number') throw new TypeError(`tensor: expected a number at depth ${depth}, got ${Array.isArray(data) ? 'an array (ragged nesting)' : typeof data}`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new RangeError(`tensor: ragged nested array: expected ${shape[depth]} entries at depth ${depth} (shape ${fmtShape(shape)})`);
  }
  for (const d of data as readonly NestedNumbers[]) flatten(d, shape, depth + 1, out);
}

/**
 * A new tensor holding a copy of `data`. A flat array or typed array takes `shape` (default: 1-D); a nested
 * array gives its own shape. dtype defaults to int32 for an Int32Array, else float32.
 */
export function tensor(data: NestedNumbers | Float32Array | Int32Array, shape?: readonly number[], opts: TensorOptions = {}): Tensor {
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (data instanceof Float32Array || data instanceof Int32Array) {
    flat = data;
    inferred = [data.length];
  } else if (typeof data === 'number') {
    flat = [data];
    inferred = [];
  } else if (Array.isArray(data)) {
    inferred = nestedShape(data);
    if (inferred.length <= 1) {
      flat = data as readonly number[];
      for (const v of flat as readonly unknown[]) if (typeof v !== 'number') throw new TypeError(`tensor: expected numbers, got ${typeof v}`);
    } else {
      const out: number[] = [];
      flatten(data, inferred, 0, out);
      flat = out;
    }
  } else {
    throw new TypeError(`tensor: data must be a number, an array or a Float32Array/Int32Array, got ${typeof data}`);
  }
  const finalShape = shape ? [...shape] : inferred;
  checkShape('tensor', finalShape);
  if (shapeSize(finalShape) !== flat.length) {
    throw new RangeError(`tensor: ${flat.length} values do not fill shape ${fmtShape(finalShape)} (${shapeSize(finalShape)} elements)`);
  }
  const dtype = opts.dtype ?? (data instanceof Int32Array ? 'int32' : 'float32');
  const storage = allocate(dtype, flat.length, opts.requiresGrad);
  if (dtype === 'int32') {
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i];
      if (!Number.isInteger(v)) throw new TypeError(`tensor: int32 tensor got non-integer value ${v} at position ${i}`);
      storage[i] = v;
    }
  } else {
    storage.set(flat);
  }
  return finish(new Tensor(storage, finalShape), opts);
}

/** Wraps existing storage without copying (the tensor and the caller share the array). */
export function fromStorage(data: Float32Array | Int32Array, shape: readonly number[], opts: { requiresGrad?: boolean } = {}): Tensor {
  checkShape('fromStorage', shape);
  if (shapeSize(shape) !== data.length) {
    throw new RangeError(`fromStorage: array of length ${data.length} does not fit shape ${fmtShape(shape)} (${shapeSize(shape)} elements)`);
  }
  return finish(new Tensor(data, [...shape]), opts);
}

/** All zeros. */
export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  checkShape('zeros', shape);
  return finish(new Tensor(allocate(opts.dtype ?? 'float32', shapeSize(shape), opts.requiresGrad), [...shape]), opts);
}

/** All ones. */
export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** Every element = value. */
export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  checkShape('full', shape);
  const data = allocate(opts.dtype ?? 'float32', shapeSize(shape), opts.requiresGrad);
  data.fill(value);
  return finish(new Tensor(data, [...shape]), opts);
}

/** int32 0, 1, …, n−1; or start, …, end−1 with two arguments (position ids). */
export function arange(startOrEnd: number, end?: number): Tensor {
  const start = end === undefined ? 0 : startOrEnd;
  const stop = end === undefined ? startOrEnd : end;
  if (!Number.isInteger(start) || !Number.isInteger(stop)) throw new RangeError(`arange: bounds must be integers, got ${start} and ${stop}`);
  const n = Math.max(stop - start, 0);
  const data = new Int32Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i;
  return new Tensor(data, [n]);
}

export interface RandomOptions {
  rng?: Rng;
  requiresGrad?: boolean;
}

/** Normal samples N(mean, std²); `randn([768, 768], { std: 0.02 })`. */
export function randn(shape: readonly number[], opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  checkShape('randn', shape);
  const { rng = getDefaultRng(), mean = 0, std = 1 } = opts;
  const data = allocate('float32', shapeSize(shape), opts.requiresGrad) as Float32Array;
  for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.normal();
  return finish(new Tensor(data, [...shape]), opts);
}

/** Uniform samples in [low, high) (default [0, 1)). */
export function rand(shape: readonly number[], opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  checkShape('rand', shape);
  const { rng = getDefaultRng(), low = 0, high = 1 } = opts;
  const data = allocate('float32', shapeSize(shape), opts.requiresGrad) as Float32Array;
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * rng.uniform();
  return finish(new Tensor(data, [...shape]), opts);
}
