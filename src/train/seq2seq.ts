// Training encoder-decoder models (transformer.ts, t5.ts): the same machinery as the GPT trainer (AdamW,
// cosine schedule with warmup, gradient clipping, time budgets, resumable checkpoints — trainer.ts and
// checkpoint.ts), on batches of (source, target) pairs instead of windows of one token stream.
//
// One optimizer step:   pairs ──collate──▶ source ids + mask (B, S), labels (B, T) (−100 on padding)
//                       loss = model(source, labels)  (decoder inputs = labels shifted right, inside the model;
//                                                      padding-free: the layers compute real positions only)
//                       loss.backward(); clip; lr = schedule(step); AdamW; zero grads
//
// Where the pairs come from (a Seq2SeqTask):
//   pairsTask       given pairs: translation, summarization, grapheme-to-phoneme (`--objective seq2seq`)
//   objectiveTask   pretraining on plain text: random windows of a token stream turned into pairs by an
//                   objective of src/train/objectives — T5 span corruption, prefix LM, UL2's mixture of denoisers
//
// Shapes: B pairs per batch, S longest source in the batch, T longest target in the batch.

import { Rng, noGrad, trainingStep, tensor, type Tensor } from '../tensor/index.js';
import { clipGradNorm, cosineWithWarmup, WeightAverage, type AdamW } from '../optim/index.js';
import type { Module } from '../nn/index.js';
import type { Seq2SeqOutput } from '../models/encoder_decoder.js';
import { makeOptimizer, type TrainState } from './trainer.js';
import { spanCorruption, prefixLm, ul2Example, shuffle, type Denoiser } from './objectives/index.js';
import { StepBudget } from './time_budget.js';

/** One training example: encoder ids and decoder targets (each with its EOS, as the tokenizer gives them). */
export interface Seq2SeqPair {
  source: Int32Array;
  target: Int32Array;
}

/** What training reads: random batches, and a fixed validation set. */
export interface Seq2SeqTask {
  /** B training pairs drawn with `rng` (so the RNG state is the data position, as in the GPT trainer). */
  sample(B: number, rng: Rng): Seq2SeqPair[];
  /** Validation pairs, the same every evaluation. */
  validation: readonly Seq2SeqPair[];
  /** A line for logs: where the pairs come from. */
  describe: string;
}

/** What the loop needs from a model: Transformer and T5 both have it. */
export interface Seq2SeqTrainable extends Module {
  readonly config: { readonly pad_token_id: number; readonly vocab_size: number };
  forward(inputIds: Tensor, opts: { attentionMask?: Tensor; labels?: Tensor; labelSmoothing?: number; paddingFree?: boolean; rng?: Rng }): Seq2SeqOutput;
}

// -----------------------------------------------------------------------------------------------------------
// Tasks

/**
 * Pairs drawn at random (with replacement) from `train`. Example: `pairsTask(trainPairs, validPairs)`.
 * With `bucket: true`, a batch is B neighbours in an order sorted by length (ties in a seeded random order)
 * starting at a random place: every pair is still drawn about equally often, but a batch holds pairs of
 * nearly one length, so little of the work is spent on padding (on CMUdict words, random batches of 64 are
 * 44 % padding, bucketed ones almost none). Pairs longer than the model allows must be cut before.
 *
 * The task keeps its own packed copy of the training ids (one Int32Array and offsets, see PackedPairs), not
 * `train`: a dataset of 100 000 pairs as objects with two typed arrays each is ~30 MB of small JavaScript
 * objects, and every full garbage collection during training (about one per step, from the activations)
 * marks all of them. Drop `train` after the call and the heap holds only the packed copy.
 */
