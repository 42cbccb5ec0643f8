// Gradient clipping and learning-rate schedules.
import { Tensor } from '../tensor/index.js';

/** Σ g², with four independent accumulators so the additions do not wait on each other. */
function sumOfSquares(g: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 4 <= g.length; i += 4) {
    s0 += g[i] * g[i];
    s1 += g[i + 1] * g[i + 1];
    s2 += g[i + 2] * g[i + 2];
    s3 += g[i + 3] * g[i + 3];
  }
  for (; i < g.length; i++) s0 += g[i] * g[i];
  return s0 + s1 + s2 + s3;
}

/**
 * Scales all gradients together so their global L2 norm is at most maxNorm, as
 * torch.nn.utils.clip_grad_norm_: total = √(Σ‖g‖²); if total > maxNorm, g ← g · maxNorm / (total + 1e-6).
 * Returns the norm before clipping (worth logging: spikes mean trouble). Parameters without .grad are skipped.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  let sq = 0;
  for (const p of params) {
    if (!(p instanceof Tensor)) throw new TypeError('clipGradNorm: params must be Tensors');
    if (p.grad === null) continue;
    sq += sumOfSquares(p.grad.toFloat32Array());
  }
  const total = Math.sqrt(sq);
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) {
    for (const p of params) {
      if (p.grad === null) continue;
      if (!p.grad.isContiguous() || p.grad.offset !== 0 || p.grad.data.length !== p.grad.size) p.grad = p.grad.clone();
      const g = p.grad.data as Float32Array;
      for (let i = 0; i < g.length; i++) g[i] *= coef;
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
