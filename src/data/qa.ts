// Extractive question answering: questions and contexts → model features, and the model's start/end logits →
// answer text. The semantics are Hugging Face's run_qa.py (`prepare_train_features`,
// `prepare_validation_features`) and utils_qa.py (`postprocess_qa_predictions`), so a model fine-tuned here
// scores like one fine-tuned there.
//
// 1. Features. A context longer than the model's window is cut into overlapping windows; each window is
//    [CLS] question [SEP] context-piece [SEP], and consecutive pieces share `docStride` tokens so an answer
//    near a cut is whole in at least one window. Only the context is ever cut ('only_second').
//
//      context tokens   c0 c1 c2 c3 c4 c5 c6 c7 c8 c9          (room for 4 per window, docStride 1)
//      window 0         [CLS] q [SEP] c0 c1 c2 c3 [SEP]
//      window 1         [CLS] q [SEP] c3 c4 c5 c6 [SEP]
//      window 2         [CLS] q [SEP] c6 c7 c8 c9 [SEP]
//
//    Training targets are token positions: the answer's character span [startChar, endChar) becomes the first
//    and last tokens that cover it. A window that does not hold the whole answer (or an unanswerable question)
//    points both positions at [CLS]: "no answer here". Every feature keeps its example's id and, for context
//    tokens only, the character offsets, so predictions can be turned back into text.
//
// 2. Post-processing. For each example, over all of its windows: take the nBestSize highest start logits and
//    end logits, form every pair (start ≤ end, at most maxAnswerLength tokens, both inside the context),
//    score = start logit + end logit, and keep the best. With SQuAD v2.0 (version2WithNegative) the "no
//    answer" score is the smallest [CLS] score s_cls + e_cls over the windows; the answer is "" when
//    null score − best span score > nullScoreDiffThreshold.
//
// Does not handle: tokenizers that put the context first (padding on the left, e.g. XLNet); beam-search
// heads (XLNet's start_top_index/end_top_index).

import type { Tokenizer } from '../tokenizers/index.js';
import { encodedInput, type EncodedInput } from './batch.js';
import type { QAExample } from './squad.js';

/** One window of one example. Positions index this feature's tokens. */
export interface QAFeature extends EncodedInput {
  /** Index of the example in the list given to prepareQaFeatures, and its id. */
  exampleIndex: number;
  exampleId: string;
  /** Training targets: first and last token of the answer, or clsIndex when this window has no (whole) answer. */
  startPosition: number;
  endPosition: number;
  /** Where [CLS] is (0 for BERT); "no answer" points here. */
  clsIndex: number;
  /** (T, 2) character offsets [start, end) into the context for context tokens; -1, -1 for every other token. */
  offsets: Int32Array;
}

export interface PrepareQaOptions {
  /** Tokens per window, special tokens and question included. Default 384 (run_qa.py's default). */
  maxLength?: number;
  /** Context tokens shared by consecutive windows. Default 128. */
  docStride?: number;
  /** Id of the token "no answer" points at. Default: the tokenizer's [CLS] (or <s>); else position 0. */
  clsId?: number;
}

/**
 * Windows of (question, context) with training targets and offsets (run_qa.py's prepare_train_features and
 * prepare_validation_features in one). The first gold answer is the training target. Leading whitespace of
 * the question is removed (it only wastes tokens). Example:
 * `prepareQaFeatures(readSquad(text), tok, { maxLength: 384, docStride: 128 })`.
 * Does not pad (collateInputs in batch.ts pads a batch).
 */