export function pairsTask(train: readonly Seq2SeqPair[], validation: readonly Seq2SeqPair[], describe = `${train.length} pairs`, opts: { bucket?: boolean } = {}): Seq2SeqTask {
  if (train.length === 0) throw new Error('seq2seq training: no training pairs');
  for (const [name, list] of [['training', train], ['validation', validation]] as const) {
    list.forEach((p, i) => {
      if (p.source.length === 0 || p.target.length === 0) throw new Error(`seq2seq training: ${name} pair ${i} has an empty ${p.source.length === 0 ? 'source' : 'target'}`);
    });
  }
  if (!opts.bucket || train.length <= 1) {
    const packed = new PackedPairs(train);
    return { sample: (B, rng) => Array.from({ length: B }, () => packed.pair(rng.int(packed.length))), validation, describe };
  }
  const order = Array.from({ length: train.length }, (_, i) => i);
  shuffle(order, new Rng(0)); // random order within each length
  const len = (i: number) => train[i]!.source.length + train[i]!.target.length;
  order.sort((a, b) => len(a) - len(b)); // stable: the shuffled order survives among equal lengths
  const sorted = new PackedPairs(order.map((i) => train[i]!));
  return {
    sample: (B, rng) => {
      const n = Math.min(B, sorted.length);
      const start = rng.int(sorted.length - n + 1);
      return Array.from({ length: n }, (_, k) => sorted.pair(start + k));
    },
    validation,
    describe: `${describe}, batches bucketed by length`,
  };
}

/**
 * Pairs stored as one buffer of ids: pair i's source is ids[at[2i] .. at[2i+1]), its target ids[at[2i+1] ..
 * at[2i+2]). `pair(i)` makes two views of the buffer (copies nothing), so only a batch's pairs exist as objects.
 */
export class PackedPairs {
  readonly length: number;
  private readonly ids: Int32Array;
  private readonly at: Int32Array;
  constructor(pairs: readonly Seq2SeqPair[]) {
    this.length = pairs.length;
    this.at = new Int32Array(2 * pairs.length + 1);
    let total = 0;
    pairs.forEach((p, i) => {
      this.at[2 * i] = total;
      this.at[2 * i + 1] = total += p.source.length;
      total += p.target.length;
    });
    this.at[2 * pairs.length] = total;
    this.ids = new Int32Array(total);
    pairs.forEach((p, i) => {
      this.ids.set(p.source, this.at[2 * i]!);
      this.ids.set(p.target, this.at[2 * i + 1]!);
    });
  }
  pair(i: number): Seq2SeqPair {
    const a = this.at[2 * i]!, b = this.at[2 * i + 1]!, c = this.at[2 * i + 2]!;
    return { source: this.ids.subarray(a, b), target: this.ids.subarray(b, c) };
  }
}

export type PretrainObjective = 'span-corruption' | 'prefix-lm' | 'ul2';

export interface ObjectiveTaskOptions {
  objective: PretrainObjective;
  /** Raw tokens per row before corruption. */
  rowLength: number;
  /** </s>, appended to inputs and targets. */
  eosId: number;
  /** Ids of <extra_id_0>, <extra_id_1>, … (span corruption and UL2). */
  sentinelIds?: ArrayLike<number>;
  /** Ids of UL2's paradigm tokens ([NLU], [NLG], [S2S]). */
  paradigmIds?: Readonly<Record<string, number>>;
  denoisers?: readonly Denoiser[];
  /** Validation rows (fixed windows, corrupted once with a fixed seed). Default 64. */
  validationRows?: number;
}

/**
 * Pretraining pairs made on the fly from token streams: a random window of rowLength tokens, corrupted by the
 * objective. Example: `objectiveTask(stream.train, stream.val, { objective: 'span-corruption', rowLength: 114, eosId: 1, sentinelIds })`.
 */
