// Attention as one differentiable op, the only one in attn: every model (GPT, BERT, the encoder-decoder, T5)
// calls it, through the MultiHeadAttention module of src/nn/attention.ts.
//
//   out = ξ_h · softmax(scale · q·kᵀ + bias + mask) · v          per batch entry b and head h
//
// Shapes: B batch, Tq queries, Tk keys, H heads, D head size. q is (B, Tq, H, D), k and v (B, Tk, H, D) and
// out (B, Tq, H, D): "heads last", as FlashAttention takes them, because that is the layout a projection
// produces — x (B, T, C)·W gives (B, T, H·D), and .reshape(B, T, H, D) is free — and the layout the output
// projection reads back after a free .reshape(B, Tq, H·D). No head is ever split off or merged by a copy.
// q, k and v may be any views whose rows of D floats are contiguous: slices of one fused q/k/v projection
// (GPT-2's c_attn), separate projections (BERT, T5), a KV cache preallocated for more positions than it holds.
// The backend reads them through their strides, and backward writes their gradients straight into the tensor
// they were sliced from when it can (viewRoot), so the slicing costs nothing either way.
//
// Masks: `causal` hides keys after the query's position, `window` hides keys window or more positions back,
// `keyMask` (B, Tk) hides padding. Query i sits at position queryOffset + i (default Tk − Tq: with a KV cache
// holding Tk keys the Tq new queries are the last positions). A query that sees no key outputs 0.
// `bias` (1 or B, H, Tq, Tk) is added to the scaled scores (T5's relative position bias, ALiBi, any additive
// mask) and gets a gradient. `headMask` (H) or (B, H) scales each head's output (Hugging Face's head_mask; a
// Tensor that requires grad gets ∂L/∂ξ, the head importance of Michel et al. 2019).
//
// The backend runs it fused: the (Tq, Tk) score matrix is never stored (online softmax, as FlashAttention),
// and backward rebuilds the probabilities from the saved log-sum-exp per row. Attention dropout (dropoutP > 0,
// training) is fused too: probabilities are dropped by a hash of their index and a seed drawn from the
// generator, so backward rebuilds the same mask without storing it.
import { attentionMaskRanges, getBackend, type AttentionSpec, type AttnOperand } from '../backend/index.js';
import { fromOp, viewRoot, type GradSink } from './autograd.js';
import { getDefaultRng, type Rng } from './rng.js';
import { expectFloat, fmtShape, readContiguous } from './shape.js';
import { contiguous, transpose } from './ops_shape.js';
import { Tensor } from './tensor.js';
import { floats } from './step.js';

export interface AttentionOptions {
  /** Hide keys after the query's position. */
  causal?: boolean;
  /** Position of query 0 among the keys (query i sits at queryOffset + i); default Tk − Tq. */
  queryOffset?: number;
  /** Sliding window: a query at position p sees only keys j with p − j < window. 0 (default) = unlimited. */
  window?: number;
  /** (B, Tk): nonzero = a real key, 0 = padding. A Tensor of any dtype or a Uint8Array. */
  keyMask?: Uint8Array | Tensor;
  /** (H) or (B, H): multiplies each head's output (0 removes the head). A Tensor may require grad. */
  headMask?: Tensor | Float32Array;
  /** (1 or B, H, Tq, Tk) added to the scaled scores before the softmax; gets a gradient when it requires one. */
  bias?: Tensor;
  /** Multiplies q·kᵀ; default 1/√D. */
  scale?: number;
  /** Also return the attention probabilities (B, H, Tq, Tk) × headMask, for inspection (no gradient). */
  returnWeights?: boolean;
  /** Dropout on the probabilities (training), fused into the kernel; the returned weights are before dropout. */
  dropoutP?: number;
  /** Generator for dropoutP; defaults to the global one. */
  rng?: Rng;
}

export interface AttentionResult {
  /** (B, Tq, H, D) from attention(); (B, H, Tq, D) from scaledDotProductAttention(). */
  out: Tensor;
  /** (B, H, Tq, Tk) softmax probabilities × headMask, before dropout, when returnWeights was set. */
  weights?: Tensor;
}

