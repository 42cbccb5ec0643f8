// Fine-tuning an encoder (BERT, RoBERTa, DistilBERT) on a labelled task — what transformers' run_glue.py,
// run_ner.py and run_qa.py do, as one loop with three task adapters:
//
//   text classification    features: [CLS] text [SEP] (pair [SEP]); target: a class id (or a multi-hot row)
//                          metric: accuracy and macro-F1 (scikit-learn's), micro-F1 for multi-label
//   token classification   features: word tags aligned to the first piece of each word (others −100)
//                          metric: entity F1 / precision / recall and token accuracy (seqeval)
//   question answering     features: question + context windows (docStride overlap), answer span → token
//                          positions ([CLS] when the window misses it); metric: SQuAD exact match and F1 over
//                          the post-processed answers (v2.0 with no-answer when the data has impossible questions)
//
// The loop (HF Trainer's defaults): epochs of shuffled batches padded to their longest row; AdamW with weight
// decay on matrices only, a linear warmup then linear decay of the learning rate to 0, gradient clipping at 1;
// after each epoch the evaluation set is scored and the best epoch kept (hooks.saveBest), with optional early
// stopping after `patience` epochs without improvement. A time budget stops the run early: after a few steps
// the schedule is fitted to the steps that fit in the budget, and the evaluation at the end is kept.
//
// Data files are read by src/data (errors name the file, the line and the field); this file only batches them.

import { Rng, noGrad, tensor, trainingStep, type Tensor } from '../tensor/index.js';
import { AdamW, clipGradNorm, linearWithWarmup } from '../optim/index.js';
import type { BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification } from '../models/bert.js';
import type { Tokenizer } from '../tokenizers/index.js';
import { collateInputs, padRows } from '../data/batch.js';
import { encodeTextClassification, type TextClassificationExample, type TextClassificationFeature } from '../data/classification.js';
import { encodeTokenClassification, wordPredictions, type TokenClassificationExample, type TokenClassificationFeature } from '../data/token_classification.js';
import { prepareQaFeatures, postprocessQaPredictions, type QAFeature } from '../data/qa.js';
import type { QAExample } from '../data/squad.js';
import type { LabelMap } from '../data/labels.js';
import { classificationReport } from '../metrics/classification.js';
import { seqevalScores } from '../metrics/seqeval.js';
import { squadExactMatch, squadF1 } from '../metrics/squad.js';
import { shuffle } from './objectives/sampling.js';
import { StepBudget } from './time_budget.js';

export type FinetuneTaskName = 'text-classification' | 'token-classification' | 'question-answering';

/** The metrics of one evaluation; `score` is the one the best epoch is chosen by (higher is better). */
export interface FinetuneMetrics {
  score: number;
  /** Which metric `score` is (macro_f1, micro_f1, f1). */
  scoreName: string;
  metrics: Record<string, number>;
}

/** A task, ready to train: how many features, the loss of a batch of them, and the evaluation. */
export interface FinetuneTask {
  name: FinetuneTaskName;
  size: number;
  /** Loss of the training features `idx` (dropout drawn from rng). */
  loss(idx: readonly number[], rng: Rng): Tensor;
  /** Scores on the evaluation data (null when there is none). */
  evaluate: (() => FinetuneMetrics) | null;
}

type PadIds = { padId: number };

function inputsOf(features: ReadonlyArray<{ inputIds: Int32Array; typeIds: Int32Array; attentionMask: Uint8Array }>, idx: readonly number[], pad: number, types: boolean) {
  const b = collateInputs(idx.map((i) => features[i]!), pad);
  const shape = [b.size, b.length];
  return {
    B: b.size,
    T: b.length,
    ids: tensor(b.inputIds, shape, { dtype: 'int32' }),
    opts: {
      attentionMask: tensor(Int32Array.from(b.attentionMask), shape, { dtype: 'int32' }),
      ...(types ? { tokenTypeIds: tensor(b.typeIds, shape, { dtype: 'int32' }) } : {}),
    },
  };
}

