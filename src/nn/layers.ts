// The basic layers: Linear, Embedding, LayerNorm, Dropout. Each holds its parameters as fields (so Module
// finds them under PyTorch's names: weight, bias) and its forward is one op from src/tensor.
// Initializations follow PyTorch's defaults; models that want GPT-2's N(0, 0.02) re-initialize.
import { dropout, embedding, fromStorage, getDefaultRng, layerNorm, linear, ones, rand, randn, zeros, type LinearActivation, type Rng, type Tensor } from '../tensor/index.js';
import { Module } from './module.js';

// Random initialization can be switched off while building a model whose weights are loaded right after
// (fromPretrained): layers then start as placeholders of zeros in ordinary arrays, which costs nothing — the
// operating system hands out zero pages lazily, so a 500 MB model that is about to be replaced tensor by tensor
// never touches that memory (and takes no room in the backend's memory, where the loaded weights will go).
let initEnabled = true;

/** A parameter to be replaced by loaded weights: zeros nobody touches, on the ordinary heap. */
function placeholder(shape: number[]): Tensor {
  return fromStorage(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape, { requiresGrad: true });
}

/** Turn layers' random initialization on or off; returns the previous setting (restore it in a finally). */
export function setInitEnabled(on: boolean): boolean {
  const prev = initEnabled;
  initEnabled = on;
  return prev;
}

export interface LinearOptions {
  /** Add a learned bias (default true). */
  bias?: boolean;
  /** 'out_in' (torch.nn.Linear, default): weight (out, in). 'in_out' (GPT-2's Conv1D): weight (in, out). */
  layout?: 'in_out' | 'out_in';
  rng?: Rng;
}

/**
 * y = x·Wᵀ + b (or x·W + b for layout 'in_out'); x (…, in) → (…, out).
 * Init as torch.nn.Linear: W and b uniform in ±1/√in.
 */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly layout: 'in_out' | 'out_in';

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    const { bias = true, layout = 'out_in', rng = getDefaultRng() } = opts;
    if (!Number.isInteger(inFeatures) || !Number.isInteger(outFeatures) || inFeatures <= 0 || outFeatures <= 0) {
      throw new RangeError(`Linear: sizes must be positive integers, got in=${inFeatures}, out=${outFeatures}`);
    }
    if (layout !== 'in_out' && layout !== 'out_in') throw new RangeError(`Linear: layout must be 'in_out' or 'out_in', got '${String(layout)}'`);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.layout = layout;
    const bound = 1 / Math.sqrt(inFeatures);
    const shape = layout === 'out_in' ? [outFeatures, inFeatures] : [inFeatures, outFeatures];
    this.weight = initEnabled ? rand(shape, { low: -bound, high: bound, rng, requiresGrad: true }) : placeholder(shape);
    this.bias = bias ? (initEnabled ? rand([outFeatures], { low: -bound, high: bound, rng, requiresGrad: true }) : placeholder([outFeatures])) : null;
  }

  /** y = x·W + b, or act(x·W + b): with no gradient to compute, the backend applies act as it makes y. */
  forward(x: Tensor, activation?: LinearActivation): Tensor {
    return linear(x, this.weight, this.bias, this.layout, activation);
  }
}

/** A table of `num` vectors of size `dim`; ids (…) int32 → (…, dim). Init N(0, 1) as PyTorch. */
export class Embedding extends Module {
  weight: Tensor;

  constructor(num: number, dim: number, opts: { rng?: Rng } = {}) {
    super();
    if (!Number.isInteger(num) || !Number.isInteger(dim) || num <= 0 || dim <= 0) {
      throw new RangeError(`Embedding: sizes must be positive integers, got num=${num}, dim=${dim}`);
    }
    this.weight = initEnabled ? randn([num, dim], { rng: opts.rng ?? getDefaultRng(), requiresGrad: true }) : placeholder([num, dim]);
  }

  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}

/** Normalizes the last dim to zero mean, unit variance, then scales and shifts: weight = 1, bias = 0. */
export class LayerNorm extends Module {
  weight: Tensor;
  bias: Tensor;
  readonly eps: number;

  constructor(dim: number, eps = 1e-5) {
    super();
    if (!Number.isInteger(dim) || dim <= 0) throw new RangeError(`LayerNorm: dim must be a positive integer, got ${dim}`);
    this.eps = eps;
    this.weight = ones([dim], { requiresGrad: true });
    this.bias = zeros([dim], { requiresGrad: true });
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/** Zeroes elements with probability p while training (scaling survivors by 1/(1−p)); identity in eval(). */
export class Dropout extends Module {
  readonly p: number;
  private readonly _rng: Rng | undefined;

  constructor(p: number, opts: { rng?: Rng } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
    this.p = p;
    this._rng = opts.rng;
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training, rng: this._rng ?? getDefaultRng() });
  }
}
