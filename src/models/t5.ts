// T5 (Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified Text-to-Text
// Transformer"), read top to bottom: the encoder-decoder of transformer.ts with four changes that became
// standard, and every task written as text to text ("translate English to German: ...", "summarize: ...").
//
//   1. No position embeddings. Each attention adds a learned scalar per head to score(i, j) that depends only
//      on the bucket of the relative position j − i (exact for small distances, logarithmic up to
//      max_distance). One bias table per stack, used by block 0 and reused by every later block.
//   2. RMSNorm ("T5LayerNorm"): x · weight / √(mean(x²) + ε): no mean subtraction, no bias — and no biases
//      anywhere in the model.
//   3. Pre-norm residual blocks, a final norm per stack:  x = x + SelfAttn(norm(x)); (decoder) x = x +
//      CrossAttn(norm(x), enc); x = x + FF(norm(x)).
//   4. Attention scores are q·kᵀ without the 1/√d_kv factor (T5's initialisation folds it into q).
//
//   FF (original T5, "relu"):          wo(relu(wi(x)))
//   FF (T5 v1.1, flan-t5, "gated-gelu"): wo(gelu_tanh(wi_0(x)) ⊙ wi_1(x))          (a GLU variant, Shazeer 2020)
//   Output: tied (T5): logits = (h · d_model^-0.5) · sharedᵀ;  untied (v1.1): logits = lm_head(h)
//
// Shapes: B batch, S source positions, T new decoder positions, P cached decoder positions, C d_model,
//         H heads, D d_kv (H·D need not be C), F d_ff, V vocabulary, N buckets.
//
// Parameter names are T5's checkpoint names (`shared.weight`, `encoder.block.0.layer.0.SelfAttention.q.weight`,
// `...SelfAttention.relative_attention_bias.weight`, `decoder.block.1.layer.1.EncDecAttention.k.weight`,
// `decoder.block.0.layer.2.DenseReluDense.wi_0.weight`, `encoder.final_layer_norm.weight`, `lm_head.weight`).
//
// What this file does not do: T5's "local"/"transient-global" attention (LongT5), mT5/UMT5 per-layer biases.

import { Tensor, Rng, tensor, layerStep, linear, embedding, add, mul, rmsNorm, dropout, ones, permute, reshape, type LinearActivation } from '../tensor/index.js';
import { Module, Linear, Embedding, MultiHeadAttention, KVCache, setInitEnabled, type LayerKVCache, type CrossAttentionCache, type Packing } from '../nn/index.js';
import { checkRows, checkTokenIds, encoderLength, headMaskPerLayer, maskBytes, teacherForced, type DecodeOptions, type DecoderOutput, type EncodeOptions, type EncoderOutput, type Seq2SeqForwardOptions, type Seq2SeqOutput } from './encoder_decoder.js';

export { KVCache };

// -----------------------------------------------------------------------------------------------------------
// Config: Hugging Face's T5Config field names.

export type T5FeedForward = 'relu' | 'gelu' | 'gelu_new' | 'silu' | 'gated-relu' | 'gated-gelu' | 'gated-gelu_new' | 'gated-silu';

export interface T5Config {
  vocab_size: number;
  d_model: number; // C
  d_kv: number; // D, size of each head
  d_ff: number; // F
  num_layers: number; // encoder blocks
  num_decoder_layers: number | null; // null: as num_layers
  num_heads: number; // H
  relative_attention_num_buckets: number; // N
  relative_attention_max_distance: number;
  dropout_rate: number;
  layer_norm_epsilon: number;
  /** Scales the initialisation (1.0); kept for config compatibility. */
  initializer_factor: number;
  feed_forward_proj: T5FeedForward;
  /** true (T5): the output layer is `shared`, after a d_model^-0.5 rescale. false (v1.1, flan-t5): its own lm_head. */
  tie_word_embeddings: boolean;
  pad_token_id: number;
  eos_token_id: number;
  decoder_start_token_id: number;
}

export const T5_DEFAULTS: T5Config = {
  vocab_size: 32128,
  d_model: 512,
  d_kv: 64,
  d_ff: 2048,
  num_layers: 6,
  num_decoder_layers: null,
  num_heads: 8,
  relative_attention_num_buckets: 32,
  relative_attention_max_distance: 128,
  dropout_rate: 0.1,
  layer_norm_epsilon: 1e-6,
  initializer_factor: 1.0,
  feed_forward_proj: 'relu',
  tie_word_embeddings: true,
  pad_token_id: 0,
  eos_token_id: 1,
  decoder_start_token_id: 0,
};

