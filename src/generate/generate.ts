// The generation loop: greedy search, sampling and beam search over a CausalLMStepper, with the semantics of
// Hugging Face transformers 4.36.2 `generate()` (same tokens, same beam scores for the same logits).
//
// One step, for every row:   logits (V) ──processors──► scores ──pick──► next token, appended to the row
//   greedy:   pick = argmax(scores)                          scores = processors(raw logits)
//   sampling: pick = draw from softmax(warpers(scores))      (temperature, top-k, top-p, min-p, typical)
//   beams:    scores = processors(log_softmax(logits)) + the beam's running score; keep the best 2·num_beams
//             candidates per prompt and let BeamSearchScorer (beam.ts) choose the next beams and finished ones.
// A row that emits EOS (or a stop string) is finished: from then on it gets pad_token_id, and the loop ends
// when every row is finished or the rows reach max_length.
//
// The loop is written as a small state machine (a "run": nextStep → model → advance) so one implementation
// serves the synchronous `generate`, the Promise-based `generateAsync` and the streaming `streamText`.
//
// Encoder-decoder models (Marian, T5-style) use the same loop: the prompt is the decoder's start,
// [[decoder_start_token_id]] per source sentence, and the stepper holds the encoder output (copying its rows
// in reorderCache). max_new_tokens, min_length and forced EOS then count the decoder tokens, as in transformers.
//
// Shapes: B prompts, e = rows per prompt (num_beams, or num_return_sequences when sampling), rows = B·e after
// the first step (B at prefill), L = current row length, S0 = padded prompt length, V = vocabulary.

import { getBackend } from '../backend/index.js';
import { LOG_SOFTMAX } from '../tensor/ops_nn.js';
import { BeamSearchScorer } from './beam.js';
import { buildLogitsProcessors, buildLogitsWarpers, resolveGenerationConfig, type GenerationConfig, type ResolvedGenerationConfig } from './config.js';
import { argmax, logSumExp, softmaxInto, topK } from './math.js';
import { leftPad, positionIdsFromMask, type CausalLMStepper, type StepBatch } from './model.js';
import { applyProcessors, type LogitsProcessor } from './processors.js';
import { randomSeed, sampleIndex, seededUniform, type Uniform } from './rng.js';
import { StopStringMatcher, TextStreamer, type DecodeFn, type Streamer, type TextSource } from './stream.js';

/** Generation settings (GenerationConfig, snake_case as in transformers) plus per-call inputs and hooks. */
export interface GenerateOptions extends Partial<GenerationConfig> {
  /**
   * (B, S0) 1 = real token, 0 = padding. Default: prompts of different lengths are left-padded (mask 0 on the
   * padding); for equal-length prompts transformers' rule applies: 0 wherever the id is pad_token_id, unless
   * the pad token is also an EOS token (then all 1).
   */
  attention_mask?: readonly ArrayLike<number>[];
  /** Extra processors, applied after the ones the config builds (transformers' logits_processor argument). */
  logits_processor?: readonly LogitsProcessor[];
  /** Receives each generated token (greedy and sampling only). */
  streamer?: Streamer;
  /** Token ids → text; needed for stop_strings. */
  decode?: DecodeFn;
  /** Uniform [0, 1) source for sampling; overrides `seed`. */
  rng?: Uniform;
}

export type FinishReason = 'eos' | 'stop_string' | 'length';

/** What generate returns; field names follow transformers' GenerateOutput where it has them. */
export interface GenerateOutput {
  /** Prompt (as padded) + generated tokens; all rows the same length. Beams: num_return_sequences per prompt. */
  sequences: Int32Array[];
  /** S0: where the generated tokens start in every row. */
  prompt_length: number;
  /** Beam search: the length-normalised score of each returned sequence. */
  sequences_scores?: Float32Array;
  /** With output_scores: the processed scores of every step, (rows, V) each (for beams: rows = B·num_beams). */
  scores?: Float32Array[];
  /**
   * With output_logprobs (greedy/sampling): per row, log p(token) of each generated token under the model
   * (log_softmax of the raw logits). 0 after the row finished (those tokens are padding, not chosen).
   */
  logprobs?: Float32Array[];
  /** With output_logprobs: the same under the distribution the token was picked from (after processors and warpers). */
  processed_logprobs?: Float32Array[];
  /** Greedy/sampling: why each row stopped. */
  finish_reasons?: FinishReason[];
  /** Sampling: the seed used (report it to reproduce a run). */
  seed?: number;
}

