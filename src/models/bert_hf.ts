// The platform-free half of BERT / RoBERTa / DistilBERT Hugging Face folders: config.json ↔ BertConfig, checkpoint
// keys ↔ attn's names, the state-dict walk, and the model built from a folder's parts once they are read. Node
// reads the parts from disk (bert_pretrained.ts: fromPretrainedBert, saveBertPretrained), a page from a URL or
// picked files (src/browser/load_models.ts); both call the functions here, so a folder loads alike and errors
// read the same.
//
// Loading walks the checkpoint's keys through the family's renames (FAMILIES in bert.ts) onto attn's names,
// which are BERT's. The encoder must match exactly: a missing, extra or misshapen embedding or layer tensor is an
// error naming it. Heads are looser, as in transformers, because fine-tuning starts from a checkpoint with a
// different head: asking for another head than the folder's (`head` option) builds the new head's weights fresh
// (reported in `report.newlyInitialized`) and sets aside what the old head had (`report.unused`). Loading the
// folder's own head requires every head weight too: a classifier with no weights would predict nonsense.

import { fromStorage, Rng } from '../tensor/index.js';
import { getBackend } from '../backend/index.js';
import type { TensorToSave, SafetensorsReader } from '../io/safetensors.js';
import type { Tokenizer } from '../tokenizers/index.js';
import { SUPPORTED_MODEL_TYPES } from './model_types.js';
import { addStateEntry, loadQuantizedStateDict, quantizedLoadPlan, type CheckpointNames, type QuantizeOnLoad } from '../quant/load.js';
import {
  BERT_DEFAULTS,
  FAMILIES,
  TIED_COPIES,
  bertConfig,
  createBertModel,
  type BertAnyModel,
  type BertConfig,
  type BertFamily,
  type BertHead,
  type BertProblemType,
  type FamilyRules,
} from './bert.js';

