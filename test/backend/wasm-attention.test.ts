// WebAssembly fused attention (forward with optional weights, and backward) against the reference backend:
// causal, sliding window, key padding, additive bias (shared by the batch or per entry), head masks (H) and
// (B, H), dropout, fewer or more queries than keys, head sizes that are not a multiple of 4, rows that see no
// key at all, and three operand layouts (separate dense arrays, q/k/v sliced out of one fused projection, a
// preallocated KV cache with spare capacity); for both kernel builds with 1 and 2 threads. Plus one case
// worked out by hand from the softmax formula.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  attentionMaskRanges,
  dropKeeps,
  dropThreshold,
  lowbias32,
  type AttentionGrads,
  type AttentionSpec,
  type AttnOperand,
} from '../../src/backend/backend.js';
import type { Backend } from '../../src/backend/index.js';
import { assertClose, maxAbs, randomArray, reference, rng, wasmBackend, wasmConfigs } from './_wasm.js';

// [B, H, Tq, Tk, D]: odd sizes around the kernel's blocks (4 query rows, 64 keys, 4 floats of D).
const shapes: [number, number, number, number, number][] = [
  [1, 1, 1, 1, 1],
  [1, 2, 3, 7, 5],
  [2, 3, 17, 17, 8],
  [1, 2, 7, 130, 64], // few queries against many keys (decoding with a cache)
  [2, 2, 9, 4, 6], // more queries than keys (cross-attention to a short source)
  [2, 2, 70, 70, 17],
  [1, 1, 127, 127, 4],
  [2, 4, 64, 64, 32], // big enough to run on several threads
  [1, 2, 1, 65, 12], // one query, one key past a key block
];

const maskKinds = [
  'none', 'causal', 'window', 'causal+window', 'padding', 'causal+padding', 'dropout', 'causal+dropout',
  'bias', 'sharedbias', 'headmask', 'batchheadmask', 'offset', 'everything',
] as const;
type MaskKind = (typeof maskKinds)[number];
const has = (kind: MaskKind, part: string): boolean => kind.split('+').includes(part) || kind === 'everything';

function makeSpec(shape: [number, number, number, number, number], kind: MaskKind, next: () => number): AttentionSpec {
  const [B, H, Tq, Tk, D] = shape;
  const causal = has(kind, 'causal') || kind === 'offset';
  const window = has(kind, 'window') ? 1 + Math.floor(next() * 5) : 0;
  // 'offset': the queries sit before the end of the keys, some before the first key (they see nothing).
  const queryOffset = kind === 'offset' ? Tk - Tq - 2 : Tk - Tq;
  const spec: AttentionSpec = { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D, scale: 1 / Math.sqrt(D), ...attentionMaskRanges(Tq, Tk, { causal, window, queryOffset }) };
  if (has(kind, 'padding')) {
    const mask = new Uint8Array(B * Tk);
    for (let i = 0; i < mask.length; i++) mask[i] = next() < 0.7 ? 1 : 0;
    // The last batch entry is all padding: every one of its rows sees nothing (out 0, lse −∞).
    if (B > 1) mask.fill(0, (B - 1) * Tk, B * Tk);
    spec.keyMask = mask;
  }
  if (has(kind, 'dropout')) spec.dropout = { p: 0.3, seed: Math.floor(next() * 2 ** 32) };
  if (kind === 'bias' || kind === 'sharedbias' || kind === 'everything') {
    const shared = kind === 'sharedbias';
    // Stored with a row stride wider than Tk and an offset, to exercise the strides.
    const st = Tk + 3;
    const bh = shared ? 1 : B;
    const data = randomArray(5 + bh * H * Tq * st, next).map((x) => 2 * x);
    spec.bias = { data, offset: 5, sb: shared ? 0 : H * Tq * st, sh: Tq * st, st };
  }
  if (kind === 'headmask' || kind === 'batchheadmask' || kind === 'everything') {
    const n = kind === 'headmask' ? H : B * H;
    spec.headMask = Float32Array.from({ length: n }, (_, i) => (i % 3 === 1 ? 0 : 0.5 + next()));
  }
  return spec;
}

type Layout = 'dense' | 'packed' | 'cache';

