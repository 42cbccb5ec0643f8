// BERT and its family (RoBERTa, DistilBERT): a bidirectional transformer encoder, read top to bottom.
//
//   ids → word + position (+ token-type) embeddings → LayerNorm → dropout → N × Layer → h (B, T, C)
//   Layer(x):  a = LN(x + dropout(dense(selfAttention(x))))           post-LayerNorm: add first, then normalize
//              y = LN(a + dropout(dense₂(gelu(dense₁(a)))))            (GPT-2 normalizes before, BERT after)
//   selfAttention = every token looks at every other token (no causal mask); padding keys are hidden by the
//              attention mask. The math — scores, masks, softmax, weighted sum — is src/tensor/attention.ts,
//              the same op GPT uses, through the MultiHeadAttention module of src/nn/attention.ts.
//
// Heads (each a class below, named as in transformers):
//   masked LM                 logits = LN(gelu(dense(h))) · word_embeddingsᵀ + bias        (B, T, V)
//   sequence classification   logits = classifier(dropout(tanh(pooler.dense(h[:, 0]))))    (B, L)
//   token classification      logits = classifier(dropout(h))                               (B, T, L)
//   question answering        [start, end] = qa_outputs(h)                                  (B, T) each
//
// The family: RoBERTa (Liu et al. 2019) is BERT with another tokenizer, more data, no next-sentence task and
// position ids that start after the padding id; DistilBERT (Sanh et al. 2019) is a 6-layer BERT distilled from
// bert-base, without token types and without the dropout after the attention's output dense. Their layers
// compute the same function as BERT's, so one encoder serves all three; what differs (names in checkpoints,
// positions, token types, the classification head's activation) is listed once, in FAMILIES at the bottom.
//
// Shapes: B batch, T tokens, C channels (hidden_size), H heads, D head size (C / H), F FFN width
//         (intermediate_size), V vocabulary, L labels (classes).
//
// Parameter names are BERT's checkpoint names (bert.embeddings.word_embeddings, bert.encoder.layer.0.attention.
// self.query, cls.predictions.transform.dense, classifier, qa_outputs), so a BERT checkpoint loads by a plain
// walk over names; RoBERTa's and DistilBERT's names map onto them through FAMILIES (src/models/bert_pretrained.ts
// does the loading and saving).
//
// What this file does not do: relative position embeddings (position_embedding_type "relative_key"), BERT as a
// decoder (cross-attention, is_decoder), the next-sentence-prediction and multiple-choice heads.

import { Tensor, Rng, tensor, layerStep, linear, relu, tanh, embedding, add, addLayerNorm, sub, mul, exp, log, neg, mean, crossEntropy, dropout, indexSelect, reshape, slice, type LinearActivation } from '../tensor/index.js';
import { Module, Linear, Embedding, LayerNorm, MultiHeadAttention, Packing, setInitEnabled } from '../nn/index.js';

// -----------------------------------------------------------------------------------------------------------
// Config: Hugging Face's BertConfig field names (RoBERTa uses the same; DistilBERT's own names are mapped in
// FAMILIES), so config.json round-trips.

/** The three members of the family this file implements. */
export type BertFamily = 'bert' | 'roberta' | 'distilbert';

/** What sits on top of the encoder. */
export type BertHead = 'base' | 'masked-lm' | 'sequence-classification' | 'token-classification' | 'question-answering';

export type BertProblemType = 'single_label_classification' | 'multi_label_classification' | 'regression';

export interface BertConfig {
  model_type: BertFamily;
  vocab_size: number; // V
  hidden_size: number; // C
  num_hidden_layers: number;
  num_attention_heads: number; // H
  intermediate_size: number; // F
  hidden_act: 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu';
  hidden_dropout_prob: number; // embeddings, after each sub-layer's dense
  attention_probs_dropout_prob: number; // on the attention probabilities
  max_position_embeddings: number; // rows of the position table
  type_vocab_size: number; // 2 for BERT's sentence A / B, 1 for RoBERTa, 0 for DistilBERT (no table)
  initializer_range: number; // std of the normal init (0.02)
  layer_norm_eps: number;
  pad_token_id: number;
  bos_token_id: number | null; // RoBERTa's <s> and </s>; null for BERT
  eos_token_id: number | null;
  position_embedding_type: 'absolute';
  /** Dropout before the classifier; null means hidden_dropout_prob (HF's rule). */
  classifier_dropout: number | null;
  /** DistilBERT's dropout before qa_outputs (BERT and RoBERTa have none: 0). */
  qa_dropout: number;
  /** Class names by id (HF's id2label); the number of labels L is its length. */
  id2label: string[];
  /** How the sequence classifier's loss is computed; null: inferred from L and the labels' dtype, as HF. */
  problem_type: BertProblemType | null;
  /**
   * Heads removed by pruning, by layer: { "0": [1, 3] } (Hugging Face's `pruned_heads`, original head indices).
   * Layer i then has H − pruned_heads[i].length heads of size D = C / H: its query/key/value make
   * (H − pruned) · D values and attention.output.dense reads them (src/explain/adapters/bert.ts prunes).
   */
  pruned_heads: Record<string, number[]>;
}

export const BERT_DEFAULTS: BertConfig = {
  model_type: 'bert',
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  bos_token_id: null,
  eos_token_id: null,
  position_embedding_type: 'absolute',
  classifier_dropout: null,
  qa_dropout: 0,
  id2label: ['LABEL_0', 'LABEL_1'],
  problem_type: null,
  pruned_heads: {},
};

/**
 * Named sizes: Google's 24 small BERTs (Turc et al. 2019, "Well-Read Students Learn Better") use these names;
 * F = 4C and 512 positions throughout. Parameter counts are for BERT's 30522-token vocabulary with the pooler;
 * a small model trained from scratch takes its tokenizer's (much smaller) vocabulary.
 */
export const BERT_PRESETS = {
  // 2 layers, 64 channels: for tests (~0.1M + vocab·64)
  tiny: { num_hidden_layers: 2, hidden_size: 64, num_attention_heads: 2, intermediate_size: 256, max_position_embeddings: 128 },
  'bert-tiny': { num_hidden_layers: 2, hidden_size: 128, num_attention_heads: 2, intermediate_size: 512 }, // 4.4M
  'bert-mini': { num_hidden_layers: 4, hidden_size: 256, num_attention_heads: 4, intermediate_size: 1024 }, // 11.2M
  'bert-small': { num_hidden_layers: 4, hidden_size: 512, num_attention_heads: 8, intermediate_size: 2048 }, // 28.8M
  'bert-medium': { num_hidden_layers: 8, hidden_size: 512, num_attention_heads: 8, intermediate_size: 2048 }, // 41.4M
  'bert-base': { num_hidden_layers: 12, hidden_size: 768, num_attention_heads: 12, intermediate_size: 3072 }, // 109.5M
  'bert-large': { num_hidden_layers: 24, hidden_size: 1024, num_attention_heads: 16, intermediate_size: 4096 }, // 335.1M
} satisfies Record<string, Partial<BertConfig>>;

