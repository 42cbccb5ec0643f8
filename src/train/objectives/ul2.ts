// UL2's mixture of denoisers (Tay et al. 2022, "Unifying Language Learning Paradigms"): one model trained on
// several corruption schemes at once, each example drawn from one of them and marked with a paradigm token so
// the model knows which game it is playing (and can be told at fine-tuning time: "mode switching").
//
//   R  regular denoising   T5 span corruption, short spans, 15 %        paradigm token [NLU]
//        μ = 3, r = 0.15     μ = 8, r = 0.15
//   X  extreme denoising   long spans and/or heavy corruption            paradigm token [NLG]
//        μ = 3, r = 0.5      μ = 8, r = 0.5     μ = 64, r = 0.15     μ = 64, r = 0.5
//   S  sequential          prefix LM: continue the text                  paradigm token [S2S]
//        targets a quarter of the row on average, L/4 (prefix_lm.ts with noise density 0.25; the mean
//        Stanford's Levanter takes from the paper)
//
//   inputs    [NLU] Thank you <extra_id_0> me to your party <extra_id_1> week .
//   targets   <extra_id_0> for inviting <extra_id_1> last
//
// Mixing rates: the seven denoisers are drawn with equal probability, 1/7 each: the UL2 paper's sampling
// code makes one uniform choice over the list of all R, S and X tasks (as quoted in NVIDIA NeMo issue #5655,
// which changed NeMo's two-stage R/S/X-then-task sampling to match it). The paradigm tokens are those of the released
// UL2 checkpoints ([NLU] for R, [NLG] for X, [S2S] for S). Every part of this is configurable: pass your own
// denoiser list (its rates need not add to 1; they are normalised).
//
// Span lengths: the paper describes span lengths drawn around μ; like its T5-based implementation, this uses
// T5's random_spans_noise_mask with mean_noise_span_length μ (span_corruption.ts).

import type { Rng } from '../../tensor/rng.js';
import { prefixLm } from './prefix_lm.js';
import { spanCorruption, type SentinelOptions } from './span_corruption.js';

/** One denoiser of the mixture. */
export interface Denoiser {
  /** A label for logs, e.g. "R(μ=3,r=0.15)". */
  name: string;
  /** 'span': T5 span corruption with meanSpanLength and noiseDensity; 'prefix': prefix LM with noiseDensity. */
  kind: 'span' | 'prefix';
  /** The paradigm token put before the inputs ([NLU], [NLG], [S2S]); its id comes from Ul2Options.paradigmIds. */
  paradigm: string;
  /** Fraction of the row corrupted (span) or expected share of the row in the targets (prefix, ≤ 0.5). */
  noiseDensity: number;
  /** Mean noise span length μ (span only). */
  meanSpanLength?: number;
  /** Relative sampling weight. */
  rate: number;
}

/** UL2's seven denoisers, equal rates. */
export const UL2_DENOISERS: readonly Denoiser[] = Object.freeze([
  { name: 'R(μ=3,r=0.15)', kind: 'span', paradigm: '[NLU]', meanSpanLength: 3, noiseDensity: 0.15, rate: 1 },
  { name: 'R(μ=8,r=0.15)', kind: 'span', paradigm: '[NLU]', meanSpanLength: 8, noiseDensity: 0.15, rate: 1 },
  { name: 'S(r=0.25)', kind: 'prefix', paradigm: '[S2S]', noiseDensity: 0.25, rate: 1 },
  { name: 'X(μ=3,r=0.5)', kind: 'span', paradigm: '[NLG]', meanSpanLength: 3, noiseDensity: 0.5, rate: 1 },
  { name: 'X(μ=8,r=0.5)', kind: 'span', paradigm: '[NLG]', meanSpanLength: 8, noiseDensity: 0.5, rate: 1 },
  { name: 'X(μ=64,r=0.15)', kind: 'span', paradigm: '[NLG]', meanSpanLength: 64, noiseDensity: 0.15, rate: 1 },
  { name: 'X(μ=64,r=0.5)', kind: 'span', paradigm: '[NLG]', meanSpanLength: 64, noiseDensity: 0.5, rate: 1 },
] as Denoiser[]);

export interface Ul2Options extends SentinelOptions {
  /** Id of each paradigm token used by the denoisers, e.g. { '[NLU]': 32100, '[NLG]': 32101, '[S2S]': 32102 }. */
  paradigmIds: Readonly<Record<string, number>>;
  /** The mixture. Default UL2_DENOISERS. */
  denoisers?: readonly Denoiser[];
  /** Appended to inputs and targets when given (T5's </s>). */
  eosId?: number;
}

