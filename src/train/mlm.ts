// Masked-language-model pretraining (BERT, RoBERTa): the objective the training loop (trainer.ts) runs for
// `attn train --arch bert`.
//
//   text files → token stream (no special tokens) → rows [CLS] t₀ … t_{T−3} [SEP] (packSequences: the stream
//   runs on across rows and documents, RoBERTa's "full sentences") → each step: B random rows, masked afresh
//   (15 % of the non-special tokens chosen; 80 % [MASK], 10 % a random token, 10 % kept; optionally whole
//   words at a time) → cross-entropy at the chosen positions only.
//
// The masking itself is src/train/objectives/mlm.ts. The rows, the masks and dropout all come from the loop's
// seeded generator, so a run is reproducible and a resumed run draws what the uninterrupted one would have.
// Evaluation masks the validation rows with a generator of its own, seeded the same way every time, so every
// evaluation scores the same predictions and the numbers can be compared along the run: the mean loss over the
// masked tokens, its perplexity e^loss, and the share of masked tokens whose most likely id is the original.

import { Rng, noGrad, tensor, type Tensor } from '../tensor/index.js';
import type { BertForMaskedLM } from '../models/bert.js';
import { maskTokens, wholeWordMask, wordStarts, packSequences, type PackedRows } from './objectives/mlm.js';
import type { TokenStream } from './data.js';
import type { EvalScores, TrainObjective, TrainOptions } from './trainer.js';

export interface MlmScores extends EvalScores {
  /** Share of the masked tokens predicted exactly (argmax = the original id). */
  maskedAccuracy: number;
  /** Masked tokens scored. */
  maskedTokens: number;
}

/** The ids masking needs, and how to mask. */
export interface MlmSettings {
  maskId: number;
  clsId: number;
  sepId: number;
  padId: number;
  vocabSize: number;
  /** Never chosen, never drawn as a random replacement ([CLS], [SEP], [PAD], [MASK], [UNK], …). */
  specialIds: number[];
  /** Share of tokens chosen. Default 0.15. */
  probability?: number;
  /** Whole-word masking: per id, 1 when the token continues a word (continuationTable). */
  wholeWord?: Uint8Array;
}

/** Training and validation rows of `length` tokens. */
export interface MlmRows {
  train: PackedRows;
  val: PackedRows;
}

/**
 * Cut a token stream into rows: training rows all full (a last partial row is dropped), validation rows with
 * the last one padded. Example: `mlmRows(stream, 128, { clsId: 2, sepId: 3, padId: 0 })`.
 */
export function mlmRows(stream: TokenStream, length: number, ids: { clsId: number; sepId: number; padId: number }): MlmRows {
  const train = packSequences(stream.train, { length, ...ids, dropLast: true });
  if (train.rows === 0) throw new Error(`not enough text for one training row: ${stream.train.length} tokens, a row holds ${length - 2}; use more text or a smaller --block-size`);
  return { train, val: packSequences(stream.val, { length, ...ids, dropLast: false }) };
}

/** Mask `ids` (rows of `T`) with the settings: 80/10/10 on 15 % of the candidates, per token or per whole word. */
function mask(ids: Int32Array, specialMask: Uint8Array, T: number, rng: Rng, s: MlmSettings): { inputIds: Int32Array; labels: Int32Array } {
  const common = { maskId: s.maskId, vocabSize: s.vocabSize, specialIds: s.specialIds, specialMask, probability: s.probability ?? 0.15 };
  // A batch with no chosen token has no loss (0/0): draw again (at 15 % of B·T tokens this almost never happens).
  for (let attempt = 0; ; attempt++) {
    const m = s.wholeWord ? wholeWordMask(ids, rng, { ...common, wordStarts: wordStarts(ids, s.wholeWord), rowLength: T }) : maskTokens(ids, rng, common);
    if (m.labels.some((l) => l !== -100) || attempt >= 20) return m;
  }
}

/** Rows `rows` of a packed set as (B, T) arrays. */
function gatherRows(p: PackedRows, rows: number[]): { ids: Int32Array; special: Uint8Array; attention: Uint8Array } {
  const T = p.length;
  const ids = new Int32Array(rows.length * T);
  const special = new Uint8Array(rows.length * T);
  const attention = new Uint8Array(rows.length * T);
  rows.forEach((r, b) => {
    ids.set(p.inputIds.subarray(r * T, (r + 1) * T), b * T);
    special.set(p.specialMask.subarray(r * T, (r + 1) * T), b * T);
    attention.set(p.attentionMask.subarray(r * T, (r + 1) * T), b * T);
  });
  return { ids, special, attention };
}