export type BertPresetName = keyof typeof BERT_PRESETS;

/**
 * A full config from defaults + a preset + overrides; unknown keys are an error naming the key.
 * Example: `bertConfig({ preset: 'bert-mini', vocab_size: 8000 })`. RoBERTa and DistilBERT start from their own
 * defaults (FAMILIES[...].defaults) when `model_type` is given.
 */
export function bertConfig(opts: Partial<BertConfig> & { preset?: BertPresetName } = {}): BertConfig {
  const { preset, ...overrides } = opts;
  for (const key of Object.keys(overrides)) {
    if (!(key in BERT_DEFAULTS)) throw new Error(`unknown BERT config key '${key}'; known keys: ${Object.keys(BERT_DEFAULTS).join(', ')}`);
  }
  if (preset !== undefined && !(preset in BERT_PRESETS)) {
    throw new Error(`unknown BERT preset '${String(preset)}'; presets: ${Object.keys(BERT_PRESETS).join(', ')}`);
  }
  const family = overrides.model_type ?? 'bert';
  if (!(family in FAMILIES)) throw new Error(`model_type must be one of ${Object.keys(FAMILIES).join(', ')}, got '${String(family)}'`);
  const cfg: BertConfig = { ...BERT_DEFAULTS, ...FAMILIES[family].defaults, ...(preset ? BERT_PRESETS[preset] : {}), ...overrides };
  if (cfg.hidden_size % cfg.num_attention_heads !== 0) {
    throw new Error(`hidden_size (${cfg.hidden_size}) must be divisible by num_attention_heads (${cfg.num_attention_heads})`);
  }
  for (const k of ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] <= 0) throw new Error(`BERT config ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (!Number.isInteger(cfg.type_vocab_size) || cfg.type_vocab_size < 0) throw new Error(`BERT config type_vocab_size must be a non-negative integer, got ${cfg.type_vocab_size}`);
  if (family === 'distilbert' && cfg.type_vocab_size !== 0) throw new Error(`DistilBERT has no token types: type_vocab_size must be 0, got ${cfg.type_vocab_size}`);
  if (!['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'].includes(cfg.hidden_act)) {
    throw new Error(`hidden_act "${cfg.hidden_act}" is not supported; supported: gelu, gelu_new, gelu_pytorch_tanh, relu`);
  }
  if (cfg.position_embedding_type !== 'absolute') {
    throw new Error(`position_embedding_type "${String(cfg.position_embedding_type)}" is not supported; attn implements "absolute" position embeddings`);
  }
  if (!Array.isArray(cfg.id2label) || cfg.id2label.length === 0) throw new Error('BERT config id2label must name at least one label');
  if (!Number.isInteger(cfg.pad_token_id) || cfg.pad_token_id < 0 || cfg.pad_token_id >= cfg.vocab_size) {
    throw new Error(`pad_token_id ${cfg.pad_token_id} is not an id of a vocabulary of ${cfg.vocab_size}`);
  }
  cfg.pruned_heads = checkPrunedHeads(cfg.pruned_heads, cfg.num_hidden_layers, cfg.num_attention_heads);
  return cfg;
}

/**
 * pruned_heads checked and normalised (layer keys as decimal strings, heads sorted and unique, no empty lists).
 * Each layer keeps at least one head: a layer without heads would need empty query/key/value projections.
 */
function checkPrunedHeads(raw: unknown, layers: number, H: number): Record<string, number[]> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`BERT config pruned_heads must be an object {layer: [heads]}, got ${JSON.stringify(raw)}`);
  const out: Record<string, number[]> = {};
  for (const [key, heads] of Object.entries(raw)) {
    const layer = Number(key);
    if (!Number.isInteger(layer) || layer < 0 || layer >= layers || String(layer) !== key) throw new Error(`BERT config pruned_heads: layer "${key}" is not in 0..${layers - 1}`);
    if (!Array.isArray(heads) || heads.some((h) => !Number.isInteger(h) || h < 0 || h >= H)) {
      throw new Error(`BERT config pruned_heads["${key}"] must list heads in 0..${H - 1}, got ${JSON.stringify(heads)}`);
    }
    const unique = [...new Set(heads as number[])].sort((a, b) => a - b);
    if (unique.length >= H) throw new Error(`BERT config pruned_heads["${key}"] removes all ${H} heads of layer ${key}; a layer keeps at least one head`);
    if (unique.length > 0) out[key] = unique;
  }
  return out;
}

/** Heads of layer i after pruning: num_attention_heads − |pruned_heads[i]|. */
export function bertLayerHeads(cfg: BertConfig, layer: number): number {
  return cfg.num_attention_heads - (cfg.pruned_heads[String(layer)]?.length ?? 0);
}

/** Parameters of the encoder (embeddings + layers, + the pooler when `pooler`), the heads not included. */
export function bertParameterCount(cfg: BertConfig, opts: { pooler?: boolean } = {}): number {
  const C = cfg.hidden_size;
  const F = cfg.intermediate_size;
  const embeddings = (cfg.vocab_size + cfg.max_position_embeddings + cfg.type_vocab_size) * C + 2 * C;
  let layers = 0;
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const A = (bertLayerHeads(cfg, i) * C) / cfg.num_attention_heads; // attention width: C unless heads were pruned
    layers += 3 * (C * A + A) + (A * C + C) + (C * F + F) + (F * C + C) + 2 * 2 * C;
  }
  return embeddings + layers + (opts.pooler ?? true ? C * C + C : 0);
}

// -----------------------------------------------------------------------------------------------------------
// Inputs and outputs

export interface BertForwardOptions {
  /** (B, T) 1 for real tokens, 0 for padding (any dtype). Default: every token is real. */
  attentionMask?: Tensor;
  /** (B, T) int32 segment ids (0 = sentence A, 1 = sentence B). Default 0. Not for DistilBERT. */
  tokenTypeIds?: Tensor;
  /** (B, T) int32 positions. Default 0..T−1 (BERT, DistilBERT), or counted after the padding id (RoBERTa). */
  positionIds?: Tensor;
  /**
   * Scales each head's output, HF's head_mask: (H) for every layer, (num_layers, H), or one entry per layer
   * ((H_i) or (B, H_i), null = none), the form a pruned model with different heads per layer takes. 0 removes a
   * head; a Tensor that requires grad gets ∂L/∂mask (head importance, src/explain/importance.ts).
   */
  headMask?: Tensor | Float32Array | ReadonlyArray<Tensor | Float32Array | null>;
  outputAttentions?: boolean;
  outputHiddenStates?: boolean;
  /**
   * Skip the padding (src/nn/packing.ts): the layers compute only the tokens attentionMask marks real, packed
   * (N, C). Their results are the padded computation's; padded rows of lastHiddenState (and of the layers'
   * hidden states) come back as zeros instead of values that mean nothing. Not for a question-answering loss, which reads
   * the padded positions' logits (as transformers computes it).
   */
  paddingFree?: boolean;
  /** Random numbers for dropout (training only). */
  rng?: Rng;
}

export interface BertEncoderOutput {
  lastHiddenState: Tensor; // (B, T, C)
  /** tanh(dense(h[:, 0])), when the model has a pooler. (B, C) */
  poolerOutput?: Tensor;
  /** num_layers + 1 tensors (B, T, C): the embeddings' output, then each layer's output (as HF). */
  hiddenStates?: Tensor[];
  /** num_layers tensors (B, H, T, T): softmax probabilities × head mask. */
  attentions?: Tensor[];
}

/** What every head returns: its logits (shape per head), the loss when targets were given, and the extras. */
export interface BertHeadOutput {
  logits: Tensor;
  loss?: Tensor;
  hiddenStates?: Tensor[];
  attentions?: Tensor[];
}

// -----------------------------------------------------------------------------------------------------------
// The parts. Field names are the checkpoint's: embeddings.word_embeddings, encoder.layer.0.attention.self.query.

class BertEmbeddings extends Module {
  word_embeddings: Embedding; // (V, C)
  position_embeddings: Embedding; // (max_position_embeddings, C)
  token_type_embeddings: Embedding | null; // (type_vocab_size, C); none for DistilBERT
  LayerNorm: LayerNorm;
  readonly drop: number;

  constructor(cfg: BertConfig) {
    super();
    const C = cfg.hidden_size;
    this.word_embeddings = new Embedding(cfg.vocab_size, C);
    this.position_embeddings = new Embedding(cfg.max_position_embeddings, C);
    this.token_type_embeddings = cfg.type_vocab_size > 0 ? new Embedding(cfg.type_vocab_size, C) : null;
    this.LayerNorm = new LayerNorm(C, cfg.layer_norm_eps);
    this.drop = cfg.hidden_dropout_prob;
  }

  forward(ids: Tensor, positions: Tensor, types: Tensor | null, rng: Rng | undefined): Tensor {
    let x = add(embedding(this.word_embeddings.weight, ids), embedding(this.position_embeddings.weight, positions)); // (B, T, C)
    if (this.token_type_embeddings) x = add(x, embedding(this.token_type_embeddings.weight, types!)); // (B, T, C)
    x = this.LayerNorm.forward(x);
    if (this.training && this.drop > 0) x = dropout(x, this.drop, { rng, training: true });
    return x;
  }
}

/** The attention module with BERT's projection names (query, key, value; the output dense lives in `output`). */
type BertSelfAttention = MultiHeadAttention & { readonly query: Linear; readonly key: Linear; readonly value: Linear };

/**
 * dense → dropout → LayerNorm(· + residual): the end of both sub-layers ("BertSelfOutput", "BertOutput").
 * The last three are one fused op, addLayerNorm (src/tensor/ops_nn.ts): one pass over the rows each way.
 */
class AddAndNorm extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  readonly drop: number;

  constructor(inF: number, C: number, eps: number, drop: number) {
    super();
    this.dense = new Linear(inF, C);
    this.LayerNorm = new LayerNorm(C, eps);
    this.drop = drop;
  }

  forward(h: Tensor, residual: Tensor, rng: Rng | undefined): Tensor {
    const y = this.dense.forward(h); // (B, T, C)
    const ln = this.LayerNorm;
    return addLayerNorm(y, residual, ln.weight, ln.bias, ln.eps, { dropout: this.training ? this.drop : 0, rng }); // LN(dropout(y) + residual) (B, T, C)
  }
}

class BertAttention extends Module {
  self: BertSelfAttention; // q, k, v projections and the attention itself; heads side by side out: (B, T, H·D)
  output: AddAndNorm; // mixes the heads (dense, H·D → C), adds the residual, normalizes

  constructor(cfg: BertConfig, layerIdx: number) {
    super();
    const C = cfg.hidden_size;
    const D = C / cfg.num_attention_heads;
    const H = bertLayerHeads(cfg, layerIdx); // num_attention_heads, less the heads pruned from this layer
    this.self = new MultiHeadAttention({
      dim: C,
      heads: H,
      headDim: D,
      projections: 'separate',
      names: { q: 'query', k: 'key', v: 'value' },
      outProjection: false, // BERT keeps it in attention.output.dense
      dropout: cfg.attention_probs_dropout_prob,
    }) as BertSelfAttention;
    this.output = new AddAndNorm(H * D, C, cfg.layer_norm_eps, FAMILIES[cfg.model_type].attentionOutputDropout ? cfg.hidden_dropout_prob : 0);
  }
}

class BertIntermediate extends Module {
  dense: Linear; // C → F
  readonly act: BertConfig['hidden_act'];
  constructor(cfg: BertConfig) {
    super();
    this.dense = new Linear(cfg.hidden_size, cfg.intermediate_size);
    this.act = cfg.hidden_act;
  }
  forward(x: Tensor): Tensor {
    return this.dense.forward(x, linearActivation(this.act)); // act(dense(x)) (B, T, F)
  }
}

class BertLayer extends Module {
  attention: BertAttention;
  intermediate: BertIntermediate;
  output: AddAndNorm; // F → C, residual, LayerNorm

  constructor(cfg: BertConfig, layerIdx: number) {
    super();
    this.attention = new BertAttention(cfg, layerIdx);
    this.intermediate = new BertIntermediate(cfg);
    this.output = new AddAndNorm(cfg.intermediate_size, cfg.hidden_size, cfg.layer_norm_eps, cfg.hidden_dropout_prob);
  }

  forward(x: Tensor, keyMask: Uint8Array | undefined, headMask: Tensor | Float32Array | undefined, wantWeights: boolean, rows: Packing | undefined, rng: Rng | undefined): { x: Tensor; weights?: Tensor } {
    const a = this.attention.self.forward(x, { keyMask, headMask, returnWeights: wantWeights, rows, rng }); // (B, T, C), or packed (N, C)
    const h = this.attention.output.forward(a.out, x, rng); // LN(x + dense(attn)) (B, T, C)
    const y = this.output.forward(this.intermediate.forward(h), h, rng); // LN(h + dense₂(gelu(dense₁ h))) (B, T, C)
    return a.weights ? { x: y, weights: a.weights } : { x: y };
  }
}

class BertEncoder extends Module {
  layer: BertLayer[];
  constructor(cfg: BertConfig) {
    super();
    this.layer = Array.from({ length: cfg.num_hidden_layers }, (_, i) => new BertLayer(cfg, i));
  }
}

/**
 * The pooler: one dense layer + tanh on the first token's vector ([CLS] / <s>). BERT trained it for the
 * next-sentence task; the sequence classifier reads its output. RoBERTa's classification head (classifier.dense,
 * tanh) and DistilBERT's (pre_classifier, ReLU) are the same layer under other names (see FAMILIES).
 */
class BertPooler extends Module {
  dense: Linear; // C → C
  readonly act: 'tanh' | 'relu';
  constructor(cfg: BertConfig) {
    super();
    this.dense = new Linear(cfg.hidden_size, cfg.hidden_size);
    this.act = FAMILIES[cfg.model_type].poolerActivation;
  }
  forward(h: Tensor, rng: Rng | undefined, dropBefore: number): Tensor {
    const [B, , C] = h.shape as [number, number, number];
    let first = reshape(slice(h, 1, 0, 1), [B, C]); // (B, C): the [CLS] vector of each row
    if (this.training && dropBefore > 0) first = dropout(first, dropBefore, { rng, training: true }); // RoBERTa only
    const y = this.dense.forward(first); // (B, C)
    return this.act === 'tanh' ? tanh(y) : relu(y);
  }
}

// -----------------------------------------------------------------------------------------------------------
// The encoder (HF's BertModel): embeddings, layers, and the pooler when the head needs one.

export class BertModel extends Module {
  readonly config: BertConfig;
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  pooler: BertPooler | null;

  constructor(config: BertConfig, opts: { pooler?: boolean } = {}) {
    super();
    this.config = config;
    this.embeddings = new BertEmbeddings(config);
    this.encoder = new BertEncoder(config);
    this.pooler = opts.pooler ? new BertPooler(config) : null;
  }

  /**
   * Hidden states for input ids (B, T) int32: `bert.forward(ids, { attentionMask })`.
   * Rows at padded positions are computed (their queries see the real tokens) but mean nothing; with
   * `paddingFree` they are not computed (and come back as zeros).
   */
  forward(inputIds: Tensor, opts: BertForwardOptions = {}): BertEncoderOutput {
    const cfg = this.config;
    if (inputIds.ndim !== 2 || inputIds.dtype !== 'int32') {
      throw new Error(`BERT forward: input ids must be an int32 (B, T) tensor, got ${inputIds.dtype} [${inputIds.shape.join(', ')}]`);
    }
    const [B, T] = inputIds.shape as [number, number];
    const positions = opts.positionIds ? checkBT(opts.positionIds, B, T, 'positionIds') : positionIdsFor(inputIds, cfg);
    let types: Tensor | null = null;
    if (cfg.type_vocab_size > 0) types = opts.tokenTypeIds ? checkBT(opts.tokenTypeIds, B, T, 'tokenTypeIds') : tensor(new Int32Array(B * T), [B, T], { dtype: 'int32' });
    else if (opts.tokenTypeIds) throw new Error(`${cfg.model_type} has no token type embeddings (type_vocab_size 0); do not pass tokenTypeIds`);
    const keyMask = opts.attentionMask ? maskBytes(checkBT(opts.attentionMask, B, T, 'attentionMask')) : undefined;
    const headMask = opts.headMask === undefined ? undefined : headMaskPerLayer(opts.headMask, this.encoder.layer.map((l) => l.attention.self.heads));

    let x = this.embeddings.forward(inputIds, positions, types, opts.rng); // (B, T, C)
    const hiddenStates: Tensor[] = [x];
    const attentions: Tensor[] = [];
    // Padding-free: the layers work on the N real tokens (N, C); attention puts them back in place.
    const rows = opts.paddingFree ? Packing.fromMask(keyMask, B, T) : undefined;
    if (rows) x = rows.pack(x); // (N, C)
    this.encoder.layer.forEach((layer, i) => {
      // layerStep: in inference the layer's intermediates live in reused memory (src/tensor/step.ts).
      const r = layerStep(() => layer.forward(x, keyMask, headMask?.[i] ?? undefined, opts.outputAttentions ?? false, rows, opts.rng));
      x = r.x; // (B, T, C), or (N, C)
      if (opts.outputHiddenStates || !rows) hiddenStates.push(rows ? rows.unpack(x) : x);
      if (r.weights) attentions.push(r.weights); // (B, H, T, T)
    });
    if (rows) x = rows.unpack(x); // (B, T, C), zeros at the padding
    const out: BertEncoderOutput = { lastHiddenState: x };
    if (this.pooler) out.poolerOutput = this.pooler.forward(x, opts.rng, 0);
    if (opts.outputHiddenStates) out.hiddenStates = hiddenStates;
    if (opts.outputAttentions) out.attentions = attentions;
    return out;
  }
}

/**
 * hidden_act as linear()'s activation (applied as the product is made when no gradient is wanted): 'gelu' is
 * the exact erf form 0.5·x·(1 + erf(x/√2)); 'gelu_new' and 'gelu_pytorch_tanh' its tanh approximation (GPT-2's).
 */
function linearActivation(act: BertConfig['hidden_act']): LinearActivation {
  return act === 'relu' ? 'relu' : act === 'gelu' ? 'gelu' : 'gelu_tanh';
}

/**
 * Default position ids. BERT and DistilBERT: 0, 1, …, T−1 whatever the padding. RoBERTa (fairseq's rule):
 * padding_idx + the count of non-pad tokens so far at real tokens, padding_idx at pad tokens — so the first real
 * token is at padding_idx + 1 = 2, and left padding does not shift the positions of the text.
 */
function positionIdsFor(ids: Tensor, cfg: BertConfig): Tensor {
  const [B, T] = ids.shape as [number, number];
  const src = ids.toArray();
  const pos = new Int32Array(B * T);
  const fromPad = FAMILIES[cfg.model_type].positions === 'after-padding';
  const pad = cfg.pad_token_id;
  for (let b = 0; b < B; b++) {
    let seen = 0;
    for (let t = 0; t < T; t++) {
      if (!fromPad) pos[b * T + t] = t;
      else if (src[b * T + t] === pad) pos[b * T + t] = pad;
      else pos[b * T + t] = pad + ++seen;
    }
  }
  const top = fromPad ? pad + T : T - 1;
  if (top >= cfg.max_position_embeddings) {
    const room = fromPad ? cfg.max_position_embeddings - pad - 1 : cfg.max_position_embeddings;
    throw new Error(`cannot encode a sequence of ${T} tokens: this ${cfg.model_type} model has ${cfg.max_position_embeddings} positions (room for ${room} tokens)`);
  }
  return tensor(pos, [B, T], { dtype: 'int32' });
}

function checkBT(t: Tensor, B: number, T: number, what: string): Tensor {
  if (t.ndim !== 2 || t.shape[0] !== B || t.shape[1] !== T) throw new Error(`BERT forward: ${what} must be (B, T) = [${B}, ${T}] like the input ids, got [${t.shape.join(', ')}]`);
  return t;
}

/** (B, T) 0/1 mask of any dtype → the Uint8Array the attention op takes. */
function maskBytes(mask: Tensor): Uint8Array {
  const src = mask.toArray();
  const bytes = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) bytes[i] = src[i] !== 0 ? 1 : 0;
  return bytes;
}

/**
 * HF's get_head_mask: (H) applies to every layer, (num_layers, H) gives each layer its own row; a list gives one
 * entry per layer, checked against that layer's heads (`heads[i]`, fewer than H where heads were pruned).
 */
function headMaskPerLayer(m: NonNullable<BertForwardOptions['headMask']>, heads: readonly number[]): Array<Tensor | Float32Array | null> {
  const layers = heads.length;
  const size = (x: Tensor | Float32Array): number => (x instanceof Tensor ? x.size : x.length);
  const fmt = (x: Tensor | Float32Array): string => (x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : `${x.length} values`);
  if (Array.isArray(m)) {
    const list = m as ReadonlyArray<Tensor | Float32Array | null>;
    if (list.length !== layers) throw new Error(`headMask has ${list.length} entries, expected one per layer (${layers})`);
    list.forEach((x, i) => {
      if (x !== null && size(x) !== heads[i] && !(x instanceof Tensor && x.ndim === 2 && x.shape[1] === heads[i])) {
        throw new Error(`headMask for layer ${i} must be (${heads[i]}) or (B, ${heads[i]}) (the layer's heads), got ${fmt(x)}`);
      }
    });
    return [...list];
  }
  const one = m as Tensor | Float32Array;
  const H = heads[0]!;
  const uniform = heads.every((h) => h === H);
  const n = size(one);
  if (uniform && n === H && (!(one instanceof Tensor) || one.ndim === 1)) return heads.map(() => one);
  if (!uniform || n !== layers * H || (one instanceof Tensor && one.ndim !== 2)) {
    const want = uniform ? `(H) = [${H}] or (num_layers, H) = [${layers}, ${H}]` : `one entry per layer (heads per layer: ${heads.join(', ')})`;
    throw new Error(`headMask must be ${want}, got ${fmt(one)}`);
  }
  return heads.map((_, i) => (one instanceof Tensor ? reshape(slice(one, 0, i, i + 1), [H]) : one.subarray(i * H, (i + 1) * H)));
}

