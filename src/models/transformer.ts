// The Transformer of "Attention Is All You Need" (Vaswani et al. 2017): an encoder-decoder, read top to bottom.
// Hugging Face's Marian models (opus-mt translation models, MarianMTModel) are this architecture, so the same
// file loads and saves `model_type: marian` folders.
//
//   source ids ─▶ shared·√C + sinusoid(0..S-1) ─▶ dropout ─▶ N × EncoderLayer ─▶ enc   (B, S, C)
//   target ids ─▶ shared·√C + sinusoid(P..P+T-1) ─▶ dropout ─▶ N × DecoderLayer(enc) ─▶ h ─▶ h·sharedᵀ + bias
//
//   EncoderLayer(x) (post-LN, as in 2017):     x = LN(x + SelfAttn(x));           x = LN(x + FFN(x))
//   DecoderLayer(x):                           x = LN(x + CausalSelfAttn(x));     x = LN(x + CrossAttn(x, enc))
//                                              x = LN(x + FFN(x))
//   with normalize_before (pre-LN, the option that trains deep stacks without warmup tricks, Xiong et al. 2020):
//                                              x = x + SelfAttn(LN(x)); ...; and one more LN after the last layer
//   FFN(x) = fc2(act(fc1(x)))                 act = ReLU in the paper, swish (SiLU) in Marian
//
// One embedding matrix `shared` (V, C) serves three roles (the paper's §3.4 weight sharing): it embeds source
// tokens, embeds target tokens, and — transposed — maps the decoder's output to logits. Embeddings are
// multiplied by √C so they are not drowned by the positional signal, which has entries of size ~1.
// Positions are the fixed sinusoids of §3.5, nothing learned: column i of position p is sin(p / 10000^(2i/C))
// for i < C/2 and column C/2 + i is cos(p / 10000^(2i/C)) (Marian's layout: all sines, then all cosines —
// the paper interleaves them, which is the same table with its columns permuted).
//
// Shapes: B batch, S source positions, T new decoder positions, P decoder positions already in the KV cache,
//         C channels (d_model), H heads, D head size (C / H), F FFN width, V vocabulary.
// Padding-free training (`paddingFree`, src/nn/packing.ts) runs the same layers on the N real positions of a
// padded batch, packed (N, C) instead of (B, S, C) / (B, T, C); attention puts them back in place.
//
// Parameter names are Marian's checkpoint names (`shared.weight`, `encoder.layers.0.self_attn.q_proj.weight`,
// `decoder.layers.0.encoder_attn.k_proj.bias`, `final_logits_bias`), so a Hugging Face folder loads by a walk
// over names; the irregularities (the `model.` prefix, tied copies, position tables) are in CHECKPOINT_RULES.
//
// What this file does not do: separate source and target vocabularies (Marian's share_encoder_decoder_embeddings
// false / decoder_vocab_size), learned position embeddings (BART), layer drop.

import { Tensor, Rng, tensor, layerStep, linear, embedding, add, addLayerNorm, mul, dropout, zeros, type LinearActivation } from '../tensor/index.js';
import { Module, Linear, Embedding, LayerNorm, MultiHeadAttention, KVCache, setInitEnabled, type LayerKVCache, type CrossAttentionCache, type Packing } from '../nn/index.js';
import { checkRows, checkTokenIds, encoderLength, headMaskPerLayer, maskBytes, seq2seqLoss, teacherForced, type DecodeOptions, type DecoderOutput, type EncodeOptions, type EncoderOutput, type Seq2SeqForwardOptions, type Seq2SeqOutput } from './encoder_decoder.js';

export { KVCache };

// -----------------------------------------------------------------------------------------------------------
// Config: Hugging Face's MarianConfig field names, so a config.json round-trips without a mapping table.

export type TransformerActivation = 'relu' | 'swish' | 'silu' | 'gelu' | 'gelu_new';

