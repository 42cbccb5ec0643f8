// The LSTM and GRU cell kernels (kernels/rnn.ts) on the WebAssembly backend against their plain-TypeScript
// references (src/tensor/ops_rnn.ts), for both kernel builds with 1 and 2 threads (with 2 every call goes
// through the pool), on hidden sizes that are not multiples of the 4-lane vectors, with padded rows mixed in,
// pre-activations large enough to saturate the sigmoids and tanh, and outputs that start as NaN so a gap
// shows. (The tests of the layers in rnn_grad/rnn_parity run the same kernels end to end.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RowKernel } from '../../src/backend/backend.js';
import { GRU_CELL_BACKWARD, GRU_CELL_FORWARD, LSTM_CELL_BACKWARD, LSTM_CELL_FORWARD } from '../../src/tensor/ops_rnn.js';
import { ADDITIVE_SCORE_BACKWARD, ADDITIVE_SCORE_FORWARD } from '../../src/tensor/ops_additive.js';
import { assertClose, randomArray, reference, rng, wasmBackend, wasmConfigs } from '../backend/_wasm.js';

// [rows = batch, cols = hidden]
const shapes: [number, number][] = [[1, 1], [1, 3], [3, 7], [5, 4], [17, 9], [32, 64], [7, 130]];

/** Inputs for a kernel: 'rows' operands of scale `spread`, perCol of scale 1, the mask (perRow) with zeros. */
function inputsFor(k: RowKernel, rows: number, cols: number, seed: number, spread: number[]): Float32Array[] {
  const next = rng(seed);
  return k.inputs.map((kind, i) => {
    if (kind === 'perRow') return Float32Array.from({ length: rows }, (_, r) => (r % 3 === 1 ? 0 : 1)); // the mask
    const a = randomArray(kind === 'perCol' ? cols : rows * cols, next);
    const s = spread[i] ?? 1;
    return a.map((v) => v * s);
  });
}

function run(be: ReturnType<typeof wasmBackend>, k: RowKernel, rows: number, cols: number, inputs: Float32Array[]): { got: Float32Array[]; want: Float32Array[] } {
  const want = k.outputs.map(() => new Float32Array(rows * cols));
  const got = k.outputs.map(() => new Float32Array(rows * cols).fill(NaN));
  reference.runRows(k, rows, cols, inputs, want);
  be.runRows(k, rows, cols, inputs, got);
  return { got, want };
}