// -----------------------------------------------------------------------------------------------------------
// Initialisation (BERT's _init_weights): every matrix and embedding ~ N(0, initializer_range), biases 0,
// LayerNorm 1 and 0, and the padding row of the word embeddings 0 (it is only ever added to ignored positions).

function initBertWeights(m: Module, cfg: BertConfig, rng: Rng): void {
  const std = cfg.initializer_range;
  // Fresh storage in backend memory for every parameter (data starts as zeros: biases and LayerNorm shifts stay 0).
  m.initParameters((name, data, shape) => {
    if (name.includes('LayerNorm.')) {
      if (name.endsWith('.weight')) data.fill(1);
    } else if (shape.length === 2) {
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
      if (name.endsWith('word_embeddings.weight')) data.fill(0, cfg.pad_token_id * cfg.hidden_size, (cfg.pad_token_id + 1) * cfg.hidden_size);
    }
  });
}

/**
 * Run `make` with the layers' own (PyTorch) init switched off: the model applies BERT's init afterwards (or
 * loads weights), so drawing PyTorch's first would only waste time. Returns what `make` returns.
 */
function withoutLayerInit<T>(make: () => T): T {
  const prev = setInitEnabled(false);
  try {
    return make();
  } finally {
    setInitEnabled(prev);
  }
}

