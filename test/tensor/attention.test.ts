// The one attention op (src/tensor/attention.ts), on every backend, against attention computed the long way
// in float64 here — a full score matrix, the mask rules written out from their definitions, softmax, the
// weighted sum, and its backward by the chain rule — for every combination of options: causal, sliding
// window, query offset (cached prefix, and queries before the first key), key padding, head mask (H) and
// (B, H), additive bias shared by the batch or per entry, more or fewer queries than keys; and q, k, v given
// as separate tensors, as slices of one fused projection (their gradient is written straight into it), or
// as views of a larger cache-like tensor. Then finite differences for every input, bias and head mask included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { Rng, tensor, type Tensor } from '../../src/tensor/index.js';
import { forEachBackend } from '../_backends.js';
import { gradcheck, leaf } from './_gradcheck.js';

interface Case {
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  D: number;
  causal?: boolean;
  window?: number;
  queryOffset?: number;
  mask?: boolean;
  bias?: 'shared' | 'batch';
  headMask?: 'heads' | 'batch';
  scale?: number;
  layout?: 'separate' | 'fused' | 'cache';
}

const cases: Case[] = [
  { B: 1, H: 1, Tq: 1, Tk: 1, D: 1 },
  { B: 2, H: 3, Tq: 5, Tk: 5, D: 4 },
  { B: 2, H: 2, Tq: 7, Tk: 7, D: 8, causal: true, layout: 'fused' },
  { B: 1, H: 2, Tq: 9, Tk: 9, D: 16, causal: true, window: 3, layout: 'fused' },
  { B: 1, H: 1, Tq: 6, Tk: 6, D: 5, window: 2 },
  { B: 3, H: 2, Tq: 6, Tk: 6, D: 4, mask: true, layout: 'fused' },
  { B: 2, H: 2, Tq: 3, Tk: 11, D: 8, causal: true, mask: true, layout: 'cache' },
  { B: 1, H: 2, Tq: 1, Tk: 13, D: 64, causal: true, window: 5, layout: 'cache' },
  { B: 1, H: 1, Tq: 37, Tk: 37, D: 64, causal: true },
  { B: 2, H: 1, Tq: 4, Tk: 6, D: 3, mask: true },
  { B: 2, H: 2, Tq: 9, Tk: 4, D: 5, mask: true }, // cross-attention: more queries than keys
  { B: 2, H: 2, Tq: 6, Tk: 5, D: 4, causal: true, queryOffset: -2 }, // the first queries see no key at all
  { B: 1, H: 3, Tq: 4, Tk: 9, D: 4, causal: true, queryOffset: 2 }, // queries in the middle of the keys
  { B: 2, H: 3, Tq: 5, Tk: 7, D: 6, bias: 'shared', scale: 1 }, // T5: a position bias, no scaling
  { B: 2, H: 2, Tq: 6, Tk: 6, D: 4, bias: 'batch', causal: true, layout: 'fused' },
  { B: 2, H: 3, Tq: 4, Tk: 4, D: 4, headMask: 'heads', mask: true },
  { B: 2, H: 3, Tq: 5, Tk: 3, D: 7, headMask: 'batch', bias: 'shared' },
  { B: 3, H: 2, Tq: 8, Tk: 8, D: 12, causal: true, window: 4, mask: true, bias: 'batch', headMask: 'batch', layout: 'fused' },
];

function random(n: number, rng: Rng, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * (2 * rng.uniform() - 1);
  return a;
}

/**
 * Attention in float64 the long way for q, k, v given as (B, T, H, D) arrays: scores s_ij = scale·q_i·k_j +
 * bias_ij for visible keys (the mask rules from their definitions: query i at position p = offset + i sees key
 * j when j ≤ p if causal, p − j < window if windowed, and key j is not padding), softmax, out = ξ Σ p v. The
 * backward of L = Σ out·dOut by the chain rule.
 */
