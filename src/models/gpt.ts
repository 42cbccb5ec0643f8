// GPT-2: a decoder-only transformer, read top to bottom (after Karpathy's nanoGPT model.py).
//
//   ids → wte + wpe → dropout → n_layer × Block → ln_f → logits = h · wteᵀ
//   Block(x) = x + attn(ln_1(x));  x + mlp(ln_2(x))          (pre-LayerNorm, residual stream)
//   attn     = causal multi-head self-attention (c_attn makes q, k, v; c_proj mixes heads back); the attention
//              math itself — scores, masks, softmax, weighted sum, KV cache — is in src/nn/attention.ts and
//              src/tensor/attention.ts, shared by every model
//   mlp      = c_fc (C → 4C) → GELU (tanh approximation, "gelu_new") → c_proj (4C → C)
//
// Shapes: B batch, T new tokens in this call, P tokens already in the KV cache, S = P + T keys,
//         C channels (n_embd), nh heads, hs head size (C / nh), V vocabulary, F MLP width (4C).
//
// Parameter names are GPT-2's checkpoint names (wte, wpe, h.0.attn.c_attn, ..., ln_f), so a Hugging Face
// checkpoint loads by a plain walk over names (src/models/pretrained.ts). GPT-2 stores its projections as
// Conv1D with the weight laid out (in, out), y = x·W + b; we keep that layout ('in_out') instead of
// transposing, so the checkpoint's bytes are used as they are. The one irregularity list is CHECKPOINT_RULES.
//
// What this file does not do: cross-attention (see transformer.ts), rotary embeddings, grouped-query heads.

import { Tensor, Rng, tensor, layerStep, linear, embedding, add, crossEntropy, dropout } from '../tensor/index.js';
import { Module, Linear, Embedding, LayerNorm, MultiHeadAttention, KVCache, setInitEnabled, type LayerKVCache } from '../nn/index.js';

export { KVCache };

// -----------------------------------------------------------------------------------------------------------
// Config: Hugging Face's GPT2Config field names, so config.json round-trips without a mapping table.

export interface GPTConfig {
  vocab_size: number;
  n_positions: number; // block size: the longest sequence the position table covers
  n_embd: number; // C
  n_layer: number;
  n_head: number; // nh
  n_inner: number | null; // F; null means 4·C
  activation_function: 'gelu_new' | 'gelu_pytorch_tanh' | 'gelu' | 'relu';
  layer_norm_epsilon: number;
  embd_pdrop: number;
  attn_pdrop: number;
  resid_pdrop: number;
  initializer_range: number; // std of the normal init (0.02)
  scale_attn_weights: boolean; // divide scores by sqrt(hs)
  scale_attn_by_inverse_layer_idx: boolean; // also divide by (layer index + 1) (GPT-2 variants, Mistral-style stability)
  reorder_and_upcast_attn: boolean; // a float16 trick in HF; a no-op here (we compute in float32)
  tie_word_embeddings: boolean; // the LM head is wte (always, for GPT-2)
  bos_token_id: number;
  eos_token_id: number;
  /** attn extension: each token sees only the previous `sliding_window` tokens (0 = full causal). */
  sliding_window: number;
  /**
   * Heads removed by pruning, by layer: { "0": [1, 3] } (Hugging Face's `pruned_heads`, original head indices).
   * Layer i then has n_head − pruned_heads[i].length heads of size n_embd / n_head (src/explain/prune.ts).
   */
  pruned_heads: Record<string, number[]>;
}

export const GPT_DEFAULTS: GPTConfig = {
  vocab_size: 50257,
  n_positions: 1024,
  n_embd: 768,
  n_layer: 12,
  n_head: 12,
  n_inner: null,
  activation_function: 'gelu_new',
  layer_norm_epsilon: 1e-5,
  embd_pdrop: 0.1,
  attn_pdrop: 0.1,
  resid_pdrop: 0.1,
  initializer_range: 0.02,
  scale_attn_weights: true,
  scale_attn_by_inverse_layer_idx: false,
  reorder_and_upcast_attn: false,
  tie_word_embeddings: true,
  bos_token_id: 50256,
  eos_token_id: 50256,
  sliding_window: 0,
  pruned_heads: {},
};