export const BERT_FAMILIES: readonly BertFamily[] = ['bert', 'roberta', 'distilbert'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// -----------------------------------------------------------------------------------------------------------
// config.json

/** DistilBERT's config names for BERT's fields (DistilBertConfig → BertConfig). */
const DISTILBERT_CONFIG_NAMES: Record<string, keyof BertConfig> = {
  dim: 'hidden_size',
  hidden_dim: 'intermediate_size',
  n_layers: 'num_hidden_layers',
  n_heads: 'num_attention_heads',
  activation: 'hidden_act',
  dropout: 'hidden_dropout_prob',
  attention_dropout: 'attention_probs_dropout_prob',
  seq_classif_dropout: 'classifier_dropout',
  qa_dropout: 'qa_dropout',
  vocab_size: 'vocab_size',
  max_position_embeddings: 'max_position_embeddings',
  initializer_range: 'initializer_range',
  pad_token_id: 'pad_token_id',
};

/** The fields a BERT / RoBERTa config.json carries for BertConfig (same names). */
const BERT_CONFIG_FIELDS: Array<keyof BertConfig> = [
  'vocab_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'hidden_act',
  'hidden_dropout_prob',
  'attention_probs_dropout_prob',
  'max_position_embeddings',
  'type_vocab_size',
  'initializer_range',
  'layer_norm_eps',
  'pad_token_id',
  'bos_token_id',
  'eos_token_id',
  'position_embedding_type',
  'classifier_dropout',
];

/** Which head each architecture name means (the class prefix, Bert/Roberta/DistilBert, is checked separately). */
const ARCHITECTURE_HEADS: Record<string, BertHead> = {
  Model: 'base',
  ForMaskedLM: 'masked-lm',
  ForPreTraining: 'masked-lm', // BERT's original checkpoints: MLM + next-sentence head (the latter unused here)
  ForSequenceClassification: 'sequence-classification',
  ForTokenClassification: 'token-classification',
  ForQuestionAnswering: 'question-answering',
};

const HEAD_SUFFIX: Record<BertHead, string> = {
  base: 'Model',
  'masked-lm': 'ForMaskedLM',
  'sequence-classification': 'ForSequenceClassification',
  'token-classification': 'ForTokenClassification',
  'question-answering': 'ForQuestionAnswering',
};

/** The architecture class name transformers uses: `architectureName('roberta', 'masked-lm')` → "RobertaForMaskedLM". */
export function architectureName(family: BertFamily, head: BertHead): string {
  return FAMILIES[family].classPrefix + HEAD_SUFFIX[head];
}

/**
 * BertConfig and head from a config.json object. Checks the type of every field it reads; an unknown
 * model_type or architecture is an error naming the file and the value.
 */
export function bertConfigFromHF(raw: unknown, file: string): { config: BertConfig; head: BertHead } {
  if (!isRecord(raw)) throw new Error(`${file}: expected a JSON object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  const family = raw['model_type'];
  if (typeof family !== 'string' || !(BERT_FAMILIES as readonly string[]).includes(family)) {
    throw new Error(`${file}: model_type ${JSON.stringify(family)} is not supported; attn loads: ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  }
  const fam = family as BertFamily;
  const out: Partial<BertConfig> = { model_type: fam };
  const set = (key: keyof BertConfig, from: string): void => {
    const v = raw[from];
    if (v === undefined) return;
    const want = BERT_DEFAULTS[key];
    const nullable = key === 'classifier_dropout' || key === 'bos_token_id' || key === 'eos_token_id';
    const ok = (v === null && nullable) || (typeof want === 'number' || want === null ? typeof v === 'number' : typeof v === typeof want);
    if (!ok) throw new Error(`${file}: "${from}" must be a ${nullable ? 'number or null' : typeof want}, got ${JSON.stringify(v)}`);
    (out as Record<string, unknown>)[key] = v;
  };
  if (fam === 'distilbert') {
    for (const [from, key] of Object.entries(DISTILBERT_CONFIG_NAMES)) set(key, from);
    if (raw['sinusoidal_pos_embds'] === true) {
      throw new Error(`${file}: "sinusoidal_pos_embds": true (a fixed sinusoidal position table) is not supported; attn's DistilBERT learns its positions`);
    }
  } else {
    for (const key of BERT_CONFIG_FIELDS) set(key, key);
  }
  // Hugging Face's pruned_heads ({"layer": [heads]}, any family): the layers are built without those heads.
  if (raw['pruned_heads'] !== undefined && raw['pruned_heads'] !== null) out.pruned_heads = raw['pruned_heads'] as Record<string, number[]>; // checked by bertConfig
  const labels = readLabels(raw, file);
  if (labels) out.id2label = labels;
  const problem = raw['problem_type'];
  if (problem !== undefined && problem !== null) {
    const known: BertProblemType[] = ['single_label_classification', 'multi_label_classification', 'regression'];
    if (!known.includes(problem as BertProblemType)) throw new Error(`${file}: problem_type ${JSON.stringify(problem)} is not one of ${known.join(', ')}`);
    out.problem_type = problem as BertProblemType;
  }
  let config: BertConfig;
  try {
    config = bertConfig(out);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  return { config, head: headFromArchitectures(raw['architectures'], fam, file) };
}

/** id2label (+ label2id, which must agree), or num_labels alone (names LABEL_0 …); undefined when neither. */
function readLabels(raw: Record<string, unknown>, file: string): string[] | undefined {
  const id2label = raw['id2label'];
  const numLabels = raw['num_labels'];
  if (id2label === undefined || id2label === null) {
    if (numLabels === undefined) return undefined;
    if (typeof numLabels !== 'number' || !Number.isInteger(numLabels) || numLabels < 1) throw new Error(`${file}: "num_labels" must be a positive integer, got ${JSON.stringify(numLabels)}`);
    return Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);
  }
  if (!isRecord(id2label)) throw new Error(`${file}: "id2label" must be an object {"0": "label", ...}, got ${JSON.stringify(id2label)}`);
  const n = Object.keys(id2label).length;
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = id2label[String(i)];
    if (typeof name !== 'string') throw new Error(`${file}: "id2label" must have string labels for the ids 0..${n - 1}; id ${i} is ${JSON.stringify(name)}`);
    names.push(name);
  }
  if (typeof numLabels === 'number' && numLabels !== n) throw new Error(`${file}: "num_labels" is ${numLabels} but "id2label" has ${n} labels`);
  const label2id = raw['label2id'];
  if (isRecord(label2id)) {
    for (const [name, id] of Object.entries(label2id)) {
      if (names[id as number] !== name) throw new Error(`${file}: "label2id" maps ${JSON.stringify(name)} to ${JSON.stringify(id)}, but "id2label" has ${JSON.stringify(names[id as number])} there`);
    }
  }
  return names;
}

