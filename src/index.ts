// attn's main entry point for Node: the tensor engine (with the WebAssembly backend registered), layers,
// optimizers, the GPT model, Hugging Face folders, generation, training and tokenizers.
// Tokenizers alone (no tensor engine, browser-safe): import from 'attn/tokenizers'.
import './platform/node.js'; // registers the 'wasm' backend (SIMD kernels, worker pool) and enables relaxed SIMD on Node 20

export * from './tensor/index.js';
export { getBackend, setBackend, availableBackends, registerBackend, type Backend, type BackendOptions } from './backend/index.js';
export * from './nn/index.js';
export * from './optim/index.js';

export { GPT, KVCache, gptConfig, gptParameterCount, GPT_PRESETS, GPT_DEFAULTS, CHECKPOINT_RULES, type GPTConfig, type GPTForwardOptions, type GPTOutput, type GPTPresetName } from './models/gpt.js';
export { gptSizes, type SizeReport } from './models/sizes.js';
export { fromPretrained, savePretrained, readGPTConfig, loadStateDict, gptStateDict, SUPPORTED_MODEL_TYPES, type PretrainedGPT, type SaveOptions } from './models/pretrained.js';

export { RNNSeq2Seq, rnnSeq2SeqConfig, RNN_SEQ2SEQ_PRESETS, ATTENTION_KINDS, selectSourceRows, selectStateRows, type RNNSeq2SeqConfig, type AttentionKind, type EncodedSource, type DecoderState, type RNNSeq2SeqOutput } from './models/rnn_attention.js';
export { stepperFromRNNSeq2Seq, type RNNSeq2SeqStepper, type RNNSeq2SeqStepperOptions } from './generate/rnn_seq2seq.js';

export { generate, generateAsync, streamText, type GenerateOptions, type GenerateOutput, type GenerationConfig, type CausalLMStepper } from './generate/index.js';
export { stepperFromModel } from './generate/from_model.js';

export { trainLoop, evaluate, newTrainState, makeOptimizer, TRAIN_DEFAULTS, type TrainOptions, type TrainState, type MetricsRecord } from './train/trainer.js';
export { buildTokenStream, randomBatch, sequentialBatches, bitsPerByte, type TokenStream, type Document } from './train/data.js';
export { saveCheckpoint, loadTrainingState } from './train/checkpoint.js';

export { Tokenizer, type Encoding } from './tokenizers/index.js';
export { loadTokenizer, saveTokenizer } from './tokenizers/node.js';

export { AutoModelForCausalLM, CausalLM, pipeline, type TextGenerationPipeline, type CausalLMForwardOptions } from './pipelines/text_generation.js';