export interface TransformerConfig {
  vocab_size: number; // V, shared by source and target
  d_model: number; // C
  encoder_layers: number;
  decoder_layers: number;
  encoder_attention_heads: number;
  decoder_attention_heads: number;
  encoder_ffn_dim: number; // F
  decoder_ffn_dim: number;
  activation_function: TransformerActivation;
  /** Dropout on embeddings and on every sub-layer's output before the residual add (the paper's P_drop). */
  dropout: number;
  /** Dropout on attention probabilities. */
  attention_dropout: number;
  /** Dropout after the FFN's activation. */
  activation_dropout: number;
  /** Rows of the sinusoid table: the longest source, and the longest target. */
  max_position_embeddings: number;
  /** Multiply embeddings by √C (the paper does; Marian does). */
  scale_embedding: boolean;
  /** attn extension: pre-LN layers and a final LayerNorm per stack (mBART's layout). Post-LN (false) is 2017's. */
  normalize_before: boolean;
  /** Std of the normal init HF uses (kept for config compatibility; attn initialises as fairseq, see initWeights). */
  init_std: number;
  pad_token_id: number;
  eos_token_id: number;
  /** The token the decoder starts from (Marian: the pad token). */
  decoder_start_token_id: number;
  /** Generation forces EOS as the last token when max_length is reached (Marian: eos). null = off. */
  forced_eos_token_id: number | null;
}

export const TRANSFORMER_DEFAULTS: TransformerConfig = {
  vocab_size: 58101,
  d_model: 512,
  encoder_layers: 6,
  decoder_layers: 6,
  encoder_attention_heads: 8,
  decoder_attention_heads: 8,
  encoder_ffn_dim: 2048,
  decoder_ffn_dim: 2048,
  activation_function: 'relu',
  dropout: 0.1,
  attention_dropout: 0.0,
  activation_dropout: 0.0,
  max_position_embeddings: 512,
  scale_embedding: true,
  normalize_before: false,
  init_std: 0.02,
  pad_token_id: 0,
  eos_token_id: 2,
  decoder_start_token_id: 1,
  forced_eos_token_id: null,
};

/**
 * Named sizes. Parameter counts are for the vocabulary given in the preset (the paper's shared 37 000 BPE
 * vocabulary for WMT English-German, opus-mt's 58 101); the small presets take the tokenizer's vocabulary.
 */
export const TRANSFORMER_PRESETS = {
  // ~0.1M + V·64: tests and quick experiments
  tiny: { encoder_layers: 2, decoder_layers: 2, d_model: 64, encoder_attention_heads: 4, decoder_attention_heads: 4, encoder_ffn_dim: 256, decoder_ffn_dim: 256, dropout: 0, max_position_embeddings: 128 },
  // grapheme-to-phoneme on CMUdict (attn g2p): 3 + 3 layers, 128 wide, FFN 512: 1.40M parameters with V = 70
  g2p: { encoder_layers: 3, decoder_layers: 3, d_model: 128, encoder_attention_heads: 4, decoder_attention_heads: 4, encoder_ffn_dim: 512, decoder_ffn_dim: 512, dropout: 0.1, max_position_embeddings: 64 },
  // ~7.9M + V·256
  small: { encoder_layers: 4, decoder_layers: 4, d_model: 256, encoder_attention_heads: 4, decoder_attention_heads: 4, encoder_ffn_dim: 1024, decoder_ffn_dim: 1024, dropout: 0.1, max_position_embeddings: 256 },
  // the paper's base model (Table 3): 6 + 6 layers, 512 wide, 8 heads, FFN 2048, P_drop 0.1: 44.1M + 37000·512 = 63.1M
  base: { encoder_layers: 6, decoder_layers: 6, d_model: 512, encoder_attention_heads: 8, decoder_attention_heads: 8, encoder_ffn_dim: 2048, decoder_ffn_dim: 2048, dropout: 0.1, vocab_size: 37000, activation_function: 'relu' },
  // the paper's big model: 1024 wide, 16 heads, FFN 4096, P_drop 0.3: 176.2M + 37000·1024 = 214.0M
  big: { encoder_layers: 6, decoder_layers: 6, d_model: 1024, encoder_attention_heads: 16, decoder_attention_heads: 16, encoder_ffn_dim: 4096, decoder_ffn_dim: 4096, dropout: 0.3, vocab_size: 37000, activation_function: 'relu' },
  // opus-mt (Marian) base: swish, vocab 58 101, pad = decoder start 58100, eos 0: 44.1M + 58101·512 = 73.9M
  'marian-base': {
    encoder_layers: 6, decoder_layers: 6, d_model: 512, encoder_attention_heads: 8, decoder_attention_heads: 8, encoder_ffn_dim: 2048, decoder_ffn_dim: 2048,
    dropout: 0.1, vocab_size: 58101, activation_function: 'swish', pad_token_id: 58100, decoder_start_token_id: 58100, eos_token_id: 0, forced_eos_token_id: 0,
  },
} satisfies Record<string, Partial<TransformerConfig>>;