// -----------------------------------------------------------------------------------------------------------
// Prompts and the growing rows

/** The rows being generated: ids and mask with room for max_length tokens per row. */
class TokenRows {
  rows: number;
  length: number;
  private ids: Int32Array;
  private mask: Uint8Array;
  private cached: { inputIds: Int32Array; attentionMask: Uint8Array; positionIds: Int32Array } | null = null;

  constructor(ids: Int32Array, mask: Uint8Array, rows: number, length: number, readonly capacity: number) {
    this.rows = rows;
    this.length = length;
    this.ids = new Int32Array(rows * capacity);
    this.mask = new Uint8Array(rows * capacity);
    for (let r = 0; r < rows; r++) {
      this.ids.set(ids.subarray(r * length, (r + 1) * length), r * capacity);
      this.mask.set(mask.subarray(r * length, (r + 1) * length), r * capacity);
    }
  }

  /** Contiguous (rows, L) copies for the model and the processors. */
  view(): { inputIds: Int32Array; attentionMask: Uint8Array; positionIds: Int32Array } {
    if (this.cached) return this.cached;
    const { rows, length: L, capacity } = this;
    const inputIds = new Int32Array(rows * L);
    const attentionMask = new Uint8Array(rows * L);
    for (let r = 0; r < rows; r++) {
      inputIds.set(this.ids.subarray(r * capacity, r * capacity + L), r * L);
      attentionMask.set(this.mask.subarray(r * capacity, r * capacity + L), r * L);
    }
    this.cached = { inputIds, attentionMask, positionIds: positionIdsFromMask(attentionMask, rows, L) };
    return this.cached;
  }

  /** New row i = old row from[i] (from.length rows afterwards). */
  select(from: Int32Array): void {
    const { capacity } = this;
    const ids = new Int32Array(from.length * capacity);
    const mask = new Uint8Array(from.length * capacity);
    for (let i = 0; i < from.length; i++) {
      ids.set(this.ids.subarray(from[i]! * capacity, (from[i]! + 1) * capacity), i * capacity);
      mask.set(this.mask.subarray(from[i]! * capacity, (from[i]! + 1) * capacity), i * capacity);
    }
    this.ids = ids;
    this.mask = mask;
    this.rows = from.length;
    this.cached = null;
  }

  /** Appends one token per row; generated tokens are always attended to (mask 1). */
  append(tokens: Int32Array): void {
    if (this.length >= this.capacity) throw new Error(`generate: internal error, rows are full (${this.capacity} tokens)`);
    for (let r = 0; r < this.rows; r++) {
      this.ids[r * this.capacity + this.length] = tokens[r]!;
      this.mask[r * this.capacity + this.length] = 1;
    }
    this.length++;
    this.cached = null;
  }

  row(r: number): Int32Array {
    return this.ids.slice(r * this.capacity, r * this.capacity + this.length);
  }
}

/**
 * Prompts → one left-padded (B, S0) batch. Prompts of different lengths are left-padded with pad_token_id.
 * Equal-length prompts without a mask get transformers' default mask: 0 where the id is pad_token_id if the
 * pad token is not also an EOS token, else all ones.
 */
