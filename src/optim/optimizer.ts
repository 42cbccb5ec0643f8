// What AdamW and SGD share: parameter groups (each with its own hyper-parameters, e.g. no weight decay for
// biases and LayerNorm), zeroGrad, the learning-rate knob schedules turn, and validation of the params.
//
//   const opt = new AdamW([{ params: decay, weightDecay: 0.1 }, { params: noDecay, weightDecay: 0 }], { lr: 6e-4 });
//   opt.lr = schedule(step); loss.backward(); opt.step(); opt.zeroGrad();
import { Tensor } from '../tensor/index.js';
import { asQuantized } from '../quant/ops.js';

/** A list of parameters with optional per-group overrides of the optimizer's options. */
export type ParamGroupInput<H> = { params: Tensor[] } & Partial<H>;

export type ParamGroup<H> = { params: Tensor[] } & H;

export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ParamGroup<H>[];

  protected constructor(name: string, params: Tensor[] | ParamGroupInput<H>[], defaults: H) {
    if (!Array.isArray(params) || params.length === 0) throw new RangeError(`${name}: expected a non-empty array of parameters or parameter groups`);
    const groups: ParamGroupInput<H>[] = params[0] instanceof Tensor ? [{ params: params as Tensor[] } as ParamGroupInput<H>] : (params as ParamGroupInput<H>[]);
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g, gi) => {
      if (!g || !Array.isArray(g.params)) throw new TypeError(`${name}: parameter group ${gi} has no params array`);
      g.params.forEach((p, i) => {
        const where = `${name}: parameter ${i} of group ${gi}`;
        if (!(p instanceof Tensor)) throw new TypeError(`${where} is not a Tensor`);
        if (asQuantized(p)) throw new TypeError(`${where} is ${String(p)}: quantised weights are for inference; train or fine-tune the float model`);
        if (p.dtype !== 'float32') throw new TypeError(`${where} is ${p.dtype}; only float32 tensors can be optimized`);
        if (!p.isLeaf) throw new TypeError(`${where} (shape [${p.shape.join(', ')}]) is computed by an op, not a leaf; optimize the leaf tensors`);
        if (!p.isContiguous()) throw new TypeError(`${where} (shape [${p.shape.join(', ')}]) is a non-contiguous view; optimize the underlying tensor`);
        if (seen.has(p)) throw new RangeError(`${where} appears more than once`);
        seen.add(p);
      });
      return { ...defaults, ...g, params: [...g.params] } as ParamGroup<H>;
    });
  }

  /** The learning rate of the first group; setting it sets every group's (what schedules do each step). */
  get lr(): number {
    return this.paramGroups[0].lr;
  }
  set lr(value: number) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`optimizer: lr must be a finite number >= 0, got ${value}`);
    for (const g of this.paramGroups) g.lr = value;
  }

  /** Every parameter, in group order (the order stateDict indexes them by). */
  protected allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** Drops every gradient (sets .grad = null, like PyTorch's default set_to_none). */
  zeroGrad(): void {
    for (const p of this.allParams()) p.grad = null;
  }

  abstract step(): void;
}

/** The parameter's values as a writable array (parameters are contiguous, checked at construction). */
export function paramData(p: Tensor): Float32Array {
  const d = p.data as Float32Array;
  return p.offset === 0 && d.length === p.size ? d : d.subarray(p.offset, p.offset + p.size);
}

/** The gradient as a contiguous array in the parameter's layout, or null when there is none. */
export function gradData(p: Tensor, name: string): Float32Array | null {
  const g = p.grad;
  if (g === null) return null;
  if (g.size !== p.size || g.dtype !== 'float32') {
    throw new RangeError(`${name}: gradient of shape [${g.shape.join(', ')}] (${g.dtype}) does not match parameter [${p.shape.join(', ')}]`);
  }
  return g.toFloat32Array();
}

/** Checks one saved state array against the parameter it belongs to. */
export function checkStateArray(name: string, index: number, key: string, arr: unknown, size: number): Float32Array {
  if (!(arr instanceof Float32Array) || arr.length !== size) {
    const got = arr instanceof Float32Array ? `${arr.length} values` : typeof arr;
    throw new RangeError(`${name}.loadStateDict: state ${index}.${key} has ${got}, expected a Float32Array of ${size} (the parameter's size)`);
  }
  return arr;
}
