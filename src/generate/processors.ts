// Logits processors: small functions that rewrite the next-token scores before a token is picked.
//
// They follow Hugging Face transformers 4.36.2 exactly (class names included, so you can read both side by
// side), and are checked against scores that transformers itself produced (test/fixtures/logits-processors).
// Each one rewrites a (rows, V) Float32Array in place and may look at the token ids so far, (rows, S) — the
// whole row: left padding, prompt and generated tokens, as transformers passes `input_ids`.
//
// Two families, applied in this order by `generate` (see buildLogitsProcessors in config.ts):
//   processors — change what is allowed or likely: repetition penalty, no-repeat-n-gram, bad words,
//                minimum length, forced BOS/EOS, suppressed tokens. Used by greedy, sampling and beams.
//   warpers    — reshape the distribution we sample from: temperature, top-k, top-p, min-p, typical.
//                Used only when sampling.
// In greedy search and sampling the scores are raw logits; in beam search they are log_softmax(logits).
// "Removing" a token means setting its score to -Infinity (probability 0).

import { kthLargest, logSoftmaxInto, logSumExp, softmaxInto } from './math.js';

/** The token ids seen so far: (rows, length), row-major. */
export interface ProcessorInput {
  readonly inputIds: Int32Array;
  readonly rows: number;
  readonly length: number;
}

export interface LogitsProcessor {
  /** The transformers class this mirrors, e.g. "TopKLogitsWarper". */
  readonly name: string;
  /** Rewrites scores (rows, V) in place. */
  process(input: ProcessorInput, scores: Float32Array): void;
}

/** Runs processors in order, like transformers' LogitsProcessorList. */
export function applyProcessors(processors: readonly LogitsProcessor[], input: ProcessorInput, scores: Float32Array): void {
  for (const p of processors) p.process(input, scores);
}

function vocabOf(input: ProcessorInput, scores: Float32Array, who: string): number {
  const V = scores.length / input.rows;
  if (!Number.isInteger(V) || input.inputIds.length !== input.rows * input.length) {
    throw new Error(`${who}: scores have ${scores.length} values and input ids ${input.inputIds.length} for ${input.rows} rows × length ${input.length}; expected rows × V and rows × length`);
  }
  return V;
}

function checkTokenIds(ids: readonly number[], V: number, who: string, what: string): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`${who}: ${what} ${id} is not a token id of a vocabulary of size ${V}`);
  }
}

function toIdList(x: number | readonly number[], who: string): number[] {
  const list = typeof x === 'number' ? [x] : [...x];
  if (list.length === 0) throw new Error(`${who}: expected at least one token id, got []`);
  return list;
}

// -----------------------------------------------------------------------------------------------------------
// Processors

/**
 * Repetition penalty (Keskar et al. 2019, CTRL): every token that already occurs in the row (prompt
 * included) is made less likely: score / penalty if score > 0, score · penalty if score < 0. Each distinct
 * id is penalised once, however often it occurs. `new RepetitionPenaltyLogitsProcessor(1.3)`.
 */
export class RepetitionPenaltyLogitsProcessor implements LogitsProcessor {
  readonly name = 'RepetitionPenaltyLogitsProcessor';
  constructor(readonly penalty: number) {
    if (!(penalty > 0)) throw new Error(`repetition_penalty must be a strictly positive number, got ${penalty}`);
  }
  process(input: ProcessorInput, scores: Float32Array): void {
    const V = vocabOf(input, scores, this.name);
    const seen = new Uint8Array(V);
    for (let r = 0; r < input.rows; r++) {
      seen.fill(0);
      for (let t = 0; t < input.length; t++) {
        const id = input.inputIds[r * input.length + t]!;
        if (id < 0 || id >= V) throw new Error(`${this.name}: input id ${id} (row ${r}, position ${t}) is outside the vocabulary of size ${V}`);
        if (seen[id]) continue;
        seen[id] = 1;
        const s = scores[r * V + id]!;
        scores[r * V + id] = s < 0 ? s * this.penalty : s / this.penalty;
      }
    }
  }
}

