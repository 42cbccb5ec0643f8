// SQuAD exact match and F1, as the official evaluation scripts compute them (evaluate-v1.1.py for SQuAD 1.1,
// evaluate-v2.0.py for SQuAD 2.0, which adds unanswerable questions).
//
// Both compare a predicted answer text with each gold answer text after the same normalisation, and keep the best
// score over the gold answers:
//   normalize(s) = lowercase → drop ASCII punctuation (Python's string.punctuation) → replace the words a, an,
//                  the by a space → collapse whitespace.          "The  Eiffel-Tower!" → "eiffeltower"
//   exact(pred, gold) = 1 if normalize(pred) == normalize(gold) else 0
//   F1(pred, gold)    = bag-of-words F1 of the normalised tokens: common = Σ_w min(#w in pred, #w in gold),
//                       P = common / |pred|, R = common / |gold|, F1 = 2PR / (P + R)   (0 when common = 0)
// Corpus figures are means over questions × 100.
//
// Where v1.1 and v2.0 differ:
//   - v2.0: a question whose gold answers are all empty after normalisation (SQuAD 2.0's "answers": []) has the
//     single gold answer '' — the right prediction is the empty string. F1 when either side has no tokens is 1
//     if both have none, else 0. Questions with answers are "HasAns", the others "NoAns", reported separately.
//   - v1.1: F1 of two empty token lists is 0 (common = 0); every question must have gold answers; a question with
//     no prediction scores 0 and still counts in the total. (The v2.0 script cannot score a file with missing
//     predictions — it fails with a KeyError — so we refuse it with the ids.)
//   - v2.0 with no-answer probabilities (na_prob.json, {id: p}): a question with p > threshold is taken as
//     answered "no answer" (score 1 if it has none, else 0), and best_exact / best_f1 report the best score over
//     all thresholds, with the threshold that reaches it.
//
// Does not handle: the v2.0 script's precision-recall curves and plots (--out-image-dir).
import { pySplit } from './text.js';

/** A SQuAD dataset file ({"version", "data": [...]}) or its "data" array. */
export type SquadDataset = { data: unknown; version?: unknown } | readonly unknown[];

/** Predictions {question id: answer text}, as a plain object or a Map. */
export type SquadPredictions = Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>;

/** No-answer probabilities {question id: p}. Order matters for ties (see squadV2): give a Map or ordered entries
 * to keep the file's order (a plain object puts integer-like keys first). */
export type SquadNaProbs = Readonly<Record<string, number>> | ReadonlyMap<string, number> | ReadonlyArray<readonly [string, number]>;

export interface SquadV1Result {
  exact_match: number;
  f1: number;
  /** Questions in the dataset (the denominator). */
  total: number;
  /** Ids of questions with no prediction (each scored 0). */
  missing: string[];
}

export interface SquadV2Result {
  exact: number;
  f1: number;
  total: number;
  HasAns_exact?: number;
  HasAns_f1?: number;
  HasAns_total?: number;
  NoAns_exact?: number;
  NoAns_f1?: number;
  NoAns_total?: number;
  best_exact?: number;
  best_exact_thresh?: number;
  best_f1?: number;
  best_f1_thresh?: number;
}

// Python's string.punctuation: the 32 ASCII punctuation characters.
const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
// Python's re.sub(r'\b(a|an|the)\b', ' ', text): \b is a boundary between a Unicode word character (letters,
// digits, underscore — Python's \w on str) and anything else, which JavaScript's ASCII-only \b is not.
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

/**
 * The official SQuAD answer normalisation. Example: `normalizeAnswer('The  Eiffel-Tower!')` → `'eiffeltower'`.
 * Does not handle: non-English articles or punctuation outside ASCII (neither does the official script).
 */
export function normalizeAnswer(s: string): string {
  const lower = s.toLowerCase();
  let noPunct = '';
  for (const ch of lower) if (!PUNCTUATION.has(ch)) noPunct += ch;
  const noArticles = noPunct.replace(ARTICLES, ' ');
  return pySplit(noArticles).join(' ');
}

/** 1 if the normalised texts are equal, else 0. Example: `squadExactMatch('the Cat', 'cat')` → 1. */
export function squadExactMatch(prediction: string, gold: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(gold) ? 1 : 0;
}

/**
 * Token F1 of one prediction against one gold answer. `version` 2 (default) scores two empty answers 1, version 1
 * scores them 0. Example: `squadF1('Denver Broncos', 'the Broncos')` → 2/3.
 */