/** Dropout before a head's output layer (HF's rules per family and head). */
function headDropout(cfg: BertConfig, head: BertHead): number {
  if (head === 'question-answering') return cfg.qa_dropout;
  if (cfg.model_type === 'distilbert' && head === 'token-classification') return cfg.hidden_dropout_prob;
  return cfg.classifier_dropout ?? cfg.hidden_dropout_prob;
}

export interface BuildOptions {
  /** Random weights for a new model; default new Rng(1337). */
  rng?: Rng;
  /** false: skip initialisation (the weights are loaded right after). Default true. */
  init?: boolean;
}

// -----------------------------------------------------------------------------------------------------------
// The heads. Each holds the encoder as `bert` (so names read bert.embeddings..., as in BERT's checkpoints).

/**
 * The encoder alone, for feature extraction: `new BertEncoderOnly(cfg).forward(ids).logits` is the last hidden
 * state (B, T, C) (named logits so every head answers the same way; `poolerOutput` is there for BERT).
 */
export class BertEncoderOnly extends Module {
  readonly config: BertConfig;
  readonly head = 'base' as const;
  bert: BertModel;
  constructor(config: BertConfig, opts: BuildOptions = {}) {
    super();
    this.config = config;
    this.bert = withoutLayerInit(() => new BertModel(config, { pooler: FAMILIES[config.model_type].basePooler }));
    if (opts.init ?? true) initBertWeights(this, config, opts.rng ?? new Rng(1337));
  }
  forward(inputIds: Tensor, opts: BertForwardOptions = {}): BertHeadOutput & BertEncoderOutput {
    const out = this.bert.forward(inputIds, opts);
    return { ...out, logits: out.lastHiddenState };
  }
}

