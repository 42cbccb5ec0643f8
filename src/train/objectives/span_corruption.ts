// T5's span corruption (Raffel et al. 2020, §3.1.4): drop random spans of the text, mark each gap with a
// sentinel, and train the model to write the dropped spans after their sentinels.
//
//   original  Thank you for inviting me to your party last week .
//   noise             ─────────           ────          (15 % of the tokens, spans of mean length 3)
//   inputs    Thank you <X> me to your party <Y> week .           <X> = <extra_id_0>, <Y> = <extra_id_1>
//   targets   <X> for inviting <Y> last <Z>                        (T5's code: <Z> only when the text ends
//                                                                  in a non-noise span; see below)
//
// This file follows T5's code exactly (t5/data/preprocessors.py: random_spans_noise_mask,
// noise_span_to_unique_sentinel, nonnoise_span_to_unique_sentinel, random_spans_helper):
//
//   noise tokens     n = round(L · noise_density), kept in [1, L − 1]
//   noise spans      s = max(1, round(n / mean_noise_span_length))
//   span lengths     the n noise tokens are cut into s non-empty spans at random, the L − n others also into s
//                    spans ("_random_segmentation": choose s − 1 of the n − 1 gaps, every choice equally likely)
//   layout           non-noise, noise, non-noise, noise, … : always starting with non-noise and ending with
//                    noise, so every mask with those counts is equally likely
//   inputs           each noise span → one sentinel; targets: each NON-noise span → one sentinel, so the
//                    targets read <extra_id_0> span₀ <extra_id_1> span₁ … and the inputs' k-th gap is the
//                    targets' k-th sentinel
//   sentinel ids     the k-th sentinel is vocab_size − 1 − k (T5's <extra_id_0> is the last id of its
//                    vocabulary), or the k-th of a given list
//   rounding         Python's round (halves to even), as T5 and Hugging Face's run_t5_mlm_flax.py use
//
// Because the mask ends with noise, T5's targets hold no trailing sentinel; inputs and targets together still
// give back the original exactly (reconstructSpans below).

import type { Rng } from '../../tensor/rng.js';
import { roundHalfEven, shuffle } from './sampling.js';

export interface NoiseMaskOptions {
  /** Fraction of tokens that are noise. Default 0.15. */
  noiseDensity?: number;
  /** Mean length of a noise span. Default 3. */
  meanNoiseSpanLength?: number;
  /**
   * Rotate the mask by a random offset (T5's random_roll): spreads noise evenly over positions, which the
   * plain layout does not when one span is enough (it then always covers the last tokens). Default false.
   */
  randomRoll?: boolean;
}

/**
 * T5's random_spans_noise_mask: 1 marks noise. Example: `randomSpansNoiseMask(512, rng)` has round(512 × 0.15)
 * = 77 ones in round(77 / 3) = 26 spans.
 */
export function randomSpansNoiseMask(length: number, rng: Rng, options: NoiseMaskOptions = {}): Uint8Array {
  const density = options.noiseDensity ?? 0.15;
  const mean = options.meanNoiseSpanLength ?? 3;
  if (!Number.isInteger(length) || length < 0) throw new Error(`randomSpansNoiseMask: length must be a non-negative integer, got ${length}`);
  if (!(density >= 0 && density < 1)) throw new Error(`randomSpansNoiseMask: noiseDensity must be in [0, 1), got ${density}`);
  if (!(mean >= 1)) throw new Error(`randomSpansNoiseMask: meanNoiseSpanLength must be at least 1, got ${mean}`);
  const mask = new Uint8Array(length);
  if (density === 0 || length === 0) return mask;

  const L = Math.max(length, 2); // T5: "increase length to avoid degeneracy", then cut back to `length`
  const numNoise = Math.min(Math.max(roundHalfEven(L * density), 1), L - 1);
  const numSpans = Math.max(roundHalfEven(numNoise / mean), 1);
  const numNonNoise = L - numNoise;
  if (numSpans > numNonNoise) {
    throw new Error(
      `randomSpansNoiseMask: ${numSpans} noise spans need ${numSpans} non-noise spans, but a length of ${L} at density ${density} ` +
        `leaves only ${numNonNoise} non-noise tokens; use a longer sequence, a lower density or a longer mean span`,
    );
  }
  const noiseLengths = randomSegmentation(numNoise, numSpans, rng);
  const nonNoiseLengths = randomSegmentation(numNonNoise, numSpans, rng);
  let t = 0;
  for (let k = 0; k < numSpans; k++) {
    t += nonNoiseLengths[k];
    for (let j = 0; j < noiseLengths[k]; j++, t++) if (t < length) mask[t] = 1;
  }
  if (!options.randomRoll) return mask;
  // tf.roll(mask, offset): element i moves to (i + offset) mod length.
  const offset = rng.int(L) % length;
  const rolled = new Uint8Array(length);
  for (let i = 0; i < length; i++) rolled[(i + offset) % length] = mask[i];
  return rolled;
}