function batches(n: number, size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < n; i += size) out.push(Array.from({ length: Math.min(size, n - i) }, (_, k) => i + k));
  return out;
}

// -----------------------------------------------------------------------------------------------------------
// Text classification

export interface ClassificationData {
  train: TextClassificationExample[];
  eval?: TextClassificationExample[];
  labels: LabelMap;
  multiLabel: boolean;
  trainSource: string;
  evalSource?: string;
}

/** The text-classification task over `model` (a BertForSequenceClassification whose id2label is `data.labels`). */
export function classificationTask(model: BertForSequenceClassification, tok: Tokenizer, data: ClassificationData, opts: { maxLength: number; batchSize: number } & PadIds): FinetuneTask {
  const enc = (xs: TextClassificationExample[], source: string) => encodeTextClassification(xs, tok, { maxLength: opts.maxLength, labels: data.labels, multiLabel: data.multiLabel, source });
  const train = enc(data.train, data.trainSource);
  const evalSet = data.eval ? enc(data.eval, data.evalSource ?? '<eval>') : null;
  const L = data.labels.id2label.length;
  const types = model.config.type_vocab_size > 0;
  const targets = (fs: TextClassificationFeature[], idx: readonly number[]): Tensor =>
    data.multiLabel
      ? tensor(Float32Array.from(idx.flatMap((i) => Array.from(fs[i]!.multiHot!))), [idx.length, L])
      : tensor(Int32Array.from(idx, (i) => fs[i]!.label), [idx.length], { dtype: 'int32' });
  return {
    name: 'text-classification',
    size: train.length,
    loss(idx, rng) {
      const x = inputsOf(train, idx, opts.padId, types);
      return model.forward(x.ids, { ...x.opts, labels: targets(train, idx), paddingFree: true, rng }).loss!;
    },
    evaluate: evalSet
      ? (): FinetuneMetrics => {
          const gold: string[] = [];
          const pred: string[] = [];
          const multi = { tp: 0, predicted: 0, actual: 0 }; // over (example, label) decisions
          let loss = 0;
          noGrad(() => {
            for (const idx of batches(evalSet.length, opts.batchSize)) {
              const x = inputsOf(evalSet, idx, opts.padId, types);
              const out = model.forward(x.ids, { ...x.opts, labels: targets(evalSet, idx), paddingFree: true });
              loss += out.loss!.item() * idx.length;
              const logits = out.logits.toFloat32Array();
              idx.forEach((i, b) => {
                const row = Array.from(logits.subarray(b * L, (b + 1) * L));
                if (data.multiLabel) {
                  // One decision per label: sigmoid(z) > 0.5, i.e. z > 0.
                  row.forEach((z, k) => {
                    const g = evalSet[i]!.multiHot![k] === 1;
                    multi.tp += g && z > 0 ? 1 : 0;
                    multi.predicted += z > 0 ? 1 : 0;
                    multi.actual += g ? 1 : 0;
                  });
                } else {
                  gold.push(data.labels.id2label[evalSet[i]!.label]!);
                  pred.push(data.labels.id2label[row.indexOf(Math.max(...row))]!);
                }
              });
            }
          });
          if (data.multiLabel) {
            // micro F1 = 2·tp / (predicted + actual) over all (example, label) decisions
            const microF1 = multi.predicted + multi.actual > 0 ? (2 * multi.tp) / (multi.predicted + multi.actual) : 0;
            return { score: microF1, scoreName: 'micro_f1', metrics: { micro_f1: microF1, loss: loss / evalSet.length } };
          }
          const r = classificationReport(gold, pred);
          return { score: r.macro.f1, scoreName: 'macro_f1', metrics: { accuracy: r.accuracy, macro_f1: r.macro.f1, loss: loss / evalSet.length } };
        }
      : null,
  };
}

// -----------------------------------------------------------------------------------------------------------
// Token classification

