// ROUGE-N, ROUGE-L and ROUGE-Lsum (Lin, 2004) exactly as Google's rouge-score package computes them
// (google-research/rouge, `rouge_scorer.RougeScorer`), with its tokenizer and, optionally, its Porter stemmer.
//
// Tokens: lowercase, every run of characters other than a–z and 0–9 becomes a space, split. (So "Don't" gives
// "don" and "t", and words in other scripts vanish entirely: rouge-score is an English metric.) With the stemmer,
// tokens longer than 3 characters are stemmed ("running" → "run").
//
//   ROUGE-N:  overlap = Σ_{n-grams g} min(count_target(g), count_prediction(g))
//             P = overlap / #prediction n-grams,  R = overlap / #target n-grams   (a count of 0 divides as 1)
//   ROUGE-L:  L = length of the longest common subsequence of the two token lists,
//             P = L / |prediction|, R = L / |target|   (0 if either is empty)
//   ROUGE-Lsum: summary-level LCS. Both texts are split into sentences on "\n" only. For each target sentence
//             r, take the union of the token positions of r that lie on an LCS with each prediction sentence;
//             those tokens are hits, each hit spending one occurrence of its token from both texts' token counts
//             (so no token is counted more often than it occurs). P = hits / |prediction tokens|, R = hits / |target|.
//   F = 2PR / (P + R), 0 when P + R = 0. (rouge-score calls it fmeasure.)
// With several references (targets), each ROUGE type takes the target with the highest F (rouge-score's
// score_multi; the first on a tie). A corpus score is the plain mean of the segments' P, R and F, each separately.
//
// Does not handle: rouge-score's `split_summaries` (sentence splitting with nltk's punkt for rougeLsum), its
// BootstrapAggregator's confidence intervals (its "mid" is a bootstrap estimate; we report the exact mean), or
// other tokenizers.
import { porterStem } from './porter.js';

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

/** 'rouge1' … 'rouge9', 'rougeL' or 'rougeLsum'. */
export type RougeType = string;
export const ROUGE_DEFAULT_TYPES: readonly RougeType[] = ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'];

export interface RougeOptions {
  /** Which scores, default rouge1, rouge2, rougeL, rougeLsum. */
  types?: readonly RougeType[];
  /** Porter-stem tokens longer than 3 characters (rouge-score's use_stemmer). Default false. */
  useStemmer?: boolean;
}

/**
 * rouge-score's tokenizer. Example: `rougeTokenize("The cats' toys!", true)` → `['the', 'cat', 'toi']`.
 * Does not handle: non-Latin scripts (their characters are dropped, as in rouge-score).
 */
export function rougeTokenize(text: string, useStemmer = false): string[] {
  const cleaned = text.toLowerCase().replace(/[^a-z0-9]+/g, ' ');
  let tokens = cleaned.split(/\s+/);
  if (useStemmer) tokens = tokens.map((t) => (t.length > 3 ? porterStem(t) : t));
  return tokens.filter((t) => /^[a-z0-9]+$/.test(t));
}

function fmeasure(p: number, r: number): number {
  return p + r > 0 ? (2 * p * r) / (p + r) : 0;
}

function ngrams(tokens: readonly string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  // Tokens are [a-z0-9]+, so a space separates the words of an n-gram unambiguously.
  for (let i = 0; i + n <= tokens.length; i++) {
    const g = tokens.slice(i, i + n).join(' ');
    m.set(g, (m.get(g) ?? 0) + 1);
  }
  return m;
}

function scoreNgrams(target: readonly string[], prediction: readonly string[], n: number): RougeScore {
  const t = ngrams(target, n);
  const p = ngrams(prediction, n);
  let overlap = 0;
  for (const [g, c] of t) overlap += Math.min(c, p.get(g) ?? 0);
  const tCount = Math.max(0, target.length - n + 1);
  const pCount = Math.max(0, prediction.length - n + 1);
  const precision = overlap / Math.max(pCount, 1);
  const recall = overlap / Math.max(tCount, 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** The LCS table: t[i][j] = LCS length of ref[:i] and can[:j]. (Rows of Int32Array: no nested JS number arrays.) */
function lcsTable(ref: readonly string[], can: readonly string[]): Int32Array[] {
  const t = Array.from({ length: ref.length + 1 }, () => new Int32Array(can.length + 1));
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= can.length; j++) {
      t[i][j] = ref[i - 1] === can[j - 1] ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1]);
    }
  }
  return t;
}

function scoreLcs(target: readonly string[], prediction: readonly string[]): RougeScore {
  if (target.length === 0 || prediction.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const l = lcsTable(target, prediction)[target.length][prediction.length];
  const precision = l / prediction.length;
  const recall = l / target.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** Positions in `ref` of one LCS with `can`, read back from the table as rouge-score's _backtrack_norec does. */
function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const t = lcsTable(ref, can);
  let i = ref.length;
  let j = can.length;
  const out: number[] = [];
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      out.push(i - 1);
      i--;
      j--;
    } else if (t[i][j - 1] > t[i - 1][j]) j--;
    else i--;
  }
  return out.reverse();
}