/**
 * Named sizes. Parameter counts include the tied LM head once and are for vocab 50257 where the preset keeps
 * GPT-2's vocabulary; the small presets take the vocabulary of the tokenizer they are trained with.
 */
export const GPT_PRESETS = {
  // ~0.1M + vocab·64: for tests and the quickest experiments
  tiny: { n_layer: 2, n_head: 2, n_embd: 64, n_positions: 128, embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0 },
  // nanoGPT's CPU config (4 layers, 4 heads, 128 dims, block 64): ~0.8M + vocab·128
  'nanogpt-cpu': { n_layer: 4, n_head: 4, n_embd: 128, n_positions: 64, embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0 },
  // ~0.8M + vocab·128: what `npm start` trains for a few minutes on two cores (nanoGPT's CPU model, longer context)
  mini: { n_layer: 4, n_head: 4, n_embd: 128, n_positions: 128, embd_pdrop: 0.1, attn_pdrop: 0.1, resid_pdrop: 0.1 },
  // ~2.7M + vocab·192
  small: { n_layer: 6, n_head: 6, n_embd: 192, n_positions: 256, embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0 },
  // 6 layers, 6 heads, 384 dims, block 256: ~10.6M + vocab·384 (nanoGPT's Shakespeare-char model)
  'gpt-6l-384': { n_layer: 6, n_head: 6, n_embd: 384, n_positions: 256, embd_pdrop: 0.2, attn_pdrop: 0.2, resid_pdrop: 0.2 },
  gpt2: { n_layer: 12, n_head: 12, n_embd: 768, n_positions: 1024, vocab_size: 50257 }, // 124M
  'gpt2-medium': { n_layer: 24, n_head: 16, n_embd: 1024, n_positions: 1024, vocab_size: 50257 }, // 355M
  'gpt2-large': { n_layer: 36, n_head: 20, n_embd: 1280, n_positions: 1024, vocab_size: 50257 }, // 774M
  'gpt2-xl': { n_layer: 48, n_head: 25, n_embd: 1600, n_positions: 1024, vocab_size: 50257 }, // 1558M
} satisfies Record<string, Partial<GPTConfig>>;

export type GPTPresetName = keyof typeof GPT_PRESETS;

/**
 * A full config from defaults + a preset + overrides; unknown keys are an error naming the key.
 * Example: `gptConfig({ preset: 'tiny', vocab_size: 1000 })`.
 */
export function gptConfig(opts: Partial<GPTConfig> & { preset?: GPTPresetName } = {}): GPTConfig {
  const { preset, ...overrides } = opts;
  for (const key of Object.keys(overrides)) {
    if (!(key in GPT_DEFAULTS)) {
      throw new Error(`unknown GPT config key '${key}'; known keys: ${Object.keys(GPT_DEFAULTS).join(', ')}`);
    }
  }
  if (preset !== undefined && !(preset in GPT_PRESETS)) {
    throw new Error(`unknown GPT preset '${String(preset)}'; presets: ${Object.keys(GPT_PRESETS).join(', ')}`);
  }
  const cfg: GPTConfig = { ...GPT_DEFAULTS, ...(preset ? GPT_PRESETS[preset] : {}), ...overrides };
  if (cfg.n_embd % cfg.n_head !== 0) {
    throw new Error(`n_embd (${cfg.n_embd}) must be divisible by n_head (${cfg.n_head})`);
  }
  for (const k of ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] <= 0) throw new Error(`GPT config ${k} must be a positive integer, got ${cfg[k]}`);
  }
  cfg.pruned_heads = checkPrunedHeads(cfg.pruned_heads, cfg.n_layer, cfg.n_head);
  return cfg;
}

/**
 * pruned_heads checked and normalised (layer keys as decimal strings, heads sorted, no empty lists). Each layer
 * keeps at least one head: a layer without heads would need empty q/k/v projections.
 */