export function prepareQaFeatures(examples: readonly QAExample[], tokenizer: Tokenizer, options: PrepareQaOptions = {}): QAFeature[] {
  const maxLength = options.maxLength ?? 384;
  const docStride = options.docStride ?? 128;
  const clsId = options.clsId ?? tokenizer.tokenToId('[CLS]') ?? tokenizer.tokenToId('<s>');
  const out: QAFeature[] = [];
  examples.forEach((ex, exampleIndex) => {
    let enc;
    try {
      enc = tokenizer.encode(ex.question.trimStart(), ex.context, {
        maxLength,
        truncation: 'only_second',
        stride: docStride,
        returnOverflowing: true,
        padding: false,
      });
    } catch (err) {
      throw new Error(`question ${JSON.stringify(ex.id)}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const windows = [enc, ...enc.overflowing];
    const answer = ex.isImpossible ? undefined : ex.answers[0];
    for (const w of windows) {
      const T = w.ids.length;
      const found = clsId === undefined ? -1 : w.ids.indexOf(clsId);
      const clsIndex = found >= 0 ? found : 0;
      const offsets = new Int32Array(2 * T).fill(-1);
      let contextStart = -1; // first and last context token of this window
      let contextEnd = -1;
      for (let i = 0; i < T; i++) {
        if (w.sequenceIds[i] !== 1) continue;
        offsets[2 * i] = w.offsets[i][0];
        offsets[2 * i + 1] = w.offsets[i][1];
        if (contextStart < 0) contextStart = i;
        contextEnd = i;
      }
      let startPosition = clsIndex;
      let endPosition = clsIndex;
      if (answer && contextStart >= 0) {
        const startChar = answer.start;
        const endChar = answer.start + answer.text.length;
        // The whole answer must lie inside this window's piece of context.
        if (offsets[2 * contextStart] <= startChar && offsets[2 * contextEnd + 1] >= endChar) {
          // Last token starting at or before startChar; first token (from the end) ending at or after endChar.
          // Both scans stay inside the context (run_qa.py's scan can run past it when the answer is the
          // window's last token; the HF course's version bounds it, as here).
          let s = contextStart;
          while (s <= contextEnd && offsets[2 * s] <= startChar) s++;
          let e = contextEnd;
          while (e >= contextStart && offsets[2 * e + 1] >= endChar) e--;
          startPosition = s - 1;
          endPosition = e + 1;
        }
      }
      out.push({ ...encodedInput(w), exampleIndex, exampleId: ex.id, startPosition, endPosition, clsIndex, offsets });
    }
  });
  return out;
}

/** One candidate answer of an example. start/end are character offsets into the context. */
export interface QACandidate {
  text: string;
  start: number;
  end: number;
  startLogit: number;
  endLogit: number;
  score: number; // startLogit + endLogit
  probability: number; // softmax of the scores over this example's n-best list
}

export interface PostprocessQaOptions {
  /** SQuAD v2.0: questions may have no answer; predict "" when the null score wins. Default false. */
  version2WithNegative?: boolean;
  /** Candidates per example, and start/end logits considered per window. Default 20. */
  nBestSize?: number;
  /** Longest answer, in tokens. Default 30. */
  maxAnswerLength?: number;
  /** v2.0: predict "" when null score − best span score > this. Default 0. */
  nullScoreDiffThreshold?: number;
}

/** What postprocessQaPredictions returns, keyed by example id (JSON-ready: what run_qa.py writes to files). */
export interface QAPredictions {
  /** The answer text (or "" for no answer under v2.0). */
  predictions: Record<string, string>;
  /** The n-best candidates, best first. */
  nbest: Record<string, QACandidate[]>;
  /** v2.0 only: null score − best span score per example. */
  scoreDiff: Record<string, number>;
}

/**
 * Turn per-feature start/end logits into answers (utils_qa.py's postprocess_qa_predictions).
 * `startLogits[f]` and `endLogits[f]` belong to `features[f]` (positions past the feature's length are ignored).
 * Example: `postprocessQaPredictions(examples, features, starts, ends, { version2WithNegative: true }).predictions`.
 */
export function postprocessQaPredictions(
  examples: ReadonlyArray<Pick<QAExample, 'id' | 'context'>>,
  features: ReadonlyArray<Pick<QAFeature, 'exampleIndex' | 'offsets' | 'clsIndex'>>,
  startLogits: ReadonlyArray<ArrayLike<number>>,
  endLogits: ReadonlyArray<ArrayLike<number>>,
  options: PostprocessQaOptions = {},
): QAPredictions {
  const v2 = options.version2WithNegative ?? false;
  const nBest = options.nBestSize ?? 20;
  const maxAnswerLength = options.maxAnswerLength ?? 30;
  const threshold = options.nullScoreDiffThreshold ?? 0;
  if (startLogits.length !== features.length || endLogits.length !== features.length) {
    throw new Error(`postprocessQaPredictions: ${features.length} features but ${startLogits.length} start and ${endLogits.length} end logit rows`);
  }
  const featuresOf: number[][] = examples.map(() => []);
  features.forEach((f, i) => {
    if (!(f.exampleIndex >= 0 && f.exampleIndex < examples.length)) {
      throw new Error(`postprocessQaPredictions: feature ${i} belongs to example ${f.exampleIndex}, but there are ${examples.length} examples`);
    }
    featuresOf[f.exampleIndex].push(i);
  });

  const result: QAPredictions = { predictions: {}, nbest: {}, scoreDiff: {} };
  examples.forEach((ex, e) => {
    type Raw = { start: number; end: number; startLogit: number; endLogit: number; score: number };
    let nullPrediction: Raw | null = null;
    const prelim: Raw[] = [];
    for (const fi of featuresOf[e]) {
      const f = features[fi];
      const starts = startLogits[fi];
      const ends = endLogits[fi];
      const T = f.offsets.length / 2;
      const nullScore = starts[f.clsIndex] + ends[f.clsIndex];
      if (nullPrediction === null || nullPrediction.score > nullScore) {
        nullPrediction = { start: 0, end: 0, startLogit: starts[f.clsIndex], endLogit: ends[f.clsIndex], score: nullScore };
      }
      for (const s of topIndices(starts, T, nBest)) {
        for (const t of topIndices(ends, T, nBest)) {
          if (f.offsets[2 * s] < 0 || f.offsets[2 * t] < 0) continue; // not context: question, special, padding
          if (t < s || t - s + 1 > maxAnswerLength) continue;
          prelim.push({ start: f.offsets[2 * s], end: f.offsets[2 * t + 1], startLogit: starts[s], endLogit: ends[t], score: starts[s] + ends[t] });
        }
      }
    }
    const nullPred = nullPrediction as Raw | null;
    if (v2 && nullPred) prelim.push(nullPred);
    let best = prelim.sort((a, b) => b.score - a.score).slice(0, nBest);
    if (v2 && nullPred && !best.some((p) => p.start === 0 && p.end === 0)) best.push(nullPred);
    let candidates = best.map((p) => ({ ...p, text: ex.context.slice(p.start, p.end), probability: 0 }));
    if (candidates.length === 0 || (candidates.length === 1 && candidates[0].text === '')) {
      candidates = [{ text: 'empty', start: 0, end: 0, startLogit: 0, endLogit: 0, score: 0, probability: 0 }, ...candidates];
    }
    // Softmax over the candidates' scores, shifted by the max so exp never overflows.
    const top = Math.max(...candidates.map((c) => c.score));
    const weights = candidates.map((c) => Math.exp(c.score - top));
    const total = weights.reduce((a, b) => a + b, 0);
    candidates.forEach((c, k) => (c.probability = weights[k] / total));
    result.nbest[ex.id] = candidates;

    if (!v2) {
      result.predictions[ex.id] = candidates[0].text;
      return;
    }
    const bestSpan = candidates.find((c) => c.text !== '');
    const nullScore = nullPred ? nullPred.score : 0;
    const diff = bestSpan ? nullScore - bestSpan.startLogit - bestSpan.endLogit : Infinity;
    result.scoreDiff[ex.id] = diff;
    result.predictions[ex.id] = bestSpan && diff <= threshold ? bestSpan.text : '';
  });
  return result;
}

/** Indices of the k largest of values[0..n), largest first (ties: lower index first). */
function topIndices(values: ArrayLike<number>, n: number, k: number): number[] {
  const idx = Array.from({ length: Math.min(n, values.length) }, (_, i) => i);
  idx.sort((a, b) => values[b] - values[a] || a - b);
  return idx.slice(0, k);
}
