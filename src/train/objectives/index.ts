// Pretraining objectives on token id arrays: each turns a row of ids (Int32Array) and a seeded Rng into model
// inputs and targets. Engine-free: plain typed arrays in and out, so they run anywhere and test in isolation.
//
//   BERT     maskTokens / wholeWordMask (80/10/10 dynamic masking), packSequences / packSequencePairs
//   T5       spanCorruption (random_spans_noise_mask + unique sentinels), spanCorruptionLengths
//   prefix   prefixLm (T5's prefix_lm; UL2's S-denoiser)
//   UL2      ul2Example (mixture of R, S and X denoisers with paradigm tokens)

export {
  maskTokens,
  wholeWordMask,
  continuationTable,
  wordStarts,
  packSequences,
  packSequencePairs,
  type MaskingOptions,
  type WholeWordMaskOptions,
  type MaskedTokens,
  type WordBoundaryScheme,
  type PackedRows,
  type PackOptions,
} from './mlm.js';
export {
  randomSpansNoiseMask,
  randomSegmentation,
  sentinelFunction,
  noiseSpanToUniqueSentinel,
  nonNoiseSpanToUniqueSentinel,
  spanCorruption,
  spanCorruptionLengths,
  reconstructSpans,
  type NoiseMaskOptions,
  type SentinelOptions,
  type SpanCorruptionOptions,
  type SpanCorruptionExample,
} from './span_corruption.js';
export { prefixLm, prefixLength, type PrefixLmOptions, type PrefixLmExample } from './prefix_lm.js';
export { ul2Example, pickDenoiser, checkDenoisers, UL2_DENOISERS, type Denoiser, type Ul2Options, type Ul2Example } from './ul2.js';
export { roundHalfEven, shuffle, uniformInt } from './sampling.js';
