// Classification metrics: accuracy, precision / recall / F1 (per label and micro, macro, weighted averages) and
// the confusion matrix, with scikit-learn's definitions (`accuracy_score`, `precision_recall_fscore_support`,
// `confusion_matrix`) and the same numbers on the same inputs.
//
// The counts behind everything, for one label ℓ over N samples:
//   tp(ℓ) = #{i : gold_i = ℓ and pred_i = ℓ}     pred(ℓ) = #{i : pred_i = ℓ}     true(ℓ) = #{i : gold_i = ℓ}
//   precision(ℓ) = tp / pred      recall(ℓ) = tp / true      F1(ℓ) = 2·P·R / (P + R) = 2·tp / (pred + true)
// A 0/0 counts as 0 (scikit-learn's zero_division="warn", which returns 0 and warns). The label set is the union
// of the gold and predicted labels, sorted (scikit-learn's `unique_labels`), so every label has pred + true > 0
// and F1 is always defined; a label that is only ever predicted has recall 0/0 = 0.
//
// Averages over the L labels:
//   micro:    pool the counts first: P = Σtp / Σpred, R = Σtp / Σtrue. With every label included Σpred = Σtrue = N,
//             so micro P = micro R = micro F1 = accuracy.
//   macro:    the plain mean of the per-label values (each label counts the same, however rare).
//   weighted: the mean weighted by support true(ℓ) (labels count as often as they occur in the gold data).
//             Weighted F1 need not lie between weighted P and weighted R.
//
// Does not handle: multi-label targets, sample weights, a chosen subset of labels, or F-beta with beta ≠ 1.
// Labels are strings compared exactly (read from files, "1" and "1.0" are different labels).
import { sortedUnique } from './text.js';

/** Precision, recall and F1 on 0–1, with the number of gold samples they cover. */
export interface PRF {
  precision: number;
  recall: number;
  f1: number;
  /** Gold samples counted: true(ℓ) for one label, N for an average. */
  support: number;
}

export interface LabelPRF extends PRF {
  label: string;
}

export interface ClassificationReport {
  /** The union of gold and predicted labels, sorted by code point (as Python sorts strings). */
  labels: string[];
  /** Fraction of samples whose prediction equals the gold label. */
  accuracy: number;
  /** One entry per label, in `labels` order. */
  perLabel: LabelPRF[];
  micro: PRF;
  macro: PRF;
  weighted: PRF;
  /** confusion[i][j] = number of samples with gold labels[i] predicted as labels[j] (rows gold, columns predicted). */
  confusion: number[][];
}

function checkPair(gold: readonly string[], pred: readonly string[], what: string): void {
  if (gold.length !== pred.length) {
    throw new Error(`${what}: ${gold.length} gold labels but ${pred.length} predictions; they must pair up one to one`);
  }
  if (gold.length === 0) throw new Error(`${what}: no samples (both lists are empty)`);
}

/** 0/0 → 0, as scikit-learn with zero_division="warn" (or 0). */
function divide(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

/** Fraction of exact matches. Example: `accuracy(['a', 'b', 'b'], ['a', 'b', 'a'])` → 2/3. Does not handle multi-label sets. */
export function accuracy(gold: readonly string[], pred: readonly string[]): number {
  checkPair(gold, pred, 'accuracy');
  let correct = 0;
  for (let i = 0; i < gold.length; i++) if (gold[i] === pred[i]) correct++;
  return correct / gold.length;
}

/**
 * The confusion matrix over `labels` (default: the sorted union of gold and predicted labels); rows are gold,
 * columns predicted. Samples whose labels are not in `labels` are left out, as in scikit-learn.
 * Example: `confusionMatrix(['a', 'b'], ['b', 'b']).matrix` → `[[0, 1], [0, 1]]`.
 */
export function confusionMatrix(gold: readonly string[], pred: readonly string[], labels?: readonly string[]): { labels: string[]; matrix: number[][] } {
  checkPair(gold, pred, 'confusionMatrix');
  const names = labels ? [...labels] : sortedUnique([...gold, ...pred]);
  const index = new Map(names.map((l, i) => [l, i] as const));
  const matrix = names.map(() => names.map(() => 0));
  for (let i = 0; i < gold.length; i++) {
    const r = index.get(gold[i]);
    const c = index.get(pred[i]);
    if (r !== undefined && c !== undefined) matrix[r][c]++;
  }
  return { labels: names, matrix };
}

/**
 * Per-label and averaged precision, recall and F1, accuracy and the confusion matrix, as scikit-learn computes
 * them with the label set = union of gold and predicted labels and 0/0 = 0.
 * Example: `classificationReport(['a', 'a', 'b'], ['a', 'b', 'b']).macro.f1` → 2/3.
 */
export function classificationReport(gold: readonly string[], pred: readonly string[]): ClassificationReport {
  checkPair(gold, pred, 'classificationReport');
  const { labels, matrix } = confusionMatrix(gold, pred);
  const L = labels.length;
  // From the confusion matrix: tp on the diagonal, true(ℓ) = row sum, pred(ℓ) = column sum.
  const tp = labels.map((_, i) => matrix[i][i]);
  const trueSum = labels.map((_, i) => matrix[i].reduce((a, b) => a + b, 0));
  const predSum = labels.map((_, j) => matrix.reduce((a, row) => a + row[j], 0));

  const perLabel: LabelPRF[] = labels.map((label, i) => ({
    label,
    precision: divide(tp[i], predSum[i]),
    recall: divide(tp[i], trueSum[i]),
    // 2·tp / (pred + true) is 2PR/(P+R) without the intermediate roundings (scikit-learn ≥ 1.3 uses this form).
    f1: divide(2 * tp[i], predSum[i] + trueSum[i]),
    support: trueSum[i],
  }));

  const N = gold.length;
  const sumTp = tp.reduce((a, b) => a + b, 0);
  const microP = divide(sumTp, predSum.reduce((a, b) => a + b, 0));
  const microR = divide(sumTp, trueSum.reduce((a, b) => a + b, 0));
  const micro: PRF = { precision: microP, recall: microR, f1: divide(2 * microP * microR, microP + microR), support: N };

  const mean = (key: 'precision' | 'recall' | 'f1'): number => perLabel.reduce((a, s) => a + s[key], 0) / L;
  const macro: PRF = { precision: mean('precision'), recall: mean('recall'), f1: mean('f1'), support: N };

  // numpy.average(values, weights=support): Σ w·v / Σ w, with Σ w = N > 0 here.
  const wmean = (key: 'precision' | 'recall' | 'f1'): number => perLabel.reduce((a, s) => a + s[key] * s.support, 0) / N;
  const weighted: PRF = { precision: wmean('precision'), recall: wmean('recall'), f1: wmean('f1'), support: N };

  return { labels, accuracy: sumTp / N, perLabel, micro, macro, weighted, confusion: matrix };
}

/**
 * One averaged figure set. Example: `precisionRecallF1(gold, pred, 'macro')` → `{ precision, recall, f1, support }`.
 * Does not handle: `average: null` (use classificationReport(...).perLabel) or a chosen label subset.
 */
export function precisionRecallF1(gold: readonly string[], pred: readonly string[], average: 'micro' | 'macro' | 'weighted'): PRF {
  return classificationReport(gold, pred)[average];
}