export type TransformerPresetName = keyof typeof TRANSFORMER_PRESETS;

/**
 * A full config from defaults + a preset + overrides; unknown keys are an error naming the key.
 * Example: `transformerConfig({ preset: 'tiny', vocab_size: 1000 })`.
 */
export function transformerConfig(opts: Partial<TransformerConfig> & { preset?: TransformerPresetName } = {}): TransformerConfig {
  const { preset, ...overrides } = opts;
  for (const key of Object.keys(overrides)) {
    if (!(key in TRANSFORMER_DEFAULTS)) throw new Error(`unknown Transformer config key '${key}'; known keys: ${Object.keys(TRANSFORMER_DEFAULTS).join(', ')}`);
  }
  if (preset !== undefined && !(preset in TRANSFORMER_PRESETS)) {
    throw new Error(`unknown Transformer preset '${String(preset)}'; presets: ${Object.keys(TRANSFORMER_PRESETS).join(', ')}`);
  }
  const cfg: TransformerConfig = { ...TRANSFORMER_DEFAULTS, ...(preset ? (TRANSFORMER_PRESETS[preset] as Partial<TransformerConfig>) : {}), ...overrides };
  for (const k of ['vocab_size', 'd_model', 'encoder_layers', 'decoder_layers', 'encoder_attention_heads', 'decoder_attention_heads', 'encoder_ffn_dim', 'decoder_ffn_dim', 'max_position_embeddings'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] <= 0) throw new Error(`Transformer config ${k} must be a positive integer, got ${cfg[k]}`);
  }
  for (const k of ['encoder_attention_heads', 'decoder_attention_heads'] as const) {
    if (cfg.d_model % cfg[k] !== 0) throw new Error(`d_model (${cfg.d_model}) must be divisible by ${k} (${cfg[k]})`);
  }
  if (cfg.d_model % 2 !== 0) throw new Error(`d_model must be even for the sine/cosine position table, got ${cfg.d_model}`);
  for (const k of ['pad_token_id', 'eos_token_id', 'decoder_start_token_id'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 0 || cfg[k] >= cfg.vocab_size) throw new Error(`Transformer config ${k} must be a token id below vocab_size ${cfg.vocab_size}, got ${cfg[k]}`);
  }
  if (!['relu', 'swish', 'silu', 'gelu', 'gelu_new'].includes(cfg.activation_function)) {
    throw new Error(`Transformer config activation_function must be relu, swish, silu, gelu or gelu_new, got '${String(cfg.activation_function)}'`);
  }
  return cfg;
}

/** Parameters: shared embedding + per layer (attention 4·(C² + C), LayerNorms, FFN) + final norms + logits bias. */
export function transformerParameterCount(cfg: TransformerConfig): number {
  const C = cfg.d_model;
  const attn = 4 * (C * C + C);
  const ln = 2 * C;
  const ffn = (F: number) => C * F + F + F * C + C;
  const enc = cfg.encoder_layers * (attn + ln + ffn(cfg.encoder_ffn_dim) + ln);
  const dec = cfg.decoder_layers * (2 * (attn + ln) + ffn(cfg.decoder_ffn_dim) + ln);
  const finals = cfg.normalize_before ? 2 * ln : 0;
  return cfg.vocab_size * C + enc + dec + finals + cfg.vocab_size;
}

