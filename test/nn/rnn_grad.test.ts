// Backpropagation through time, checked by finite differences (the outside oracle for every backward): the
// LSTM and GRU layer ops in both directions, with padded sequences of different lengths, initial states,
// with and without biases; and masking: a padded batch gives each sequence exactly what it gives alone (no
// state leaks past a sequence's end, in either direction, through two stacked bidirectional layers), padded
// steps output 0 and get no gradient. Runs on every backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend } from '../_backends.js';
import { gradcheck, leaf } from '../tensor/_gradcheck.js';
import { additiveScores, cat, fromStorage, gruLayer, lstmLayer, mul, noGrad, Rng, sum, type Tensor } from '../../src/tensor/index.js';
import { GRU, LSTM } from '../../src/nn/index.js';

const T = 4;
const B = 3;
const I = 3;
const H = 5; // not a multiple of 4: the SIMD kernels' scalar tails are exercised too

/** The layer's three (or two) results flattened into one tensor, so one finite-difference check covers all. */
const flat = (ts: Tensor[]): Tensor => cat(ts.map((t) => t.reshape([-1])), 0);

forEachBackend((backend) => {
  for (const reverse of [false, true]) {
    const dir = reverse ? 'reverse' : 'forward';
    test(`lstmLayer (${dir}): gradients of x, h0, c0, weights and biases match finite differences through time, padded batch (${backend})`, () => {
      const args = [leaf([T, B, I], 1), leaf([B, H], 2), leaf([B, H], 3), leaf([4 * H, I], 4), leaf([4 * H, H], 5), leaf([4 * H], 6), leaf([4 * H], 7)];
      const lengths = [4, 1, 3];
      const n = gradcheck((x, h0, c0, wi, wh, bi, bh) => {
        const r = lstmLayer(x!, h0!, c0!, wi!, wh!, bi!, bh!, { lengths, reverse });
        return flat([r.out, r.h, r.c]);
      }, args);
      assert.equal(n, args.reduce((s, t) => s + t.size, 0));
    });

    test(`gruLayer (${dir}): gradients match finite differences through time, padded batch (${backend})`, () => {
      const args = [leaf([T, B, I], 11), leaf([B, H], 12), leaf([3 * H, I], 14), leaf([3 * H, H], 15), leaf([3 * H], 16), leaf([3 * H], 17)];
      gradcheck((x, h0, wi, wh, bi, bh) => {
        const r = gruLayer(x!, h0!, wi!, wh!, bi!, bh!, { lengths: [2, 4, 1], reverse });
        return flat([r.out, r.h]);
      }, args);
    });
  }

  test(`lstmLayer and gruLayer without biases or initial states, every step real (${backend})`, () => {
    gradcheck((x, wi, wh) => {
      const r = lstmLayer(x!, null, null, wi!, wh!, null, null);
      return flat([r.out, r.h, r.c]);
    }, [leaf([T, B, I], 21), leaf([4 * H, I], 22), leaf([4 * H, H], 23)]);
    gradcheck((x, wi, wh) => {
      const r = gruLayer(x!, null, wi!, wh!, null, null, { reverse: true });
      return flat([r.out, r.h]);
    }, [leaf([T, B, I], 24), leaf([3 * H, I], 25), leaf([3 * H, H], 26)]);
  });

  for (const kind of ['LSTM', 'GRU'] as const) {
    test(`${kind}: a padded batch gives each sequence what it gives alone; padded steps output 0 and get no gradient (${backend})`, () => {
      const rng = new Rng(7);
      const opts = { inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true, rng };
      const layer = kind === 'LSTM' ? new LSTM(opts) : new GRU(opts);
      const Tmax = 6;
      const lengths = [6, 2, 4];
      const data = new Float32Array(Tmax * B * I);
      for (let i = 0; i < data.length; i++) data[i] = 2 * rng.uniform() - 1;
      const x = fromStorage(data.slice(), [Tmax, B, I], { requiresGrad: true });
      const batched = layer.forward(x, { lengths });
      const D2 = 2 * H;
      const out = batched.output.toFloat32Array(); // (Tmax, B, 2H)
      const hn = batched.h_n.toFloat32Array(); // (4, B, H)
      for (let b = 0; b < B; b++) {
        const L = lengths[b]!;
        const alone = new Float32Array(L * I);
        for (let t = 0; t < L; t++) alone.set(data.subarray((t * B + b) * I, (t * B + b + 1) * I), t * I);
        const r = noGrad(() => layer.forward(fromStorage(alone, [L, 1, I])));
        const o1 = r.output.toFloat32Array(); // (L, 1, 2H)
        for (let t = 0; t < Tmax; t++) {
          for (let j = 0; j < D2; j++) {
            const got = out[(t * B + b) * D2 + j]!;
            const want = t < L ? o1[t * D2 + j]! : 0;
            assert.ok(Math.abs(got - want) < 1e-5, `${kind} sequence ${b} step ${t} unit ${j}: batched ${got}, alone ${want}`);
          }
        }
        const h1 = r.h_n.toFloat32Array(); // (4, 1, H)
        for (let k = 0; k < 4; k++) {
          for (let j = 0; j < H; j++) {
            assert.ok(Math.abs(hn[(k * B + b) * H + j]! - h1[k * H + j]!) < 1e-5, `${kind} sequence ${b}: h_n[${k}] differs from running it alone`);
          }
        }
      }
      // The loss sees every output position (padded ones too) and h_n: padded inputs still get no gradient.
      const w = new Float32Array(Tmax * B * D2).map((_, i) => Math.sin(i));
      sum(mul(batched.output, fromStorage(w, [Tmax, B, D2]))).add(sum(batched.h_n)).backward();
      const gx = x.grad!.toFloat32Array();
      for (let t = 0; t < Tmax; t++) {
        for (let b = 0; b < B; b++) {
          let m = 0;
          for (let i = 0; i < I; i++) m = Math.max(m, Math.abs(gx[(t * B + b) * I + i]!));
          if (t >= lengths[b]!) assert.equal(m, 0, `${kind}: padded step ${t} of sequence ${b} got a gradient`);
          else assert.ok(m > 0, `${kind}: real step ${t} of sequence ${b} got no gradient`);
        }
      }
    });
  }

  test(`additiveScores (Bahdanau's vᵀ tanh(W s + U h)): gradients of keys, query and v match finite differences (${backend})`, () => {
    gradcheck((k, q, v) => additiveScores(k!, q!, v!), [leaf([2, 3, 5], 41, -2, 2), leaf([2, 5], 42), leaf([1, 5], 43)]);
    // and the value: e[b, j] = Σ_a v_a tanh(k + q), by hand for one entry
    const k = leaf([1, 1, 2], 44);
    const q = leaf([1, 2], 45);
    const v = leaf([2], 46);
    const [k0, k1] = k.toArray() as [number, number];
    const [q0, q1] = q.toArray() as [number, number];
    const [v0, v1] = v.toArray() as [number, number];
    assert.ok(Math.abs(additiveScores(k, q, v).item() - (v0 * Math.tanh(k0 + q0) + v1 * Math.tanh(k1 + q1))) < 1e-6);
  });

  test(`batchFirst and dropout between layers (${backend})`, () => {
    const rng = new Rng(3);
    const tm = new LSTM({ inputSize: I, hiddenSize: H, rng: new Rng(5) });
    const bf = new LSTM({ inputSize: I, hiddenSize: H, batchFirst: true, rng: new Rng(5) });
    const x = leaf([T, B, I], 31);
    const a = noGrad(() => tm.forward(x).output.toFloat32Array()); // (T, B, H)
    const b = noGrad(() => bf.forward(x.transpose(0, 1)).output); // (B, T, H)
    assert.deepEqual(b.shape, [B, T, H]);
    const bt = b.transpose(0, 1).toFloat32Array();
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - bt[i]!) < 1e-6);
    // dropout 0.5 between two layers: training outputs differ from eval outputs; eval is deterministic.
    const deep = new GRU({ inputSize: I, hiddenSize: H, numLayers: 2, dropout: 0.5, rng });
    const train1 = noGrad(() => deep.forward(x, { rng: new Rng(1) }).output.toFloat32Array());
    deep.eval();
    const e1 = noGrad(() => deep.forward(x).output.toFloat32Array());
    const e2 = noGrad(() => deep.forward(x).output.toFloat32Array());
    assert.deepEqual(e1, e2);
    assert.ok(train1.some((v, i) => Math.abs(v - e1[i]!) > 1e-4), 'dropout changed nothing while training');
  });
});
