// The BERT family and the encoder-decoders in a browser: the async counterparts of Node's fromPretrainedBert,
// fromPretrainedSeq2Seq, AutoModelFor…, AutoModelForSeq2SeqLM and pipeline(), for folders under a URL or files
// the user picked (folder.ts), shaped as transformers.js users expect:
//
//   const fill = await pipeline('fill-mask', '/models/bert-tiny/');            fill('Paris is the [MASK] of France.')
//   const mt = await pipeline('translation', 'https://huggingface.co/Helsinki-NLP/opus-mt-en-de/resolve/main/');
//   const em = await AutoModelForSequenceClassification.fromPretrained(input.files);     // a picked folder
//
// Only the reading is here. What a folder means (config.json's fields, checkpoint keys, heads, tied weights,
// generation defaults) is models/bert_hf.ts and models/seq2seq_hf.ts, and what a task computes is
// src/pipelines, exactly the code Node runs: a folder loads to the same model, and errors read the same, with
// the folder's URL where Node names a path. model.safetensors is read as it arrives (load.ts).
//
// Does not handle: sharded checkpoints, pytorch_model.bin, Marian's source.spm + vocab.json without a
// tokenizer.json, saving these models (savePretrainedFiles writes GPT folders).

import { bertFolderConfig, bertFromReader, checkTokenizerFits, type FromPretrainedBertOptions, type PretrainedBert } from '../models/bert_hf.js';
import { BERT_FAMILIES } from '../models/bert_hf.js';
import type { BertHead } from '../models/bert.js';
import { seq2seqFolderConfig, seq2seqFromReader, seq2seqGenerationConfig, SEQ2SEQ_MODEL_TYPES, type PretrainedSeq2Seq } from '../models/seq2seq_hf.js';
import { SUPPORTED_MODEL_TYPES } from '../models/model_types.js';
import { EncoderModel, type AutoLoadOptions } from '../pipelines/encoder.js';
import { fromEncoder, type PipelineTask } from '../pipelines/index.js';
import type { FillMaskPipeline } from '../pipelines/fill_mask.js';
import type { TextClassificationPipeline } from '../pipelines/text_classification.js';
import type { TokenClassificationPipeline } from '../pipelines/token_classification.js';
import type { QuestionAnsweringPipeline } from '../pipelines/question_answering.js';
import type { FeatureExtractionPipeline } from '../pipelines/feature_extraction.js';
import { Seq2SeqLM, summarizationFromModel, text2textFromModel, translationFromModel, type Text2TextPipeline } from '../pipelines/text2text_model.js';
import { readFolderJson, readSafetensorsStream, textGenerationPipeline, type LoadOptions, type TextGenerationPipeline } from './load.js';
import { folderTokenizer } from './load_tokenizer.js';
import { openFolder, type Folder, type FolderSource } from './folder.js';

/** A folder's config.json, parsed; a folder without one is an error that says what a model folder holds. */
async function folderConfig(folder: Folder): Promise<unknown> {
  const raw = await readFolderJson(folder, 'config.json', 'model config');
  if (raw === null) throw new Error(`${folder.where}: no config.json; a Hugging Face model folder has config.json and model.safetensors`);
  return raw;
}

async function folderWeights(folder: Folder, opts: LoadOptions) {
  const stream = await folder.stream('model.safetensors', opts.onProgress);
  if (stream === null) {
    throw new Error(`${folder.where}: no model.safetensors (attn reads a single model.safetensors; pytorch_model.bin and sharded checkpoints are not supported)`);
  }
  return readSafetensorsStream(stream);
}

/** config.json's model_type, for the dispatchers ('' when it has none: the loaders then say what is wrong). */
function modelTypeOf(raw: unknown): string {
  const t = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)['model_type'] : undefined;
  return typeof t === 'string' ? t : '';
}

// -----------------------------------------------------------------------------------------------------------
// BERT, RoBERTa, DistilBERT

async function loadBert(folder: Folder, raw: unknown, opts: LoadOptions & FromPretrainedBertOptions): Promise<PretrainedBert> {
  const cfgFile = `${folder.where}config.json`;
  const prepared = bertFolderConfig(raw, cfgFile, opts);
  const reader = await folderWeights(folder, opts);
  const { model, report } = bertFromReader(raw, cfgFile, folder.where, prepared, reader, `${folder.where}model.safetensors`, opts);
  const tokenizer = await folderTokenizer(folder);
  if (tokenizer) checkTokenizerFits(tokenizer, prepared.config, folder.where);
  return { model, report, config: prepared.config, head: prepared.head, tokenizer, dir: folder.where };
}

