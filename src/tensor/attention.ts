// Scaled dot-product attention as one differentiable op:
//   out = softmax(scale · q·kᵀ + mask) · v
// q (B, H, Tq, D), k and v (B, H, Tk, D). The backend runs it fused (no (Tq, Tk) score matrix kept), and
// backward rebuilds the probabilities from the saved log-sum-exp per row, as FlashAttention does.
//
// Masks: `causal` hides future keys, `window` hides keys more than window−1 positions back, `keyMask`
// (B, Tk) hides padding. Query i sits at absolute position Tk − Tq + i, so with a KV cache holding Tk keys
// the Tq new queries are the last Tq positions. A query that sees no key gets a zero output.
//
// Attention dropout (dropoutP > 0, training) is fused too: the backend drops probabilities by a hash of their
// index and a seed drawn from the generator, so backward rebuilds the same mask without storing it.
import { getBackend, type AttentionSpec } from '../backend/index.js';
import { fromOp } from './autograd.js';
import { getDefaultRng, type Rng } from './rng.js';
import { expectFloat, fmtShape, readContiguous } from './shape.js';
import { Tensor } from './tensor.js';

export interface AttentionOptions {
  /** Hide keys after the query's position. */
  causal?: boolean;
  /** (B, Tk): nonzero = a real key, 0 = padding. A Tensor of any dtype or a Uint8Array. */
  keyMask?: Uint8Array | Tensor;
  /** Sliding window: a query sees only keys with pos − j < window. 0 (default) = unlimited. */
  window?: number;
  /** Multiplies q·kᵀ; default 1/√D. */
  scale?: number;
  /** Also return the attention probabilities (B, H, Tq, Tk) for inspection (no gradient flows through them). */
  returnWeights?: boolean;
  /** Dropout on the probabilities (training), fused into the kernel; the returned weights are before dropout. */
  dropoutP?: number;
  /** Generator for dropoutP; defaults to the global one. */
  rng?: Rng;
}

export interface AttentionResult {
  /** (B, H, Tq, D) */
  out: Tensor;
  /** (B, H, Tq, Tk) softmax probabilities before dropout, when returnWeights was set. */
  weights?: Tensor;
}

/**
 * `const { out } = scaledDotProductAttention(q, k, v, { causal: true })` with q, k, v (B, nh, T, hs).
 * Does not handle a value head size different from the key head size, or arbitrary additive masks.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): AttentionResult {
  const op = 'scaledDotProductAttention';
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor, got ${typeof t}`);
    expectFloat(op, t, name);
    if (t.ndim !== 4) throw new RangeError(`${op}: ${name} must be (B, H, T, D), got shape ${fmtShape(t.shape)}`);
  }
  const [B, H, Tq, D] = q.shape;
  const Tk = k.shape[2];
  const kvShape = [B, H, Tk, D];
  if (k.shape.some((n, i) => n !== kvShape[i]) || v.shape.some((n, i) => n !== kvShape[i])) {
    throw new RangeError(`${op}: q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)} and v ${fmtShape(v.shape)} do not fit; expected k and v of shape ${fmtShape(kvShape)}`);
  }
  const { causal = false, window = 0, returnWeights = false, dropoutP = 0 } = opts;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  if (!Number.isInteger(window) || window < 0) throw new RangeError(`${op}: window must be a non-negative integer, got ${window}`);
  if ((causal || window > 0) && Tq > Tk) {
    throw new RangeError(`${op}: with causal or window masks the ${Tq} queries must be the last positions of the ${Tk} keys (Tq <= Tk)`);
  }
  if (!(dropoutP >= 0 && dropoutP < 1)) throw new RangeError(`${op}: dropoutP must be in [0, 1), got ${dropoutP}`);

  const spec: AttentionSpec = { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D, scale, causal, window };
  if (opts.keyMask !== undefined) spec.keyMask = keyMaskArray(opts.keyMask, B, Tk);

  if (dropoutP > 0) spec.dropout = { p: dropoutP, seed: (opts.rng ?? getDefaultRng()).uint32() };

  const Q = readContiguous(q) as Float32Array;
  const K = readContiguous(k) as Float32Array;
  const V = readContiguous(v) as Float32Array;
  const be = getBackend();
  const res = be.attentionForward(Q, K, V, spec, returnWeights);
  const out = fromOp(op, res.out, [B, H, Tq, D], [q, k, v], (g, sink) => {
    const { dq, dk, dv } = be.attentionBackward(Q, K, V, res.out, res.lse, g, spec);
    sink.add(q, dq);
    sink.add(k, dk);
    sink.add(v, dv);
  });
  return res.weights ? { out, weights: new Tensor(res.weights, [B, H, Tq, Tk]) } : { out };
}

/**
 * Self-attention straight from a packed projection: qkv (B, T, 3C) as GPT-2's c_attn makes it (q, k, v side
 * by side; within each, nHead heads of C/nHead side by side) → out (B, T, C), heads side by side again, ready
 * for c_proj. The same as splitting the heads with reshape/transpose, calling scaledDotProductAttention and
 * merging them back, but the backend reads and writes the packed rows directly, so no copies split or merge
 * the heads, forward or backward. Options as scaledDotProductAttention (Tq = Tk = T); weights (B, H, T, T).
 */