/**
 * Multi-head attention on heads-last tensors: q (B, Tq, H, D), k and v (B, Tk, H, D) → out (B, Tq, H, D).
 * `const { out } = attention(q, k, v, { causal: true })`. Does not handle a value head size different from
 * the key head size, or grouped-query heads (as many k/v heads as q heads).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): AttentionResult {
  const op = 'attention';
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor, got ${typeof t}`);
    expectFloat(op, t, name);
    if (t.ndim !== 4) throw new RangeError(`${op}: ${name} must be (B, T, H, D), got shape ${fmtShape(t.shape)}`);
  }
  const [B, Tq, H, D] = q.shape as [number, number, number, number];
  const Tk = k.shape[1]!;
  const kvShape = [B, Tk, H, D];
  if (k.shape.some((n, i) => n !== kvShape[i]) || v.shape.some((n, i) => n !== kvShape[i])) {
    throw new RangeError(`${op}: q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)} and v ${fmtShape(v.shape)} do not fit; expected k and v of shape ${fmtShape(kvShape)}`);
  }
  const { causal = false, window = 0, returnWeights = false, dropoutP = 0, queryOffset = Tk - Tq } = opts;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  if (!Number.isInteger(window) || window < 0) throw new RangeError(`${op}: window must be a non-negative integer, got ${window}`);
  if (!Number.isInteger(queryOffset)) throw new RangeError(`${op}: queryOffset must be an integer, got ${queryOffset}`);
  if (!(dropoutP >= 0 && dropoutP < 1)) throw new RangeError(`${op}: dropoutP must be in [0, 1), got ${dropoutP}`);
  if (!Number.isFinite(scale)) throw new RangeError(`${op}: scale must be a finite number, got ${scale}`);

  const spec: AttentionSpec = { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D, scale, ...attentionMaskRanges(Tq, Tk, { causal, queryOffset, window }) };
  if (opts.keyMask !== undefined) spec.keyMask = keyMaskArray(opts.keyMask, B, Tk);
  const headMask = opts.headMask instanceof Tensor ? opts.headMask : null;
  if (opts.headMask !== undefined) spec.headMask = headMaskArray(opts.headMask, B, H);
  const bias = opts.bias ?? null;
  if (bias) spec.bias = biasOperand(bias, B, H, Tq, Tk);
  if (dropoutP > 0) spec.dropout = { p: dropoutP, seed: (opts.rng ?? getDefaultRng()).uint32() };

  // The operands: views with unit stride along D (anything else is copied first, which autograd handles).
  const [qv, kv, vv] = [q, k, v].map((t) => (t.strides[3] === 1 || D <= 1 ? t : contiguous(t))) as [Tensor, Tensor, Tensor];
  const Q = operandOf(qv);
  const K = operandOf(kv);
  const V = operandOf(vv);
  const outData = floats(B * Tq * H * D);
  const out: AttnOperand = { data: outData, offset: 0, sb: Tq * H * D, sh: D, st: H * D }; // (B, Tq, H, D)
  const lse = floats(B * H * Tq);
  const weights = returnWeights ? floats(B * H * Tq * Tk) : undefined;
  const be = getBackend();
  be.attentionForward(spec, Q, K, V, weights ? { out, lse, weights } : { out, lse });

  // Gradients go to the tensors q, k and v were sliced from when that is possible (see gradTargets).
  const targets = gradTargets([qv, kv, vv]);
  const inputs: Tensor[] = [...new Set(targets.map((g) => g.tensor))];
  if (bias) inputs.push(bias);
  if (headMask) inputs.push(headMask);
  const result = fromOp(op, outData, [B, Tq, H, D], inputs, (g, sink) => {
    // One buffer per root shared by several operands, one per operand otherwise (even when two operands are
    // the same tensor: each gets its own, and the sink adds them up).
    const bufs = new Map<Tensor | number, [Tensor, Float32Array]>();
    const dest = (i: number): AttnOperand => {
      const t = targets[i]!;
      const key = t.shared ? t.tensor : i;
      let entry = bufs.get(key);
      if (!entry) bufs.set(key, (entry = [t.tensor, sink.alloc(t.tensor.size, !t.covered)]));
      return { data: entry[1], offset: t.offset, sb: t.sb, sh: t.sh, st: t.st };
    };
    const dBias = bias?.requiresGrad ? floats(bias.size) : undefined;
    const dHeadMask = headMask?.requiresGrad ? floats(B * H) : undefined;
    const dOut: AttnOperand = { ...out, data: g };
    be.attentionBackward(spec, Q, K, V, out, lse, dOut, { dq: dest(0), dk: dest(1), dv: dest(2), dBias, dHeadMask });
    for (const [t, buf] of bufs.values()) sink.add(t, buf, true);
    if (bias && dBias) sink.add(bias, dBias, true);
    if (headMask && dHeadMask) addHeadMaskGrad(sink, headMask, dHeadMask, B, H);
  });
  return weights ? { out: result, weights: new Tensor(weights, [B, H, Tq, Tk]) } : { out: result };
}

/**
 * The same attention in PyTorch's layout: q (B, H, Tq, D), k and v (B, H, Tk, D) → out (B, H, Tq, D)
 * (torch.nn.functional.scaled_dot_product_attention). The transposes are views, so this is attention()
 * itself. `const { out } = scaledDotProductAttention(q, k, v, { causal: true })`.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): AttentionResult {
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    if (!(t instanceof Tensor) || t.ndim !== 4) {
      throw new RangeError(`scaledDotProductAttention: ${name} must be a (B, H, T, D) Tensor, got ${t instanceof Tensor ? `shape ${fmtShape(t.shape)}` : typeof t}`);
    }
  }
  const [B, H, , D] = q.shape as [number, number, number, number];
  const kvShape = [B, H, k.shape[2]!, D];
  if (k.shape.some((n, i) => n !== kvShape[i]) || v.shape.some((n, i) => n !== kvShape[i])) {
    throw new RangeError(`scaledDotProductAttention: q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)} and v ${fmtShape(v.shape)} do not fit; expected k and v of shape ${fmtShape(kvShape)}`);
  }
  const r = attention(transpose(q, 1, 2), transpose(k, 1, 2), transpose(v, 1, 2), opts);
  const out = transpose(r.out, 1, 2); // (B, H, Tq, D)
  return r.weights ? { out, weights: r.weights } : { out };
}

/** A (B, T, H, D) tensor with unit stride along D as the backend's operand (strides in floats). */
function operandOf(t: Tensor): AttnOperand {
  return { data: t.data as Float32Array, offset: t.offset, sb: t.strides[0]!, st: t.strides[1]!, sh: t.strides[2]! };
}