/**
 * The sinusoid table (rows, C), computed in float64 and rounded to float32 as Marian does:
 * column i < C/2 is sin(p · 10000^(-2i/C)), column C/2 + i is cos of the same angle.
 */
export function sinusoidalPositions(rows: number, C: number): Float32Array {
  const half = C / 2;
  const out = new Float32Array(rows * C);
  for (let p = 0; p < rows; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p / Math.pow(10000, (2 * i) / C);
      out[p * C + i] = Math.sin(angle);
      out[p * C + half + i] = Math.cos(angle);
    }
  }
  return out;
}

// -----------------------------------------------------------------------------------------------------------
// The parts.

/** The config's activation as linear()'s (applied as the product is made when no gradient is wanted). */
function linearActivation(act: TransformerActivation): LinearActivation {
  if (act === 'swish' || act === 'silu') return 'silu'; // x · sigmoid(x)
  return act === 'gelu_new' ? 'gelu_tanh' : act; // 'relu', 'gelu' (exact)
}

/** The attention module with its projections under Marian's names. */
type MarianAttention = MultiHeadAttention & { readonly q_proj: Linear; readonly k_proj: Linear; readonly v_proj: Linear; readonly out_proj: Linear };

function marianAttention(C: number, H: number, causal: boolean, p: number): MarianAttention {
  return new MultiHeadAttention({
    dim: C,
    heads: H,
    projections: 'separate',
    names: { q: 'q_proj', k: 'k_proj', v: 'v_proj', out: 'out_proj' },
    causal,
    dropout: p,
  }) as MarianAttention;
}

/** The settings a layer's forward needs from the config. */
interface LayerSettings {
  preLN: boolean;
  act: TransformerActivation;
  dropout: number;
  activationDropout: number;
}

/**
 * y = x + dropout(f(x)) around a LayerNorm placed before f (pre-LN) or after the sum (post-LN). Post-LN's
 * dropout → add → LayerNorm is one fused op (addLayerNorm, as BERT's sub-layer ends): one pass over the
 * rows each way and no (B, T, C) temporaries for the sum.
 */
function residual(x: Tensor, norm: LayerNorm, s: LayerSettings, training: boolean, rng: Rng | undefined, f: (h: Tensor) => Tensor): Tensor {
  if (!s.preLN) return addLayerNorm(f(x), x, norm.weight, norm.bias, norm.eps, { dropout: training ? s.dropout : 0, ...(rng ? { rng } : {}) }); // LN(x + dropout(f(x))) (B, T, C)
  let y = f(norm.forward(x)); // (B, T, C)
  if (training && s.dropout > 0) y = dropout(y, s.dropout, { rng, training: true });
  return add(x, y); // (B, T, C)
}

class EncoderLayer extends Module {
  self_attn: MarianAttention;
  self_attn_layer_norm: LayerNorm;
  fc1: Linear; // C → F
  fc2: Linear; // F → C
  final_layer_norm: LayerNorm;
  readonly s: LayerSettings;

  constructor(cfg: TransformerConfig) {
    super();
    const C = cfg.d_model;
    this.self_attn = marianAttention(C, cfg.encoder_attention_heads, false, cfg.attention_dropout);
    this.self_attn_layer_norm = new LayerNorm(C, 1e-5);
    this.fc1 = new Linear(C, cfg.encoder_ffn_dim);
    this.fc2 = new Linear(cfg.encoder_ffn_dim, C);
    this.final_layer_norm = new LayerNorm(C, 1e-5);
    this.s = { preLN: cfg.normalize_before, act: cfg.activation_function, dropout: cfg.dropout, activationDropout: cfg.activation_dropout };
  }

