// Every backend's kernels against textbook float64 references written here, on random inputs:
// matmul in all transpose / batch-stride / accumulate cases, sizes that do not divide SIMD widths, packed
// weight caching keyed by bVersion; attention forward and backward under every mask kind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getBackend, type AttentionSpec, type MatmulSpec } from '../../src/backend/index.js';
import { Rng } from '../../src/tensor/index.js';
import { forEachBackend } from '../_backends.js';

function randomArray(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * rng.uniform() - 1;
  return a;
}

/** out[b][i][j] = Σ_p opA[b][i][p]·opB[b][p][j] (+ out0), straight from the definition, in float64. */
function refMatmul(a: Float32Array, b: Float32Array, out0: Float32Array, s: MatmulSpec): Float64Array {
  const { batch, m, n, k } = s;
  const out = new Float64Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = s.accumulate ? out0[bi * m * n + i * n + j] : 0;
        for (let p = 0; p < k; p++) {
          const av = s.transA ? a[bi * s.aBatchStride + p * m + i] : a[bi * s.aBatchStride + i * k + p];
          const bv = s.transB ? b[bi * s.bBatchStride + j * k + p] : b[bi * s.bBatchStride + p * n + j];
          acc += av * bv;
        }
        out[bi * m * n + i * n + j] = acc;
      }
    }
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i];
    const a = actual[i];
    if (e === -Infinity || a === -Infinity) {
      assert.equal(a, e, `${what}[${i}]`);
      continue;
    }
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e)))) assert.fail(`${what}[${i}]: got ${a}, expected ${e}`);
  }
}

/** Attention in float64 the long way: scores, mask, softmax, weighted sum; then the backward by the chain rule. */
function refAttention(q: Float32Array, k: Float32Array, v: Float32Array, dOut: Float32Array, s: AttentionSpec) {
  const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D, scale } = s;
  const out = new Float64Array(B * H * Tq * D);
  const lse = new Float64Array(B * H * Tq);
  const weights = new Float64Array(B * H * Tq * Tk);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      for (let i = 0; i < Tq; i++) {
        const pos = Tk - Tq + i;
        const row = bh * Tq + i;
        const vis = (j: number): boolean =>
          !(s.causal && j > pos) && !(s.window > 0 && pos - j >= s.window) && !(s.keyMask && s.keyMask[b * Tk + j] === 0);
        const sc: number[] = [];
        for (let j = 0; j < Tk; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(row * D) + d] * k[(bh * Tk + j) * D + d];
          sc.push(vis(j) ? scale * dot : -Infinity);
        }
        const mx = Math.max(...sc);
        if (mx === -Infinity) {
          lse[row] = -Infinity;
          continue;
        }
        const z = sc.reduce((acc, x) => acc + Math.exp(x - mx), 0);
        lse[row] = mx + Math.log(z);
        const p = sc.map((x) => Math.exp(x - mx) / z);
        for (let j = 0; j < Tk; j++) {
          weights[row * Tk + j] = p[j];
          for (let d = 0; d < D; d++) out[row * D + d] += p[j] * v[(bh * Tk + j) * D + d];
        }
        // Backward of out_i = Σ_j p_j v_j with p = softmax(s): dp_j = dOut_i·v_j; ds_j = p_j (dp_j − Σ_l p_l dp_l).
        const dp = p.map((_, j) => {
          let acc = 0;
          for (let d = 0; d < D; d++) acc += dOut[row * D + d] * v[(bh * Tk + j) * D + d];
          return acc;
        });
        const pdp = p.reduce((acc, pj, j) => acc + pj * dp[j], 0);
        for (let j = 0; j < Tk; j++) {
          const ds = p[j] * (dp[j] - pdp);
          for (let d = 0; d < D; d++) {
            dv[(bh * Tk + j) * D + d] += p[j] * dOut[row * D + d];
            dq[row * D + d] += scale * ds * k[(bh * Tk + j) * D + d];
            dk[(bh * Tk + j) * D + d] += scale * ds * q[row * D + d];
          }
        }
      }
    }
  }
  return { out, lse, weights, dq, dk, dv };
}

