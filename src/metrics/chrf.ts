// chrF (Popović, 2015) and chrF++ (Popović, 2017) exactly as sacreBLEU 2.x computes them: character n-gram
// F-score, β = 2 (recall weighs twice as much as precision), n = 1..6, whitespace removed.
//
// For each segment, against each of its references (the reference giving the best segment F-score is kept):
//   per order n: hyp_n = character n-grams of the hypothesis (0 when the reference has no n-grams of that order),
//                ref_n = character n-grams of the reference, match_n = Σ min(count in hyp, count in ref)
// The corpus score sums these counts over segments, then (sacreBLEU's default, "effective order"):
//   over the orders where hyp_n > 0 and ref_n > 0:  P = mean of match_n / hyp_n,  R = mean of match_n / ref_n
//   chrF = 100 · (1 + β²) · P · R / (β² · P + R)         (0 when P + R = 0)
// chrF++ adds word unigrams and bigrams (word order 2) as two more "orders", words being split on whitespace
// with one punctuation character split off the end (or, failing that, the start) of each word.
// With epsSmoothing (sacreBLEU's --chrf-eps-smoothing, the original chrF++.py), each order's F is computed with
// 1e-16 for undefined values and the orders' F-scores are averaged instead.
//
// Does not handle: TER, or sacreBLEU's statistical significance tests.
import { SACREBLEU_VERSION, segmentReferences } from './bleu.js';
import { codePoints, formatFixed, pySplit } from './text.js';

export interface ChrfOptions {
  /** Character n-gram order, default 6. */
  charOrder?: number;
  /** Word n-gram order: 0 for chrF (default), 2 for chrF++. */
  wordOrder?: number;
  /** β, default 2. */
  beta?: number;
  /** Lowercase first. */
  lowercase?: boolean;
  /** Keep whitespace inside character n-grams (default: removed). */
  whitespace?: boolean;
  /** chrF++.py-style epsilon smoothing instead of sacreBLEU's effective order. */
  epsSmoothing?: boolean;
}

export interface ChrfScore {
  /** chrF on 0–100. */
  score: number;
  /** 'chrF2', or 'chrF2++' with word order 2. */
  name: string;
  /** sacreBLEU's signature, e.g. 'nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0'. */
  signature: string;
}

// Python's string.punctuation, which sacreBLEU's chrF++ word splitting strips.
const PUNCTS = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/** chrF++'s words: whitespace tokens, with one punctuation character split off the end, or else the start. */
function words(sent: string): string[] {
  const out: string[] = [];
  for (const w of pySplit(sent)) {
    const chars = codePoints(w);
    if (chars.length === 1) out.push(w);
    else if (PUNCTS.has(chars[chars.length - 1])) out.push(chars.slice(0, -1).join(''), chars[chars.length - 1]);
    else if (PUNCTS.has(chars[0])) out.push(chars[0], chars.slice(1).join(''));
    else out.push(w);
  }
  return out;
}

function count<T>(items: Iterable<T>): Map<T, number> {
  const m = new Map<T, number>();
  for (const x of items) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

/** Counters for char orders 1..charOrder then word orders 1..wordOrder. */
function allNgrams(sent: string, o: Required<ChrfOptions>): Map<string, number>[] {
  const line = o.whitespace ? sent : pySplit(sent).join('');
  const chars = codePoints(line);
  const out: Map<string, number>[] = [];
  for (let n = 1; n <= o.charOrder; n++) {
    const grams: string[] = [];
    for (let i = 0; i + n <= chars.length; i++) grams.push(chars.slice(i, i + n).join(''));
    out.push(count(grams));
  }
  if (o.wordOrder > 0) {
    const ws = words(sent);
    for (let n = 1; n <= o.wordOrder; n++) {
      const grams: string[] = [];
      for (let i = 0; i + n <= ws.length; i++) grams.push(ws.slice(i, i + n).join(' '));
      out.push(count(grams));
    }
  }
  return out;
}

/** [hyp, ref, match] counts of one order. The hypothesis count is 0 when the reference has no n-grams of it. */
function matchStats(hyp: Map<string, number>, ref: Map<string, number>): [number, number, number] {
  let match = 0;
  let hypCount = 0;
  for (const [g, c] of hyp) {
    hypCount += c;
    const r = ref.get(g);
    if (r !== undefined) match += Math.min(c, r);
  }
  let refCount = 0;
  for (const c of ref.values()) refCount += c;
  return [ref.size > 0 ? hypCount : 0, refCount, match];
}

/** chrF from flat [hyp, ref, match] × orders statistics (sacreBLEU's CHRF._compute_f_score), on 0–100. */
export function chrfFromStats(stats: readonly number[], options: ChrfOptions = {}): number {
  const o = resolve(options);
  const order = o.charOrder + o.wordOrder;
  const eps = 1e-16;
  const factor = o.beta ** 2;
  let score = 0;
  let avgPrec = 0;
  let avgRec = 0;
  let effective = 0;
  for (let i = 0; i < order; i++) {
    const [nHyp, nRef, nMatch] = [stats[3 * i], stats[3 * i + 1], stats[3 * i + 2]];
    const prec = nHyp > 0 ? nMatch / nHyp : eps;
    const rec = nRef > 0 ? nMatch / nRef : eps;
    const denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec) / denom : eps;
    if (nHyp > 0 && nRef > 0) {
      avgPrec += prec;
      avgRec += rec;
      effective++;
    }
  }
  if (o.epsSmoothing) return (100 * score) / order;
  if (effective === 0) return 0;
  avgPrec /= effective;
  avgRec /= effective;
  if (avgPrec + avgRec === 0) return 0;
  return (100 * (1 + factor) * avgPrec * avgRec) / (factor * avgPrec + avgRec);
}

