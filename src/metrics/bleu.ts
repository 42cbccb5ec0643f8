// BLEU (Papineni et al., 2002) exactly as sacreBLEU 2.x computes it: the mteval-v13a tokenisation, corpus-level
// n-gram statistics, the brevity penalty, exponential smoothing, and sacreBLEU's signature string.
//
// For hypotheses h_1..h_S, each with one or more references:
//   1. Tokenise every segment (13a by default: split off punctuation and symbols, keep "3.14" and "1,000" whole).
//   2. For n = 1..4, over the whole corpus:
//        total_n   = number of n-grams in the hypotheses
//        correct_n = Σ_seg Σ_ngram min(count in hypothesis, max count in any one reference)   ("clipped" counts)
//        p_n       = 100 · correct_n / total_n
//   3. c = total hypothesis length, r = Σ_seg the length of the reference closest in length to that hypothesis
//      (the shorter one on a tie). Brevity penalty BP = 1 if c ≥ r, else e^(1 − r/c) (0 when c = 0).
//   4. BLEU = BP · exp( (1/4) Σ_n ln p_n ), on 0–100.
// Smoothing, for an order with correct_n = 0 (sacreBLEU's smooth_method):
//   exp   (default; mteval's NIST smoothing): the k-th such order gets p_n = 100 / (2^k · total_n)
//   floor: p_n = 100 · ε / total_n (ε = 0.1)      add-k: for n > 1, correct_n and total_n both get + k (k = 1)
//   none:  p_n = 0, and so BLEU = 0
// If nothing matches at all (every correct_n = 0) BLEU is 0 whatever the smoothing. An order with no hypothesis
// n-grams (total_n = 0) stops the loop: its p_n stays 0 and BLEU is 0 — unless effective order is on (sentence
// BLEU), which averages only over the orders up to the last one with total_n > 0.
// ln 0 is taken as −9999999999 (sacreBLEU's my_log), which makes the score 0.
//
// Does not handle: the zh, ja-mecab, ko-mecab, spm and flores tokenisers (they need dictionaries or models), and
// TER.
import { codePoints, formatFixed, pyRstrip, pySplit } from './text.js';

/** The sacreBLEU release whose definitions this file reproduces; it is the `version:` field of the signature. */
export const SACREBLEU_VERSION = '2.6.0';

export type BleuTokenizer = '13a' | 'intl' | 'char' | 'none';
export type BleuSmoothing = 'exp' | 'floor' | 'add-k' | 'none';
export const BLEU_TOKENIZERS: readonly BleuTokenizer[] = ['13a', 'intl', 'char', 'none'];
export const BLEU_SMOOTHINGS: readonly BleuSmoothing[] = ['exp', 'floor', 'add-k', 'none'];

export interface BleuOptions {
  /** Default '13a' (mteval-v13a, what WMT reports). */
  tokenize?: BleuTokenizer;
  /** Lowercase hypotheses and references first (case:lc in the signature). */
  lowercase?: boolean;
  /** Default 'exp'. */
  smooth?: BleuSmoothing;
  /** ε for 'floor' (default 0.1), k for 'add-k' (default 1). */
  smoothValue?: number;
  /** Highest n-gram order, default 4. */
  maxNgramOrder?: number;
  /** Average only over n-gram orders the hypothesis has (default false for corpus BLEU, true for sentence BLEU). */
  effectiveOrder?: boolean;
}