forEachBackend((name) => {
  test(`matmul matches the float64 definition: all transposes, batch strides, accumulate (${name})`, () => {
    const rng = new Rng(1);
    const sizes: [number, number, number][] = [
      [1, 1, 1],
      [3, 5, 7],
      [4, 8, 16],
      [17, 9, 33],
      [33, 65, 18],
    ];
    for (const [m, n, k] of sizes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const [batch, aShared, bShared] of [[1, false, false], [3, false, false], [3, true, false], [3, false, true]] as const) {
            for (const accumulate of [false, true]) {
              const s: MatmulSpec = { batch, m, n, k, transA, transB, aBatchStride: aShared ? 0 : m * k, bBatchStride: bShared ? 0 : k * n, accumulate };
              const a = randomArray((aShared ? 1 : batch) * m * k, rng);
              const b = randomArray((bShared ? 1 : batch) * k * n, rng);
              const out = randomArray(batch * m * n, rng);
              const expected = refMatmul(a, b, out, s);
              getBackend().matmul(a, b, out, s);
              assertClose(out, expected, 1e-5 * Math.sqrt(k), `${name} matmul ${JSON.stringify(s)}`);
            }
          }
        }
      }
    }
  });

  test(`matmul with batch strides larger than one matrix (every other matrix of a buffer) (${name})`, () => {
    const rng = new Rng(2);
    const [m, n, k, batch] = [5, 6, 7, 3];
    const a = randomArray(batch * 2 * m * k, rng);
    const b = randomArray(batch * 2 * k * n, rng);
    const s: MatmulSpec = { batch, m, n, k, transA: false, transB: true, aBatchStride: 2 * m * k, bBatchStride: 2 * k * n, accumulate: false };
    const out = new Float32Array(batch * m * n);
    getBackend().matmul(a, b, out, s);
    assertClose(out, refMatmul(a, b, out, s), 1e-5, `${name} strided batch`);
  });

  test(`matmul with bVersion: a changed weight with a new version is seen; same array read both ways (${name})`, () => {
    const rng = new Rng(3);
    const [m, n, k] = [8, 24, 40];
    const a = randomArray(m * k, rng);
    const w = randomArray(k * n, rng);
    const s = (transB: boolean, version: number): MatmulSpec => ({
      batch: 1, m, n: transB ? k : n, k: transB ? n : k, transA: false, transB, aBatchStride: 0, bBatchStride: 0, accumulate: false, bVersion: version,
    });
    const out = new Float32Array(m * n);
    getBackend().matmul(a, w, out, s(false, 1));
    assertClose(out, refMatmul(a, w, out, s(false, 1)), 1e-5, 'first');
    for (let i = 0; i < w.length; i++) w[i] *= -2; // an optimizer step...
    getBackend().matmul(a, w, out, s(false, 2)); // ...bumps the version
    assertClose(out, refMatmul(a, w, out, s(false, 2)), 1e-5, 'after update');
    // The same storage read as a transposed (n, k) matrix: a (m, n)·(n, k) product.
    const a2 = randomArray(m * n, rng);
    const out2 = new Float32Array(m * k);
    getBackend().matmul(a2, w, out2, s(true, 2));
    assertClose(out2, refMatmul(a2, w, out2, s(true, 2)), 1e-5, 'transposed read');
  });

  test(`attention forward and backward match float64 softmax attention under every mask (${name})`, () => {
    const rng = new Rng(4);
    const cases: { B: number; H: number; Tq: number; Tk: number; D: number; causal: boolean; window: number; mask: boolean }[] = [
      { B: 1, H: 1, Tq: 1, Tk: 1, D: 1, causal: false, window: 0, mask: false },
      { B: 2, H: 3, Tq: 5, Tk: 5, D: 4, causal: false, window: 0, mask: false },
      { B: 2, H: 2, Tq: 7, Tk: 7, D: 8, causal: true, window: 0, mask: false },
      { B: 1, H: 2, Tq: 9, Tk: 9, D: 16, causal: true, window: 3, mask: false },
      { B: 1, H: 1, Tq: 6, Tk: 6, D: 5, causal: false, window: 2, mask: false },
      { B: 3, H: 2, Tq: 6, Tk: 6, D: 4, causal: false, window: 0, mask: true },
      { B: 2, H: 2, Tq: 3, Tk: 11, D: 8, causal: true, window: 0, mask: true },
      { B: 1, H: 2, Tq: 1, Tk: 13, D: 64, causal: true, window: 5, mask: false },
      { B: 1, H: 1, Tq: 37, Tk: 37, D: 64, causal: true, window: 0, mask: false },
      { B: 2, H: 1, Tq: 4, Tk: 6, D: 3, causal: false, window: 0, mask: true },
    ];
    for (const c of cases) {
      const spec: AttentionSpec = { batch: c.B, heads: c.H, tq: c.Tq, tk: c.Tk, headDim: c.D, scale: 1 / Math.sqrt(c.D), causal: c.causal, window: c.window };
      if (c.mask) {
        const m = new Uint8Array(c.B * c.Tk);
        for (let i = 0; i < m.length; i++) m[i] = rng.uniform() < 0.7 ? 1 : 0;
        m.fill(0, 0, c.Tk); // batch 0 entirely padded: every row fully masked
        spec.keyMask = m;
      }
      const q = randomArray(c.B * c.H * c.Tq * c.D, rng);
      const k = randomArray(c.B * c.H * c.Tk * c.D, rng);
      const v = randomArray(c.B * c.H * c.Tk * c.D, rng);
      const dOut = randomArray(q.length, rng);
      const ref = refAttention(q, k, v, dOut, spec);
      const fw = getBackend().attentionForward(q, k, v, spec, true);
      const what = `${name} attention ${JSON.stringify(c)}`;
      assertClose(fw.out, ref.out, 1e-5, `${what} out`);
      assertClose(fw.lse, ref.lse, 1e-5, `${what} lse`);
      assert.ok(fw.weights, `${what}: weights were asked for`);
      assertClose(fw.weights, ref.weights, 1e-5, `${what} weights`);
      const bw = getBackend().attentionBackward(q, k, v, fw.out, fw.lse, dOut, spec);
      assertClose(bw.dq, ref.dq, 1e-4, `${what} dq`);
      assertClose(bw.dk, ref.dk, 1e-4, `${what} dk`);
      assertClose(bw.dv, ref.dv, 1e-4, `${what} dv`);
      const noWeights = getBackend().attentionForward(q, k, v, spec, false);
      assert.equal(noWeights.weights, undefined, `${what}: weights only when asked`);
    }
  });
});