/** q, k, v (and their gradient destinations) in one of three layouts, filled with random values. */
function operands(spec: AttentionSpec, layout: Layout, next: () => number): { q: AttnOperand; k: AttnOperand; v: AttnOperand; grads: () => AttentionGrads } {
  const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D } = spec;
  const C = H * D;
  const dense = (T: number): AttnOperand => ({ data: randomArray(B * T * C, next), offset: 0, sb: T * C, st: C, sh: D });
  if (layout === 'dense') {
    const q = dense(Tq), k = dense(Tk), v = dense(Tk);
    const like = (o: AttnOperand): AttnOperand => ({ ...o, data: new Float32Array(o.data.length).fill(NaN) });
    return { q, k, v, grads: () => ({ dq: like(q), dk: like(k), dv: like(v) }) };
  }
  if (layout === 'packed') {
    // (B, T, 3C): q, k, v side by side in every row, as GPT-2's c_attn writes them.
    const data = randomArray(B * Tq * 3 * C, next);
    const view = (a: Float32Array, part: number): AttnOperand => ({ data: a, offset: part * C, sb: Tq * 3 * C, st: 3 * C, sh: D });
    return {
      q: view(data, 0), k: view(data, 1), v: view(data, 2),
      grads: () => {
        const g = new Float32Array(data.length).fill(NaN); // every element must be written
        return { dq: view(g, 0), dk: view(g, 1), dv: view(g, 2) };
      },
    };
  }
  // A KV cache with room for Tk + 5 positions, k and v in separate arrays after a 3-float offset.
  const cap = Tk + 5;
  const cache = (): AttnOperand => ({ data: randomArray(3 + B * cap * C, next), offset: 3, sb: cap * C, st: C, sh: D });
  const q = dense(Tq), k = cache(), v = cache();
  const sentinel = (o: AttnOperand): AttnOperand => ({ ...o, data: new Float32Array(o.data.length).fill(7) });
  return { q, k, v, grads: () => ({ dq: { ...q, data: new Float32Array(q.data.length).fill(NaN) }, dk: sentinel(k), dv: sentinel(v) }) };
}

/** The rows of operand o (B, H, T, D) gathered into a dense (B, H, T, D) array, to compare results. */
function rows(o: AttnOperand, B: number, H: number, T: number, D: number): Float32Array {
  const out = new Float32Array(B * H * T * D);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) {
    const at = o.offset + b * o.sb + h * o.sh + t * o.st;
    out.set(o.data.subarray(at, at + D), ((b * H + h) * T + t) * D);
  }
  return out;
}

function compare(spec: AttentionSpec, layout: Layout, seed: number, be: Backend): void {
  const next = rng(seed);
  const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D } = spec;
  const { q, k, v, grads } = operands(spec, layout, next);
  const dOutData = randomArray(B * Tq * H * D, next);
  const label = `${layout} B${B} H${H} Tq${Tq} Tk${Tk} D${D} mask=${spec.keyMask ? 'yes' : 'no'} bias=${spec.bias ? spec.bias.sb === 0 ? 'shared' : 'yes' : 'no'} headMask=${spec.headMask?.length ?? 'no'} dropout=${spec.dropout ? 'yes' : 'no'}`;
  const outOp = (): AttnOperand => ({ data: new Float32Array(B * Tq * H * D), offset: 0, sb: Tq * H * D, st: H * D, sh: D });

  const want = { out: outOp(), lse: new Float32Array(B * H * Tq), weights: new Float32Array(B * H * Tq * Tk) };
  reference.attentionForward(spec, q, k, v, want);
  const got = { out: outOp(), lse: new Float32Array(B * H * Tq), weights: new Float32Array(B * H * Tq * Tk).fill(NaN) };
  be.attentionForward(spec, q, k, v, got);
  // Outputs are averages of v rows (|v| ≤ 1) times the head mask (< 1.5), probabilities are ≤ 1.5.
  assertClose(got.out.data, want.out.data, 1.5, 2e-5, `out, ${label}`);
  assertClose(got.lse, want.lse, maxAbs(want.lse), 2e-5, `lse, ${label}`);
  assertClose(got.weights, want.weights, 1.5, 2e-5, `weights, ${label}`);
  const noWeights = { out: outOp(), lse: new Float32Array(B * H * Tq) };
  be.attentionForward(spec, q, k, v, noWeights);
  assertClose(noWeights.out.data, want.out.data, 1.5, 2e-5, `out without weights, ${label}`);

  // Backward from the reference's own forward results, so only the backward kernel is compared.
  const dOut: AttnOperand = { ...want.out, data: dOutData };
  const withExtras = (g: AttentionGrads): AttentionGrads => {
    const biasB = spec.bias?.sb === 0 ? 1 : B;
    if (spec.bias) g.dBias = new Float32Array(biasB * H * Tq * Tk).fill(0.25); // accumulated into
    if (spec.headMask) g.dHeadMask = new Float32Array(B * H).fill(NaN);
    return g;
  };
  const gWant = withExtras(grads());
  reference.attentionBackward(spec, q, k, v, want.out, want.lse, dOut, gWant);
  const gGot = withExtras(grads());
  be.attentionBackward(spec, q, k, v, want.out, want.lse, dOut, gGot);
  for (const name of ['dq', 'dk', 'dv'] as const) {
    const T = name === 'dq' ? Tq : Tk;
    const w = rows(gWant[name], B, H, T, D);
    assertClose(rows(gGot[name], B, H, T, D), w, maxAbs(w), 5e-5, `${name}, ${label}`);
  }
  // Every element of the arrays, including what lies between the rows (which must be left alone).
  assertClose(gGot.dq.data, gWant.dq.data, maxAbs(gWant.dq.data), 5e-5, `dq array, ${label}`);
  assertClose(gGot.dk.data, gWant.dk.data, maxAbs(gWant.dk.data), 5e-5, `dk array, ${label}`);
  if (gWant.dBias) assertClose(gGot.dBias!, gWant.dBias, maxAbs(gWant.dBias), 5e-5, `dBias, ${label}`);
  if (gWant.dHeadMask) assertClose(gGot.dHeadMask!, gWant.dHeadMask, maxAbs(gWant.dHeadMask) * Tq, 5e-5, `dHeadMask, ${label}`);
}