function checkPrunedHeads(raw: unknown, nLayer: number, nHead: number): Record<string, number[]> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`GPT config pruned_heads must be an object {layer: [heads]}, got ${JSON.stringify(raw)}`);
  const out: Record<string, number[]> = {};
  for (const [key, heads] of Object.entries(raw)) {
    const layer = Number(key);
    if (!Number.isInteger(layer) || layer < 0 || layer >= nLayer || String(layer) !== key) throw new Error(`GPT config pruned_heads: layer "${key}" is not in 0..${nLayer - 1}`);
    if (!Array.isArray(heads) || heads.some((h) => !Number.isInteger(h) || h < 0 || h >= nHead)) {
      throw new Error(`GPT config pruned_heads["${key}"] must list heads in 0..${nHead - 1}, got ${JSON.stringify(heads)}`);
    }
    const unique = [...new Set(heads as number[])].sort((a, b) => a - b);
    if (unique.length >= nHead) throw new Error(`GPT config pruned_heads["${key}"] removes all ${nHead} heads of layer ${key}; a layer keeps at least one head`);
    if (unique.length > 0) out[key] = unique;
  }
  return out;
}

/** Heads of layer i after pruning: n_head − |pruned_heads[i]|. */
export function gptLayerHeads(cfg: GPTConfig, layer: number): number {
  return cfg.n_head - (cfg.pruned_heads[String(layer)]?.length ?? 0);
}

/** Parameters of a config: wte + wpe + per block (2 LN, c_attn, c_proj, c_fc, c_proj) + ln_f (head tied). */
export function gptParameterCount(cfg: GPTConfig): number {
  const C = cfg.n_embd;
  const F = cfg.n_inner ?? 4 * C;
  let blocks = 0;
  for (let i = 0; i < cfg.n_layer; i++) {
    const A = (gptLayerHeads(cfg, i) * C) / cfg.n_head; // attention width: C unless heads were pruned
    blocks += 2 * 2 * C + (C * 3 * A + 3 * A) + (A * C + C) + (C * F + F) + (F * C + C);
  }
  return cfg.vocab_size * C + cfg.n_positions * C + blocks + 2 * C;
}

// -----------------------------------------------------------------------------------------------------------
// The KV cache (src/nn/attention.ts): per layer, the keys and values of every position seen so far,
// preallocated and appended in place. Generation feeds one new token per step, so each step only computes
// q, k, v for that token.

export interface GPTForwardOptions {
  /** (B, S) with 1 for real tokens and 0 for padding, over cached + new positions. */
  attentionMask?: Tensor;
  /** (B, T) positions of the new tokens; default P, P+1, ..., P+T-1 (generation computes them from the mask). */
  positionIds?: Tensor;
  /** Keys/values of earlier positions; new ones are appended in place of the old entry. */
  cache?: KVCache;
  /** (B, T) next-token targets; adds `loss`, the mean cross-entropy over targets that are not -100. */
  targets?: Tensor;
  /**
   * Scales each head's output, Hugging Face's head_mask: (nh) for every layer, (n_layer, nh), or one entry per
   * layer ((nh_i) or (B, nh_i), null = no mask) — the per-layer form is what a pruned model with different head
   * counts per layer takes. 0 removes a head; a Tensor that requires grad gets ∂L/∂mask (head importance).
   */
  headMask?: Tensor | Float32Array | ReadonlyArray<Tensor | Float32Array | null>;
  outputAttentions?: boolean;
  outputHiddenStates?: boolean;
  /**
   * Compute logits for only the last N positions (transformers' num_logits_to_keep): generation needs just
   * the last one, and for a long prompt the (T, C)·(C, V) head is a large share of the work. 0 = all.
   */
  logitsToKeep?: number;
  /** Random numbers for dropout (training only). */
  rng?: Rng;
}

export interface GPTOutput {
  logits: Tensor; // (B, T, V), or (B, logitsToKeep, V)
  loss?: Tensor; // scalar
  /** n_layer + 1 tensors (B, T, C): the embeddings, each block's output, the last one after ln_f (as HF). */
  hiddenStates?: Tensor[];
  /** n_layer tensors (B, nh, T, S) of softmax probabilities (× headMask). */
  attentions?: Tensor[];
}

// -----------------------------------------------------------------------------------------------------------
// The parts.

class MLP extends Module {
  c_fc: Linear; // C → F
  c_proj: Linear; // F → C
  readonly act: GPTConfig['activation_function'];
  readonly residDrop: number;