  forward(x: Tensor, o: { keyMask?: Uint8Array; headMask?: Tensor | Float32Array | null; wantWeights: boolean; rows?: Packing; rng?: Rng }): { x: Tensor; weights?: Tensor } {
    const rng = o.rng;
    let weights: Tensor | undefined;
    x = residual(x, this.self_attn_layer_norm, this.s, this.training, rng, (h) => {
      const a = this.self_attn.forward(h, { keyMask: o.keyMask, headMask: o.headMask ?? undefined, returnWeights: o.wantWeights, rows: o.rows, rng }); // (B, S, C) or (N, C)
      weights = a.weights; // (B, H, S, S)
      return a.out;
    });
    x = residual(x, this.final_layer_norm, this.s, this.training, rng, (h) => feedForward(this.fc1, this.fc2, h, this.s, this.training, rng));
    return weights ? { x, weights } : { x };
  }
}

function feedForward(fc1: Linear, fc2: Linear, x: Tensor, s: LayerSettings, training: boolean, rng: Rng | undefined): Tensor {
  let h = fc1.forward(x, linearActivation(s.act)); // act(fc1(x)) (B, T, F)
  if (training && s.activationDropout > 0) h = dropout(h, s.activationDropout, { rng, training: true });
  return fc2.forward(h); // (B, T, C)
}

class DecoderLayer extends Module {
  self_attn: MarianAttention; // causal: position t reads positions ≤ t of the target
  self_attn_layer_norm: LayerNorm;
  encoder_attn: MarianAttention; // cross-attention: queries from the decoder, keys and values from the encoder
  encoder_attn_layer_norm: LayerNorm;
  fc1: Linear;
  fc2: Linear;
  final_layer_norm: LayerNorm;
  readonly s: LayerSettings;

  constructor(cfg: TransformerConfig) {
    super();
    const C = cfg.d_model;
    const H = cfg.decoder_attention_heads;
    this.self_attn = marianAttention(C, H, true, cfg.attention_dropout);
    this.self_attn_layer_norm = new LayerNorm(C, 1e-5);
    this.encoder_attn = marianAttention(C, H, false, cfg.attention_dropout);
    this.encoder_attn_layer_norm = new LayerNorm(C, 1e-5);
    this.fc1 = new Linear(C, cfg.decoder_ffn_dim);
    this.fc2 = new Linear(cfg.decoder_ffn_dim, C);
    this.final_layer_norm = new LayerNorm(C, 1e-5);
    this.s = { preLN: cfg.normalize_before, act: cfg.activation_function, dropout: cfg.dropout, activationDropout: cfg.activation_dropout };
  }

  forward(
    x: Tensor,
    enc: Tensor | null,
    o: {
      encMask?: Uint8Array;
      cache?: LayerKVCache;
      crossCache?: CrossAttentionCache;
      headMasks: { self?: Tensor | Float32Array | null; cross?: Tensor | Float32Array | null };
      wantWeights: boolean;
      rows?: Packing; // padding-free: x is packed (N, C)
      encoderRows?: Packing; // and enc is packed (N_S, C)
      rng?: Rng;
    },
  ): { x: Tensor; self?: Tensor; cross?: Tensor } {
    const rng = o.rng;
    const out: { x: Tensor; self?: Tensor; cross?: Tensor } = { x };
    x = residual(x, this.self_attn_layer_norm, this.s, this.training, rng, (h) => {
      const a = this.self_attn.forward(h, { cache: o.cache, headMask: o.headMasks.self ?? undefined, returnWeights: o.wantWeights, rows: o.rows, rng }); // (B, T, C)
      if (a.weights) out.self = a.weights; // (B, H, T, P + T)
      return a.out;
    });
    x = residual(x, this.encoder_attn_layer_norm, this.s, this.training, rng, (h) => {
      // Keys and values come from the encoder's output; with a cache they are computed on the first step only.
      const a = this.encoder_attn.forward(h, {
        kv: enc ?? undefined, keyMask: o.encMask, crossCache: o.crossCache, headMask: o.headMasks.cross ?? undefined, returnWeights: o.wantWeights, rows: o.rows, kvRows: o.encoderRows, rng,
      }); // (B, T, C)
      if (a.weights) out.cross = a.weights; // (B, H, T, S)
      return a.out;
    });
    x = residual(x, this.final_layer_norm, this.s, this.training, rng, (h) => feedForward(this.fc1, this.fc2, h, this.s, this.training, rng));
    out.x = x;
    return out;
  }
}

