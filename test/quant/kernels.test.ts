// The quantised-weight kernels (kernels/quant.ts via Backend.quantizedMatmul) against the reference backend,
// which dequantises every weight where it reads it and keeps the activations exact (the definition).
//
// Shapes hit every edge: 1–4 rows (the integer dot-product path: qgemv_task) and 5+ rows (W dequantised a block
// of rows at a time for the float GEMM), K not a multiple of 32 (int8 per row: the last block of a row reads
// past it against zero activations), several groups per row, N not a multiple of 8 (the GEMM's edge panels),
// and a weight too large for one dequantised block (DEQUANT_BLOCK_BYTES); both kernel builds, 1 and 2 threads.
//
// The bound, from the definitions: the few-rows path rounds each activation to its block's grid,
// |a_k − s_b·â_k| ≤ s_b / 2 with s_b = max_{k∈b} |a_k| / L (L = 127 steps; 63 for int8 weights on the relaxed
// build, whose dot product needs a 7-bit operand), so output j moves by at most
//   Σ_b (s_b / 2) · Σ_{k∈b} |w_jk|
// plus float32 rounding, ≤ 1e-5 · Σ_k |a_k|·|w_jk|. The many-rows path has only the float rounding.
// That bound is loose where a block holds an outlier, so the few-rows path is also checked tightly against
// what kernels/quant.ts says it computes, re-done here in plain numbers: each activation rounded to its
// block's grid (round(a · L/max|a|), ties to even, in float32), then Σ_g scale · Σ_b s_b · Σ_k q·â.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { QuantizedMatmulSpec } from '../../src/backend/backend.js';
import { DEQUANT_BLOCK_BYTES } from '../../src/backend/wasm/quant.js';
import { quantizeMatrix, type QuantBits } from '../../src/quant/format.js';
import { randomArray, reference, rng, wasmBackend, wasmConfigs } from '../backend/_wasm.js';

interface Case {
  m: number;
  n: number;
  k: number;
  bits: QuantBits;
  g?: number; // group size (default: K for int8, 32 for int4)
}

const cases: Case[] = [
  { m: 1, n: 1, k: 32, bits: 8 },
  { m: 1, n: 7, k: 5, bits: 8 }, // K < 32: one partial block
  { m: 2, n: 9, k: 37, bits: 8 }, // K one past a block
  { m: 3, n: 33, k: 100, bits: 8 },
  { m: 4, n: 13, k: 96, bits: 8, g: 32 }, // int8 with groups
  { m: 1, n: 130, k: 768, bits: 8 }, // a GPT-2 row, parallel
  { m: 1, n: 21, k: 160, bits: 8 }, // decoding's one-row kernel: pairs of blocks, then an odd one
  { m: 1, n: 9, k: 192, bits: 8, g: 96 }, // …and its groups of an odd number of blocks
  { m: 1, n: 13, k: 96, bits: 8, g: 32 }, // …one block per group
  { m: 1, n: 1, k: 32, bits: 4 },
  { m: 2, n: 11, k: 64, bits: 4 },
  { m: 3, n: 17, k: 128, bits: 4, g: 64 },
  { m: 4, n: 29, k: 192, bits: 4, g: 96 },
  { m: 1, n: 257, k: 768, bits: 4, g: 128 },
  { m: 1, n: 21, k: 160, bits: 4 }, // decoding's one-row int4 kernel (relaxed build): pairs of blocks, then an odd one
  { m: 1, n: 9, k: 288, bits: 4, g: 96 }, // …groups of three blocks, so a pair straddles two groups
  { m: 1, n: 6, k: 96, bits: 4, g: 96 }, // …one group, an odd block at its end
  // many rows: the dequantise + GEMM path
  { m: 5, n: 9, k: 37, bits: 8 },
  { m: 17, n: 31, k: 64, bits: 4 },
  { m: 130, n: 67, k: 300, bits: 8, g: 60 * 5 },
  { m: 9, n: 100, k: 256, bits: 4, g: 64 },
  // more rows of W than one dequantised block holds (2 MiB of float32): several blocks, a partial last one
  { m: 6, n: Math.floor(DEQUANT_BLOCK_BYTES / (4 * 256)) + 13, k: 256, bits: 8 },
];