/**
 * Where backward writes the gradient of q, k and v. Normally into the tensor each was sliced from
 * (viewRoot: e.g. the fused (B, T, 3C) projection all three are views of), at the view's own offset and
 * strides, so one buffer receives dq, dk and dv side by side and no view's backward has to copy it. That needs
 * a contiguous root and operands that do not share elements (else each operand gets its own contiguous
 * buffer, and autograd routes it back through the views). `covered`: the operands sharing this root write
 * every element of it, so its buffer needs no zeroing.
 */
interface GradTarget {
  tensor: Tensor;
  offset: number;
  sb: number;
  sh: number;
  st: number;
  covered: boolean;
  /** A root other operands may share (one buffer for all of them). */
  shared: boolean;
}
function gradTargets(ts: readonly Tensor[]): GradTarget[] {
  const own = (t: Tensor): GradTarget => {
    const [, T, H, D] = t.shape as [number, number, number, number];
    return { tensor: t, offset: 0, sb: T * H * D, st: H * D, sh: D, covered: true, shared: false };
  };
  const roots = ts.map((t) => {
    const r = viewRoot(t);
    return r !== t && r.isContiguous() ? r : null;
  });
  const targets = ts.map((t, i) => {
    const r = roots[i];
    if (!r) return own(t);
    return { tensor: r, offset: t.offset - r.offset, sb: t.strides[0]!, st: t.strides[1]!, sh: t.strides[2]!, covered: false, shared: true };
  });
  // Per root: mark the elements its operands reach; overlapping operands fall back to their own buffers.
  for (const root of new Set(roots)) {
    if (!root) continue;
    const idx = targets.map((t, i) => (t.tensor === root ? i : -1)).filter((i) => i >= 0);
    const bands = columnBands(idx.map((i) => ts[i]!), idx.map((i) => targets[i]!), root.size);
    if (bands !== null) {
      for (const i of idx) targets[i]!.covered = bands.covered;
      continue;
    }
    const marks = new Uint8Array(root.size);
    let marked = 0;
    let overlap = false;
    for (const i of idx) {
      const t = ts[i]!;
      const o = targets[i]!;
      const [B, T, H, D] = t.shape as [number, number, number, number];
      for (let b = 0; b < B && !overlap; b++) {
        for (let s = 0; s < T && !overlap; s++) {
          for (let h = 0; h < H && !overlap; h++) {
            const at = o.offset + b * o.sb + s * o.st + h * o.sh;
            for (let d = 0; d < D; d++) {
              if (marks[at + d]) {
                overlap = true;
                break;
              }
              marks[at + d] = 1;
            }
            marked += D;
          }
        }
      }
    }
    for (const i of idx) {
      if (overlap) targets[i] = own(ts[i]!);
      else targets[i]!.covered = marked === root.size;
    }
  }
  return targets;
}