/** One example: which denoiser made it, and its inputs (paradigm token first) and targets. */
export interface Ul2Example {
  denoiser: Denoiser;
  inputs: Int32Array;
  targets: Int32Array;
}

const DENOISER_KEYS = new Set(['name', 'kind', 'paradigm', 'noiseDensity', 'meanSpanLength', 'rate']);

/**
 * Check a denoiser list (e.g. from a user's JSON config): known keys only, valid numbers, a positive total rate,
 * and an id for every paradigm token. Example: `checkDenoisers(UL2_DENOISERS, ids)`.
 */
export function checkDenoisers(denoisers: readonly Denoiser[], paradigmIds: Readonly<Record<string, number>>): void {
  if (denoisers.length === 0) throw new Error('UL2: the denoiser list is empty');
  let total = 0;
  denoisers.forEach((d, i) => {
    const where = `UL2 denoiser ${i} (${JSON.stringify(d.name)})`;
    for (const key of Object.keys(d)) if (!DENOISER_KEYS.has(key)) throw new Error(`${where}: unknown key ${JSON.stringify(key)}; known keys are ${[...DENOISER_KEYS].join(', ')}`);
    if (d.kind !== 'span' && d.kind !== 'prefix') throw new Error(`${where}: kind must be 'span' or 'prefix', got ${JSON.stringify(d.kind)}`);
    if (d.kind === 'span' && !(d.noiseDensity > 0 && d.noiseDensity < 1)) throw new Error(`${where}: noiseDensity must be in (0, 1), got ${d.noiseDensity}`);
    if (d.kind === 'prefix' && !(d.noiseDensity > 0 && d.noiseDensity <= 0.5)) throw new Error(`${where}: a prefix denoiser's noiseDensity must be in (0, 0.5], got ${d.noiseDensity}`);
    if (d.kind === 'span' && !(typeof d.meanSpanLength === 'number' && d.meanSpanLength >= 1)) throw new Error(`${where}: meanSpanLength must be a number ≥ 1, got ${d.meanSpanLength}`);
    if (!(typeof d.rate === 'number' && d.rate >= 0 && Number.isFinite(d.rate))) throw new Error(`${where}: rate must be a finite number ≥ 0, got ${d.rate}`);
    if (!Number.isInteger(paradigmIds[d.paradigm])) throw new Error(`${where}: no id for paradigm token ${JSON.stringify(d.paradigm)} in paradigmIds (${Object.keys(paradigmIds).join(', ') || 'empty'})`);
    total += d.rate;
  });
  if (!(total > 0)) throw new Error('UL2: the denoisers\' rates add up to 0');
}

/** Draw a denoiser with probability rate / Σ rates. Example: `pickDenoiser(UL2_DENOISERS, rng).name`. */
export function pickDenoiser(denoisers: readonly Denoiser[], rng: Rng): Denoiser {
  const total = denoisers.reduce((s, d) => s + d.rate, 0);
  let u = rng.uniform() * total;
  for (const d of denoisers) {
    if (u < d.rate) return d;
    u -= d.rate;
  }
  // Only reachable through rounding at the very top of the range: the last denoiser with a positive rate.
  return [...denoisers].reverse().find((d) => d.rate > 0) as Denoiser;
}

/**
 * One UL2 example from a row of token ids: draw a denoiser, corrupt the row with it, put its paradigm token
 * first. Example: `ul2Example(ids, rng, { vocabSize: 32100, eosId: 1, paradigmIds })`.
 * Does not handle: decoder-only UL2 (concatenate inputs and targets and use a prefix attention mask).
 */
export function ul2Example(tokens: Int32Array, rng: Rng, options: Ul2Options): Ul2Example {
  const denoisers = options.denoisers ?? UL2_DENOISERS;
  checkDenoisers(denoisers, options.paradigmIds);
  const denoiser = pickDenoiser(denoisers, rng);
  const made =
    denoiser.kind === 'prefix'
      ? prefixLm(tokens, rng, { noiseDensity: denoiser.noiseDensity, eosId: options.eosId })
      : spanCorruption(tokens, rng, {
          noiseDensity: denoiser.noiseDensity,
          meanNoiseSpanLength: denoiser.meanSpanLength,
          sentinelIds: options.sentinelIds,
          vocabSize: options.vocabSize,
          eosId: options.eosId,
        });
  const inputs = new Int32Array(made.inputs.length + 1);
  inputs[0] = options.paradigmIds[denoiser.paradigm];
  inputs.set(made.inputs, 1);
  return { denoiser, inputs, targets: made.targets };
}
