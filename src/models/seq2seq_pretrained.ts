// Hugging Face folders of encoder-decoder models: `model_type: marian` (the 2017 Transformer, transformer.ts)
// and `model_type: t5` (t5.ts). Node-only (files), like pretrained.ts for GPT-2, whose generic name walk
// (loadStateDict) this reuses: every key and shape is checked and all problems are reported together.
//
//   fromPretrainedSeq2Seq(dir)    config.json's model_type picks the model; weights, generation defaults
//                                 (generation_config.json, else the generation keys of config.json, as
//                                 transformers' GenerationConfig.from_model_config) and tokenizer.json
//   saveSeq2Seq(model, dir)       config.json, generation_config.json, model.safetensors (+ tokenizer.json),
//                                 written atomically, under the names and fields save_pretrained writes
//
// Dispatch for a caller that handles several families: read config.json's model_type; 'gpt2' →
// pretrained.ts's fromPretrained, 'marian' | 't5' → fromPretrainedSeq2Seq (SEQ2SEQ_MODEL_TYPES).

import { existsSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { Transformer, transformerConfig, TRANSFORMER_DEFAULTS, CHECKPOINT_RULES as MARIAN_RULES, type TransformerConfig } from './transformer.js';
import { T5, t5Config, T5_DEFAULTS, CHECKPOINT_RULES as T5_RULES, type T5Config } from './t5.js';
import { loadStateDict, type SaveOptions } from './pretrained.js';
import { addStateEntry, checkpointNames, loadQuantizedStateDict, quantizedLoadPlan, withQuantizationConfig, type QuantizeOnLoad } from '../quant/load.js';
import { openSafetensorsFile, saveSafetensorsFile } from '../io/node.js';
import { readDirConsistent, readJsonFile, writeDirAtomic } from '../io/atomic.js';
import type { TensorToSave } from '../io/safetensors.js';
import { noGrad, tensor, type Tensor } from '../tensor/index.js';
import { GENERATION_DEFAULTS } from '../generate/config.js';

/** The model types this file loads. */
export const SEQ2SEQ_MODEL_TYPES = ['marian', 't5'] as const;

export type Seq2SeqModel = Transformer | T5;

export interface PretrainedSeq2Seq {
  model: Seq2SeqModel;
  modelType: 'marian' | 't5';
  /** Generation defaults (generation_config.json, or the generation keys of config.json), decoder_start_token_id included. */
  generationConfig: Record<string, unknown>;
  /** tokenizer.json text, when the folder has one. */
  tokenizerJson: string | null;
  dir: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The model_type of a folder's config.json (read and checked). */
export function readModelType(dir: string): string {
  if (!existsSync(dir)) throw new Error(`model folder not found: ${dir}`);
  const file = join(dir, 'config.json');
  const raw = readJsonFile(file, 'model config');
  if (!isRecord(raw)) throw new Error(`${file}: expected a JSON object`);
  const t = raw['model_type'];
  if (typeof t !== 'string') throw new Error(`${file}: "model_type" is missing (expected one of gpt2, ${SEQ2SEQ_MODEL_TYPES.join(', ')})`);
  return t;
}

/** Copy config fields whose names are the model config's own, checking each one's JSON type against the defaults. */
function takeFields<C extends object>(raw: Record<string, unknown>, defaults: C, file: string, nullable: readonly string[]): Partial<C> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(defaults)) {
    const v = raw[key];
    if (v === undefined) continue;
    if (v === null && nullable.includes(key)) {
      out[key] = null;
      continue;
    }
    const want = typeof (defaults as Record<string, unknown>)[key];
    const ok = want === 'object' ? typeof v === 'number' : typeof v === want; // nullable number fields default to null
    if (!ok) throw new Error(`${file}: "${key}" must be a ${want === 'object' ? 'number or null' : want}, got ${JSON.stringify(v)}`);
    out[key] = v;
  }
  return out as Partial<C>;
}

// -----------------------------------------------------------------------------------------------------------
// Marian

/** What transformers 4.36 writes into a Marian config.json besides the architecture numbers. */
const HF_MARIAN_EXTRAS = {
  architectures: ['MarianMTModel'],
  model_type: 'marian',
  decoder_layerdrop: 0.0,
  encoder_layerdrop: 0.0,
  is_encoder_decoder: true,
  share_encoder_decoder_embeddings: true,
  torch_dtype: 'float32',
  transformers_version: '4.36.2',
  use_cache: true,
};