/**
 * No-repeat-n-gram: a token that would complete an n-gram already present in the row gets -Infinity.
 * With n = 2: if the row ends in "... the" and "the cat" occurred before, "cat" is banned now.
 */
export class NoRepeatNGramLogitsProcessor implements LogitsProcessor {
  readonly name = 'NoRepeatNGramLogitsProcessor';
  constructor(readonly ngramSize: number) {
    if (!Number.isInteger(ngramSize) || ngramSize <= 0) throw new Error(`no_repeat_ngram_size must be a positive integer, got ${ngramSize}`);
  }
  process(input: ProcessorInput, scores: Float32Array): void {
    const V = vocabOf(input, scores, this.name);
    const n = this.ngramSize;
    const L = input.length;
    if (L + 1 < n) return; // no complete n-gram can exist yet
    for (let r = 0; r < input.rows; r++) {
      const ids = input.inputIds.subarray(r * L, (r + 1) * L);
      // The n-1 tokens the next token would follow: ids[L-n+1 .. L-1].
      const prefixStart = L - n + 1;
      // Every earlier n-gram ids[p .. p+n-1] whose first n-1 tokens equal that prefix bans its last token.
      for (let p = 0; p + n - 1 < L; p++) {
        let same = true;
        for (let j = 0; j < n - 1; j++) {
          if (ids[p + j] !== ids[prefixStart + j]) {
            same = false;
            break;
          }
        }
        if (!same) continue;
        const banned = ids[p + n - 1]!;
        if (banned < 0 || banned >= V) throw new Error(`${this.name}: input id ${banned} (row ${r}, position ${p + n - 1}) is outside the vocabulary of size ${V}`);
        scores[r * V + banned] = -Infinity;
      }
    }
  }
}

/**
 * Adds a bias to the last token of given token sequences when the row ends with the rest of the sequence
 * (a one-token sequence is biased always). transformers' SequenceBiasLogitsProcessor; bad words are the
 * special case bias = -Infinity. Example: `new SequenceBiasLogitsProcessor([[[7], -2], [[3, 4], 5]])`.
 */
export class SequenceBiasLogitsProcessor implements LogitsProcessor {
  readonly name: string = 'SequenceBiasLogitsProcessor';
  readonly biases: ReadonlyArray<readonly [readonly number[], number]>;
  constructor(biases: ReadonlyArray<readonly [readonly number[], number]>) {
    for (const [seq, bias] of biases) {
      if (!Array.isArray(seq) || seq.length === 0 || seq.some((t) => !Number.isInteger(t) || t < 0)) {
        throw new Error(`sequence_bias: each key must be a non-empty list of non-negative token ids, got ${JSON.stringify(seq)}`);
      }
      if (Number.isNaN(bias)) throw new Error(`sequence_bias: bias for ${JSON.stringify(seq)} is NaN`);
    }
    this.biases = biases;
  }
  process(input: ProcessorInput, scores: Float32Array): void {
    const V = vocabOf(input, scores, this.name);
    for (const [seq] of this.biases) checkTokenIds(seq, V, this.name, 'token id');
    const L = input.length;
    // transformers sums the biases into one (rows, V) float32 array first, then adds it once (-Infinity + x stays
    // -Infinity). Only the entries that get a bias are kept here (index → float32 sum): adding the zeros of a
    // whole (rows, V) array was a pass over every score per step (2–3 % of a Marian beam-4 step).
    const bias = new Map<number, number>();
    const addBias = (i: number, value: number) => bias.set(i, Math.fround((bias.get(i) ?? 0) + value));
    for (const [seq, value] of this.biases) {
      const last = seq[seq.length - 1]!;
      if (seq.length === 1) {
        for (let r = 0; r < input.rows; r++) addBias(r * V + last, value);
        continue;
      }
      if (seq.length > L) continue; // longer than the context: cannot match yet
      const prefix = seq.length - 1;
      for (let r = 0; r < input.rows; r++) {
        let match = true;
        for (let j = 0; j < prefix; j++) {
          if (input.inputIds[r * L + L - prefix + j] !== seq[j]) {
            match = false;
            break;
          }
        }
        if (match) addBias(r * V + last, value);
      }
    }
    for (const [i, b] of bias) scores[i] = scores[i]! + b;
  }
}