class Encoder extends Module {
  layers: EncoderLayer[];
  layer_norm: LayerNorm | null; // pre-LN only

  constructor(cfg: TransformerConfig) {
    super();
    this.layers = Array.from({ length: cfg.encoder_layers }, () => new EncoderLayer(cfg));
    this.layer_norm = cfg.normalize_before ? new LayerNorm(cfg.d_model, 1e-5) : null;
  }
}

class Decoder extends Module {
  layers: DecoderLayer[];
  layer_norm: LayerNorm | null;

  constructor(cfg: TransformerConfig) {
    super();
    this.layers = Array.from({ length: cfg.decoder_layers }, () => new DecoderLayer(cfg));
    this.layer_norm = cfg.normalize_before ? new LayerNorm(cfg.d_model, 1e-5) : null;
  }
}

// -----------------------------------------------------------------------------------------------------------
// The whole model.

/** The forward's options: encoder_decoder.ts's Seq2SeqForwardOptions (label smoothing: the paper uses 0.1). */
export type TransformerForwardOptions = Seq2SeqForwardOptions;

export class Transformer extends Module {
  readonly config: TransformerConfig;
  shared: Embedding; // (V, C): source embeddings, target embeddings and the output projection
  encoder: Encoder;
  decoder: Decoder;
  /** (1, V) added to the logits. Marian checkpoints carry it (a buffer, not trained); models trained here keep it 0. */
  final_logits_bias: Tensor;
  private readonly _positions: Tensor; // (max_position_embeddings, C), fixed

  /**
   * A freshly initialised model: `new Transformer(transformerConfig({ preset: 'tiny', vocab_size: 100 }), new Rng(1))`.
   * `{ init: false }` skips the initialisation, for models whose weights are loaded right after.
   */
  constructor(config: TransformerConfig, rng: Rng = new Rng(1337), opts: { init?: boolean } = {}) {
    super();
    this.config = config;
    const prev = setInitEnabled(false);
    try {
      this.shared = new Embedding(config.vocab_size, config.d_model);
      this.encoder = new Encoder(config);
      this.decoder = new Decoder(config);
    } finally {
      setInitEnabled(prev);
    }
    this.final_logits_bias = zeros([1, config.vocab_size]); // no requiresGrad: not trained, as in transformers
    this._positions = tensor(sinusoidalPositions(config.max_position_embeddings, config.d_model), [config.max_position_embeddings, config.d_model]);
    if (opts.init ?? true) this.initWeights(rng);
  }

  /**
   * fairseq's initialisation for Transformers trained from scratch: linear weights Xavier-uniform (±√(6/(in+out))),
   * biases 0, LayerNorms 1 and 0, embeddings N(0, 1/C) with the pad row 0 — so the √C-scaled embedding has unit
   * variance, like the sinusoids, and the tied output layer starts with logits of size ~1.
   */
  private initWeights(rng: Rng): void {
    const C = this.config.d_model;
    // Fresh storage in backend memory for every parameter (data starts as zeros: biases and LayerNorm shifts stay 0).
    this.initParameters((name, data, shape) => {
      if (name === 'shared.weight') {
        const std = 1 / Math.sqrt(C);
        for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
        data.fill(0, this.config.pad_token_id * C, (this.config.pad_token_id + 1) * C);
      } else if (name.endsWith('layer_norm.weight')) {
        data.fill(1);
      } else if (name.endsWith('.weight')) {
        const [out, inF] = shape as [number, number];
        const bound = Math.sqrt(6 / (inF + out));
        for (let i = 0; i < data.length; i++) data[i] = (2 * rng.uniform() - 1) * bound;
      }
    });
  }