export function packedSelfAttention(qkv: Tensor, nHead: number, opts: AttentionOptions = {}): AttentionResult {
  const op = 'packedSelfAttention';
  if (!(qkv instanceof Tensor)) throw new TypeError(`${op}: qkv must be a Tensor, got ${typeof qkv}`);
  expectFloat(op, qkv, 'qkv');
  if (qkv.ndim !== 3) throw new RangeError(`${op}: qkv must be (B, T, 3C), got shape ${fmtShape(qkv.shape)}`);
  const [B, T, C3] = qkv.shape as [number, number, number];
  const C = C3 / 3;
  if (!Number.isInteger(nHead) || nHead < 1 || !Number.isInteger(C) || C % nHead !== 0) {
    throw new RangeError(`${op}: the last dim of qkv ${fmtShape(qkv.shape)} must be 3·C with C a multiple of nHead=${nHead}`);
  }
  const D = C / nHead;
  const { causal = false, window = 0, returnWeights = false, dropoutP = 0 } = opts;
  if (!(dropoutP >= 0 && dropoutP < 1)) throw new RangeError(`${op}: dropoutP must be in [0, 1), got ${dropoutP}`);
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  if (!Number.isInteger(window) || window < 0) throw new RangeError(`${op}: window must be a non-negative integer, got ${window}`);
  const spec: AttentionSpec = { batch: B, heads: nHead, tq: T, tk: T, headDim: D, scale, causal, window };
  if (opts.keyMask !== undefined) spec.keyMask = keyMaskArray(opts.keyMask, B, T);
  if (dropoutP > 0) spec.dropout = { p: dropoutP, seed: (opts.rng ?? getDefaultRng()).uint32() };

  const QKV = readContiguous(qkv) as Float32Array;
  const be = getBackend();
  const res = be.attentionPackedForward(QKV, spec, returnWeights);
  const out = fromOp(op, res.out, [B, T, C], [qkv], (g, sink) => {
    const dqkv = sink.alloc(QKV.length, false); // the backend writes every element
    be.attentionPackedBackward(QKV, res.out, res.lse, g, spec, dqkv);
    sink.add(qkv, dqkv, true);
  });
  return res.weights ? { out, weights: new Tensor(res.weights, [B, nHead, T, T]) } : { out };
}

/** keyMask as a (B·Tk) Uint8Array of 0/1. */
function keyMaskArray(mask: Uint8Array | Tensor, B: number, Tk: number): Uint8Array {
  if (mask instanceof Uint8Array) {
    if (mask.length !== B * Tk) throw new RangeError(`scaledDotProductAttention: keyMask has ${mask.length} entries, expected B·Tk = ${B}·${Tk} = ${B * Tk}`);
    return mask;
  }
  if (!(mask instanceof Tensor)) throw new TypeError('scaledDotProductAttention: keyMask must be a Uint8Array or a Tensor (B, Tk)');
  if (mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== Tk) {
    throw new RangeError(`scaledDotProductAttention: keyMask has shape ${fmtShape(mask.shape)}, expected [${B}, ${Tk}]`);
  }
  const m = readContiguous(mask);
  const out = new Uint8Array(m.length);
  for (let i = 0; i < m.length; i++) out[i] = m[i] !== 0 ? 1 : 0;
  return out;
}