/** One forward pass with masked inputs: the loss, and the predictions at the masked positions. */
function maskedForward(model: BertForMaskedLM, inputIds: Int32Array, labels: Int32Array, attention: Uint8Array, B: number, T: number, rng?: Rng) {
  const shape = [B, T];
  return model.forward(tensor(inputIds, shape, { dtype: 'int32' }), {
    attentionMask: tensor(Int32Array.from(attention), shape, { dtype: 'int32' }),
    labels: tensor(labels, shape, { dtype: 'int32' }),
    maskedOnly: true,
    paddingFree: true, // rows shorter than T (a document's end) skip their padding; the same loss
    ...(rng ? { rng } : {}),
  });
}

/**
 * The masked-LM objective for runTrainLoop: `runTrainLoop(model, mlmObjective(model, rows, opts, settings), …)`.
 * Each micro-batch is opts.batchSize random training rows, masked anew.
 */
export function mlmObjective(model: BertForMaskedLM, data: MlmRows, opts: TrainOptions, settings: MlmSettings): TrainObjective<MlmScores> {
  const T = data.train.length;
  const B = opts.batchSize;
  if (T > model.config.max_position_embeddings) throw new Error(`block size ${T} is larger than the model's max_position_embeddings ${model.config.max_position_embeddings}`);
  return {
    tokensPerBatch: B * T,
    loss(rng) {
      const rows = Array.from({ length: B }, () => rng.int(data.train.rows));
      const g = gatherRows(data.train, rows);
      const m = mask(g.ids, g.special, T, rng, settings);
      return maskedForward(model, m.inputIds, m.labels, g.attention, B, T, rng).loss as Tensor;
    },
    evaluate() {
      return evaluateMlm(model, data.val, settings, { batchSize: B, evalTokens: opts.evalTokens, seed: opts.seed });
    },
  };
}

/**
 * MLM loss, perplexity and masked-token accuracy on packed rows, with masks drawn from a generator seeded by
 * `seed` (the same masks at every call). At most `evalTokens` tokens of rows are scored (0 = all).
 */
export function evaluateMlm(model: BertForMaskedLM, rows: PackedRows, settings: MlmSettings, opts: { batchSize: number; evalTokens: number; seed: number }): MlmScores {
  const T = rows.length;
  const limit = opts.evalTokens > 0 ? Math.max(1, Math.ceil(opts.evalTokens / T)) : rows.rows;
  const n = Math.min(rows.rows, limit);
  if (n === 0) throw new Error('MLM evaluation: the validation set is empty; use more text or a larger validation fraction');
  const rng = new Rng(opts.seed + 7919); // the evaluation's own masks, the same every time
  const wasTraining = model.training;
  model.train(false);
  let total = 0;
  let count = 0;
  let correct = 0;
  noGrad(() => {
    for (let i = 0; i < n; i += opts.batchSize) {
      const idx = Array.from({ length: Math.min(opts.batchSize, n - i) }, (_, k) => i + k);
      const g = gatherRows(rows, idx);
      const m = mask(g.ids, g.special, T, rng, settings);
      const targets = Array.from(m.labels).filter((l) => l !== -100);
      if (targets.length === 0) continue;
      const out = maskedForward(model, m.inputIds, m.labels, g.attention, idx.length, T);
      total += (out.loss as Tensor).item() * targets.length;
      count += targets.length;
      const logits = out.logits.toFloat32Array(); // (N, V), in the order of the targets
      const V = settings.vocabSize;
      targets.forEach((t, k) => {
        let best = 0;
        for (let v = 1; v < V; v++) if (logits[k * V + v]! > logits[k * V + best]!) best = v;
        if (best === t) correct++;
      });
    }
  });
  model.train(wasTraining);
  if (count === 0) throw new Error('MLM evaluation: no token of the validation rows could be masked');
  const loss = total / count;
  return { valLoss: loss, perplexity: Math.exp(loss), maskedAccuracy: correct / count, maskedTokens: count };
}