function preparePrompts(prompts: readonly ArrayLike<number>[], mask: readonly ArrayLike<number>[] | undefined, cfg: ResolvedGenerationConfig, V: number): { ids: Int32Array; mask: Uint8Array; rows: number } {
  const rows = prompts.length;
  const S0 = cfg.prompt_length;
  let ids: Int32Array;
  let m: Uint8Array;
  let inferredFrom: number | null = null; // the pad id the mask was derived from, if it was
  const ragged = prompts.some((p) => p.length !== S0);
  if (mask) {
    if (mask.length !== rows || mask.some((row, r) => row.length !== prompts[r]!.length) || ragged) {
      throw new Error(`generate: attention_mask must have the shape of the (rectangular) input ids, [${rows}, ${S0}]; got ${mask.length} rows of lengths [${mask.map((x) => x.length).join(', ')}] for ids of lengths [${prompts.map((p) => p.length).join(', ')}]`);
    }
    ids = new Int32Array(rows * S0);
    m = new Uint8Array(rows * S0);
    for (let r = 0; r < rows; r++) {
      for (let t = 0; t < S0; t++) {
        ids[r * S0 + t] = prompts[r]![t]!;
        m[r * S0 + t] = mask[r]![t] ? 1 : 0;
      }
    }
  } else if (ragged) {
    if (cfg.pad_token_id === null) {
      throw new Error(`generate: prompts of different lengths [${prompts.map((p) => p.length).join(', ')}] need pad_token_id (or eos_token_id) to left-pad them`);
    }
    const padded = leftPad(prompts, cfg.pad_token_id);
    ids = padded.inputIds;
    m = padded.attentionMask;
  } else {
    ids = new Int32Array(rows * S0);
    for (let r = 0; r < rows; r++) for (let t = 0; t < S0; t++) ids[r * S0 + t] = prompts[r]![t]!;
    m = new Uint8Array(rows * S0).fill(1);
    const pad = cfg.pad_token_id;
    if (pad !== null && !cfg.eos.includes(pad) && ids.includes(pad)) {
      for (let i = 0; i < ids.length; i++) m[i] = ids[i] === pad ? 0 : 1;
      inferredFrom = pad;
    }
  }
  for (let r = 0; r < rows; r++) {
    let seenReal = false;
    for (let t = 0; t < S0; t++) {
      const id = ids[r * S0 + t]!;
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`generate: prompt ${r} has token id ${id} at position ${t}, outside the vocabulary of size ${V}`);
      if (m[r * S0 + t]) seenReal = true;
      else if (seenReal) {
        if (inferredFrom !== null) {
          throw new Error(`generate: prompt ${r} holds pad_token_id ${inferredFrom} at position ${t} after real tokens; without an attention_mask it counts as padding (transformers' rule), which would be right padding. Pass attention_mask, or a pad_token_id that does not occur in the prompt`);
        }
        throw new Error(`generate: prompt ${r} is right-padded (mask 0 at position ${t} after real tokens); decoder-only generation appends on the right, so pad on the left (see leftPad)`);
      }
    }
    if (!seenReal) throw new Error(`generate: prompt ${r} has no real token (its attention mask is all 0)`);
  }
  return { ids, mask: m, rows };
}

// -----------------------------------------------------------------------------------------------------------
// Runs: the state machines

interface Step {
  batch: StepBatch;
  /** Rows to reorder/copy the model's cache by before this forward (null: unchanged). */
  reorder: Int32Array | null;
}

interface Run {
  /** The next model call, or null when generation is over. */
  nextStep(): Step | null;
  /** Consume the logits (rows, V) of the last nextStep(). */
  advance(logits: Float32Array): void;
  output(): GenerateOutput;
}

/**
 * The next model call for the rows as they are now: everything so far, and how much of it the model has seen
 * (nothing before the prefill; after it, all but the newest token). A pending reorder that changes nothing is
 * dropped.
 */
function makeStep(tokens: TokenRows, prefilled: boolean, reorder: Int32Array | null): Step {
  const v = tokens.view();
  const batch: StepBatch = {
    rows: tokens.rows,
    length: tokens.length,
    pastLength: prefilled ? tokens.length - 1 : 0,
    inputIds: v.inputIds,
    attentionMask: v.attentionMask,
    positionIds: v.positionIds,
  };
  return { batch, reorder: reorder && !isIdentity(reorder, batch.rows) ? reorder : null };
}

function isIdentity(rows: Int32Array, before: number): boolean {
  if (rows.length !== before) return false;
  for (let i = 0; i < rows.length; i++) if (rows[i] !== i) return false;
  return true;
}

/** Repeat every row e times: row r becomes rows r·e .. r·e + e - 1 (torch.repeat_interleave). */
function expansion(rows: number, e: number): Int32Array {
  const from = new Int32Array(rows * e);
  for (let i = 0; i < from.length; i++) from[i] = Math.floor(i / e);
  return from;
}

function selectRowsOf(data: Float32Array, V: number, from: Int32Array): Float32Array {
  const out = new Float32Array(from.length * V);
  for (let i = 0; i < from.length; i++) out.set(data.subarray(from[i]! * V, (from[i]! + 1) * V), i * V);
  return out;
}

/** Greedy search and sampling (transformers' greedy_search and sample). */
class SearchRun implements Run {
  private readonly tokens: TokenRows;
  private readonly processors: LogitsProcessor[];
  private readonly warpers: LogitsProcessor[];
  private readonly uniform: Uniform | null;
  private readonly seed: number | undefined;
  private readonly stop: StopStringMatcher | null;
  private finished: Uint8Array; // 1 once a row emitted EOS or a stop string
  private reasons: FinishReason[];
  private logprobs: Float32Array[] = []; // per row, one entry per generated token
  private processedLogprobs: Float32Array[] = [];
  private steps = 0; // tokens generated so far
  private readonly scores: Float32Array[] = [];
  private prefilled = false;
  private pendingReorder: Int32Array | null = null;
  private over = false;

