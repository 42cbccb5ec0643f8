// The training loop (nanoGPT's train.py, as a function), for any model and objective.
//
// One optimizer step:
//   for micro in 1..gradAccum:  loss = objective.loss(rng) / gradAccum;  loss.backward()   (grads add up)
//   clip the global gradient norm;  lr = schedule(step);  AdamW step;  zero the grads
// Every evalEvery steps (and at the end) the objective scores the validation data. For a causal language model
// (trainLoop) the loss is next-token prediction on random windows, and evaluation scores the whole validation
// stream: loss, perplexity, bits per byte. BERT's masked-LM objective (mlm.ts) plugs into the same loop.
//
// The loop owns no files: `hooks.save` is called when a checkpoint is due (src/train/checkpoint.ts writes the
// folder), `hooks.log` receives every metrics record. What "resumable" needs is all in TrainState: the step,
// the optimizer's moments and the RNG that draws batches and dropout masks; restoring them continues the
// exact same run (tested: a resumed run's losses equal an uninterrupted run's).

import { Rng, noGrad, trainingStep, type Tensor } from '../tensor/index.js';
import { AdamW, clipGradNorm, cosineWithWarmup } from '../optim/index.js';
import type { GPT } from '../models/gpt.js';
import type { Module } from '../nn/index.js';
import { randomBatch, sequentialBatches, bitsPerByte, type TokenStream } from './data.js';
import { StepBudget } from './time_budget.js';

export interface TrainOptions {
  /** Optimizer steps to run in total (counting steps done before a resume). */
  steps: number;
  /** Stop early after this many seconds of this process (the budget of the default run); 0 = no limit. */
  timeLimitSec: number;
  batchSize: number; // B, rows per micro-batch
  blockSize: number; // T, tokens per row (≤ n_positions)
  gradAccum: number; // micro-batches per optimizer step
  lr: number; // peak learning rate
  minLr: number; // floor of the cosine decay
  warmupSteps: number;
  weightDecay: number; // on matrices and embeddings only (not biases or LayerNorm)
  betas: [number, number];
  gradClip: number; // max global gradient norm; 0 = off
  evalEvery: number; // steps between evaluations; 0 = only at the end
  /** Evaluate on at most this many validation tokens (0 = all): keeps evaluation cheap on big corpora. */
  evalTokens: number;
  saveEvery: number; // steps between checkpoints; 0 = only at the end
  seed: number;
}

export const TRAIN_DEFAULTS: TrainOptions = {
  steps: 1000,
  timeLimitSec: 0,
  batchSize: 16,
  blockSize: 128,
  gradAccum: 1,
  lr: 1e-3,
  minLr: 1e-4,
  warmupSteps: 50,
  weightDecay: 0.1,
  betas: [0.9, 0.99],
  gradClip: 1.0,
  evalEvery: 100,
  evalTokens: 0,
  saveEvery: 0,
  seed: 1337,
};

/** Everything needed to continue a run exactly where it stopped. */
export interface TrainState {
  step: number; // optimizer steps done
  tokensSeen: number;
  rngState: number[];
  optimizer: AdamW;
  bestValLoss: number;
  elapsedSec: number; // training seconds before this process (for tokens/s and the time budget)
}

export interface StepRecord {
  kind: 'train';
  step: number;
  /** Steps this run will take: opts.steps, or fewer when a time limit was calibrated to (see trainLoop). */
  totalSteps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
  elapsedSec: number;
}

/** What an evaluation measures: a loss and its perplexity, plus the objective's own numbers. */
export interface EvalScores {
  valLoss: number;
  perplexity: number;
}

/** A causal LM's evaluation: bits per byte makes losses comparable across tokenizers. */
export interface ClmScores extends EvalScores {
  bitsPerByte: number;
}

export type EvalRecord<S extends EvalScores = ClmScores> = { kind: 'eval'; step: number; elapsedSec: number } & S;

export type MetricsRecord<S extends EvalScores = ClmScores> = StepRecord | EvalRecord<S>;

export interface TrainHooks<S extends EvalScores = ClmScores> {
  /** Every metrics record, in order (the CLI writes them to metrics.jsonl and draws the progress bar). */
  log?: (r: MetricsRecord<S>) => void;
  /** Save a checkpoint of the model and `state`; `reason` says why ('interval', 'final', 'best'). */
  save?: (state: TrainState, reason: 'interval' | 'final') => void | Promise<void>;
}