export interface TokenClassificationData {
  train: TokenClassificationExample[];
  eval?: TokenClassificationExample[];
  labels: LabelMap;
  labelAllTokens: boolean;
  trainSource: string;
  evalSource?: string;
}

export function tokenClassificationTask(model: BertForTokenClassification, tok: Tokenizer, data: TokenClassificationData, opts: { maxLength: number; batchSize: number } & PadIds): FinetuneTask {
  const enc = (xs: TokenClassificationExample[], source: string) => encodeTokenClassification(xs, tok, { labels: data.labels, maxLength: opts.maxLength, labelAllTokens: data.labelAllTokens, source });
  const train = enc(data.train, data.trainSource);
  const evalSet = data.eval ? enc(data.eval, data.evalSource ?? '<eval>') : null;
  const types = model.config.type_vocab_size > 0;
  const L = data.labels.id2label.length;
  const targets = (fs: TokenClassificationFeature[], idx: readonly number[], T: number): Tensor => tensor(padRows(idx.map((i) => fs[i]!.labels), -100, { length: T }).data, [idx.length, T], { dtype: 'int32' });
  return {
    name: 'token-classification',
    size: train.length,
    loss(idx, rng) {
      const x = inputsOf(train, idx, opts.padId, types);
      return model.forward(x.ids, { ...x.opts, labels: targets(train, idx, x.T), paddingFree: true, rng }).loss!;
    },
    evaluate: evalSet
      ? () => {
          const gold: string[][] = [];
          const pred: string[][] = [];
          let loss = 0;
          let n = 0;
          noGrad(() => {
            for (const idx of batches(evalSet.length, opts.batchSize)) {
              const x = inputsOf(evalSet, idx, opts.padId, types);
              const out = model.forward(x.ids, { ...x.opts, labels: targets(evalSet, idx, x.T), paddingFree: true });
              if (Number.isFinite(out.loss!.item())) {
                loss += out.loss!.item();
                n++;
              }
              const logits = out.logits.toFloat32Array(); // (B, T, L)
              idx.forEach((i, b) => {
                const f = evalSet[i]!;
                const argmax = Array.from({ length: f.inputIds.length }, (_, t) => {
                  const row = Array.from(logits.subarray((b * x.T + t) * L, (b * x.T + t + 1) * L));
                  return row.indexOf(Math.max(...row));
                });
                const words = data.eval![i]!;
                // Words cut off by truncation get no prediction: they count as "O".
                const perWord = wordPredictions(f, argmax, words.tokens.length);
                gold.push(words.tags);
                pred.push(Array.from(perWord, (k) => (k < 0 ? 'O' : data.labels.id2label[k]!)));
              });
            }
          });
          const r = seqevalScores(gold, pred);
          return { score: r.f1, scoreName: 'f1', metrics: { f1: r.f1, precision: r.precision, recall: r.recall, accuracy: r.accuracy, loss: n > 0 ? loss / n : NaN } };
        }
      : null,
  };
}

// -----------------------------------------------------------------------------------------------------------
// Question answering

export interface QuestionAnsweringData {
  train: QAExample[];
  eval?: QAExample[];
  /** SQuAD v2.0 (some questions have no answer): predict "" when the null score wins. */
  version2: boolean;
}