/**
 * Bad words: token sequences that must never be generated. A one-token entry is banned everywhere; for a
 * longer entry its last token is banned right after the rest of it. Entries equal to [eos] are ignored (as
 * in transformers: banning EOS would make stopping impossible). `new NoBadWordsLogitsProcessor([[499]], 0)`.
 */
export class NoBadWordsLogitsProcessor extends SequenceBiasLogitsProcessor {
  override readonly name = 'NoBadWordsLogitsProcessor';
  constructor(badWordsIds: readonly (readonly number[])[], eosTokenId?: number | readonly number[]) {
    if (!Array.isArray(badWordsIds) || badWordsIds.length === 0) {
      throw new Error(`bad_words_ids must be a non-empty list of lists of token ids, got ${JSON.stringify(badWordsIds)}`);
    }
    const eos = eosTokenId === undefined ? [] : typeof eosTokenId === 'number' ? [eosTokenId] : [...eosTokenId];
    const kept = badWordsIds.filter((seq) => !(seq.length === 1 && eos.includes(seq[0]!)));
    super(kept.map((seq) => [seq, -Infinity] as const));
  }
}

/** Forbids EOS while the row (prompt included) is shorter than minLength. */
export class MinLengthLogitsProcessor implements LogitsProcessor {
  readonly name = 'MinLengthLogitsProcessor';
  readonly eos: number[];
  constructor(readonly minLength: number, eosTokenId: number | readonly number[]) {
    if (!Number.isInteger(minLength) || minLength < 0) throw new Error(`min_length must be a non-negative integer, got ${minLength}`);
    this.eos = toIdList(eosTokenId, this.name);
  }
  process(input: ProcessorInput, scores: Float32Array): void {
    const V = vocabOf(input, scores, this.name);
    if (input.length >= this.minLength) return;
    checkTokenIds(this.eos, V, this.name, 'eos_token_id');
    for (let r = 0; r < input.rows; r++) for (const e of this.eos) scores[r * V + e] = -Infinity;
  }
}

/** Forbids EOS until minNewTokens tokens have been generated after the prompt (of length promptLength). */
export class MinNewTokensLengthLogitsProcessor implements LogitsProcessor {
  readonly name = 'MinNewTokensLengthLogitsProcessor';
  readonly eos: number[];
  constructor(readonly promptLength: number, readonly minNewTokens: number, eosTokenId: number | readonly number[]) {
    if (!Number.isInteger(minNewTokens) || minNewTokens < 0) throw new Error(`min_new_tokens must be a non-negative integer, got ${minNewTokens}`);
    this.eos = toIdList(eosTokenId, this.name);
  }
  process(input: ProcessorInput, scores: Float32Array): void {
    const V = vocabOf(input, scores, this.name);
    if (input.length - this.promptLength >= this.minNewTokens) return;
    checkTokenIds(this.eos, V, this.name, 'eos_token_id');
    for (let r = 0; r < input.rows; r++) for (const e of this.eos) scores[r * V + e] = -Infinity;
  }
}

/** Forces `bosTokenId` as the first generated token when the row holds exactly one token (encoder-decoder start). */
export class ForcedBOSTokenLogitsProcessor implements LogitsProcessor {
  readonly name = 'ForcedBOSTokenLogitsProcessor';
  constructor(readonly bosTokenId: number) {}
  process(input: ProcessorInput, scores: Float32Array): void {
    const V = vocabOf(input, scores, this.name);
    if (input.length !== 1) return;
    checkTokenIds([this.bosTokenId], V, this.name, 'forced_bos_token_id');
    for (let r = 0; r < input.rows; r++) {
      scores.fill(-Infinity, r * V, (r + 1) * V);
      scores[r * V + this.bosTokenId] = 0;
    }
  }
}