/** The masked-LM head's transform: dense → activation → LayerNorm, before the tied decoder. */
class BertPredictionHeadTransform extends Module {
  dense: Linear; // C → C
  LayerNorm: LayerNorm;
  readonly act: BertConfig['hidden_act'];
  constructor(cfg: BertConfig) {
    super();
    const fam = FAMILIES[cfg.model_type];
    this.dense = new Linear(cfg.hidden_size, cfg.hidden_size);
    this.LayerNorm = new LayerNorm(cfg.hidden_size, fam.mlmLayerNormEps ?? cfg.layer_norm_eps);
    this.act = fam.mlmActivation ?? cfg.hidden_act;
  }
  forward(h: Tensor): Tensor {
    return this.LayerNorm.forward(this.dense.forward(h, linearActivation(this.act)));
  }
}

class BertLMPredictionHead extends Module {
  transform: BertPredictionHeadTransform;
  bias: Tensor; // (V): the decoder's bias; the decoder's weight is the word embedding table
  constructor(cfg: BertConfig) {
    super();
    this.transform = new BertPredictionHeadTransform(cfg);
    this.bias = tensor(new Float32Array(cfg.vocab_size), [cfg.vocab_size], { requiresGrad: true });
  }
}

/** Holds the prediction head under BERT's name `cls.predictions` (BertForPreTraining also had cls.seq_relationship). */
class BertOnlyMLMHead extends Module {
  predictions: BertLMPredictionHead;
  constructor(cfg: BertConfig) {
    super();
    this.predictions = new BertLMPredictionHead(cfg);
  }
}

