// WebAssembly matmul against the reference backend, on shapes chosen to hit every edge of the tiling
// (kernels/gemm.ts: MR × NR = 3 × 12 in the relaxed build, 4 × 8 in the baseline one; KC = 256; MC = 129 /
// 128): sizes 1, 3, 7, 17, 127, one past a tile (129, 130, 257; 13, 25 past whole 12-column panels), batched
// with batch strides (including 0, a broadcast matrix), transposed operands, accumulation; for both kernel
// builds (fused multiply-add and multiply+add) with 1 and 2 threads.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MatmulSpec } from '../../src/backend/backend.js';
import { assertClose, randomArray, reference, rng, wasmBackend, wasmConfigs } from './_wasm.js';

interface Case {
  batch: number;
  m: number;
  n: number;
  k: number;
  /** 'own': each batch entry its own matrix; 'shared': batch stride 0 (one matrix broadcast). */
  a: 'own' | 'shared';
  b: 'own' | 'shared';
}

// Small shapes run on one thread (below the parallel threshold); the larger ones split into tiles across
// threads, with partial tiles at every edge.
const cases: Case[] = [
  { batch: 1, m: 1, n: 1, k: 1, a: 'own', b: 'own' },
  { batch: 1, m: 3, n: 7, k: 17, a: 'own', b: 'own' },
  { batch: 1, m: 17, n: 3, k: 7, a: 'own', b: 'own' },
  { batch: 1, m: 7, n: 17, k: 3, a: 'own', b: 'own' },
  { batch: 1, m: 1, n: 127, k: 129, a: 'own', b: 'own' }, // one row: the M = 1 micro-kernel
  { batch: 1, m: 127, n: 1, k: 17, a: 'own', b: 'own' },
  { batch: 3, m: 5, n: 9, k: 7, a: 'own', b: 'shared' }, // a weight shared by the batch
  { batch: 2, m: 4, n: 8, k: 3, a: 'shared', b: 'own' },
  { batch: 1, m: 129, n: 127, k: 257, a: 'own', b: 'own' }, // past MC, past KC: parallel, every edge
  { batch: 1, m: 130, n: 25, k: 260, a: 'own', b: 'own' }, // past MC in both builds; a panel and one column past 24
  { batch: 2, m: 11, n: 13, k: 9, a: 'own', b: 'own' }, // 3×12 edges: rows 3+3+3+2, one column past a panel
  { batch: 2, m: 67, n: 131, k: 300, a: 'own', b: 'shared' },
  { batch: 3, m: 33, n: 40, k: 257, a: 'own', b: 'own' },
  { batch: 1, m: 300, n: 24, k: 50, a: 'own', b: 'own' }, // on the pool: row tiles of 40 (not MC), the last of 20
  { batch: 2, m: 100, n: 70, k: 19, a: 'own', b: 'shared' }, // …of 28 per batch entry, the last of 16, and N cut too
  { batch: 1, m: 1, n: 2304, k: 768, a: 'own', b: 'own' }, // generating one token through a GPT-2 c_attn
  // A few rows (M ≤ 8) read B where it is (gemv_task): every row count, widths around its 32/8/4 tiles.
  { batch: 1, m: 2, n: 37, k: 19, a: 'own', b: 'own' },
  { batch: 1, m: 3, n: 65, k: 33, a: 'own', b: 'own' },
  { batch: 1, m: 4, n: 100, k: 9, a: 'own', b: 'own' },
  { batch: 1, m: 1, n: 99, k: 1, a: 'own', b: 'own' },
  { batch: 1, m: 1, n: 37, k: 19, a: 'own', b: 'own' }, // one row: four rows of B per pass plus 3 more, 9 vectors + 1 column
  { batch: 2, m: 2, n: 41, k: 13, a: 'own', b: 'shared' }, // two batch entries × 2 rows against one weight: 4 rows
  { batch: 2, m: 1, n: 23, k: 11, a: 'shared', b: 'shared' }, // one row and one weight shared by both entries
  { batch: 1, m: 4, n: 3072, k: 768, a: 'own', b: 'own' }, // 4 beams through a GPT-2 MLP, on several threads
  // 2–8 rows (gemv_task's several-row kernels): every row count, odd N and K (vector tails of B's rows for
  // (N, K), scalar columns for (K, N)), K past the 8-value steps, N past the column blocks of B stored (K, N).
  { batch: 1, m: 2, n: 1031, k: 21, a: 'own', b: 'own' },
  { batch: 1, m: 3, n: 13, k: 35, a: 'own', b: 'own' },
  { batch: 1, m: 4, n: 517, k: 15, a: 'own', b: 'own' },
  { batch: 1, m: 5, n: 29, k: 43, a: 'own', b: 'own' },
  { batch: 1, m: 6, n: 3, k: 5, a: 'own', b: 'own' },
  { batch: 1, m: 7, n: 263, k: 27, a: 'own', b: 'own' },
  { batch: 1, m: 8, n: 45, k: 131, a: 'own', b: 'own' },
  { batch: 4, m: 2, n: 19, k: 23, a: 'own', b: 'shared' }, // 4 entries × 2 rows against one weight: 8 rows
  { batch: 1, m: 8, n: 515, k: 515, a: 'own', b: 'own' }, // 8 rows on several threads, tails everywhere
  // On several threads, a few rows against B stored (K, N) cut the sum over K (gemv_ksplit_task, K ≥ 32) and
  // add the parts, on the pool when there are many (gemv_reduce_task): N a multiple of 4 (vector sums with the
  // bias) and not (a row of C ends inside a vector), K not a multiple of the parts.
  { batch: 1, m: 7, n: 2400, k: 101, a: 'own', b: 'own' },
  { batch: 1, m: 8, n: 2101, k: 64, a: 'own', b: 'own' },
  { batch: 1, m: 1, n: 33, k: 47, a: 'own', b: 'own' },
];