  constructor(
    private readonly cfg: ResolvedGenerationConfig,
    prompts: { ids: Int32Array; mask: Uint8Array; rows: number },
    private readonly V: number,
    extra: readonly LogitsProcessor[],
    private readonly streamer: Streamer | undefined,
    decode: DecodeFn | undefined,
    rng: Uniform | undefined,
  ) {
    this.tokens = new TokenRows(prompts.ids, prompts.mask, prompts.rows, cfg.prompt_length, cfg.max_length);
    this.processors = buildLogitsProcessors(cfg, extra);
    this.warpers = cfg.do_sample ? buildLogitsWarpers(cfg) : [];
    if (cfg.do_sample) {
      if (rng) this.uniform = rng;
      else {
        this.seed = cfg.seed ?? randomSeed();
        this.uniform = seededUniform(this.seed);
      }
    } else {
      this.uniform = null;
    }
    if (cfg.stop_strings && cfg.stop_strings.length > 0) {
      if (!decode) throw new Error('generate: stop_strings need a decode function (options.decode: ids => text)');
      if (cfg.pad_token_id === null) throw new Error('generate: stop_strings need pad_token_id (or eos_token_id) to fill the rows that stopped');
      this.stop = new StopStringMatcher(cfg.stop_strings, decode, prompts.rows);
    } else {
      this.stop = null;
    }
    this.finished = new Uint8Array(prompts.rows);
    this.reasons = new Array<FinishReason>(prompts.rows).fill('length');
  }

  nextStep(): Step | null {
    if (this.over) return null;
    const step = makeStep(this.tokens, this.prefilled, this.pendingReorder);
    this.pendingReorder = null;
    return step;
  }

  advance(logits: Float32Array): void {
    const { V, cfg } = this;
    let rows = this.tokens.rows;
    if (logits.length !== rows * V) {
      throw new Error(`generate: the model returned ${logits.length} logits, expected rows × V = ${rows} × ${V} = ${rows * V}`);
    }
    if (!this.prefilled) {
      this.prefilled = true;
      // num_return_sequences > 1 (sampling): each prompt continues as that many independent rows.
      const e = cfg.num_return_sequences;
      if (e > 1) {
        const from = expansion(rows, e);
        logits = selectRowsOf(logits, V, from);
        this.tokens.select(from);
        this.stop?.reorder(from);
        this.finished = new Uint8Array(from.length);
        this.reasons = new Array<FinishReason>(from.length).fill('length');
        this.pendingReorder = from;
        rows = from.length;
      }
      const most = cfg.output_logprobs ? cfg.max_length - cfg.prompt_length : 0; // tokens a row can get
      this.logprobs = Array.from({ length: rows }, () => new Float32Array(most));
      this.processedLogprobs = Array.from({ length: rows }, () => new Float32Array(most));
    }

    // Processors (then warpers when sampling) on a copy of the raw logits, all rows at once. With none, the
    // scores are the logits themselves.
    const processed = this.processors.length + this.warpers.length > 0;
    const v = this.tokens.view();
    const input = { inputIds: v.inputIds, rows, length: this.tokens.length };
    const scores = processed ? Float32Array.from(logits) : logits;
    applyProcessors(this.processors, input, scores);
    applyProcessors(this.warpers, input, scores);
    if (cfg.output_scores) this.scores.push(Float32Array.from(scores));

    const next = new Int32Array(rows);
    const probs = new Float32Array(V);
    for (let r = 0; r < rows; r++) {
      const row = scores.subarray(r * V, (r + 1) * V);
      let token: number;
      let rowLogSumExp: number | null = null;
      if (this.uniform) {
        rowLogSumExp = softmaxInto(row, probs); // probabilities to draw from
        token = sampleIndex(probs, this.uniform);
      } else {
        token = argmax(row);
      }
      if (this.finished[r]) {
        // transformers: next_tokens * unfinished + pad_token_id * (1 - unfinished). Log-probabilities stay 0.
        next[r] = cfg.pad_token_id ?? token;
        continue;
      }
      next[r] = token;
      if (cfg.output_logprobs) {
        // log p(token) = score(token) - log Σ exp(scores), under the model and under the processed scores.
        // (Each log Σ exp is a pass of V exponentials, about 1 ms for GPT-2's 50257 tokens: hence opt-in.)
        const raw = logits.subarray(r * V, (r + 1) * V);
        const rawLogSumExp = !processed && rowLogSumExp !== null ? rowLogSumExp : logSumExp(raw);
        this.logprobs[r]![this.steps] = raw[token]! - rawLogSumExp;
        this.processedLogprobs[r]![this.steps] = row[token]! - (rowLogSumExp ?? (processed ? logSumExp(row) : rawLogSumExp));
      }
    }
    this.tokens.append(next);
    this.steps++;

    for (let r = 0; r < rows; r++) {
      if (this.finished[r]) continue;
      this.streamer?.put(r, next[r]!);
      if (cfg.eos.includes(next[r]!)) {
        this.finished[r] = 1;
        this.reasons[r] = 'eos';
      } else if (this.stop?.push(r, next[r]!)) {
        this.finished[r] = 1;
        this.reasons[r] = 'stop_string';
      }
    }
    if (this.finished.every((f) => f === 1) || this.tokens.length >= cfg.max_length) this.over = true;
  }

