// Additive attention scores (Bahdanau et al. 2015; Luong et al.'s "concat"), fused:
//
//   e[b, j] = Σ_a v_a · tanh(k[b, j, a] + q[b, a])          k = U·h_j (per source position), q = W·s (per query)
//
// This is the one score that is not a dot product of a query and a key (the tanh sits between them), so it
// cannot be the attention op's q·kᵀ; the model computes e here and hands it to the attention op as its
// additive bias (src/models/rnn_attention.ts explains). As a chain of ops it would be add (broadcasting q over
// j), tanh, a product with v, and their backwards — four passes over a (B, S, A) block with three
// temporaries, every decoder step. Fused it is one add here and one row kernel: each row (b, j) of A values
// gives e[b, j] and keeps t = tanh(·) for backward:
//   de/dk[b, j, a] = v_a·(1 − t²),   de/dq[b, a] = Σ_j (same),   de/dv_a = Σ_{b,j} t.
//
// Shapes: B batch, S source positions, A attention size.
import { getBackend, type RowKernel } from '../backend/index.js';
import { fromOp } from './autograd.js';
import { expectFloat, fmtShape, readContiguous } from './shape.js';
import { Tensor } from './tensor.js';
import { floats, floatsToWrite } from './step.js';

/**
 * Per row of A values u (= k + q): t = tanh(u), e = Σ_a v_a·t_a.
 * inputs u (rows), v (perCol); outputs e (perRow), t (rows, saved for backward).
 */
export const ADDITIVE_SCORE_FORWARD: RowKernel = {
  name: 'additive_score_forward',
  inputs: ['rows', 'perCol'],
  outputs: ['perRow', 'rows'],
  reference(rows, A, [u, v], [e, t]) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let a = 0; a < A; a++) {
        const th = Math.tanh(u![r * A + a]!);
        t![r * A + a] = th;
        s += v![a]! * th;
      }
      e![r] = s;
    }
  },
};

/**
 * Backward per row with the gradient g of e: du_a = g·v_a·(1 − t_a²) (rows), dv_a = Σ_rows g·t_a (colSum).
 * inputs t (rows), v (perCol), g (perRow); outputs du (rows), dv (colSum).
 */
export const ADDITIVE_SCORE_BACKWARD: RowKernel = {
  name: 'additive_score_backward',
  inputs: ['rows', 'perCol', 'perRow'],
  outputs: ['rows', 'colSum'],
  reference(rows, A, [t, v, g], [du, dv]) {
    const acc = new Float64Array(A);
    for (let r = 0; r < rows; r++) {
      const gr = g![r]!;
      for (let a = 0; a < A; a++) {
        const th = t![r * A + a]!;
        du![r * A + a] = gr * v![a]! * (1 - th * th);
        acc[a] += gr * th;
      }
    }
    dv!.set(acc);
  },
};

/**
 * e = Σ_a v_a·tanh(keys + query) over the last dim: keys (B, S, A), query (B, A), v (A) or (1, A) → (B, S).
 * `const e = additiveScores(Uh, linear(s, W), vWeight)`. Differentiable in all three. Does not mask: padded
 * positions are masked by the attention op that takes e as its bias.
 */
export function additiveScores(keys: Tensor, query: Tensor, v: Tensor): Tensor {
  for (const [name, t] of [['keys', keys], ['query', query], ['v', v]] as const) {
    if (!(t instanceof Tensor)) throw new TypeError(`additiveScores: ${name} must be a Tensor, got ${typeof t}`);
    expectFloat('additiveScores', t, name);
  }
  if (keys.ndim !== 3) throw new RangeError(`additiveScores: keys must be (B, S, A), got ${fmtShape(keys.shape)}`);
  const [B, S, A] = keys.shape as [number, number, number];
  if (query.ndim !== 2 || query.shape[0] !== B || query.shape[1] !== A) throw new RangeError(`additiveScores: query has shape ${fmtShape(query.shape)}, expected (B, A) = [${B}, ${A}]`);
  if (v.size !== A || v.ndim > 2 || (v.ndim === 2 && v.shape[0] !== 1)) throw new RangeError(`additiveScores: v has shape ${fmtShape(v.shape)}, expected [${A}] or [1, ${A}]`);
  const K = readContiguous(keys) as Float32Array;
  const Q = readContiguous(query) as Float32Array;
  const V = readContiguous(v) as Float32Array;
  const rows = B * S;
  const u = floatsToWrite(rows * A); // k + q, q repeated over the S positions (every element written below)
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < S; j++) {
      const o = (b * S + j) * A;
      for (let a = 0; a < A; a++) u[o + a] = K[o + a]! + Q[b * A + a]!;
    }
  }
  const e = floatsToWrite(rows); // the kernel writes both
  const t = floatsToWrite(rows * A); // tanh(k + q), kept for backward
  const be = getBackend();
  be.runRows(ADDITIVE_SCORE_FORWARD, rows, A, [u, V], [e, t]);
  return fromOp('additiveScores', e, [B, S], [keys, query, v], (g, sink) => {
    const du = sink.alloc(rows * A, false); // the kernel writes every element
    const dv = floats(A);
    be.runRows(ADDITIVE_SCORE_BACKWARD, rows, A, [t, V, g], [du, dv]);
    if (query.requiresGrad) {
      const dq = floats(B * A); // Σ over the S positions q was added to
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < S; j++) {
          const o = (b * S + j) * A;
          for (let a = 0; a < A; a++) dq[b * A + a] += du[o + a]!;
        }
      }
      sink.add(query, dq, true);
    }
    if (v.requiresGrad) sink.add(v, dv, true);
    sink.add(keys, du, true);
  });
}
