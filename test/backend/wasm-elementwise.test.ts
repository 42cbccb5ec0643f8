// WebAssembly GELU (tanh form), layer norm (forward and backward) and the log-softmax rows of cross-entropy
// against the reference backend, for both
// kernel builds with 1 and 2 threads (with 2, every call goes through the pool), on lengths and row widths
// that are not multiples of the 4-lane vectors or of the per-task chunks. GELU is also checked against
// Math.tanh in float64 (an oracle outside both backends) over its whole range, saturation included.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertClose, maxAbs, randomArray, reference, rng, wasmBackend, wasmConfigs } from './_wasm.js';

const lengths = [1, 3, 4, 7, 17, 127, 1000, 70_001];
// [rows, cols]
const layerShapes: [number, number][] = [
  [1, 1],
  [1, 3],
  [3, 7],
  [17, 8],
  [5, 127],
  [64, 384],
  [130, 17],
];

/** GPT-2's gelu_new in float64 with Math.tanh, and its derivative. */
function geluRef(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}
function geluGradRef(x: number): number {
  const u = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3);
  const t = Math.tanh(u);
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * Math.sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * x * x);
}

for (const { label, simd, threads } of wasmConfigs()) {
  describe(label, () => {
    test('gelu (tanh) forward and backward match the reference on awkward lengths', () => {
      const be = wasmBackend(simd, threads);
      for (const n of lengths) {
        const next = rng(n);
        const x = randomArray(n, next).map((v) => v * 6); // [-6, 6): the curved part and both tails
        const g = randomArray(n, next);
        const want = new Float32Array(n);
        const got = new Float32Array(n);
        reference.geluTanh(x, want);
        be.geluTanh(x, got);
        assertClose(got, want, maxAbs(want), 1e-6, `gelu, n=${n}`);
        const wantG = new Float32Array(n);
        const gotG = new Float32Array(n);
        reference.geluTanhBackward(x, g, wantG);
        be.geluTanhBackward(x, g, gotG);
        // The derivative adds s and 2x·s(1 − s)·du, terms up to ~20 that cancel in the tails, and 1 − s loses
        // digits when s is near 1: float32 evaluation (PyTorch's too) is a few 1e-6 from float64's.
        assertClose(gotG, wantG, maxAbs(wantG), 6e-6, `gelu backward, n=${n}`);
      }
    });

    test('gelu (tanh) is within float32 rounding of the float64 formula from −12 to 12, and saturates exactly', () => {
      const be = wasmBackend(simd, threads);
      const n = 24_001;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = -12 + (24 * i) / (n - 1);
      const y = new Float32Array(n);
      const gx = new Float32Array(n);
      be.geluTanh(x, y);
      be.geluTanhBackward(x, new Float32Array(n).fill(1), gx);
      let worst = 0;
      let worstG = 0;
      for (let i = 0; i < n; i++) {
        worst = Math.max(worst, Math.abs(y[i]! - geluRef(x[i]!)) / Math.max(1, Math.abs(x[i]!)));
        worstG = Math.max(worstG, Math.abs(gx[i]! - geluGradRef(x[i]!)));
      }
      assert.ok(worst < 1e-6, `max |gelu − ref| / max(1, |x|) = ${worst}`);
      assert.ok(worstG < 6e-6, `max |gelu' − ref| = ${worstG}`);
      const sat = new Float32Array(5);
      be.geluTanh(Float32Array.from([-100, -30, 30, 100, 0]), sat);
      // == 0 rather than deepEqual: x·0 is −0 for negative x, as in PyTorch.
      assert.ok(sat[0] === 0 && sat[1] === 0 && sat[2] === 30 && sat[3] === 100 && sat[4] === 0, `gelu([-100, -30, 30, 100, 0]) = ${Array.from(sat)}`);
    });

    test('layer norm forward and backward match the reference on awkward shapes', () => {
      const be = wasmBackend(simd, threads);
      for (const [rows, cols] of layerShapes) {
        const next = rng(rows * 1000 + cols);
        // An offset and a scale per row, as real activations have: the mean must really be subtracted.
        const x = randomArray(rows * cols, next).map((v, i) => 3 + 2 * v * (1 + (Math.floor(i / cols) % 3)));
        const w = randomArray(cols, next);
        const b = randomArray(cols, next);
        const g = randomArray(rows * cols, next);
        const spec = { rows, cols, eps: 1e-5 };
        const label = `rows ${rows}, cols ${cols}`;
        const want = { out: new Float32Array(rows * cols), mean: new Float32Array(rows), rstd: new Float32Array(rows) };
        const got = { out: new Float32Array(rows * cols), mean: new Float32Array(rows), rstd: new Float32Array(rows) };
        reference.layerNorm(x, w, b, spec, want.out, want.mean, want.rstd);
        be.layerNorm(x, w, b, spec, got.out, got.mean, got.rstd);
        // x̂ is of order 1 (up to √cols), w and b below 1.
        assertClose(got.out, want.out, Math.sqrt(cols) + 1, 1e-5, `layerNorm out, ${label}`);
        assertClose(got.mean, want.mean, maxAbs(want.mean), 1e-6, `layerNorm mean, ${label}`);
        assertClose(got.rstd, want.rstd, maxAbs(want.rstd), 1e-5, `layerNorm rstd, ${label}`);

        for (const withGx of [true, false]) {
          const wantB = { gx: new Float32Array(rows * cols), gw: new Float32Array(cols), gb: new Float32Array(cols) };
          const gotB = { gx: new Float32Array(rows * cols), gw: new Float32Array(cols).fill(7), gb: new Float32Array(cols).fill(7) };
          reference.layerNormBackward(x, w, want.mean, want.rstd, g, spec, wantB.gx, wantB.gw, wantB.gb);
          be.layerNormBackward(x, w, want.mean, want.rstd, g, spec, withGx ? gotB.gx : null, gotB.gw, gotB.gb);
          if (withGx) assertClose(gotB.gx, wantB.gx, maxAbs(want.rstd) * (cols + 1), 2e-6, `layerNorm gx, ${label}`);
          else assert.ok(gotB.gx.every((v) => v === 0), 'gx = null: nothing written');
          // Sums over the rows of terms of order √cols (overwritten: the 7s must be gone).
          assertClose(gotB.gw, wantB.gw, rows * (Math.sqrt(cols) + 1), 1e-6, `layerNorm gw, ${label}`);
          assertClose(gotB.gb, wantB.gb, rows, 1e-6, `layerNorm gb, ${label}`);
        }
      }
    });

    test('log-softmax rows (cross-entropy) match the reference, with large logits and −∞ entries', () => {
      const be = wasmBackend(simd, threads);
      for (const [rows, cols] of [[1, 1], [3, 7], [17, 65], [5, 2048], [130, 3], [40, 1001]] as [number, number][]) {
        const next = rng(rows * 7 + cols);
        // Logits up to ±40: exp would overflow float32 without subtracting the row max.
        const x = randomArray(rows * cols, next).map((v) => 40 * v);
        if (cols > 1) for (let r = 0; r < rows; r += 2) x[r * cols + (r % cols)] = -Infinity; // a masked class
        const want = { lse: new Float32Array(rows), sum: new Float32Array(rows), p: new Float32Array(rows * cols) };
        const got = { lse: new Float32Array(rows), sum: new Float32Array(rows), p: new Float32Array(rows * cols) };
        reference.logSoftmaxRows(x, { rows, cols }, want.lse, want.sum, want.p);
        be.logSoftmaxRows(x, { rows, cols }, got.lse, got.sum, got.p);
        const label = `rows ${rows}, cols ${cols}`;
        assertClose(got.lse, want.lse, maxAbs(want.lse), 2e-6, `lse, ${label}`);
        assertClose(got.p, want.p, 1, 2e-6, `probs, ${label}`);
        const noProbs = { lse: new Float32Array(rows), sum: new Float32Array(rows) };
        be.logSoftmaxRows(x, { rows, cols }, noProbs.lse, noProbs.sum, null);
        assertClose(noProbs.lse, want.lse, maxAbs(want.lse), 2e-6, `lse without probs, ${label}`);
        // Σx with a −∞ in the row is −∞ on both sides; otherwise sums of cols terms of size ≤ 40.
        assertClose(got.sum, want.sum, 40 * cols, 1e-6, `Σx, ${label}`);
      }
    });

    test('bad lengths are errors that name the array', () => {
      const be = wasmBackend(simd, threads);
      assert.throws(() => be.geluTanh(new Float32Array(4), new Float32Array(3)), /geluTanh: out has 3 elements, expected 4/);
      assert.throws(
        () => be.layerNorm(new Float32Array(6), new Float32Array(2), new Float32Array(3), { rows: 2, cols: 3, eps: 1e-5 }, new Float32Array(6), new Float32Array(2), new Float32Array(2)),
        /layerNorm: w has 2 elements, needs 3 \(rows 2, cols 3\)/,
      );
    });
  });
}
