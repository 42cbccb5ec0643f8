// WebAssembly fused attention (forward with optional weights, and backward) against the reference backend:
// causal, sliding window, key padding masks, fewer queries than keys (a KV cache: query i sits at position
// Tk − Tq + i), head sizes that are not a multiple of 4, and rows that see no key at all; for both kernel
// builds with 1 and 2 threads. Plus one case worked out by hand from the softmax formula.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dropKeeps, dropThreshold, lowbias32, type AttentionSpec } from '../../src/backend/backend.js';
import { assertClose, maxAbs, randomArray, reference, rng, wasmBackend, wasmConfigs } from './_wasm.js';

// [B, H, Tq, Tk, D]: odd sizes around the kernel's blocks (4 query rows, 64 keys, 4 floats of D).
const shapes: [number, number, number, number, number][] = [
  [1, 1, 1, 1, 1],
  [1, 2, 3, 7, 5],
  [2, 3, 17, 17, 8],
  [1, 2, 7, 130, 64], // few queries against many keys (decoding with a cache)
  [2, 2, 70, 70, 17],
  [1, 1, 127, 127, 4],
  [2, 4, 64, 64, 32], // big enough to run on several threads
  [1, 2, 1, 65, 12], // one query, one key past a key block
];

type MaskKind = 'none' | 'causal' | 'window' | 'causal+window' | 'padding' | 'causal+padding' | 'dropout' | 'causal+dropout' | 'everything';
const maskKinds: MaskKind[] = ['none', 'causal', 'window', 'causal+window', 'padding', 'causal+padding', 'dropout', 'causal+dropout', 'everything'];

function makeSpec(shape: [number, number, number, number, number], kind: MaskKind, next: () => number): AttentionSpec {
  const [B, H, Tq, Tk, D] = shape;
  const spec: AttentionSpec = {
    batch: B, heads: H, tq: Tq, tk: Tk, headDim: D, scale: 1 / Math.sqrt(D),
    causal: kind.includes('causal') || kind === 'everything',
    window: kind.includes('window') || kind === 'everything' ? 1 + Math.floor(next() * 5) : 0,
  };
  if (kind.includes('padding') || kind === 'everything') {
    const mask = new Uint8Array(B * Tk);
    for (let i = 0; i < mask.length; i++) mask[i] = next() < 0.7 ? 1 : 0;
    // The last batch entry is all padding: every one of its rows sees nothing (out 0, lse −∞).
    if (B > 1) mask.fill(0, (B - 1) * Tk, B * Tk);
    spec.keyMask = mask;
  }
  if (kind.includes('dropout') || kind === 'everything') spec.dropout = { p: 0.3, seed: Math.floor(next() * 2 ** 32) };
  return spec;
}

function compare(spec: AttentionSpec, seed: number, simd: 'relaxed' | 'baseline', threads: number): void {
  const next = rng(seed);
  const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D } = spec;
  const q = randomArray(B * H * Tq * D, next);
  const k = randomArray(B * H * Tk * D, next);
  const v = randomArray(B * H * Tk * D, next);
  const dOut = randomArray(B * H * Tq * D, next);
  const be = wasmBackend(simd, threads);
  const label = `B${B} H${H} Tq${Tq} Tk${Tk} D${D} causal=${spec.causal} window=${spec.window} mask=${spec.keyMask ? 'yes' : 'no'}`;

  const want = reference.attentionForward(q, k, v, spec, true);
  const got = be.attentionForward(q, k, v, spec, true);
  // Outputs are averages of v rows (|v| ≤ 1), probabilities are ≤ 1, lse is a log of a sum of ≤ Tk terms.
  assertClose(got.out, want.out, 1, 2e-5, `out, ${label}`);
  assertClose(got.lse, want.lse, maxAbs(want.lse), 2e-5, `lse, ${label}`);
  assert.ok(got.weights, 'weights were asked for');
  assertClose(got.weights, want.weights!, 1, 2e-5, `weights, ${label}`);
  const withoutWeights = be.attentionForward(q, k, v, spec, false);
  assert.equal(withoutWeights.weights, undefined);
  assertClose(withoutWeights.out, want.out, 1, 2e-5, `out without weights, ${label}`);

  // Backward from the reference's own forward results, so only the backward kernel is compared.
  const gWant = reference.attentionBackward(q, k, v, want.out, want.lse, dOut, spec);
  const gGot = be.attentionBackward(q, k, v, want.out, want.lse, dOut, spec);
  assertClose(gGot.dq, gWant.dq, maxAbs(gWant.dq), 5e-5, `dq, ${label}`);
  assertClose(gGot.dk, gWant.dk, maxAbs(gWant.dk), 5e-5, `dk, ${label}`);
  assertClose(gGot.dv, gWant.dv, maxAbs(gWant.dv), 5e-5, `dv, ${label}`);
}