  constructor(cfg: GPTConfig) {
    super();
    const F = cfg.n_inner ?? 4 * cfg.n_embd;
    this.c_fc = new Linear(cfg.n_embd, F, { bias: true, layout: 'in_out' });
    this.c_proj = new Linear(F, cfg.n_embd, { bias: true, layout: 'in_out' });
    this.act = cfg.activation_function;
    this.residDrop = cfg.resid_pdrop;
  }

  forward(x: Tensor, rng: Rng | undefined): Tensor {
    // act(x·W + b) (B, T, F); without gradients (generation) the backend applies act as it makes the product.
    const h = this.c_fc.forward(x, this.act === 'relu' ? 'relu' : this.act === 'gelu' ? 'gelu' : 'gelu_tanh');
    let y = this.c_proj.forward(h); // (B, T, C)
    if (this.training && this.residDrop > 0) y = dropout(y, this.residDrop, { rng, training: true });
    return y;
  }
}

/** The attention module with its projections under GPT-2's names (MultiHeadAttention stores them so). */
type GPTAttention = MultiHeadAttention & { readonly c_attn: Linear; readonly c_proj: Linear };

class Block extends Module {
  ln_1: LayerNorm;
  attn: GPTAttention; // causal self-attention: c_attn makes q, k, v for all heads in one matmul, c_proj mixes the heads back
  ln_2: LayerNorm;
  mlp: MLP;
  readonly residDrop: number;

  constructor(cfg: GPTConfig, layerIdx: number) {
    super();
    const C = cfg.n_embd;
    const hs = C / cfg.n_head;
    this.ln_1 = new LayerNorm(C, cfg.layer_norm_epsilon);
    this.attn = new MultiHeadAttention({
      dim: C,
      heads: gptLayerHeads(cfg, layerIdx), // n_head, less the heads pruned from this layer
      headDim: hs,
      projections: 'fused',
      names: { qkv: 'c_attn', out: 'c_proj' },
      layout: 'in_out',
      causal: true,
      window: cfg.sliding_window,
      dropout: cfg.attn_pdrop,
      scale: (cfg.scale_attn_weights ? 1 / Math.sqrt(hs) : 1) / (cfg.scale_attn_by_inverse_layer_idx ? layerIdx + 1 : 1),
    }) as GPTAttention;
    this.ln_2 = new LayerNorm(C, cfg.layer_norm_epsilon);
    this.mlp = new MLP(cfg);
    this.residDrop = cfg.resid_pdrop;
  }

  forward(x: Tensor, keyMask: Uint8Array | undefined, headMask: Tensor | Float32Array | undefined, cache: LayerKVCache | undefined, wantWeights: boolean, rng: Rng | undefined): { x: Tensor; weights?: Tensor } {
    const a = this.attn.forward(this.ln_1.forward(x), { keyMask, headMask, cache, returnWeights: wantWeights, rng }); // (B, T, C)
    let y = a.out;
    if (this.training && this.residDrop > 0) y = dropout(y, this.residDrop, { rng, training: true });
    x = add(x, y); // (B, T, C) residual
    x = add(x, this.mlp.forward(this.ln_2.forward(x), rng)); // (B, T, C) residual
    return a.weights ? { x, weights: a.weights } : { x };
  }
}

// -----------------------------------------------------------------------------------------------------------
// The whole model.

export class GPT extends Module {
  readonly config: GPTConfig;
  wte: Embedding; // (V, C) token embeddings, also the LM head
  wpe: Embedding; // (n_positions, C) learned position embeddings
  h: Block[];
  ln_f: LayerNorm;

  /**
   * A freshly initialised model: `new GPT(gptConfig({ preset: 'tiny', vocab_size: 1000 }), new Rng(1))`.
   * `{ init: false }` skips GPT-2's initialisation, for models whose weights are loaded right after.
   */
  constructor(config: GPTConfig, rng: Rng = new Rng(1337), opts: { init?: boolean } = {}) {
    super();
    this.config = config;
    const init = opts.init ?? true;
    const prev = setInitEnabled(false); // the layers' own (PyTorch) init is replaced by GPT-2's below anyway
    try {
      this.wte = new Embedding(config.vocab_size, config.n_embd);
      this.wpe = new Embedding(config.n_positions, config.n_embd);
      this.h = Array.from({ length: config.n_layer }, (_, i) => new Block(config, i));
      this.ln_f = new LayerNorm(config.n_embd, config.layer_norm_epsilon);
    } finally {
      setInitEnabled(prev);
    }
    if (init) this.initWeights(rng);
  }

