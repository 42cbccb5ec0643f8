// attn's metrics against values computed by the reference implementations themselves: sacreBLEU 2.6.0,
// Google's rouge-score, seqeval 1.2.2, scikit-learn 1.2, NLTK 3.8's PorterStemmer and the official SQuAD v1.1 /
// v2.0 scripts, on ~300 generated cases (test/fixtures/metrics/make_golden.py wrote them; no Python runs here).
// Inputs include the awkward parts: punctuation and numbers for 13a, HTML entities, non-ASCII words, emoji,
// whitespace only Python calls whitespace (U+0085, U+001C) and U+FEFF, which only JavaScript does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  classificationReport,
  corpusBleu,
  corpusChrf,
  normalizeAnswer,
  porterStem,
  rougeScore,
  sentenceBleu,
  seqevalScores,
  squadExactMatch,
  squadF1,
  squadV1,
  squadV2,
  tokenize13a,
  tokenizeIntl,
  type BleuOptions,
  type ChrfOptions,
  type SeqevalScheme,
} from '../../src/metrics/index.js';

const FIX = fileURLToPath(new URL('../../../test/fixtures/metrics/', import.meta.url));
type Case = Record<string, unknown> & { kind: string };
const golden = JSON.parse(readFileSync(`${FIX}golden.json`, 'utf8')) as { cases: Case[] };
const byKind = (k: string): Case[] => golden.cases.filter((c) => c.kind === k);

