// Every backend's kernels against textbook float64 references written here, on random inputs:
// matmul in all transpose / batch-stride / accumulate cases, sizes that do not divide SIMD widths, packed
// weight caching keyed by bVersion. (Attention is tested the same way, at the op level, in attention.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getBackend, type MatmulSpec } from '../../src/backend/index.js';
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
});