for (const { label, simd, threads } of wasmConfigs()) {
  describe(label, () => {
    const be = wasmBackend(simd, threads);
    test('LSTM cell forward and backward match the reference, padded rows included', () => {
      for (const [rows, cols] of shapes) {
        // Pre-activations up to ±12 (saturating σ and tanh), states of order 1.
        const fin = inputsFor(LSTM_CELL_FORWARD, rows, cols, rows * 31 + cols, [6, 6, 6, 6, 6, 6, 6, 6]);
        const f = run(be, LSTM_CELL_FORWARD, rows, cols, fin);
        f.got.forEach((g, i) => assertClose(g, f.want[i]!, 1, 1e-6, `lstm forward output ${i}, ${rows}×${cols}`));
        // Backward on the forward's own saved gates and states.
        const [, c, , si, sf, sg, so] = f.want as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
        const extra = inputsFor(LSTM_CELL_BACKWARD, rows, cols, rows * 7 + cols, []);
        const bin = [si, sf, sg, so, fin[12]!, c, ...extra.slice(6)];
        const b = run(be, LSTM_CELL_BACKWARD, rows, cols, bin);
        b.got.forEach((g, i) => assertClose(g, b.want[i]!, 6, 1e-6, `lstm backward output ${i}, ${rows}×${cols}`));
      }
    });

    test('GRU cell forward and backward match the reference, padded rows included', () => {
      for (const [rows, cols] of shapes) {
        const fin = inputsFor(GRU_CELL_FORWARD, rows, cols, rows * 13 + cols, [6, 6, 6, 6, 6, 6]);
        const f = run(be, GRU_CELL_FORWARD, rows, cols, fin);
        f.got.forEach((g, i) => assertClose(g, f.want[i]!, 8, 1e-6, `gru forward output ${i}, ${rows}×${cols}`));
        const [, , sr, sz, sn, shn] = f.want as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
        const extra = inputsFor(GRU_CELL_BACKWARD, rows, cols, rows * 5 + cols, []);
        const bin = [sr, sz, sn, shn, fin[10]!, ...extra.slice(5)];
        const b = run(be, GRU_CELL_BACKWARD, rows, cols, bin);
        b.got.forEach((g, i) => assertClose(g, b.want[i]!, 8, 1e-6, `gru backward output ${i}, ${rows}×${cols}`));
      }
    });

    test('additive attention scores forward and backward match the reference', () => {
      for (const [rows, cols] of shapes) {
        const next = rng(rows * 3 + cols);
        const u = randomArray(rows * cols, next).map((x) => 4 * x);
        const v = randomArray(cols, next);
        const want = [new Float32Array(rows), new Float32Array(rows * cols)];
        const got = [new Float32Array(rows).fill(NaN), new Float32Array(rows * cols).fill(NaN)];
        reference.runRows(ADDITIVE_SCORE_FORWARD, rows, cols, [u, v], want);
        be.runRows(ADDITIVE_SCORE_FORWARD, rows, cols, [u, v], got);
        assertClose(got[0]!, want[0]!, cols, 1e-6, `additive e, ${rows}×${cols}`);
        assertClose(got[1]!, want[1]!, 1, 1e-6, `additive tanh, ${rows}×${cols}`);
        const g = randomArray(rows, next);
        const bw = [new Float32Array(rows * cols), new Float32Array(cols)];
        const bg = [new Float32Array(rows * cols).fill(NaN), new Float32Array(cols).fill(7)];
        reference.runRows(ADDITIVE_SCORE_BACKWARD, rows, cols, [want[1]!, v, g], bw);
        be.runRows(ADDITIVE_SCORE_BACKWARD, rows, cols, [want[1]!, v, g], bg);
        assertClose(bg[0]!, bw[0]!, 1, 1e-6, `additive du, ${rows}×${cols}`);
        assertClose(bg[1]!, bw[1]!, rows, 1e-6, `additive dv, ${rows}×${cols}`);
      }
    });

    test('the SIMD sigmoid and tanh are within float32 rounding of the float64 functions from −20 to 20', () => {
      // One LSTM row with c_prev = 0, gh = b = 0: i = σ(x), g = tanh(x) and c = σ(x)·tanh(x) straight from x.
      const n = 4001;
      const x = Float32Array.from({ length: n }, (_, i) => -20 + (40 * i) / (n - 1));
      const z = new Float32Array(n);
      const zc = new Float32Array(n);
      const out = LSTM_CELL_FORWARD.outputs.map(() => new Float32Array(n));
      be.runRows(LSTM_CELL_FORWARD, 1, n, [x, x, x, x, z, z, z, z, zc, zc, zc, zc, z, z, Float32Array.of(1)], out);
      let worstS = 0;
      let worstT = 0;
      for (let i = 0; i < n; i++) {
        worstS = Math.max(worstS, Math.abs(out[3]![i]! - 1 / (1 + Math.exp(-x[i]!))));
        worstT = Math.max(worstT, Math.abs(out[5]![i]! - Math.tanh(x[i]!)));
      }
      assert.ok(worstS < 3e-7, `sigmoid: max error ${worstS}`);
      assert.ok(worstT < 3e-7, `tanh: max error ${worstT}`);
      assert.equal(out[5]![0], -1);
      assert.equal(out[5]![n - 1], 1);
    });
  });
}