  /**
   * GPT-2's initialisation: every matrix and embedding ~ N(0, 0.02), biases 0, LayerNorm 1 and 0, and the
   * projections that write into the residual stream (attn.c_proj, mlp.c_proj) scaled by 1/sqrt(2·n_layer),
   * because each block adds two of them and the residual's variance would otherwise grow with depth.
   */
  private initWeights(rng: Rng): void {
    const std = this.config.initializer_range;
    const residStd = std / Math.sqrt(2 * this.config.n_layer);
    this.initParameters((name, data) => {
      // data starts as zeros: biases and LayerNorm shifts stay 0
      if (name.startsWith('ln_') || name.includes('.ln_')) {
        if (name.endsWith('.weight')) data.fill(1);
      } else if (!name.endsWith('.bias')) {
        const s = name.endsWith('c_proj.weight') ? residStd : std;
        for (let i = 0; i < data.length; i++) data[i] = rng.normal() * s;
      }
    });
  }

  /**
   * Logits for the next token at every position.
   * `model.forward(ids)` with ids an int32 (B, T) tensor; see GPTForwardOptions for masks, cache and loss.
   * It does not handle sequences longer than n_positions (error) or rows with no real token at all (logits of
   * a fully padded row are those of an empty attention, meaningless by design).
   */
  forward(inputIds: Tensor, opts: GPTForwardOptions = {}): GPTOutput {
    if (inputIds.ndim !== 2 || inputIds.dtype !== 'int32') {
      throw new Error(`GPT.forward: input ids must be an int32 (B, T) tensor, got ${inputIds.dtype} [${inputIds.shape.join(', ')}]`);
    }
    const [B, T] = inputIds.shape as [number, number];
    const P = opts.cache?.length ?? 0;
    const S = P + T;
    if (S > this.config.n_positions) {
      throw new Error(`cannot forward sequence of length ${S} (${P} cached + ${T} new), n_positions is ${this.config.n_positions}`);
    }

    // Positions: given (left-padded generation derives them from the mask), or P..S-1.
    let pos = opts.positionIds;
    if (!pos) {
      const p = new Int32Array(B * T);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) p[b * T + t] = P + t;
      pos = tensor(p, [B, T], { dtype: 'int32' });
    } else if (pos.shape[0] !== B || pos.shape[1] !== T) {
      throw new Error(`GPT.forward: positionIds shape [${pos.shape.join(', ')}] must match input ids [${B}, ${T}]`);
    }
    const keyMask = opts.attentionMask ? maskToBytes(opts.attentionMask, B, S) : undefined;
    const headMask = opts.headMask === undefined ? undefined : this.headMaskPerLayer(opts.headMask);

    let x = add(embedding(this.wte.weight, inputIds), embedding(this.wpe.weight, pos)); // (B, T, C)
    if (this.training && this.config.embd_pdrop > 0) x = dropout(x, this.config.embd_pdrop, { rng: opts.rng, training: true });

    const hiddenStates: Tensor[] = [];
    const attentions: Tensor[] = [];
    for (let i = 0; i < this.h.length; i++) {
      if (opts.outputHiddenStates) hiddenStates.push(x);
      // layerStep: in inference the block's intermediates live in reused memory (src/tensor/step.ts).
      const r = layerStep(() => this.h[i]!.forward(x, keyMask, headMask?.[i] ?? undefined, opts.cache?.layers[i], opts.outputAttentions ?? false, opts.rng));
      x = r.x; // (B, T, C)
      if (r.weights) attentions.push(r.weights); // (B, nh, T, S)
    }
    x = this.ln_f.forward(x); // (B, T, C)
    if (opts.outputHiddenStates) hiddenStates.push(x);