/** Named sizes (vocabulary 32 128 where the preset keeps T5's SentencePiece vocabulary). */
export const T5_PRESETS = {
  // ~0.2M + V·64: tests and quick experiments
  tiny: { d_model: 64, d_kv: 16, d_ff: 256, num_layers: 2, num_heads: 4, dropout_rate: 0 },
  // ~3.2M + V·128
  mini: { d_model: 128, d_kv: 32, d_ff: 512, num_layers: 4, num_heads: 4, dropout_rate: 0.1 },
  // t5-small: 60.5M
  't5-small': { d_model: 512, d_kv: 64, d_ff: 2048, num_layers: 6, num_heads: 8, vocab_size: 32128 },
  // t5-base: 222.9M
  't5-base': { d_model: 768, d_kv: 64, d_ff: 3072, num_layers: 12, num_heads: 12, vocab_size: 32128 },
  // google/t5-v1_1-small and flan-t5-small: gated-GELU, untied head, 8 + 8 layers: 76.9M
  't5-v1_1-small': { d_model: 512, d_kv: 64, d_ff: 1024, num_layers: 8, num_heads: 6, vocab_size: 32128, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false },
} satisfies Record<string, Partial<T5Config>>;

export type T5PresetName = keyof typeof T5_PRESETS;

const FEED_FORWARDS: readonly string[] = ['relu', 'gelu', 'gelu_new', 'silu', 'gated-relu', 'gated-gelu', 'gated-gelu_new', 'gated-silu'];

