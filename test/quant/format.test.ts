// The int8 / int4 weight formats (src/quant/format.ts) against values worked out by hand from their definition
//   scale = max |w| over the group / qmax,   q = round(w / scale) (half away from zero),   w ≈ scale · q
// and the nibble layout of int4 (byte i of a row: weight 2i in the low nibble, 2i + 1 in the high, each q + 8);
// the error bound every format promises (|w − scale·q| ≤ scale / 2); the group-size rules and their errors; and
// the tensor-level rules: a quantised weight has no float storage and no gradient, and linear() / embedding()
// on it compute what they compute on its dequantised float values.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkQuantSpec, groupSizeFor, quantizeMatrix, QuantizedMatrix, type QuantBits } from '../../src/quant/format.js';
import { QuantizedTensor, dequantize } from '../../src/quant/tensor.js';
import { embedding, linear, noGrad, tensor } from '../../src/tensor/index.js';
import { forEachBackend } from '../_backends.js';
import { randomArray, rng } from '../backend/_wasm.js';

const plain = (n: number) => new Float32Array(n);

describe('quantizeMatrix: hand-worked values', () => {
  test('int8, one scale per row: scale = max|w| / 127, q = round(w / scale)', () => {
    // Row 0: max |w| = 4, so scale = 4/127; 1 → 31.75 → 32, −2.1 → −66.675 → −67, 0.5 → 15.875 → 16, 4 → 127.
    // Row 1 is all zeros: scale 0 and q 0 (no division by zero).
    const m = quantizeMatrix(Float32Array.from([1, -2.1, 0.5, 4, 0, 0, 0, 0]), 2, 4, 'out_in', { bits: 8, groupSize: 4 }, plain);
    assert.deepEqual(Array.from(new Int8Array(m.data.buffer, m.data.byteOffset, 8)), [32, -67, 16, 127, 0, 0, 0, 0]);
    assert.equal(m.scales[0], Math.fround(4 / 127));
    assert.equal(m.scales[1], 0);
    assert.deepEqual(Array.from(m.row(0)), [32, -67, 16, 127].map((q) => Math.fround(Math.fround(4 / 127) * q)));
  });

  test("'in_out' (GPT-2's Conv1D, stored (K, N)) is quantised from its transpose: rows are outputs", () => {
    // W (K=4, N=2) in_out: column 0 is output 0 = [1, -2.1, 0.5, 4], column 1 is output 1 = [0, 0, 0, 2].
    const inOut = Float32Array.from([1, 0, -2.1, 0, 0.5, 0, 4, 2]);
    const m = quantizeMatrix(inOut, 2, 4, 'in_out', { bits: 8, groupSize: 4 }, plain);
    assert.deepEqual(Array.from(new Int8Array(m.data.buffer, m.data.byteOffset, 8)), [32, -67, 16, 127, 0, 0, 0, 127]);
    assert.deepEqual(Array.from(m.scales), [Math.fround(4 / 127), Math.fround(2 / 127)]);
  });

  test('int4, a group of 32: scale = max|w| / 7, two weights per byte, low nibble first, stored as q + 8', () => {
    // w_i = (i − 15.5) / 15.5: max |w| = 1, so q_i = round(7·w_i) = −7, −7, −6, −6, −5, −5, −4, −4, −3, −3, −2, −2,
    // −2, −1, −1, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7 (no ties: 7·w_i is never k + ½).
    // Byte i = (q_2i + 8) | (q_2i+1 + 8) << 4: byte 0 = 1 | 1 << 4 = 0x11, byte 6 = (−2 + 8) | (−1 + 8) << 4 = 0x76.
    const w = Float32Array.from({ length: 32 }, (_, i) => (i - 15.5) / 15.5);
    const m = quantizeMatrix(w, 1, 32, 'out_in', { bits: 4, groupSize: 32 }, plain);
    const bytes = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x76, 0x87, 0x98, 0xa9, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];
    assert.deepEqual(Array.from(m.data), bytes);
    assert.equal(m.scales[0], Math.fround(1 / 7));
    const q = [-7, -7, -6, -6, -5, -5, -4, -4, -3, -3, -2, -2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7];
    assert.deepEqual(Array.from(m.row(0)), q.map((v) => Math.fround(Math.fround(1 / 7) * v)));
  });

  test('each group has its own scale', () => {
    // K = 64 in two groups of 32: the first group's weights are 100× the second's, and both keep 7 levels.
    const w = Float32Array.from({ length: 64 }, (_, i) => (i < 32 ? 100 : 1) * ((i % 32) - 15.5) / 15.5);
    const m = quantizeMatrix(w, 1, 64, 'out_in', { bits: 4, groupSize: 32 }, plain);
    assert.deepEqual(Array.from(m.scales), [Math.fround(100 / 7), Math.fround(1 / 7)]);
    assert.deepEqual(Array.from(m.data.subarray(0, 16)), Array.from(m.data.subarray(16, 32)), 'the same q in both groups');
  });

  test('a non-finite weight is an error naming its (output, input)', () => {
    const w = new Float32Array(8);
    w[6] = NaN; // 'out_in' (2, 4): output 1, input 2
    assert.throws(() => quantizeMatrix(w, 2, 4, 'out_in', { bits: 8, groupSize: 4 }, plain), /weight \(1, 2\) \(output, input\) is NaN/);
  });
});

