// The Tensor: a typed array, a shape, strides, an offset — and, when it was computed by an op that needs
// gradients, a link back to that op (its GradFn) so backward() can walk the computation in reverse.
//
// Storage is an ordinary Float32Array or Int32Array, so tensors are garbage-collected like any JS object
// (nobody calls dispose). Views (reshape, transpose, permute, slice, expand) share their base tensor's
// storage and only change shape/strides/offset.
//
// The methods here are thin forwards to the functions in ops_*.ts, so `x.matmul(w).add(b).relu()` and
// `relu(add(matmul(x, w), b))` are the same thing.
import { runBackward, type GradFn } from './autograd.js';
import { add, div, exp, gelu, log, mul, neg, pow, relu, sigmoid, sqrt, sub, tanh } from './ops_elementwise.js';
import { matmul } from './matmul.js';
import { logSoftmax, softmax } from './ops_nn.js';
import { max, mean, sum } from './ops_reduce.js';
import { contiguous, expand, permute, reshape, slice, squeeze, transpose, unsqueeze } from './ops_shape.js';
import { generationOf, stepIsLive } from './step.js';
import { contiguousStrides, fmtShape, isContiguous, readContiguous, shapeSize, stridedCopy } from './shape.js';

export type DType = 'float32' | 'int32';
export type Storage = Float32Array | Int32Array;

export class Tensor {
  private _data: Storage;
  /** The step whose memory holds the storage (src/tensor/step.ts), 0 for ordinary memory. */
  private _step: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** Number of elements (product of shape). */
  readonly size: number;
  readonly ndim: number;
  /** Accumulated gradient (leaves, and tensors marked with retainGrad()). */
  grad: Tensor | null = null;

  /** @internal The op that produced this tensor (null for leaves and for results computed without grad). */
  _node: GradFn | null = null;
  /** @internal Set once backward() released the graph behind this tensor. */
  _graphFreed = false;
  /** @internal Keep .grad for this non-leaf too. */
  _retainGrad = false;
  /** @internal The tensor owning the storage when this is a view (views share its version counter). */
  readonly _base: Tensor | null;
  private _requiresGrad = false;
  private _version = 0;

  /**
   * Low level: wraps storage as-is. Use tensor(), zeros(), fromStorage() … instead.
   * `strides` default to row-major; `base` is the tensor whose storage a view shares.
   */
  constructor(data: Storage, shape: readonly number[], strides?: readonly number[], offset = 0, base: Tensor | null = null) {
    this._data = data;
    this._step = generationOf(data);
    this.shape = shape;
    this.strides = strides ?? contiguousStrides(shape);
    this.offset = offset;
    this.dtype = data instanceof Int32Array ? 'int32' : 'float32';
    this.size = shapeSize(shape);
    this.ndim = shape.length;
    this._base = base === null ? null : (base._base ?? base);
  }

  /** The storage, shared with views; element (i, j, …) is data[offset + i·strides[0] + j·strides[1] + …]. */
  get data(): Storage {
    if (this._step !== 0 && !stepIsLive(this._step)) throw staleTensor(this);
    return this._data;
  }

  /** @internal The step whose memory holds the storage (0: ordinary memory); see src/tensor/step.ts. */
  get _stepGeneration(): number {
    return this._step;
  }

  /** @internal The storage without the staleness check (layerStep moves it). */
  get _storage(): Storage {
    return this._data;
  }

  /** @internal Point this tensor at `data`, a copy of its storage made by layerStep, in its new place. */
  _rebind(data: Storage): void {
    this._data = data;
    this._step = generationOf(data);
  }

  /** Whether gradients flow to this tensor. Only float32 tensors can require grad. */
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(on: boolean) {
    if (on && this.dtype !== 'float32') {
      throw new TypeError(`requiresGrad: only float32 tensors can require grad; this ${fmtShape(this.shape)} tensor is ${this.dtype}`);
    }
    if (!on && this._node !== null) {
      throw new Error(`requiresGrad: cannot turn off requiresGrad on a computed (non-leaf) tensor; use detach() instead`);
    }
    this._requiresGrad = on;
  }

  /** True for tensors not produced by a recorded op: parameters, inputs, anything computed under noGrad. */
  get isLeaf(): boolean {
    return this._node === null;
  }

  /**
   * Counts in-place writes to the storage (optimizer steps, copyFrom). Views share their base's counter.
   * Backends use it to cache packed copies of weights until the weights change.
   */
  get version(): number {
    return this._base ? this._base._version : this._version;
  }
  set version(v: number) {
    if (this._base) this._base._version = v;
    else this._version = v;
  }

  /** Also keep .grad for this intermediate result after backward (for inspecting activations' gradients). */
  retainGrad(): this {
    this._retainGrad = true;
    return this;
  }

  isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  // ---- views ----
  /** Same elements, new shape (one dim may be -1). A view when strides allow it, else a copy. */
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    return reshape(this, flatArgs(shape));
  }
  view(...shape: number[] | [readonly number[]]): Tensor {
    return reshape(this, flatArgs(shape));
  }
  transpose(d0: number, d1: number): Tensor {
    return transpose(this, d0, d1);
  }
  permute(...dims: number[] | [readonly number[]]): Tensor {
    return permute(this, flatArgs(dims));
  }
  /** Elements start..end-1 along dim (negative indices count from the end, like Python). */
  slice(dim: number, start: number, end?: number): Tensor {
    return slice(this, dim, start, end);
  }
  /** Broadcast view to a larger shape (no copy; size-1 dims repeat). */
  expand(...shape: number[] | [readonly number[]]): Tensor {
    return expand(this, flatArgs(shape));
  }
  unsqueeze(dim: number): Tensor {
    return unsqueeze(this, dim);
  }
  squeeze(dim?: number): Tensor {
    return squeeze(this, dim);
  }
  contiguous(): Tensor {
    return contiguous(this);
  }

  // ---- data ----
  /** A contiguous float32 copy of the contents — or the storage itself when already contiguous and whole. */
  toFloat32Array(): Float32Array {
    const d = readContiguous(this);
    if (d instanceof Float32Array) return d === this.data || d.buffer !== this.data.buffer ? d : d.slice();
    return Float32Array.from(d);
  }
  /** A contiguous int32 copy (float values are truncated toward zero) — or the storage when int32 and whole. */
  toInt32Array(): Int32Array {
    const d = readContiguous(this);
    if (d instanceof Int32Array) return d === this.data || d.buffer !== this.data.buffer ? d : d.slice();
    const out = new Int32Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = Math.trunc(d[i]);
    return out;
  }
  /** The elements as a flat JS array in row-major order (for tests and small things). */
  toArray(): number[] {
    return Array.from(readContiguous(this));
  }
  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new RangeError(`item: only one-element tensors have an item; this one has shape ${fmtShape(this.shape)}`);
    return this.data[this.offset];
  }
  /** Same storage, cut from the graph: no gradient flows through the result. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, this.strides, this.offset, this);
  }
  /** A contiguous copy with its own storage and no graph (like torch's x.detach().clone()). */
  clone(): Tensor {
    return new Tensor(stridedCopy(this), this.shape);
  }
  /**
   * Overwrites the contents in place (same shape) and bumps the version: for loading checkpoints into
   * existing parameters. Not recorded on the tape.
   */
  copyFrom(src: Tensor | Float32Array | Int32Array): this {
    const values = src instanceof Tensor ? readContiguous(src) : src;
    if (src instanceof Tensor && src.size !== this.size) {
      throw new RangeError(`copyFrom: source shape ${fmtShape(src.shape)} does not match ${fmtShape(this.shape)}`);
    }
    if (values.length !== this.size) throw new RangeError(`copyFrom: source has ${values.length} values, tensor of shape ${fmtShape(this.shape)} holds ${this.size}`);
    if (this.isContiguous()) {
      this.data.set(values, this.offset);
    } else {
      // Write through the strides, element by element in row-major order.
      const idx = new Array<number>(this.ndim).fill(0);
      for (let i = 0; i < this.size; i++) {
        let o = this.offset;
        for (let d = 0; d < this.ndim; d++) o += idx[d] * this.strides[d];
        this.data[o] = values[i];
        for (let d = this.ndim - 1; d >= 0; d--) {
          if (++idx[d] < this.shape[d]) break;
          idx[d] = 0;
        }
      }
    }
    this.version++;
    return this;
  }

  /** Backpropagates from this tensor; `grad` defaults to 1 for a one-element tensor. */
  backward(grad?: Tensor): void {
    runBackward(this, grad);
  }

  toString(): string {
    const flags = this.requiresGrad ? ', requiresGrad' : '';
    const values = this.size <= 8 ? ` [${this.toArray().map((v) => +v.toPrecision(5)).join(', ')}]` : '';
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${flags})${values}`;
  }

  // ---- method forms of the ops ----
  add(other: Tensor | number): Tensor {
    return add(this, other);
  }
  sub(other: Tensor | number): Tensor {
    return sub(this, other);
  }
  mul(other: Tensor | number): Tensor {
    return mul(this, other);
  }
  div(other: Tensor | number): Tensor {
    return div(this, other);
  }
  neg(): Tensor {
    return neg(this);
  }
  exp(): Tensor {
    return exp(this);
  }
  log(): Tensor {
    return log(this);
  }
  sqrt(): Tensor {
    return sqrt(this);
  }
  pow(p: number): Tensor {
    return pow(this, p);
  }
  tanh(): Tensor {
    return tanh(this);
  }
  relu(): Tensor {
    return relu(this);
  }
  sigmoid(): Tensor {
    return sigmoid(this);
  }
  gelu(approximate: 'tanh' | 'none' = 'tanh'): Tensor {
    return gelu(this, approximate);
  }
  matmul(other: Tensor): Tensor {
    return matmul(this, other);
  }
  sum(dims?: number | readonly number[], keepdim = false): Tensor {
    return sum(this, dims, keepdim);
  }
  mean(dims?: number | readonly number[], keepdim = false): Tensor {
    return mean(this, dims, keepdim);
  }
  max(dims?: number | readonly number[], keepdim = false): Tensor {
    return max(this, dims, keepdim);
  }
  softmax(dim = -1): Tensor {
    return softmax(this, dim);
  }
  logSoftmax(dim = -1): Tensor {
    return logSoftmax(this, dim);
  }
}

/** reshape(2, 3) and reshape([2, 3]) both mean the shape [2, 3]. */
function flatArgs(args: number[] | [readonly number[]]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return [...(args[0] as readonly number[])];
  return args as number[];
}

/** The error for a tensor read after the step whose memory held it (see src/tensor/step.ts). */
function staleTensor(t: Tensor): Error {
  return new Error(
    `this ${fmtShape(t.shape)} tensor was computed inside a step (a training step, a decode step of generation, or inside one layer of an inference forward), whose memory the next step reuses; ` +
      'copy what you need from it (item(), toArray()) inside the step',
  );
}