export function questionAnsweringTask(model: BertForQuestionAnswering, tok: Tokenizer, data: QuestionAnsweringData, opts: { maxLength: number; docStride: number; batchSize: number } & PadIds): FinetuneTask {
  const prep = (xs: QAExample[]) => prepareQaFeatures(xs, tok, { maxLength: opts.maxLength, docStride: opts.docStride });
  const train = prep(data.train);
  const evalSet = data.eval ? prep(data.eval) : null;
  const types = model.config.type_vocab_size > 0;
  const positions = (fs: QAFeature[], idx: readonly number[]) => ({
    startPositions: tensor(Int32Array.from(idx, (i) => fs[i]!.startPosition), [idx.length], { dtype: 'int32' }),
    endPositions: tensor(Int32Array.from(idx, (i) => fs[i]!.endPosition), [idx.length], { dtype: 'int32' }),
  });
  return {
    name: 'question-answering',
    size: train.length,
    loss(idx, rng) {
      const x = inputsOf(train, idx, opts.padId, types);
      return model.forward(x.ids, { ...x.opts, ...positions(train, idx), rng }).loss!;
    },
    evaluate: evalSet
      ? () => {
          const starts: Float32Array[] = [];
          const ends: Float32Array[] = [];
          noGrad(() => {
            for (const idx of batches(evalSet.length, opts.batchSize)) {
              const x = inputsOf(evalSet, idx, opts.padId, types);
              const out = model.forward(x.ids, x.opts);
              const s = out.startLogits.toFloat32Array();
              const e = out.endLogits.toFloat32Array();
              idx.forEach((i, b) => {
                const T = evalSet[i]!.inputIds.length;
                starts.push(s.slice(b * x.T, b * x.T + T));
                ends.push(e.slice(b * x.T, b * x.T + T));
              });
            }
          });
          const examples = data.eval!;
          const { predictions } = postprocessQaPredictions(examples, evalSet, starts, ends, { version2WithNegative: data.version2 });
          return squadScores(examples, predictions, data.version2 ? 2 : 1);
        }
      : null,
  };
}

/** SQuAD exact match and F1 (0–100), the best over each question's gold answers ("" for an impossible one). */
export function squadScores(examples: readonly QAExample[], predictions: Record<string, string>, version: 1 | 2): FinetuneMetrics {
  let em = 0;
  let f1 = 0;
  for (const ex of examples) {
    const golds = ex.answers.length > 0 ? ex.answers.map((a) => a.text) : [''];
    const p = predictions[ex.id] ?? '';
    em += Math.max(...golds.map((g) => squadExactMatch(p, g)));
    f1 += Math.max(...golds.map((g) => squadF1(p, g, version)));
  }
  const n = Math.max(1, examples.length);
  return { score: (100 * f1) / n, scoreName: 'f1', metrics: { exact_match: (100 * em) / n, f1: (100 * f1) / n } };
}

// -----------------------------------------------------------------------------------------------------------
// The loop

export interface FinetuneOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Linear warmup steps (then linear decay to 0). */
  warmupSteps: number;
  weightDecay: number;
  gradClip: number;
  seed: number;
  /** Stop after this many seconds (0 = no limit). */
  timeLimitSec: number;
  /** Stop after this many evaluations without a better score (0 = never). */
  patience: number;
}

export const FINETUNE_DEFAULTS: FinetuneOptions = { epochs: 3, batchSize: 16, lr: 5e-5, warmupSteps: 0, weightDecay: 0.01, gradClip: 1, seed: 42, timeLimitSec: 0, patience: 0 };

export type FinetuneRecord =
  | { kind: 'train'; epoch: number; step: number; totalSteps: number; loss: number; lr: number; elapsedSec: number }
  | ({ kind: 'eval'; epoch: number; step: number; elapsedSec: number; best: boolean } & FinetuneMetrics);

export interface FinetuneHooks {
  log?: (r: FinetuneRecord) => void;
  /** Called when an evaluation is the best so far (or, without evaluation data, after every epoch). */
  saveBest?: (metrics: FinetuneMetrics | null, epoch: number) => void;
}

export interface FinetuneResult {
  best: (FinetuneMetrics & { epoch: number }) | null;
  steps: number;
  epochs: number;
  seconds: number;
  stoppedBy: 'epochs' | 'time' | 'early-stopping';
}

/**
 * Fine-tune `model` on `task`. Example:
 * `await finetune(model, classificationTask(model, tok, data, { maxLength: 128, batchSize: 16, padId: 0 }), { ...FINETUNE_DEFAULTS, lr: 3e-5 })`.
 */