function runCase(c: Case, transA: boolean, transB: boolean, accumulate: boolean, seed: number, simd: 'relaxed' | 'baseline', threads: number, withBias = false): void {
  const next = rng(seed);
  const aStride = c.a === 'own' ? c.m * c.k : 0;
  const bStride = c.b === 'own' ? c.k * c.n : 0;
  const a = randomArray(c.a === 'own' ? c.batch * c.m * c.k : c.m * c.k, next);
  const b = randomArray(c.b === 'own' ? c.batch * c.k * c.n : c.k * c.n, next);
  const spec: MatmulSpec = {
    batch: c.batch, m: c.m, n: c.n, k: c.k, transA, transB, aBatchStride: aStride, bBatchStride: bStride, accumulate,
  };
  if (withBias) spec.bias = randomArray(c.n, next);
  const start = accumulate ? randomArray(c.batch * c.m * c.n, next) : new Float32Array(c.batch * c.m * c.n).fill(NaN);
  const want = accumulate ? start.slice() : new Float32Array(c.batch * c.m * c.n);
  reference.matmul(a, b, want, spec);
  const got = start.slice(); // without accumulate, NaNs that must all be overwritten
  wasmBackend(simd, threads).matmul(a, b, got, spec);

  // Scale of each output: Σ_p |a_ip|·|b_pj| (+ |out| when accumulating), the size of what was summed.
  const scale = accumulate ? start.map(Math.abs) : new Float32Array(c.batch * c.m * c.n);
  const absSpec: MatmulSpec = { ...spec, accumulate };
  if (spec.bias) absSpec.bias = spec.bias.map(Math.abs);
  reference.matmul(a.map(Math.abs), b.map(Math.abs), scale, absSpec);
  const label = `${c.batch}×(${c.m}×${c.k})·(${c.k}×${c.n}) A:${c.a}${transA ? 'ᵀ' : ''} B:${c.b}${transB ? 'ᵀ' : ''}${accumulate ? ' +=' : ''}${withBias ? ' + bias' : ''}`;
  assertClose(got, want, scale, 1e-5, label);
}