export function objectiveTask(train: Int32Array, val: Int32Array, o: ObjectiveTaskOptions): Seq2SeqTask {
  const L = o.rowLength;
  if (train.length < L) throw new Error(`seq2seq pretraining: ${train.length} training tokens, fewer than one row of ${L}; use more text or a smaller --max-source-length`);
  const make = (row: Int32Array, rng: Rng): Seq2SeqPair => {
    if (o.objective === 'span-corruption') {
      const e = spanCorruption(row, rng, { eosId: o.eosId, ...(o.sentinelIds ? { sentinelIds: o.sentinelIds } : {}) });
      return { source: e.inputs, target: e.targets };
    }
    if (o.objective === 'prefix-lm') {
      const e = prefixLm(row, rng, { eosId: o.eosId });
      return { source: e.inputs, target: e.targets };
    }
    if (!o.paradigmIds) throw new Error('UL2 needs the ids of its paradigm tokens ([NLU], [NLG], [S2S])');
    const e = ul2Example(row, rng, { eosId: o.eosId, paradigmIds: o.paradigmIds, ...(o.sentinelIds ? { sentinelIds: o.sentinelIds } : {}), ...(o.denoisers ? { denoisers: o.denoisers } : {}) });
    return { source: e.inputs, target: e.targets };
  };
  const window = (tokens: Int32Array, start: number) => tokens.slice(start, start + L);
  // Prefix LM can leave an empty prefix on a 1-token row; rows are ≥ 2 tokens here, so every source is non-empty.
  const fixed = new Rng(12345);
  const validation: Seq2SeqPair[] = [];
  const n = Math.min(o.validationRows ?? 64, Math.floor(val.length / L));
  for (let i = 0; i < n; i++) validation.push(make(window(val, i * L), fixed));
  return {
    sample: (B, rng) => Array.from({ length: B }, () => make(window(train, rng.int(train.length - L + 1)), rng)),
    validation,
    describe: `${o.objective} on ${train.length} tokens, rows of ${L}`,
  };
}

// -----------------------------------------------------------------------------------------------------------
// Batches

export interface Seq2SeqBatch {
  inputIds: Tensor; // (B, S) int32, right-padded with the pad id
  attentionMask: Tensor; // (B, S) int32, 1 = real token
  labels: Tensor; // (B, T) int32, −100 on padding
  /** Real (non-padding) source + target tokens: what tokens/s counts. */
  tokens: number;
  targetTokens: number;
}

/** Pad pairs into one batch. Example: `collatePairs(task.sample(32, rng), model.config.pad_token_id)`. */
export function collatePairs(pairs: readonly Seq2SeqPair[], padTokenId: number): Seq2SeqBatch {
  const B = pairs.length;
  let S = 0;
  let T = 0;
  for (const p of pairs) {
    S = Math.max(S, p.source.length);
    T = Math.max(T, p.target.length);
  }
  const ids = new Int32Array(B * S).fill(padTokenId);
  const mask = new Int32Array(B * S);
  const labels = new Int32Array(B * T).fill(-100);
  let tokens = 0;
  let targetTokens = 0;
  pairs.forEach((p, b) => {
    ids.set(p.source, b * S);
    mask.fill(1, b * S, b * S + p.source.length);
    labels.set(p.target, b * T);
    tokens += p.source.length + p.target.length;
    targetTokens += p.target.length;
  });
  return {
    inputIds: tensor(ids, [B, S], { dtype: 'int32' }),
    attentionMask: tensor(mask, [B, S], { dtype: 'int32' }),
    labels: tensor(labels, [B, T], { dtype: 'int32' }),
    tokens,
    targetTokens,
  };
}

// -----------------------------------------------------------------------------------------------------------
// The loop

export interface Seq2SeqTrainOptions {
  steps: number;
  /** Seconds this process may train (0 = no limit); the cosine schedule is fitted to it. */
  timeLimitSec: number;
  batchSize: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  betas: [number, number];
  gradClip: number;
  /** The paper's label smoothing ε = 0.1; 0 = plain cross-entropy. */
  labelSmoothing: number;
  evalEvery: number;
  saveEvery: number;
  seed: number;
  /**
   * Decay of an exponential moving average of the weights (src/optim/average.ts), 0 = none. At the end the
   * averaged weights are evaluated too and kept when their validation loss is lower. The average is not in
   * checkpoints: a resumed run starts it again from the loaded weights.
   */
  ema?: number;
}

export const SEQ2SEQ_TRAIN_DEFAULTS: Seq2SeqTrainOptions = {
  steps: 1000,
  timeLimitSec: 0,
  batchSize: 32,
  lr: 1e-3,
  minLr: 1e-4,
  warmupSteps: 100,
  weightDecay: 0.01,
  betas: [0.9, 0.98], // the paper's β2
  gradClip: 1.0,
  labelSmoothing: 0.1,
  evalEvery: 200,
  saveEvery: 0,
  seed: 1337,
};