test('every weight is within half a step of its value: |w − scale·q| ≤ scale / 2', () => {
  const next = rng(11);
  for (const [bits, n, k, g] of [[8, 7, 100, 100], [8, 5, 96, 32], [4, 9, 64, 32], [4, 3, 256, 128], [4, 4, 96, 96]] as [QuantBits, number, number, number][]) {
    const w = randomArray(n * k, next);
    for (let i = 0; i < w.length; i += 17) w[i] = w[i]! * 30; // outliers make some groups coarse
    const m = quantizeMatrix(w, n, k, 'out_in', { bits, groupSize: g }, plain);
    const back = m.dequantize();
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < k; i++) {
        const scale = m.scales[j * (k / g) + Math.floor(i / g)]!;
        const err = Math.abs(w[j * k + i]! - back[j * k + i]!);
        assert.ok(err <= scale / 2 * (1 + 1e-6), `int${bits} g${g}: (${j}, ${i}) error ${err} > scale/2 = ${scale / 2}`);
      }
    }
  }
});

test('group sizes: the defaults, and the rules with errors that say why', () => {
  assert.deepEqual(groupSizeFor({ bits: 8 }, 768), { groupSize: 768 }, 'int8: one scale per output channel');
  assert.deepEqual(groupSizeFor({ bits: 4 }, 768), { groupSize: 32 }, 'int4: groups of 32');
  assert.deepEqual(groupSizeFor({ bits: 8 }, 37), { groupSize: 37 }, 'int8 per channel takes any K');
  assert.deepEqual(groupSizeFor({ bits: 4, groupSize: 128 }, 768), { groupSize: 128 });
  const why = (r: ReturnType<typeof groupSizeFor>) => ('why' in r ? r.why : '');
  assert.match(why(groupSizeFor({ bits: 4 }, 48)), /multiple of 32, got K = 48/);
  assert.match(why(groupSizeFor({ bits: 8, groupSize: 64 }, 96)), /group size 64 does not divide K = 96/);
  assert.match(why(groupSizeFor({ bits: 8, groupSize: 48 }, 96)), /group size 48 must be a multiple of 32/);
  assert.throws(() => checkQuantSpec({ bits: 3 as QuantBits }), /bits must be 8 or 4, got 3/);
  assert.throws(() => checkQuantSpec({ bits: 8, groupSize: 0 }), /group size must be a positive integer, got 0/);
  assert.throws(() => checkQuantSpec({ bits: 4, groupSize: 2.5 }), /got 2.5/);
});

test('QuantizedMatrix.allocate: zeroed room with slack after the last row (the int8 kernel reads up to 32 bytes past it)', () => {
  const m = QuantizedMatrix.allocate(8, 3, 5, 5, plain);
  assert.equal(m.data.length, 15);
  assert.ok(m.data.buffer.byteLength >= 15 + 32);
  assert.equal(m.scales.length, 3);
  assert.throws(() => m.row(3), /row 3 is out of range for 3 rows/);
});

forEachBackend(() => {
  test('QuantizedTensor: linear() and embedding() compute what they compute on the dequantised float weight', () => {
    const next = rng(5);
    const x = tensor(randomArray(6 * 64, next), [6, 64]); // 6 rows: exact float math on every backend (test/quant/kernels covers 1–4)
    const b = tensor(randomArray(24, next), [24]);
    for (const layout of ['out_in', 'in_out'] as const) {
      const wf = tensor(randomArray(24 * 64, next), layout === 'out_in' ? [24, 64] : [64, 24]);
      for (const spec of [{ bits: 8 as const, groupSize: 64 }, { bits: 4 as const, groupSize: 32 }]) {
        const wq = QuantizedTensor.fromFloat(wf, spec, layout, 'test.weight');
        assert.deepEqual(wq.shape, wf.shape, 'the shape of the float weight it replaces');
        // The reference backend's definition, or WASM's dequantise-and-GEMM path: the same float math.
        const got = noGrad(() => linear(x, wq, b, layout)).toFloat32Array();
        const want = noGrad(() => linear(x, dequantize(wq), b, layout)).toFloat32Array();
        for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-4 * (1 + Math.abs(want[i]!)), `${layout} int${spec.bits} [${i}]: ${got[i]} vs ${want[i]}`);
      }
    }
    const table = tensor(randomArray(10 * 32, next), [10, 32]);
    const tq = QuantizedTensor.fromFloat(table, { bits: 4, groupSize: 32 }, 'out_in', 'wte.weight');
    const ids = tensor([3, 0, 9], [3], { dtype: 'int32' });
    assert.deepEqual(Array.from(embedding(tq, ids).toFloat32Array()), Array.from(embedding(dequantize(tq), ids).toFloat32Array()));
  });
});

test('a quantised weight has no float storage and no gradient; errors name it', () => {
  const wq = QuantizedTensor.fromFloat(tensor(randomArray(4 * 32, rng(1)), [4, 32]), { bits: 8, groupSize: 32 }, 'out_in', 'h.0.mlp.c_fc.weight');
  assert.throws(() => wq.data, /h\.0\.mlp\.c_fc\.weight is quantised \(int8\): only linear\(\) and embedding\(\) can use it/);
  assert.throws(() => {
    wq.requiresGrad = true;
  }, /h\.0\.mlp\.c_fc\.weight is quantised \(int8\) and cannot require gradients/);
  const x = tensor(new Float32Array(32), [1, 32], { requiresGrad: true });
  assert.throws(() => linear(x, wq), /h\.0\.mlp\.c_fc\.weight is quantised \(int8\) and has no gradient, but this call would record one/);
  assert.throws(() => linear(tensor(new Float32Array(32), [1, 32]), wq, null, 'in_out'), /was quantised from a weight stored \(out, in\)/);
  assert.throws(() => linear(tensor(new Float32Array(16), [1, 16]), wq), /input \[1, 16\] does not match h\.0\.mlp\.c_fc\.weight/);
  assert.equal(String(wq), 'QuantizedTensor(h.0.mlp.c_fc.weight, int8, one scale per row, shape [4, 32])');
});