/**
 * Cut `items` things into `segments` non-empty runs, every cut equally likely (T5's _random_segmentation:
 * shuffle a 0/1 list with segments − 1 ones over the items − 1 gaps). Example: `randomSegmentation(10, 3, rng)`
 * → e.g. [2, 5, 3].
 */
export function randomSegmentation(items: number, segments: number, rng: Rng): Int32Array {
  if (!(Number.isInteger(items) && Number.isInteger(segments) && segments >= 1 && segments <= items)) {
    throw new Error(`randomSegmentation: need 1 ≤ segments ≤ items, got ${segments} segments of ${items} items`);
  }
  const cutAfter = new Uint8Array(items - 1); // cutAfter[g] = 1: a new segment starts at item g + 1
  cutAfter.fill(1, 0, segments - 1);
  shuffle(cutAfter, rng);
  const lengths = new Int32Array(segments);
  let seg = 0;
  lengths[0] = 1;
  for (let g = 0; g < items - 1; g++) {
    if (cutAfter[g]) seg++;
    lengths[seg]++;
  }
  return lengths;
}

/** Where sentinel ids come from: T5's top of the vocabulary, or an explicit list. */
export interface SentinelOptions {
  /** The k-th sentinel is sentinelIds[k] (e.g. the ids of <extra_id_0>, <extra_id_1>, …). */
  sentinelIds?: ArrayLike<number>;
  /** Without sentinelIds: the k-th sentinel is vocabSize − 1 − k (T5). */
  vocabSize?: number;
}

/** k → the id of the k-th sentinel, with an error when the list runs out. */
export function sentinelFunction(options: SentinelOptions): (k: number) => number {
  const ids = options.sentinelIds;
  if (ids !== undefined) {
    return (k) => {
      if (k >= ids.length) throw new Error(`span corruption: needs sentinel ${k + 1} but only ${ids.length} sentinel ids were given (use fewer spans per row, or more sentinels)`);
      return ids[k];
    };
  }
  const vocabSize = options.vocabSize;
  if (vocabSize === undefined || !Number.isInteger(vocabSize) || vocabSize < 1) {
    throw new Error('span corruption: pass sentinelIds (the ids of <extra_id_0>, <extra_id_1>, …) or vocabSize (sentinel k = vocabSize − 1 − k)');
  }
  return (k) => {
    if (k >= vocabSize) throw new Error(`span corruption: sentinel ${k} would be id ${vocabSize - 1 - k}, below 0`);
    return vocabSize - 1 - k;
  };
}

/**
 * T5's noise_span_to_unique_sentinel: keep non-noise tokens, replace each noise span by the next sentinel.
 * Example: tokens [a b c d e], mask [0 1 1 0 1] → [a, S0, d, S1].
 */
export function noiseSpanToUniqueSentinel(tokens: Int32Array, noiseMask: Uint8Array, sentinel: (k: number) => number): Int32Array {
  if (noiseMask.length !== tokens.length) throw new Error(`span corruption: noise mask has ${noiseMask.length} entries for ${tokens.length} tokens`);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < tokens.length; i++) {
    if (!noiseMask[i]) out.push(tokens[i]);
    else if (i === 0 || !noiseMask[i - 1]) out.push(sentinel(k++)); // first token of a noise span
  }
  return Int32Array.from(out);
}

/**
 * T5's nonnoise_span_to_unique_sentinel: the same with the mask inverted (targets).
 * Example: tokens [a b c d e], mask [0 1 1 0 1] → [S0, b, c, S1, e].
 */