export interface Seq2SeqStepRecord {
  kind: 'train';
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Source + target tokens per second (padding not counted). */
  tokensPerSec: number;
  elapsedSec: number;
}

export interface Seq2SeqEvalRecord {
  kind: 'eval';
  step: number;
  /** Mean cross-entropy per target token, without label smoothing. */
  valLoss: number;
  perplexity: number;
  elapsedSec: number;
  /** Task metrics from hooks.evaluate (e.g. G2P word error rate). */
  metrics?: Record<string, number>;
  /** 'average': this evaluation read the moving average of the weights (opts.ema), not the last weights. */
  weights?: 'last' | 'average';
}

export type Seq2SeqRecord = Seq2SeqStepRecord | Seq2SeqEvalRecord;

export interface Seq2SeqHooks {
  log?: (r: Seq2SeqRecord) => void;
  save?: (state: TrainState, reason: 'interval' | 'final') => void | Promise<void>;
  /** Extra metrics at each evaluation (generation-based ones: BLEU, WER, ...). */
  evaluate?: () => Record<string, number>;
}

/** A fresh TrainState (step 0, AdamW on matrices with weight decay, the rest without). */
export function newSeq2SeqTrainState(model: Seq2SeqTrainable, opts: Seq2SeqTrainOptions): TrainState {
  return { step: 0, tokensSeen: 0, rngState: new Rng(opts.seed).getState(), optimizer: makeOptimizer(model, opts), bestValLoss: Infinity, elapsedSec: 0 };
}

/** Mean validation loss per target token (no label smoothing), in batches of B, without gradients. */
export function evaluateSeq2Seq(model: Seq2SeqTrainable, pairs: readonly Seq2SeqPair[], B: number): { loss: number; perplexity: number; tokens: number } {
  if (pairs.length === 0) throw new Error('evaluate: the validation set is empty');
  const wasTraining = model.training;
  model.train(false);
  let total = 0;
  let count = 0;
  noGrad(() => {
    for (let i = 0; i < pairs.length; i += B) {
      const b = collatePairs(pairs.slice(i, i + B), model.config.pad_token_id);
      // Each batch in step memory, as a training step (src/tensor/step.ts): no copies, no fresh arrays.
      total += trainingStep(() => model.forward(b.inputIds, { attentionMask: b.attentionMask, labels: b.labels, paddingFree: true }).loss!.item()) * b.targetTokens;
      count += b.targetTokens;
    }
  });
  model.train(wasTraining);
  const loss = total / count;
  return { loss, perplexity: Math.exp(loss), tokens: count };
}

export interface Seq2SeqTrainResult {
  state: TrainState;
  lastEval: Seq2SeqEvalRecord;
  stoppedBy: 'steps' | 'time';
  totalSteps: number;
}

/**
 * Train `model` on `task` from `state` until opts.steps or the time limit, evaluating every evalEvery steps
 * and at the end. With a time limit the number of steps is fitted to the budget after a few steps (as the
 * GPT trainer does), so the cosine schedule still ends at minLr. Throws on a non-finite loss or gradient,
 * naming the step, before the optimizer touches the weights.
 * Example: `await trainSeq2Seq(model, pairsTask(train, valid), newSeq2SeqTrainState(model, opts), opts)`.
 */
