// Finite-difference gradient checks for every differentiable op, on every registered backend.
// Inputs are small (≤ ~100 elements) so each check is a few milliseconds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { Rng, tensor, type Tensor } from '../../src/tensor/index.js';
import { forEachBackend } from '../_backends.js';
import { gradcheck, leaf, leafAwayFromZero } from './_gradcheck.js';

const ids = (values: number[], shape: number[]): Tensor => tensor(values, shape, { dtype: 'int32' });

forEachBackend(() => {
  // ---- elementwise, with broadcasting and strided inputs ----
  test('add/sub/mul/div, same shape', () => {
    const a = leaf([3, 4], 1);
    const b = leafAwayFromZero([3, 4], 2);
    gradcheck(T.add, [a, b]);
    gradcheck(T.sub, [a, b]);
    gradcheck(T.mul, [a, b]);
    gradcheck(T.div, [a, b]);
  });

  test('add/sub/mul/div with broadcasting: (2,3,4)∘(4), (2,1,4)∘(3,1), (4)∘(2,3,1)', () => {
    const cases: [number[], number[]][] = [
      [[2, 3, 4], [4]],
      [[2, 1, 4], [3, 1]],
      [[4], [2, 3, 1]],
      [[2, 3, 4], [2, 3, 4]],
    ];
    cases.forEach(([sa, sb], i) => {
      const a = leaf(sa, 10 + i);
      const b = leafAwayFromZero(sb, 20 + i);
      for (const op of [T.add, T.sub, T.mul, T.div]) gradcheck(op, [a, b]);
    });
  });

  test('arithmetic with a number on either side', () => {
    const a = leafAwayFromZero([2, 3], 3);
    gradcheck((x) => T.add(x, 2.5), [a]);
    gradcheck((x) => T.sub(1, x), [a]);
    gradcheck((x) => T.mul(x, -3), [a]);
    gradcheck((x) => T.div(2, x), [a]);
    gradcheck((x) => x.div(4), [a]);
  });

  test('elementwise ops on non-contiguous views (transpose, slice, expand)', () => {
    const a = leaf([3, 4], 4);
    const b = leafAwayFromZero([4, 3], 5);
    gradcheck((x, y) => T.mul(x.transpose(0, 1), y), [a, b]);
    gradcheck((x, y) => T.div(x.slice(1, 1, 3), y.slice(0, 0, 2).transpose(0, 1).slice(0, 0, 3)), [a, b]);
    gradcheck((x) => T.add(x.slice(0, 0, 1).expand(5, 4), 1).exp(), [a]);
  });

  test('unary ops: neg exp log sqrt pow tanh relu sigmoid', () => {
    const x = leaf([2, 5], 6);
    const pos = leaf([2, 5], 7, 0.5, 2);
    const kinked = leafAwayFromZero([2, 5], 8);
    gradcheck(T.neg, [x]);
    gradcheck(T.exp, [x]);
    gradcheck(T.log, [pos]);
    gradcheck(T.sqrt, [pos]);
    gradcheck((v) => T.pow(v, 2), [x]);
    gradcheck((v) => T.pow(v, 3), [x]);
    gradcheck((v) => T.pow(v, 0.5), [pos]);
    gradcheck((v) => T.pow(v, -1.5), [pos]);
    gradcheck(T.tanh, [x]);
    gradcheck(T.relu, [kinked]);
    gradcheck(T.sigmoid, [x]);
    gradcheck((v) => v.transpose(0, 1).exp(), [x]);
  });

  test('gelu, tanh approximation and exact (erf)', () => {
    const x = leaf([3, 7], 9, -3, 3);
    gradcheck((v) => T.gelu(v, 'tanh'), [x]);
    gradcheck((v) => T.gelu(v, 'none'), [x]);
    gradcheck((v) => v.gelu(), [x]);
  });

  // ---- reductions ----
  test('sum and mean: all dims, one dim, several dims, keepdim, negative dims', () => {
    const x = leaf([2, 3, 4], 11);
    for (const op of [T.sum, T.mean]) {
      gradcheck((v) => op(v), [x]);
      gradcheck((v) => op(v, 1), [x]);
      gradcheck((v) => op(v, -1, true), [x]);
      gradcheck((v) => op(v, [0, 2]), [x]);
      gradcheck((v) => op(v, [0, 2], true), [x]);
      gradcheck((v) => op(v.transpose(0, 2), 1), [x]);
    }
  });

  test('max over dims (gradient to the argmax)', () => {
    // Well-separated distinct values so ±h never changes the argmax.
    const rng = new Rng(12);
    const vals = Array.from({ length: 24 }, (_, i) => i * 0.1);
    for (let i = vals.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [vals[i], vals[j]] = [vals[j], vals[i]];
    }
    const x = tensor(vals, [2, 3, 4], { requiresGrad: true });
    gradcheck((v) => T.max(v), [x], { h: 1e-3 });
    gradcheck((v) => T.max(v, 1), [x], { h: 1e-3 });
    gradcheck((v) => T.max(v, -1, true), [x], { h: 1e-3 });
    gradcheck((v) => T.max(v, [0, 2]), [x], { h: 1e-3 });
  });

  // ---- softmax family, layerNorm, crossEntropy, dropout ----
  test('softmax and logSoftmax: last dim, other dims, non-contiguous input', () => {
    const x = leaf([2, 3, 5], 13, -2, 2);
    for (const op of [T.softmax, T.logSoftmax]) {
      gradcheck((v) => op(v), [x]);
      gradcheck((v) => op(v, 0), [x]);
      gradcheck((v) => op(v, 1), [x]);
      gradcheck((v) => op(v.transpose(1, 2), -1), [x]);
    }
  });

  test('softmax with fully masked (−∞) rows gives zeros and zero gradient', () => {
    const x = leaf([3, 4], 14);
    const mask = tensor([0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1], [3, 4], { dtype: 'int32' });
    gradcheck((v) => T.softmax(T.maskedFill(v, mask, -Infinity)), [x]);
  });

  test('layerNorm with and without affine parameters, 2-D and 3-D', () => {
    const x = leaf([2, 3, 6], 15, -2, 2);
    const w = leaf([6], 16, 0.5, 1.5);
    const b = leaf([6], 17);
    gradcheck((v, ww, bb) => T.layerNorm(v, ww, bb, 1e-5), [x, w, b]);
    gradcheck((v) => T.layerNorm(v, null, null, 1e-5), [x]);
    gradcheck((v, ww, bb) => T.layerNorm(v.transpose(0, 1), ww, bb, 1e-5), [x, w, b]);
  });

  test('rmsNorm with and without a weight, and on a non-contiguous input', () => {
    const x = leaf([2, 3, 6], 19, -2, 2);
    const w = leaf([6], 20, 0.5, 1.5);
    gradcheck((v, ww) => T.rmsNorm(v, ww, 1e-6), [x, w]);
    gradcheck((v) => T.rmsNorm(v, null, 1e-6), [x]);
    gradcheck((v, ww) => T.rmsNorm(v.transpose(0, 1), ww, 1e-6), [x, w]);
  });

  test('silu', () => {
    gradcheck(T.silu, [leaf([3, 5], 21, -4, 4)]);
  });

  test('crossEntropy: mean/sum/none, ignoreIndex, label smoothing, (B, T, V) logits', () => {
    const logits = leaf([5, 7], 18, -2, 2);
    const t = ids([3, 0, -100, 6, 2], [5]);
    gradcheck((v) => T.crossEntropy(v, t), [logits]);
    gradcheck((v) => T.crossEntropy(v, t, { reduction: 'sum' }), [logits]);
    gradcheck((v) => T.crossEntropy(v, t, { reduction: 'none' }), [logits]);
    gradcheck((v) => T.crossEntropy(v, t, { labelSmoothing: 0.1 }), [logits]);
    gradcheck((v) => T.crossEntropy(v, ids([3, 0, 5, 6, 5], [5]), { ignoreIndex: 5, labelSmoothing: 0.2 }), [logits]);
    const l3 = leaf([2, 3, 4], 19, -2, 2);
    gradcheck((v) => T.crossEntropy(v, ids([0, 1, 2, 3, -100, 1], [2, 3]), { labelSmoothing: 0.05 }), [l3]);
  });

  test('addLayerNorm: LN(dropout(x) + residual), with and without dropout and affine parameters', () => {
    const x = leaf([3, 4, 8], 31);
    const r = leaf([3, 4, 8], 32, 1, 3);
    const w = leaf([8], 33, 0.5, 1.5);
    const b = leaf([8], 34);
    gradcheck((v, res, ww, bb) => T.addLayerNorm(v, res, ww, bb, 1e-5), [x, r, w, b]);
    gradcheck((v, res, ww, bb) => T.addLayerNorm(v, res, ww, bb, 1e-5, { dropout: 0.3, rng: new Rng(9) }), [x, r, w, b]);
    gradcheck((v, res) => T.addLayerNorm(v, res, null, null, 1e-5, { dropout: 0.5, rng: new Rng(3) }), [x, r]);
  });

  test('addLayerNorm equals layerNorm(add(dropout(x), residual)) for the same seed', () => {
    const x = leaf([5, 16], 35);
    const r = leaf([5, 16], 36);
    const w = leaf([16], 37, 0.5, 1.5);
    const b = leaf([16], 38);
    const fused = T.addLayerNorm(x, r, w, b, 1e-5, { dropout: 0.4, rng: new Rng(11) });
    const chain = T.layerNorm(T.add(T.dropout(x, 0.4, { rng: new Rng(11) }), r), w, b, 1e-5);
    const a = fused.toArray();
    const e = chain.toArray();
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - e[i]!) < 1e-5, `element ${i}: ${a[i]} vs ${e[i]}`);
  });

  test('dropout (fixed seed gives the same mask each evaluation)', () => {
    const x = leaf([4, 6], 20);
    gradcheck((v) => T.dropout(v, 0.3, { rng: new Rng(7) }), [x]);
  });

  // ---- shape ops ----
  test('reshape (view and copy), permute, transpose, slice, expand, unsqueeze, squeeze, contiguous', () => {
    const x = leaf([2, 3, 4], 21);
    gradcheck((v) => v.reshape(6, 4).exp(), [x]);
    gradcheck((v) => v.transpose(1, 2).reshape(-1).exp(), [x]); // not viewable: copies
    gradcheck((v) => v.permute(2, 0, 1).exp(), [x]);
    gradcheck((v) => v.slice(2, 1, -1).exp(), [x]);
    gradcheck((v) => v.slice(1, -2).slice(0, 1).exp(), [x]);
    gradcheck((v) => v.slice(2, 0, 1).expand(2, 3, 5).exp(), [x]);
    gradcheck((v) => v.unsqueeze(1).squeeze(1).unsqueeze(3).exp(), [x]);
    gradcheck((v) => v.transpose(0, 2).contiguous().exp(), [x]);
  });

  test('cat, split, stack', () => {
    const a = leaf([2, 3], 22);
    const b = leaf([2, 2], 23);
    const c = leaf([2, 3], 24);
    gradcheck((x, y) => T.cat([x, y], 1).exp(), [a, b]);
    gradcheck((x, z) => T.cat([x, z, x], 0).exp(), [a, c]);
    gradcheck((x) => {
      const [p, q] = T.split(x, [1, 2], 1);
      return T.mul(p, q.sum(1, true)).add(q.slice(1, 1).exp());
    }, [a]);
    gradcheck((x, z) => T.stack([x, z], 1).exp(), [a, c]);
    gradcheck((x, z) => T.stack([x.transpose(0, 1), z.transpose(0, 1)], 2).exp(), [a, c]);
  });

  // ---- selection and indexing ----
  test('maskedFill and where (broadcast masks, number branches)', () => {
    const x = leaf([2, 3, 4], 25);
    const y = leaf([3, 1], 26);
    const mask = tensor([1, 0, 0, 1], [4], { dtype: 'int32' });
    const cond = tensor([1, 0, 1, 0, 0, 1], [2, 3, 1]);
    gradcheck((v) => T.maskedFill(v, mask, 0.5).exp(), [x]);
    gradcheck((v, w) => T.where(cond, v, w), [x, y]);
    gradcheck((v) => T.where(cond, 2, v), [x]);
  });

  test('embedding (repeated ids scatter-add), gather, indexSelect', () => {
    const w = leaf([5, 3], 27);
    gradcheck((ww) => T.embedding(ww, ids([1, 4, 1, 0, 4, 4], [2, 3])), [w]);
    const x = leaf([3, 4], 28);
    gradcheck((v) => T.gather(v, 1, ids([0, 3, 3, 1, 2, 2], [3, 2])), [x]);
    gradcheck((v) => T.gather(v, 0, ids([2, 0, 1, 1, 0, 0, 2, 2], [2, 4])), [x]);
    gradcheck((v) => T.indexSelect(v, 0, ids([2, 0, 2], [3])), [x]);
    gradcheck((v) => T.indexSelect(v, 1, ids([3, 3, 1], [3])), [x]);
    // Distinct indices take another backward (a copy per slice, zeros where nothing was picked).
    gradcheck((v) => T.indexSelect(v, 0, ids([2, 0], [2])), [x]);
    gradcheck((v) => T.indexSelect(v, 1, ids([3, 0, 1], [3])), [x]);
    gradcheck((v) => T.mul(T.indexSelect(v, 1, ids([2], [1])), T.indexSelect(v, 1, ids([0, 2], [2]))), [x]); // two picks add up
  });

  // ---- matmul and linear (backend kernels) ----
  test('matmul: 2-D, batched, shared B (folded), shared A, partial batch broadcast, vectors', () => {
    gradcheck(T.matmul, [leaf([3, 4], 30), leaf([4, 5], 31)]);
    gradcheck(T.matmul, [leaf([2, 3, 4], 32), leaf([2, 4, 5], 33)]);
    gradcheck(T.matmul, [leaf([2, 3, 4], 34), leaf([4, 5], 35)]);
    gradcheck(T.matmul, [leaf([3, 4], 36), leaf([2, 4, 5], 37)]);
    gradcheck(T.matmul, [leaf([2, 1, 3, 4], 38), leaf([1, 2, 4, 2], 39)]);
    gradcheck(T.matmul, [leaf([4], 40), leaf([4, 3], 41)]);
    gradcheck(T.matmul, [leaf([3, 4], 42), leaf([4], 43)]);
    gradcheck(T.matmul, [leaf([4], 44), leaf([4], 45)]);
    gradcheck(T.matmul, [leaf([4], 46), leaf([2, 4, 3], 47)]);
  });

  test('matmul on transposed and sliced views (transpose flags and copies)', () => {
    const a = leaf([4, 3], 50);
    const b = leaf([5, 4], 51);
    gradcheck((x, y) => T.matmul(x.transpose(0, 1), y.transpose(0, 1)), [a, b]);
    const ab = leaf([2, 4, 3], 52);
    const bb = leaf([2, 5, 4], 53);
    gradcheck((x, y) => T.matmul(x.transpose(1, 2), y.transpose(-1, -2)), [ab, bb]);
    gradcheck((x, y) => T.matmul(x.transpose(1, 2), y.transpose(-1, -2).slice(2, 1, 4)), [ab, bb]);
    gradcheck((x, y) => T.matmul(x.slice(1, 0, 2).transpose(1, 2), y.slice(1, 1, 3)), [ab, bb]);
    const q = leaf([2, 3, 2, 4], 54); // (B, T, nh, hs) viewed as (B, nh, T, hs) like attention heads
    gradcheck((x) => T.matmul(x.transpose(1, 2), x.transpose(1, 2).transpose(-1, -2)), [q]);
  });

  test('linear: both layouts, with and without bias, 3-D and non-contiguous input', () => {
    const x = leaf([2, 3, 4], 60);
    const wOutIn = leaf([5, 4], 61);
    const wInOut = leaf([4, 5], 62);
    const b = leaf([5], 63);
    gradcheck((v, w, bb) => T.linear(v, w, bb, 'out_in'), [x, wOutIn, b]);
    gradcheck((v, w, bb) => T.linear(v, w, bb, 'in_out'), [x, wInOut, b]);
    gradcheck((v, w) => T.linear(v, w, null, 'out_in'), [x, wOutIn]);
    gradcheck((v, w) => T.linear(v, w, undefined, 'in_out'), [x, wInOut]);
    const xt = leaf([4, 3], 64);
    gradcheck((v, w, bb) => T.linear(v.transpose(0, 1), w, bb, 'in_out'), [xt, wInOut, b]);
    gradcheck((v, w, bb) => T.linear(v, w.transpose(0, 1), bb, 'out_in'), [x, wInOut, b]);
  });

  // ---- attention: see attention.test.ts (long-way float64 reference and finite differences for every option) ----

  test('large tensors (gradient buffers recycled within the pass): directional derivatives match finite differences', () => {
    // Three GPT-like blocks whose activations and gradients (64 × 96 = 6144 floats and more) are big enough
    // for the backward pass to reuse buffers from block to block. For each leaf p and a random direction v,
    // Σ ∇p·v must equal (L(p + εv) − L(p − εv)) / 2ε, with L = Σ out·w summed in float64.
    const x = leaf([2, 32, 96], 400);
    const params = [0, 1, 2].flatMap((i) => [
      leaf([96, 288], 410 + i, -0.1, 0.1), leaf([96, 96], 420 + i, -0.1, 0.1), // c_attn, c_proj (in, out)
      leaf([96, 192], 430 + i, -0.1, 0.1), leaf([192], 440 + i, -0.1, 0.1), leaf([192, 96], 450 + i, -0.1, 0.1), // mlp
      leaf([96], 460 + i, 0.5, 1.5), leaf([96], 470 + i, -0.1, 0.1), // layer norm
    ]);
    const wOut = leaf([2, 32, 96], 480).detach().toFloat32Array();
    const f = (): Tensor => {
      let h = x;
      for (let i = 0; i < 3; i++) {
        const [wa, wp, w1, b1, w2, g, b] = params.slice(7 * i, 7 * i + 7) as Tensor[];
        const qkv = T.linear(T.layerNorm(h, g!, b!), wa!, null, 'in_out'); // (2, 32, 288): q, k, v side by side
        const [q, k, v] = [0, 1, 2].map((j) => qkv.slice(2, 96 * j, 96 * (j + 1)).reshape(2, 32, 4, 24));
        const a = T.attention(q!, k!, v!, { causal: true }).out.reshape(2, 32, 96);
        h = T.add(h, T.linear(a, wp!, null, 'in_out'));
        h = T.add(h, T.linear(T.gelu(T.linear(T.layerNorm(h, g!, b!), w1!, b1!, 'in_out')), w2!, null, 'in_out'));
      }
      return h;
    };
    const loss = (): number => {
      const o = f().toFloat32Array();
      let sum = 0;
      for (let i = 0; i < o.length; i++) sum += o[i]! * wOut[i]!;
      return sum;
    };
    f().backward(tensor(wOut, [2, 32, 96]));
    const rng = new Rng(490);
    for (const [i, p] of [x, ...params].entries()) {
      const grad = p.grad!.toFloat32Array();
      const data = p.data as Float32Array;
      const v = Float32Array.from({ length: data.length }, () => rng.uniform() * 2 - 1);
      let analytic = 0;
      for (let j = 0; j < v.length; j++) analytic += grad[j]! * v[j]!;
      // ε small enough that the softmax's curvature does not show (at 1e-2 it does, by a few %), large
      // enough that float32 rounding of L stays far below the tolerance.
      const eps = 1e-3;
      const saved = data.slice();
      // Writing into a parameter's storage: bump its version, as an optimizer step does (packed weights).
      for (let j = 0; j < v.length; j++) data[j] = saved[j]! + eps * v[j]!;
      p.version++;
      const up = T.noGrad(loss);
      for (let j = 0; j < v.length; j++) data[j] = saved[j]! - eps * v[j]!;
      p.version++;
      const down = T.noGrad(loss);
      data.set(saved);
      p.version++;
      const numeric = (up - down) / (2 * eps);
      assert.ok(Math.abs(numeric - analytic) <= 2e-2 * Math.max(1, Math.abs(analytic)), `leaf ${i}: Σ∇·v = ${analytic}, finite difference ${numeric}`);
    }
  });

  test('a composed expression: gradient accumulates over a tensor used several times', () => {
    const x = leaf([3, 4], 90);
    const w = leaf([4, 4], 91);
    gradcheck((a, b) => {
      const h = T.tanh(T.matmul(a, b)); // (3, 4)
      return T.add(T.mul(h, a), T.softmax(h.mul(a), 0)).sum(1);
    }, [x, w]);
  });
});
