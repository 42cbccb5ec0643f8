// Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"): how much of each
// input token reaches each position after several layers, following attention through the residual stream.
//
// One layer mixes tokens by Ā = mean over heads of A (T, T); the residual connection keeps each token's own
// state as well, which rollout models as half and half:  Â = ½·Ā + ½·I, rows renormalised to sum to 1.
// Layers compose by matrix product, so after layer l:
//
//   R_l = Â_l · Â_{l−1} · … · Â_1            R_l[i, j] = share of input token j in position i after layer l
//
// Only for self-attention groups (queries and keys are the same tokens): 'self', 'encoder', 'decoder'.
import type { AttentionGroup } from './explainable.js';

/**
 * Rollout after every layer: `rollout(group)[l]` is R_l, a (T, T) row-major Float32Array.
 * Does not handle cross-attention or alignments (Tq ≠ Tk, and no residual path between the two sides).
 */
export function rollout(group: AttentionGroup): Float32Array[] {
  const T = group.queries.length;
  if (group.keys.length !== T || group.kind === 'cross' || group.kind === 'alignments') {
    throw new Error(`rollout needs self-attention (queries = keys); the '${group.kind}' group is ${T} × ${group.keys.length}`);
  }
  const out: Float32Array[] = [];
  let R = identity(T);
  for (const layer of group.layers) {
    const A = new Float64Array(T * T); // Â of this layer
    for (let h = 0; h < layer.heads; h++) {
      const base = h * T * T;
      for (let i = 0; i < T * T; i++) A[i]! += layer.data[base + i]! / layer.heads;
    }
    for (let i = 0; i < T; i++) {
      A[i * T + i]! += 1; // ½Ā + ½I, up to the factor ½ that the renormalisation removes
      let s = 0;
      for (let j = 0; j < T; j++) s += A[i * T + j]!;
      for (let j = 0; j < T; j++) A[i * T + j]! /= s;
    }
    R = matmul(A, R, T);
    out.push(Float32Array.from(R));
  }
  return out;
}

function identity(T: number): Float64Array {
  const I = new Float64Array(T * T);
  for (let i = 0; i < T; i++) I[i * T + i] = 1;
  return I;
}

/** (T, T) · (T, T), row-major. */
function matmul(a: Float64Array, b: Float64Array, T: number): Float64Array {
  const c = new Float64Array(T * T);
  for (let i = 0; i < T; i++) {
    for (let k = 0; k < T; k++) {
      const aik = a[i * T + k]!;
      if (aik === 0) continue; // causal maps are half zeros
      for (let j = 0; j < T; j++) c[i * T + j]! += aik * b[k * T + j]!;
    }
  }
  return c;
}