for (const { label, simd, threads } of wasmConfigs()) {
  describe(`matmul, ${label}`, () => {
    test('matches the reference on awkward shapes, every transpose combination', () => {
      let seed = 1;
      for (const c of cases) {
        for (const transA of [false, true]) for (const transB of [false, true]) runCase(c, transA, transB, false, seed++, simd, threads);
      }
    });

    test('accumulate adds into out', () => {
      let seed = 100;
      for (const c of cases) runCase(c, seed % 2 === 0, seed % 3 === 0, true, seed++, simd, threads);
    });

    test('a bias row is added to every row of every batch entry (with and without accumulate)', () => {
      let seed = 200;
      for (const c of cases) {
        runCase(c, seed % 2 === 0, seed % 3 === 0, false, seed++, simd, threads, true);
        runCase(c, seed % 2 === 0, seed % 3 === 0, true, seed++, simd, threads, true);
      }
    });
  });
}

/** linearBackward (dx, dW, db in one call) against the reference's three separate computations. */
function runLinearBackward(rows: number, inF: number, outF: number, layout: 'in_out' | 'out_in', want: 'all' | 'dx' | 'dw+db', seed: number, simd: 'relaxed' | 'baseline', threads: number): void {
  const next = rng(seed);
  const x = randomArray(rows * inF, next);
  const w = randomArray(inF * outF, next);
  const dy = randomArray(rows * outF, next);
  const spec = { rows, inF, outF, layout, wVersion: seed };
  const ref = { dx: new Float32Array(rows * inF), dw: new Float32Array(inF * outF), db: new Float32Array(outF) };
  reference.linearBackward(x, w, dy, spec, ref.dx, ref.dw, ref.db);
  const got = { dx: new Float32Array(rows * inF).fill(NaN), dw: new Float32Array(inF * outF).fill(NaN), db: new Float32Array(outF).fill(NaN) };
  const be = wasmBackend(simd, threads);
  be.linearBackward(x, w, dy, spec, want !== 'dw+db' ? got.dx : null, want !== 'dx' ? got.dw : null, want !== 'dx' ? got.db : null);
  const label = `linearBackward rows ${rows}, in ${inF}, out ${outF}, ${layout}, ${want}`;
  // Every term is a product of two values in [-1, 1): sums of outF (dx) or rows (dW, db) of them.
  if (want !== 'dw+db') assertClose(got.dx, ref.dx, outF, 1e-5, `dx, ${label}`);
  else assert.ok(got.dx.every(Number.isNaN), `${label}: dx not asked for, not written`);
  if (want !== 'dx') {
    assertClose(got.dw, ref.dw, rows, 1e-5, `dW, ${label}`);
    assertClose(got.db, ref.db, rows, 1e-5, `db, ${label}`);
  } else {
    assert.ok(got.dw.every(Number.isNaN) && got.db.every(Number.isNaN), `${label}: dW and db not asked for, not written`);
  }
}

for (const { label, simd, threads } of wasmConfigs()) {
  describe(`linear backward, ${label}`, () => {
    test('dx, dW and db match the reference for both weight layouts, on awkward shapes', () => {
      let seed = 300;
      for (const [rows, inF, outF] of [[1, 1, 1], [3, 7, 17], [17, 3, 5], [129, 127, 33], [300, 64, 130], [5, 768, 1], [2, 9, 70]]) {
        for (const layout of ['in_out', 'out_in'] as const) {
          for (const want of ['all', 'dx', 'dw+db'] as const) runLinearBackward(rows!, inF!, outF!, layout, want, seed++, simd, threads);
        }
      }
    });
  });
}