function scoreSummaryLcs(targetSents: readonly string[][], predSents: readonly string[][]): RougeScore {
  const zero = { precision: 0, recall: 0, fmeasure: 0 };
  if (targetSents.length === 0 || predSents.length === 0) return zero;
  const m = targetSents.reduce((a, s) => a + s.length, 0);
  const n = predSents.reduce((a, s) => a + s.length, 0);
  if (m === 0 || n === 0) return zero;
  // Token counts of each side, spent as hits are found so that no token counts more often than it occurs.
  const countR = new Map<string, number>();
  const countC = new Map<string, number>();
  for (const s of targetSents) for (const t of s) countR.set(t, (countR.get(t) ?? 0) + 1);
  for (const s of predSents) for (const t of s) countC.set(t, (countC.get(t) ?? 0) + 1);
  let hits = 0;
  for (const r of targetSents) {
    const union = new Set<number>();
    for (const c of predSents) for (const i of lcsIndices(r, c)) union.add(i);
    for (const i of [...union].sort((a, b) => a - b)) {
      const t = r[i];
      const cc = countC.get(t) ?? 0;
      const cr = countR.get(t) ?? 0;
      if (cc > 0 && cr > 0) {
        hits++;
        countC.set(t, cc - 1);
        countR.set(t, cr - 1);
      }
    }
  }
  const recall = hits / m;
  const precision = hits / n;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

function checkTypes(types: readonly RougeType[]): void {
  for (const t of types) {
    if (t === 'rougeL' || t === 'rougeLsum') continue;
    const m = /^rouge([0-9])$/.exec(t);
    if (!m) throw new Error(`unknown ROUGE type '${t}'; use rouge1 … rouge9, rougeL or rougeLsum`);
    if (m[1] === '0') throw new Error(`ROUGE-N needs n ≥ 1, got '${t}'`);
  }
}

/** Sentences for rougeLsum: split on "\n" only, empty lines dropped (rouge-score's get_sents). */
function sentences(text: string): string[] {
  return text.split('\n').filter((s) => s.length > 0);
}

/** One target, one prediction: rouge-score's RougeScorer(types).score(target, prediction). */
function scoreOne(target: string, prediction: string, types: readonly RougeType[], stem: boolean): Record<string, RougeScore> {
  const tt = rougeTokenize(target, stem);
  const pt = rougeTokenize(prediction, stem);
  const out: Record<string, RougeScore> = {};
  for (const type of types) {
    if (type === 'rougeL') out[type] = scoreLcs(tt, pt);
    else if (type === 'rougeLsum') {
      out[type] = scoreSummaryLcs(
        sentences(target).map((s) => rougeTokenize(s, stem)),
        sentences(prediction).map((s) => rougeTokenize(s, stem)),
      );
    } else out[type] = scoreNgrams(tt, pt, Number(type.slice(5)));
  }
  return out;
}

/**
 * ROUGE of one prediction against one or more targets (references); with several, each type takes the target
 * with the best F. Note the order: prediction first here, while rouge-score's own `score` takes the target first.
 * Example: `rougeScore('the cat sat', 'the cat sat down').rouge1.recall` → 0.75.
 */
export function rougeScore(prediction: string, targets: string | readonly string[], options: RougeOptions = {}): Record<string, RougeScore> {
  const types = options.types ?? ROUGE_DEFAULT_TYPES;
  checkTypes(types);
  const list = typeof targets === 'string' ? [targets] : targets;
  if (list.length === 0) throw new Error('ROUGE: no target (reference) given');
  const each = list.map((t) => scoreOne(t, prediction, types, options.useStemmer ?? false));
  const out: Record<string, RougeScore> = {};
  for (const type of types) {
    let best = each[0][type];
    for (const s of each) if (s[type].fmeasure > best.fmeasure) best = s[type];
    out[type] = best;
  }
  return out;
}

/**
 * Corpus ROUGE: the plain mean over segments of each type's P, R and F. `references` are streams
 * (references[k][i] is the k-th reference of prediction i), as for BLEU.
 * Example: `corpusRouge(['a b', 'c'], [['a b', 'd']]).rouge1.fmeasure` → 0.5.
 */
export function corpusRouge(predictions: readonly string[], references: readonly (readonly string[])[], options: RougeOptions = {}): Record<string, RougeScore> {
  if (predictions.length === 0) throw new Error('ROUGE: no predictions');
  if (references.length === 0) throw new Error('ROUGE: no references given');
  references.forEach((stream, k) => {
    if (stream.length !== predictions.length) throw new Error(`ROUGE: reference stream ${k + 1} has ${stream.length} segments but there are ${predictions.length} predictions`);
  });
  const types = options.types ?? ROUGE_DEFAULT_TYPES;
  const sums: Record<string, RougeScore> = {};
  for (const t of types) sums[t] = { precision: 0, recall: 0, fmeasure: 0 };
  predictions.forEach((p, i) => {
    const s = rougeScore(p, references.map((r) => r[i]), options);
    for (const t of types) {
      sums[t].precision += s[t].precision;
      sums[t].recall += s[t].recall;
      sums[t].fmeasure += s[t].fmeasure;
    }
  });
  const n = predictions.length;
  for (const t of types) sums[t] = { precision: sums[t].precision / n, recall: sums[t].recall / n, fmeasure: sums[t].fmeasure / n };
  return sums;
}
