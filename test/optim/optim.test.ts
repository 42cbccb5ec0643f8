// Optimizers against PyTorch's update formulas written out by hand here (float64), plus clipping,
// schedules and state save/restore.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdamW, clipGradNorm, cosineWithWarmup, linearWithWarmup, SGD } from '../../src/optim/index.js';
import * as T from '../../src/tensor/index.js';
import { tensor, type Tensor } from '../../src/tensor/index.js';

function close(actual: number[], expected: number[], tol = 1e-6, what = 'value'): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) <= tol * (1 + Math.abs(expected[i])), `${what}[${i}]: got ${a}, expected ${expected[i]}`));
}

const grads = [
  [0.5, -1.0, 0.0],
  [0.1, 0.3, -0.2],
  [-0.2, 0.4, 0.05],
];

test('AdamW, 3 steps: matches torch.optim.AdamW written out (decoupled decay, bias correction)', () => {
  const lr = 0.1;
  const [b1, b2] = [0.9, 0.999];
  const eps = 1e-8;
  const wd = 0.01;
  const p = tensor([1.0, -2.0, 0.5], [3], { requiresGrad: true });
  const opt = new AdamW([p], { lr, betas: [b1, b2], eps, weightDecay: wd });

  // Reference, per element, from the PyTorch docs' algorithm:
  //   θ ← θ − lr·λ·θ;  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  m̂ = m/(1−β₁ᵗ);  v̂ = v/(1−β₂ᵗ);  θ ← θ − lr·m̂/(√v̂ + ε)
  const theta = [1.0, -2.0, 0.5];
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  for (let t = 1; t <= 3; t++) {
    const g = grads[t - 1];
    for (let i = 0; i < 3; i++) {
      theta[i] -= lr * wd * theta[i];
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const mHat = m[i] / (1 - b1 ** t);
      const vHat = v[i] / (1 - b2 ** t);
      theta[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
    p.grad = tensor(g);
    opt.step();
    close(p.toArray(), theta, 1e-6, `step ${t}`);
    assert.equal(p.version, t, 'each step bumps the version');
  }
  // Step 1 by hand: m̂ = g, v̂ = g², so θ₁ = 0.999·θ₀ − 0.1·sign(g) (0 where g = 0).
  const p1 = tensor([1.0, -2.0, 0.5], [3], { requiresGrad: true });
  const opt1 = new AdamW([p1], { lr, weightDecay: wd });
  p1.grad = tensor(grads[0]);
  opt1.step();
  close(p1.toArray(), [0.899, -1.898, 0.4995], 1e-6);
});

test('AdamW parameter groups: per-group weight decay, params without grad untouched, lr setter', () => {
  const decay = tensor([2.0], [1], { requiresGrad: true });
  const noDecay = tensor([2.0], [1], { requiresGrad: true });
  const noGrad = tensor([2.0], [1], { requiresGrad: true });
  const opt = new AdamW([{ params: [decay], weightDecay: 0.5 }, { params: [noDecay, noGrad], weightDecay: 0 }], { lr: 0.1 });
  decay.grad = tensor([0]);
  noDecay.grad = tensor([0]);
  opt.step();
  // Zero gradient: the Adam term is 0/(0 + ε) = 0; only the decay θ·(1 − lr·λ) acts.
  close(decay.toArray(), [2 * (1 - 0.1 * 0.5)]);
  close(noDecay.toArray(), [2]);
  close(noGrad.toArray(), [2]);
  assert.equal(noGrad.version, 0);
  opt.lr = 0.01;
  assert.deepEqual(opt.paramGroups.map((g) => g.lr), [0.01, 0.01]);
  opt.zeroGrad();
  assert.equal(decay.grad, null);
});

test('SGD with momentum, dampening and weight decay, 3 steps: torch.optim.SGD written out', () => {
  const [lr, mu, tau, wd] = [0.1, 0.9, 0.1, 0.01];
  const p = tensor([1.0, -2.0, 0.5], [3], { requiresGrad: true });
  const opt = new SGD([p], { lr, momentum: mu, dampening: tau, weightDecay: wd });
  // d = g + λθ;  b = d (first step) else μb + (1−τ)d;  θ ← θ − lr·b
  const theta = [1.0, -2.0, 0.5];
  const buf = [0, 0, 0];
  for (let t = 1; t <= 3; t++) {
    const g = grads[t - 1];
    for (let i = 0; i < 3; i++) {
      const d = g[i] + wd * theta[i];
      buf[i] = t === 1 ? d : mu * buf[i] + (1 - tau) * d;
      theta[i] -= lr * buf[i];
    }
    p.grad = tensor(g);
    opt.step();
    close(p.toArray(), theta, 1e-6, `step ${t}`);
  }
});

test('SGD nesterov and plain SGD', () => {
  const [lr, mu] = [0.05, 0.8];
  const p = tensor([1.0, -2.0, 0.5], [3], { requiresGrad: true });
  const opt = new SGD([p], { lr, momentum: mu, nesterov: true });
  // b = g (first) else μb + g;  θ ← θ − lr·(g + μb)
  const theta = [1.0, -2.0, 0.5];
  const buf = [0, 0, 0];
  for (let t = 1; t <= 3; t++) {
    const g = grads[t - 1];
    for (let i = 0; i < 3; i++) {
      buf[i] = t === 1 ? g[i] : mu * buf[i] + g[i];
      theta[i] -= lr * (g[i] + mu * buf[i]);
    }
    p.grad = tensor(g);
    opt.step();
    close(p.toArray(), theta, 1e-6, `nesterov step ${t}`);
  }
  const q = tensor([1, 2], [2], { requiresGrad: true });
  const plain = new SGD([q], { lr: 0.5 });
  q.grad = tensor([2, -4]);
  plain.step();
  assert.deepEqual(q.toArray(), [0, 4]);
  assert.throws(() => new SGD([q], { lr: 0.1, nesterov: true }), /nesterov needs momentum > 0 and dampening 0/);
});

test('clipGradNorm: returns the total L2 norm and scales all grads together', () => {
  const a = tensor([0, 0], [2], { requiresGrad: true });
  const b = tensor([0], [1], { requiresGrad: true });
  const c = tensor([0], [1], { requiresGrad: true }); // no grad: skipped
  a.grad = tensor([3, 4]);
  b.grad = tensor([12]);
  const total = clipGradNorm([a, b, c], 6.5); // √(9 + 16 + 144) = 13
  assert.ok(Math.abs(total - 13) < 1e-6);
  const k = 6.5 / (13 + 1e-6);
  close(a.grad.toArray(), [3 * k, 4 * k]);
  close((b.grad as Tensor).toArray(), [12 * k]);
  // Now the norm is 13·k ≈ 6.5, under a limit of 100: reported, nothing scaled.
  assert.ok(Math.abs(clipGradNorm([a, b], 100) - 13 * k) < 1e-5);
  close(a.grad.toArray(), [3 * k, 4 * k], 1e-6, 'no change below the limit');
});

test('cosineWithWarmup and linearWithWarmup at chosen steps', () => {
  const cos = cosineWithWarmup({ warmup: 10, total: 110, maxLr: 1, minLr: 0.1 });
  close([cos(0), cos(4), cos(9)], [0.1, 0.5, 1.0]); // maxLr·(step+1)/warmup
  close([cos(10), cos(60), cos(110), cos(500)], [1.0, 0.1 + 0.5 * (1 + Math.cos(Math.PI / 2)) * 0.9, 0.1, 0.1]);
  const lin = linearWithWarmup({ warmup: 10, total: 110, maxLr: 1 });
  close([lin(9), lin(10), lin(60), lin(110)], [1.0, 1.0, 0.5, 0]);
  assert.throws(() => cosineWithWarmup({ warmup: 10, total: 5, maxLr: 1 }), /total must be an integer >= warmup \(10\), got 5/);
});

test('stateDict / loadStateDict: 3 steps + save + restore into a new optimizer + 2 steps = 5 straight steps', () => {
  const gradAt = (t: number): Tensor => tensor([Math.sin(t), Math.cos(3 * t)]);
  for (const make of [
    (p: Tensor) => new AdamW([p], { lr: 0.05, weightDecay: 0.1 }),
    (p: Tensor) => new SGD([p], { lr: 0.05, momentum: 0.9, dampening: 0.2 }),
  ]) {
    const straight = tensor([1, -1], [2], { requiresGrad: true });
    const o1 = make(straight);
    for (let t = 0; t < 5; t++) {
      straight.grad = gradAt(t);
      o1.step();
    }
    const resumed = tensor([1, -1], [2], { requiresGrad: true });
    const o2 = make(resumed);
    for (let t = 0; t < 3; t++) {
      resumed.grad = gradAt(t);
      o2.step();
    }
    const saved = o2.stateDict();
    const o3 = make(resumed);
    // The two optimizer kinds have different state shapes; each restores its own.
    (o3 as { loadStateDict(s: typeof saved): void }).loadStateDict(saved);
    for (let t = 3; t < 5; t++) {
      resumed.grad = gradAt(t);
      o3.step();
    }
    assert.deepEqual(resumed.toArray(), straight.toArray());
  }
  const p = tensor([1, 2], [2], { requiresGrad: true });
  const q = tensor([1, 2, 3], [3], { requiresGrad: true });
  const o = new AdamW([p]);
  p.grad = tensor([1, 1]);
  o.step();
  assert.throws(() => new AdamW([q]).loadStateDict(o.stateDict()), /state 0.expAvg has 2 values, expected a Float32Array of 3/);
});

test('optimizers refuse non-leaf, int32 and duplicate parameters', () => {
  const w = T.ones([2], { requiresGrad: true });
  assert.throws(() => new AdamW([T.mul(w, 2)]), /AdamW: parameter 0 of group 0 \(shape \[2\]\) is computed by an op, not a leaf/);
  assert.throws(() => new SGD([tensor([1], [1], { dtype: 'int32' })], { lr: 1 }), /is int32; only float32 tensors can be optimized/);
  assert.throws(() => new AdamW([w, w]), /parameter 1 of group 0 appears more than once/);
});