/**
 * Load a BERT / RoBERTa / DistilBERT folder from a URL or picked files, with the options of Node's
 * fromPretrainedBert (another `head`, `id2label`, `dtype`) and of fromPretrained (`onProgress`, `cache`).
 * Example: `const { model, tokenizer } = await fromPretrainedBert('/models/bert-tiny/')`.
 */
export async function fromPretrainedBert(source: FolderSource, opts: LoadOptions & FromPretrainedBertOptions = {}): Promise<PretrainedBert> {
  const folder = openFolder(source, opts);
  return loadBert(folder, await folderConfig(folder), opts);
}

/** Node's AutoLoadOptions → fromPretrainedBert's options, for one head. */
function bertOptions(head: BertHead, opts: AutoLoadOptions & LoadOptions): LoadOptions & FromPretrainedBertOptions {
  const { numLabels, id2label: given, ...rest } = opts;
  const id2label = given ?? (numLabels !== undefined ? Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`) : undefined);
  return { ...rest, head, ...(id2label ? { id2label } : {}) };
}

function autoFor(head: BertHead) {
  return {
    /** Load a folder with this head (a new, initialised head if the folder has another; see `report`). */
    async fromPretrained(source: FolderSource, opts: AutoLoadOptions & LoadOptions = {}): Promise<EncoderModel> {
      return new EncoderModel(await fromPretrainedBert(source, bertOptions(head, opts)));
    },
  };
}

/** The encoder alone (hidden states). Example: `await AutoModel.fromPretrained(url)`. */
export const AutoModel = autoFor('base');
export const AutoModelForMaskedLM = autoFor('masked-lm');
export const AutoModelForSequenceClassification = autoFor('sequence-classification');
export const AutoModelForTokenClassification = autoFor('token-classification');
export const AutoModelForQuestionAnswering = autoFor('question-answering');

// -----------------------------------------------------------------------------------------------------------
// Marian and T5

async function loadSeq2Seq(folder: Folder, raw: unknown, opts: LoadOptions): Promise<PretrainedSeq2Seq> {
  const cfgFile = `${folder.where}config.json`;
  const parsed = seq2seqFolderConfig(raw, cfgFile);
  const reader = await folderWeights(folder, opts);
  const model = seq2seqFromReader(raw, cfgFile, parsed, reader, `${folder.where}model.safetensors`, opts);
  const generation = await readFolderJson(folder, 'generation_config.json', 'generation config');
  const generationConfig = seq2seqGenerationConfig(raw as Record<string, unknown>, generation, model, `${folder.where}generation_config.json`);
  const tokenizerJson = await folder.text('tokenizer.json');
  return { model, modelType: parsed.modelType, generationConfig, tokenizerJson, dir: folder.where };
}

/**
 * Load a Marian or T5 folder from a URL or picked files. Example: `const { model } = await fromPretrainedSeq2Seq(url)`.
 * A quantised folder loads as it is; `{ dtype: 'int8' | 'int4' }` quantises a float one while loading.
 */
export async function fromPretrainedSeq2Seq(source: FolderSource, opts: LoadOptions = {}): Promise<PretrainedSeq2Seq> {
  const folder = openFolder(source, opts);
  return loadSeq2Seq(folder, await folderConfig(folder), opts);
}

async function seq2seqLM(folder: Folder, raw: unknown, opts: LoadOptions): Promise<Seq2SeqLM> {
  const loaded = await loadSeq2Seq(folder, raw, opts);
  const tokenizer = await folderTokenizer(folder); // tokenizer.json (already fetched: the Cache API has it), or older files
  const tsp = (raw as { task_specific_params?: unknown }).task_specific_params;
  const taskParams = typeof tsp === 'object' && tsp !== null && !Array.isArray(tsp) ? (tsp as Record<string, Record<string, unknown>>) : {};
  return new Seq2SeqLM(loaded, tokenizer, taskParams);
}

export const AutoModelForSeq2SeqLM = {
  /** Example: `const lm = await AutoModelForSeq2SeqLM.fromPretrained(url); lm.generateTexts(['Hello.'])`. */
  async fromPretrained(source: FolderSource, opts: LoadOptions = {}): Promise<Seq2SeqLM> {
    const folder = openFolder(source, opts);
    return seq2seqLM(folder, await folderConfig(folder), opts);
  },
};

// -----------------------------------------------------------------------------------------------------------
// pipeline()

type EncoderTask = Exclude<PipelineTask, 'text-generation'>;
const ENCODER_HEADS: Record<EncoderTask, BertHead> = {
  'fill-mask': 'masked-lm',
  'text-classification': 'sequence-classification',
  'sentiment-analysis': 'sequence-classification',
  'token-classification': 'token-classification',
  ner: 'token-classification',
  'question-answering': 'question-answering',
  'feature-extraction': 'base',
};
const TEXT2TEXT = ['translation', 'summarization', 'text2text-generation'];

export type BrowserPipelineTask = PipelineTask | 'translation' | `translation_${string}_to_${string}` | 'summarization' | 'text2text-generation';
export type BrowserPipelineOptions = LoadOptions & { prefix?: string };

export function pipeline(task: 'text-generation', source: FolderSource, opts?: LoadOptions): Promise<TextGenerationPipeline>;
export function pipeline(task: 'fill-mask', source: FolderSource, opts?: LoadOptions): Promise<FillMaskPipeline>;
export function pipeline(task: 'text-classification' | 'sentiment-analysis', source: FolderSource, opts?: LoadOptions): Promise<TextClassificationPipeline>;
export function pipeline(task: 'token-classification' | 'ner', source: FolderSource, opts?: LoadOptions): Promise<TokenClassificationPipeline>;
export function pipeline(task: 'question-answering', source: FolderSource, opts?: LoadOptions): Promise<QuestionAnsweringPipeline>;
export function pipeline(task: 'feature-extraction', source: FolderSource, opts?: LoadOptions): Promise<FeatureExtractionPipeline>;
export function pipeline(task: 'translation' | `translation_${string}_to_${string}`, source: FolderSource, opts?: BrowserPipelineOptions): Promise<Text2TextPipeline<'translation_text'>>;
export function pipeline(task: 'summarization', source: FolderSource, opts?: BrowserPipelineOptions): Promise<Text2TextPipeline<'summary_text'>>;
export function pipeline(task: 'text2text-generation', source: FolderSource, opts?: BrowserPipelineOptions): Promise<Text2TextPipeline<'generated_text'>>;
/**
 * transformers.js style: `const fill = await pipeline('fill-mask', url); fill('Paris is the [MASK] of France.')`.
 * The tasks and result objects of Node's pipeline() and translation / summarization / text2text pipelines; the
 * folder's model_type must fit the task (a BERT-family folder for the encoder tasks, Marian or T5 for text2text,
 * GPT-2 for text-generation). A folder whose head differs from the task's gets a new, untrained head, as on Node.
 */
export async function pipeline(task: BrowserPipelineTask, source: FolderSource, opts: BrowserPipelineOptions = {}): Promise<unknown> {
  if (task === 'text-generation') return textGenerationPipeline(source, opts);
  const name: string = task;
  const isText2Text = TEXT2TEXT.includes(name) || /^translation_[a-z]+_to_[a-z]+$/.test(name);
  const head = ENCODER_HEADS[name as EncoderTask];
  if (!isText2Text && head === undefined) {
    throw new Error(`pipeline: unknown task '${name}'; tasks: ${[...Object.keys(ENCODER_HEADS), 'text-generation', ...TEXT2TEXT].join(', ')}`);
  }
  const folder = openFolder(source, opts);
  const raw = await folderConfig(folder);
  const type = modelTypeOf(raw);
  if (isText2Text) {
    if (!(SEQ2SEQ_MODEL_TYPES as readonly string[]).includes(type)) {
      throw new Error(`pipeline '${name}' needs an encoder-decoder model (${SEQ2SEQ_MODEL_TYPES.join(', ')}); ${folder.where} holds a ${JSON.stringify(type)} model`);
    }
    const lm = await seq2seqLM(folder, raw, opts);
    const prefix = opts.prefix !== undefined ? { prefix: opts.prefix } : {};
    if (name === 'summarization') return summarizationFromModel(lm, prefix);
    if (name === 'text2text-generation') return text2textFromModel(lm, prefix);
    return translationFromModel(lm, { task: name, ...prefix });
  }
  if (!(BERT_FAMILIES as readonly string[]).includes(type)) {
    const known = (SUPPORTED_MODEL_TYPES as readonly string[]).includes(type);
    throw new Error(`pipeline '${name}' needs an encoder model (${BERT_FAMILIES.join(', ')}); ${folder.where} holds a ${JSON.stringify(type)} model${type === 'gpt2' ? ' (use text-generation)' : known ? ' (use translation, summarization or text2text-generation)' : ''}`);
  }
  return fromEncoder(name as EncoderTask, new EncoderModel(await loadBert(folder, raw, { ...opts, head: head! })));
}