/**
 * The common layouts without marking every element: operands whose heads sit side by side in rows of one
 * stride (sh = D, the same st for all, sb = T·st), each a band of H·D columns starting at its offset within
 * the row — one projection's (B, T, H, D) output, or q, k and v as thirds of GPT-2's (B, T, 3C). Bands that
 * do not overlap never share an element; they cover the root when they fill its rows and it has no more.
 * Returns null for any other layout (then every element is marked).
 */
function columnBands(ts: readonly Tensor[], targets: readonly GradTarget[], rootSize: number): { covered: boolean } | null {
  const [B, T] = ts[0]!.shape as [number, number, number, number];
  const st = targets[0]!.st;
  const bands: [number, number][] = [];
  for (let i = 0; i < ts.length; i++) {
    const [b, t, H, D] = ts[i]!.shape as [number, number, number, number];
    const o = targets[i]!;
    if (b !== B || t !== T || o.st !== st || o.sh !== D || (B > 1 && o.sb !== T * st) || o.offset + H * D > st) return null;
    bands.push([o.offset, o.offset + H * D]);
  }
  bands.sort((a, b) => a[0] - b[0]);
  let width = 0;
  for (let i = 0; i < bands.length; i++) {
    if (i > 0 && bands[i]![0] < bands[i - 1]![1]) return null; // overlapping: leave it to the marks
    width += bands[i]![1] - bands[i]![0];
  }
  return { covered: width === st && B * T * st === rootSize };
}

/** dξ (B, H) from the backend, summed over the batch when the mask was (H). */
function addHeadMaskGrad(sink: GradSink, headMask: Tensor, dHeadMask: Float32Array, B: number, H: number): void {
  if (headMask.size === B * H) {
    sink.add(headMask, dHeadMask, true);
    return;
  }
  const g = floats(H);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) g[h] += dHeadMask[b * H + h]!;
  sink.add(headMask, g, true);
}

/** keyMask as a (B·Tk) Uint8Array of 0/1. */
function keyMaskArray(mask: Uint8Array | Tensor, B: number, Tk: number): Uint8Array {
  if (mask instanceof Uint8Array) {
    if (mask.length !== B * Tk) throw new RangeError(`attention: keyMask has ${mask.length} entries, expected B·Tk = ${B}·${Tk} = ${B * Tk}`);
    return mask;
  }
  if (!(mask instanceof Tensor)) throw new TypeError('attention: keyMask must be a Uint8Array or a Tensor (B, Tk)');
  if (mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== Tk) {
    throw new RangeError(`attention: keyMask has shape ${fmtShape(mask.shape)}, expected [${B}, ${Tk}]`);
  }
  const m = readContiguous(mask);
  const out = new Uint8Array(m.length);
  for (let i = 0; i < m.length; i++) out[i] = m[i] !== 0 ? 1 : 0;
  return out;
}

/** headMask as a Float32Array of H or B·H values. */
function headMaskArray(mask: Tensor | Float32Array, B: number, H: number): Float32Array {
  const n = mask instanceof Tensor ? mask.size : mask.length;
  const ok = mask instanceof Tensor ? (mask.ndim === 1 && n === H) || (mask.ndim === 2 && mask.shape[0] === B && mask.shape[1] === H) : n === H || n === B * H;
  if (!ok) {
    const got = mask instanceof Tensor ? `shape ${fmtShape(mask.shape)}` : `${n} values`;
    throw new RangeError(`attention: headMask has ${got}, expected (H) = [${H}] or (B, H) = [${B}, ${H}]`);
  }
  if (mask instanceof Float32Array) return mask;
  expectFloat('attention', mask, 'headMask');
  return readContiguous(mask) as Float32Array;
}

/** The bias (1 or B, H, Tq, Tk) as a strided operand (batch stride 0 when shared by the batch). */
function biasOperand(bias: Tensor, B: number, H: number, Tq: number, Tk: number): AttnOperand {
  if (!(bias instanceof Tensor)) throw new TypeError(`attention: bias must be a Tensor (1 or B, H, Tq, Tk), got ${typeof bias}`);
  expectFloat('attention', bias, 'bias');
  const s = bias.shape;
  if (bias.ndim !== 4 || (s[0] !== 1 && s[0] !== B) || s[1] !== H || s[2] !== Tq || s[3] !== Tk) {
    throw new RangeError(`attention: bias has shape ${fmtShape(s)}, expected (1 or B, H, Tq, Tk) = [1 or ${B}, ${H}, ${Tq}, ${Tk}]`);
  }
  const data = readContiguous(bias) as Float32Array;
  return { data, offset: 0, sb: s[0] === 1 ? 0 : H * Tq * Tk, sh: Tq * Tk, st: Tk };
}