    // The LM head is the token embedding read backwards: logits = x · wteᵀ, (B, T, C)·(C, V) → (B, T, V).
    const keep = opts.logitsToKeep ?? 0;
    if (keep > 0 && opts.targets) throw new Error('GPT.forward: logitsToKeep cannot be combined with targets (the loss needs every position)');
    const head = keep > 0 && keep < T ? x.slice(1, T - keep, T) : x; // (B, keep, C)
    const logits = linear(head, this.wte.weight, null, 'out_in');
    const out: GPTOutput = { logits };
    if (opts.targets) {
      const V = this.config.vocab_size;
      out.loss = crossEntropy(logits.reshape(B * T, V), opts.targets.reshape(B * T), { ignoreIndex: -100 });
    }
    if (opts.outputHiddenStates) out.hiddenStates = hiddenStates;
    if (opts.outputAttentions) out.attentions = attentions;
    return out;
  }

  /** A new, empty KV cache for this model. */
  newCache(): KVCache {
    return new KVCache(this.config.n_layer);
  }

  /** GPTForwardOptions.headMask → one mask (or none) per layer, each checked against that layer's heads. */
  private headMaskPerLayer(m: NonNullable<GPTForwardOptions['headMask']>): Array<Tensor | Float32Array | null> {
    const L = this.config.n_layer;
    const heads = this.h.map((b) => b.attn.heads);
    const size = (x: Tensor | Float32Array) => (x instanceof Tensor ? x.size : x.length);
    const fmt = (x: Tensor | Float32Array) => (x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : `${x.length} values`);
    let perLayer: Array<Tensor | Float32Array | null>;
    if (Array.isArray(m)) {
      if (m.length !== L) throw new Error(`GPT.forward: headMask has ${m.length} entries, expected one per layer (${L})`);
      perLayer = [...(m as ReadonlyArray<Tensor | Float32Array | null>)];
    } else {
      const one = m as Tensor | Float32Array;
      const uniform = heads.every((h) => h === heads[0]);
      if (uniform && size(one) === heads[0] && (!(one instanceof Tensor) || one.ndim === 1)) perLayer = heads.map(() => one);
      else if (uniform && size(one) === L * heads[0]! && (!(one instanceof Tensor) || one.ndim === 2)) {
        const H = heads[0]!;
        perLayer = heads.map((_, i) => (one instanceof Tensor ? one.slice(0, i, i + 1).reshape([H]) : one.subarray(i * H, (i + 1) * H)));
      } else {
        const want = uniform ? `(nh) = [${heads[0]}] or (n_layer, nh) = [${L}, ${heads[0]}]` : `one entry per layer (heads per layer: ${heads.join(', ')})`;
        throw new Error(`GPT.forward: headMask must be ${want}, got ${fmt(one)}`);
      }
    }
    perLayer.forEach((x, i) => {
      if (x === null) return;
      const n = size(x);
      if (n !== heads[i] && !(x instanceof Tensor && x.ndim === 2 && x.shape[1] === heads[i])) {
        throw new Error(`GPT.forward: headMask for layer ${i} must be (${heads[i]}) or (B, ${heads[i]}) (the layer's heads), got ${fmt(x)}`);
      }
    });
    return perLayer;
  }
}

/** (B, S) 0/1 attention mask (any dtype) → the Uint8Array the attention kernel takes. */
function maskToBytes(mask: Tensor, B: number, S: number): Uint8Array {
  if (mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== S) {
    throw new Error(`GPT.forward: attentionMask must be (B, S) = [${B}, ${S}] (cached + new positions), got [${mask.shape.join(', ')}]`);
  }
  const src = mask.toArray();
  const bytes = new Uint8Array(B * S);
  for (let i = 0; i < src.length; i++) bytes[i] = src[i] !== 0 ? 1 : 0;
  return bytes;
}

// -----------------------------------------------------------------------------------------------------------
// Checkpoint names: how a Hugging Face GPT-2 state dict maps onto this model's parameter names.

export const CHECKPOINT_RULES = {
  /** `save_pretrained` prefixes every key with this; the original OpenAI checkpoint does not. */
  prefix: 'transformer.',
  /** Buffers some checkpoints carry that are not parameters (the causal mask): skipped when loading. */
  ignore: [/^h\.\d+\.attn\.(masked_)?bias$/],
  /** The LM head is tied to wte; a checkpoint may carry a copy under this name, which must equal wte. */
  tiedHead: 'lm_head.weight',
};