export interface TrainResult<S extends EvalScores = ClmScores> {
  state: TrainState;
  lastEval: EvalRecord<S> | null;
  stoppedBy: 'steps' | 'time';
  /** The step count the run planned for (smaller than opts.steps when fitted to a time limit). */
  totalSteps: number;
}

/** AdamW that decays matrices and embeddings, not biases and LayerNorm gains (nanoGPT's rule: decay iff ndim ≥ 2). */
export function makeOptimizer(model: { parameters(): Tensor[] }, opts: Pick<TrainOptions, 'lr' | 'betas' | 'weightDecay'>): AdamW {
  const params = model.parameters();
  return new AdamW(
    [
      { params: params.filter((p) => p.ndim >= 2), weightDecay: opts.weightDecay },
      { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
    ],
    { lr: opts.lr, betas: opts.betas, eps: 1e-8 },
  );
}

export function newTrainState(model: Module, opts: TrainOptions): TrainState {
  return {
    step: 0,
    tokensSeen: 0,
    rngState: new Rng(opts.seed).getState(),
    optimizer: makeOptimizer(model, opts),
    bestValLoss: Infinity,
    elapsedSec: 0,
  };
}

/** Mean validation loss over (at most evalTokens of) the validation stream, without gradients. */
export function evaluate(model: GPT, tokens: Int32Array, valBytes: number, opts: Pick<TrainOptions, 'batchSize' | 'blockSize' | 'evalTokens'>): { loss: number; perplexity: number; bitsPerByte: number; tokens: number } {
  const limit = opts.evalTokens > 0 && opts.evalTokens < tokens.length ? opts.evalTokens + 1 : tokens.length;
  const used = tokens.subarray(0, limit);
  const wasTraining = model.training;
  model.train(false);
  let total = 0;
  let count = 0;
  try {
    noGrad(() => {
      for (const b of sequentialBatches(used, opts.batchSize, opts.blockSize)) {
        // Each batch in step memory, as a training step (src/tensor/step.ts): no copies, no fresh arrays.
        total += trainingStep(() => (model.forward(b.x, { targets: b.y }).loss as Tensor).item()) * b.count;
        count += b.count;
      }
    });
  } finally {
    model.train(wasTraining); // also when a batch throws: the caller's model stays in the mode it was in
  }
  if (count === 0) throw new Error('evaluate: the validation set is empty; use more text or a smaller validation fraction');
  const loss = total / count;
  // The bytes those `count` tokens stand for, at the stream's average bytes per token.
  const bytes = (valBytes * count) / tokens.length;
  return { loss, perplexity: Math.exp(loss), bitsPerByte: bitsPerByte(loss, count, bytes), tokens: count };
}

/**
 * What the loop trains on: a loss for one random micro-batch (drawn with the loop's generator, which also drives
 * dropout, so a seeded run is reproducible and a resumed one continues the same stream), and an evaluation.
 */
export interface TrainObjective<S extends EvalScores = ClmScores> {
  /** Tokens in one micro-batch (for tokens/s). */
  tokensPerBatch: number;
  loss(rng: Rng): Tensor;
  evaluate(): S;
}

/** Next-token prediction on random windows of the token stream (GPT). */
export function clmObjective(model: GPT, data: TokenStream, opts: TrainOptions): TrainObjective<ClmScores> {
  if (opts.blockSize > model.config.n_positions) {
    throw new Error(`block size ${opts.blockSize} is larger than the model's n_positions ${model.config.n_positions}`);
  }
  return {
    tokensPerBatch: opts.batchSize * opts.blockSize,
    loss(rng) {
      const { x, y } = randomBatch(data.train, opts.batchSize, opts.blockSize, rng);
      return model.forward(x, { targets: y, rng }).loss as Tensor;
    },
    evaluate() {
      const e = evaluate(model, data.val, data.valBytes, opts);
      return { valLoss: e.loss, perplexity: e.perplexity, bitsPerByte: e.bitsPerByte };
    },
  };
}

/**
 * Train `model` on `data` from `state` (a fresh one from newTrainState, or a resumed one) until opts.steps or
 * the time limit. Throws (after saving nothing) when the loss becomes NaN or infinite, naming the step, so the
 * last good checkpoint on disk stays the one to resume from.
 */
export async function trainLoop(model: GPT, data: TokenStream, state: TrainState, opts: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  return runTrainLoop(model, clmObjective(model, data, opts), state, opts, hooks);
}

/** The loop itself, for any model and objective (trainLoop is it with the causal LM objective). */
export async function runTrainLoop<S extends EvalScores>(model: Module, objective: TrainObjective<S>, state: TrainState, opts: TrainOptions, hooks: TrainHooks<S> = {}): Promise<TrainResult<S>> {
  const rng = new Rng(opts.seed);
  rng.setState(state.rngState);
  // With a time limit, the number of steps is not known in advance; the cosine schedule should still end at
  // minLr when time runs out, so `totalSteps` is re-fitted to the budget as steps are timed (time_budget.ts).
  let totalSteps = opts.steps;
  const makeSchedule = () => cosineWithWarmup({ warmup: Math.min(opts.warmupSteps, totalSteps), total: totalSteps, maxLr: opts.lr, minLr: opts.minLr });
  let schedule = makeSchedule();
  let evalSec = 0; // duration of the last evaluation: the reserve for the final one
  const params = model.parameters();
  const optimizer = state.optimizer;
  const t0 = performance.now();
  const budget = new StepBudget(opts.timeLimitSec, opts.steps, state.step, t0);
  const elapsed = () => state.elapsedSec + (performance.now() - t0) / 1000;
  let lastEval: EvalRecord<S> | null = null;
  let stoppedBy: TrainResult['stoppedBy'] = 'steps';
  const tokensPerStep = objective.tokensPerBatch * opts.gradAccum;
  model.train(true);

  const runEval = (): EvalRecord<S> => {
    const evalStart = performance.now();
    const e = objective.evaluate();
    evalSec = (performance.now() - evalStart) / 1000;
    const rec = { kind: 'eval', step: state.step, ...e, elapsedSec: elapsed() } as EvalRecord<S>;
    state.bestValLoss = Math.min(state.bestValLoss, e.valLoss);
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
    const lr = schedule(state.step);
    // One step's activations and gradients live in step memory, reused by the next step (src/tensor/step.ts).
    const { lossSum, gradNorm } = trainingStep(() => {
      let lossSum = 0;
      for (let micro = 0; micro < opts.gradAccum; micro++) {
        const loss = objective.loss(rng);
        const l = loss.item();
        if (!Number.isFinite(l)) {
          throw new Error(`training diverged: loss is ${l} at step ${state.step + 1}; the last good checkpoint is kept. Try a lower --lr (now ${opts.lr}) or more warmup.`);
        }
        lossSum += l;
        // Each micro-batch's gradient is 1/gradAccum of the step's: the sum is the gradient of the mean loss.
        (opts.gradAccum > 1 ? loss.mul(1 / opts.gradAccum) : loss).backward();
      }
      // The global gradient norm (clipped to gradClip when set). A non-finite norm means the step would write
      // NaN into every weight: stop before the optimizer touches them, so the model and checkpoints stay good.
      const gradNorm = clipGradNorm(params, opts.gradClip > 0 ? opts.gradClip : Infinity);
      if (!Number.isFinite(gradNorm)) {
        throw new Error(`training diverged: the gradient norm is ${gradNorm} at step ${state.step + 1}; the last good checkpoint is kept. Try a lower --lr (now ${opts.lr}) or gradient clipping.`);
      }
      optimizer.lr = lr;
      optimizer.step();
      optimizer.zeroGrad();
      return { lossSum, gradNorm };
    });
    state.step++;
    state.tokensSeen += tokensPerStep;
    state.rngState = rng.getState();
    const dt = (performance.now() - stepStart) / 1000;
    hooks.log?.({ kind: 'train', step: state.step, totalSteps, loss: lossSum / opts.gradAccum, lr, gradNorm, tokensPerSec: tokensPerStep / dt, elapsedSec: elapsed() });

    if (opts.evalEvery > 0 && state.step % opts.evalEvery === 0 && state.step < totalSteps) lastEval = runEval();
    if (opts.saveEvery > 0 && state.step % opts.saveEvery === 0 && state.step < totalSteps && hooks.save) {
      state.elapsedSec = elapsed();
      await hooks.save(state, 'interval');
    }
  }
  if (lastEval === null || lastEval.step !== state.step) lastEval = runEval();
  state.elapsedSec = elapsed();
  if (hooks.save) await hooks.save(state, 'final');
  model.train(false);
  return { state, lastEval, stoppedBy, totalSteps };
}
