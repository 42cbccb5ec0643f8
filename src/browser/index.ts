// attn's entry point for browsers (bundled as dist/browser/attn.js; `import … from 'attn'` in a bundler that
// picks the "browser" condition). The same public API as the Node entry (src/index.ts), with these differences:
//
//   - `await ready()` once before using the engine: it compiles the WebAssembly kernels (browsers want that
//     asynchronous), starts the worker pool when the page is cross-origin isolated, and picks the backend.
//     `backendInfo()` says what it chose and why.
//   - Folders are URLs or picked files, and loading is async: `await fromPretrained(url, { onProgress })`
//     (GPT-2), `await fromPretrainedBert(url)`, `await fromPretrainedSeq2Seq(url)` (Marian, T5),
//     `await AutoModelForCausalLM.fromPretrained(url)` and the other AutoModel…, `await pipeline(task, url)`
//     for every task Node has (translation and summarization included), `await loadTokenizer(url)`.
//     Downloads are kept in the Cache API, so a second visit loads offline.
//   - Saving gives bytes: `savePretrainedFiles(model, { tokenizerJson })` → Map of files; `downloadFolder`
//     offers them as a .zip. (CausalLM.savePretrained(dir) and the Node file helpers need Node.)
//
//   import * as attn from './attn.js';
//   await attn.ready();                                            // { backend: 'wasm', threads: 8, ... }
//   const gen = await attn.pipeline('text-generation', '/models/shakespeare/');
//   gen('To be, or not', { max_new_tokens: 40, do_sample: true, top_p: 0.9 });

import { prepareBrowserBackend, type BackendInfo } from '../platform/browser.js';
import type { KernelVariant } from '../backend/wasm/index.js';
import { KERNEL_BYTES } from './kernel_bytes.js';

export * from '../tensor/index.js';
export { getBackend, setBackend, availableBackends, registerBackend, closeBackend, type Backend, type BackendOptions } from '../backend/index.js';
export * from '../nn/index.js';
export * from '../optim/index.js';

export { GPT, KVCache, gptConfig, gptParameterCount, GPT_PRESETS, GPT_DEFAULTS, CHECKPOINT_RULES, type GPTConfig, type GPTForwardOptions, type GPTOutput, type GPTPresetName } from '../models/gpt.js';
export { gptSizes, type SizeReport } from '../models/sizes.js';
export { gptConfigFromHF, gptConfigToHF, loadStateDict, gptStateDict, SUPPORTED_MODEL_TYPES, type PretrainedGPT, type GenerationDefaults } from '../models/pretrained.js';

export { generate, generateAsync, streamText, type GenerateOptions, type GenerateOutput, type GenerationConfig, type CausalLMStepper, type Streamer } from '../generate/index.js';
export { stepperFromModel } from '../generate/from_model.js';

export { trainLoop, evaluate, newTrainState, makeOptimizer, TRAIN_DEFAULTS, type TrainOptions, type TrainState, type MetricsRecord } from '../train/trainer.js';
export { buildTokenStream, randomBatch, sequentialBatches, bitsPerByte, type TokenStream, type Document } from '../train/data.js';

export { Tokenizer, trainTokenizer, type Encoding } from '../tokenizers/index.js';
export * from '../io/index.js'; // safetensors bytes in and out, float16 conversion, JSON checking
export { CausalLM, type CausalLMForwardOptions } from '../pipelines/text_generation.js';
export * from '../quant/index.js'; // int8 / int4 weights: quantizeModel, QuantizedTensor, quantised folders

export { fromPretrained, AutoModelForCausalLM, readSafetensorsStream, type LoadOptions, type TextGenerationPipeline } from './load.js';

// Encoders: BERT, RoBERTa, DistilBERT (models/bert.ts), their folders (the file-free half, bert_hf.ts), the tasks.
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
} from '../models/bert.js';
export { bertConfigFromHF, bertConfigToHF, loadBertStateDict, bertStateDict, BERT_FAMILIES, type PretrainedBert, type BertLoadReport, type FromPretrainedBertOptions } from '../models/bert_hf.js';
export { EncoderModel, modelMaxLength, type EncoderForwardOptions, type AutoLoadOptions } from '../pipelines/encoder.js';
export { fromEncoder, type PipelineTask } from '../pipelines/index.js';
export { cosineSimilarity, type FeatureExtractionPipeline, type FeatureExtractionOptions } from '../pipelines/feature_extraction.js';
export type { FillMaskPipeline, FillMaskOptions, FillMaskResult } from '../pipelines/fill_mask.js';
export type { TextClassificationPipeline, TextClassificationOptions, TextClassificationInput, LabelScore } from '../pipelines/text_classification.js';
export type { TokenClassificationPipeline, TokenClassificationOptions, TokenClassificationResult, TokenEntity, GroupedEntity, AggregationStrategy } from '../pipelines/token_classification.js';
export type { QuestionAnsweringPipeline, QuestionAnsweringOptions, QuestionAnsweringInput, QuestionAnsweringResult } from '../pipelines/question_answering.js';

