// Every row kernel (the elementwise and row-wise ops: ReLU, GELU in both forms, tanh, elementwise addition, layer norm, RMS norm, the
// log-softmax rows of cross-entropy, dropout, the fused dropout + residual + layer norm) on the WebAssembly backend against its plain-TypeScript reference, for
// both kernel builds with 1 and 2 threads (with 2, every call goes through the pool), on lengths and row
// widths that are not multiples of the 4-lane vectors or of the per-task chunks. GELU is also checked against
// float64 formulas (Math.tanh, and an erf computed here by series and continued fraction: oracles outside both
// backends) over its whole range, saturation included.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RowKernel } from '../../src/backend/backend.js';
import {
  GELU_ERF_BACKWARD,
  GELU_ERF_FORWARD,
  GELU_TANH_BACKWARD,
  GELU_TANH_FORWARD,
  RELU_BACKWARD,
  RELU_FORWARD,
  SILU_BACKWARD,
  SILU_FORWARD,
  TANH_BACKWARD,
  TANH_FORWARD,
} from '../../src/tensor/ops_elementwise.js';
import { ADD_ARRAYS } from '../../src/tensor/autograd.js';
import {
  ADD_LAYER_NORM_BACKWARD,
  ADD_LAYER_NORM_FORWARD,
  DROPOUT,
  LAYER_NORM_BACKWARD,
  LAYER_NORM_FORWARD,
  LOG_SOFTMAX,
  LOG_SOFTMAX_ROWS,
  RMS_NORM_BACKWARD,
  RMS_NORM_FORWARD,
} from '../../src/tensor/ops_nn.js';
import { dropThreshold, lowbias32 } from '../../src/backend/backend.js';
import { ADAMW_STEP } from '../../src/optim/adamw.js';
import { SCALE, SUM_OF_SQUARES } from '../../src/optim/schedule.js';
import { assertClose, maxAbs, randomArray, reference, rng, wasmBackend, wasmConfigs } from './_wasm.js';

const lengths = [1, 3, 4, 7, 17, 127, 1000, 70_001];
// [rows, cols]
const rowShapes: [number, number][] = [[1, 1], [1, 3], [3, 7], [17, 8], [5, 127], [64, 384], [130, 17]];

/** Run a kernel on both backends with the same inputs; outputs start as NaN (or 7 for colSums) to catch gaps. */
function both(be: ReturnType<typeof wasmBackend>, k: RowKernel, rows: number, cols: number, inputs: Float32Array[], params: number[], skip: number[] = []): { got: (Float32Array | null)[]; want: (Float32Array | null)[] } {
  const make = (fill: number): (Float32Array | null)[] =>
    k.outputs.map((kind, i) => (skip.includes(i) ? null : new Float32Array(kind === 'rows' ? rows * cols : kind === 'perRow' ? rows : cols).fill(kind === 'colSum' ? 7 : fill)));
  const want = make(0);
  const got = make(NaN);
  reference.runRows(k, rows, cols, inputs, want, params);
  be.runRows(k, rows, cols, inputs, got, params);
  return { got, want };
}

/** erf in float64 to ~1e-15: Taylor series near 0, Lentz's continued fraction for erfc beyond 2. */
function erf64(x: number): number {
  const z = Math.abs(x);
  if (z < 2) {
    let term = z;
    let sum = z;
    for (let n = 1; n < 60; n++) {
      term *= (-z * z) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(z) = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + …)))))
  let f = z;
  let C = z;
  let D = 0;
  for (let n = 1; n < 200; n++) {
    const a = n / 2;
    D = z + a * D;
    D = 1 / D;
    C = z + a / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.sign(x) * (1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / f);
}