export interface BleuScore {
  /** BLEU on 0–100. */
  score: number;
  /** correct_n, clipped matches per order (add-k smoothing included, as sacreBLEU reports them). */
  counts: number[];
  /** total_n, hypothesis n-grams per order. */
  totals: number[];
  /** p_n on 0–100 (after smoothing). */
  precisions: number[];
  /** Brevity penalty. */
  bp: number;
  /** Hypothesis length c and effective reference length r, in tokens. */
  sysLen: number;
  refLen: number;
  /** c / r (0 when r = 0). */
  ratio: number;
  /** sacreBLEU's signature, e.g. 'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0'. */
  signature: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Tokenisers.

/**
 * sacreBLEU's 'regexp' post-tokeniser (shared by 13a): space out ASCII punctuation and symbols; a period or comma
 * only when it is not between digits; a dash after a digit. Then one space between tokens.
 */
function tokenizeRegexp(line: string): string {
  // The ranges {-~ [-` space-& (-+ :-@ and / : every ASCII punctuation/symbol except ' , - . (and space itself).
  let s = line.replace(/([{-~[-` -&(-+:-@/])/g, ' $1 ');
  s = s.replace(/([^0-9])([.,])/g, '$1 $2 '); // period/comma unless preceded by a digit
  s = s.replace(/([.,])([^0-9])/g, ' $1 $2'); // period/comma unless followed by a digit
  s = s.replace(/([0-9])(-)/g, '$1 $2 '); // dash after a digit
  return pySplit(s).join(' ');
}

/**
 * mteval-v13a tokenisation as sacreBLEU's Tokenizer13a. Example: `tokenize13a('Hello, world!')` → `'Hello , world !'`.
 * Does not handle: languages without spaces between words (use 'char', or a zh/ja tokeniser outside attn).
 */
export function tokenize13a(line: string): string {
  let s = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (s.includes('&')) s = s.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  // The spaces around the line let a period at the very end be split off ("in 2019." → "in 2019 .").
  return tokenizeRegexp(` ${s} `);
}

/**
 * mteval-v14 "international" tokenisation (sacreBLEU's 'intl'): Unicode punctuation split off unless between
 * digits, Unicode symbols always. Example: `tokenizeIntl('«Bonjour»!')` → `'« Bonjour » !'`.
 */
export function tokenizeIntl(line: string): string {
  let s = line.replace(/(\P{N})(\p{P})/gu, '$1 $2 ');
  s = s.replace(/(\p{P})(\P{N})/gu, ' $1 $2');
  s = s.replace(/(\p{S})/gu, ' $1 ');
  return pySplit(s).join(' ');
}

/** Every character a token (sacreBLEU's 'char'). Example: `tokenizeChar('ab c')` → `'a b   c'`. */
export function tokenizeChar(line: string): string {
  return codePoints(line).join(' ');
}

/** The named tokeniser as a function. Example: `bleuTokenizer('13a')('a.')` → `'a .'`. */
export function bleuTokenizer(name: BleuTokenizer): (line: string) => string {
  switch (name) {
    case '13a':
      return tokenize13a;
    case 'intl':
      return tokenizeIntl;
    case 'char':
      return tokenizeChar;
    case 'none':
      return (line) => line;
    default:
      throw new Error(`unknown BLEU tokenizer '${String(name)}'; use one of ${BLEU_TOKENIZERS.join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// References: sacreBLEU takes them as streams (refs[k][i] = the k-th reference of segment i); a null entry lets a
// segment have fewer references.

/** Reference streams → per-segment reference lists, checked against the hypothesis count. */
export function segmentReferences(hypCount: number, refs: readonly (readonly (string | null)[])[], metric: string): { perSegment: string[][]; nrefs: string } {
  if (refs.length === 0) throw new Error(`${metric}: no references given`);
  refs.forEach((stream, k) => {
    if (stream.length !== hypCount) throw new Error(`${metric}: reference stream ${k + 1} has ${stream.length} segments but there are ${hypCount} hypotheses`);
  });
  const counts = new Set<number>();
  const perSegment: string[][] = [];
  for (let i = 0; i < hypCount; i++) {
    const lines = refs.map((r) => r[i]).filter((x): x is string => x !== null);
    if (lines.length === 0) throw new Error(`${metric}: segment ${i + 1} has no reference`);
    counts.add(lines.length);
    perSegment.push(lines);
  }
  // A varying number of references per segment is written 'var' in the signature.
  return { perSegment, nrefs: counts.size === 1 ? String([...counts][0]) : 'var' };
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics and the score.

/** n-gram counts per order (counts[n-1]) and the token count of a tokenised line. */
function ngramCounts(line: string, maxOrder: number): { counts: Map<string, number>[]; length: number } {
  const tokens = pySplit(line);
  const counts: Map<string, number>[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    const m = new Map<string, number>();
    // Tokens hold no whitespace, so joining with a space names each n-gram uniquely.
    for (let i = 0; i + n <= tokens.length; i++) {
      const g = tokens.slice(i, i + n).join(' ');
      m.set(g, (m.get(g) ?? 0) + 1);
    }
    counts.push(m);
  }
  return { counts, length: tokens.length };
}

/** The reference length closest to the hypothesis length; the shorter one on a tie. */
function closestRefLen(hypLen: number, refLens: number[]): number {
  let best = -1;
  let bestDiff = -1;
  for (const r of refLens) {
    const d = Math.abs(hypLen - r);
    if (bestDiff === -1 || d < bestDiff || (d === bestDiff && r < best)) {
      bestDiff = d;
      best = r;
    }
  }
  return best;
}

/** [hypLen, refLen, correct_1..N, total_1..N] for one segment (already preprocessed). */
function segmentStats(hyp: string, refs: string[], maxOrder: number): number[] {
  // Reference n-gram counts: for each n-gram the largest count in any single reference.
  const refMax: Map<string, number>[] = Array.from({ length: maxOrder }, () => new Map());
  const refLens: number[] = [];
  for (const r of refs) {
    const { counts, length } = ngramCounts(r, maxOrder);
    refLens.push(length);
    counts.forEach((m, n) => {
      for (const [g, c] of m) refMax[n].set(g, Math.max(refMax[n].get(g) ?? 0, c));
    });
  }
  const h = ngramCounts(hyp, maxOrder);
  const correct = new Array<number>(maxOrder).fill(0);
  const total = new Array<number>(maxOrder).fill(0);
  h.counts.forEach((m, n) => {
    for (const [g, c] of m) {
      total[n] += c;
      correct[n] += Math.min(c, refMax[n].get(g) ?? 0);
    }
  });
  return [h.length, closestRefLen(h.length, refLens), ...correct, ...total];
}

const SMOOTH_DEFAULTS: Record<BleuSmoothing, number | null> = { none: null, floor: 0.1, 'add-k': 1, exp: null };

/** sacreBLEU's my_log: ln x, with ln 0 taken as −9999999999. */
function myLog(x: number): number {
  return x === 0 ? -9999999999 : Math.log(x);
}

/**
 * BLEU from summed statistics (sacreBLEU's BLEU.compute_bleu). Example: `bleuFromStats([1, 1, 4, 3, 2, 1], ...)`.
 * `correct` and `total` are per order; they are copied, not changed.
 */
export function bleuFromStats(correctIn: readonly number[], totalIn: readonly number[], sysLen: number, refLen: number, options: BleuOptions = {}): Omit<BleuScore, 'signature'> {
  const smooth = options.smooth ?? 'exp';
  const maxOrder = options.maxNgramOrder ?? 4;
  const k = options.smoothValue ?? SMOOTH_DEFAULTS[smooth] ?? 0;
  const correct = [...correctIn];
  const total = [...totalIn];
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1;
  const precisions = new Array<number>(maxOrder).fill(0);
  const ratio = refLen ? sysLen / refLen : 0;
  const result = (score: number): Omit<BleuScore, 'signature'> => ({ score, counts: correct, totals: total, precisions, bp, sysLen, refLen, ratio });
  if (!correct.some((c) => c !== 0)) return result(0);

  let smoothMteval = 1;
  let effOrder = maxOrder;
  for (let n = 1; n <= maxOrder; n++) {
    if (smooth === 'add-k' && n > 1) {
      correct[n - 1] += k;
      total[n - 1] += k;
    }
    if (total[n - 1] === 0) break;
    if (options.effectiveOrder) effOrder = n;
    if (correct[n - 1] === 0) {
      if (smooth === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total[n - 1]);
      } else if (smooth === 'floor') {
        precisions[n - 1] = (100 * k) / total[n - 1];
      }
    } else {
      precisions[n - 1] = (100 * correct[n - 1]) / total[n - 1];
    }
  }
  let logSum = 0;
  for (let n = 0; n < effOrder; n++) logSum += myLog(precisions[n]);
  return result(bp * Math.exp(logSum / effOrder));
}

/** sacreBLEU's BLEU signature. Example: `bleuSignature('1', {})` → 'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0'. */
export function bleuSignature(nrefs: string, options: BleuOptions = {}): string {
  const smooth = options.smooth ?? 'exp';
  let smoothStr: string = smooth;
  const def = SMOOTH_DEFAULTS[smooth];
  if (def !== null) smoothStr += `[${formatFixed(options.smoothValue ?? def, 2)}]`;
  return [
    `nrefs:${nrefs}`,
    `case:${options.lowercase ? 'lc' : 'mixed'}`,
    `eff:${options.effectiveOrder ? 'yes' : 'no'}`,
    `tok:${options.tokenize ?? '13a'}`,
    `smooth:${smoothStr}`,
    `version:${SACREBLEU_VERSION}`,
  ].join('|');
}

function checkOptions(options: BleuOptions): void {
  if (options.smooth !== undefined && !BLEU_SMOOTHINGS.includes(options.smooth)) {
    throw new Error(`unknown BLEU smoothing '${String(options.smooth)}'; use one of ${BLEU_SMOOTHINGS.join(', ')}`);
  }
  const n = options.maxNgramOrder;
  if (n !== undefined && !(Number.isInteger(n) && n >= 1)) throw new Error(`maxNgramOrder must be a whole number ≥ 1, got ${n}`);
}

function preprocess(options: BleuOptions): (s: string) => string {
  const tok = bleuTokenizer(options.tokenize ?? '13a');
  return (s) => tok(pyRstrip(options.lowercase ? s.toLowerCase() : s));
}

/** Per-segment statistics rows [hypLen, refLen, correct_1..N, total_1..N], for bootstrap resampling or sentence scores. */
export function bleuSegmentStats(hypotheses: readonly string[], references: readonly (readonly (string | null)[])[], options: BleuOptions = {}): { stats: number[][]; nrefs: string } {
  checkOptions(options);
  const { perSegment, nrefs } = segmentReferences(hypotheses.length, references, 'BLEU');
  const prep = preprocess(options);
  const maxOrder = options.maxNgramOrder ?? 4;
  const stats = hypotheses.map((h, i) => segmentStats(prep(h), perSegment[i].map(prep), maxOrder));
  return { stats, nrefs };
}

/**
 * Corpus BLEU as sacreBLEU's `BLEU().corpus_score(hypotheses, references)`; references are streams
 * (references[k][i] is the k-th reference of hypothesis i).
 * Example: `corpusBleu(['the cat sat on the mat'], [['the cat is on the mat']]).score` → 37.99.
 * A corpus too short to have 4-grams scores 0 (as in sacreBLEU); sentenceBleu averages only the orders present.
 */
export function corpusBleu(hypotheses: readonly string[], references: readonly (readonly (string | null)[])[], options: BleuOptions = {}): BleuScore {
  if (hypotheses.length === 0) throw new Error('BLEU: no hypotheses');
  const { stats, nrefs } = bleuSegmentStats(hypotheses, references, options);
  const maxOrder = options.maxNgramOrder ?? 4;
  const sum = new Array<number>(2 + 2 * maxOrder).fill(0);
  for (const row of stats) row.forEach((v, j) => (sum[j] += v));
  const s = bleuFromStats(sum.slice(2, 2 + maxOrder), sum.slice(2 + maxOrder), sum[0], sum[1], options);
  return { ...s, signature: bleuSignature(nrefs, options) };
}

/**
 * Sentence BLEU as sacreBLEU's `sentence_bleu(hypothesis, references)`: one segment, effective order on.
 * Example: `sentenceBleu('the cat sat', ['the cat sat']).score` → 100.
 */
export function sentenceBleu(hypothesis: string, references: readonly string[], options: BleuOptions = {}): BleuScore {
  const opts = { ...options, effectiveOrder: options.effectiveOrder ?? true };
  return corpusBleu([hypothesis], references.map((r) => [r]), opts);
}

/**
 * sacreBLEU's one-line text report. Example: `formatBleu(s)` →
 * 'BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 41.1 75.0/50.0/33.3/25.0 (BP = 1.000 ratio = 1.000 hyp_len = 4 ref_len = 4)'.
 */
export function formatBleu(s: BleuScore, width = 1): string {
  return `BLEU|${s.signature} = ${formatFixed(s.score, width)} ${bleuVerbose(s)}`;
}

/** The details sacreBLEU prints after the score. Example: '75.0/50.0/33.3/25.0 (BP = 1.000 ratio = 1.000 hyp_len = 4 ref_len = 4)'. */
export function bleuVerbose(s: BleuScore): string {
  const prec = s.precisions.map((p) => formatFixed(p, 1)).join('/');
  return `${prec} (BP = ${formatFixed(s.bp, 3)} ratio = ${formatFixed(s.ratio, 3)} hyp_len = ${s.sysLen} ref_len = ${s.refLen})`;
}