/**
 * Masked language model (BERT's pretraining objective): logits over the vocabulary at every position.
 * `mlm.forward(ids, { attentionMask, labels })` with labels (B, T) int32, −100 where nothing is predicted.
 * With `maskedOnly`, logits are computed only at labelled positions ((N, V) for the N labels that are not −100):
 * the loss is the same and the (C × V) decoder runs on ~15 % of the tokens — what pretraining uses.
 */
export class BertForMaskedLM extends Module {
  readonly config: BertConfig;
  readonly head = 'masked-lm' as const;
  bert: BertModel;
  cls: BertOnlyMLMHead;

  constructor(config: BertConfig, opts: BuildOptions = {}) {
    super();
    this.config = config;
    [this.bert, this.cls] = withoutLayerInit(() => [new BertModel(config), new BertOnlyMLMHead(config)] as const);
    if (opts.init ?? true) initBertWeights(this, config, opts.rng ?? new Rng(1337));
  }

  forward(inputIds: Tensor, opts: BertForwardOptions & { labels?: Tensor; maskedOnly?: boolean } = {}): BertHeadOutput {
    const enc = this.bert.forward(inputIds, opts);
    let h = enc.lastHiddenState; // (B, T, C)
    const [B, T, C] = h.shape as [number, number, number];
    let targets = opts.labels ? checkBT(opts.labels, B, T, 'labels').reshape([B * T]) : undefined;
    if (opts.maskedOnly) {
      if (!targets) throw new Error('BertForMaskedLM: maskedOnly needs labels (it keeps the positions whose label is not -100)');
      const lab = targets.toArray();
      const at = Int32Array.from(lab.flatMap((l, i) => (l === -100 ? [] : [i])));
      h = indexSelect(reshape(h, [B * T, C]), 0, tensor(at, [at.length], { dtype: 'int32' })); // (N, C)
      targets = tensor(Int32Array.from(at, (i) => lab[i]!), [at.length], { dtype: 'int32' });
    }
    const p = this.cls.predictions;
    const z = p.transform.forward(h); // (…, C)
    // The decoder is the word embedding table read backwards (tied, as in GPT-2) plus its own bias: (…, C)·(C, V).
    const logits = linear(z, this.bert.embeddings.word_embeddings.weight, p.bias, 'out_in'); // (B, T, V) or (N, V)
    const out: BertHeadOutput = withExtras({ logits }, enc);
    if (targets) out.loss = crossEntropy(logits.reshape([-1, this.config.vocab_size]), targets, { ignoreIndex: -100 });
    return out;
  }
}

/**
 * Sequence classification (sentiment, topic, entailment of a pair): the pooled first token → L scores.
 * `cls.forward(ids, { attentionMask, labels })`; labels are int32 (B) class ids (single-label), float32 (B, L)
 * 0/1 targets (multi-label, sigmoid per class), or float32 (B) / (B, L) values (regression), as problem_type says.
 */
export class BertForSequenceClassification extends Module {
  readonly config: BertConfig;
  readonly head = 'sequence-classification' as const;
  bert: BertModel;
  classifier: Linear; // C → L

  constructor(config: BertConfig, opts: BuildOptions = {}) {
    super();
    this.config = config;
    [this.bert, this.classifier] = withoutLayerInit(() => [new BertModel(config, { pooler: true }), new Linear(config.hidden_size, config.id2label.length)] as const);
    if (opts.init ?? true) initBertWeights(this, config, opts.rng ?? new Rng(1337));
  }

  forward(inputIds: Tensor, opts: BertForwardOptions & { labels?: Tensor } = {}): BertHeadOutput {
    const enc = this.bert.forward(inputIds, opts);
    const fam = FAMILIES[this.config.model_type];
    const drop = headDropout(this.config, this.head);
    let pooled = this.bert.pooler!.forward(enc.lastHiddenState, opts.rng, fam.dropoutBeforePooler ? drop : 0); // (B, C)
    if (this.training && drop > 0) pooled = dropout(pooled, drop, { rng: opts.rng, training: true });
    const logits = this.classifier.forward(pooled); // (B, L)
    const out: BertHeadOutput = withExtras({ logits }, enc);
    if (opts.labels) out.loss = sequenceClassificationLoss(logits, opts.labels, this.config);
    return out;
  }
}

/**
 * The loss Hugging Face uses for each problem_type (inferred when null: one label → regression; integer
 * labels → single-label; float labels → multi-label):
 *   single_label   mean cross-entropy of softmax(logits) against class ids
 *   multi_label    mean binary cross-entropy of sigmoid(logits) against 0/1 targets, over B·L entries
 *   regression     mean squared error
 */
export function sequenceClassificationLoss(logits: Tensor, labels: Tensor, cfg: Pick<BertConfig, 'problem_type' | 'id2label'>): Tensor {
  const [B, L] = logits.shape as [number, number];
  const problem = cfg.problem_type ?? (L === 1 ? 'regression' : labels.dtype === 'int32' ? 'single_label_classification' : 'multi_label_classification');
  if (problem === 'single_label_classification') {
    if (labels.dtype !== 'int32' || labels.size !== B) throw new Error(`single-label classification needs int32 labels (B) = [${B}], got ${labels.dtype} [${labels.shape.join(', ')}]`);
    return crossEntropy(logits, labels.reshape([B]), { ignoreIndex: -100 });
  }
  if (labels.dtype !== 'float32') throw new Error(`${problem} needs float32 labels, got ${labels.dtype}`);
  if (problem === 'regression') {
    if (labels.size !== B * L) throw new Error(`regression needs labels (B, L) = [${B}, ${L}], got [${labels.shape.join(', ')}]`);
    const d = sub(logits, labels.reshape([B, L]));
    return mean(mul(d, d));
  }
  if (labels.size !== B * L) throw new Error(`multi-label classification needs 0/1 labels (B, L) = [${B}, ${L}], got [${labels.shape.join(', ')}]`);
  // BCE with logits, written so exp never overflows: max(x, 0) − x·y + log(1 + e^(−|x|)).
  const y = labels.reshape([B, L]);
  const absX = add(relu(logits), relu(neg(logits)));
  return mean(add(sub(relu(logits), mul(logits, y)), log(add(exp(neg(absX)), 1))));
}