export async function finetune(model: BertForSequenceClassification | BertForTokenClassification | BertForQuestionAnswering, task: FinetuneTask, opts: FinetuneOptions, hooks: FinetuneHooks = {}): Promise<FinetuneResult> {
  if (task.size === 0) throw new Error('fine-tuning: the training file has no examples');
  const rng = new Rng(opts.seed);
  const params = model.parameters();
  const optimizer = new AdamW(
    [
      { params: params.filter((p) => p.ndim >= 2), weightDecay: opts.weightDecay },
      { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
    ],
    { lr: opts.lr, betas: [0.9, 0.999], eps: 1e-8 },
  );
  const perEpoch = Math.ceil(task.size / opts.batchSize);
  let totalSteps = perEpoch * opts.epochs;
  let schedule = linearWithWarmup({ warmup: Math.min(opts.warmupSteps, totalSteps), total: totalSteps, maxLr: opts.lr, minLr: 0 });
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const budget = new StepBudget(opts.timeLimitSec, totalSteps, 0, t0);
  let step = 0;
  let best: FinetuneResult['best'] = null;
  let sinceBest = 0;
  let stoppedBy: FinetuneResult['stoppedBy'] = 'epochs';
  let evalSec = 0;
  let epoch = 0;
  model.train(true);
  const evaluateNow = (): void => {
    const start = performance.now();
    model.train(false);
    const m = task.evaluate ? task.evaluate() : null;
    model.train(true);
    evalSec = (performance.now() - start) / 1000;
    if (!m) {
      hooks.saveBest?.(null, epoch);
      return;
    }
    const isBest = best === null || m.score > best.score;
    hooks.log?.({ kind: 'eval', epoch, step, elapsedSec: elapsed(), best: isBest, ...m });
    if (isBest) {
      best = { ...m, epoch };
      sinceBest = 0;
      hooks.saveBest?.(m, epoch);
    } else sinceBest++;
  };
  outer: for (epoch = 1; epoch <= opts.epochs; epoch++) {
    const order = Array.from({ length: task.size }, (_, i) => i);
    shuffle(order, rng);
    for (let b = 0; b < perEpoch; b++) {
      const now = performance.now();
      if (budget.spent(now)) {
        stoppedBy = 'time';
        break outer;
      }
      // With a time budget, the schedule is re-fitted to the steps that fit as steps are timed (time_budget.ts).
      const fit = budget.refit(step, now, evalSec);
      if (fit !== null && fit !== totalSteps) {
        totalSteps = fit;
        schedule = linearWithWarmup({ warmup: Math.min(opts.warmupSteps, totalSteps), total: totalSteps, maxLr: opts.lr, minLr: 0 });
      }
      if (step >= totalSteps) {
        stoppedBy = 'time';
        break outer;
      }
      const idx = order.slice(b * opts.batchSize, (b + 1) * opts.batchSize);
      const lr = schedule(step);
      // One step's activations and gradients live in step memory, reused by the next step (src/tensor/step.ts).
      const l = trainingStep(() => {
        const loss = task.loss(idx, rng);
        const l = loss.item();
        if (!Number.isFinite(l)) throw new Error(`fine-tuning diverged: loss is ${l} at step ${step + 1}; try a lower --lr (now ${opts.lr})`);
        loss.backward();
        if (opts.gradClip > 0) clipGradNorm(params, opts.gradClip);
        optimizer.lr = lr;
        optimizer.step();
        optimizer.zeroGrad();
        return l;
      });
      step++;
      hooks.log?.({ kind: 'train', epoch, step, totalSteps, loss: l, lr, elapsedSec: elapsed() });
    }
    evaluateNow();
    if (opts.patience > 0 && sinceBest >= opts.patience) {
      stoppedBy = 'early-stopping';
      epoch++;
      break;
    }
  }
  const epochsRun = epoch - 1;
  if (stoppedBy === 'time') evaluateNow(); // the partial epoch's model is scored (and kept if it is the best)
  model.train(false);
  return { best, steps: step, epochs: epochsRun, seconds: elapsed(), stoppedBy };
}