function runCase(c: Case, seed: number, simd: 'relaxed' | 'baseline', threads: number, withBias: boolean): void {
  const next = rng(seed);
  const g = c.g ?? (c.bits === 8 ? c.k : 32);
  const w = quantizeMatrix(randomArray(c.n * c.k, next), c.n, c.k, 'out_in', { bits: c.bits, groupSize: g }, (n) => new Float32Array(n));
  const a = randomArray(c.m * c.k, next);
  // A few large activations, as GPT-2's hidden states have: the per-block scales must keep the rest accurate.
  for (let i = 0; i < a.length; i += 41) a[i] = a[i]! * 20;
  const spec: QuantizedMatmulSpec = { rows: c.m };
  if (withBias) spec.bias = randomArray(c.n, next);
  const want = new Float32Array(c.m * c.n);
  reference.quantizedMatmul(a, w, want, spec);
  const got = new Float32Array(c.m * c.n).fill(NaN); // every element must be written
  wasmBackend(simd, threads).quantizedMatmul(a, w, got, spec);

  const W = w.dequantize(); // (N, K)
  const label = `${c.m}×${c.k} · (${c.n}×${c.k})ᵀ int${c.bits} g${g}${withBias ? ' + bias' : ''}`;
  const levels = simd === 'relaxed' && c.bits === 8 ? 63 : 127; // the activations' grid (the bound above)
  for (let r = 0; r < c.m; r++) {
    for (let j = 0; j < c.n; j++) {
      let sumAbs = 0;
      let actBound = 0;
      for (let b = 0; b * 32 < c.k; b++) {
        let amax = 0;
        let wAbs = 0;
        for (let k = b * 32; k < Math.min(c.k, b * 32 + 32); k++) {
          amax = Math.max(amax, Math.abs(a[r * c.k + k]!));
          wAbs += Math.abs(W[j * c.k + k]!);
          sumAbs += Math.abs(a[r * c.k + k]! * W[j * c.k + k]!);
        }
        actBound += (amax / levels / 2) * wAbs;
      }
      const tol = (c.m <= 4 ? actBound : 0) + 1e-5 * (sumAbs + (spec.bias ? Math.abs(spec.bias[j]!) : 0)) + 1e-30;
      const i = r * c.n + j;
      assert.ok(Math.abs(got[i]! - want[i]!) <= tol, `${label}: out[${r}, ${j}] = ${got[i]}, expected ${want[i]} (|diff| ${Math.abs(got[i]! - want[i]!).toExponential(2)} > ${tol.toExponential(2)})`);
      if (c.m <= 4) {
        const [exact, mag] = kernelArithmetic(a.subarray(r * c.k, (r + 1) * c.k), W.subarray(j * c.k, (j + 1) * c.k), levels);
        const y = exact + (spec.bias ? spec.bias[j]! : 0);
        const tight = 1e-5 * (mag + (spec.bias ? Math.abs(spec.bias[j]!) : 0)) + 1e-30;
        assert.ok(Math.abs(got[i]! - y) <= tight, `${label}: out[${r}, ${j}] = ${got[i]}, the ±${levels} activation arithmetic gives ${y} (|diff| ${Math.abs(got[i]! - y).toExponential(2)} > ${tight.toExponential(2)})`);
      }
    }
  }
}

/** Round half to even, as f32x4.nearest does. */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Σ_k w_k · (s_b·â_k) for one row of activations and one dequantised weight row: the activations rounded as the
 * kernel rounds them (float32 scale factors) to ±`levels` steps. Returns [the sum, Σ |w_k·s_b·â_k|] (the
 * magnitude for the tolerance).
 */
function kernelArithmetic(a: Float32Array, w: Float32Array, levels: number): [number, number] {
  let sum = 0;
  let mag = 0;
  for (let b = 0; b * 32 < a.length; b++) {
    const end = Math.min(a.length, b * 32 + 32);
    let amax = 0;
    for (let k = b * 32; k < end; k++) amax = Math.max(amax, Math.abs(a[k]!));
    if (amax === 0) continue;
    const s = Math.fround(amax / levels);
    const inv = Math.fround(levels / amax);
    for (let k = b * 32; k < end; k++) {
      const q = roundEven(Math.fround(a[k]! * inv));
      sum += w[k]! * s * q;
      mag += Math.abs(w[k]! * s * q);
    }
  }
  return [sum, mag];
}

for (const { label, simd, threads } of wasmConfigs()) {
  describe(`quantizedMatmul, ${label}`, () => {
    test('matches the reference (dequantised weights, exact activations) within the activation rounding bound', () => {
      let seed = 1;
      for (const c of cases) runCase(c, seed++, simd, threads, seed % 2 === 0);
    });

    test('a weight whose bytes are not in WebAssembly memory is copied in and gives the same result', () => {
      const be = wasmBackend(simd, threads);
      const next = rng(7);
      for (const bits of [8, 4] as const) {
        const inMemory = quantizeMatrix(randomArray(40 * 64, next), 40, 64, 'out_in', { bits, groupSize: bits === 8 ? 64 : 32 }, (n) => be.allocate(n));
        const outside = quantizeMatrix(inMemory.dequantize(), 40, 64, 'out_in', { bits, groupSize: bits === 8 ? 64 : 32 }, (n) => new Float32Array(n));
        assert.deepEqual(Array.from(outside.data), Array.from(inMemory.data), 'requantising the dequantised matrix gives the same bytes');
        for (const m of [1, 3, 8]) {
          const a = randomArray(m * 64, next);
          const x = new Float32Array(m * 40);
          const y = new Float32Array(m * 40);
          be.quantizedMatmul(a, inMemory, x, { rows: m });
          be.quantizedMatmul(a, outside, y, { rows: m });
          assert.deepEqual(Array.from(y), Array.from(x), `int${bits}, ${m} rows`);
        }
      }
    });
  });
}

test('bad shapes are errors that name the field and the numbers', () => {
  const w = quantizeMatrix(new Float32Array(8 * 32), 8, 32, 'out_in', { bits: 8, groupSize: 32 }, (n) => new Float32Array(n));
  assert.throws(() => reference.quantizedMatmul(new Float32Array(10), w, new Float32Array(8), { rows: 1 }), /A has 10 elements, \(rows, K\) = \(1, 32\) needs 32/);
  assert.throws(() => reference.quantizedMatmul(new Float32Array(32), w, new Float32Array(7), { rows: 1 }), /out has 7 elements/);
  assert.throws(() => reference.quantizedMatmul(new Float32Array(32), w, new Float32Array(8), { rows: 1, bias: new Float32Array(3) }), /bias has 3 elements, N = 8/);
});
