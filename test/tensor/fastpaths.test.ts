// The engine's speed-motivated paths, checked against formulas computed here:
//  - GELU (tanh form) through a rational tanh instead of Math.tanh, over the whole input range
//  - gradients handed to the autograd sink without a copy: shared arrays must never be written to
//  - crossEntropy's backward reusing the probabilities saved by its forward pass (with ignored rows)
//  - layerNorm without an affine transform, and the linear bias gradient (a column sum over many rows)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { tensor } from '../../src/tensor/index.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
/** GPT-2's gelu_new in float64 with Math.tanh: the oracle. */
function geluTanhRef(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

test('gelu (tanh form) stays within 1e-6 of ½x(1 + tanh u) on [−12, 12], and its gradient within 1e-5', () => {
  const n = 24001;
  const xs = new Float32Array(n);
  for (let i = 0; i < n; i++) xs[i] = -12 + (24 * i) / (n - 1);
  const x = tensor(xs, [n], { requiresGrad: true });
  const y = T.gelu(x);
  const got = y.toArray();
  let worst = 0;
  let worstRel = 0;
  for (let i = 0; i < n; i++) {
    const ref = geluTanhRef(xs[i]);
    const err = Math.abs(got[i] - ref);
    worst = Math.max(worst, err);
    // Relative accuracy where the value is not a cancellation-dominated near-zero (x ≥ −2).
    if (xs[i] >= -2 && Math.abs(ref) > 1e-3) worstRel = Math.max(worstRel, err / Math.abs(ref));
  }
  assert.ok(worst < 1e-6, `max |gelu − ref| = ${worst}`);
  assert.ok(worstRel < 1e-6, `max relative error for x ≥ −2 = ${worstRel}`);
  // Saturation is exact: GELU(large negative) is 0 and GELU(large positive) is x, as in PyTorch.
  const sat = T.gelu(tensor([-100, -30, 30, 100])).toArray();
  assert.ok(sat[0] === 0 && sat[1] === 0 && sat[2] === 30 && sat[3] === 100, `gelu([-100, -30, 30, 100]) = ${sat}`);

  // dy/dx by central differences of the float64 reference.
  T.sum(y).backward();
  const g = (x.grad as T.Tensor).toArray();
  const h = 1e-4;
  let worstG = 0;
  for (let i = 0; i < n; i += 7) {
    const d = (geluTanhRef(xs[i] + h) - geluTanhRef(xs[i] - h)) / (2 * h);
    worstG = Math.max(worstG, Math.abs(g[i] - d));
  }
  assert.ok(worstG < 1e-5, `max |dgelu − finite difference| = ${worstG}`);
});

test('a gradient passed through unchanged is never written to (user seed, add fan-out, then accumulation)', () => {
  // out = (a + b) + 3a: the seed flows unchanged to both adds' inputs, and a also gets 3·g from mul.
  const a = T.zeros([4], { requiresGrad: true });
  const b = T.zeros([4], { requiresGrad: true });
  const seed = tensor([1, 2, 3, 4]);
  T.add(T.add(a, b), T.mul(a, 3)).backward(seed);
  assert.deepEqual(seed.toArray(), [1, 2, 3, 4], 'the caller’s gradient is untouched');
  assert.deepEqual(a.grad?.toArray(), [4, 8, 12, 16]);
  assert.deepEqual(b.grad?.toArray(), [1, 2, 3, 4]);
  // A second backward accumulates into .grad; b's first gradient must not share storage with the seed.
  T.add(T.add(a, b), T.mul(a, 3)).backward(seed);
  assert.deepEqual(a.grad?.toArray(), [8, 16, 24, 32]);
  assert.deepEqual(b.grad?.toArray(), [2, 4, 6, 8]);
  assert.deepEqual(seed.toArray(), [1, 2, 3, 4]);
});

test('crossEntropy gradient = (softmax − onehot)/count, zero on ignored rows; no graph under noGrad', () => {
  const logits = [
    [1, 2, 0.5],
    [0, -1, 3],
    [2, 2, 2],
  ];
  const x = tensor(logits, [3, 3], { requiresGrad: true });
  const targets = tensor([2, -100, 0], [3], { dtype: 'int32' });
  const loss = T.crossEntropy(x, targets);
  let expectLoss = 0;
  const expectGrad: number[] = [];
  logits.forEach((row, i) => {
    const t = targets.toArray()[i];
    const z = row.reduce((s, v) => s + Math.exp(v), 0);
    if (t !== -100) expectLoss += (Math.log(z) - row[t]) / 2;
    for (let c = 0; c < 3; c++) expectGrad.push(t === -100 ? 0 : (Math.exp(row[c]) / z - (c === t ? 1 : 0)) / 2);
  });
  assert.ok(Math.abs(loss.item() - expectLoss) < 1e-6, `loss ${loss.item()} vs ${expectLoss}`);
  loss.backward();
  const g = (x.grad as T.Tensor).toArray();
  g.forEach((v, i) => assert.ok(Math.abs(v - expectGrad[i]) < 1e-6, `grad[${i}] = ${v}, expected ${expectGrad[i]}`));
  const inference = T.noGrad(() => T.crossEntropy(x, targets));
  assert.ok(Math.abs(inference.item() - expectLoss) < 1e-6);
});

test('layerNorm without weight/bias normalizes each row; bias gradient of linear sums 1003 rows', () => {
  const y = T.layerNorm(tensor([[1, 2, 3, 4]]), null, null, 0).toArray();
  const mu = 2.5;
  const sd = Math.sqrt(((1.5 ** 2 + 0.5 ** 2) * 2) / 4);
  y.forEach((v, j) => assert.ok(Math.abs(v - (j + 1 - mu) / sd) < 1e-6, `y[${j}] = ${v}`));

  // 1003 rows: not a multiple of the 4 rows summed per pass.
  const rows = 1003;
  const xs = new Float32Array(rows * 2);
  const w = T.zeros([2, 3], { requiresGrad: true });
  const bias = T.zeros([3], { requiresGrad: true });
  const gy = new Float32Array(rows * 3);
  for (let r = 0; r < rows; r++) for (let j = 0; j < 3; j++) gy[r * 3 + j] = (r % 5) - j;
  T.linear(tensor(xs, [rows, 2]), w, bias, 'in_out').backward(tensor(gy, [rows, 3]));
  const expect = [0, 1, 2].map((j) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += (r % 5) - j;
    return s;
  });
  assert.deepEqual(bias.grad?.toArray(), expect);
});
