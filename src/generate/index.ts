// Text generation for attn's language models: logits processors, greedy search, sampling, beam search,
// streaming and stop strings, over the small CausalLMStepper interface (model.ts) so it works with any model
// that turns token ids into next-token logits — with or without a KV cache.
//
// This module does not load the tensor engine. The adapter for attn's tensor models (stepperFromModel, for
// GPT) lives in ./from_model.ts and is imported from there.

export { type CausalLMStepper, type StepBatch, positionIdsFromMask, leftPad, sliceColumns, lastPositionLogits } from './model.js';
export {
  type GenerationConfig,
  type ResolvedGenerationConfig,
  GENERATION_DEFAULTS,
  generationConfigFromJson,
  resolveGenerationConfig,
  buildLogitsProcessors,
  buildLogitsWarpers,
} from './config.js';
export {
  type LogitsProcessor,
  type ProcessorInput,
  applyProcessors,
  RepetitionPenaltyLogitsProcessor,
  NoRepeatNGramLogitsProcessor,
  SequenceBiasLogitsProcessor,
  NoBadWordsLogitsProcessor,
  MinLengthLogitsProcessor,
  MinNewTokensLengthLogitsProcessor,
  ForcedBOSTokenLogitsProcessor,
  ForcedEOSTokenLogitsProcessor,
  SuppressTokensLogitsProcessor,
  SuppressTokensAtBeginLogitsProcessor,
  LogitNormalization,
  TemperatureLogitsWarper,
  TopKLogitsWarper,
  TopPLogitsWarper,
  MinPLogitsWarper,
  TypicalLogitsWarper,
} from './processors.js';
export { BeamHypotheses, BeamSearchScorer, type BeamStep } from './beam.js';
export { type Uniform, seededUniform, randomSeed, sampleIndex } from './rng.js';
export { type DecodeFn, type Streamer, type TokenTextDecoder, type TextSource, IncrementalDecoder, TextStreamer, StopStringMatcher } from './stream.js';
export { type GenerateOptions, type GenerateOutput, type FinishReason, type TextChunk, generate, generateAsync, streamText } from './generate.js';
export { softmaxInto, logSoftmaxInto, logSumExp, argmax, kthLargest, topK } from './math.js';