/**
 * Token classification (named entities, parts of speech): L scores per token.
 * `ner.forward(ids, { attentionMask, labels })` with labels (B, T) int32, −100 on ignored tokens.
 */
export class BertForTokenClassification extends Module {
  readonly config: BertConfig;
  readonly head = 'token-classification' as const;
  bert: BertModel;
  classifier: Linear; // C → L

  constructor(config: BertConfig, opts: BuildOptions = {}) {
    super();
    this.config = config;
    [this.bert, this.classifier] = withoutLayerInit(() => [new BertModel(config), new Linear(config.hidden_size, config.id2label.length)] as const);
    if (opts.init ?? true) initBertWeights(this, config, opts.rng ?? new Rng(1337));
  }

  forward(inputIds: Tensor, opts: BertForwardOptions & { labels?: Tensor } = {}): BertHeadOutput {
    const enc = this.bert.forward(inputIds, opts);
    let h = enc.lastHiddenState; // (B, T, C)
    const drop = headDropout(this.config, this.head);
    if (this.training && drop > 0) h = dropout(h, drop, { rng: opts.rng, training: true });
    const logits = this.classifier.forward(h); // (B, T, L)
    const out: BertHeadOutput = withExtras({ logits }, enc);
    if (opts.labels) {
      const [B, T, L] = logits.shape as [number, number, number];
      out.loss = crossEntropy(logits.reshape([B * T, L]), checkBT(opts.labels, B, T, 'labels').reshape([B * T]), { ignoreIndex: -100 });
    }
    return out;
  }
}

export interface QuestionAnsweringOutput extends BertHeadOutput {
  /** (B, T, 2): start and end scores side by side; startLogits / endLogits are its two halves. */
  logits: Tensor;
  startLogits: Tensor; // (B, T)
  endLogits: Tensor; // (B, T)
}

/**
 * Extractive question answering (SQuAD): for each token, a score for "the answer starts here" and one for
 * "it ends here". `qa.forward(ids, { tokenTypeIds, startPositions, endPositions })`: the loss is the mean of the
 * two cross-entropies over positions; a target outside 0..T−1 is ignored (HF clamps it to T and ignores T).
 */
export class BertForQuestionAnswering extends Module {
  readonly config: BertConfig;
  readonly head = 'question-answering' as const;
  bert: BertModel;
  qa_outputs: Linear; // C → 2

  constructor(config: BertConfig, opts: BuildOptions = {}) {
    super();
    this.config = config;
    [this.bert, this.qa_outputs] = withoutLayerInit(() => [new BertModel(config), new Linear(config.hidden_size, 2)] as const);
    if (opts.init ?? true) initBertWeights(this, config, opts.rng ?? new Rng(1337));
  }

  forward(inputIds: Tensor, opts: BertForwardOptions & { startPositions?: Tensor; endPositions?: Tensor } = {}): QuestionAnsweringOutput {
    if (opts.paddingFree && (opts.startPositions || opts.endPositions)) {
      throw new Error('BertForQuestionAnswering: paddingFree changes the loss (it reads the logits of padded positions, as transformers does); leave it off when training');
    }
    const enc = this.bert.forward(inputIds, opts);
    let h = enc.lastHiddenState; // (B, T, C)
    const drop = headDropout(this.config, this.head);
    if (this.training && drop > 0) h = dropout(h, drop, { rng: opts.rng, training: true });
    const logits = this.qa_outputs.forward(h); // (B, T, 2)
    const [B, T] = logits.shape as [number, number, number];
    const startLogits = reshape(slice(logits, 2, 0, 1), [B, T]); // (B, T)
    const endLogits = reshape(slice(logits, 2, 1, 2), [B, T]);
    const out: QuestionAnsweringOutput = { ...withExtras({ logits }, enc), logits, startLogits, endLogits };
    if (opts.startPositions || opts.endPositions) {
      if (!opts.startPositions || !opts.endPositions) throw new Error('BertForQuestionAnswering: give both startPositions and endPositions');
      const target = (p: Tensor): Tensor => {
        if (p.size !== B) throw new Error(`answer positions must be (B) = [${B}], got [${p.shape.join(', ')}]`);
        return tensor(Int32Array.from(p.toArray(), (v) => Math.min(Math.max(v, 0), T)), [B], { dtype: 'int32' });
      };
      const ls = crossEntropy(startLogits, target(opts.startPositions), { ignoreIndex: T });
      const le = crossEntropy(endLogits, target(opts.endPositions), { ignoreIndex: T });
      out.loss = mul(add(ls, le), 0.5);
    }
    return out;
  }
}

function withExtras(out: BertHeadOutput, enc: BertEncoderOutput): BertHeadOutput {
  if (enc.hiddenStates) out.hiddenStates = enc.hiddenStates;
  if (enc.attentions) out.attentions = enc.attentions;
  return out;
}

/** Any model this file builds. */
export type BertAnyModel = BertEncoderOnly | BertForMaskedLM | BertForSequenceClassification | BertForTokenClassification | BertForQuestionAnswering;

/**
 * A new model with `head` on top: `createBertModel(cfg, 'sequence-classification', { rng: new Rng(1) })`.
 */
export function createBertModel(config: BertConfig, head: BertHead, opts: BuildOptions = {}): BertAnyModel {
  switch (head) {
    case 'base':
      return new BertEncoderOnly(config, opts);
    case 'masked-lm':
      return new BertForMaskedLM(config, opts);
    case 'sequence-classification':
      return new BertForSequenceClassification(config, opts);
    case 'token-classification':
      return new BertForTokenClassification(config, opts);
    case 'question-answering':
      return new BertForQuestionAnswering(config, opts);
    default:
      throw new Error(`unknown BERT head '${String(head)}'; heads: base, masked-lm, sequence-classification, token-classification, question-answering`);
  }
}

// -----------------------------------------------------------------------------------------------------------
// The family: what RoBERTa and DistilBERT do differently, in one place. Checkpoint names are mapped onto BERT's
// (attn's parameter names) by `renames`: [checkpoint prefix, attn prefix], '*' standing for a layer number, tried
// in order; the first match rewrites the start of the name, and saving applies the same pairs the other way.
// A rename restricted to `heads` applies only to those heads (RoBERTa's classifier.out_proj is a sequence
// classifier's output layer, but `classifier` alone is the token classifier's).

