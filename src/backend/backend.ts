// The Backend: the small set of heavy kernels the tensor engine composes everything from.
//
// Tensors keep their data in ordinary (garbage-collected) Float32Arrays, so users never free anything. A
// backend receives contiguous arrays and writes into an `out` array the caller allocated. The plain-TS
// backend (js/) is the readable oracle; the WebAssembly backend (wasm/) copies operands into its shared
// memory, runs SIMD kernels there on a worker pool, and copies results out. That copy is O(n²) next to the
// O(n³) of a matmul or attention. Besides those, a few per-element kernels live here because their
// arithmetic (a rational tanh per GELU element, a square root and a division per layer-norm row, an exp per
// logit) made them as costly as a block's matmuls in plain TypeScript; the cheap elementwise ops (add, mul,
// ...) stay in src/tensor, where V8 runs them at memory speed.
//
// Shape letters: B batch, M/N/K matmul dims, H heads, Tq query length, Tk key length, D head size.

/**
 * out[b] = op(A[b]) · op(B[b]) (+ out[b] when accumulate), for b in 0..batch-1, all row-major.
 * op(A) is (M, K): A is stored (M, K), or (K, M) when transA. op(B) is (K, N): B is stored (K, N), or (N, K)
 * when transB. aBatchStride / bBatchStride are in elements; 0 broadcasts one matrix over the batch (a weight).
 * out is (batch, M, N), contiguous.
 */
export interface MatmulSpec {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aBatchStride: number;
  bBatchStride: number;
  /** Add into `out` instead of overwriting it (gradient accumulation). */
  accumulate: boolean;
  /** N floats added to every row of every out[b] (nn.Linear's bias), fused into the product. */
  bias?: Float32Array;
  /**
   * Set when B is a parameter whose contents only change when this number changes (the tensor's version).
   * A backend may then cache B in packed form and reuse it until the version moves (weights packed once).
   * The same storage array arrives read both ways (forward reads W with one transB, backward with the other),
   * so a cache key needs the array, transB, k, n and bBatchStride as well as the version. The tensor layer
   * passes it only when B is a parameter's storage (a leaf with requiresGrad, or a view of one at offset 0).
   */
  bVersion?: number;
}

/** Masks for scaled-dot-product attention. Query i sits at absolute position (Tk - Tq + i) (a KV cache). */
export interface AttentionSpec {
  batch: number; // B
  heads: number; // H
  tq: number; // Tq
  tk: number; // Tk
  headDim: number; // D
  /** Multiplies q·kᵀ; usually 1/sqrt(D). */
  scale: number;
  /** Key j is hidden from query i when j > pos(i). */
  causal: boolean;
  /** Key j is hidden when pos(i) - j >= window (sliding window); 0 = no window. */
  window: number;
  /** (B, Tk), 1 = attend, 0 = padding. Omitted = every key is real. */
  keyMask?: Uint8Array;
  /**
   * Attention dropout (training): each probability p_ij is dropped with probability `p` and the survivors
   * are scaled by 1/(1 − p). Which ones is decided by dropKeeps(seed, index) below, a hash of the
   * probability's index, so the backward pass (and every backend) rebuilds exactly the forward's mask with
   * nothing stored. lse and the returned weights are those before dropout.
   */
  dropout?: { p: number; seed: number };
}

/**
 * The attention dropout mask: probability (b, h, i, j) with flat index ((b·H + h)·Tq + i)·Tk + j is kept when
 * the 32-bit hash of (index, seed) is at least the threshold p·2³². The hash is "lowbias32" (Chris
 * Wellons' integer hash, two multiply-xorshift rounds) of index + hash(seed), which kernels/attention.ts
 * computes four lanes at a time with the same 32-bit integer arithmetic.
 */
export function dropThreshold(p: number): number {
  return Math.min(0xffffffff, Math.floor(p * 4294967296)) >>> 0;
}
export function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}
export function dropKeeps(seedHash: number, index: number, threshold: number): boolean {
  return lowbias32((index + seedHash) >>> 0) >= threshold;
}

export interface AttentionForwardResult {
  /** (B, H, Tq, D) */
  out: Float32Array;
  /** (B, H, Tq): log Σ_j exp(scale·q·k_j) over visible keys; what backward needs to rebuild the weights. */
  lse: Float32Array;
  /** (B, H, Tq, Tk) softmax probabilities, only when asked for. */
  weights?: Float32Array;
}

/** A (rows, cols) row-major matrix processed row by row. */
export interface RowsSpec {
  rows: number;
  cols: number;
}

/** A linear layer y = x·op(W) + b over `rows` rows: W is (in, out) for 'in_out' (GPT-2's Conv1D) or (out, in)
 * for 'out_in' (torch.nn.Linear). wVersion: W's version, as MatmulSpec.bVersion (packed W may be cached). */