// Encoder-decoders: the 2017 Transformer (Marian folders), T5, their folders, generation, the text2text tasks.
export { Transformer, transformerConfig, transformerParameterCount, sinusoidalPositions, TRANSFORMER_PRESETS, TRANSFORMER_DEFAULTS, type TransformerConfig, type TransformerForwardOptions, type TransformerPresetName } from '../models/transformer.js';
export { T5, t5Config, t5ParameterCount, relativePositionBucket, T5_PRESETS, T5_DEFAULTS, type T5Config, type T5ForwardOptions, type T5PresetName } from '../models/t5.js';
export { shiftTokensRight, type EncoderOutput, type DecoderOutput, type Seq2SeqOutput } from '../models/encoder_decoder.js';
export { seq2seqForward, marianConfigFromHF, marianConfigToHF, marianStateDict, t5ConfigFromHF, t5ConfigToHF, t5StateDict, SEQ2SEQ_MODEL_TYPES, type PretrainedSeq2Seq, type Seq2SeqModel, type Seq2SeqForwardResult } from '../models/seq2seq_hf.js';
export { generateSeq2Seq, seq2seqStepper, padSources, type Seq2SeqGenerateOptions, type Seq2SeqLMModule } from '../generate/seq2seq.js';
export { Seq2SeqLM, translationFromModel, summarizationFromModel, text2textFromModel, type Text2TextPipeline, type Text2TextOptions } from '../pipelines/text2text_model.js';

// The RNN encoder-decoder with no, Bahdanau or Luong attention (LSTM and GRU come with nn/ above).
export { RNNSeq2Seq, rnnSeq2SeqConfig, RNN_SEQ2SEQ_PRESETS, ATTENTION_KINDS, selectSourceRows, selectStateRows, type RNNSeq2SeqConfig, type AttentionKind, type EncodedSource, type DecoderState, type RNNSeq2SeqOutput } from '../models/rnn_attention.js';
export { stepperFromRNNSeq2Seq, type RNNSeq2SeqStepper, type RNNSeq2SeqStepperOptions } from '../generate/rnn_seq2seq.js';

// Loading the BERT family and the encoder-decoders by URL or picked files, and pipeline() for every task.
export {
  fromPretrainedBert,
  fromPretrainedSeq2Seq,
  AutoModel,
  AutoModelForMaskedLM,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  AutoModelForQuestionAnswering,
  AutoModelForSeq2SeqLM,
  pipeline,
  type BrowserPipelineTask,
  type BrowserPipelineOptions,
} from './load_models.js';
export { loadTokenizer } from './load_tokenizer.js';

// Explain, the part a page can run: a GPT's attention maps in named groups and the report's data (maps, rollout)
// that web/explain_view.ts draws; the playground's Attention tab uses them. The HTML file, SVG/PNG figures and
// loading by folder path need Node (src/explain/node.ts, figure.ts).
export { GPTExplainer, type GPTEncoded } from '../explain/adapters/gpt.js';
export { reportData, decodeWeights, type ReportData, type ReportGroup } from '../explain/report_data.js';
export type { AttentionGroup } from '../explain/explainable.js';

export { openFolder, type Folder, type FolderSource, type FolderOptions, type FileProgress } from './folder.js';
export { savePretrainedFiles, zipFolder, downloadFolder, downloadBytes, type SaveFilesOptions } from './save.js';
export { zipFiles, crc32 } from './zip.js';
export type { BackendInfo } from '../platform/browser.js';

export interface ReadyOptions {
  /** Threads; default: all cores when the page is cross-origin isolated, else 1. */
  threads?: number;
  /** Kernel build; default: 'relaxed' (fused multiply-add) where the browser has relaxed SIMD, else 'baseline'. */
  simd?: KernelVariant;
  /** 'js' forces the reference backend. */
  backend?: 'wasm' | 'js';
  /**
   * URL of attn-worker.js (default: beside this bundle). Set it when a bundler moved the files apart.
   */
  workerUrl?: string | URL;
}

let info: BackendInfo | null = null;

/**
 * Get the engine ready: compile the kernels, start threads where the page allows, choose the backend.
 * Call it (and await it) before the first tensor op; call it again to change threads or the kernel build.
 * Example: `const { backend, threads } = await ready();`
 */
export async function ready(opts: ReadyOptions = {}): Promise<BackendInfo> {
  const workerUrl = String(opts.workerUrl ?? new URL('./attn-worker.js', import.meta.url));
  info = await prepareBrowserBackend({
    kernels: KERNEL_BYTES,
    workerUrl,
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.simd ? { simd: opts.simd } : {}),
    ...(opts.backend ? { backend: opts.backend } : {}),
  });
  return info;
}

/** What ready() chose (backend, threads, kernel build) and why; null before ready(). */
export function backendInfo(): BackendInfo | null {
  return info;
}