  output(): GenerateOutput {
    this.streamer?.end();
    const rows = this.tokens.rows;
    const out: GenerateOutput = {
      sequences: Array.from({ length: rows }, (_, r) => this.tokens.row(r)),
      prompt_length: this.cfg.prompt_length,
      finish_reasons: this.reasons,
    };
    if (this.cfg.output_logprobs) {
      out.logprobs = this.logprobs.map((l) => l.slice(0, this.steps));
      out.processed_logprobs = this.processedLogprobs.map((l) => l.slice(0, this.steps));
    }
    if (this.cfg.output_scores) out.scores = this.scores;
    if (this.seed !== undefined) out.seed = this.seed;
    return out;
  }
}

/** Beam search (transformers' beam_search + BeamSearchScorer). */
class BeamRun implements Run {
  private readonly tokens: TokenRows;
  private readonly processors: LogitsProcessor[];
  private readonly scorer: BeamSearchScorer;
  private readonly nb: number;
  private readonly batchSize: number;
  private beamScores: Float32Array; // (B·nb) running sums of log-probabilities
  private readonly scores: Float32Array[] = [];
  private prefilled = false;
  private pendingReorder: Int32Array | null = null;
  private over = false;

  constructor(
    private readonly cfg: ResolvedGenerationConfig,
    prompts: { ids: Int32Array; mask: Uint8Array; rows: number },
    private readonly V: number,
    extra: readonly LogitsProcessor[],
  ) {
    this.tokens = new TokenRows(prompts.ids, prompts.mask, prompts.rows, cfg.prompt_length, cfg.max_length);
    this.processors = buildLogitsProcessors(cfg, extra);
    this.nb = cfg.num_beams;
    this.batchSize = prompts.rows;
    this.scorer = new BeamSearchScorer(prompts.rows, cfg.num_beams, cfg.length_penalty, cfg.early_stopping, cfg.num_return_sequences, cfg.max_length);
    // Beam 0 of each prompt starts at 0 and the others at -1e9, so the first step picks distinct tokens from
    // beam 0 instead of num_beams copies of the same token.
    this.beamScores = new Float32Array(prompts.rows * cfg.num_beams);
    for (let i = 0; i < this.beamScores.length; i++) this.beamScores[i] = i % cfg.num_beams === 0 ? 0 : -1e9;
  }

  nextStep(): Step | null {
    if (this.over) return null;
    const step = makeStep(this.tokens, this.prefilled, this.pendingReorder);
    this.pendingReorder = null;
    return step;
  }