/** Forces EOS as the last token: when the row is one short of maxLength, every score but EOS becomes -Infinity. */
export class ForcedEOSTokenLogitsProcessor implements LogitsProcessor {
  readonly name = 'ForcedEOSTokenLogitsProcessor';
  readonly eos: number[];
  constructor(readonly maxLength: number, eosTokenId: number | readonly number[]) {
    this.eos = toIdList(eosTokenId, this.name);
  }
  process(input: ProcessorInput, scores: Float32Array): void {
    const V = vocabOf(input, scores, this.name);
    if (input.length !== this.maxLength - 1) return;
    checkTokenIds(this.eos, V, this.name, 'forced_eos_token_id');
    for (let r = 0; r < input.rows; r++) {
      scores.fill(-Infinity, r * V, (r + 1) * V);
      for (const e of this.eos) scores[r * V + e] = 0;
    }
  }
}

/** Never generate these tokens (transformers' suppress_tokens). */
export class SuppressTokensLogitsProcessor implements LogitsProcessor {
  readonly name = 'SuppressTokensLogitsProcessor';
  constructor(readonly tokens: readonly number[]) {}
  process(input: ProcessorInput, scores: Float32Array): void {
    const V = vocabOf(input, scores, this.name);
    checkTokenIds(this.tokens, V, this.name, 'suppressed token');
    for (let r = 0; r < input.rows; r++) for (const t of this.tokens) scores[r * V + t] = -Infinity;
  }
}

/** Do not generate these tokens as the first new token, i.e. when the row length equals beginIndex. */
export class SuppressTokensAtBeginLogitsProcessor implements LogitsProcessor {
  readonly name = 'SuppressTokensAtBeginLogitsProcessor';
  constructor(readonly tokens: readonly number[], readonly beginIndex: number) {}
  process(input: ProcessorInput, scores: Float32Array): void {
    const V = vocabOf(input, scores, this.name);
    if (input.length !== this.beginIndex) return;
    checkTokenIds(this.tokens, V, this.name, 'suppressed token');
    for (let r = 0; r < input.rows; r++) for (const t of this.tokens) scores[r * V + t] = -Infinity;
  }
}

/** Replaces scores by log_softmax(scores) (transformers' renormalize_logits=True; always the last processor). */
export class LogitNormalization implements LogitsProcessor {
  readonly name = 'LogitNormalization';
  process(input: ProcessorInput, scores: Float32Array): void {
    const V = vocabOf(input, scores, this.name);
    for (let r = 0; r < input.rows; r++) {
      const row = scores.subarray(r * V, (r + 1) * V);
      logSoftmaxInto(row, row);
    }
  }
}

// -----------------------------------------------------------------------------------------------------------
// Warpers (sampling only)

/** scores / temperature: below 1 sharpens the distribution, above 1 flattens it. */
export class TemperatureLogitsWarper implements LogitsProcessor {
  readonly name = 'TemperatureLogitsWarper';
  constructor(readonly temperature: number) {
    if (!(temperature > 0) || !Number.isFinite(temperature)) {
      throw new Error(`temperature must be a strictly positive number, got ${temperature} (for the most likely token use greedy decoding: do_sample: false)`);
    }
  }
  process(input: ProcessorInput, scores: Float32Array): void {
    vocabOf(input, scores, this.name);
    for (let i = 0; i < scores.length; i++) scores[i] = scores[i]! / this.temperature;
  }
}

/**
 * Top-k: keep the k highest scores, remove the rest. Everything strictly below the k-th largest value goes,
 * so tokens tied with it survive. k is raised to minTokensToKeep and capped at V.
 */