function headFromArchitectures(arch: unknown, family: BertFamily, file: string): BertHead {
  if (arch === undefined || arch === null) return 'base'; // an encoder saved without a head (BertModel)
  if (!Array.isArray(arch) || arch.length !== 1 || typeof arch[0] !== 'string') {
    throw new Error(`${file}: "architectures" must be a list with one class name, got ${JSON.stringify(arch)}`);
  }
  const name = arch[0];
  const prefix = FAMILIES[family].classPrefix;
  const head = name.startsWith(prefix) ? ARCHITECTURE_HEADS[name.slice(prefix.length)] : undefined;
  if (!head) {
    const supported = Object.keys(ARCHITECTURE_HEADS).map((s) => prefix + s);
    throw new Error(`${file}: architecture ${JSON.stringify(name)} is not supported for model_type "${family}"; supported: ${supported.join(', ')}`);
  }
  return head;
}

/** config.json contents for a model, with the fields and the (sorted) order save_pretrained writes. */
export function bertConfigToHF(cfg: BertConfig, head: BertHead): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    architectures: [architectureName(cfg.model_type, head)],
    model_type: cfg.model_type,
    torch_dtype: 'float32',
    transformers_version: '4.36.2',
  };
  if (cfg.model_type === 'distilbert') {
    for (const [name, key] of Object.entries(DISTILBERT_CONFIG_NAMES)) fields[name] = cfg[key];
    fields['sinusoidal_pos_embds'] = false;
  } else {
    for (const key of BERT_CONFIG_FIELDS) {
      if ((key === 'bos_token_id' || key === 'eos_token_id') && cfg[key] === null) continue; // BERT has none
      fields[key] = cfg[key];
    }
    fields['use_cache'] = true;
  }
  // transformers writes the labels only when they differ from its default (two labels LABEL_0, LABEL_1).
  const isDefault = cfg.id2label.length === 2 && cfg.id2label[0] === 'LABEL_0' && cfg.id2label[1] === 'LABEL_1';
  if (!isDefault) {
    fields['id2label'] = Object.fromEntries(cfg.id2label.map((l, i) => [String(i), l]));
    fields['label2id'] = Object.fromEntries(cfg.id2label.map((l, i) => [l, i] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  if (cfg.problem_type !== null) fields['problem_type'] = cfg.problem_type;
  if (Object.keys(cfg.pruned_heads).length > 0) fields['pruned_heads'] = cfg.pruned_heads; // save_pretrained leaves the default {} out
  return Object.fromEntries(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// -----------------------------------------------------------------------------------------------------------
// Names: checkpoint keys ↔ attn's parameter names.

/** Rewrite the start of `name` from pattern `from` to pattern `to` ('*' = a layer number); null if it does not match. */
function renamePrefix(name: string, from: string, to: string): string | null {
  const re = new RegExp('^' + from.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace('*', '(\\d+)'));
  const m = re.exec(name);
  if (!m) return null;
  return to.replace('*', m[1] ?? '') + name.slice(m[0].length);
}

/** A checkpoint key (with the family's prefix) → attn's name. */
export function attnNameOf(key: string, fam: FamilyRules, head: BertHead): string {
  for (const r of fam.renames) {
    if (r.heads && !r.heads.includes(head)) continue;
    const out = renamePrefix(key, r.checkpoint, r.attn);
    if (out !== null) return out;
  }
  return key;
}

/** attn's name → the checkpoint key transformers writes (without the prefix for a bare encoder, as it does). */
export function checkpointNameOf(name: string, fam: FamilyRules, head: BertHead): string {
  let key = name;
  for (const r of fam.renames) {
    if (r.heads && !r.heads.includes(head)) continue;
    const out = renamePrefix(name, r.attn, r.checkpoint);
    if (out !== null) {
      key = out;
      break;
    }
  }
  return head === 'base' && key.startsWith(fam.prefix) ? key.slice(fam.prefix.length) : key;
}

/**
 * A checkpoint key → attn's name, or null for keys to skip (buffers such as position_ids). `prefixed`: whether
 * the file's keys carry the family's prefix (a bare encoder saved by transformers has none; it is added here).
 */
function attnNameOfKey(key: string, fam: FamilyRules, head: BertHead, prefixed: boolean): string | null {
  let name = prefixed ? key : fam.prefix + key;
  name = name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias'); // TF-era LayerNorm names (transformers renames them too)
  if (fam.ignore.some((re) => re.test(name))) return null;
  return attnNameOf(name, fam, head);
}

/**
 * The key mapping of a quantised folder (or one quantised while loading, src/quant/load.ts), for the model's own
 * head only: the same names as loadBertStateDict, keys of other heads and unread poolers set aside in `unused`.
 */
function bertCheckpointNames(model: BertAnyModel, keys: readonly string[]): { names: CheckpointNames; unused: string[] } {
  const fam = FAMILIES[model.config.model_type];
  const params = new Set(model.namedParameters().map(([n]) => n));
  const prefixed = keys.some((k) => k.startsWith(fam.prefix));
  const unused: string[] = [];
  const names: CheckpointNames = {
    nameOf(key) {
      const name = attnNameOfKey(key, fam, model.head, prefixed);
      if (name === null || params.has(name) || inEncoder(name)) return name; // an encoder key with no place: unexpected
      unused.push(key);
      return null;
    },
    tiedCopyOf(key) {
      const name = attnNameOfKey(key, fam, model.head, prefixed);
      const original = name === null ? undefined : TIED_COPIES[name];
      return original !== undefined && params.has(original) ? original : null;
    },
  };
  return { names, unused };
}

/** The encoder proper (embeddings and layers): must match a checkpoint exactly. */
function inEncoder(name: string): boolean {
  return name.startsWith('bert.embeddings.') || name.startsWith('bert.encoder.');
}

/** What loading did besides copying: head weights made fresh, checkpoint tensors left unused. */
export interface BertLoadReport {
  /** attn names of parameters not in the checkpoint (or of another shape), kept at their fresh initialisation. */
  newlyInitialized: string[];
  /** Checkpoint keys this model has no place for (another head's weights, a pooler no head reads). */
  unused: string[];
}

/**
 * Copy the checkpoint's tensors into `model` by name (see the top of this file for the rules).
 * `strictHeads`: every head parameter must be in the checkpoint with its shape (loading a folder's own head).
 * Throws one error listing every problem by name. Example: `loadBertStateDict(model, reader, 'model.safetensors', { strictHeads: true })`.
 */
export function loadBertStateDict(model: BertAnyModel, reader: SafetensorsReader, file: string, opts: { strictHeads: boolean }): BertLoadReport {
  const fam = FAMILIES[model.config.model_type];
  const head = model.head;
  const params = new Map(model.namedParameters());
  const keys = reader.names();
  // A bare encoder saved by transformers (BertModel) has no "bert." prefix; give its keys one so names line up.
  const prefixed = keys.some((k) => k.startsWith(fam.prefix));
  const keyFor = new Map<string, string>(); // attn name → checkpoint key
  const tied: Array<[string, string]> = []; // [checkpoint key, attn name of the original]
  const unexpected: string[] = [];
  const unused: string[] = [];
  for (const key of keys) {
    const name = attnNameOfKey(key, fam, head, prefixed);
    if (name === null) continue;
    const original = TIED_COPIES[name];
    if (original !== undefined) {
      if (params.has(original)) tied.push([key, original]);
      else unused.push(key);
    } else if (params.has(name)) {
      if (keyFor.has(name)) unexpected.push(`${key} (a second tensor for ${name}, first ${keyFor.get(name)})`);
      else keyFor.set(name, key);
    } else if (inEncoder(name)) unexpected.push(key);
    else unused.push(key);
  }
  const missing: string[] = [];
  const shapes: string[] = [];
  const newlyInitialized: string[] = [];
  for (const [name, p] of params) {
    const key = keyFor.get(name);
    const strict = opts.strictHeads || inEncoder(name);
    if (key === undefined) {
      if (strict) missing.push(checkpointNameOf(name, fam, head));
      else newlyInitialized.push(name);
      continue;
    }
    const got = reader.info(key).shape;
    if (got.length !== p.shape.length || got.some((d, i) => d !== p.shape[i])) {
      if (strict) shapes.push(`${key}: checkpoint [${got.join(', ')}], model [${p.shape.join(', ')}]`);
      else {
        newlyInitialized.push(name);
        unused.push(key);
        keyFor.delete(name);
      }
    }
  }
  if (missing.length || unexpected.length || shapes.length) {
    const list = (xs: string[]) => `${xs.slice(0, 10).join(', ')}${xs.length > 10 ? ', ...' : ''}`;
    const parts = [
      missing.length ? `missing keys (${missing.length}): ${list(missing)}` : '',
      unexpected.length ? `unexpected keys (${unexpected.length}): ${list(unexpected)}` : '',
      shapes.length ? `shape mismatches: ${shapes.join('; ')}` : '',
    ].filter(Boolean);
    throw new Error(`${file} does not fit this ${architectureName(model.config.model_type, head)} (config.json):\n  ${parts.join('\n  ')}`);
  }
  const be = getBackend();
  for (const [name, key] of keyFor) {
    // Read straight into backend memory (WebAssembly memory on the WASM backend): one copy of the weights.
    const t = reader.get(key, (n) => be.allocate(n));
    if (!(t.data instanceof Float32Array)) throw new Error(`${file}: tensor ${key} has dtype ${t.dtype}; a floating-point parameter was expected`);
    model.setParameter(name, fromStorage(t.data, t.shape, { requiresGrad: params.get(name)!.requiresGrad })); // adopt the array just read
  }
  const now = new Map(model.namedParameters());
  for (const [key, original] of tied) {
    // A stored copy of a tied tensor must be the tensor itself, or the checkpoint is not the model we build.
    const copy = reader.get(key).data;
    const orig = now.get(original)!.toFloat32Array();
    if (copy.length !== orig.length || copy.some((v, i) => v !== orig[i])) {
      throw new Error(`${file}: ${key} differs from ${checkpointNameOf(original, fam, head)}; attn ties the masked-LM decoder to the word embeddings (an untied decoder is not supported)`);
    }
  }
  return { newlyInitialized, unused };
}

/**
 * The model's weights under the checkpoint's key names (tied copies left out, as save_pretrained does); a
 * quantised weight as its values + `_scale` (src/quant/load.ts).
 */
export function bertStateDict(model: BertAnyModel): Map<string, TensorToSave> {
  const fam = FAMILIES[model.config.model_type];
  const out = new Map<string, TensorToSave>();
  for (const [name, p] of model.namedParameters()) addStateEntry(out, checkpointNameOf(name, fam, model.head), p); // quantised weights too
  return out;
}


/**
 * Check a tokenizer can only produce ids the model has rows for: a tokenizer with more tokens than the model's
 * vocab_size would index past the embedding table (usually a tokenizer from another model).
 */
export function checkTokenizerFits(tokenizer: Tokenizer, config: Pick<BertConfig, 'vocab_size' | 'model_type'>, where: string): void {
  if (tokenizer.vocabSize > config.vocab_size) {
    throw new Error(`${where}: the tokenizer has ${tokenizer.vocabSize} tokens but the ${config.model_type} model's vocab_size is ${config.vocab_size}; they do not belong together`);
  }
}

// -----------------------------------------------------------------------------------------------------------
// Folders

export interface PretrainedBert {
  model: BertAnyModel;
  config: BertConfig;
  head: BertHead;
  /** The folder's tokenizer (tokenizer.json, vocab.txt, or vocab.json + merges.txt), or null. */
  tokenizer: Tokenizer | null;
  report: BertLoadReport;
  dir: string;
}

/** `dtype` 'int8' | 'int4' (QuantizeOnLoad): quantise a float folder's Linear and Embedding weights while loading. */
export interface FromPretrainedBertOptions extends QuantizeOnLoad {
  /** Build this head instead of the folder's own (its new weights are initialised, see the report). */
  head?: BertHead;
  /** Labels of a new classification head (replaces the folder's id2label). */
  id2label?: string[];
  problemType?: BertProblemType | null;
  /** Seed of the new head's initialisation. Default 1337. */
  seed?: number;
  /**
   * Set hidden_dropout_prob and attention_probs_dropout_prob (DistilBERT: dropout, attention_dropout), e.g. 0.1 to
   * fine-tune a model that was pretrained without dropout. The saved config records the new value.
   */
  dropout?: number;
}

/**
 * Load a BERT / RoBERTa / DistilBERT folder. `fromPretrainedBert('models/bert-base-uncased').model.forward(ids)`.
 * Accepts both key styles (LayerNorm gamma/beta, position_ids buffers) and bare-encoder checkpoints. A quantised
 * folder (`attn quantize`) loads as it is; `{ dtype: 'int8' }` quantises a float one while loading (own head only).
 * Does not handle: sharded checkpoints, pytorch_model.bin, TensorFlow/Flax weights.

// -----------------------------------------------------------------------------------------------------------
// A folder's parts → the model

/** config.json with the caller's options applied: the config to build, the head to build, the folder's own head. */
export interface BertFolderConfig {
  config: BertConfig;
  head: BertHead;
  folderHead: BertHead;
}

/**
 * The config and head to build from config.json (already parsed) and the options (`head`, `id2label`,
 * `problemType`). Example: `bertFolderConfig(JSON.parse(text), 'models/bert/config.json', {}).head` → 'masked-lm'.
 */
export function bertFolderConfig(raw: unknown, cfgFile: string, opts: FromPretrainedBertOptions): BertFolderConfig {
  const parsed = bertConfigFromHF(raw, cfgFile);
  let config = parsed.config;
  if (opts.id2label) config = bertConfig({ ...config, id2label: opts.id2label });
  if (opts.problemType !== undefined) config = { ...config, problem_type: opts.problemType };
  if (opts.dropout !== undefined) {
    if (!(opts.dropout >= 0 && opts.dropout < 1)) throw new Error(`dropout must be in [0, 1), got ${opts.dropout}`);
    config = { ...config, hidden_dropout_prob: opts.dropout, attention_probs_dropout_prob: opts.dropout };
  }
  return { config, head: opts.head ?? parsed.head, folderHead: parsed.head };
}

/**
 * Build the model of `prepared` and fill it from the folder's weights: the folder's own head strictly, a new head
 * initialised (seed `opts.seed`); a quantised folder, or `opts.dtype`, through src/quant (own head only).
 * `raw` is config.json as parsed (its quantization_config), `dir` names the folder in messages. The caller
 * closes the reader. Example: `bertFromReader(raw, cfgFile, dir, bertFolderConfig(raw, cfgFile, {}), reader, file, {})`.
 */
export function bertFromReader(
  raw: unknown,
  cfgFile: string,
  dir: string,
  prepared: BertFolderConfig,
  reader: SafetensorsReader,
  weightsFile: string,
  opts: FromPretrainedBertOptions,
): { model: BertAnyModel; report: BertLoadReport } {
  const { config, head, folderHead } = prepared;
  const newHead = head !== folderHead || opts.id2label !== undefined;
  // A quantised folder, or `dtype: 'int8' | 'int4'` to quantise while loading (src/quant): inference with the
  // folder's own head (a new head would need training, and quantised weights do not train).
  const plan = quantizedLoadPlan(raw, cfgFile, opts);
  if (plan && newHead) {
    throw new Error(`${dir}: a ${plan.config ? `quantised (int${plan.config.bits}) folder` : 'model quantised while loading'} keeps the folder's own head (${folderHead}); a new head (${head}${opts.id2label ? `, ${opts.id2label.length} labels` : ''}) needs training, which needs the float model`);
  }
  const model = createBertModel(config, head, { init: newHead, rng: new Rng(opts.seed ?? 1337) });
  let report: BertLoadReport;
  if (plan) {
    const { names, unused } = bertCheckpointNames(model, reader.names());
    loadQuantizedStateDict(model, reader, names, weightsFile, plan.config, plan.quantize);
    report = { newlyInitialized: [], unused };
  } else report = loadBertStateDict(model, reader, weightsFile, { strictHeads: !newHead });
  model.train(false);
  return { model, report };
}

/**
 * tokenizer_config.json: the tokenizer class and its special tokens, so transformers' AutoTokenizer builds the
 * right class around tokenizer.json (and knows the model's longest input). Lowercasing is not written: the
 * tokenizer.json normalizer already says it, and a do_lower_case here would override it.
 */
export function bertTokenizerConfig(tok: Tokenizer, cfg: BertConfig): Record<string, unknown> {
  const roberta = cfg.model_type === 'roberta';
  const out: Record<string, unknown> = {
    tokenizer_class: cfg.model_type === 'roberta' ? 'RobertaTokenizer' : cfg.model_type === 'distilbert' ? 'DistilBertTokenizer' : 'BertTokenizer',
    model_max_length: roberta ? cfg.max_position_embeddings - cfg.pad_token_id - 1 : cfg.max_position_embeddings,
  };
  const specials: Array<[string, string]> = roberta
    ? [['bos_token', '<s>'], ['eos_token', '</s>'], ['cls_token', '<s>'], ['sep_token', '</s>'], ['pad_token', '<pad>'], ['unk_token', '<unk>'], ['mask_token', '<mask>']]
    : [['cls_token', '[CLS]'], ['sep_token', '[SEP]'], ['pad_token', '[PAD]'], ['unk_token', '[UNK]'], ['mask_token', '[MASK]']];
  for (const [key, token] of specials) if (tok.tokenToId(token) !== undefined) out[key] = token;
  return out;
}