function longWay(c: Case, q: Float32Array, k: Float32Array, v: Float32Array, dOut: Float32Array, keyMask: Uint8Array | null, bias: Float32Array | null, xi: Float32Array | null, scale: number) {
  const { B, H, Tq, Tk, D } = c;
  const off = c.queryOffset ?? Tk - Tq;
  const at = (T: number, b: number, t: number, h: number): number => ((b * T + t) * H + h) * D;
  const out = new Float64Array(B * Tq * H * D);
  const weights = new Float64Array(B * H * Tq * Tk);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  const dBias = new Float64Array(bias ? bias.length : 0);
  const dXi = new Float64Array(B * H);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const x = xi ? (xi.length === H ? xi[h]! : xi[b * H + h]!) : 1;
      for (let i = 0; i < Tq; i++) {
        const pos = off + i;
        const visible = (j: number): boolean => {
          if (c.causal && j > pos) return false;
          if (c.window && pos - j >= c.window) return false;
          if (keyMask && keyMask[b * Tk + j] === 0) return false;
          return true;
        };
        const biasAt = (j: number): number => (bias ? ((c.bias === 'shared' ? 0 : b) * H + h) * Tq * Tk + i * Tk + j : -1);
        const s = new Float64Array(Tk).fill(-Infinity);
        for (let j = 0; j < Tk; j++) {
          if (!visible(j)) continue;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[at(Tq, b, i, h) + d]! * k[at(Tk, b, j, h) + d]!;
          s[j] = scale * dot + (bias ? bias[biasAt(j)]! : 0);
        }
        const mx = Math.max(...s);
        if (mx === -Infinity) continue; // sees nothing: out 0, no gradient
        let z = 0;
        for (let j = 0; j < Tk; j++) z += Math.exp(s[j]! - mx);
        const p = Array.from(s, (sj) => Math.exp(sj - mx) / z);
        const o = new Float64Array(D); // Σ p v before the head mask
        for (let j = 0; j < Tk; j++) for (let d = 0; d < D; d++) o[d] += p[j]! * v[at(Tk, b, j, h) + d]!;
        for (let j = 0; j < Tk; j++) weights[((b * H + h) * Tq + i) * Tk + j] = x * p[j]!;
        for (let d = 0; d < D; d++) out[at(Tq, b, i, h) + d] = x * o[d]!;
        // Backward: dξ = dOut·o; do = ξ dOut; dp_j = do·v_j; ds_j = p_j (dp_j − Σ p dp).
        const g = Array.from({ length: D }, (_, d) => dOut[at(Tq, b, i, h) + d]!);
        dXi[b * H + h] += g.reduce((acc, gd, d) => acc + gd * o[d]!, 0);
        const dp = p.map((_, j) => g.reduce((acc, gd, d) => acc + x * gd * v[at(Tk, b, j, h) + d]!, 0));
        const pdp = p.reduce((acc, pj, j) => acc + pj * dp[j]!, 0);
        for (let j = 0; j < Tk; j++) {
          if (p[j] === 0) continue;
          const ds = p[j]! * (dp[j]! - pdp);
          if (bias) dBias[biasAt(j)] += ds;
          for (let d = 0; d < D; d++) {
            dv[at(Tk, b, j, h) + d] += x * p[j]! * g[d]!;
            dq[at(Tq, b, i, h) + d] += scale * ds * k[at(Tk, b, j, h) + d]!;
            dk[at(Tk, b, j, h) + d] += scale * ds * q[at(Tq, b, i, h) + d]!;
          }
        }
      }
    }
  }
  return { out, weights, dq, dk, dv, dBias, dXi };
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)))) assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