export function nonNoiseSpanToUniqueSentinel(tokens: Int32Array, noiseMask: Uint8Array, sentinel: (k: number) => number): Int32Array {
  const inverted = noiseMask.map((m) => (m ? 0 : 1));
  return noiseSpanToUniqueSentinel(tokens, inverted, sentinel);
}

export interface SpanCorruptionOptions extends NoiseMaskOptions, SentinelOptions {
  /** Appended to inputs and targets when given (T5's </s>, id 1). */
  eosId?: number;
}

/** Encoder inputs, decoder targets, and the noise mask they came from. */
export interface SpanCorruptionExample {
  inputs: Int32Array;
  targets: Int32Array;
  noiseMask: Uint8Array;
}

/**
 * One span-corruption example from a row of token ids. Example:
 * `spanCorruption(ids, rng, { vocabSize: 32100, eosId: 1 })` (t5-small: <extra_id_0> is 32099).
 * Does not handle: packing several rows into one (T5's merge_examples_to_reduce_padding); choose the row
 * length with spanCorruptionLengths so inputs come out exactly as long as the model's window.
 */
export function spanCorruption(tokens: Int32Array, rng: Rng, options: SpanCorruptionOptions): SpanCorruptionExample {
  const sentinel = sentinelFunction(options);
  const noiseMask = randomSpansNoiseMask(tokens.length, rng, options);
  let inputs = noiseSpanToUniqueSentinel(tokens, noiseMask, sentinel);
  let targets = nonNoiseSpanToUniqueSentinel(tokens, noiseMask, sentinel);
  if (options.eosId !== undefined) {
    inputs = appendId(inputs, options.eosId);
    targets = appendId(targets, options.eosId);
  }
  return { inputs, targets, noiseMask };
}

function appendId(a: Int32Array, id: number): Int32Array {
  const out = new Int32Array(a.length + 1);
  out.set(a);
  out[a.length] = id;
  return out;
}

/**
 * T5's random_spans_helper: how many raw tokens to take per row so that the corrupted inputs (with EOS) are
 * exactly `inputsLength` long, and how long the targets (with EOS) then are.
 * Example: `spanCorruptionLengths(512)` → `{ tokensLength: 568, targetsLength: 114 }` (T5's pretraining setup).
 */
export function spanCorruptionLengths(inputsLength: number, noiseDensity = 0.15, meanNoiseSpanLength = 3): { tokensLength: number; targetsLength: number } {
  const lengths = (tokens: number): [number, number] => {
    const noise = roundHalfEven(tokens * noiseDensity);
    const spans = roundHalfEven(noise / meanNoiseSpanLength);
    // inputs: the non-noise tokens, a sentinel per noise span, EOS; targets: the noise tokens, a sentinel per span, EOS
    return [tokens - noise + spans + 1, noise + spans + 1];
  };
  let tokensLength = inputsLength - 1;
  while (lengths(tokensLength + 1)[0] <= inputsLength) tokensLength++;
  let targetsLength = lengths(tokensLength)[1];
  // T5's "minor hack to get the targets length to be equal to inputs length" at density 0.5.
  if (noiseDensity === 0.5 && targetsLength > lengths(tokensLength)[0]) {
    tokensLength--;
    targetsLength--;
  }
  return { tokensLength, targetsLength };
}

/**
 * The original tokens from inputs and targets (EOS already removed): walk the inputs, and at each sentinel
 * copy the target tokens that follow the same sentinel there. Exact for any output of spanCorruption.
 * Example: `reconstructSpans(ex.inputs, ex.targets, (id) => id >= 32000)`.
 */
export function reconstructSpans(inputs: Int32Array, targets: Int32Array, isSentinel: (id: number) => boolean): Int32Array {
  // Targets: sentinel, its span, sentinel, its span, … (a sentinel may have an empty span after it).
  const spans = new Map<number, number[]>();
  let current: number[] | null = null;
  for (const id of targets) {
    if (isSentinel(id)) {
      current = [];
      spans.set(id, current);
    } else if (current) current.push(id);
    else throw new Error(`reconstructSpans: targets start with ${id}, not a sentinel`);
  }
  const out: number[] = [];
  for (const id of inputs) {
    if (!isSentinel(id)) out.push(id);
    else {
      const span = spans.get(id);
      if (!span) throw new Error(`reconstructSpans: sentinel ${id} of the inputs is not in the targets`);
      out.push(...span);
    }
  }
  return Int32Array.from(out);
}
