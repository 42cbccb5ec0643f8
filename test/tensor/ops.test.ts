// Forward values of the ops against formulas written out here (or known constants), on every backend.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { Rng, tensor } from '../../src/tensor/index.js';
import { forEachBackend } from '../_backends.js';

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = 'value'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    if (Number.isNaN(expected[i])) {
      assert.ok(Number.isNaN(actual[i]), `${what}[${i}]: expected NaN, got ${actual[i]}`);
      continue;
    }
    if (!(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])))) {
      assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

function randomValues(n: number, seed: number, lo = -1, hi = 1): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
}

const i32 = (values: number[], shape: number[]) => tensor(values, shape, { dtype: 'int32' });

forEachBackend((name) => {
  test(`broadcast arithmetic: (2,1,3) + (4,1) → (2,4,3) (${name})`, () => {
    const a = tensor([1, 2, 3, 4, 5, 6], [2, 1, 3]);
    const b = tensor([10, 20, 30, 40], [4, 1]);
    const c = T.add(a, b);
    assert.deepEqual(c.shape, [2, 4, 3]);
    const expected: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 3; k++) expected.push(1 + i * 3 + k + (j + 1) * 10);
    assert.deepEqual(c.toArray(), expected);
    assert.deepEqual(T.sub(2, tensor([1, 5])).toArray(), [1, -3]);
    assert.deepEqual(T.div(tensor([1, 3]), 2).toArray(), [0.5, 1.5]);
  });

  test(`gelu matches Φ(x) constants (exact) and the tanh formula (${name})`, () => {
    // x·Φ(x) with Φ(1) = 0.8413447460685429, Φ(-1) = 0.15865525393145707, Φ(2) = 0.9772498680518208.
    const x = tensor([1, -1, 2, 0]);
    close(T.gelu(x, 'none').toArray(), [0.8413447460685429, -0.15865525393145707, 1.9544997361036416, 0], 1e-6);
    const tanhRef = [1, -1, 2, 0].map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
    close(T.gelu(x).toArray(), tanhRef, 1e-6);
    // Far tails: no overflow to NaN, y → 0 and y → x, gradients → 0 and 1.
    const big = tensor([-100, -20, 20, 100], [4], { requiresGrad: true });
    close(T.gelu(big).toArray(), [0, 0, 20, 100], 1e-6);
    T.sum(T.gelu(big)).backward();
    close(big.grad?.toArray() ?? [], [0, 0, 1, 1], 1e-6);
    close(T.gelu(big, 'none').toArray(), [0, 0, 20, 100], 1e-6);
  });

  test(`softmax / logSoftmax rows by the formula; dim 0 of a matrix (${name})`, () => {
    const v = randomValues(12, 1, -3, 3);
    const x = tensor(v, [3, 4]);
    const ref: number[] = [];
    for (let r = 0; r < 3; r++) {
      const row = v.slice(r * 4, r * 4 + 4);
      const z = row.reduce((s, u) => s + Math.exp(u), 0);
      ref.push(...row.map((u) => Math.exp(u) / z));
    }
    close(T.softmax(x).toArray(), ref);
    close(T.logSoftmax(x).toArray(), ref.map(Math.log));
    const col = T.softmax(x, 0).toArray();
    for (let c = 0; c < 4; c++) {
      const z = [0, 1, 2].reduce((s, r) => s + Math.exp(v[r * 4 + c]), 0);
      for (let r = 0; r < 3; r++) assert.ok(Math.abs(col[r * 4 + c] - Math.exp(v[r * 4 + c]) / z) < 1e-6);
    }
    // Large logits do not overflow (the max is subtracted first).
    close(T.softmax(tensor([1000, 1000])).toArray(), [0.5, 0.5]);
  });

  test(`layerNorm by the formula (biased variance, eps inside the sqrt) (${name})`, () => {
    const v = randomValues(10, 2, -2, 2);
    const w = [0.5, 1, 1.5, 2, -1];
    const b = [0.1, 0.2, 0.3, 0.4, 0.5];
    const out = T.layerNorm(tensor(v, [2, 5]), tensor(w), tensor(b), 1e-5).toArray();
    for (let r = 0; r < 2; r++) {
      const row = v.slice(r * 5, r * 5 + 5);
      const mu = row.reduce((s, u) => s + u, 0) / 5;
      const variance = row.reduce((s, u) => s + (u - mu) ** 2, 0) / 5;
      row.forEach((u, j) => assert.ok(Math.abs(out[r * 5 + j] - (((u - mu) / Math.sqrt(variance + 1e-5)) * w[j] + b[j])) < 1e-5));
    }
  });

  test(`crossEntropy equals −Σ q·log p with q = (1−ε)·onehot + ε/V; ignoreIndex; reductions (${name})`, () => {
    const V = 5;
    const v = randomValues(4 * V, 3, -2, 2);
    const targets = [2, -100, 0, 4];
    const eps = 0.1;
    const perRow = (r: number): number => {
      const row = v.slice(r * V, r * V + V);
      const z = row.reduce((s, u) => s + Math.exp(u), 0);
      let loss = 0;
      for (let c = 0; c < V; c++) {
        const qc = (c === targets[r] ? 1 - eps : 0) + eps / V;
        loss -= qc * Math.log(Math.exp(row[c]) / z);
      }
      return loss;
    };
    const rows = [0, 2, 3].map(perRow);
    const logits = tensor(v, [4, V]);
    const t = i32(targets, [4]);
    close([T.crossEntropy(logits, t, { labelSmoothing: eps }).item()], [(rows[0] + rows[1] + rows[2]) / 3]);
    close([T.crossEntropy(logits, t, { labelSmoothing: eps, reduction: 'sum' }).item()], [rows[0] + rows[1] + rows[2]]);
    close(T.crossEntropy(logits, t, { labelSmoothing: eps, reduction: 'none' }).toArray(), [rows[0], 0, rows[1], rows[2]]);
    // Plain NLL of one row: log Σ e^x − x_t.
    const row0 = v.slice(0, V);
    const nll = Math.log(row0.reduce((s, u) => s + Math.exp(u), 0)) - row0[2];
    close([T.crossEntropy(logits.slice(0, 0, 1), i32([2], [1])).item()], [nll]);
    // All targets ignored: mean is NaN (0/0) as in PyTorch.
    assert.ok(Number.isNaN(T.crossEntropy(logits, i32([-100, -100, -100, -100], [4])).item()));
  });

  test(`sum / mean / max values, keepdim shapes; max takes the first maximum (${name})`, () => {
    const x = tensor([1, 5, 3, 5, 2, 0], [2, 3]);
    assert.deepEqual(T.sum(x, 1).toArray(), [9, 7]);
    assert.deepEqual(T.sum(x, 0, true).shape, [1, 3]);
    assert.deepEqual(T.mean(x, [0, 1]).toArray(), [16 / 6].map(Math.fround));
    assert.deepEqual(T.max(x, 1).toArray(), [5, 5]);
    assert.equal(T.max(x).item(), 5);
    const xg = tensor([1, 5, 5, 2], [4], { requiresGrad: true });
    T.max(xg).backward();
    assert.deepEqual(xg.grad?.toArray(), [0, 1, 0, 0]);
  });

  test(`matmul equals the definition for batched, broadcast and transposed operands (${name})`, () => {
    const a = tensor(randomValues(2 * 3 * 4, 4), [2, 3, 4]);
    const w = tensor(randomValues(5 * 4, 5), [5, 4]);
    const y = T.matmul(a, w.transpose(0, 1)); // (2, 3, 5)
    assert.deepEqual(y.shape, [2, 3, 5]);
    const A = a.toArray();
    const W = w.toArray();
    const Y = y.toArray();
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 5; j++) {
          let s = 0;
          for (let p = 0; p < 4; p++) s += A[b * 12 + i * 4 + p] * W[j * 4 + p];
          assert.ok(Math.abs(Y[b * 15 + i * 5 + j] - s) < 1e-5);
        }
    assert.deepEqual(T.matmul(tensor([1, 2]), tensor([3, 4])).shape, []);
    assert.equal(T.matmul(tensor([1, 2]), tensor([3, 4])).item(), 11);
  });

  test(`linear in both layouts equals x·W + b by hand (${name})`, () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const wInOut = tensor([1, 0, 0, 1, 1, 1], [3, 2]); // (in 3, out 2)
    const b = tensor([0.5, -0.5]);
    // rows: [1,2,3]·W = [1+3, 2+3] = [4, 5]; [4,5,6]·W = [10, 11]
    assert.deepEqual(T.linear(x, wInOut, b, 'in_out').toArray(), [4.5, 4.5, 10.5, 10.5]);
    const wOutIn = wInOut.transpose(0, 1).contiguous(); // (out 2, in 3)
    assert.deepEqual(T.linear(x, wOutIn, b, 'out_in').toArray(), [4.5, 4.5, 10.5, 10.5]);
    assert.deepEqual(T.linear(x, wOutIn).toArray(), [4, 5, 10, 11]);
  });

  test(`attention output equals softmax(q·kᵀ/√D)·v by hand; weights returned; padded batch gives zeros (${name})`, () => {
    const [B, H, T_, D] = [2, 1, 3, 2];
    const q = tensor(randomValues(B * H * T_ * D, 6), [B, H, T_, D]);
    const k = tensor(randomValues(B * H * T_ * D, 7), [B, H, T_, D]);
    const v = tensor(randomValues(B * H * T_ * D, 8), [B, H, T_, D]);
    const { out, weights } = T.scaledDotProductAttention(q, k, v, { causal: true, returnWeights: true, keyMask: i32([1, 1, 1, 0, 0, 0], [2, 3]) });
    assert.ok(weights);
    assert.deepEqual(weights.shape, [B, H, T_, T_]);
    const Q = q.toArray();
    const K = k.toArray();
    const Vv = v.toArray();
    const O = out.toArray();
    const Wt = weights.toArray();
    for (let i = 0; i < T_; i++) {
      const s = [0, 1, 2].map((j) => (j <= i ? (Q[i * D] * K[j * D] + Q[i * D + 1] * K[j * D + 1]) / Math.sqrt(D) : -Infinity));
      const z = s.reduce((acc, x) => acc + Math.exp(x), 0);
      const p = s.map((x) => Math.exp(x) / z);
      close(Wt.slice(i * 3, i * 3 + 3), p, 1e-5, `weights row ${i}`);
      for (let d = 0; d < D; d++) {
        const ref = p.reduce((acc, pj, j) => acc + pj * Vv[j * D + d], 0);
        assert.ok(Math.abs(O[i * D + d] - ref) < 1e-5);
      }
    }
    assert.deepEqual(O.slice(B * H * T_ * D / 2), [0, 0, 0, 0, 0, 0], 'batch 1 is all padding');
    assert.deepEqual(Wt.slice(9), new Array(9).fill(0));
  });

  test(`attention with Tq < Tk: the new queries sit at the last positions (${name})`, () => {
    const k = tensor(randomValues(5 * 2, 9), [1, 1, 5, 2]);
    const v = tensor(randomValues(5 * 2, 10), [1, 1, 5, 2]);
    const qFull = tensor(randomValues(5 * 2, 11), [1, 1, 5, 2]);
    const full = T.scaledDotProductAttention(qFull, k, v, { causal: true }).out.toArray();
    const last2 = T.scaledDotProductAttention(qFull.slice(2, 3), k, v, { causal: true }).out.toArray();
    close(last2, full.slice(6), 1e-6, 'last two rows');
  });

  test(`attention dropout drops exactly the probabilities its documented hash names, rescaled by 1/(1 − p) (${name})`, () => {
    // The mask's definition (src/backend/backend.ts): probability (b, h, i, j), flat index n = ((b·H + h)·Tq + i)·Tk + j,
    // is kept when lowbias32(n + lowbias32(seed)) ≥ ⌊p·2³²⌋, seed = the op's rng.uint32(). Written out here from
    // Chris Wellons' published lowbias32, then attention in float64 with those probabilities zeroed.
    const lowbias32 = (x: number): number => {
      x = (x ^ (x >>> 16)) >>> 0;
      x = Math.imul(x, 0x7feb352d) >>> 0;
      x = (x ^ (x >>> 15)) >>> 0;
      x = Math.imul(x, 0x846ca68b) >>> 0;
      return (x ^ (x >>> 16)) >>> 0;
    };
    const [H, Tq, Tk, D] = [2, 4, 4, 3];
    const p = 0.4;
    const qd = randomValues(H * Tq * D, 12), kd = randomValues(H * Tk * D, 13), vd = randomValues(H * Tk * D, 14);
    const seed = new Rng(5).uint32();
    const seedHash = lowbias32(seed);
    const threshold = Math.floor(p * 2 ** 32);
    const want: number[] = [];
    let dropped = 0;
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < Tq; i++) {
        const s = Array.from({ length: i + 1 }, (_, j) => Array.from({ length: D }, (_, d) => qd[(h * Tq + i) * D + d]! * kd[(h * Tk + j) * D + d]!).reduce((a, b) => a + b, 0) / Math.sqrt(D));
        const m = Math.max(...s);
        const z = s.reduce((a, x) => a + Math.exp(x - m), 0);
        for (let d = 0; d < D; d++) {
          let o = 0;
          for (let j = 0; j <= i; j++) {
            const kept = lowbias32(((h * Tq + i) * Tk + j + seedHash) >>> 0) >= threshold;
            if (d === 0 && !kept) dropped++;
            if (kept) o += (Math.exp(s[j]! - m) / z / (1 - p)) * vd[(h * Tk + j) * D + d]!;
          }
          want.push(o);
        }
      }
    }
    assert.ok(dropped > 0 && dropped < 10, `the case drops some but not all probabilities (${dropped} of 10)`);
    const q = tensor(qd, [1, H, Tq, D]), k = tensor(kd, [1, H, Tk, D]), v = tensor(vd, [1, H, Tk, D]);
    const got = T.scaledDotProductAttention(q, k, v, { causal: true, dropoutP: p, rng: new Rng(5) }).out.toArray();
    close(got, want, 1e-5);
  });
});