/** q, k, v leaves (B, T, H, D) in the case's layout; returns the tensors to attend with and the leaves. */
function inputs(c: Case, qd: Float32Array, kd: Float32Array, vd: Float32Array): { q: Tensor; k: Tensor; v: Tensor; grads: () => [Float32Array, Float32Array, Float32Array] } {
  const { B, H, Tq, Tk, D } = c;
  const C = H * D;
  if (c.layout === 'fused') {
    // One (B, T, 3C) tensor, as a fused projection makes it: q, k, v are slices, viewed as (B, T, H, D).
    const packed = new Float32Array(B * Tq * 3 * C);
    for (let r = 0; r < B * Tq; r++) {
      packed.set(qd.subarray(r * C, (r + 1) * C), r * 3 * C);
      packed.set(kd.subarray(r * C, (r + 1) * C), r * 3 * C + C);
      packed.set(vd.subarray(r * C, (r + 1) * C), r * 3 * C + 2 * C);
    }
    const qkv = tensor(packed, [B, Tq, 3 * C], { requiresGrad: true });
    const part = (i: number): Tensor => qkv.slice(2, i * C, (i + 1) * C).reshape(B, Tq, H, D);
    const unpack = (i: number): Float32Array => {
      const g = qkv.grad!.toFloat32Array();
      const o = new Float32Array(B * Tq * C);
      for (let r = 0; r < B * Tq; r++) o.set(g.subarray(r * 3 * C + i * C, r * 3 * C + (i + 1) * C), r * C);
      return o;
    };
    return { q: part(0), k: part(1), v: part(2), grads: () => [unpack(0), unpack(1), unpack(2)] };
  }
  if (c.layout === 'cache') {
    // k and v are the first Tk positions of (B, Tk + 3, H, D) tensors (a cache with spare room).
    const pad = (d: Float32Array): Float32Array => {
      const o = new Float32Array(B * (Tk + 3) * C).fill(9);
      for (let b = 0; b < B; b++) o.set(d.subarray(b * Tk * C, (b + 1) * Tk * C), b * (Tk + 3) * C);
      return o;
    };
    const q = tensor(qd, [B, Tq, H, D], { requiresGrad: true });
    const kk = tensor(pad(kd), [B, Tk + 3, H, D], { requiresGrad: true });
    const vv = tensor(pad(vd), [B, Tk + 3, H, D], { requiresGrad: true });
    const first = (t: Tensor): Float32Array => t.grad!.slice(1, 0, Tk).contiguous().toFloat32Array();
    const rest = (t: Tensor): boolean => t.grad!.slice(1, Tk, Tk + 3).toArray().every((x) => x === 0);
    return {
      q, k: kk.slice(1, 0, Tk), v: vv.slice(1, 0, Tk),
      grads: () => {
        assert.ok(rest(kk) && rest(vv), 'positions past Tk get no gradient');
        return [q.grad!.toFloat32Array(), first(kk), first(vv)];
      },
    };
  }
  const q = tensor(qd, [B, Tq, H, D], { requiresGrad: true });
  const k = tensor(kd, [B, Tk, H, D], { requiresGrad: true });
  const v = tensor(vd, [B, Tk, H, D], { requiresGrad: true });
  return { q, k, v, grads: () => [q.grad!.toFloat32Array(), k.grad!.toFloat32Array(), v.grad!.toFloat32Array()] };
}

