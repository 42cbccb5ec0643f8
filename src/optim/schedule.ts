// Gradient clipping and learning-rate schedules.
import { getBackend, type RowKernel } from '../backend/index.js';
import { Tensor } from '../tensor/index.js';

/**
 * Σx² of an array as a row kernel over single-element rows (out: one float, the sum; the WebAssembly task sums
 * its share in float64 and the backend adds the tasks' shares).
 */
export const SUM_OF_SQUARES: RowKernel = {
  name: 'sum_squares',
  inputs: ['rows'],
  outputs: ['colSum'],
  reference(rows, cols, [x], [out]) {
    let s = 0;
    for (let i = 0; i < rows * cols; i++) s += x![i]! * x![i]!;
    out![0] = s;
  },
};

/** y = x·s elementwise (params [s]): clipping's rescale. */
export const SCALE: RowKernel = {
  name: 'scale',
  inputs: ['rows'],
  outputs: ['rows'],
  reference(rows, cols, [x], [y], [s]) {
    const f = Math.fround(s!); // the kernels take it as a float32
    for (let i = 0; i < rows * cols; i++) y![i] = x![i]! * f;
  },
};

/**
 * Scales all gradients together so their global L2 norm is at most maxNorm, as
 * torch.nn.utils.clip_grad_norm_: total = √(Σ‖g‖²); if total > maxNorm, g ← g · maxNorm / (total + 1e-6).
 * Returns the norm before clipping (worth logging: spikes mean trouble). Parameters without .grad are skipped.
 * Both passes run on the backend (SIMD, on the pool): over a model's every gradient they are two passes over
 * as many floats as it has parameters.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const be = getBackend();
  const part = new Float32Array(1);
  let sq = 0;
  for (const p of params) {
    if (!(p instanceof Tensor)) throw new TypeError('clipGradNorm: params must be Tensors');
    if (p.grad === null) continue;
    const g = p.grad.toFloat32Array();
    be.runRows(SUM_OF_SQUARES, g.length, 1, [g], [part]);
    sq += part[0]!;
  }
  const total = Math.sqrt(sq);
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) {
    for (const p of params) {
      if (p.grad === null) continue;
      if (!p.grad.isContiguous() || p.grad.offset !== 0 || p.grad.data.length !== p.grad.size) p.grad = p.grad.clone();
      const g = p.grad.data as Float32Array;
      be.runRows(SCALE, g.length, 1, [g], [g], [coef]);
    }
  }
  return total;
}

export interface WarmupSchedule {
  /** Steps of linear warmup: lr = maxLr·(step + 1)/warmup for step < warmup (never 0 on the first step). */
  warmup: number;
  /** The step at which decay ends; from here on lr = minLr. */
  total: number;
  maxLr: number;
  /** Default 0. */
  minLr?: number;
}

function checkSchedule(name: string, s: WarmupSchedule): void {
  const { warmup, total, maxLr, minLr = 0 } = s;
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`${name}: warmup must be an integer >= 0, got ${warmup}`);
  if (!Number.isInteger(total) || total < warmup) throw new RangeError(`${name}: total must be an integer >= warmup (${warmup}), got ${total}`);
  if (!(maxLr >= 0) || !(minLr >= 0)) throw new RangeError(`${name}: maxLr and minLr must be >= 0, got ${maxLr} and ${minLr}`);
}

/**
 * Linear warmup, then cosine decay from maxLr to minLr (nanoGPT's get_lr):
 *   progress = (step − warmup)/(total − warmup),  lr = minLr + ½(1 + cos(π·progress))·(maxLr − minLr)
 * `opt.lr = schedule(step)` before each step.
 */
export function cosineWithWarmup(s: WarmupSchedule): (step: number) => number {
  checkSchedule('cosineWithWarmup', s);
  const { warmup, total, maxLr, minLr = 0 } = s;
  return (step: number): number => {
    if (step < warmup) return (maxLr * (step + 1)) / warmup;
    if (step >= total) return minLr;
    const progress = (step - warmup) / (total - warmup);
    return minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (maxLr - minLr);
  };
}

/** Linear warmup, then a straight line from maxLr down to minLr at `total`. */
export function linearWithWarmup(s: WarmupSchedule): (step: number) => number {
  checkSchedule('linearWithWarmup', s);
  const { warmup, total, maxLr, minLr = 0 } = s;
  return (step: number): number => {
    if (step < warmup) return (maxLr * (step + 1)) / warmup;
    if (step >= total) return minLr;
    const progress = (step - warmup) / (total - warmup);
    return maxLr + (minLr - maxLr) * progress;
  };
}
