// The recurrent time loop (kernels/rnn.ts through Backend.recurrentForward/Backward) on the WebAssembly backend
// against the plain-TypeScript reference (src/backend/recurrent.ts, the formulas written out), for both kernel
// builds with 1 and 2 threads (with 2, the two directions of a call run on the pool side by side): LSTM and
// GRU, a forward and a reverse direction in one call, padded sequences of different lengths, hidden sizes that
// are not multiples of the 4-lane vectors, a batch over the GEMM's 128-row tile, operands both in WebAssembly
// memory (used in place) and in ordinary arrays (copied), pre-activations large enough to saturate σ and
// tanh, and outputs that start as NaN so a gap shows. The additive attention score kernels are checked too.
// (The layer tests in rnn_grad and rnn_parity run the same kernels end to end against finite differences and
// PyTorch.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { CELL_GATES, type RecurrentCell, type RecurrentGradients, type RecurrentOperands, type RecurrentSpec } from '../../src/backend/recurrent.js';
import { ADDITIVE_SCORE_BACKWARD, ADDITIVE_SCORE_FORWARD } from '../../src/tensor/ops_additive.js';
import { assertClose, randomArray, reference, rng, wasmBackend, wasmConfigs } from '../backend/_wasm.js';

// [T, B, H]
const shapes: [number, number, number][] = [[1, 1, 1], [3, 2, 3], [4, 3, 7], [5, 17, 9], [3, 32, 64], [2, 130, 5]];
// [rows, cols] for the additive scores
const rowShapes: [number, number][] = [[1, 1], [1, 3], [3, 7], [5, 4], [17, 9], [32, 64], [7, 130]];

/** A copy of a in memory from `alloc` (the backend's own memory, or an ordinary array). */
function place(a: Float32Array, alloc: (n: number) => Float32Array): Float32Array {
  const out = alloc(a.length);
  out.set(a);
  return out;
}

interface Case {
  spec: RecurrentSpec;
  /** The inputs of each direction (before forward); every run gets fresh copies. */
  dirs: RecurrentOperands[];
  grads: RecurrentGradients[];
}

/** Random operands for a forward and a reverse direction; sequence b has length T − (b mod T) (so some are padded). */
function makeCase(cell: RecurrentCell, T: number, B: number, H: number, seed: number): Case {
  const G = CELL_GATES[cell];
  const next = rng(seed);
  const mask = new Float32Array(T * B);
  for (let b = 0; b < B; b++) for (let t = 0; t < T - (b % T); t++) mask[t * B + b] = 1;
  const scaled = (n: number, s: number): Float32Array => randomArray(n, next).map((v) => v * s);
  const dirs = [false, true].map((reverse): RecurrentOperands => {
    const h = new Float32Array((T + 1) * B * H);
    h.set(randomArray(B * H, next), (reverse ? T : 0) * B * H); // the initial state
    const c = cell === 'lstm' ? new Float32Array((T + 1) * B * H) : null;
    c?.set(scaled(B * H, 2), (reverse ? T : 0) * B * H);
    return {
      reverse, whh: scaled(G * H * H, 3 / Math.sqrt(H)), mask, gates: scaled(T * B * G * H, 6), h, c,
      bhn: cell === 'gru' ? scaled(H, 1) : null, hn: cell === 'gru' ? new Float32Array(T * B * H) : null, out: new Float32Array(T * B * H),
    };
  });
  const grads = dirs.map((): RecurrentGradients => ({
    dy: randomArray(T * B * H, next), dh: randomArray(B * H, next), dc: cell === 'lstm' ? randomArray(B * H, next) : null,
    dGates: new Float32Array(T * B * G * H), dRec: cell === 'gru' ? new Float32Array(T * B * G * H) : null, needDh0: true,
  }));
  return { spec: { cell, T, B, H }, dirs, grads };
}

/** Fresh copies of a case's arrays, direction 0 in `alloc0` memory and direction 1 in `alloc1`; outputs start as NaN. */
function copies(c: Case, alloc0: (n: number) => Float32Array, alloc1: (n: number) => Float32Array): { dirs: RecurrentOperands[]; grads: RecurrentGradients[] } {
  const nan = (a: Float32Array | null, alloc: (n: number) => Float32Array): Float32Array | null => (a ? place(a, alloc).fill(NaN) : null);
  const dirs = c.dirs.map((d, i) => {
    const alloc = i === 0 ? alloc0 : alloc1;
    // Everything the forward writes starts as NaN, except the initial state's slot.
    const state = (s: Float32Array | null): Float32Array | null => {
      if (!s) return null;
      const out = place(s, alloc).fill(NaN);
      const slot = d.reverse ? c.spec.T : 0;
      const n = c.spec.B * c.spec.H;
      out.set(s.subarray(slot * n, slot * n + n), slot * n);
      return out;
    };
    return { ...d, whh: place(d.whh, alloc), gates: place(d.gates, alloc), h: state(d.h)!, c: state(d.c), hn: nan(d.hn, alloc), out: nan(d.out, alloc)! };
  });
  const grads = c.grads.map((g, i) => {
    const alloc = i === 0 ? alloc0 : alloc1;
    return { ...g, dy: place(g.dy, alloc), dh: place(g.dh, alloc), dc: g.dc ? place(g.dc, alloc) : null, dGates: nan(g.dGates, alloc)!, dRec: nan(g.dRec, alloc) };
  });
  return { dirs, grads };
}