export interface FamilyRules {
  /** Architecture class prefix in config.json ("BertForMaskedLM", "RobertaForMaskedLM", "DistilBertForMaskedLM"). */
  classPrefix: string;
  /** Prefix of the encoder's keys in a checkpoint with a head. */
  prefix: string;
  renames: Array<{ checkpoint: string; attn: string; heads?: BertHead[] }>;
  /** Checkpoint keys to skip when loading (buffers, parts no head of this family uses). */
  ignore: RegExp[];
  /** 'from-zero': positions 0..T−1. 'after-padding': RoBERTa's padding_idx + 1, + 2, … at real tokens. */
  positions: 'from-zero' | 'after-padding';
  poolerActivation: 'tanh' | 'relu';
  /** RoBERTa's classification head drops out the first token's vector before its dense too. */
  dropoutBeforePooler: boolean;
  /** BERT and RoBERTa drop out after attention.output.dense; DistilBERT does not. */
  attentionOutputDropout: boolean;
  /** The bare encoder (architecture "…Model") has a pooler: BERT only (RoBERTa's is never used by a head). */
  basePooler: boolean;
  /** Overrides for the masked-LM transform: RoBERTa always uses exact GELU; DistilBERT's LayerNorm eps is 1e-12. */
  mlmActivation?: BertConfig['hidden_act'];
  mlmLayerNormEps?: number;
  /** Config defaults of this family (HF's config class defaults). */
  defaults: Partial<BertConfig>;
}

export const FAMILIES: Record<BertFamily, FamilyRules> = {
  bert: {
    classPrefix: 'Bert',
    prefix: 'bert.',
    renames: [],
    ignore: [/(^|\.)position_ids$/, /^cls\.seq_relationship\./],
    positions: 'from-zero',
    poolerActivation: 'tanh',
    dropoutBeforePooler: false,
    attentionOutputDropout: true,
    basePooler: true,
    defaults: {},
  },
  roberta: {
    classPrefix: 'Roberta',
    prefix: 'roberta.',
    renames: [
      { checkpoint: 'lm_head.dense.', attn: 'cls.predictions.transform.dense.' },
      { checkpoint: 'lm_head.layer_norm.', attn: 'cls.predictions.transform.LayerNorm.' },
      { checkpoint: 'lm_head.decoder.', attn: 'cls.predictions.decoder.' },
      { checkpoint: 'lm_head.bias', attn: 'cls.predictions.bias' },
      // RobertaClassificationHead: dense → tanh on <s>, then out_proj: BERT's pooler + classifier under other names.
      { checkpoint: 'classifier.dense.', attn: 'bert.pooler.dense.', heads: ['sequence-classification'] },
      { checkpoint: 'classifier.out_proj.', attn: 'classifier.', heads: ['sequence-classification'] },
      { checkpoint: 'roberta.', attn: 'bert.' },
    ],
    // RobertaModel's own pooler is in some checkpoints (roberta-base) but no RoBERTa head reads it.
    ignore: [/(^|\.)position_ids$/, /^roberta\.pooler\./],
    positions: 'after-padding',
    poolerActivation: 'tanh',
    dropoutBeforePooler: true,
    attentionOutputDropout: true,
    basePooler: false,
    mlmActivation: 'gelu',
    defaults: { vocab_size: 50265, max_position_embeddings: 514, type_vocab_size: 1, layer_norm_eps: 1e-5, pad_token_id: 1, bos_token_id: 0, eos_token_id: 2 },
  },
  distilbert: {
    classPrefix: 'DistilBert',
    prefix: 'distilbert.',
    renames: [
      { checkpoint: 'distilbert.transformer.layer.*.attention.q_lin.', attn: 'bert.encoder.layer.*.attention.self.query.' },
      { checkpoint: 'distilbert.transformer.layer.*.attention.k_lin.', attn: 'bert.encoder.layer.*.attention.self.key.' },
      { checkpoint: 'distilbert.transformer.layer.*.attention.v_lin.', attn: 'bert.encoder.layer.*.attention.self.value.' },
      { checkpoint: 'distilbert.transformer.layer.*.attention.out_lin.', attn: 'bert.encoder.layer.*.attention.output.dense.' },
      { checkpoint: 'distilbert.transformer.layer.*.sa_layer_norm.', attn: 'bert.encoder.layer.*.attention.output.LayerNorm.' },
      { checkpoint: 'distilbert.transformer.layer.*.ffn.lin1.', attn: 'bert.encoder.layer.*.intermediate.dense.' },
      { checkpoint: 'distilbert.transformer.layer.*.ffn.lin2.', attn: 'bert.encoder.layer.*.output.dense.' },
      { checkpoint: 'distilbert.transformer.layer.*.output_layer_norm.', attn: 'bert.encoder.layer.*.output.LayerNorm.' },
      { checkpoint: 'vocab_transform.', attn: 'cls.predictions.transform.dense.' },
      { checkpoint: 'vocab_layer_norm.', attn: 'cls.predictions.transform.LayerNorm.' },
      { checkpoint: 'vocab_projector.weight', attn: 'cls.predictions.decoder.weight' },
      { checkpoint: 'vocab_projector.bias', attn: 'cls.predictions.bias' },
      // DistilBertForSequenceClassification: pre_classifier → ReLU on [CLS], then classifier.
      { checkpoint: 'pre_classifier.', attn: 'bert.pooler.dense.', heads: ['sequence-classification'] },
      { checkpoint: 'distilbert.', attn: 'bert.' },
    ],
    ignore: [/(^|\.)position_ids$/],
    positions: 'from-zero',
    poolerActivation: 'relu',
    dropoutBeforePooler: false,
    attentionOutputDropout: false,
    basePooler: false,
    mlmLayerNormEps: 1e-12,
    defaults: { type_vocab_size: 0, layer_norm_eps: 1e-12, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, classifier_dropout: 0.2, qa_dropout: 0.1, intermediate_size: 3072, num_hidden_layers: 6 },
  },
};

/**
 * Tied copies some checkpoints store (in attn's names): the MLM decoder's weight is the word embedding table and
 * its bias is cls.predictions.bias. Loading checks a stored copy equals the original; saving leaves it out.
 */
export const TIED_COPIES: Record<string, string> = {
  'cls.predictions.decoder.weight': 'bert.embeddings.word_embeddings.weight',
  'cls.predictions.decoder.bias': 'cls.predictions.bias',
};
