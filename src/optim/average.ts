// An exponential moving average of the weights (Polyak averaging), for evaluation.
//
//   avg ← avg + (1 − d)·(w − avg)        after every optimizer step, d = min(decay, (1 + n) / (10 + n))
//
// A model read with its averaged weights is often better than the last weights: the average smooths the noise
// of the last steps' updates, as if the learning rate had been annealed further (Polyak & Juditsky 1992; the
// EMA of TensorFlow's ExponentialMovingAverage and of timm's ModelEmaV2). The ramp (1 + n) / (10 + n) is
// TensorFlow's num_updates rule: early on, when the weights move fast, the average follows them closely
// instead of remembering the random initialisation for 1 / (1 − decay) steps.
//
// The average lives beside the parameters (one copy of each); `swap()` exchanges the two in place, so an
// evaluation reads the averaged weights and a second swap() restores the trained ones.

import type { Tensor } from '../tensor/index.js';
import { paramData } from './optimizer.js';

export class WeightAverage {
  private readonly params: Tensor[];
  private readonly avg: Float32Array[];
  private updates = 0;

  constructor(
    params: readonly Tensor[],
    /** Per-step decay, in [0, 1): 0.999 averages over about the last 1 000 steps. */
    readonly decay: number,
  ) {
    if (!(decay >= 0 && decay < 1)) throw new RangeError(`WeightAverage: decay must be in [0, 1), got ${decay}`);
    this.params = params.filter((p) => p.requiresGrad && p.dtype === 'float32');
    this.avg = this.params.map((p) => Float32Array.from(paramData(p)));
  }

  /** Steps averaged so far. */
  get count(): number {
    return this.updates;
  }

  /** Fold the current weights into the average (call after each optimizer step). */
  update(): void {
    this.updates++;
    const d = Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
    const c = 1 - d;
    this.params.forEach((p, k) => {
      const w = paramData(p);
      const a = this.avg[k]!;
      for (let i = 0; i < a.length; i++) a[i]! += c * (w[i]! - a[i]!);
    });
  }

  /** Exchange the weights and the average in place (bumping each parameter's version for caches). */
  swap(): void {
    this.params.forEach((p, k) => {
      const w = paramData(p);
      const a = this.avg[k]!;
      for (let i = 0; i < a.length; i++) {
        const t = w[i]!;
        w[i] = a[i]!;
        a[i] = t;
      }
      p.version++;
    });
  }
}
