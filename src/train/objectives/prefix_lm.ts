// Prefix language modelling (T5's prefix_lm; UL2's S-denoiser): split a row at a random point, give the model
// the start and train it to write the rest.
//
//   tokens    The cat sat on the mat and purred .
//   split              ^ (uniformly random)
//   inputs    The cat sat                                   the encoder reads the prefix (bidirectionally)
//   targets   on the mat and purred .                       the decoder writes the continuation
//
// T5's code (random_prefix_noise_mask) draws the prefix length uniformly from
//   [max(1, round((1 − 2·d) · (L − 1))), L − 1]
// where d is the "noise density", the expected share of the row in the targets: d = 0.5 (T5's default) makes
// every split from 1 to L − 1 equally likely; d = 0.25 (UL2's S-denoiser) keeps the prefix at least half the
// row, so the targets average a quarter of it.

import type { Rng } from '../../tensor/rng.js';
import { roundHalfEven, uniformInt } from './sampling.js';

export interface PrefixLmOptions {
  /** Expected share of the row in the targets, at most 0.5. Default 0.5 (split point uniform over 1 … L − 1). */
  noiseDensity?: number;
  /** Appended to inputs and targets when given (T5's </s>). */
  eosId?: number;
}

/** Encoder inputs, decoder targets, and where the row was split. */
export interface PrefixLmExample {
  inputs: Int32Array;
  targets: Int32Array;
  prefixLength: number;
}

/**
 * The prefix length T5's random_prefix_noise_mask draws for a row of `length` tokens.
 * Example: `prefixLength(10, rng)` is uniform over 1 … 9.
 */
export function prefixLength(length: number, rng: Rng, noiseDensity = 0.5): number {
  if (!(noiseDensity > 0 && noiseDensity <= 0.5)) throw new Error(`prefix LM: noiseDensity must be in (0, 0.5], got ${noiseDensity}`);
  if (length < 2) return 0; // nothing to split: everything is target
  const maxInput = length - 1;
  const minInput = Math.min(maxInput, Math.max(1, roundHalfEven((1 - 2 * noiseDensity) * maxInput)));
  return uniformInt(rng, minInput, maxInput);
}

/**
 * Split a row into (prefix, rest). Example: `prefixLm(ids, rng)` → `{ inputs: ids[0..k), targets: ids[k..L), prefixLength: k }`.
 * Does not handle: decoder-only prefix LM (one sequence with a bidirectional prefix mask): concatenate
 * inputs and targets and let the attention mask use prefixLength.
 */
export function prefixLm(tokens: Int32Array, rng: Rng, options: PrefixLmOptions = {}): PrefixLmExample {
  const k = prefixLength(tokens.length, rng, options.noiseDensity ?? 0.5);
  const eos = options.eosId;
  const withEos = (a: Int32Array): Int32Array => {
    if (eos === undefined) return a.slice();
    const out = new Int32Array(a.length + 1);
    out.set(a);
    out[a.length] = eos;
    return out;
  };
  return { inputs: withEos(tokens.subarray(0, k)), targets: withEos(tokens.subarray(k)), prefixLength: k };
}