/** GPT-2's gelu_new and the exact GELU in float64, and their derivatives. */
const geluTanh64 = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
function geluTanhGrad64(x: number): number {
  const t = Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * Math.sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * x * x);
}
const geluErf64 = (x: number): number => 0.5 * x * (1 + erf64(x / Math.SQRT2));
const geluErfGrad64 = (x: number): number => 0.5 * (1 + erf64(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);

test('the float64 erf oracle reproduces tabulated values', () => {
  // Abramowitz & Stegun table 7.1 / standard values.
  for (const [x, v] of [[0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [3, 0.9999779095030014]] as const) {
    assert.ok(Math.abs(erf64(x) - v) < 1e-14 && Math.abs(erf64(-x) + v) < 1e-14, `erf(${x}) = ${erf64(x)}, expected ${v}`);
  }
});

for (const { label, simd, threads } of wasmConfigs()) {
  describe(label, () => {
    const be = wasmBackend(simd, threads);

    for (const [name, fwd, bwd] of [['gelu (tanh)', GELU_TANH_FORWARD, GELU_TANH_BACKWARD], ['gelu (erf)', GELU_ERF_FORWARD, GELU_ERF_BACKWARD]] as const) {
      test(`${name} forward and backward match the reference on awkward lengths`, () => {
        for (const n of lengths) {
          const next = rng(n);
          const x = randomArray(n, next).map((v) => v * 6); // [-6, 6): the curved part and both tails
          const g = randomArray(n, next);
          const f = both(be, fwd, n, 1, [x], []);
          assertClose(f.got[0]!, f.want[0]!, maxAbs(f.want[0]!), 1e-6, `${name}, n=${n}`);
          const b = both(be, bwd, n, 1, [x, g], []);
          // The tanh form's derivative adds terms up to ~20 that cancel in the tails: a few 1e-6 in float32.
          assertClose(b.got[0]!, b.want[0]!, maxAbs(b.want[0]!), 6e-6, `${name} backward, n=${n}`);
        }
      });
    }

    test('relu forward and backward: exactly max(x, 0) and g·[x > 0], zeros, −0 and NaN included', () => {
      for (const n of lengths) {
        const next = rng(n + 7);
        const x = randomArray(n, next).map((v, i) => (i % 5 === 0 ? 0 : i % 7 === 0 ? -0 : i % 11 === 0 ? NaN : v));
        const g = randomArray(n, next);
        const f = both(be, RELU_FORWARD, n, 1, [x], []);
        const b = both(be, RELU_BACKWARD, n, 1, [x, g], []);
        for (let i = 0; i < n; i++) {
          // The definition, written out here: positive x passes, everything else (0, −0, negatives, NaN) is +0.
          const y = x[i]! > 0 ? x[i]! : 0;
          assert.ok(Object.is(f.got[0]![i], y), `relu(${x[i]}) = ${f.got[0]![i]}, n=${n}`);
          assert.ok(Object.is(b.got[0]![i], x[i]! > 0 ? g[i]! : 0), `relu'(${x[i]})·${g[i]} = ${b.got[0]![i]}, n=${n}`);
        }
      }
    });

    test('gelu (both forms) is within float32 rounding of the float64 formulas from −12 to 12, and saturates exactly', () => {
      const n = 24_001;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = -12 + (24 * i) / (n - 1);
      for (const [name, fwd, bwd, f64, g64] of [
        ['tanh', GELU_TANH_FORWARD, GELU_TANH_BACKWARD, geluTanh64, geluTanhGrad64],
        ['erf', GELU_ERF_FORWARD, GELU_ERF_BACKWARD, geluErf64, geluErfGrad64],
      ] as const) {
        const y = new Float32Array(n);
        const gx = new Float32Array(n);
        be.runRows(fwd, n, 1, [x], [y]);
        be.runRows(bwd, n, 1, [x, new Float32Array(n).fill(1)], [gx]);
        let worst = 0;
        let worstG = 0;
        for (let i = 0; i < n; i++) {
          worst = Math.max(worst, Math.abs(y[i]! - f64(x[i]!)) / Math.max(1, Math.abs(x[i]!)));
          worstG = Math.max(worstG, Math.abs(gx[i]! - g64(x[i]!)));
        }
        assert.ok(worst < 1e-6, `${name}: max |gelu − ref| / max(1, |x|) = ${worst}`);
        assert.ok(worstG < 6e-6, `${name}: max |gelu' − ref| = ${worstG}`);
        const sat = new Float32Array(5);
        be.runRows(fwd, 5, 1, [Float32Array.from([-100, -30, 30, 100, 0])], [sat]);
        // == 0 rather than deepEqual: x·0 is −0 for negative x, as in PyTorch.
        assert.ok(sat[0] === 0 && sat[1] === 0 && sat[2] === 30 && sat[3] === 100 && sat[4] === 0, `${name}: gelu([-100, -30, 30, 100, 0]) = ${Array.from(sat)}`);
      }
    });

    test('silu is within float32 rounding of x·σ(x) in float64 (σ by Math.exp) from −100 to 100, on awkward lengths', () => {
      // The oracle: σ(x) = 1 / (1 + e^−x) and its derivative, written out here in float64.
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      for (const n of [...lengths, 40_001]) {
        const x = new Float32Array(n);
        for (let i = 0; i < n; i++) x[i] = n === 1 ? 0.5 : -100 + (200 * i) / (n - 1);
        const g = randomArray(n, rng(n + 3));
        const y = new Float32Array(n).fill(NaN);
        const gx = new Float32Array(n).fill(NaN);
        be.runRows(SILU_FORWARD, n, 1, [x], [y]);
        be.runRows(SILU_BACKWARD, n, 1, [x, g], [gx]);
        let worst = 0;
        let worstG = 0;
        for (let i = 0; i < n; i++) {
          const v = x[i]!;
          const s = sig(v);
          worst = Math.max(worst, Math.abs(y[i]! - v * s) / Math.max(1, Math.abs(v)));
          worstG = Math.max(worstG, Math.abs(gx[i]! - g[i]! * s * (1 + v * (1 - s))));
        }
        assert.ok(worst < 1e-6, `silu, n=${n}: max |silu − ref| / max(1, |x|) = ${worst}`);
        assert.ok(worstG < 2e-6, `silu backward, n=${n}: max |silu' − ref| = ${worstG}`);
      }
      const sat = new Float32Array(4);
      be.runRows(SILU_FORWARD, 4, 1, [Float32Array.from([-1000, 0, 1000, -87.5])], [sat]);
      assert.ok(Math.abs(sat[0]!) < 1e-30 && sat[1] === 0 && sat[2] === 1000 && Math.abs(sat[3]!) < 1e-30, `silu([-1000, 0, 1000, -87.5]) = ${Array.from(sat)}`);
    });

    test('tanh is within float32 rounding of Math.tanh from −20 to 20 (exactly ±1 far out); its gradient is g·(1 − y²)', () => {
      for (const n of [...lengths, 40_001]) {
        const x = new Float32Array(n);
        for (let i = 0; i < n; i++) x[i] = n === 1 ? 0.5 : -20 + (40 * i) / (n - 1);
        const g = randomArray(n, rng(n + 5));
        const y = new Float32Array(n).fill(NaN);
        const gx = new Float32Array(n).fill(NaN);
        be.runRows(TANH_FORWARD, n, 1, [x], [y]);
        be.runRows(TANH_BACKWARD, n, 1, [y, g], [gx]);
        let worst = 0;
        let worstG = 0;
        for (let i = 0; i < n; i++) {
          const t = Math.tanh(x[i]!); // the oracle, in float64
          worst = Math.max(worst, Math.abs(y[i]! - t));
          worstG = Math.max(worstG, Math.abs(gx[i]! - g[i]! * (1 - t * t)));
        }
        assert.ok(worst < 1e-6, `tanh, n=${n}: max |tanh − Math.tanh| = ${worst}`);
        assert.ok(worstG < 2e-6, `tanh backward, n=${n}: max |g(1 − y²) − ref| = ${worstG}`);
      }
      const sat = new Float32Array(4);
      be.runRows(TANH_FORWARD, 4, 1, [Float32Array.from([-30, 9, -0, 1e-8])], [sat]);
      assert.ok(sat[0] === -1 && sat[1] === 1 && Object.is(sat[2], -0) && Math.abs(sat[3]! - 1e-8) < 1e-15, `tanh([-30, 9, -0, 1e-8]) = ${Array.from(sat)}`);
    });

    test('add_arrays is exactly a + b (float32 addition), also in place (y = a) and from arrays outside the memory', () => {
      for (const n of lengths) {
        const next = rng(n + 11);
        const a = randomArray(n, next);
        const b = randomArray(n, next).map((v, i) => (i % 9 === 0 ? -a[i]! : v)); // exact zeros among the sums
        const want = a.map((v, i) => Math.fround(v + b[i]!));
        const y = new Float32Array(n).fill(NaN);
        be.runRows(ADD_ARRAYS, n, 1, [a, b], [y]);
        assert.deepEqual(Array.from(y), Array.from(want), `a + b, n=${n}`);
        const inMemory = be.allocate(n); // in place, where the kernel reads and writes the same bytes
        inMemory.set(a);
        be.runRows(ADD_ARRAYS, n, 1, [inMemory, b], [inMemory]);
        assert.deepEqual(Array.from(inMemory), Array.from(want), `a += b in place, n=${n}`);
      }
    });

    test('log_softmax rows (beam search): the reference within float32 rounding, and every row a distribution', () => {
      for (const [rows, cols] of [...rowShapes, [4, 58_101]] as [number, number][]) {
        const next = rng(rows * 7 + cols);
        // Logits of a language model: spread over ±20 around an offset per row (the max must be taken out).
        const x = randomArray(rows * cols, next).map((v, i) => 20 * v + 5 * (Math.floor(i / cols) % 4));
        const r = both(be, LOG_SOFTMAX, rows, cols, [x], []);
        assertClose(r.got[0]!, r.want[0]!, 40 + Math.log(cols), 1e-6, `log_softmax, rows ${rows}, cols ${cols}`);
        for (let i = 0; i < rows; i++) {
          let s = 0; // Σ e^logp in float64: 1 for a log-probability row
          for (let c = 0; c < cols; c++) s += Math.exp(r.got[0]![i * cols + c]!);
          assert.ok(Math.abs(s - 1) < 1e-5, `log_softmax row ${i} of ${rows}×${cols}: Σ e^out = ${s}`);
        }
      }
    });

    test('layer norm and RMS norm forward and backward match the reference on awkward shapes', () => {
      for (const [rows, cols] of rowShapes) {
        const next = rng(rows * 1000 + cols);
        // An offset and a scale per row, as real activations have: the mean must really be subtracted.
        const x = randomArray(rows * cols, next).map((v, i) => 3 + 2 * v * (1 + (Math.floor(i / cols) % 3)));
        const w = randomArray(cols, next);
        const b = randomArray(cols, next);
        const g = randomArray(rows * cols, next);
        const label = `rows ${rows}, cols ${cols}`;
        const ln = both(be, LAYER_NORM_FORWARD, rows, cols, [x, w, b], [1e-5]);
        // x̂ is of order 1 (up to √cols), w and b below 1.
        assertClose(ln.got[0]!, ln.want[0]!, Math.sqrt(cols) + 1, 1e-5, `layerNorm out, ${label}`);
        assertClose(ln.got[1]!, ln.want[1]!, maxAbs(ln.want[1]!), 1e-6, `layerNorm mean, ${label}`);
        assertClose(ln.got[2]!, ln.want[2]!, maxAbs(ln.want[2]!), 1e-5, `layerNorm rstd, ${label}`);
        const rms = both(be, RMS_NORM_FORWARD, rows, cols, [x, w], [1e-6]);
        assertClose(rms.got[0]!, rms.want[0]!, Math.sqrt(cols) + 1, 1e-5, `rmsNorm out, ${label}`);
        assertClose(rms.got[1]!, rms.want[1]!, maxAbs(rms.want[1]!), 1e-5, `rmsNorm rstd, ${label}`);
        for (const withGx of [true, false]) {
          const skip = withGx ? [] : [0];
          const lb = both(be, LAYER_NORM_BACKWARD, rows, cols, [x, w, ln.want[1]!, ln.want[2]!, g], [], skip);
          if (withGx) assertClose(lb.got[0]!, lb.want[0]!, maxAbs(ln.want[2]!) * (cols + 1), 2e-6, `layerNorm gx, ${label}`);
          // Sums over the rows of terms of order √cols (overwritten: the 7s must be gone).
          assertClose(lb.got[1]!, lb.want[1]!, rows * (Math.sqrt(cols) + 1), 1e-6, `layerNorm gw, ${label}`);
          assertClose(lb.got[2]!, lb.want[2]!, rows, 1e-6, `layerNorm gb, ${label}`);
          const rb = both(be, RMS_NORM_BACKWARD, rows, cols, [x, w, rms.want[1]!, g], [], skip);
          if (withGx) assertClose(rb.got[0]!, rb.want[0]!, maxAbs(rms.want[1]!) * (cols + 1) * 5, 2e-6, `rmsNorm gx, ${label}`);
          assertClose(rb.got[1]!, rb.want[1]!, rows * (Math.sqrt(cols) + 1), 1e-6, `rmsNorm gw, ${label}`);
        }
      }
    });

    test('dropout matches the reference mask bit for bit, keeps about 1 − p, and is its own backward', () => {
      for (const n of lengths) {
        for (const p of [0.1, 0.5, 0.9]) {
          const x = randomArray(n, rng(n + 3));
          const params = [dropThreshold(p), 1 / (1 - p), lowbias32(1234567 + n)];
          const d = both(be, DROPOUT, n, 1, [x], params);
          // The same kept elements on both sides, scaled by the same float32 1/(1 − p): exactly equal.
          assert.deepEqual(Array.from(d.got[0]!), Array.from(d.want[0]!), `dropout p=${p}, n=${n}`);
          if (n === 70_001) {
            const kept = d.got[0]!.filter((v) => v !== 0).length / n;
            assert.ok(Math.abs(kept - (1 - p)) < 0.01, `kept ${kept} of the elements at p = ${p}`);
          }
        }
      }
    });

    test('add & layer norm (dropout, residual add, layer norm fused) forward and backward match the reference', () => {
      for (const [rows, cols] of rowShapes) {
        for (const p of [0, 0.25]) {
          const next = rng(rows * 1000 + cols + 7);
          const x = randomArray(rows * cols, next).map((v, i) => 2 * v * (1 + (Math.floor(i / cols) % 3)));
          const res = randomArray(rows * cols, next).map((v) => 3 + v);
          const w = randomArray(cols, next);
          const b = randomArray(cols, next);
          const g = randomArray(rows * cols, next);
          const drop = p > 0 ? [dropThreshold(p), 1 / (1 - p), lowbias32(99 + rows)] : [0, 1, 0];
          const label = `rows ${rows}, cols ${cols}, p ${p}`;
          const f = both(be, ADD_LAYER_NORM_FORWARD, rows, cols, [x, res, w, b], [1e-5, ...drop]);
          assertClose(f.got[0]!, f.want[0]!, Math.sqrt(cols) + 1, 1e-5, `addLayerNorm out, ${label}`);
          assertClose(f.got[1]!, f.want[1]!, maxAbs(f.want[1]!), 1e-6, `addLayerNorm mean, ${label}`);
          assertClose(f.got[2]!, f.want[2]!, maxAbs(f.want[2]!), 1e-5, `addLayerNorm rstd, ${label}`);
          for (const withGx of [true, false]) {
            const skip = withGx ? [] : [1];
            const bw = both(be, ADD_LAYER_NORM_BACKWARD, rows, cols, [x, res, w, f.want[1]!, f.want[2]!, g], drop, skip);
            const scale = maxAbs(f.want[2]!) * (cols + 1) * (p > 0 ? 1 / (1 - p) : 1);
            assertClose(bw.got[0]!, bw.want[0]!, scale, 2e-6, `addLayerNorm dz, ${label}`);
            if (withGx) assertClose(bw.got[1]!, bw.want[1]!, scale, 2e-6, `addLayerNorm dx, ${label}`);
            assertClose(bw.got[2]!, bw.want[2]!, rows * (Math.sqrt(cols) + 1), 1e-6, `addLayerNorm gw, ${label}`);
            assertClose(bw.got[3]!, bw.want[3]!, rows, 1e-6, `addLayerNorm gb, ${label}`);
          }
        }
      }
    });

    test('log-softmax rows (cross-entropy) match the reference, with large logits and −∞ entries', () => {
      for (const [rows, cols] of [[1, 1], [3, 7], [17, 65], [5, 2048], [130, 3], [40, 1001], [4, 0]] as [number, number][]) {
        const next = rng(rows * 7 + cols);
        // Logits up to ±40: exp would overflow float32 without subtracting the row max.
        const x = randomArray(rows * cols, next).map((v) => 40 * v);
        if (cols > 1) for (let r = 0; r < rows; r += 2) x[r * cols + (r % cols)] = -Infinity; // a masked class
        const label = `rows ${rows}, cols ${cols}`;
        for (const withProbs of [true, false]) {
          const r = both(be, LOG_SOFTMAX_ROWS, rows, cols, [x], [], withProbs ? [] : [2]);
          assertClose(r.got[0]!, r.want[0]!, maxAbs(r.want[0]!), 2e-6, `lse, ${label}`);
          // Σx with a −∞ in the row is −∞ on both sides; otherwise sums of cols terms of size ≤ 40.
          assertClose(r.got[1]!, r.want[1]!, 40 * cols, 1e-6, `Σx, ${label}`);
          if (withProbs) assertClose(r.got[2]!, r.want[2]!, 1, 2e-6, `probs, ${label}`);
        }
      }
    });

    test('the AdamW update matches the reference, in place on arrays in WebAssembly memory and copied for others', () => {
      // Step 3 of β = (0.9, 0.999), lr 1e-3, λ 0.01, ε 1e-8: the constants the optimizer passes.
      const [b1, b2, lr, wd, eps, t] = [0.9, 0.999, 1e-3, 0.01, 1e-8, 3];
      const params = [b1, b2, 1 - b1, 1 - b2, lr / (1 - b1 ** t), 1 - lr * wd, 1 / Math.sqrt(1 - b2 ** t), eps];
      for (const n of [1, 7, 4099, 70_001]) {
        const next = rng(n + 5);
        const [x, g, m] = [randomArray(n, next), randomArray(n, next), randomArray(n, next).map((v) => v * 0.1)];
        const v = randomArray(n, next).map((z) => z * z * 0.01);
        const want = [x.slice(), m.slice(), v.slice()];
        reference.runRows(ADAMW_STEP, n, 1, [x, g, m, v], want, params);
        for (const resident of [false, true]) {
          // Resident: the parameter and moments in the backend's memory, updated where they are.
          const place = (a: Float32Array): Float32Array => {
            if (!resident) return a.slice();
            const r = be.allocate(a.length);
            r.set(a);
            return r;
          };
          const [xx, mm, vv] = [place(x), place(m), place(v)];
          be.runRows(ADAMW_STEP, n, 1, [xx, g, mm, vv], [xx, mm, vv], params);
          const label = `n ${n}${resident ? ', in place' : ''}`;
          assertClose(xx, want[0]!, 1, 2e-6, `p, ${label}`);
          assertClose(mm, want[1]!, 1, 1e-6, `m, ${label}`);
          assertClose(vv, want[2]!, maxAbs(want[2]!), 1e-6, `v, ${label}`);
        }
      }
    });

    test('gradient clipping\'s sum of squares and rescale match the reference', () => {
      for (const n of lengths) {
        const x = randomArray(n, rng(n + 11)).map((v) => v * 3);
        const s = both(be, SUM_OF_SQUARES, n, 1, [x], []);
        let want = 0; // float64, independently of both backends
        for (let i = 0; i < n; i++) want += x[i]! * x[i]!;
        assert.ok(Math.abs(s.got[0]![0]! - want) <= 1e-6 * want + 1e-30, `Σx² of ${n}: ${s.got[0]} vs ${want}`);
        assert.ok(Math.abs(s.want[0]![0]! - want) <= 1e-6 * want + 1e-30, `reference Σx² of ${n}: ${s.want[0]} vs ${want}`);
        const y = both(be, SCALE, n, 1, [x], [0.37]);
        assert.deepEqual(Array.from(y.got[0]!), Array.from(y.want[0]!), `scale, n=${n}`);
      }
    });

    test('bad calls are errors that name the operand, on both backends', () => {
      for (const b of [be, reference]) {
        assert.throws(() => b.runRows(GELU_TANH_FORWARD, 4, 1, [new Float32Array(4)], [new Float32Array(3)]), /gelu_tanh_forward \(rows 4, cols 1\): output 0 \('rows'\) has 3 elements, needs 4/);
        assert.throws(
          () => b.runRows(LAYER_NORM_FORWARD, 2, 3, [new Float32Array(6), new Float32Array(2), new Float32Array(3)], [new Float32Array(6), new Float32Array(2), new Float32Array(2)], [1e-5]),
          /layernorm_forward \(rows 2, cols 3\): input 1 \('perCol'\) has 2 elements, needs 3/,
        );
        assert.throws(() => b.runRows(GELU_TANH_FORWARD, 4, 1, [new Float32Array(4)], []), /takes 1 inputs and 1 outputs, got 1 and 0/);
      }
    });
  });
}
