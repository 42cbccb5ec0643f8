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
export { fromPretrained, savePretrained, readGPTConfig, loadStateDict, gptStateDict, SUPPORTED_MODEL_TYPES, type PretrainedGPT, type SaveOptions, type LoadOptions } from './models/pretrained.js';

export { RNNSeq2Seq, rnnSeq2SeqConfig, RNN_SEQ2SEQ_PRESETS, ATTENTION_KINDS, selectSourceRows, selectStateRows, type RNNSeq2SeqConfig, type AttentionKind, type EncodedSource, type DecoderState, type RNNSeq2SeqOutput } from './models/rnn_attention.js';
export { stepperFromRNNSeq2Seq, type RNNSeq2SeqStepper, type RNNSeq2SeqStepperOptions } from './generate/rnn_seq2seq.js';

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

// Encoder-decoders: the 2017 Transformer (Marian folders), T5, their folders, generation, training, pipelines.
export { Transformer, transformerConfig, transformerParameterCount, sinusoidalPositions, TRANSFORMER_PRESETS, TRANSFORMER_DEFAULTS, type TransformerConfig, type TransformerForwardOptions, type TransformerPresetName } from './models/transformer.js';
export { T5, t5Config, t5ParameterCount, relativePositionBucket, T5_PRESETS, T5_DEFAULTS, type T5Config, type T5ForwardOptions, type T5PresetName } from './models/t5.js';
export { shiftTokensRight, type EncoderOutput, type DecoderOutput, type Seq2SeqOutput } from './models/encoder_decoder.js';
export { fromPretrainedSeq2Seq, saveSeq2Seq, seq2seqForward, readModelType, SEQ2SEQ_MODEL_TYPES, type PretrainedSeq2Seq, type Seq2SeqModel, type Seq2SeqForwardResult } from './models/seq2seq_pretrained.js';
export { saveRNNSeq2Seq, loadRNNSeq2Seq, RNN_SEQ2SEQ_MODEL_TYPE, type RNNSymbols } from './models/rnn_pretrained.js';
export { generateSeq2Seq, seq2seqStepper, padSources, type Seq2SeqGenerateOptions, type Seq2SeqLMModule } from './generate/seq2seq.js';
export { trainSeq2Seq, pairsTask, objectiveTask, collatePairs, evaluateSeq2Seq, newSeq2SeqTrainState, SEQ2SEQ_TRAIN_DEFAULTS, type Seq2SeqPair, type Seq2SeqTask, type Seq2SeqTrainOptions } from './train/seq2seq.js';
export { saveSeq2SeqCheckpoint, loadSeq2SeqTrainingState } from './train/seq2seq_checkpoint.js';
export { AutoModelForSeq2SeqLM, Seq2SeqLM, translationPipeline, summarizationPipeline, text2textPipeline, TEXT2TEXT_TASKS, type Text2TextPipeline, type Text2TextOptions } from './pipelines/text2text.js';

export * from './quant/index.js';
export { quantizeFolder, writeQuantizedFolder, quantizationReport } from './quant/folder.js';