forEachBackend((name) => {
  test(`attention matches float64 attention computed the long way, forward and backward, every option (${name})`, () => {
    const rng = new Rng(4);
    for (const c of cases) {
      const { B, H, Tq, Tk, D } = c;
      if (c.layout === 'fused' && Tq !== Tk) throw new Error('fused layout needs Tq = Tk');
      const qd = random(B * Tq * H * D, rng);
      const kd = random(B * Tk * H * D, rng);
      const vd = random(B * Tk * H * D, rng);
      const dOut = random(B * Tq * H * D, rng);
      let keyMask: Uint8Array | null = null;
      if (c.mask) {
        keyMask = new Uint8Array(B * Tk);
        for (let i = 0; i < keyMask.length; i++) keyMask[i] = rng.uniform() < 0.7 ? 1 : 0;
        keyMask.fill(0, 0, Tk); // batch 0 entirely padded: every row fully masked
      }
      const biasData = c.bias ? random((c.bias === 'shared' ? 1 : B) * H * Tq * Tk, rng, 2) : null;
      const xiData = c.headMask ? Float32Array.from({ length: c.headMask === 'heads' ? H : B * H }, (_, i) => (i % 3 === 2 ? 0 : 0.5 + rng.uniform())) : null;
      const scale = c.scale ?? 1 / Math.sqrt(D);
      const ref = longWay(c, qd, kd, vd, dOut, keyMask, biasData, xiData, scale);

      const { q, k, v, grads } = inputs(c, qd, kd, vd);
      const bias = biasData ? tensor(biasData, [c.bias === 'shared' ? 1 : B, H, Tq, Tk], { requiresGrad: true }) : undefined;
      const headMask = xiData ? tensor(xiData, c.headMask === 'heads' ? [H] : [B, H], { requiresGrad: true }) : undefined;
      const opts: T.AttentionOptions = { returnWeights: true };
      if (c.causal) opts.causal = true;
      if (c.window) opts.window = c.window;
      if (c.queryOffset !== undefined) opts.queryOffset = c.queryOffset;
      if (keyMask) opts.keyMask = keyMask;
      if (c.scale !== undefined) opts.scale = c.scale;
      if (bias) opts.bias = bias;
      if (headMask) opts.headMask = headMask;
      const { out, weights } = T.attention(q, k, v, opts);
      const what = `${name} attention ${JSON.stringify(c)}`;
      assert.deepEqual(out.shape, [B, Tq, H, D], `${what}: out shape`);
      close(out.toFloat32Array(), ref.out, 1e-5, `${what} out`);
      close(weights!.toFloat32Array(), ref.weights, 1e-5, `${what} weights`);
      out.backward(tensor(dOut, [B, Tq, H, D]));
      const [dq, dk, dv] = grads();
      close(dq, ref.dq, 1e-4, `${what} dq`);
      close(dk, ref.dk, 1e-4, `${what} dk`);
      close(dv, ref.dv, 1e-4, `${what} dv`);
      if (bias) close(bias.grad!.toFloat32Array(), ref.dBias, 1e-4, `${what} dBias`);
      if (headMask) {
        const want = c.headMask === 'heads' ? Array.from({ length: H }, (_, h) => Array.from({ length: B }, (_, b) => ref.dXi[b * H + h]!).reduce((a, x) => a + x, 0)) : ref.dXi;
        close(headMask.grad!.toFloat32Array(), want, 1e-4, `${what} dHeadMask`);
      }
    }
  });

  test(`scaledDotProductAttention (B, H, T, D) is attention on transposed views (${name})`, () => {
    const q = leaf([2, 3, 4, 5], 1);
    const k = leaf([2, 3, 6, 5], 2);
    const v = leaf([2, 3, 6, 5], 3);
    const a = T.scaledDotProductAttention(q, k, v, { causal: true }).out; // (B, H, Tq, D)
    // Independent path: the same numbers laid out (B, T, H, D) by copying.
    const t = (x: Tensor): Tensor => tensor(x.transpose(1, 2).contiguous().toFloat32Array(), [x.shape[0]!, x.shape[2]!, x.shape[1]!, x.shape[3]!]);
    const b = T.attention(t(q), t(k), t(v), { causal: true }).out.transpose(1, 2).contiguous();
    assert.deepEqual(a.shape, [2, 3, 4, 5]);
    close(a.toFloat32Array(), b.toFloat32Array(), 1e-6, 'sdpa vs attention');
  });

  test(`attention gradients by finite differences: q, k, v, bias and head mask (${name})`, () => {
    const q = leaf([2, 4, 2, 3], 70);
    const k = leaf([2, 4, 2, 3], 71);
    const v = leaf([2, 4, 2, 3], 72);
    const at = (opts: T.AttentionOptions) => (a: Tensor, b: Tensor, c: Tensor) => T.attention(a, b, c, opts).out;
    gradcheck(at({}), [q, k, v]);
    gradcheck(at({ causal: true }), [q, k, v]);
    gradcheck(at({ causal: true, window: 2 }), [q, k, v]);
    gradcheck(at({ keyMask: tensor([1, 1, 0, 1, 0, 1, 1, 1], [2, 4], { dtype: 'int32' }) }), [q, k, v]);
    gradcheck(at({ causal: true, scale: 0.9, queryOffset: 1 }), [q, k, v]);
    // Cross-attention with more queries than keys.
    const kShort = leaf([2, 3, 2, 3], 73);
    const vShort = leaf([2, 3, 2, 3], 74);
    gradcheck(at({}), [q, kShort, vShort]);
    // Bias (shared and per batch entry) and head mask get gradients too.
    const biasShared = leaf([1, 2, 4, 4], 75, -2, 2);
    const biasBatch = leaf([2, 2, 4, 4], 76, -2, 2);
    gradcheck((a, b, c, bias) => T.attention(a, b, c, { causal: true, bias }).out, [q, k, v, biasShared]);
    gradcheck((a, b, c, bias) => T.attention(a, b, c, { bias }).out, [q, k, v, biasBatch]);
    const xiH = leaf([2], 77, 0.5, 1.5);
    const xiBH = leaf([2, 2], 78, 0.5, 1.5);
    gradcheck((a, b, c, xi) => T.attention(a, b, c, { causal: true, headMask: xi }).out, [q, k, v, xiH]);
    gradcheck((a, b, c, xi, bias) => T.attention(a, b, c, { headMask: xi, bias }).out, [q, k, v, xiBH, biasShared]);
    // A head mask of 0 still has a gradient (Michel et al.'s importance is measured at any ξ).
    const xiZero = tensor([0, 1], [2], { requiresGrad: true });
    gradcheck((a, b, c, xi) => T.attention(a, b, c, { headMask: xi }).out, [q, k, v, xiZero]);
    // With dropout the mask is a function of the seed, so a fixed generator makes it a fixed function.
    gradcheck((a, b, c) => T.attention(a, b, c, { causal: true, dropoutP: 0.25, rng: new Rng(3) }).out, [q, k, v]);
  });

  test(`q, k, v sliced out of one fused projection: finite differences on the projection (${name})`, () => {
    const qkv = leaf([2, 4, 3 * 6], 83); // C = 6: 2 heads of 3
    const mask = new Uint8Array([1, 1, 1, 1, 1, 0, 1, 1]);
    const split = (x: Tensor): [Tensor, Tensor, Tensor] => [0, 1, 2].map((i) => x.slice(2, 6 * i, 6 * (i + 1)).reshape(2, 4, 2, 3)) as [Tensor, Tensor, Tensor];
    for (const opts of [{ causal: true }, { causal: true, window: 2 }, { keyMask: mask }, { causal: true, scale: 0.7 }] as T.AttentionOptions[]) {
      gradcheck((x) => T.attention(...split(x), opts).out, [qkv]);
      gradcheck((x) => T.attention(...split(x), { ...opts, dropoutP: 0.3, rng: new Rng(8) }).out, [qkv]);
    }
    // Overlapping views (q and k the same slice) cannot share one gradient buffer: each gets its own.
    gradcheck((x) => {
      const [q, , v] = split(x);
      return T.attention(q, q, v, { causal: true }).out;
    }, [qkv]);
  });

  test(`bad input names the shape or value (${name})`, () => {
    const q = leaf([1, 2, 2, 3], 1);
    const k = leaf([1, 3, 2, 3], 2);
    assert.throws(() => T.attention(q, k, leaf([1, 3, 2, 4], 3)), /q \[1, 2, 2, 3\], k \[1, 3, 2, 3\] and v \[1, 3, 2, 4\] do not fit; expected k and v of shape \[1, 3, 2, 3\]/);
    assert.throws(() => T.attention(q, k, k, { bias: leaf([1, 2, 2, 2], 4) }), /bias has shape \[1, 2, 2, 2\], expected \(1 or B, H, Tq, Tk\) = \[1 or 1, 2, 2, 3\]/);
    assert.throws(() => T.attention(q, k, k, { headMask: new Float32Array(3) }), /headMask has 3 values, expected \(H\) = \[2\] or \(B, H\) = \[1, 2\]/);
    assert.throws(() => T.attention(q, k, k, { keyMask: new Uint8Array(2) }), /keyMask has 2 entries, expected B·Tk = 1·3 = 3/);
    assert.throws(() => T.attention(q, k, k, { window: -1 }), /window must be a non-negative integer, got -1/);
    assert.throws(() => T.attention(leaf([2, 3], 5), k, k), /q must be \(B, T, H, D\), got shape \[2, 3\]/);
  });
});