/**
 * A TransformerConfig from a Marian config.json object. Unused fields (layer drop at inference, old BART
 * fields such as static_position_embeddings) are ignored; what attn cannot represent is an error.
 */
export function marianConfigFromHF(raw: unknown, file: string): TransformerConfig {
  if (!isRecord(raw)) throw new Error(`${file}: expected a JSON object`);
  if (raw['model_type'] !== 'marian') throw new Error(`${file}: model_type ${JSON.stringify(raw['model_type'])} is not marian`);
  if (raw['share_encoder_decoder_embeddings'] === false) {
    throw new Error(`${file}: share_encoder_decoder_embeddings is false (separate source and target vocabularies), which attn's Transformer does not support`);
  }
  const V = raw['vocab_size'];
  if (raw['decoder_vocab_size'] !== undefined && raw['decoder_vocab_size'] !== null && raw['decoder_vocab_size'] !== V) {
    throw new Error(`${file}: decoder_vocab_size ${JSON.stringify(raw['decoder_vocab_size'])} differs from vocab_size ${JSON.stringify(V)}; attn's Transformer shares one vocabulary`);
  }
  if (raw['tie_word_embeddings'] === false) throw new Error(`${file}: tie_word_embeddings false (a separate output layer) is not supported for Marian`);
  const cfg = takeFields(raw, TRANSFORMER_DEFAULTS, file, ['forced_eos_token_id']);
  // transformers' MarianConfig defaults for fields a config.json may leave out.
  const marianDefaults: Partial<TransformerConfig> = { activation_function: 'gelu', scale_embedding: false, max_position_embeddings: 1024, pad_token_id: 58100, decoder_start_token_id: 58100, eos_token_id: 0, forced_eos_token_id: 0, vocab_size: 58101 };
  return transformerConfig({ ...marianDefaults, ...cfg });
}