/** A full config from defaults + a preset + overrides. Example: `t5Config({ preset: 'tiny', vocab_size: 1000 })`. */
export function t5Config(opts: Partial<T5Config> & { preset?: T5PresetName } = {}): T5Config {
  const { preset, ...overrides } = opts;
  for (const key of Object.keys(overrides)) {
    if (!(key in T5_DEFAULTS)) throw new Error(`unknown T5 config key '${key}'; known keys: ${Object.keys(T5_DEFAULTS).join(', ')}`);
  }
  if (preset !== undefined && !(preset in T5_PRESETS)) throw new Error(`unknown T5 preset '${String(preset)}'; presets: ${Object.keys(T5_PRESETS).join(', ')}`);
  const cfg: T5Config = { ...T5_DEFAULTS, ...(preset ? (T5_PRESETS[preset] as Partial<T5Config>) : {}), ...overrides };
  for (const k of ['vocab_size', 'd_model', 'd_kv', 'd_ff', 'num_layers', 'num_heads', 'relative_attention_num_buckets', 'relative_attention_max_distance'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] <= 0) throw new Error(`T5 config ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (cfg.num_decoder_layers !== null && (!Number.isInteger(cfg.num_decoder_layers) || cfg.num_decoder_layers <= 0)) {
    throw new Error(`T5 config num_decoder_layers must be a positive integer or null, got ${cfg.num_decoder_layers}`);
  }
  if (!FEED_FORWARDS.includes(cfg.feed_forward_proj)) throw new Error(`T5 config feed_forward_proj must be one of ${FEED_FORWARDS.join(', ')}, got '${String(cfg.feed_forward_proj)}'`);
  for (const k of ['pad_token_id', 'eos_token_id', 'decoder_start_token_id'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 0 || cfg[k] >= cfg.vocab_size) throw new Error(`T5 config ${k} must be a token id below vocab_size ${cfg.vocab_size}, got ${cfg[k]}`);
  }
  return cfg;
}

/** Decoder blocks of a config. */
export function t5DecoderLayers(cfg: T5Config): number {
  return cfg.num_decoder_layers ?? cfg.num_layers;
}

/** Parameters: shared + per block (attention(s), FF, norms) + one bias table per stack + final norms (+ lm_head). */
export function t5ParameterCount(cfg: T5Config): number {
  const C = cfg.d_model;
  const inner = cfg.num_heads * cfg.d_kv;
  const attn = 4 * C * inner + C;
  const ff = (cfg.feed_forward_proj.startsWith('gated-') ? 3 : 2) * C * cfg.d_ff + C;
  const table = cfg.relative_attention_num_buckets * cfg.num_heads;
  const enc = cfg.num_layers * (attn + ff) + table + C;
  const dec = t5DecoderLayers(cfg) * (2 * attn + ff) + table + C;
  return cfg.vocab_size * C + enc + dec + (cfg.tie_word_embeddings ? 0 : cfg.vocab_size * C);
}

// -----------------------------------------------------------------------------------------------------------
// Relative position buckets

/**
 * T5's bucket of a relative position n = key − query (transformers' _relative_position_bucket, float32 log):
 *   bidirectional (encoder): half the buckets for n > 0 (offset N/2), half for n ≤ 0, then |n|;
 *   unidirectional (decoder): n ← max(−n, 0) (later keys are masked anyway);
 *   then with E = N/2 exact buckets: n if n < E, else min(N − 1, E + ⌊log(n/E) / log(maxDistance/E) · (N − E)⌋).
 * Example: `relativePositionBucket(-3, true, 32, 128)` → 3; `relativePositionBucket(3, true, 32, 128)` → 19.
 */
export function relativePositionBucket(relative: number, bidirectional: boolean, numBuckets: number, maxDistance: number): number {
  let buckets = 0;
  let n = relative;
  let N = numBuckets;
  if (bidirectional) {
    N = Math.floor(N / 2);
    if (n > 0) buckets += N;
    n = Math.abs(n);
  } else {
    n = -Math.min(n, 0);
  }
  const maxExact = Math.floor(N / 2);
  if (n < maxExact) return buckets + n;
  // float32 throughout, as PyTorch computes it: log(n / E) in float32, divided by a float64 constant, scaled.
  const f = Math.fround;
  const ratio = f(Math.log(f(n / maxExact)));
  const scaled = f(f(ratio / Math.log(maxDistance / maxExact)) * (N - maxExact));
  const large = maxExact + Math.trunc(scaled);
  return buckets + Math.min(large, N - 1);
}

/** Bucket ids (Tq, Tk) for queries at positions from..from+Tq-1 against keys 0..Tk-1. */
function bucketIds(Tq: number, Tk: number, from: number, bidirectional: boolean, cfg: T5Config): Tensor {
  const ids = new Int32Array(Tq * Tk);
  for (let i = 0; i < Tq; i++) {
    for (let j = 0; j < Tk; j++) ids[i * Tk + j] = relativePositionBucket(j - (from + i), bidirectional, cfg.relative_attention_num_buckets, cfg.relative_attention_max_distance);
  }
  return tensor(ids, [Tq, Tk], { dtype: 'int32' });
}

// -----------------------------------------------------------------------------------------------------------
// The parts.

/** T5LayerNorm: RMSNorm, x · weight / √(mean(x²) + ε), no mean and no bias. */
class T5LayerNorm extends Module {
  weight: Tensor;
  readonly eps: number;
  constructor(dim: number, eps: number) {
    super();
    this.weight = ones([dim], { requiresGrad: true });
    this.eps = eps;
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

/** T5's attention: q, k, v, o projections without biases, scores not scaled (scale 1), heads of size d_kv. */
type T5Attention = MultiHeadAttention & { readonly q: Linear; readonly k: Linear; readonly v: Linear; readonly o: Linear; readonly relative_attention_bias?: Embedding };

function t5Attention(cfg: T5Config, causal: boolean, withBiasTable: boolean): T5Attention {
  const attn = new MultiHeadAttention({
    dim: cfg.d_model,
    heads: cfg.num_heads,
    headDim: cfg.d_kv,
    projections: 'separate',
    names: { q: 'q', k: 'k', v: 'v', out: 'o' },
    bias: false,
    scale: 1,
    causal,
    dropout: cfg.dropout_rate,
  });
  if (withBiasTable) {
    // The stack's relative position bias table (N, H) lives in block 0's self-attention, under the checkpoint's
    // name `SelfAttention.relative_attention_bias`, beside q, k, v, o (as MultiHeadAttention stores those).
    Object.defineProperty(attn, 'relative_attention_bias', { value: new Embedding(cfg.relative_attention_num_buckets, cfg.num_heads), enumerable: true, writable: true });
  }
  return attn as T5Attention;
}

/** A residual sub-layer: x + dropout(f(norm(x))). */
function residual(x: Tensor, norm: T5LayerNorm, p: number, training: boolean, rng: Rng | undefined, f: (h: Tensor) => Tensor): Tensor {
  let y = f(norm.forward(x)); // (B, T, C)
  if (training && p > 0) y = dropout(y, p, { rng, training: true });
  return add(x, y);
}

class T5LayerSelfAttention extends Module {
  SelfAttention: T5Attention;
  layer_norm: T5LayerNorm;
  readonly p: number;
  constructor(cfg: T5Config, causal: boolean, withBiasTable: boolean) {
    super();
    this.SelfAttention = t5Attention(cfg, causal, withBiasTable);
    this.layer_norm = new T5LayerNorm(cfg.d_model, cfg.layer_norm_epsilon);
    this.p = cfg.dropout_rate;
  }
  forward(x: Tensor, o: { keyMask?: Uint8Array; bias: Tensor; cache?: LayerKVCache; headMask?: Tensor | Float32Array | null; wantWeights: boolean; rows?: Packing; rng?: Rng }): { x: Tensor; weights?: Tensor } {
    let weights: Tensor | undefined;
    x = residual(x, this.layer_norm, this.p, this.training, o.rng, (h) => {
      const a = this.SelfAttention.forward(h, { keyMask: o.keyMask, bias: o.bias, cache: o.cache, headMask: o.headMask ?? undefined, returnWeights: o.wantWeights, rows: o.rows, rng: o.rng });
      weights = a.weights;
      return a.out;
    });
    return weights ? { x, weights } : { x };
  }
}

class T5LayerCrossAttention extends Module {
  EncDecAttention: T5Attention;
  layer_norm: T5LayerNorm;
  readonly p: number;
  constructor(cfg: T5Config) {
    super();
    this.EncDecAttention = t5Attention(cfg, false, false);
    this.layer_norm = new T5LayerNorm(cfg.d_model, cfg.layer_norm_epsilon);
    this.p = cfg.dropout_rate;
  }
  forward(x: Tensor, enc: Tensor | null, o: { keyMask?: Uint8Array; crossCache?: CrossAttentionCache; headMask?: Tensor | Float32Array | null; wantWeights: boolean; rows?: Packing; encoderRows?: Packing; rng?: Rng }): { x: Tensor; weights?: Tensor } {
    let weights: Tensor | undefined;
    x = residual(x, this.layer_norm, this.p, this.training, o.rng, (h) => {
      // No position bias across the two sequences: where a source token sits relative to a target token means nothing.
      const a = this.EncDecAttention.forward(h, { kv: enc ?? undefined, keyMask: o.keyMask, crossCache: o.crossCache, headMask: o.headMask ?? undefined, returnWeights: o.wantWeights, rows: o.rows, kvRows: o.encoderRows, rng: o.rng });
      weights = a.weights;
      return a.out;
    });
    return weights ? { x, weights } : { x };
  }
}

/** The feed-forward weights under T5's names: { wi, wo } or, gated, { wi_0, wi_1, wo }. */
class DenseReluDense extends Module {
  wi: Linear | null;
  wi_0: Linear | null;
  wi_1: Linear | null;
  wo: Linear;
  readonly act: string;
  readonly p: number;
  constructor(cfg: T5Config) {
    super();
    const gated = cfg.feed_forward_proj.startsWith('gated-');
    const lin = (i: number, o: number) => new Linear(i, o, { bias: false });
    this.wi = gated ? null : lin(cfg.d_model, cfg.d_ff);
    this.wi_0 = gated ? lin(cfg.d_model, cfg.d_ff) : null;
    this.wi_1 = gated ? lin(cfg.d_model, cfg.d_ff) : null;
    this.wo = lin(cfg.d_ff, cfg.d_model);
    // transformers: "gated-gelu" means the tanh approximation (gelu_new); plain "gelu" is the exact one.
    const act = gated ? cfg.feed_forward_proj.slice('gated-'.length) : cfg.feed_forward_proj;
    this.act = cfg.feed_forward_proj === 'gated-gelu' ? 'gelu_new' : act;
    this.p = cfg.dropout_rate;
  }
  forward(x: Tensor, rng: Rng | undefined): Tensor {
    // act(wi(x)), or act(wi_0(x)) ⊙ wi_1(x) gated; without gradients the backend applies act as it makes the product.
    const act: LinearActivation = this.act === 'relu' || this.act === 'silu' || this.act === 'gelu' ? this.act : 'gelu_tanh';
    let h = this.wi ? this.wi.forward(x, act) : mul(this.wi_0!.forward(x, act), this.wi_1!.forward(x)); // (B, T, F)
    if (this.training && this.p > 0) h = dropout(h, this.p, { rng, training: true });
    return this.wo.forward(h); // (B, T, C)
  }
}

class T5LayerFF extends Module {
  DenseReluDense: DenseReluDense;
  layer_norm: T5LayerNorm;
  readonly p: number;
  constructor(cfg: T5Config) {
    super();
    this.DenseReluDense = new DenseReluDense(cfg);
    this.layer_norm = new T5LayerNorm(cfg.d_model, cfg.layer_norm_epsilon);
    this.p = cfg.dropout_rate;
  }
  forward(x: Tensor, rng: Rng | undefined): Tensor {
    return residual(x, this.layer_norm, this.p, this.training, rng, (h) => this.DenseReluDense.forward(h, rng));
  }
}

/** Encoder block: layer = [self-attention, FF]. Decoder block: layer = [causal self-attention, cross-attention, FF]. */
class T5Block extends Module {
  layer: [T5LayerSelfAttention, T5LayerFF] | [T5LayerSelfAttention, T5LayerCrossAttention, T5LayerFF];
  constructor(cfg: T5Config, isDecoder: boolean, first: boolean) {
    super();
    const self = new T5LayerSelfAttention(cfg, isDecoder, first);
    this.layer = isDecoder ? [self, new T5LayerCrossAttention(cfg), new T5LayerFF(cfg)] : [self, new T5LayerFF(cfg)];
  }
}

class T5Stack extends Module {
  block: T5Block[];
  final_layer_norm: T5LayerNorm;
  constructor(cfg: T5Config, isDecoder: boolean) {
    super();
    const n = isDecoder ? t5DecoderLayers(cfg) : cfg.num_layers;
    this.block = Array.from({ length: n }, (_, i) => new T5Block(cfg, isDecoder, i === 0));
    this.final_layer_norm = new T5LayerNorm(cfg.d_model, cfg.layer_norm_epsilon);
  }
  /** The position bias (1, H, Tq, Tk) of queries from..from+Tq-1 against keys 0..Tk-1, from block 0's table. */
  positionBias(Tq: number, Tk: number, from: number, bidirectional: boolean, cfg: T5Config): Tensor {
    const table = this.block[0]!.layer[0].SelfAttention.relative_attention_bias!.weight; // (N, H)
    const values = embedding(table, bucketIds(Tq, Tk, from, bidirectional, cfg)); // (Tq, Tk, H)
    return reshape(permute(values, [2, 0, 1]), [1, cfg.num_heads, Tq, Tk]); // (1, H, Tq, Tk)
  }
}

// -----------------------------------------------------------------------------------------------------------
// The whole model.

/** The forward's options: encoder_decoder.ts's Seq2SeqForwardOptions. */
export type T5ForwardOptions = Seq2SeqForwardOptions;

export class T5 extends Module {
  readonly config: T5Config;
  shared: Embedding; // (V, C)
  encoder: T5Stack;
  decoder: T5Stack;
  lm_head: Linear | null; // (V, C) when not tied

  /** `new T5(t5Config({ preset: 'tiny', vocab_size: 100 }), new Rng(1))`; `{ init: false }` before loading weights. */
  constructor(config: T5Config, rng: Rng = new Rng(1337), opts: { init?: boolean } = {}) {
    super();
    this.config = config;
    const prev = setInitEnabled(false);
    try {
      this.shared = new Embedding(config.vocab_size, config.d_model);
      this.encoder = new T5Stack(config, false);
      this.decoder = new T5Stack(config, true);
      this.lm_head = config.tie_word_embeddings ? null : new Linear(config.d_model, config.vocab_size, { bias: false });
    } finally {
      setInitEnabled(prev);
    }
    if (opts.init ?? true) this.initWeights(rng);
  }

  /**
   * T5's initialisation (transformers' T5PreTrainedModel._init_weights, factor f = initializer_factor):
   * embeddings N(0, f²); q N(0, f²/(C·D)) (the 1/√D the scores lack); k, v and the bias tables N(0, f²/C);
   * o N(0, f²/(H·D)); wi N(0, f²/C); wo N(0, f²/F); lm_head N(0, f²); norms 1.
   */
  private initWeights(rng: Rng): void {
    const { d_model: C, d_kv: D, num_heads: H, d_ff: F, initializer_factor: f } = this.config;
    const stdFor = (name: string): number => {
      if (name === 'shared.weight' || name === 'lm_head.weight') return f;
      if (name.endsWith('.q.weight')) return f / Math.sqrt(C * D);
      if (name.endsWith('.o.weight')) return f / Math.sqrt(H * D);
      if (name.endsWith('.wo.weight')) return f / Math.sqrt(F);
      return f / Math.sqrt(C); // k, v, wi, wi_0, wi_1, relative_attention_bias
    };
    // Fresh storage in backend memory for every parameter.
    this.initParameters((name, data) => {
      if (name.endsWith('layer_norm.weight')) data.fill(f);
      else {
        const std = stdFor(name);
        for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
      }
    });
  }

  /** The encoder: source ids (B, S) → states (B, S, C). Example: `model.encode(ids, { attentionMask })`. */
  encode(inputIds: Tensor, opts: EncodeOptions = {}): EncoderOutput {
    checkTokenIds(inputIds, 'source ids', this.config.vocab_size);
    const [B, S] = inputIds.shape as [number, number];
    checkRows(opts.rows, B, S, 'T5.encode', 'source ids');
    const keyMask = maskBytes(opts.attentionMask, B, S, 'T5.encode');
    const headMask = opts.headMask && headMaskPerLayer(opts.headMask, this.encoder.block.length, this.config.num_heads, 'T5.encode: the encoder');
    const p = this.config.dropout_rate;
    const drop = (t: Tensor) => (this.training && p > 0 ? dropout(t, p, { rng: opts.rng, training: true }) : t);
    let x = drop(embedding(this.shared.weight, inputIds)); // (B, S, C), no scaling, no positions
    if (opts.rows) x = opts.rows.pack(x); // padding-free: (N_S, C), the real positions only
    const bias = this.encoder.positionBias(S, S, 0, true, this.config); // (1, H, S, S), shared by every block
    const hiddenStates: Tensor[] = [];
    const attentions: Tensor[] = [];
    for (const [i, block] of this.encoder.block.entries()) {
      if (opts.outputHiddenStates) hiddenStates.push(x);
      const [selfAttn, ff] = block.layer as [T5LayerSelfAttention, T5LayerFF];
      // layerStep: in inference the block's intermediates live in reused memory (src/tensor/step.ts).
      const r = layerStep(() => {
        const a = selfAttn.forward(x, { keyMask, bias, headMask: headMask?.[i], wantWeights: opts.outputAttentions ?? false, rows: opts.rows, rng: opts.rng });
        return { x: ff.forward(a.x, opts.rng), weights: a.weights }; // (B, S, C)
      });
      if (r.weights) attentions.push(r.weights); // (B, H, S, S)
      x = r.x;
    }
    x = drop(this.encoder.final_layer_norm.forward(x));
    if (opts.outputHiddenStates) hiddenStates.push(x);
    const out: EncoderOutput = { lastHiddenState: x };
    if (opts.outputHiddenStates) out.hiddenStates = hiddenStates;
    if (opts.outputAttentions) out.attentions = attentions;
    return out;
  }

  /**
   * The decoder: target ids (B, T) (only the new ones when a cache holds P earlier positions) and the encoder's
   * states (B, S, C) → logits (B, T, V). Example: `model.decode(decIds, enc.lastHiddenState, { encoderAttentionMask: mask })`.
   */
  decode(decoderInputIds: Tensor, encoderHiddenStates: Tensor | null, opts: DecodeOptions & { rng?: Rng } = {}): DecoderOutput {
    checkTokenIds(decoderInputIds, 'decoder input ids', this.config.vocab_size);
    const [B, T] = decoderInputIds.shape as [number, number];
    checkRows(opts.rows, B, T, 'T5.decode', 'decoder input ids');
    const S = encoderLength(encoderHiddenStates, opts.cache, B, 'T5.decode', opts.encoderRows);
    if (opts.cache && opts.cache.cross.length !== this.decoder.block.length) throw new Error('T5.decode: the cache needs cross-attention slots (use model.newCache())');
    const P = opts.cache?.length ?? 0;
    const encMask = maskBytes(opts.encoderAttentionMask, B, S, 'T5.decode');
    const [L, H] = [this.decoder.block.length, this.config.num_heads];
    const selfMask = opts.headMask && headMaskPerLayer(opts.headMask, L, H, 'T5.decode: the decoder self-attention');
    const crossMask = opts.crossAttentionHeadMask && headMaskPerLayer(opts.crossAttentionHeadMask, L, H, 'T5.decode: the cross-attention');
    const want = opts.outputAttentions ?? false;
    const p = this.config.dropout_rate;
    const drop = (t: Tensor) => (this.training && p > 0 ? dropout(t, p, { rng: opts.rng, training: true }) : t);
    let x = drop(embedding(this.shared.weight, decoderInputIds)); // (B, T, C)
    if (opts.rows) x = opts.rows.pack(x); // padding-free: (N, C)
    const bias = this.decoder.positionBias(T, P + T, P, false, this.config); // (1, H, T, P + T): queries P..P+T-1
    const hiddenStates: Tensor[] = [];
    const attentions: Tensor[] = [];
    const crossAttentions: Tensor[] = [];
    this.decoder.block.forEach((block, i) => {
      if (opts.outputHiddenStates) hiddenStates.push(x);
      const [selfAttn, cross, ff] = block.layer as [T5LayerSelfAttention, T5LayerCrossAttention, T5LayerFF];
      // layerStep: in inference the block's intermediates live in reused memory (src/tensor/step.ts).
      const r = layerStep(() => {
        const a = selfAttn.forward(x, { bias, cache: opts.cache?.layers[i], headMask: selfMask?.[i], wantWeights: want, rows: opts.rows, rng: opts.rng });
        const c = cross.forward(a.x, encoderHiddenStates, { keyMask: encMask, crossCache: opts.cache?.cross[i], headMask: crossMask?.[i], wantWeights: want, rows: opts.rows, encoderRows: opts.encoderRows, rng: opts.rng });
        return { x: ff.forward(c.x, opts.rng), self: a.weights, cross: c.weights }; // (B, T, C)
      });
      if (r.self) attentions.push(r.self); // (B, H, T, P + T)
      if (r.cross) crossAttentions.push(r.cross); // (B, H, T, S)
      x = r.x;
    });
    x = drop(this.decoder.final_layer_norm.forward(x));
    if (opts.outputHiddenStates) hiddenStates.push(x);
    const keep = opts.rows ? 0 : (opts.logitsToKeep ?? 0); // packed rows: the logits of every computed position
    let head = keep > 0 && keep < T ? x.slice(1, T - keep, T) : x;
    let logits: Tensor;
    if (this.lm_head) logits = this.lm_head.forward(head); // (B, T, V)
    else {
      // Tied: the decoder's output is scaled by d_model^-0.5 before the shared embedding reads it backwards
      // (the embedding has entries of size ~1, so without it the logits would grow with √C).
      head = mul(head, 1 / Math.sqrt(this.config.d_model));
      logits = linear(head, this.shared.weight, null, 'out_in'); // (B, T, V)
    }
    const out: DecoderOutput = { logits };
    if (opts.outputHiddenStates) out.hiddenStates = hiddenStates;
    if (want) {
      out.attentions = attentions;
      out.crossAttentions = crossAttentions;
    }
    return out;
  }

  /** Teacher-forced forward: `model.forward(src, { attentionMask, labels })` → logits (B, T, V) and the loss. */
  forward(inputIds: Tensor, opts: T5ForwardOptions = {}): Seq2SeqOutput {
    return teacherForced(this, inputIds, opts, 'T5.forward');
  }

  /** A new, empty cache: per decoder block a self-attention cache and a cross-attention slot. */
  newCache(): KVCache {
    return new KVCache(t5DecoderLayers(this.config), { cross: true });
  }
}

// -----------------------------------------------------------------------------------------------------------
// Checkpoint names: T5 checkpoints use the model's names as they are (no prefix).

export const CHECKPOINT_RULES = {
  prefix: '',
  /** Tied copies of `shared` that some checkpoints store: skipped. */
  ignore: [/^(encoder|decoder)\.embed_tokens\.weight$/],
};
