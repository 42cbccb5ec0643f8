// AdamW (Loshchilov & Hutter), exactly as torch.optim.AdamW computes it. Per parameter p with gradient g,
// at step t (counted per parameter from 1):
//   p ← p − lr·λ·p                          decoupled weight decay (not added to the gradient)
//   m ← β₁·m + (1 − β₁)·g                   first moment
//   v ← β₂·v + (1 − β₂)·g²                  second moment
//   p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
// One fused pass per parameter, on the backend (ADAMW_STEP below: in WebAssembly the parameter and its moments
// live in the kernels' memory and are updated where they are, on the worker pool); the update bumps the
// parameter's version (so anything cached from the old values is refreshed).
import { getBackend, type RowKernel } from '../backend/index.js';
import type { Tensor } from '../tensor/index.js';
import { checkStateArray, gradData, Optimizer, paramData, type ParamGroupInput } from './optimizer.js';

export interface AdamWOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

interface AdamState {
  step: number;
  expAvg: Float32Array; // m
  expAvgSq: Float32Array; // v
}

/** Serializable optimizer state (typed arrays and numbers) for resuming training. */
export interface AdamWStateDict {
  /** Keyed by parameter index in group order; parameters that never had a gradient have no entry. */
  state: Record<number, { step: number; expAvg: Float32Array; expAvgSq: Float32Array }>;
  paramGroups: (AdamWOptions & { params: number[] })[];
}

/**
 * The update of one parameter as a row kernel (one element per row): inputs p, g, m, v; outputs p, m, v;
 * params [β₁, β₂, 1 − β₁, 1 − β₂, stepSize, decay, invBc2Sqrt, ε] (the step's constants, computed once).
 */
export const ADAMW_STEP: RowKernel = {
  name: 'adamw_step',
  inputs: ['rows', 'rows', 'rows', 'rows'],
  outputs: ['rows', 'rows', 'rows'],
  reference(rows, cols, [x, g, m, v], [xOut, mOut, vOut], [b1, b2, c1, c2, stepSize, decay, invBc2Sqrt, eps]) {
    for (let i = 0; i < rows * cols; i++) {
      const gi = g![i]!;
      const mi = b1! * m![i]! + c1! * gi;
      const vi = b2! * v![i]! + c2! * gi * gi;
      mOut![i] = mi;
      vOut![i] = vi;
      xOut![i] = x![i]! * decay! - (stepSize! * mi) / (Math.sqrt(vi) * invBc2Sqrt! + eps!);
    }
  },
};

export class AdamW extends Optimizer<AdamWOptions> {
  private readonly state = new Map<Tensor, AdamState>();

  constructor(params: Tensor[] | ParamGroupInput<AdamWOptions>[], opts: Partial<AdamWOptions> = {}) {
    const defaults: AdamWOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, ...opts };
    super('AdamW', params, defaults);
    for (const g of this.paramGroups) {
      const [b1, b2] = g.betas;
      if (!(g.lr >= 0)) throw new RangeError(`AdamW: lr must be >= 0, got ${g.lr}`);
      if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new RangeError(`AdamW: betas must be in [0, 1), got [${b1}, ${b2}]`);
      if (!(g.eps >= 0)) throw new RangeError(`AdamW: eps must be >= 0, got ${g.eps}`);
      if (!(g.weightDecay >= 0)) throw new RangeError(`AdamW: weightDecay must be >= 0, got ${g.weightDecay}`);
    }
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    const be = getBackend();
    for (const group of this.paramGroups) {
      const { lr, eps, weightDecay } = group;
      const [b1, b2] = group.betas;
      for (const p of group.params) {
        const g = gradData(p, 'AdamW');
        if (g === null) continue;
        let s = this.state.get(p);
        if (!s) {
          // The moments live where the backend computes, beside the parameter (zeros to start).
          s = { step: 0, expAvg: be.allocate(p.size), expAvgSq: be.allocate(p.size) };
          this.state.set(p, s);
        }
        s.step++;
        const bc1 = 1 - Math.pow(b1, s.step);
        const bc2Sqrt = Math.sqrt(1 - Math.pow(b2, s.step));
        const stepSize = lr / bc1;
        const decay = 1 - lr * weightDecay;
        const invBc2Sqrt = 1 / bc2Sqrt;
        const c1 = 1 - b1;
        const c2 = 1 - b2;
        const x = paramData(p);
        const m = s.expAvg;
        const v = s.expAvgSq;
        be.runRows(ADAMW_STEP, x.length, 1, [x, g, m, v], [x, m, v], [b1, b2, c1, c2, stepSize, decay, invBc2Sqrt, eps]);
        p.version++;
      }
    }
  }

  stateDict(): AdamWStateDict {
    const params = this.allParams();
    const state: AdamWStateDict['state'] = {};
    params.forEach((p, i) => {
      const s = this.state.get(p);
      if (s) state[i] = { step: s.step, expAvg: s.expAvg.slice(), expAvgSq: s.expAvgSq.slice() };
    });
    let next = 0;
    const paramGroups = this.paramGroups.map((g) => ({
      lr: g.lr,
      betas: [g.betas[0], g.betas[1]] as [number, number],
      eps: g.eps,
      weightDecay: g.weightDecay,
      params: g.params.map(() => next++),
    }));
    return { state, paramGroups };
  }

  /** Restores a stateDict() taken from an optimizer over parameters of the same shapes and grouping. */
  loadStateDict(sd: AdamWStateDict): void {
    const params = this.allParams();
    if (!sd || !Array.isArray(sd.paramGroups) || sd.paramGroups.length !== this.paramGroups.length) {
      throw new RangeError(`AdamW.loadStateDict: expected ${this.paramGroups.length} parameter groups, got ${sd?.paramGroups?.length}`);
    }
    sd.paramGroups.forEach((g, gi) => {
      if (g.params.length !== this.paramGroups[gi].params.length) {
        throw new RangeError(`AdamW.loadStateDict: group ${gi} has ${g.params.length} parameters, this optimizer has ${this.paramGroups[gi].params.length}`);
      }
    });
    const restored = new Map<Tensor, AdamState>();
    for (const [key, s] of Object.entries(sd.state)) {
      const i = Number(key);
      const p = params[i];
      if (!p) throw new RangeError(`AdamW.loadStateDict: state for parameter ${key}, but there are only ${params.length}`);
      const be = getBackend();
      const place = (a: Float32Array): Float32Array => {
        const out = be.allocate(a.length);
        out.set(a);
        return out;
      };
      restored.set(p, {
        step: s.step,
        expAvg: place(checkStateArray('AdamW', i, 'expAvg', s.expAvg, p.size)),
        expAvgSq: place(checkStateArray('AdamW', i, 'expAvgSq', s.expAvgSq, p.size)),
      });
    }
    this.state.clear();
    for (const [p, s] of restored) this.state.set(p, s);
    sd.paramGroups.forEach((g, gi) => {
      const mine = this.paramGroups[gi];
      mine.lr = g.lr;
      mine.betas = [g.betas[0], g.betas[1]];
      mine.eps = g.eps;
      mine.weightDecay = g.weightDecay;
    });
  }
}