/**
 * The packed forms (q, k, v read out of one (B, T, 3C) array, out written (B, T, C)) against the reference's,
 * which splits the heads with plain copies and calls the plain kernels.
 */
function comparePacked(spec: AttentionSpec, seed: number, simd: 'relaxed' | 'baseline', threads: number): void {
  const next = rng(seed);
  const { batch: B, heads: H, tq: T, headDim: D } = spec;
  const C = H * D;
  const qkv = randomArray(B * T * 3 * C, next);
  const dOut = randomArray(B * T * C, next);
  const be = wasmBackend(simd, threads);
  const label = `packed B${B} H${H} T${T} D${D} causal=${spec.causal} window=${spec.window} mask=${spec.keyMask ? 'yes' : 'no'}`;
  const want = reference.attentionPackedForward(qkv, spec, true);
  const got = be.attentionPackedForward(qkv, spec, true);
  assertClose(got.out, want.out, 1, 2e-5, `out, ${label}`);
  assertClose(got.lse, want.lse, maxAbs(want.lse), 2e-5, `lse, ${label}`);
  assertClose(got.weights!, want.weights!, 1, 2e-5, `weights, ${label}`);
  const gWant = new Float32Array(qkv.length);
  reference.attentionPackedBackward(qkv, want.out, want.lse, dOut, spec, gWant);
  const gGot = new Float32Array(qkv.length).fill(NaN); // every element must be written
  be.attentionPackedBackward(qkv, want.out, want.lse, dOut, spec, gGot);
  assertClose(gGot, gWant, maxAbs(gWant), 5e-5, `dqkv, ${label}`);
}

for (const { label, simd, threads } of wasmConfigs()) {
  describe(`attention, ${label}`, () => {
    test('packed qkv (B, T, 3C) in, (B, T, C) out: every mask kind', () => {
      let seed = 7000;
      for (const kind of maskKinds) {
        for (const shape of shapes) {
          if (shape[2] !== shape[3]) continue; // self-attention only: Tq = Tk
          const s = seed++;
          comparePacked(makeSpec(shape, kind, rng(s)), s, simd, threads);
        }
      }
    });
    for (const kind of maskKinds) {
      test(`mask: ${kind}`, () => {
        let seed = 1000 + maskKinds.indexOf(kind) * 100;
        for (const shape of shapes) {
          const s = seed++;
          compare(makeSpec(shape, kind, rng(s)), s, simd, threads);
        }
      });
    }
  });
}

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
    const spec: AttentionSpec = { batch: 1, heads: 2, tq: 6, tk: 6, headDim: 8, scale: 0.35, causal: true, window: 0 };
    const q = randomArray(96, next), k = randomArray(96, next), v = randomArray(96, next);
    const plain = be.attentionForward(q, k, v, spec, false).out;
    const mean = new Float64Array(plain.length);
    const n = 400;
    for (let s = 0; s < n; s++) {
      const r = be.attentionForward(q, k, v, { ...spec, dropout: { p: 0.2, seed: 1000 + s } }, false);
      if (s === 0) assert.ok(r.out.some((x, i) => Math.abs(x - plain[i]!) > 1e-3), 'dropout changes the output');
      r.out.forEach((x, i) => (mean[i]! += x / n));
    }
    // Each output is an average of ≤ 6 values of v (|v| ≤ 1); the spread of one dropped sample is ~0.5/√n.
    assertClose(Float32Array.from(mean), plain, 1, 0.08, 'mean over seeds vs no dropout');
  });
});