export class TopKLogitsWarper implements LogitsProcessor {
  readonly name = 'TopKLogitsWarper';
  constructor(readonly topK: number, readonly minTokensToKeep = 1, readonly filterValue = -Infinity) {
    if (!Number.isInteger(topK) || topK <= 0) throw new Error(`top_k must be a positive integer, got ${topK}`);
  }
  process(input: ProcessorInput, scores: Float32Array): void {
    const V = vocabOf(input, scores, this.name);
    const k = Math.min(Math.max(this.topK, this.minTokensToKeep), V);
    for (let r = 0; r < input.rows; r++) {
      const row = scores.subarray(r * V, (r + 1) * V);
      const threshold = kthLargest(row, k);
      for (let i = 0; i < V; i++) if (row[i]! < threshold) row[i] = this.filterValue;
    }
  }
}

/**
 * Top-p (nucleus, Holtzman et al. 2019): keep the smallest set of most likely tokens whose probabilities add
 * up to at least p. transformers sorts ascending, takes the cumulative softmax and removes every token whose
 * cumulative probability is <= 1 - p, but never the last (most likely) minTokensToKeep tokens.
 *
 * The same rule read from the top: with above(t) = the total probability of the tokens more likely than t,
 * t's ascending cumulative probability is 1 - above(t), so t is removed when 1 - above(t) <= 1 - p. Walking
 * from the most likely token we only need to sort the few tokens of the nucleus, not all V = 50257 of them:
 * we first collect the tokens with probability >= eps, lowering eps until they hold at least p of the mass.
 * (Tokens tied in score are taken in index order; PyTorch's sort leaves their order unspecified.)
 */
export class TopPLogitsWarper implements LogitsProcessor {
  readonly name = 'TopPLogitsWarper';
  constructor(readonly topP: number, readonly minTokensToKeep = 1, readonly filterValue = -Infinity) {
    if (!(topP >= 0 && topP <= 1)) throw new Error(`top_p must be a number in [0, 1], got ${topP}`);
    if (!Number.isInteger(minTokensToKeep) || minTokensToKeep < 1) throw new Error(`min_tokens_to_keep must be a positive integer, got ${minTokensToKeep}`);
  }
  process(input: ProcessorInput, scores: Float32Array): void {
    const V = vocabOf(input, scores, this.name);
    // PyTorch compares float32 cumulative sums with 1 - top_p rounded to float32.
    const threshold = Math.fround(1 - this.topP);
    for (let r = 0; r < input.rows; r++) {
      const row = scores.subarray(r * V, (r + 1) * V);
      const lse = logSumExp(row); // log Σ exp(scores): p(i) = exp(row[i] - lse)
      if (lse === -Infinity) continue; // nothing left to keep or remove
      // Candidates: every token with p >= eps; lower eps until they hold >= top_p of the mass (and enough tokens).
      const all = new Int32Array(V);
      let count = 0;
      for (let eps = 1e-3; ; eps *= 1e-3) {
        const minScore = lse + Math.log(eps);
        count = 0;
        let mass = 0;
        for (let i = 0; i < V; i++) {
          if (row[i]! >= minScore) {
            all[count++] = i;
            mass += Math.exp(row[i]! - lse);
          }
        }
        if ((mass >= this.topP && count >= this.minTokensToKeep) || eps < 1e-40) break;
      }
      const candidates = all.subarray(0, count).sort((a, b) => row[b]! - row[a]! || a - b); // most likely first
      const keep = new Uint8Array(V);
      let above = 0; // probability of the tokens before this one
      for (let j = 0; j < candidates.length; j++) {
        const i = candidates[j]!;
        if (j >= this.minTokensToKeep && Math.fround(1 - above) <= threshold) break; // removed, and all after it
        keep[i] = 1;
        above += Math.exp(row[i]! - lse);
      }
      for (let i = 0; i < V; i++) if (!keep[i]) row[i] = this.filterValue;
    }
  }
}