test('embedding, gather, indexSelect pick the right values', () => {
  const w = tensor([0, 1, 10, 11, 20, 21], [3, 2]);
  assert.deepEqual(T.embedding(w, i32([2, 0, 2], [1, 3])).toArray(), [20, 21, 0, 1, 20, 21]);
  assert.deepEqual(T.embedding(w, i32([1], [1, 1])).shape, [1, 1, 2]);
  const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.deepEqual(T.gather(x, 1, i32([2, 0, 1, 1], [2, 2])).toArray(), [3, 1, 5, 5]);
  assert.deepEqual(T.indexSelect(x, 1, i32([2, 2, 0], [3])).toArray(), [3, 3, 1, 6, 6, 4]);
  assert.deepEqual(T.indexSelect(i32([7, 8, 9], [3]), 0, i32([1], [1])).toArray(), [8]);
});

test('cat, split, stack, maskedFill, where values', () => {
  const a = tensor([1, 2, 3, 4], [2, 2]);
  const b = tensor([5, 6], [2, 1]);
  assert.deepEqual(T.cat([a, b], 1).toArray(), [1, 2, 5, 3, 4, 6]);
  assert.deepEqual(T.cat([a, a], 0).shape, [4, 2]);
  const parts = T.split(tensor([0, 1, 2, 3, 4]), 2);
  assert.deepEqual(parts.map((p) => p.toArray()), [[0, 1], [2, 3], [4]]);
  assert.deepEqual(T.stack([a, a], 2).toArray(), [1, 1, 2, 2, 3, 3, 4, 4]);
  assert.deepEqual(T.maskedFill(a, i32([0, 1], [2]), -9).toArray(), [1, -9, 3, -9]);
  assert.deepEqual(T.where(i32([1, 0], [2, 1]), a, 0).toArray(), [1, 2, 0, 0]);
  assert.deepEqual(T.cat([i32([1], [1]), i32([2, 3], [2])], 0).toArray(), [1, 2, 3]);
});

test('dropout: zeroes about p of the elements, scales survivors by 1/(1−p), identity in eval', () => {
  const x = T.ones([10000]);
  const y = T.dropout(x, 0.25, { rng: new Rng(5) }).toArray();
  const zeros = y.filter((u) => u === 0).length;
  assert.ok(zeros > 2300 && zeros < 2700, `dropped ${zeros} of 10000 at p = 0.25`);
  assert.ok(y.every((u) => u === 0 || Math.abs(u - 4 / 3) < 1e-6));
  assert.equal(T.dropout(x, 0.5, { training: false }), x);
});