for (const { label, simd, threads } of wasmConfigs()) {
  describe(`attention, ${label}`, () => {
    const be = wasmBackend(simd, threads);
    for (const kind of maskKinds) {
      test(`mask: ${kind}`, () => {
        let seed = 1000 + maskKinds.indexOf(kind) * 100;
        for (const shape of shapes) {
          for (const layout of ['dense', 'packed', 'cache'] as const) {
            if (layout === 'packed' && shape[2] !== shape[3]) continue; // self-attention only: Tq = Tk
            const s = seed++;
            compare(makeSpec(shape, kind, rng(s)), layout, s, be);
          }
        }
      });
    }
  });
}

/** A (B, T, H, D) dense operand over `data`. */
const denseOf = (data: Float32Array, B: number, T: number, H: number, D: number): AttnOperand => ({ data, offset: 0, sb: T * H * D, st: H * D, sh: D });

describe('attention dropout', () => {
  test('drops a fraction p of the probabilities, and averages (inverted dropout) to the output without it', () => {
    // The mask itself: over 10⁵ indices the kept fraction is 1 − p within 1 %.
    const seedHash = lowbias32(12345);
    for (const p of [0.1, 0.5]) {
      const threshold = dropThreshold(p);
      let kept = 0;
      for (let i = 0; i < 100_000; i++) if (dropKeeps(seedHash, i, threshold)) kept++;
      assert.ok(Math.abs(kept / 100_000 - (1 - p)) < 0.01, `p = ${p}: kept ${kept / 1000} %`);
    }
    // E[out with dropout] = out without: the mean over 400 seeds is within a few % of the undropped output.
    const be = wasmBackend(wasmConfigs()[0]!.simd, 1);
    const next = rng(11);
    const spec: AttentionSpec = { batch: 1, heads: 2, tq: 6, tk: 6, headDim: 8, scale: 0.35, ...attentionMaskRanges(6, 6, { causal: true, window: 0, queryOffset: 0 }) };
    const [q, k, v] = [0, 1, 2].map(() => denseOf(randomArray(96, next), 1, 6, 2, 8)) as [AttnOperand, AttnOperand, AttnOperand];
    const run = (s: AttentionSpec): Float32Array => {
      const out = denseOf(new Float32Array(96), 1, 6, 2, 8);
      be.attentionForward(s, q, k, v, { out, lse: new Float32Array(12) });
      return out.data;
    };
    const plain = run(spec);
    const mean = new Float64Array(plain.length);
    const n = 400;
    for (let s = 0; s < n; s++) {
      const r = run({ ...spec, dropout: { p: 0.2, seed: 1000 + s } });
      if (s === 0) assert.ok(r.some((x, i) => Math.abs(x - plain[i]!) > 1e-3), 'dropout changes the output');
      r.forEach((x, i) => (mean[i]! += x / n));
    }
    // Each output is an average of ≤ 6 values of v (|v| ≤ 1); the spread of one dropped sample is ~0.5/√n.
    assertClose(Float32Array.from(mean), plain, 1, 0.08, 'mean over seeds vs no dropout');
  });
});