/** Forward then backward on `be`; every array each direction ends with. */
function runBoth(be: Backend, c: Case, inMemory: boolean): Record<string, Float32Array>[] {
  const plain = (n: number): Float32Array => new Float32Array(n);
  const mem = inMemory ? (n: number): Float32Array => be.allocate(n) : plain;
  const { dirs, grads } = copies(c, mem, plain);
  be.recurrentForward(c.spec, dirs);
  be.recurrentBackward(c.spec, dirs, grads);
  return dirs.map((d, i) => {
    const g = grads[i]!;
    const out: Record<string, Float32Array> = { gates: d.gates, h: d.h, out: d.out, dGates: g.dGates, dh: g.dh };
    if (d.c) out.c = d.c;
    if (d.hn) out.hn = d.hn;
    if (g.dc) out.dc = g.dc;
    if (g.dRec) out.dRec = g.dRec;
    return out;
  });
}

for (const { label, simd, threads } of wasmConfigs()) {
  describe(label, () => {
    const be = wasmBackend(simd, threads);
    for (const cell of ['lstm', 'gru'] as const) {
      test(`${cell.toUpperCase()} time loop, forward and backward, two directions, padded sequences: matches the reference`, () => {
        for (const [T, B, H] of shapes) {
          const c = makeCase(cell, T, B, H, T * 1000 + B * 31 + H);
          const want = runBoth(reference, c, false);
          for (const inMemory of [false, true]) {
            const got = runBoth(be, c, inMemory);
            got.forEach((g, d) => {
              for (const [name, w] of Object.entries(want[d]!)) {
                // States and activations are of order 1; gradients grow with the steps they pass through.
                const scale = name.startsWith('d') ? Math.max(1, ...Array.from(w, Math.abs)) : 1;
                assertClose(g[name]!, w, scale, 2e-5, `${cell} ${name}, direction ${d}, T ${T} B ${B} H ${H}${inMemory ? ', in memory' : ''}`);
              }
            });
          }
        }
      });
    }

    test('the SIMD sigmoid and tanh are within float32 rounding of the float64 functions from −20 to 20', () => {
      // One LSTM step with W_hh = 0 and h0 = c0 = 0: the saved gates are i = σ(x), g = tanh(x) straight from x.
      const H = 4;
      const B = 1001;
      const n = B * H;
      const x = Float32Array.from({ length: n }, (_, i) => -20 + (40 * i) / (n - 1));
      const gates = new Float32Array(B * 4 * H);
      for (let b = 0; b < B; b++) for (let k = 0; k < 4; k++) gates.set(x.subarray(b * H, b * H + H), (b * 4 + k) * H);
      const dir: RecurrentOperands = {
        reverse: false, whh: new Float32Array(4 * H * H), mask: new Float32Array(B).fill(1), gates, h: new Float32Array(2 * B * H),
        c: new Float32Array(2 * B * H), bhn: null, hn: null, out: new Float32Array(B * H),
      };
      be.recurrentForward({ cell: 'lstm', T: 1, B, H }, [dir]);
      let worstS = 0;
      let worstT = 0;
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < H; j++) {
          const v = x[b * H + j]!;
          worstS = Math.max(worstS, Math.abs(gates[b * 4 * H + j]! - 1 / (1 + Math.exp(-v))));
          worstT = Math.max(worstT, Math.abs(gates[b * 4 * H + 2 * H + j]! - Math.tanh(v)));
        }
      }
      assert.ok(worstS < 3e-7, `sigmoid: max error ${worstS}`);
      assert.ok(worstT < 3e-7, `tanh: max error ${worstT}`);
      assert.equal(gates[2 * H], -1);
      assert.equal(gates[(B - 1) * 4 * H + 3 * H - 1], 1);
    });

    test('additive attention scores forward and backward match the reference', () => {
      for (const [rows, cols] of rowShapes) {
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
  });
}