  /** Token embeddings (× √C) plus the sinusoids of positions from..from+T-1: (B, T, C). */
  private embed(ids: Tensor, from: number, rng: Rng | undefined): Tensor {
    const T = ids.shape[1]!;
    let x = embedding(this.shared.weight, ids); // (B, T, C)
    if (this.config.scale_embedding) x = mul(x, Math.sqrt(this.config.d_model));
    x = add(x, this._positions.slice(0, from, from + T)); // (B, T, C) + (T, C)
    if (this.training && this.config.dropout > 0) x = dropout(x, this.config.dropout, { rng, training: true });
    return x;
  }

  /**
   * The encoder: source ids (B, S) → states (B, S, C).
   * Example: `model.encode(ids, { attentionMask })`. Errors on a source longer than max_position_embeddings.
   */
  encode(inputIds: Tensor, opts: EncodeOptions = {}): EncoderOutput {
    checkTokenIds(inputIds, 'source ids', this.config.vocab_size);
    const [B, S] = inputIds.shape as [number, number];
    checkRows(opts.rows, B, S, 'Transformer.encode', 'source ids');
    if (S > this.config.max_position_embeddings) {
      throw new Error(`cannot encode a source of ${S} tokens: max_position_embeddings is ${this.config.max_position_embeddings} (truncate the source, e.g. maxSourceLength)`);
    }
    const keyMask = maskBytes(opts.attentionMask, B, S, 'Transformer.encode');
    const headMask = opts.headMask && headMaskPerLayer(opts.headMask, this.config.encoder_layers, this.config.encoder_attention_heads, 'Transformer.encode: the encoder');
    let x = this.embed(inputIds, 0, opts.rng); // (B, S, C)
    if (opts.rows) x = opts.rows.pack(x); // padding-free: (N_S, C), the real positions only
    const hiddenStates: Tensor[] = [];
    const attentions: Tensor[] = [];
    for (const [i, layer] of this.encoder.layers.entries()) {
      if (opts.outputHiddenStates) hiddenStates.push(x);
      // layerStep: in inference the layer's intermediates live in reused memory (src/tensor/step.ts).
      const r = layerStep(() => layer.forward(x, { keyMask, headMask: headMask?.[i], wantWeights: opts.outputAttentions ?? false, rows: opts.rows, rng: opts.rng }));
      x = r.x; // (B, S, C)
      if (r.weights) attentions.push(r.weights); // (B, H, S, S)
    }
    if (this.encoder.layer_norm) x = this.encoder.layer_norm.forward(x);
    if (opts.outputHiddenStates) hiddenStates.push(x);
    const out: EncoderOutput = { lastHiddenState: x };
    if (opts.outputHiddenStates) out.hiddenStates = hiddenStates;
    if (opts.outputAttentions) out.attentions = attentions;
    return out;
  }