export async function trainSeq2Seq(model: Seq2SeqTrainable, task: Seq2SeqTask, state: TrainState, opts: Seq2SeqTrainOptions, hooks: Seq2SeqHooks = {}): Promise<Seq2SeqTrainResult> {
  const rng = new Rng(opts.seed);
  rng.setState(state.rngState);
  let totalSteps = opts.steps;
  const makeSchedule = () => cosineWithWarmup({ warmup: Math.min(opts.warmupSteps, totalSteps), total: totalSteps, maxLr: opts.lr, minLr: opts.minLr });
  let schedule = makeSchedule();
  let evalSec = 0;
  const params = model.parameters();
  const optimizer: AdamW = state.optimizer;
  const t0 = performance.now();
  const budget = new StepBudget(opts.timeLimitSec, opts.steps, state.step, t0);
  const elapsed = () => state.elapsedSec + (performance.now() - t0) / 1000;
  let lastEval: Seq2SeqEvalRecord | null = null;
  let stoppedBy: Seq2SeqTrainResult['stoppedBy'] = 'steps';
  model.train(true);

  const average = opts.ema ? new WeightAverage(params, opts.ema) : null;
  const runEval = (weights: 'last' | 'average' = 'last'): Seq2SeqEvalRecord => {
    const start = performance.now();
    const e = evaluateSeq2Seq(model, task.validation, opts.batchSize);
    const metrics = hooks.evaluate?.();
    evalSec = (performance.now() - start) / 1000;
    const rec: Seq2SeqEvalRecord = { kind: 'eval', step: state.step, valLoss: e.loss, perplexity: e.perplexity, elapsedSec: elapsed(), ...(metrics ? { metrics } : {}), ...(average ? { weights } : {}) };
    state.bestValLoss = Math.min(state.bestValLoss, e.loss);
    hooks.log?.(rec);
    return rec;
  };

  while (state.step < totalSteps) {
    const stepStart = performance.now();
    if (budget.spent(stepStart)) {
      stoppedBy = 'time';
      break;
    }
    const fit = budget.refit(state.step, stepStart, evalSec);
    if (fit !== null && fit !== totalSteps) {
      totalSteps = fit;
      schedule = makeSchedule();
    }
    const batch = collatePairs(task.sample(opts.batchSize, rng), model.config.pad_token_id);
    const lr = schedule(state.step);
    // One step's activations and gradients live in step memory, reused by the next step (src/tensor/step.ts).
    const { l, gradNorm } = trainingStep(() => {
      // Padding-free: the layers skip the batch's padding (src/nn/packing.ts); the loss is the same.
      const { loss } = model.forward(batch.inputIds, { attentionMask: batch.attentionMask, labels: batch.labels, labelSmoothing: opts.labelSmoothing, paddingFree: true, rng });
      const l = loss!.item();
      if (!Number.isFinite(l)) throw new Error(`training diverged: loss is ${l} at step ${state.step + 1}; the last good checkpoint is kept. Try a lower --lr (now ${opts.lr}) or more warmup.`);
      loss!.backward();
      const gradNorm = clipGradNorm(params, opts.gradClip > 0 ? opts.gradClip : Infinity);
      if (!Number.isFinite(gradNorm)) throw new Error(`training diverged: the gradient norm is ${gradNorm} at step ${state.step + 1}; the last good checkpoint is kept. Try a lower --lr (now ${opts.lr}).`);
      optimizer.lr = lr;
      optimizer.step();
      optimizer.zeroGrad();
      return { l, gradNorm };
    });
    average?.update();
    state.step++;
    state.tokensSeen += batch.tokens;
    state.rngState = rng.getState();
    const dt = (performance.now() - stepStart) / 1000;
    hooks.log?.({ kind: 'train', step: state.step, totalSteps, loss: l, lr, gradNorm, tokensPerSec: batch.tokens / dt, elapsedSec: elapsed() });
    if (opts.evalEvery > 0 && state.step % opts.evalEvery === 0 && state.step < totalSteps) lastEval = runEval();
    if (opts.saveEvery > 0 && state.step % opts.saveEvery === 0 && state.step < totalSteps && hooks.save) {
      state.elapsedSec = elapsed();
      await hooks.save(state, 'interval');
    }
  }
  if (lastEval === null || lastEval.step !== state.step) lastEval = runEval();
  if (average && average.count > 0) {
    average.swap(); // the model now holds the averaged weights
    const averaged = runEval('average');
    if (averaged.valLoss < lastEval.valLoss) lastEval = averaged;
    else average.swap(); // the last weights were better: put them back
  }
  state.elapsedSec = elapsed();
  if (hooks.save) await hooks.save(state, 'final');
  model.train(false);
  return { state, lastEval, stoppedBy, totalSteps };
}