/** config.json for a Transformer, with the fields and order save_pretrained writes (sorted keys). */
export function marianConfigToHF(cfg: TransformerConfig): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...HF_MARIAN_EXTRAS, num_hidden_layers: cfg.encoder_layers, decoder_vocab_size: cfg.vocab_size };
  for (const [k, v] of Object.entries(cfg)) {
    if (k === 'normalize_before' && v === false) continue; // our extension; written only when used
    fields[k] = v;
  }
  return Object.fromEntries(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The keys of GenerationConfig a model config.json may carry (transformers' GenerationConfig.from_model_config). */
function generationFromModelConfig(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of [...Object.keys(GENERATION_DEFAULTS), 'decoder_start_token_id']) {
    if (raw[key] !== undefined && raw[key] !== null) out[key] = raw[key];
  }
  return out;
}

function readGeneration(dir: string, rawConfig: Record<string, unknown>): Record<string, unknown> {
  const file = join(dir, 'generation_config.json');
  if (!existsSync(file)) return generationFromModelConfig(rawConfig);
  const g = readJsonFile(file, 'generation config');
  if (!isRecord(g)) throw new Error(`${file}: expected a JSON object`);
  return g;
}

function weightsFile(dir: string): string {
  const weights = join(dir, 'model.safetensors');
  if (!existsSync(weights)) {
    const alt = ['pytorch_model.bin', 'model.safetensors.index.json', 'tf_model.h5'].find((f) => existsSync(join(dir, f)));
    throw new Error(`${weights} not found${alt ? ` (the folder has ${alt}, which attn does not read; convert it to a single model.safetensors)` : ''}`);
  }
  return weights;
}

function loadMarian(dir: string, raw: Record<string, unknown>, opts: QuantizeOnLoad): Transformer {
  const config = marianConfigFromHF(raw, join(dir, 'config.json'));
  const weights = weightsFile(dir);
  const model = new Transformer(config, undefined, { init: false });
  const reader = openSafetensorsFile(weights);
  try {
    // A quantised folder, or quantising while loading (src/quant): the same names; stored copies of `shared` are
    // checked against it there (the tied copies below).
    const plan = quantizedLoadPlan(raw, join(dir, 'config.json'), opts);
    if (plan) {
      const tied = new Set([MARIAN_RULES.tiedHead, 'model.encoder.embed_tokens.weight', 'model.decoder.embed_tokens.weight']);
      const names = { ...checkpointNames({ prefix: MARIAN_RULES.prefix, ignore: MARIAN_RULES.ignore }), tiedCopyOf: (key: string) => (tied.has(key) ? 'shared.weight' : null) };
      loadQuantizedStateDict(model, reader, names, weights, plan.config, plan.quantize);
      return model;
    }
    loadStateDict(model, reader, { prefix: MARIAN_RULES.prefix, ignore: MARIAN_RULES.ignore }, weights);
    // A stored output layer must be the shared embedding (Marian ties them); anything else is another model.
    for (const key of [MARIAN_RULES.tiedHead, 'model.encoder.embed_tokens.weight', 'model.decoder.embed_tokens.weight']) {
      if (!reader.names().includes(key)) continue;
      const t = reader.get(key).data;
      const shared = model.shared.weight.toFloat32Array();
      if (t.length !== shared.length || t.some((v, i) => v !== shared[i])) throw new Error(`${weights}: ${key} differs from model.shared.weight; attn's Transformer ties them`);
    }
  } finally {
    reader.close();
  }
  model.final_logits_bias.requiresGrad = false; // a buffer in transformers: fine-tuning leaves it as it is
  return model;
}

/** Marian's state dict under save_pretrained's key names: `model.` + name, final_logits_bias as it is. */
export function marianStateDict(model: Transformer): Map<string, TensorToSave> {
  const out = new Map<string, TensorToSave>();
  for (const [name, p] of model.namedParameters()) {
    const key = MARIAN_RULES.unprefixed.includes(name) ? name : MARIAN_RULES.prefix + name;
    addStateEntry(out, key, p); // a quantised weight as its values + `_scale` (src/quant/load.ts)
  }
  return out;
}

// -----------------------------------------------------------------------------------------------------------
// T5

/** What transformers 4.36 writes into a T5 config.json besides the architecture numbers. */
const HF_T5_EXTRAS = {
  architectures: ['T5ForConditionalGeneration'],
  model_type: 't5',
  classifier_dropout: 0.0,
  is_encoder_decoder: true,
  torch_dtype: 'float32',
  transformers_version: '4.36.2',
  use_cache: true,
};

/** A T5Config from a T5 config.json object (feed_forward_proj "relu", "gated-gelu", "gated-relu", ...). */
export function t5ConfigFromHF(raw: unknown, file: string): T5Config {
  if (!isRecord(raw)) throw new Error(`${file}: expected a JSON object`);
  if (raw['model_type'] !== 't5') throw new Error(`${file}: model_type ${JSON.stringify(raw['model_type'])} is not t5`);
  const cfg = takeFields(raw, T5_DEFAULTS, file, ['num_decoder_layers']);
  return t5Config(cfg);
}

/** config.json for a T5, as save_pretrained writes it (derived fields dense_act_fn / is_gated_act included). */
export function t5ConfigToHF(cfg: T5Config): Record<string, unknown> {
  const gated = cfg.feed_forward_proj.startsWith('gated-');
  const act = gated ? cfg.feed_forward_proj.slice('gated-'.length) : cfg.feed_forward_proj;
  const fields: Record<string, unknown> = { ...HF_T5_EXTRAS, dense_act_fn: cfg.feed_forward_proj === 'gated-gelu' ? 'gelu_new' : act, is_gated_act: gated };
  for (const [k, v] of Object.entries(cfg)) {
    if (k === 'tie_word_embeddings' && v === true) continue; // the default, which transformers omits
    fields[k] = v;
  }
  return Object.fromEntries(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function loadT5(dir: string, raw: Record<string, unknown>, opts: QuantizeOnLoad): T5 {
  const config = t5ConfigFromHF(raw, join(dir, 'config.json'));
  const weights = weightsFile(dir);
  const model = new T5(config, undefined, { init: false });
  const reader = openSafetensorsFile(weights);
  try {
    // A tied model may still find lm_head.weight in the file (older checkpoints): it must equal shared.
    const tiedCopy = config.tie_word_embeddings && reader.names().includes('lm_head.weight');
    const plan = quantizedLoadPlan(raw, join(dir, 'config.json'), opts); // quantised folder / quantising while loading
    if (plan) {
      const names = { ...checkpointNames({ prefix: '', ignore: T5_RULES.ignore }), tiedCopyOf: (key: string) => (tiedCopy && key === 'lm_head.weight' ? 'shared.weight' : null) };
      loadQuantizedStateDict(model, reader, names, weights, plan.config, plan.quantize);
      return model;
    }
    loadStateDict(model, reader, { prefix: '', ignore: tiedCopy ? [...T5_RULES.ignore, /^lm_head\.weight$/] : T5_RULES.ignore }, weights);
    if (tiedCopy) {
      const t = reader.get('lm_head.weight').data;
      const shared = model.shared.weight.toFloat32Array();
      if (t.length !== shared.length || t.some((v, i) => v !== shared[i])) {
        throw new Error(`${weights}: lm_head.weight differs from shared.weight but config.json says tie_word_embeddings (set it to false for an untied head)`);
      }
    }
  } finally {
    reader.close();
  }
  return model;
}

/** T5's state dict under save_pretrained's key names (no prefix; the tied head is not stored). */
export function t5StateDict(model: T5): Map<string, TensorToSave> {
  const out = new Map<string, TensorToSave>();
  for (const [name, p] of model.namedParameters()) addStateEntry(out, name, p); // quantised weights as values + `_scale`
  return out;
}

// -----------------------------------------------------------------------------------------------------------
// Both

/**
 * Load a Marian or T5 folder. Example: `const { model, generationConfig } = fromPretrainedSeq2Seq('models/opus-mt-en-de')`.
 * A quantised folder (`attn quantize`) loads as it is; `{ dtype: 'int8' | 'int4' }` quantises a float one while loading.
 * Does not handle: sharded checkpoints, pytorch_model.bin. tokenizerJson is null when the folder has no
 * tokenizer.json (an opus-mt folder's source.spm + vocab.json are read by loadTokenizerFromFolder).
 */
export function fromPretrainedSeq2Seq(dir: string, opts: QuantizeOnLoad = {}): PretrainedSeq2Seq {
  // A reader never changes the folder (a writer may be swapping it right now): read one consistent version.
  return readDirConsistent(dir, (d) => ({ ...loadSeq2SeqFolder(d, opts), dir }));
}

function loadSeq2SeqFolder(dir: string, opts: QuantizeOnLoad): PretrainedSeq2Seq {
  const type = readModelType(dir);
  const raw = readJsonFile(join(dir, 'config.json'), 'model config') as Record<string, unknown>;
  let model: Seq2SeqModel;
  if (type === 'marian') model = loadMarian(dir, raw, opts);
  else if (type === 't5') model = loadT5(dir, raw, opts);
  else throw new Error(`${join(dir, 'config.json')}: model_type "${type}" is not an encoder-decoder attn loads (${SEQ2SEQ_MODEL_TYPES.join(', ')})`);
  model.train(false);
  const generationConfig = readGeneration(dir, raw);
  if (generationConfig['decoder_start_token_id'] === undefined) generationConfig['decoder_start_token_id'] = model.config.decoder_start_token_id;
  const tokFile = join(dir, 'tokenizer.json');
  const tokenizerJson = existsSync(tokFile) ? readFileSync(tokFile, 'utf8') : null;
  return { model, modelType: type, generationConfig, tokenizerJson, dir };
}

/** The generation_config.json a fresh save writes: the model's special tokens (what from_model_config would take). */
export function defaultGenerationConfig(model: Seq2SeqModel): Record<string, unknown> {
  const c = model.config;
  const g: Record<string, unknown> = { decoder_start_token_id: c.decoder_start_token_id, eos_token_id: c.eos_token_id };
  if (model instanceof Transformer && model.config.forced_eos_token_id !== null) g['forced_eos_token_id'] = model.config.forced_eos_token_id;
  g['pad_token_id'] = c.pad_token_id;
  return g;
}

/**
 * Write a Marian or T5 folder atomically: config.json, generation_config.json, model.safetensors, and
 * tokenizer.json / extra files when given. Example: `saveSeq2Seq(model, 'runs/g2p', { tokenizerJson })`.
 */
export function saveSeq2Seq(model: Seq2SeqModel, dir: string, opts: SaveOptions & { generationConfig?: Record<string, unknown> } = {}): void {
  const isMarian = model instanceof Transformer;
  const config = withQuantizationConfig(isMarian ? marianConfigToHF(model.config) : t5ConfigToHF(model.config), model); // + quantization_config when quantised
  const tensors = isMarian ? marianStateDict(model) : t5StateDict(model);
  const generation = { _from_model_config: opts.generationConfig === undefined, ...(opts.generationConfig ?? defaultGenerationConfig(model)), transformers_version: '4.36.2' };
  writeDirAtomic(dir, (tmp) => {
    writeFileSync(join(tmp, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    writeFileSync(join(tmp, 'generation_config.json'), JSON.stringify(generation, null, 2) + '\n');
    saveSafetensorsFile(join(tmp, 'model.safetensors'), tensors, { format: 'pt' });
    if (opts.tokenizerJson !== undefined && opts.tokenizerJson !== null) writeFileSync(join(tmp, 'tokenizer.json'), opts.tokenizerJson);
    for (const [name, data] of Object.entries(opts.extraFiles ?? {})) writeFileSync(join(tmp, name), data);
    for (const [name, t] of Object.entries(opts.extraTensors ?? {})) saveSafetensorsFile(join(tmp, name), t, { format: 'attn' });
    for (const [name, from] of Object.entries(opts.copyFiles ?? {})) if (existsSync(from)) copyFileSync(from, join(tmp, name));
  });
}

// -----------------------------------------------------------------------------------------------------------
// Raw outputs for `attn forward`

/** A tensor as plain data: shape and row-major float32 values. */
export interface PlainTensor {
  shape: number[];
  data: Float32Array;
}

/** Teacher-forced outputs under transformers' Seq2SeqLMOutput names. */
export interface Seq2SeqForwardResult {
  logits: PlainTensor; // (B, T, V)
  encoder_last_hidden_state: PlainTensor; // (B, S, C)
  encoder_hidden_states?: PlainTensor[];
  encoder_attentions?: PlainTensor[];
  decoder_hidden_states?: PlainTensor[];
  decoder_attentions?: PlainTensor[];
  cross_attentions?: PlainTensor[];
}

/**
 * One teacher-forced forward without gradients, as plain arrays (for `attn forward --decoder-input-ids`).
 * `seq2seqForward(model, [[196, 6, 0]], [[1, 1, 1]], [[499, 483]], { hiddenStates: true, attentions: true })`.
 * `attentionMask` may be null (no padding). Errors name the row and position of an id outside the vocabulary.
 */
export function seq2seqForward(
  model: Seq2SeqModel,
  inputIds: readonly (readonly number[])[],
  attentionMask: readonly (readonly number[])[] | null,
  decoderInputIds: readonly (readonly number[])[],
  opts: { hiddenStates?: boolean; attentions?: boolean } = {},
): Seq2SeqForwardResult {
  const rect = (rows: readonly (readonly number[])[], what: string): Tensor => {
    if (rows.length === 0 || rows.some((r) => r.length !== rows[0]!.length || r.length === 0)) {
      throw new Error(`seq2seqForward: ${what} must be a non-empty rectangle of ids (rows of one length), got lengths [${rows.map((r) => r.length).join(', ')}]`);
    }
    return tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length], { dtype: 'int32' });
  };
  const src = rect(inputIds, 'input ids');
  const dec = rect(decoderInputIds, 'decoder input ids');
  if (dec.shape[0] !== src.shape[0]) throw new Error(`seq2seqForward: ${src.shape[0]} source rows but ${dec.shape[0]} decoder rows`);
  const mask = attentionMask ? rect(attentionMask, 'attention mask') : undefined;
  if (mask && (mask.shape[0] !== src.shape[0] || mask.shape[1] !== src.shape[1])) {
    throw new Error(`seq2seqForward: attention mask [${mask.shape.join(', ')}] must have the shape of the input ids [${src.shape.join(', ')}]`);
  }
  const wasTraining = model.training;
  model.train(false);
  try {
    const out = noGrad(() =>
      model.forward(src, { ...(mask ? { attentionMask: mask } : {}), decoderInputIds: dec, outputHiddenStates: opts.hiddenStates ?? false, outputAttentions: opts.attentions ?? false }),
    );
    const plain = (t: Tensor): PlainTensor => ({ shape: [...t.shape], data: t.toFloat32Array() });
    const r: Seq2SeqForwardResult = { logits: plain(out.logits), encoder_last_hidden_state: plain(out.encoderLastHiddenState) };
    if (out.encoderHiddenStates) r.encoder_hidden_states = out.encoderHiddenStates.map(plain);
    if (out.decoderHiddenStates) r.decoder_hidden_states = out.decoderHiddenStates.map(plain);
    if (out.encoderAttentions) r.encoder_attentions = out.encoderAttentions.map(plain);
    if (out.decoderAttentions) r.decoder_attentions = out.decoderAttentions.map(plain);
    if (out.crossAttentions) r.cross_attentions = out.crossAttentions.map(plain);
    return r;
  } finally {
    model.train(wasTraining);
  }
}