  /**
   * The decoder: target ids (B, T) and the encoder's states (B, S, C) → logits (B, T, V). With a cache, the
   * ids are the new positions only (P are cached) and the cross-attention keys/values are computed once.
   * Example: `model.decode(decIds, enc.lastHiddenState, { encoderAttentionMask: mask, cache })`.
   */
  decode(decoderInputIds: Tensor, encoderHiddenStates: Tensor | null, opts: DecodeOptions & { rng?: Rng } = {}): DecoderOutput {
    checkTokenIds(decoderInputIds, 'decoder input ids', this.config.vocab_size);
    const [B, T] = decoderInputIds.shape as [number, number];
    checkRows(opts.rows, B, T, 'Transformer.decode', 'decoder input ids');
    const S = encoderLength(encoderHiddenStates, opts.cache, B, 'Transformer.decode', opts.encoderRows);
    const P = opts.cache?.length ?? 0;
    if (P + T > this.config.max_position_embeddings) {
      throw new Error(`cannot decode position ${P + T - 1}: max_position_embeddings is ${this.config.max_position_embeddings} (lower max_new_tokens)`);
    }
    if (opts.cache && opts.cache.cross.length !== this.decoder.layers.length) throw new Error('Transformer.decode: the cache needs cross-attention slots (use model.newCache())');
    const encMask = maskBytes(opts.encoderAttentionMask, B, S, 'Transformer.decode');
    const [L, H] = [this.config.decoder_layers, this.config.decoder_attention_heads];
    const selfMask = opts.headMask && headMaskPerLayer(opts.headMask, L, H, 'Transformer.decode: the decoder self-attention');
    const crossMask = opts.crossAttentionHeadMask && headMaskPerLayer(opts.crossAttentionHeadMask, L, H, 'Transformer.decode: the cross-attention');
    const want = opts.outputAttentions ?? false;
    let x = this.embed(decoderInputIds, P, opts.rng); // (B, T, C)
    if (opts.rows) x = opts.rows.pack(x); // padding-free: (N, C)
    const hiddenStates: Tensor[] = [];
    const attentions: Tensor[] = [];
    const crossAttentions: Tensor[] = [];
    this.decoder.layers.forEach((layer, i) => {
      if (opts.outputHiddenStates) hiddenStates.push(x);
      // layerStep: in inference the layer's intermediates live in reused memory (src/tensor/step.ts).
      const r = layerStep(() => layer.forward(x, encoderHiddenStates, {
        encMask, cache: opts.cache?.layers[i], crossCache: opts.cache?.cross[i], headMasks: { self: selfMask?.[i], cross: crossMask?.[i] }, wantWeights: want, rows: opts.rows, encoderRows: opts.encoderRows, rng: opts.rng,
      }));
      x = r.x; // (B, T, C)
      if (r.self) attentions.push(r.self);
      if (r.cross) crossAttentions.push(r.cross);
    });
    if (this.decoder.layer_norm) x = this.decoder.layer_norm.forward(x);
    if (opts.outputHiddenStates) hiddenStates.push(x);
    // Logits: the shared embedding read backwards, plus the bias: (B, T, C)·(C, V) + (V) → (B, T, V).
    const keep = opts.rows ? 0 : (opts.logitsToKeep ?? 0); // packed rows: the logits of every computed position
    const head = keep > 0 && keep < T ? x.slice(1, T - keep, T) : x;
    const logits = linear(head, this.shared.weight, this.final_logits_bias.reshape([this.config.vocab_size]), 'out_in');
    const out: DecoderOutput = { logits };
    if (opts.outputHiddenStates) out.hiddenStates = hiddenStates;
    if (want) {
      out.attentions = attentions;
      out.crossAttentions = crossAttentions;
    }
    return out;
  }

  /**
   * Teacher-forced forward: source (B, S) and target inputs (B, T) → logits (B, T, V), plus the loss with labels.
   * `model.forward(src, { attentionMask, labels })` derives the decoder inputs by shifting the labels right.
   */
  forward(inputIds: Tensor, opts: TransformerForwardOptions = {}): Seq2SeqOutput {
    return teacherForced(this, inputIds, opts, 'Transformer.forward');
  }

  /** A new, empty cache: per decoder layer a self-attention cache and a cross-attention slot. */
  newCache(): KVCache {
    return new KVCache(this.config.decoder_layers, { cross: true });
  }
}

export { seq2seqLoss }; // defined in encoder_decoder.ts, beside the forward that uses it

// -----------------------------------------------------------------------------------------------------------
// Checkpoint names: how a Hugging Face Marian state dict maps onto this model's parameter names.

export const CHECKPOINT_RULES = {
  /** MarianMTModel keeps everything but final_logits_bias under `model.`. */
  prefix: 'model.',
  /** Position tables (fixed sinusoids) some checkpoints store, and tied copies of `shared`: skipped (checked where noted). */
  ignore: [/^(encoder|decoder)\.embed_positions\.weight$/, /^(encoder|decoder)\.embed_tokens\.weight$/],
  /** The output layer is `shared`; a checkpoint may carry it again under this name. */
  tiedHead: 'lm_head.weight',
  /** Keys without the prefix. */
  unprefixed: ['final_logits_bias'],
};