describe('attention, by hand and bad input', () => {
  const be = wasmBackend(wasmConfigs()[0]!.simd, 2);
  const one = (tq: number, tk: number, extra: Partial<AttentionSpec> = {}): AttentionSpec => ({
    batch: 1, heads: 1, tq, tk, headDim: 2, scale: 0.5, ...attentionMaskRanges(tq, tk, { causal: false, window: 0, queryOffset: tk - tq }), ...extra,
  });

  test('one query, two keys, by hand: weights = softmax(scale·q·k + bias), out = ξ Σ w·v', () => {
    // q = [1, 0], k0 = [1, 0], k1 = [0, 2], scale 0.5, bias [0.25, −0.5] → scores [0.75, −0.5]; ξ = 2
    const bias: AttnOperand = { data: new Float32Array([0.25, -0.5]), offset: 0, sb: 0, sh: 2, st: 2 };
    for (const b of [be, reference]) {
      const spec = one(1, 2, { bias, headMask: new Float32Array([2]) });
      const out = denseOf(new Float32Array(2), 1, 1, 1, 2);
      const res = { out, lse: new Float32Array(1), weights: new Float32Array(2) };
      b.attentionForward(spec, denseOf(new Float32Array([1, 0]), 1, 1, 1, 2), denseOf(new Float32Array([1, 0, 0, 2]), 1, 2, 1, 2), denseOf(new Float32Array([1, 2, 3, 4]), 1, 2, 1, 2), res);
      const z = Math.exp(0.75) + Math.exp(-0.5);
      const w0 = Math.exp(0.75) / z;
      const w1 = Math.exp(-0.5) / z;
      assertClose(res.weights, new Float32Array([2 * w0, 2 * w1]), 1, 1e-6, `${b.name} weights`);
      assertClose(out.data, new Float32Array([2 * (w0 * 1 + w1 * 3), 2 * (w0 * 2 + w1 * 4)]), 8, 1e-6, `${b.name} out`);
      assertClose(res.lse, new Float32Array([Math.log(z)]), 1, 1e-6, `${b.name} lse`);
    }
  });

  test('a fully padded row gives out 0, lse −Infinity, zero weights and zero gradients', () => {
    const next = rng(5);
    const spec: AttentionSpec = { ...one(3, 5), heads: 2, headDim: 6, scale: 0.4, keyMask: new Uint8Array(5) };
    const [q, k, v] = [3, 5, 5].map((T) => denseOf(randomArray(T * 12, next), 1, T, 2, 6)) as [AttnOperand, AttnOperand, AttnOperand];
    const out = denseOf(new Float32Array(36), 1, 3, 2, 6);
    const res = { out, lse: new Float32Array(6), weights: new Float32Array(30).fill(NaN) };
    be.attentionForward(spec, q, k, v, res);
    assert.ok(out.data.every((x) => x === 0), 'out is all zeros');
    assert.ok(res.lse.every((x) => x === -Infinity), 'lse is all −Infinity');
    assert.ok(res.weights.every((x) => x === 0), 'weights are all zeros');
    const g = { dq: denseOf(new Float32Array(36).fill(NaN), 1, 3, 2, 6), dk: denseOf(new Float32Array(60).fill(NaN), 1, 5, 2, 6), dv: denseOf(new Float32Array(60).fill(NaN), 1, 5, 2, 6) };
    be.attentionBackward(spec, q, k, v, out, res.lse, denseOf(randomArray(36, next), 1, 3, 2, 6), g);
    for (const [name, o] of Object.entries(g)) assert.ok(o.data.every((x) => x === 0), `${name} is all zeros`);
  });

  test('bad calls are rejected with the numbers in the message, by both backends', () => {
    for (const b of [be, reference]) {
      const spec = one(3, 3);
      const ok = (n: number): AttnOperand => denseOf(new Float32Array(n), 1, 3, 1, 2);
      const res = () => ({ out: ok(6), lse: new Float32Array(3) });
      assert.throws(() => b.attentionForward(spec, ok(5), ok(6), ok(6), res()), /q \(B 1, H 1, T 3, D 2; offset 0, strides b 6 h 2 t 2\) reaches element 6 of a 5-element array/);
      assert.throws(() => b.attentionForward({ ...spec, keyMask: new Uint8Array(2) }, ok(6), ok(6), ok(6), res()), /keyMask has 2 entries, expected \(B, Tk\) = \(1, 3\) = 3/);
      assert.throws(() => b.attentionForward({ ...spec, lo: new Int32Array([0, 1, 0]) }, ok(6), ok(6), ok(6), res()), /query 2 has \[0, 2\] after \[1, 2\]/);
      assert.throws(() => b.attentionForward({ ...spec, headMask: new Float32Array(2) }, ok(6), ok(6), ok(6), res()), /headMask has 2 entries, expected \(H\) = 1 or \(B, H\) = 1/);
      assert.throws(() => b.attentionForward(spec, ok(6), ok(6), ok(6), { out: ok(6), lse: new Float32Array(2) }), /lse has 2 elements, needs 3/);
    }
  });
});