  advance(logits: Float32Array): void {
    const { V, nb, cfg } = this;
    let modelRows = this.tokens.rows; // rows the model just computed (B at prefill, B·nb later)
    if (logits.length !== modelRows * V) {
      throw new Error(`generate: the model returned ${logits.length} logits, expected rows × V = ${modelRows} × ${V} = ${modelRows * V}`);
    }
    let firstStep = false;
    if (!this.prefilled) {
      // The prefill ran once per prompt; every prompt now becomes num_beams identical beams.
      this.prefilled = true;
      firstStep = true;
      const from = expansion(modelRows, nb);
      logits = selectRowsOf(logits, V, from);
      this.tokens.select(from);
      modelRows = from.length;
    }
    const rows = modelRows;
    const L = this.tokens.length;

    // log_softmax per row, then the processors on the log-probabilities (all rows at once).
    const logp = logSoftmaxRows(logits, rows, V);
    const v = this.tokens.view();
    applyProcessors(this.processors, { inputIds: v.inputIds, rows, length: L }, logp);
    if (cfg.output_scores) this.scores.push(Float32Array.from(logp));

    // Candidate score = processed log-probability + the beam's running score (float32, as in PyTorch): topK
    // adds each row's score as it reads the row.
    // Best k candidates of each prompt over its nb × V (beam, token) pairs; k = max(2, 1 + #eos) · nb so that
    // at least nb of them are not EOS.
    const k = Math.min(Math.max(2, 1 + cfg.eos.length) * nb, nb * V); // (a vocabulary smaller than 2 tokens caps it)
    const candScore = new Float32Array(this.batchSize * k);
    const candToken = new Int32Array(this.batchSize * k);
    const candBeam = new Int32Array(this.batchSize * k);
    for (let b = 0; b < this.batchSize; b++) {
      const top = topK(logp.subarray(b * nb * V, (b + 1) * nb * V), k, this.beamScores.subarray(b * nb, (b + 1) * nb), V);
      for (let c = 0; c < k; c++) {
        const flat = top.indices[c]!;
        candScore[b * k + c] = top.values[c]!;
        candBeam[b * k + c] = Math.floor(flat / V);
        candToken[b * k + c] = flat % V;
      }
    }
    const step = this.scorer.process(v.inputIds, L, candScore, candToken, candBeam, k, cfg.eos, cfg.pad_token_id, cfg.prompt_length);

    this.beamScores = step.scores;
    this.tokens.select(step.parents);
    this.tokens.append(step.tokens);
    // The model's cache holds B rows after the prefill (parent p came from prompt ⌊p / nb⌋), B·nb afterwards.
    this.pendingReorder = firstStep ? step.parents.map((p) => Math.floor(p / nb)) : step.parents;
    if (this.scorer.isDone || this.tokens.length >= cfg.max_length) this.over = true;
  }

  output(): GenerateOutput {
    const v = this.tokens.view();
    const { sequences, scores } = this.scorer.finalize(v.inputIds, this.tokens.length, this.beamScores, this.cfg.eos, this.cfg.pad_token_id, this.cfg.prompt_length);
    const out: GenerateOutput = { sequences, prompt_length: this.cfg.prompt_length, sequences_scores: scores };
    if (this.cfg.output_scores) out.scores = this.scores;
    return out;
  }
}

/**
 * log_softmax of each of `rows` rows of V logits, as PyTorch computes it: (x − max) − log Σ e^(x − max), in
 * one backend call (LOG_SOFTMAX: SIMD on every thread; in TypeScript, one Math.exp per logit was a tenth of a
 * Marian beam-4 step, and the max, shift and subtraction passes another 5 %).
 */
function logSoftmaxRows(logits: Float32Array, rows: number, V: number): Float32Array {
  const logp = new Float32Array(rows * V);
  getBackend().runRows(LOG_SOFTMAX, rows, V, [logits.subarray(0, rows * V)], [logp]);
  return logp;
}

function createRun(stepper: CausalLMStepper, inputIds: readonly ArrayLike<number>[], options: GenerateOptions): Run {
  const { attention_mask, logits_processor, streamer, decode, rng, ...config } = options;
  if (!Array.isArray(inputIds) || inputIds.length === 0) {
    throw new Error('generate: inputIds must be a non-empty array of prompts (each an array of token ids), e.g. [[464, 3290]]');
  }
  const V = stepper.vocabSize;
  if (!Number.isInteger(V) || V <= 0) throw new Error(`generate: stepper.vocabSize must be a positive integer, got ${V}`);
  // An empty prompt starts from bos_token_id, as transformers does when it is given no input ids.
  const bos = config.bos_token_id ?? stepper.generationConfig?.bos_token_id ?? null;
  if (inputIds.some((p) => p.length === 0)) {
    if (bos === null || bos === undefined) throw new Error('generate: a prompt is empty and there is no bos_token_id to start it with; give at least one token');
    inputIds = inputIds.map((p) => (p.length === 0 ? [bos] : p));
  }
  let S0 = 0;
  for (const p of inputIds) S0 = Math.max(S0, p.length);
  const cfg = resolveGenerationConfig([stepper.generationConfig ?? {}, config], S0, V);
  const prompts = preparePrompts(inputIds, attention_mask, cfg, V);
  if (cfg.num_beams > 1) {
    if (streamer) throw new Error('generate: streaming works with greedy search and sampling, not with beam search (the best beam is only known at the end)');
    return new BeamRun(cfg, prompts, V, logits_processor ?? []);
  }
  return new SearchRun(cfg, prompts, V, logits_processor ?? [], streamer, decode, rng);
}