export function squadF1(prediction: string, gold: string, version: 1 | 2 = 2): number {
  const p = pySplit(normalizeAnswer(prediction));
  const g = pySplit(normalizeAnswer(gold));
  if (version === 2 && (p.length === 0 || g.length === 0)) return p.length === g.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const w of g) counts.set(w, (counts.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of p) {
    const c = counts.get(w) ?? 0;
    if (c > 0) {
      common++;
      counts.set(w, c - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / p.length;
  const recall = common / g.length;
  return (2 * precision * recall) / (precision + recall);
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the dataset: every question with its id and gold answer texts, checked as we go.

interface Question {
  id: string;
  answers: string[];
}

function fail(path: string, expected: string, got: unknown): never {
  const shown = got === undefined ? 'nothing' : JSON.stringify(got)?.slice(0, 60) ?? String(got);
  throw new Error(`SQuAD data: ${path} must be ${expected}, got ${shown}`);
}

/** The questions of a SQuAD file in file order. Example: `squadQuestions(json)[0]` → `{ id, answers: [...] }`. */
export function squadQuestions(dataset: SquadDataset): Question[] {
  const data = Array.isArray(dataset) ? dataset : (dataset as { data: unknown }).data;
  if (!Array.isArray(data)) fail('data', 'an array of articles', data);
  const out: Question[] = [];
  data.forEach((article: unknown, a: number) => {
    const paragraphs = (article as { paragraphs?: unknown } | null)?.paragraphs;
    if (!Array.isArray(paragraphs)) fail(`data[${a}].paragraphs`, 'an array', paragraphs);
    paragraphs.forEach((para: unknown, p: number) => {
      const qas = (para as { qas?: unknown } | null)?.qas;
      if (!Array.isArray(qas)) fail(`data[${a}].paragraphs[${p}].qas`, 'an array', qas);
      qas.forEach((qa: unknown, q: number) => {
        const at = `data[${a}].paragraphs[${p}].qas[${q}]`;
        const id = (qa as { id?: unknown } | null)?.id;
        if (typeof id !== 'string') fail(`${at}.id`, 'a string', id);
        const answers = (qa as { answers?: unknown }).answers;
        if (!Array.isArray(answers)) fail(`${at}.answers`, 'an array', answers);
        const texts = answers.map((ans: unknown, k: number) => {
          const text = (ans as { text?: unknown } | null)?.text;
          if (typeof text !== 'string') fail(`${at}.answers[${k}].text`, 'a string', text);
          return text;
        });
        out.push({ id, answers: texts });
      });
    });
  });
  return out;
}

function lookup(preds: SquadPredictions, id: string): { has: boolean; value: unknown } {
  if (preds instanceof Map) return { has: preds.has(id), value: preds.get(id) };
  const obj = preds as Readonly<Record<string, unknown>>;
  const has = Object.prototype.hasOwnProperty.call(obj, id);
  return { has, value: has ? obj[id] : undefined };
}

function predictionText(preds: SquadPredictions, id: string): string | undefined {
  const { has, value } = lookup(preds, id);
  if (!has) return undefined;
  if (typeof value !== 'string') throw new Error(`SQuAD predictions: the answer for question '${id}' must be a string, got ${JSON.stringify(value)}`);
  return value;
}

const max = (xs: number[]): number => xs.reduce((a, b) => (b > a ? b : a), -Infinity);

// ---------------------------------------------------------------------------------------------------------------

/**
 * SQuAD 1.1 exact match and F1 (0–100), as evaluate-v1.1.py. Example: `squadV1(json, { q1: 'Denver Broncos' })`.
 * Throws when a question has no gold answers (a SQuAD 2.0 file: use squadV2).
 */
export function squadV1(dataset: SquadDataset, predictions: SquadPredictions): SquadV1Result {
  const questions = squadQuestions(dataset);
  let em = 0;
  let f1 = 0;
  const missing: string[] = [];
  for (const q of questions) {
    const pred = predictionText(predictions, q.id);
    if (pred === undefined) {
      missing.push(q.id);
      continue;
    }
    if (q.answers.length === 0) throw new Error(`SQuAD 1.1: question '${q.id}' has no gold answers (an unanswerable SQuAD 2.0 question?); score this file as SQuAD 2.0`);
    em += max(q.answers.map((g) => squadExactMatch(pred, g)));
    f1 += max(q.answers.map((g) => squadF1(pred, g, 1)));
  }
  const total = questions.length;
  if (total === 0) throw new Error('SQuAD 1.1: the dataset has no questions');
  return { exact_match: (100 * em) / total, f1: (100 * f1) / total, total, missing };
}

export interface SquadV2Options {
  /** Each question's predicted probability of having no answer. Enables best_exact / best_f1. */
  naProbs?: SquadNaProbs;
  /** A question with naProb > threshold is taken as answered "no answer". Default 1.0 (never, as p ≤ 1). */
  naProbThresh?: number;
}

function naEntries(na: SquadNaProbs): Array<[string, number]> {
  const entries: ReadonlyArray<readonly [string, unknown]> = Array.isArray(na)
    ? (na as ReadonlyArray<readonly [string, number]>)
    : na instanceof Map
      ? [...(na as ReadonlyMap<string, number>)]
      : Object.entries(na as Readonly<Record<string, number>>);
  // A repeated id keeps its first place and its last value, as a Python dict built from JSON does.
  const m = new Map<string, number>();
  for (const [k, v] of entries) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`SQuAD no-answer probabilities: the value for '${k}' must be a number, got ${JSON.stringify(v)}`);
    m.set(k, v);
  }
  return [...m];
}

/**
 * SQuAD 2.0 figures (0–100) under the official script's names. Example: `squadV2(json, preds).HasAns_f1`.
 * Throws when a question has no prediction (the official script fails there too) or, with naProbs, no probability.
 */
export function squadV2(dataset: SquadDataset, predictions: SquadPredictions, options: SquadV2Options = {}): SquadV2Result {
  const questions = squadQuestions(dataset);
  if (questions.length === 0) throw new Error('SQuAD 2.0: the dataset has no questions');
  const missing = questions.filter((q) => predictionText(predictions, q.id) === undefined).map((q) => q.id);
  if (missing.length > 0) {
    throw new Error(`SQuAD 2.0: ${missing.length} question(s) have no prediction (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}); predict "" for "no answer"`);
  }
  // Raw scores per question, in dataset order (a later duplicate id overwrites, as the script's dicts do).
  const hasAns = new Map<string, boolean>();
  const exactRaw = new Map<string, number>();
  const f1Raw = new Map<string, number>();
  const predOf = new Map<string, string>();
  for (const q of questions) {
    hasAns.set(q.id, q.answers.length > 0);
    const pred = predictionText(predictions, q.id) as string;
    predOf.set(q.id, pred);
    // Gold answers that normalise to nothing do not count; none left means the only right answer is ''.
    let golds = q.answers.filter((a) => normalizeAnswer(a) !== '');
    if (golds.length === 0) golds = [''];
    exactRaw.set(q.id, max(golds.map((g) => squadExactMatch(pred, g))));
    f1Raw.set(q.id, max(golds.map((g) => squadF1(pred, g, 2))));
  }

  // Without a probability file the script takes every probability as 0.0, so only a negative threshold acts.
  const thresh = options.naProbThresh ?? 1.0;
  const na = options.naProbs ? new Map(naEntries(options.naProbs)) : new Map([...exactRaw.keys()].map((id) => [id, 0.0] as const));
  const applyThreshold = (raw: Map<string, number>): Map<string, number> => {
    const out = new Map<string, number>();
    for (const [id, s] of raw) {
      const p = na.get(id);
      if (p === undefined) throw new Error(`SQuAD 2.0: no no-answer probability for question '${id}'`);
      // Taken as "no answer": right exactly when the question has none.
      out.set(id, p > thresh ? (hasAns.get(id) ? 0 : 1) : s);
    }
    return out;
  };
  const exact = applyThreshold(exactRaw);
  const f1 = applyThreshold(f1Raw);

  const meanOver = (m: Map<string, number>, ids: string[]): number => (100 * ids.reduce((a, id) => a + (m.get(id) as number), 0)) / ids.length;
  const all = [...exact.keys()];
  const result: SquadV2Result = { exact: meanOver(exact, all), f1: meanOver(f1, all), total: all.length };
  const hasIds = [...hasAns].filter(([, v]) => v).map(([k]) => k);
  const noIds = [...hasAns].filter(([, v]) => !v).map(([k]) => k);
  if (hasIds.length > 0) Object.assign(result, { HasAns_exact: meanOver(exact, hasIds), HasAns_f1: meanOver(f1, hasIds), HasAns_total: hasIds.length });
  if (noIds.length > 0) Object.assign(result, { NoAns_exact: meanOver(exact, noIds), NoAns_f1: meanOver(f1, noIds), NoAns_total: noIds.length });

  if (options.naProbs) {
    const order = naEntries(options.naProbs);
    const be = bestThreshold(order, exactRaw, predOf, hasAns, noIds.length);
    const bf = bestThreshold(order, f1Raw, predOf, hasAns, noIds.length);
    Object.assign(result, { best_exact: be.score, best_exact_thresh: be.thresh, best_f1: bf.score, best_f1_thresh: bf.thresh });
  }
  return result;
}

/**
 * The official script's find_best_thresh. Start with every question answered "no answer" (score = number of
 * NoAns questions), then walk the questions by increasing no-answer probability, letting each one answer: a
 * HasAns question gains its raw score, a NoAns question loses 1 if its prediction is non-empty. The best running
 * score (÷ questions × 100) and the probability where it was reached are the result. Ties in probability are
 * walked in the order of the na_prob file (Python's sort is stable), so a threshold can fall inside a tie — a
 * quirk of the script that we keep.
 */
function bestThreshold(order: Array<[string, number]>, raw: Map<string, number>, preds: Map<string, string>, hasAns: Map<string, boolean>, numNoAns: number): { score: number; thresh: number } {
  const sorted = order.map((e, i) => [e, i] as const).sort((a, b) => a[0][1] - b[0][1] || a[1] - b[1]).map(([e]) => e);
  let cur = numNoAns;
  let best = cur;
  let bestThresh = 0.0;
  for (const [id, p] of sorted) {
    if (!raw.has(id)) continue;
    const diff = hasAns.get(id) ? (raw.get(id) as number) : preds.get(id) ? -1 : 0;
    cur += diff;
    if (cur > best) {
      best = cur;
      bestThresh = p;
    }
  }
  return { score: (100 * best) / raw.size, thresh: bestThresh };
}