describe('attention, wasm specifics', () => {
  const be = wasmBackend(wasmConfigs()[0]!.simd, 2);

  test('one query, two keys, by hand: weights = softmax(scale·q·k), out = Σ w·v', () => {
    // q = [1, 0], k0 = [1, 0], k1 = [0, 2], scale 0.5 → scores [0.5, 0]
    const spec: AttentionSpec = { batch: 1, heads: 1, tq: 1, tk: 2, headDim: 2, scale: 0.5, causal: false, window: 0 };
    const r = be.attentionForward(new Float32Array([1, 0]), new Float32Array([1, 0, 0, 2]), new Float32Array([1, 2, 3, 4]), spec, true);
    const w0 = Math.exp(0.5) / (Math.exp(0.5) + 1);
    const w1 = 1 / (Math.exp(0.5) + 1);
    assertClose(r.weights!, new Float32Array([w0, w1]), 1, 1e-6, 'weights');
    assertClose(r.out, new Float32Array([w0 * 1 + w1 * 3, w0 * 2 + w1 * 4]), 4, 1e-6, 'out');
    assertClose(r.lse, new Float32Array([Math.log(Math.exp(0.5) + 1)]), 1, 1e-6, 'lse');
  });

  test('a fully padded row gives out 0, lse −Infinity, zero weights and zero gradients', () => {
    const next = rng(5);
    const spec: AttentionSpec = { batch: 1, heads: 2, tq: 3, tk: 5, headDim: 6, scale: 0.4, causal: true, window: 0, keyMask: new Uint8Array(5) };
    const q = randomArray(36, next), k = randomArray(60, next), v = randomArray(60, next);
    const r = be.attentionForward(q, k, v, spec, true);
    assert.ok(r.out.every((x) => x === 0), 'out is all zeros');
    assert.ok(r.lse.every((x) => x === -Infinity), 'lse is all −Infinity');
    assert.ok(r.weights!.every((x) => x === 0), 'weights are all zeros');
    const g = be.attentionBackward(q, k, v, r.out, r.lse, randomArray(36, next), spec);
    for (const [name, arr] of Object.entries(g)) assert.ok(arr.every((x) => x === 0), `${name} is all zeros`);
  });

  test('bad specs are rejected with the numbers in the message', () => {
    const spec: AttentionSpec = { batch: 1, heads: 1, tq: 4, tk: 3, headDim: 2, scale: 1, causal: false, window: 0 };
    assert.throws(() => be.attentionForward(new Float32Array(8), new Float32Array(6), new Float32Array(6), spec, false), /tq=4 > tk=3/);
    const ok = { ...spec, tq: 3 };
    assert.throws(() => be.attentionForward(new Float32Array(5), new Float32Array(6), new Float32Array(6), ok, false), /q has 5 elements, expected \(B, H, Tq, D\) = \(1, 1, 3, 2\) = 6/);
    assert.throws(() => be.attentionForward(new Float32Array(6), new Float32Array(6), new Float32Array(6), { ...ok, keyMask: new Uint8Array(2) }, false), /keyMask has 2 entries, expected \(B, Tk\) = \(1, 3\) = 3/);
    const self = { ...ok, tk: 3 };
    assert.throws(() => be.attentionPackedForward(new Float32Array(17), self, false), /qkv has 17 elements, expected \(B, T, 3·H·D\) = \(1, 3, 6\) = 18/);
    assert.throws(() => be.attentionPackedForward(new Float32Array(18), { ...self, tq: 2 }, false), /spec.tq and spec.tk must be equal, got 2 and 3/);
  });
});
