// pipeline(task, dir): a model folder turned into a function from text to results, as transformers'
// `pipeline()` (result objects shaped as in transformers 4.36 / transformers.js). Synchronous: the folder is read
// once, here, and each call runs the model.
//
//   pipeline('fill-mask', dir)('Paris is the [MASK] of France.')
//   pipeline('text-classification', dir)('a gripping film')                 alias 'sentiment-analysis'
//   pipeline('token-classification', dir)(text, { aggregation_strategy: 'simple' })    alias 'ner'
//   pipeline('question-answering', dir)({ question, context })
//   pipeline('feature-extraction', dir)(texts, { pooling: 'mean', normalize: true })
//   pipeline('text-generation', dir)('Once upon a time', { max_new_tokens: 20 })
//
// Each task's file says what it computes. The encoder tasks load BERT, RoBERTa and DistilBERT folders (with a
// new head when the folder has another, see EncoderModel.report); text-generation loads GPT-2-family folders.

import { readModelType } from '../models/pretrained.js';
import { BERT_FAMILIES } from '../models/bert_pretrained.js';
import type { BertHead } from '../models/bert.js';
import type { QuantizeOnLoad } from '../quant/load.js';
import { pipeline as textGeneration, type TextGenerationPipeline } from './text_generation.js';
import { EncoderModel, AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoModelForQuestionAnswering } from './encoder.js';
import { fillMaskPipeline, type FillMaskPipeline } from './fill_mask.js';
import { textClassificationPipeline, type TextClassificationPipeline } from './text_classification.js';
import { tokenClassificationPipeline, type TokenClassificationPipeline } from './token_classification.js';
import { questionAnsweringPipeline, type QuestionAnsweringPipeline } from './question_answering.js';
import { featureExtractionPipeline, type FeatureExtractionPipeline } from './feature_extraction.js';

export type PipelineTask =
  | 'fill-mask'
  | 'text-classification'
  | 'sentiment-analysis'
  | 'token-classification'
  | 'ner'
  | 'question-answering'
  | 'feature-extraction'
  | 'text-generation';

/** The tasks and what they need from a folder. */
export const PIPELINE_TASKS: Record<Exclude<PipelineTask, 'text-generation'>, { head: BertHead; load: (dir: string, opts?: QuantizeOnLoad) => EncoderModel }> = {
  'fill-mask': { head: 'masked-lm', load: (d, o) => AutoModelForMaskedLM.fromPretrained(d, o) },
  'text-classification': { head: 'sequence-classification', load: (d, o) => AutoModelForSequenceClassification.fromPretrained(d, o) },
  'sentiment-analysis': { head: 'sequence-classification', load: (d, o) => AutoModelForSequenceClassification.fromPretrained(d, o) },
  'token-classification': { head: 'token-classification', load: (d, o) => AutoModelForTokenClassification.fromPretrained(d, o) },
  ner: { head: 'token-classification', load: (d, o) => AutoModelForTokenClassification.fromPretrained(d, o) },
  'question-answering': { head: 'question-answering', load: (d, o) => AutoModelForQuestionAnswering.fromPretrained(d, o) },
  'feature-extraction': { head: 'base', load: (d, o) => AutoModel.fromPretrained(d, o) },
};

export function pipeline(task: 'fill-mask', dir: string, opts?: QuantizeOnLoad): FillMaskPipeline;
export function pipeline(task: 'text-classification' | 'sentiment-analysis', dir: string, opts?: QuantizeOnLoad): TextClassificationPipeline;
export function pipeline(task: 'token-classification' | 'ner', dir: string, opts?: QuantizeOnLoad): TokenClassificationPipeline;
export function pipeline(task: 'question-answering', dir: string, opts?: QuantizeOnLoad): QuestionAnsweringPipeline;
export function pipeline(task: 'feature-extraction', dir: string, opts?: QuantizeOnLoad): FeatureExtractionPipeline;
export function pipeline(task: 'text-generation', dir: string, opts?: QuantizeOnLoad): TextGenerationPipeline;
/**
 * A pipeline for `task` over the model folder `dir`. Example: `pipeline('ner', 'runs/conll')('I live in Berlin')`.
 * A folder whose head differs from the task's (an MLM checkpoint for text-classification) gets a new, untrained
 * head: fine for trying the plumbing, useless for predictions; fine-tune it first (`attn finetune`).
 * `opts.dtype` 'int8' | 'int4' quantises a float folder's weights while loading (src/quant); a quantised folder
 * (`attn quantize`) loads as it is: `pipeline('fill-mask', dir, { dtype: 'int8' })`.
 */
export function pipeline(task: PipelineTask, dir: string, opts: QuantizeOnLoad = {}): unknown {
  if (task === 'text-generation') return textGeneration(task, dir, opts);
  const spec = PIPELINE_TASKS[task as Exclude<PipelineTask, 'text-generation'>];
  const name: string = task;
  if (!spec && ['translation', 'summarization', 'text2text-generation'].includes(name)) {
    // Their factories are async (a T5 folder's spiece.model loads so): see text2text.ts.
    throw new Error(`pipeline: '${name}' loads an encoder-decoder asynchronously: use \`await ${name === 'translation' ? 'translationPipeline' : name === 'summarization' ? 'summarizationPipeline' : 'text2textPipeline'}(dir)\``);
  }
  if (!spec) throw new Error(`pipeline: unknown task '${String(task)}'; tasks: ${[...Object.keys(PIPELINE_TASKS), 'text-generation'].join(', ')}`);
  const type = readModelType(dir);
  if (!(BERT_FAMILIES as readonly string[]).includes(type)) {
    throw new Error(`pipeline '${task}' needs an encoder model (${BERT_FAMILIES.join(', ')}); ${dir} holds a "${type}" model${type === 'gpt2' ? ' (use text-generation)' : ''}`);
  }
  return fromEncoder(task as Exclude<PipelineTask, 'text-generation'>, spec.load(dir, opts));
}

/** A pipeline over a model already loaded (to share one model between tasks, or after fine-tuning in memory). */
export function fromEncoder(task: Exclude<PipelineTask, 'text-generation'>, em: EncoderModel): unknown {
  switch (task) {
    case 'fill-mask':
      return fillMaskPipeline(em);
    case 'text-classification':
    case 'sentiment-analysis':
      return textClassificationPipeline(em);
    case 'token-classification':
    case 'ner':
      return tokenClassificationPipeline(em);
    case 'question-answering':
      return questionAnsweringPipeline(em);
    case 'feature-extraction':
      return featureExtractionPipeline(em);
  }
}

export { EncoderModel, AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoModelForQuestionAnswering, modelMaxLength, type EncoderForwardOptions, type AutoLoadOptions } from './encoder.js';
export { AutoModelForCausalLM, CausalLM, type TextGenerationPipeline, type CausalLMForwardOptions } from './text_generation.js';
export { cosineSimilarity, type FeatureExtractionPipeline, type FeatureExtractionOptions } from './feature_extraction.js';
export type { FillMaskPipeline, FillMaskOptions, FillMaskResult } from './fill_mask.js';
export type { TextClassificationPipeline, TextClassificationOptions, TextClassificationInput, LabelScore } from './text_classification.js';
export type { TokenClassificationPipeline, TokenClassificationOptions, TokenClassificationResult, TokenEntity, GroupedEntity, AggregationStrategy } from './token_classification.js';
export type { QuestionAnsweringPipeline, QuestionAnsweringOptions, QuestionAnsweringInput, QuestionAnsweringResult } from './question_answering.js';
