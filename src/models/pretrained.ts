// Hugging Face model folders: config.json + model.safetensors (+ tokenizer.json, generation_config.json).
//
// Loading is a generic walk: every parameter of the model has a name (`h.0.attn.c_attn.weight`), the
// checkpoint has names (`transformer.h.0.attn.c_attn.weight`), and the model file's CHECKPOINT_RULES say how
// the two differ (a prefix, buffers to skip, a tied head). Every key and every shape is checked, and all
// problems are reported together by name, so a wrong file fails with one readable message.
// Saving writes the same names and config fields `save_pretrained` writes, so Python loads it silently.
// Node-only (files); the pure parts (config mapping, the name walk) have no fs dependency of their own.

import { getBackend } from '../backend/index.js';
import { existsSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { GPT, GPT_DEFAULTS, gptConfig, CHECKPOINT_RULES, type GPTConfig } from './gpt.js';
import type { Module } from '../nn/index.js';
import { fromStorage } from '../tensor/index.js';
import { openSafetensorsFile, saveSafetensorsFile } from '../io/node.js';
import { readDirConsistent, readJsonFile, writeDirAtomic } from '../io/atomic.js';
import type { TensorToSave, SafetensorsReader } from '../io/safetensors.js';
import { SUPPORTED_MODEL_TYPES } from './model_types.js';
import { checkpointNames, loadQuantizedStateDict, quantizedLoadPlan, quantizedStateDict, withQuantizationConfig, type QuantizeOnLoad } from '../quant/load.js';

/** Model types this version can load: GPT-2 here, the BERT family in bert_pretrained.ts, Marian and T5 in seq2seq_pretrained.ts. */
export { SUPPORTED_MODEL_TYPES };

/**
 * The model_type of a folder's config.json (to pick a loader): `readModelType('models/gpt2')` → "gpt2".
 * Errors name the file when the folder, the file or the field is missing.
 */
export function readModelType(dir: string): string {
  if (!existsSync(dir)) throw new Error(`model folder not found: ${dir}`);
  const file = join(dir, 'config.json');
  const raw = readJsonFile(file, 'model config');
  const type = isRecord(raw) ? raw['model_type'] : undefined;
  if (typeof type !== 'string') throw new Error(`${file}: "model_type" must be a string naming the model (one of ${SUPPORTED_MODEL_TYPES.join(', ')}), got ${JSON.stringify(type)}`);
  return type;
}

/** What transformers 4.36 writes into a GPT-2 config.json besides the architecture numbers. */
const HF_GPT2_CONFIG_EXTRAS = {
  architectures: ['GPT2LMHeadModel'],
  model_type: 'gpt2',
  summary_activation: null,
  summary_first_dropout: 0.1,
  summary_proj_to_labels: true,
  summary_type: 'cls_index',
  summary_use_proj: true,
  torch_dtype: 'float32',
  transformers_version: '4.36.2',
  use_cache: true,
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A GPTConfig from a Hugging Face config.json object. Fields transformers has but we do not need (summary_*,
 * task_specific_params, ...) are ignored; fields we need are checked for type. `n_ctx` (older configs) is
 * accepted for n_positions.
 */
export function gptConfigFromHF(raw: unknown, file: string): GPTConfig {
  if (!isRecord(raw)) throw new Error(`${file}: expected a JSON object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  const type = raw['model_type'];
  if (type !== 'gpt2') {
    const encoder = type === 'bert' || type === 'roberta' || type === 'distilbert';
    const encDec = type === 'marian' || type === 't5';
    throw new Error(
      encoder
        ? `${file}: model_type ${JSON.stringify(type)} is an encoder, not a GPT: load it with fromPretrainedBert or an AutoModelFor… class (attn pipeline / attn forward work on it)`
        : encDec
          ? `${file}: model_type ${JSON.stringify(type)} is an encoder-decoder, not a GPT: load it with fromPretrainedSeq2Seq or AutoModelForSeq2SeqLM (attn generate --source, attn pipeline translation and attn forward --decoder-input-ids work on it)`
          : `${file}: model_type ${JSON.stringify(type)} is not supported; attn loads: ${SUPPORTED_MODEL_TYPES.join(', ')}`,
    );
  }
  const out: Partial<GPTConfig> = {};
  const take = <K extends keyof GPTConfig>(key: K, from: string = key) => {
    const v = raw[from];
    if (v === undefined || (v === null && key !== 'n_inner')) return;
    const want = typeof GPT_DEFAULTS[key];
    if (key === 'n_inner' ? v !== null && typeof v !== 'number' : typeof v !== want) {
      throw new Error(`${file}: "${from}" must be a ${key === 'n_inner' ? 'number or null' : want}, got ${JSON.stringify(v)}`);
    }
    (out as Record<string, unknown>)[key] = v;
  };
  for (const key of Object.keys(GPT_DEFAULTS) as (keyof GPTConfig)[]) take(key);
  if (out.n_positions === undefined && typeof raw['n_ctx'] === 'number') out.n_positions = raw['n_ctx'];
  const act = out.activation_function ?? GPT_DEFAULTS.activation_function;
  if (!['gelu_new', 'gelu_pytorch_tanh', 'gelu', 'relu'].includes(act)) {
    throw new Error(`${file}: activation_function "${act}" is not supported; supported: gelu_new, gelu_pytorch_tanh, gelu, relu`);
  }
  // bos/eos may be absent (then GPT-2's 50256 would be wrong for a small vocabulary): default to the last id.
  const vocab = out.vocab_size ?? GPT_DEFAULTS.vocab_size;
  out.bos_token_id ??= vocab - 1;
  out.eos_token_id ??= vocab - 1;
  return gptConfig(out);
}

/** config.json contents for a GPT, with the fields and order `save_pretrained` writes. */
export function gptConfigToHF(cfg: GPTConfig): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...HF_GPT2_CONFIG_EXTRAS };
  for (const [k, v] of Object.entries(cfg)) {
    if (k === 'sliding_window' && v === 0) continue; // our extension; written only when used
    if (k === 'tie_word_embeddings' && v === true) continue; // the default, which HF omits
    if (k === 'pruned_heads' && Object.keys(v as object).length === 0) continue; // likewise ({} unless pruned)
    fields[k] = v;
  }
  return Object.fromEntries(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Read `DIR/config.json` as a GPTConfig. */
export function readGPTConfig(dir: string): GPTConfig {
  const file = join(dir, 'config.json');
  if (!existsSync(dir)) throw new Error(`model folder not found: ${dir}`);
  return gptConfigFromHF(readJsonFile(file, 'model config'), file);
}

/** The rules that map checkpoint keys onto a model's parameter names. */
export interface CheckpointRules {
  prefix: string;
  ignore: RegExp[];
  tiedHead?: string;
}

/**
 * Copy every tensor of `reader` into the parameters of `module`, by name, checking every key and shape.
 * Throws one error listing missing keys, unexpected keys and shape mismatches (each by name).
 * Does not handle: dtype conversion beyond what the reader does (all floats arrive as float32).
 */
export function loadStateDict(module: Module, reader: SafetensorsReader, rules: CheckpointRules, file: string): void {
  const params = new Map(module.namedParameters());
  const keyFor = new Map<string, string>(); // parameter name → checkpoint key
  const unexpected: string[] = [];
  let tiedHeadKey: string | null = null;
  for (const key of reader.names()) {
    const name = key.startsWith(rules.prefix) ? key.slice(rules.prefix.length) : key;
    if (rules.ignore.some((re) => re.test(name))) continue;
    if (rules.tiedHead !== undefined && key === rules.tiedHead) {
      tiedHeadKey = key;
      continue;
    }
    if (!params.has(name)) unexpected.push(key);
    else if (keyFor.has(name)) unexpected.push(`${key} (duplicate of ${keyFor.get(name)})`);
    else keyFor.set(name, key);
  }
  const missing = [...params.keys()].filter((n) => !keyFor.has(n)).map((n) => rules.prefix + n);
  const shapes: string[] = [];
  for (const [name, key] of keyFor) {
    const want = params.get(name)!.shape;
    const got = reader.info(key).shape;
    if (got.length !== want.length || got.some((d, i) => d !== want[i])) shapes.push(`${key}: checkpoint [${got.join(', ')}], model [${want.join(', ')}]`);
  }
  if (missing.length || unexpected.length || shapes.length) {
    const parts = [
      missing.length ? `missing keys (${missing.length}): ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}` : '',
      unexpected.length ? `unexpected keys (${unexpected.length}): ${unexpected.slice(0, 10).join(', ')}${unexpected.length > 10 ? ', ...' : ''}` : '',
      shapes.length ? `shape mismatches: ${shapes.join('; ')}` : '',
    ].filter(Boolean);
    throw new Error(`${file} does not fit this model:\n  ${parts.join('\n  ')}`);
  }
  const be = getBackend();
  for (const [name, key] of keyFor) {
    // Read each tensor straight into the backend's memory (inside WebAssembly memory, where matmul uses it
    // in place), and adopt that array: one copy of the checkpoint in memory, not two.
    const t = reader.get(key, (n) => be.allocate(n));
    if (!(t.data instanceof Float32Array)) throw new Error(`${file}: tensor ${key} has dtype ${t.dtype}; a floating-point parameter was expected`);
    module.setParameter(name, fromStorage(t.data, t.shape, { requiresGrad: params.get(name)!.requiresGrad })); // buffers stay buffers
  }
  if (tiedHeadKey !== null) {
    // A few checkpoints store the tied head as well; it must be the same matrix as wte or the model is not GPT-2.
    const head = reader.get(tiedHeadKey).data;
    const wte = new Map(module.namedParameters()).get('wte.weight')!.toFloat32Array();
    if (head.length !== wte.length || head.some((v, i) => v !== wte[i])) {
      throw new Error(`${file}: ${tiedHeadKey} differs from the token embedding; untied LM heads are not supported for GPT-2`);
    }
  }
}

export interface GenerationDefaults {
  bos_token_id?: number;
  eos_token_id?: number | number[];
  pad_token_id?: number;
  max_length?: number;
  max_new_tokens?: number;
  do_sample?: boolean;
  temperature?: number;
  top_k?: number;
  top_p?: number;
  num_beams?: number;
  repetition_penalty?: number;
  no_repeat_ngram_size?: number;
  length_penalty?: number;
  early_stopping?: boolean | 'never';
}

export interface PretrainedGPT {
  model: GPT;
  config: GPTConfig;
  /** generation_config.json, when the folder has one. */
  generationConfig: GenerationDefaults;
  /** tokenizer.json text, when the folder has one (parse it with the tokenizers module). */
  tokenizerJson: string | null;
  /** vocab.json + merges.txt texts, for folders that ship the original GPT-2 files instead of tokenizer.json. */
  vocabMerges: { vocab: string; merges: string } | null;
  dir: string;
}

/**
 * Load a GPT-2-family folder (downloaded from the Hub, or written by `attn train` / savePretrained).
 * Example: `const { model } = fromPretrained('models/distilgpt2')`.
 * Accepts both key styles (`transformer.h.0...` and the original `h.0...`), skips the attn.bias mask buffers,
 * ties the LM head. Does not handle: sharded checkpoints (model-00001-of-00002.safetensors), pytorch_model.bin.
 */
export function fromPretrained(dir: string, opts: LoadOptions = {}): PretrainedGPT {
  // Another process (attn train) may be replacing this folder right now: read one whole version of it, and
  // never rename or delete anything here (the writer tidies up after itself).
  return readDirConsistent(dir, (d) => ({ ...loadGPTFolder(d, opts), dir }));
}

/**
 * How to load. `dtype` 'int8' | 'int4' quantises the float weights while reading them (src/quant/load.ts), with
 * `groupSize` inputs per scale (default: per output channel for int8, 32 for int4) and the embedding / tied head
 * too unless `quantizeEmbeddings` is false. A quantised folder loads as it is, without options.
 */
export type LoadOptions = QuantizeOnLoad;

function loadGPTFolder(dir: string, opts: LoadOptions): PretrainedGPT {
  const config = readGPTConfig(dir);
  const weights = join(dir, 'model.safetensors');
  if (!existsSync(weights)) {
    const alt = ['pytorch_model.bin', 'model.safetensors.index.json'].find((f) => existsSync(join(dir, f)));
    throw new Error(`${weights} not found${alt ? ` (the folder has ${alt}, which attn does not read; convert it to a single model.safetensors)` : ''}`);
  }
  const model = new GPT(config, undefined, { init: false });
  const reader = openSafetensorsFile(weights);
  try {
    // A quantised folder (config.json has quantization_config), or quantising while loading: src/quant.
    const plan = quantizedLoadPlan(readJsonFile(join(dir, 'config.json'), 'model config'), join(dir, 'config.json'), opts);
    if (plan) loadQuantizedStateDict(model, reader, checkpointNames(CHECKPOINT_RULES), weights, plan.config, plan.quantize);
    else loadStateDict(model, reader, CHECKPOINT_RULES, weights);
  } finally {
    reader.close();
  }
  model.train(false);
  const genFile = join(dir, 'generation_config.json');
  const generationConfig = existsSync(genFile) ? (readJsonFile(genFile, 'generation config') as GenerationDefaults) : {};
  const tokFile = join(dir, 'tokenizer.json');
  const tokenizerJson = existsSync(tokFile) ? readFileSync(tokFile, 'utf8') : null;
  const vocabFile = join(dir, 'vocab.json');
  const mergesFile = join(dir, 'merges.txt');
  const vocabMerges = existsSync(vocabFile) && existsSync(mergesFile) ? { vocab: readFileSync(vocabFile, 'utf8'), merges: readFileSync(mergesFile, 'utf8') } : null;
  return { model, config, generationConfig, tokenizerJson, vocabMerges, dir };
}

export interface SaveOptions {
  /** tokenizer.json text to write beside the model. */
  tokenizerJson?: string | null; // null (what fromPretrained returns for a folder without one): none written
  generationConfig?: GenerationDefaults;
  /** More files for the same atomic folder write: name → contents (training state, metrics). */
  extraFiles?: Record<string, string | Uint8Array>;
  /** Tensors saved in a second safetensors file in the same folder (e.g. optimizer moments): file name → tensors. */
  extraTensors?: Record<string, Map<string, TensorToSave>>;
  /** Existing files to copy into the new folder (e.g. a metrics log that grows during training): name → path. */
  copyFiles?: Record<string, string>;
}

/**
 * The model's weights under the checkpoint's key names (tied head omitted, as save_pretrained does). A quantised
 * model's quantised weights are saved as src/quant/load.ts describes (values + `_scale`).
 */
export function gptStateDict(model: GPT): Map<string, TensorToSave> {
  return quantizedStateDict(model, CHECKPOINT_RULES.prefix);
}

/**
 * Write `dir` as a Hugging Face folder, atomically as a whole (a kill at any moment leaves the old folder or
 * the new one, never a mix): config.json, model.safetensors, generation_config.json, and tokenizer.json when given.
 * A quantised model (src/quant) is written as a quantised folder (`quantization_config` in config.json).
 * Example: `savePretrained(model, 'runs/my-gpt', { tokenizerJson })`.
 */
export function savePretrained(model: GPT, dir: string, opts: SaveOptions = {}): void {
  const cfg = model.config;
  const generation = opts.generationConfig ?? { bos_token_id: cfg.bos_token_id, eos_token_id: cfg.eos_token_id };
  writeDirAtomic(dir, (tmp) => {
    // A quantised model (src/quant) says so in config.json, as `attn quantize` writes it.
    writeFileSync(join(tmp, 'config.json'), JSON.stringify(withQuantizationConfig(gptConfigToHF(cfg), model), null, 2) + '\n');
    writeFileSync(join(tmp, 'generation_config.json'), JSON.stringify({ _from_model_config: true, ...generation, transformers_version: '4.36.2' }, null, 2) + '\n');
    saveSafetensorsFile(join(tmp, 'model.safetensors'), gptStateDict(model), { format: 'pt' });
    if (opts.tokenizerJson !== undefined && opts.tokenizerJson !== null) writeFileSync(join(tmp, 'tokenizer.json'), opts.tokenizerJson);
    for (const [name, data] of Object.entries(opts.extraFiles ?? {})) writeFileSync(join(tmp, name), data);
    for (const [name, tensors] of Object.entries(opts.extraTensors ?? {})) saveSafetensorsFile(join(tmp, name), tensors, { format: 'attn' });
    for (const [name, from] of Object.entries(opts.copyFiles ?? {})) if (existsSync(from)) copyFileSync(from, join(tmp, name));
  });
}