function resolve(options: ChrfOptions): Required<ChrfOptions> {
  const o: Required<ChrfOptions> = {
    charOrder: options.charOrder ?? 6,
    wordOrder: options.wordOrder ?? 0,
    beta: options.beta ?? 2,
    lowercase: options.lowercase ?? false,
    whitespace: options.whitespace ?? false,
    epsSmoothing: options.epsSmoothing ?? false,
  };
  for (const k of ['charOrder', 'wordOrder', 'beta'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 0) throw new Error(`chrF: ${k} must be a whole number ≥ 0, got ${o[k]}`);
  }
  if (o.charOrder + o.wordOrder === 0) throw new Error('chrF: charOrder + wordOrder must be at least 1');
  return o;
}

/** sacreBLEU's chrF signature. Example: `chrfSignature('1')` → 'nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0'. */
export function chrfSignature(nrefs: string, options: ChrfOptions = {}): string {
  const o = resolve(options);
  return `nrefs:${nrefs}|case:${o.lowercase ? 'lc' : 'mixed'}|eff:${o.epsSmoothing ? 'no' : 'yes'}|nc:${o.charOrder}|nw:${o.wordOrder}|space:${o.whitespace ? 'yes' : 'no'}|version:${SACREBLEU_VERSION}`;
}

/** Per-segment statistics rows (the best reference's [hyp, ref, match] × orders). */
export function chrfSegmentStats(hypotheses: readonly string[], references: readonly (readonly (string | null)[])[], options: ChrfOptions = {}): { stats: number[][]; nrefs: string } {
  const o = resolve(options);
  const { perSegment, nrefs } = segmentReferences(hypotheses.length, references, 'chrF');
  const prep = (s: string): string => (o.lowercase ? s.toLowerCase() : s);
  const stats = hypotheses.map((h, i) => {
    const hyp = allNgrams(prep(h), o);
    let best: number[] = [];
    let bestF = -1;
    for (const r of perSegment[i]) {
      const ref = allNgrams(prep(r), o);
      const row = hyp.flatMap((hm, n) => matchStats(hm, ref[n]));
      const f = chrfFromStats(row, o);
      if (f > bestF) {
        bestF = f;
        best = row;
      }
    }
    return best;
  });
  return { stats, nrefs };
}

/**
 * Corpus chrF as sacreBLEU's `CHRF().corpus_score(hypotheses, references)` (references as streams).
 * Example: `corpusChrf(['the cat'], [['the cat']]).score` → 100.
 */
export function corpusChrf(hypotheses: readonly string[], references: readonly (readonly (string | null)[])[], options: ChrfOptions = {}): ChrfScore {
  if (hypotheses.length === 0) throw new Error('chrF: no hypotheses');
  const o = resolve(options);
  const { stats, nrefs } = chrfSegmentStats(hypotheses, references, o);
  const sum = new Array<number>(3 * (o.charOrder + o.wordOrder)).fill(0);
  for (const row of stats) row.forEach((v, j) => (sum[j] += v));
  return { score: chrfFromStats(sum, o), name: `chrF${o.beta}${'+'.repeat(o.wordOrder)}`, signature: chrfSignature(nrefs, o) };
}

/** Sentence chrF: one segment against its references. Example: `sentenceChrf('the cat', ['the cat']).score` → 100. */
export function sentenceChrf(hypothesis: string, references: readonly string[], options: ChrfOptions = {}): ChrfScore {
  return corpusChrf([hypothesis], references.map((r) => [r]), options);
}

/** sacreBLEU's text report. Example: `formatChrf(s)` → 'chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 57.4'. */
export function formatChrf(s: ChrfScore, width = 1): string {
  return `${s.name}|${s.signature} = ${formatFixed(s.score, width)}`;
}