/**
 * Min-p (Nguyen et al. 2024): keep tokens whose probability is at least minP × (probability of the most likely
 * token); always keep the minTokensToKeep most likely. Not in transformers 4.36 (added in 4.39 as
 * MinPLogitsWarper, applied after top-p); this is that definition.
 */
export class MinPLogitsWarper implements LogitsProcessor {
  readonly name = 'MinPLogitsWarper';
  constructor(readonly minP: number, readonly minTokensToKeep = 1, readonly filterValue = -Infinity) {
    if (!(minP >= 0 && minP <= 1)) throw new Error(`min_p must be a number in [0, 1], got ${minP}`);
  }
  process(input: ProcessorInput, scores: Float32Array): void {
    const V = vocabOf(input, scores, this.name);
    const probs = new Float32Array(V);
    const keep = Math.min(this.minTokensToKeep, V);
    for (let r = 0; r < input.rows; r++) {
      const row = scores.subarray(r * V, (r + 1) * V);
      softmaxInto(row, probs);
      let top = 0;
      for (let i = 0; i < V; i++) if (probs[i]! > top) top = probs[i]!;
      const cut = Math.fround(this.minP * top);
      // The minTokensToKeep most likely tokens are protected: everything scoring at least the k-th best.
      const protectedValue = kthLargest(row, keep);
      for (let i = 0; i < V; i++) if (probs[i]! < cut && row[i]! < protectedValue) row[i] = this.filterValue;
    }
  }
}

/**
 * Locally typical sampling (Meister et al. 2022): keep the tokens whose surprisal -log p is closest to the
 * entropy H of the distribution, adding them in that order until their probabilities reach `mass`.
 */
export class TypicalLogitsWarper implements LogitsProcessor {
  readonly name = 'TypicalLogitsWarper';
  constructor(readonly mass: number, readonly minTokensToKeep = 1, readonly filterValue = -Infinity) {
    if (!(mass > 0 && mass < 1)) throw new Error(`typical_p must be a number in (0, 1), got ${mass}`);
  }
  process(input: ProcessorInput, scores: Float32Array): void {
    const V = vocabOf(input, scores, this.name);
    const logp = new Float32Array(V);
    for (let r = 0; r < input.rows; r++) {
      const row = scores.subarray(r * V, (r + 1) * V);
      logSoftmaxInto(row, logp);
      // H = -Σ p log p (terms with p = 0 contribute nothing; torch uses nansum for the 0 · -inf ones)
      let entropy = 0;
      for (let i = 0; i < V; i++) {
        const p = Math.exp(logp[i]!);
        if (p > 0) entropy -= logp[i]! * p;
      }
      // Distance of each token's surprisal from the entropy; sort by it, ascending (ties by index).
      const shifted = new Float32Array(V);
      for (let i = 0; i < V; i++) shifted[i] = Math.abs(-logp[i]! - entropy);
      // (A full sort of V indices: about 10-20 ms for V = 50257. Typical sampling is rarely used; kept simple.)
      const order = Int32Array.from({ length: V }, (_, i) => i).sort((a, b) => shifted[a]! - shifted[b]! || a - b);
      // Cumulative probability in that order; the cut-off is the first position where it reaches `mass`.
      let cum = 0;
      let lastIndex = 0; // = number of positions whose cumulative probability is < mass
      for (let j = 0; j < V; j++) {
        cum += Math.exp(logp[order[j]!]!);
        if (Math.fround(cum) < Math.fround(this.mass)) lastIndex++;
      }
      lastIndex = Math.min(lastIndex, V - 1);
      const cutShift = shifted[order[lastIndex]!]!;
      for (let j = this.minTokensToKeep; j < V; j++) {
        const i = order[j]!;
        if (shifted[i]! > cutShift) row[i] = this.filterValue;
      }
    }
  }
}