// -----------------------------------------------------------------------------------------------------------
// Drivers

/**
 * Generates continuations of one or more prompts (arrays of token ids; different lengths are left-padded).
 * `generate(stepper, [[464, 3290]], { max_new_tokens: 20 })` → greedy; add `do_sample: true, top_p: 0.9,
 * seed: 1` to sample, `num_beams: 4` for beam search. Synchronous: the stepper's forward must not return a
 * Promise (use generateAsync for that).
 */
export function generate(stepper: CausalLMStepper, inputIds: readonly ArrayLike<number>[], options: GenerateOptions = {}): GenerateOutput {
  const run = createRun(stepper, inputIds, options);
  stepper.reset?.();
  try {
    for (let step = run.nextStep(); step; step = run.nextStep()) {
      if (step.reorder) stepper.reorderCache(step.reorder);
      const logits = stepper.forward(step.batch);
      if (logits instanceof Promise) throw new Error('generate: stepper.forward returned a Promise; use generateAsync (or streamText) with asynchronous models');
      run.advance(logits);
    }
  } finally {
    stepper.finish?.();
  }
  return run.output();
}

/** Like generate, for steppers whose forward returns a Promise (or not). */
export async function generateAsync(stepper: CausalLMStepper, inputIds: readonly ArrayLike<number>[], options: GenerateOptions = {}): Promise<GenerateOutput> {
  const run = createRun(stepper, inputIds, options);
  stepper.reset?.();
  try {
    for (let step = run.nextStep(); step; step = run.nextStep()) {
      if (step.reorder) stepper.reorderCache(step.reorder);
      run.advance(await stepper.forward(step.batch));
    }
  } finally {
    stepper.finish?.();
  }
  return run.output();
}

/** A piece of streamed text of one row. */
export interface TextChunk {
  row: number;
  text: string;
}

/**
 * Streams generated text as soon as whole characters are available: an async iterator of {row, text}
 * chunks; its return value (from a manual `.next()` loop) is the full GenerateOutput.
 *
 *   for await (const { text } of streamText(stepper, [ids], { decode: (ids) => tok.decode(ids), max_new_tokens: 50 })) {
 *     process.stdout.write(text);
 *   }
 *
 * Text comes from `text` if given (a decode function or { newDecoder }, e.g. the tokenizers' StreamDecoder),
 * else from `decode`. Greedy search and sampling only. Yields to the event loop between steps.
 */
export async function* streamText(stepper: CausalLMStepper, inputIds: readonly ArrayLike<number>[], options: GenerateOptions & { text?: TextSource }): AsyncGenerator<TextChunk, GenerateOutput, undefined> {
  const { text: source, ...rest } = options;
  const textSource = source ?? options.decode;
  if (!textSource) throw new Error('streamText: give `decode` (token ids => text) or `text` ({ newDecoder }) to turn tokens into text');
  const queue: TextChunk[] = [];
  const streamer = new TextStreamer(textSource, (row, text) => queue.push({ row, text }));
  const inner = options.streamer;
  const both: Streamer = inner
    ? { put: (r, t) => (streamer.put(r, t), inner.put(r, t)), end: () => (streamer.end(), inner.end()) }
    : streamer;
  const run = createRun(stepper, inputIds, { ...rest, streamer: both });
  stepper.reset?.();
  try {
    for (let step = run.nextStep(); step; step = run.nextStep()) {
      if (step.reorder) stepper.reorderCache(step.reorder);
      run.advance(await stepper.forward(step.batch));
      while (queue.length > 0) yield queue.shift()!;
    }
  } finally {
    stepper.finish?.(); // also when the caller stops iterating early (return() runs this block)
  }
  const out = run.output(); // calls streamer.end(), which flushes held-back text
  while (queue.length > 0) yield queue.shift()!;
  return out;
}