export interface LinearSpec {
  rows: number;
  inF: number;
  outF: number;
  layout: 'in_out' | 'out_in';
  wVersion?: number;
}

/** Layer normalization over the last dim: `rows` rows of `cols` floats. */
export interface LayerNormSpec {
  rows: number;
  cols: number;
  eps: number;
}

export interface Backend {
  readonly name: string;
  /** Threads this backend uses for large kernels (1 for the reference backend). */
  readonly threads: number;

  matmul(a: Float32Array, b: Float32Array, out: Float32Array, spec: MatmulSpec): void;

  /**
   * softmax(scale·q·kᵀ + mask)·v with q (B,H,Tq,D), k and v (B,H,Tk,D), all contiguous. A query that sees no
   * key at all (a fully padded row) gets out = 0 and lse = -Infinity; its weights row is all zeros.
   */
  attentionForward(q: Float32Array, k: Float32Array, v: Float32Array, spec: AttentionSpec, returnWeights: boolean): AttentionForwardResult;

  /** Gradients of attentionForward: given dOut (B,H,Tq,D) and the forward's out and lse, return dq, dk, dv. */
  attentionBackward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    lse: Float32Array,
    dOut: Float32Array,
    spec: AttentionSpec,
  ): { dq: Float32Array; dk: Float32Array; dv: Float32Array };

  /**
   * The gradients of a linear layer y = x·op(W) + b from dy (rows, out): dx = dy·op(W)ᵀ (rows, in), dW (W's
   * layout) and db = Σ_rows dy (out), each written only when its array is given. One call for the three, so
   * a backend that copies operands (WebAssembly) moves dy once.
   */
  linearBackward(x: Float32Array, w: Float32Array, dy: Float32Array, spec: LinearSpec, dx: Float32Array | null, dw: Float32Array | null, db: Float32Array | null): void;

  /**
   * Self-attention straight from the packed projection, as GPT-2's c_attn makes it: qkv (B, T, 3·H·D) holds
   * q, k and v side by side in each row (and heads side by side within each third); out comes back (B, T, H·D),
   * heads side by side, as c_proj reads it. Same masks and results as attentionForward on the split heads
   * with tq = tk = T, without the copies that split and merge the heads; lse is (B, H, T).
   */
  attentionPackedForward(qkv: Float32Array, spec: AttentionSpec, returnWeights: boolean): AttentionForwardResult;

  /** Gradient of attentionPackedForward: writes every element of dqkv (B, T, 3·H·D) from dOut (B, T, H·D). */
  attentionPackedBackward(qkv: Float32Array, out: Float32Array, lse: Float32Array, dOut: Float32Array, spec: AttentionSpec, dqkv: Float32Array): void;

  /**
   * Per row of `cols` values (cross-entropy's logits): lse = log Σ_c e^(x_c) (as m + log Σ e^(x_c − m), m the
   * row's max) and sumX = Σ_c x_c, one number per row each; with probs, also softmax(x) = e^(x_c − lse).
   */
  logSoftmaxRows(x: Float32Array, spec: RowsSpec, lse: Float32Array, sumX: Float32Array, probs: Float32Array | null): void;

  /** GELU, tanh form (GPT-2's gelu_new): out = x·½(1 + tanh(√(2/π)(x + 0.044715x³))). */
  geluTanh(x: Float32Array, out: Float32Array): void;

  /** gx = g·d/dx gelu_tanh(x), elementwise. */
  geluTanhBackward(x: Float32Array, g: Float32Array, gx: Float32Array): void;

  /**
   * out = (x − μ)·r·w + b per row, r = 1/√(var + eps) (biased variance, as PyTorch); writes each row's μ
   * and r into mean and rstd (rows) for the backward pass.
   */
  layerNorm(x: Float32Array, w: Float32Array, b: Float32Array, spec: LayerNormSpec, out: Float32Array, mean: Float32Array, rstd: Float32Array): void;

  /**
   * With x̂ = (x − μ)·r and ĝ = g·w: gx = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) per row (skipped when gx is null),
   * gw = Σ_rows g·x̂ and gb = Σ_rows g (overwritten, cols each).
   */
  layerNormBackward(
    x: Float32Array,
    w: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    g: Float32Array,
    spec: LayerNormSpec,
    gx: Float32Array | null,
    gw: Float32Array,
    gb: Float32Array,
  ): void;
}

/** An attention call's dropout in the form the mask takes (seed hashed once), or null for none. */
export function dropoutOf(spec: AttentionSpec): { seedHash: number; threshold: number; scale: number } | null {
  const d = spec.dropout;
  if (!d || !(d.p > 0)) return null;
  return { seedHash: lowbias32(d.seed >>> 0), threshold: dropThreshold(d.p), scale: 1 / (1 - d.p) };
}
