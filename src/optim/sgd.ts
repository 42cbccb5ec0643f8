// Stochastic gradient descent with momentum, as torch.optim.SGD computes it. Per parameter p, gradient g:
//   d ← g + λ·p                                   (weight decay, L2 style, when λ ≠ 0)
//   b ← d on the first step, else μ·b + (1 − τ)·d  (momentum buffer, when μ ≠ 0; τ = dampening)
//   d ← d + μ·b (nesterov)  or  d ← b
//   p ← p − lr·d
import type { Tensor } from '../tensor/index.js';
import { checkStateArray, gradData, Optimizer, paramData, type ParamGroupInput } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

export interface SGDStateDict {
  state: Record<number, { momentumBuffer: Float32Array }>;
  paramGroups: (SGDOptions & { params: number[] })[];
}

export class SGD extends Optimizer<SGDOptions> {
  private readonly buffers = new Map<Tensor, Float32Array>();

  constructor(params: Tensor[] | ParamGroupInput<SGDOptions>[], opts: Partial<SGDOptions> & { lr: number }) {
    const defaults: SGDOptions = { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...opts };
    super('SGD', params, defaults);
    for (const g of this.paramGroups) {
      if (!(g.lr >= 0)) throw new RangeError(`SGD: lr must be >= 0, got ${g.lr}`);
      if (!(g.momentum >= 0)) throw new RangeError(`SGD: momentum must be >= 0, got ${g.momentum}`);
      if (!(g.weightDecay >= 0)) throw new RangeError(`SGD: weightDecay must be >= 0, got ${g.weightDecay}`);
      if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
        throw new RangeError(`SGD: nesterov needs momentum > 0 and dampening 0, got momentum ${g.momentum}, dampening ${g.dampening}`);
      }
    }
  }

  step(): void {
    for (const group of this.paramGroups) {
      const { lr, momentum, dampening, weightDecay, nesterov } = group;
      for (const p of group.params) {
        const g = gradData(p, 'SGD');
        if (g === null) continue;
        const x = paramData(p);
        let buf = momentum !== 0 ? this.buffers.get(p) : undefined;
        const first = momentum !== 0 && buf === undefined;
        if (first) {
          buf = new Float32Array(p.size);
          this.buffers.set(p, buf);
        }
        for (let i = 0; i < x.length; i++) {
          let d = g[i] + weightDecay * x[i];
          if (buf) {
            const b = first ? d : momentum * buf[i] + (1 - dampening) * d;
            buf[i] = b;
            d = nesterov ? d + momentum * b : b;
          }
          x[i] -= lr * d;
        }
        p.version++;
      }
    }
  }

  stateDict(): SGDStateDict {
    const state: SGDStateDict['state'] = {};
    this.allParams().forEach((p, i) => {
      const b = this.buffers.get(p);
      if (b) state[i] = { momentumBuffer: b.slice() };
    });
    let next = 0;
    const paramGroups = this.paramGroups.map((g) => ({
      lr: g.lr,
      momentum: g.momentum,
      dampening: g.dampening,
      weightDecay: g.weightDecay,
      nesterov: g.nesterov,
      params: g.params.map(() => next++),
    }));
    return { state, paramGroups };
  }

  loadStateDict(sd: SGDStateDict): void {
    const params = this.allParams();
    if (!sd || !Array.isArray(sd.paramGroups) || sd.paramGroups.length !== this.paramGroups.length) {
      throw new RangeError(`SGD.loadStateDict: expected ${this.paramGroups.length} parameter groups, got ${sd?.paramGroups?.length}`);
    }
    const restored = new Map<Tensor, Float32Array>();
    for (const [key, s] of Object.entries(sd.state)) {
      const i = Number(key);
      const p = params[i];
      if (!p) throw new RangeError(`SGD.loadStateDict: state for parameter ${key}, but there are only ${params.length}`);
      restored.set(p, checkStateArray('SGD', i, 'momentumBuffer', s.momentumBuffer, p.size).slice());
    }
    this.buffers.clear();
    for (const [p, b] of restored) this.buffers.set(p, b);
    sd.paramGroups.forEach((g, gi) => {
      const mine = this.paramGroups[gi];
      mine.lr = g.lr;
      mine.momentum = g.momentum;
      mine.dampening = g.dampening;
      mine.weightDecay = g.weightDecay;
      mine.nesterov = g.nesterov;
    });
  }
}
