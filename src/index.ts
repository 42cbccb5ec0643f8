// attn's main entry point for Node: the tensor engine (with the WebAssembly backend registered), layers,
// optimizers, the GPT and BERT-family models, Hugging Face folders, generation, pipelines, training and tokenizers.
// Tokenizers alone (no tensor engine, browser-safe): import from 'attn/tokenizers'.
import './platform/node.js'; // registers the 'wasm' backend (SIMD kernels, worker pool) and enables relaxed SIMD on Node 20

export * from './tensor/index.js';
export { getBackend, setBackend, availableBackends, registerBackend, type Backend, type BackendOptions } from './backend/index.js';
export * from './nn/index.js';
export * from './optim/index.js';

export { GPT, KVCache, gptConfig, gptParameterCount, GPT_PRESETS, GPT_DEFAULTS, CHECKPOINT_RULES, type GPTConfig, type GPTForwardOptions, type GPTOutput, type GPTPresetName } from './models/gpt.js';
export { gptSizes, type SizeReport } from './models/sizes.js';
export { fromPretrained, savePretrained, readGPTConfig, loadStateDict, gptStateDict, SUPPORTED_MODEL_TYPES, type PretrainedGPT, type SaveOptions } from './models/pretrained.js';

export { generate, generateAsync, streamText, type GenerateOptions, type GenerateOutput, type GenerationConfig, type CausalLMStepper } from './generate/index.js';
export { stepperFromModel } from './generate/from_model.js';

export { trainLoop, runTrainLoop, clmObjective, evaluate, newTrainState, makeOptimizer, TRAIN_DEFAULTS, type TrainOptions, type TrainState, type MetricsRecord, type TrainObjective } from './train/trainer.js';
export { mlmObjective, mlmRows, evaluateMlm, type MlmSettings, type MlmScores } from './train/mlm.js';
export { finetune, classificationTask, tokenClassificationTask, questionAnsweringTask, squadScores, FINETUNE_DEFAULTS, type FinetuneOptions, type FinetuneTask, type FinetuneMetrics, type FinetuneResult } from './train/finetune.js';
export { buildTokenStream, randomBatch, sequentialBatches, bitsPerByte, type TokenStream, type Document } from './train/data.js';
export { saveCheckpoint, loadTrainingState } from './train/checkpoint.js';

export { Tokenizer, type Encoding } from './tokenizers/index.js';
export { loadTokenizer, saveTokenizer } from './tokenizers/node.js';

export { AutoModelForCausalLM, CausalLM, type TextGenerationPipeline, type CausalLMForwardOptions } from './pipelines/text_generation.js';

export {
  BertModel,
  BertEncoderOnly,
  BertForMaskedLM,
  BertForSequenceClassification,
  BertForTokenClassification,
  BertForQuestionAnswering,
  createBertModel,
  bertConfig,
  bertParameterCount,
  BERT_PRESETS,
  BERT_DEFAULTS,
  FAMILIES as BERT_FAMILY_RULES,
  type BertConfig,
  type BertHead,
  type BertFamily,
  type BertForwardOptions,
  type BertHeadOutput,
  type BertAnyModel,
  type BertPresetName,
} from './models/bert.js';
export { fromPretrainedBert, saveBertPretrained, readFolderTokenizer, bertStateDict, type PretrainedBert, type BertLoadReport } from './models/bert_pretrained.js';
export {
  pipeline,
  PIPELINE_TASKS,
  EncoderModel,
  AutoModel,
  AutoModelForMaskedLM,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  AutoModelForQuestionAnswering,
  cosineSimilarity,
  type PipelineTask,
  type FillMaskPipeline,
  type TextClassificationPipeline,
  type TokenClassificationPipeline,
  type QuestionAnsweringPipeline,
  type FeatureExtractionPipeline,
} from './pipelines/index.js';