describe('matmul, wasm specifics', () => {
  const backend = wasmBackend(wasmConfigs()[0]!.simd, 2);

  test('a hand-computed product: [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]]', () => {
    const out = new Float32Array(4);
    backend.matmul(new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8]), out, {
      batch: 1, m: 2, n: 2, k: 2, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false,
    });
    assert.deepEqual([...out], [19, 22, 43, 50]);
    backend.matmul(new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8]), out, {
      batch: 1, m: 2, n: 2, k: 2, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false, bias: new Float32Array([1, -1]),
    });
    assert.deepEqual([...out], [20, 21, 44, 49]);
  });

  test('K = 0 gives zeros (or leaves out unchanged when accumulating)', () => {
    const spec: MatmulSpec = { batch: 2, m: 2, n: 3, k: 0, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false };
    const out = new Float32Array(12).fill(5);
    backend.matmul(new Float32Array(0), new Float32Array(0), out, spec);
    assert.deepEqual([...out], new Array(12).fill(0));
    out.fill(5);
    backend.matmul(new Float32Array(0), new Float32Array(0), out, { ...spec, accumulate: true });
    assert.deepEqual([...out], new Array(12).fill(5));
  });

  test('packed-B cache: a new bVersion sees the new values, the same array under two shapes is not confused', () => {
    for (const threads of [1, 2]) {
      const be = wasmBackend(wasmConfigs()[0]!.simd, threads);
      const next = rng(7 + threads);
      const [m, n, k] = [5, 300, 270]; // B big enough to be packed in several K blocks
      const a = randomArray(m * k, next);
      const w = randomArray(k * n, next);
      const spec: MatmulSpec = { batch: 1, m, n, k, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false, bVersion: 1 };
      const aWide = randomArray(m * n, next); // A for reading w as (N, K)ᵀ: K = n
      const check = (s: MatmulSpec, what: string): void => {
        const x = s.k === k ? a : aWide;
        const want = new Float32Array(m * s.n);
        reference.matmul(x, w, want, s);
        const got = new Float32Array(m * s.n);
        be.matmul(x, w, got, s);
        const scale = new Float32Array(m * s.n);
        reference.matmul(x.map(Math.abs), w.map(Math.abs), scale, s);
        assertClose(got, want, scale, 1e-5, `${what} (${threads} thread${threads > 1 ? 's' : ''})`);
      };
      check(spec, 'first call, version 1');
      check(spec, 'second call, version 1 (from the cache)');
      // An optimizer step writes the weight in place and bumps its version: the cache must repack.
      for (let i = 0; i < w.length; i++) w[i] = 3 * w[i]! - 0.5;
      check({ ...spec, bVersion: 2 }, 'after an in-place update, version 2');
      // The same storage read as a different matrix (transposed, another N) must not reuse that packing.
      check({ ...spec, transB: true, n: k, k: n, bVersion: 2 }, 'same array and version, transposed shape');
      check({ ...spec, bVersion: 2 }, 'back to the first shape');
    }
  });

  test('bad specs are rejected with the numbers in the message', () => {
    const spec: MatmulSpec = { batch: 2, m: 3, n: 4, k: 5, transA: false, transB: false, aBatchStride: 15, bBatchStride: 0, accumulate: false };
    assert.throws(() => backend.matmul(new Float32Array(20), new Float32Array(20), new Float32Array(24), spec), /A has 20 elements.*needs 30/);
    assert.throws(() => backend.matmul(new Float32Array(30), new Float32Array(19), new Float32Array(24), spec), /B has 19 elements.*needs 20/);
    assert.throws(() => backend.matmul(new Float32Array(30), new Float32Array(20), new Float32Array(23), spec), /out has 23 elements.*needs 24/);
    assert.throws(() => backend.matmul(new Float32Array(30), new Float32Array(20), new Float32Array(24), { ...spec, m: 2.5 }), /spec\.m must be a non-negative integer, got 2\.5/);
  });
});