/** Equal to within a few ulps of the reference (the two compute in a different order in places). */
function close(actual: number, expected: number, what: string): void {
  const tol = 1e-9 * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, reference ${expected}`);
}

test('golden file has every kind of case', () => {
  for (const k of ['bleu', 'sentence_bleu', 'tokenize', 'chrf', 'rouge', 'seqeval', 'classification', 'squad_pair', 'squad']) {
    assert.ok(byKind(k).length >= 8, `${k}: ${byKind(k).length} cases`);
  }
});

test('BLEU equals sacreBLEU 2.6.0 (corpus, every tokenizer and smoothing)', () => {
  for (const [i, c] of byKind('bleu').entries()) {
    const o = c.options as Record<string, unknown>;
    const opts: BleuOptions = {
      tokenize: o.tokenize as BleuOptions['tokenize'],
      lowercase: o.lowercase as boolean | undefined,
      smooth: o.smooth_method as BleuOptions['smooth'],
      smoothValue: o.smooth_value as number | undefined,
      effectiveOrder: o.effective_order as boolean | undefined,
      maxNgramOrder: o.max_ngram_order as number | undefined,
    };
    const s = corpusBleu(c.hyps as string[], c.refs as string[][], opts);
    const what = `bleu case ${i} ${JSON.stringify(o)}`;
    close(s.score, c.score as number, what);
    assert.deepEqual(s.counts, c.counts, what);
    assert.deepEqual(s.totals, c.totals, what);
    (c.precisions as number[]).forEach((p, k) => close(s.precisions[k], p, `${what} p${k + 1}`));
    close(s.bp, c.bp as number, what);
    assert.equal(s.sysLen, c.sys_len, what);
    assert.equal(s.refLen, c.ref_len, what);
    assert.equal(s.signature, c.signature, what);
  }
});

test('sentence BLEU equals sacreBLEU sentence_bleu (effective order)', () => {
  for (const c of byKind('sentence_bleu')) close(sentenceBleu(c.hyp as string, c.refs as string[]).score, c.score as number, JSON.stringify(c.hyp));
});

test('13a and intl tokenisation equal sacreBLEU token for token', () => {
  for (const c of byKind('tokenize')) {
    assert.equal(tokenize13a(c.line as string), c['13a'], JSON.stringify(c.line));
    assert.equal(tokenizeIntl(c.line as string), c.intl, JSON.stringify(c.line));
  }
});

test('chrF and chrF++ equal sacreBLEU CHRF', () => {
  for (const [i, c] of byKind('chrf').entries()) {
    const o = c.options as Record<string, unknown>;
    const opts: ChrfOptions = {
      charOrder: o.char_order as number | undefined,
      wordOrder: o.word_order as number | undefined,
      beta: o.beta as number | undefined,
      lowercase: o.lowercase as boolean | undefined,
      whitespace: o.whitespace as boolean | undefined,
      epsSmoothing: o.eps_smoothing as boolean | undefined,
    };
    const s = corpusChrf(c.hyps as string[], c.refs as string[][], opts);
    close(s.score, c.score as number, `chrf case ${i} ${JSON.stringify(o)}`);
    assert.equal(s.name, c.name);
    assert.equal(s.signature, c.signature);
  }
});

test('ROUGE-1/2/3/L/Lsum equal rouge-score (with and without the stemmer, several targets)', () => {
  for (const [i, c] of byKind('rouge').entries()) {
    const s = rougeScore(c.prediction as string, c.targets as string[], { types: ['rouge1', 'rouge2', 'rouge3', 'rougeL', 'rougeLsum'], useStemmer: c.stem as boolean });
    for (const [type, ref] of Object.entries(c.scores as Record<string, { precision: number; recall: number; fmeasure: number }>)) {
      for (const k of ['precision', 'recall', 'fmeasure'] as const) close(s[type][k], ref[k], `rouge case ${i} ${type}.${k}`);
    }
  }
});

test('Porter stemmer equals NLTK PorterStemmer() on 6,600 words', () => {
  const lines = readFileSync(`${FIX}porter_golden.txt`, 'utf8').trim().split('\n');
  assert.ok(lines.length > 6000);
  const wrong: string[] = [];
  for (const line of lines) {
    const [word, stem] = line.split(' ');
    if (porterStem(word) !== stem) wrong.push(`${word}: ${porterStem(word)} (nltk ${stem})`);
  }
  assert.deepEqual(wrong.slice(0, 20), []);
});

test('seqeval default and strict modes equal seqeval 1.2.2', () => {
  for (const [i, c] of byKind('seqeval').entries()) {
    const r = seqevalScores(c.gold as string[][], c.pred as string[][], c.mode === 'strict' ? { mode: 'strict', scheme: c.scheme as SeqevalScheme } : {});
    const what = `seqeval case ${i} (${c.mode} ${String(c.scheme)})`;
    assert.deepEqual(r.perType.map((t) => t.type), c.types, what);
    (c.per_type as number[][]).forEach(([p, rc, f, s], k) => {
      close(r.perType[k].precision, p, `${what} ${r.perType[k].type} P`);
      close(r.perType[k].recall, rc, `${what} R`);
      close(r.perType[k].f1, f, `${what} F`);
      assert.equal(r.perType[k].support, s, what);
    });
    const [mp, mr, mf] = c.micro as number[];
    close(r.precision, mp, `${what} micro P`);
    close(r.recall, mr, `${what} micro R`);
    close(r.f1, mf, `${what} micro F`);
    for (const avg of ['macro', 'weighted'] as const) {
      const [p, rc, f] = c[avg] as number[];
      close(r[avg].precision, p, `${what} ${avg} P`);
      close(r[avg].recall, rc, `${what} ${avg} R`);
      close(r[avg].f1, f, `${what} ${avg} F`);
    }
    close(r.accuracy, c.accuracy as number, `${what} accuracy`);
  }
});

test('classification figures equal scikit-learn (labels = union, sorted by code point)', () => {
  for (const [i, c] of byKind('classification').entries()) {
    const r = classificationReport(c.gold as string[], c.pred as string[]);
    const what = `classification case ${i}`;
    assert.deepEqual(r.labels, c.labels, what);
    assert.deepEqual(r.confusion, c.confusion, what);
    close(r.accuracy, c.accuracy as number, what);
    (c.per_label as number[][]).forEach(([p, rc, f, s], k) => {
      close(r.perLabel[k].precision, p, `${what} ${r.labels[k]} P`);
      close(r.perLabel[k].recall, rc, `${what} R`);
      close(r.perLabel[k].f1, f, `${what} F`);
      assert.equal(r.perLabel[k].support, s);
    });
    for (const avg of ['micro', 'macro', 'weighted'] as const) {
      const [p, rc, f] = c[avg] as number[];
      close(r[avg].precision, p, `${what} ${avg} P`);
      close(r[avg].recall, rc, `${what} ${avg} R`);
      close(r[avg].f1, f, `${what} ${avg} F`);
    }
  }
});

test('SQuAD normalisation, exact match and F1 equal the official scripts on single pairs', () => {
  for (const c of byKind('squad_pair')) {
    const [pred, gold] = [c.pred as string, c.gold as string];
    const what = JSON.stringify([pred, gold]);
    assert.equal(normalizeAnswer(pred), c.normalized_pred, what);
    assert.equal(squadExactMatch(pred, gold), c.exact, what);
    close(squadF1(pred, gold, 1), c.f1_v1 as number, `${what} v1`);
    close(squadF1(pred, gold, 2), c.f1_v2 as number, `${what} v2`);
  }
});

test('SQuAD v1.1 and v2.0 corpus figures equal the official scripts (with no-answer probabilities and ties)', () => {
  for (const [i, c] of byKind('squad').entries()) {
    const data = c.dataset as { data: unknown };
    const preds = c.predictions as Record<string, string>;
    const what = `squad case ${i}`;
    if (!c.v2) {
      const r = squadV1(data, preds);
      const e = c.expected as { exact_match: number; f1: number };
      close(r.exact_match, e.exact_match, what);
      close(r.f1, e.f1, what);
      continue;
    }
    const check = (r: Record<string, unknown>, e: Record<string, number>): void => {
      assert.deepEqual(Object.keys(r), Object.keys(e), what);
      for (const [k, v] of Object.entries(e)) close(r[k] as number, v, `${what} ${k}`);
    };
    check({ ...squadV2(data, preds) }, c.expected as Record<string, number>);
    if (c.na_probs) {
      const r = squadV2(data, preds, { naProbs: c.na_probs as Array<[string, number]>, naProbThresh: c.na_prob_thresh as number });
      check({ ...r }, c.expected_na as Record<string, number>);
    }
  }
});
