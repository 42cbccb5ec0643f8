// SQuAD exact match and F1 on cases worked by hand from the official scripts' definitions (squad.ts header).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeAnswer, squadExactMatch, squadF1, squadV1, squadV2 } from '../../src/metrics/index.js';

const close = (a: number | undefined, b: number, what = ''): void => assert.ok(a !== undefined && Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

test('answer normalisation: lowercase, ASCII punctuation out, articles out, whitespace collapsed', () => {
  // "The  Eiffel-Tower!" → "the  eiffel-tower!" → "the  eiffeltower" → "   eiffeltower" → "eiffeltower"
  assert.equal(normalizeAnswer('The  Eiffel-Tower!'), 'eiffeltower');
  assert.equal(normalizeAnswer('an apple, a pear and the plum'), 'apple pear and plum');
  // "theory" and "anthem" are words, not articles; an article glued by punctuation is freed first ("(the)").
  assert.equal(normalizeAnswer('theory anthem (the)'), 'theory anthem');
  // Python's \b is Unicode-aware: in "éa" the "a" follows a letter, so it stays. (JavaScript's \b would drop it.)
  assert.equal(normalizeAnswer('éa'), 'éa');
  // Non-ASCII punctuation is not removed, as in the official script; NBSP and U+0085 are whitespace to Python.
  assert.equal(normalizeAnswer('«Paris»\u00a0\x85 “x”'), '«paris» “x”');
});

test('exact match and F1 of one pair', () => {
  assert.equal(squadExactMatch('the Broncos', 'Broncos'), 1);
  // pred {denver, broncos} vs gold {broncos}: common 1, P = 1/2, R = 1 → F1 = 2/3
  close(squadF1('Denver Broncos', 'the Broncos'), 2 / 3);
  // Repeated words count as often as both sides have them: pred {a1, x, x}, gold {x, y}: common 1 → P 1/3, R 1/2
  close(squadF1('a1 x x', 'x y'), 2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2));
  // Two empty answers: v2.0 scores 1 (both say "no answer"), v1.1 scores 0 (no common token).
  assert.equal(squadF1('', 'the', 2), 1);
  assert.equal(squadF1('', 'the', 1), 0);
  assert.equal(squadF1('x', '', 2), 0);
});

const v1Data = {
  version: '1.1',
  data: [{ title: 't', paragraphs: [{ context: 'c', qas: [
    { id: 'q1', answers: [{ text: 'Denver Broncos' }, { text: 'Broncos' }] },
    { id: 'q2', answers: [{ text: '1889' }] },
  ] }] }],
};

test('SQuAD 1.1: best over gold answers, a missing prediction scores 0', () => {
  // q1: "the Broncos" normalises to "broncos" = gold 2 → EM 1, F1 1. q2 has no prediction → 0, still counted.
  // EM = F1 = 100 · 1/2 = 50.
  const r = squadV1(v1Data, { q1: 'the Broncos' });
  assert.deepEqual(r, { exact_match: 50, f1: 50, total: 2, missing: ['q2'] });
  assert.throws(() => squadV1(v1Data, { q1: 7 }), /answer for question 'q1' must be a string, got 7/);
  assert.throws(() => squadV1({ data: [{ paragraphs: [{ qas: [{ id: 'q', answers: [] }] }] }] }, { q: 'x' }), /question 'q' has no gold answers/);
  assert.throws(() => squadV1({ data: [{ paragraphs: [{ qas: [{ id: 3, answers: [] }] }] }] }, {}), /data\[0\].paragraphs\[0\].qas\[0\].id must be a string, got 3/);
});

const v2Data = {
  version: 'v2.0',
  data: [{ title: 't', paragraphs: [{ context: 'c', qas: [
    { id: 'q1', answers: [{ text: 'Paris' }] },
    { id: 'q2', answers: [] },
    { id: 'q3', answers: [{ text: 'in 1889' }, { text: '1889' }] },
  ] }] }],
};
const v2Preds = { q1: 'paris, france', q2: '', q3: '1889' };

test('SQuAD 2.0: HasAns / NoAns split', () => {
  // q1 (HasAns): {paris, france} vs {paris} → EM 0, F1 = 2·(1/2)·1/(3/2) = 2/3.  q2 (NoAns): "" → EM 1, F1 1.
  // q3 (HasAns): "1889" equals the second gold answer → 1, 1.
  // exact = 100·2/3, f1 = 100·(2/3 + 2)/3 = 800/9; HasAns: exact 50, f1 100·(5/3)/2 = 250/3; NoAns: 100, 100.
  const r = squadV2(v2Data, v2Preds);
  close(r.exact, 200 / 3);
  close(r.f1, 800 / 9);
  assert.equal(r.total, 3);
  close(r.HasAns_exact, 50);
  close(r.HasAns_f1, 250 / 3);
  assert.equal(r.HasAns_total, 2);
  close(r.NoAns_exact, 100);
  assert.deepEqual(Object.keys(r), ['exact', 'f1', 'total', 'HasAns_exact', 'HasAns_f1', 'HasAns_total', 'NoAns_exact', 'NoAns_f1', 'NoAns_total']);
  assert.throws(() => squadV2(v2Data, { q1: 'x' }), /2 question\(s\) have no prediction \(q2, q3\)/);
});

test('SQuAD 2.0 with no-answer probabilities: threshold and best threshold', () => {
  // p(no answer): q1 0.9, q2 0.8, q3 0.1; threshold 0.5 → q1 and q2 are taken as "no answer":
  // q1 has an answer → 0, 0; q2 has none → 1, 1; q3 keeps 1, 1. exact = f1 = 100·2/3.
  // best_exact: start from "all no answer" = #NoAns = 1. Walk by p: q3 (+1, its raw EM) → 2 at p 0.1 (best);
  // q2 (NoAns, predicted "" → +0) → 2; q1 (+0) → 2. best_exact = 100·2/3 at 0.1.
  // best_f1: q3 → 2 (0.1); q2 → 2; q1 (+2/3, its raw F1) → 8/3 at 0.9 → best_f1 = 100·(8/3)/3 = 800/9 at 0.9.
  const r = squadV2(v2Data, v2Preds, { naProbs: { q1: 0.9, q2: 0.8, q3: 0.1 }, naProbThresh: 0.5 });
  close(r.exact, 200 / 3);
  close(r.f1, 200 / 3);
  close(r.HasAns_exact, 50);
  close(r.best_exact, 200 / 3);
  assert.equal(r.best_exact_thresh, 0.1);
  close(r.best_f1, 800 / 9);
  assert.equal(r.best_f1_thresh, 0.9);
  assert.throws(() => squadV2(v2Data, v2Preds, { naProbs: { q1: 0.9 } }), /no no-answer probability for question 'q2'/);
});

test('SQuAD 2.0 best threshold walks tied probabilities in file order (as the official script does)', () => {
  const data = { data: [{ paragraphs: [{ qas: [{ id: 'h', answers: [{ text: 'x' }] }, { id: 'n', answers: [] }] }] }] };
  const preds = { h: 'x', n: 'y' }; // h right (+1 when answered); n wrongly answered (−1 when answered)
  // Start at #NoAns = 1. Order h, n: 1 → 2 (best, at 0.5) → 1: best_exact = 100·2/2 = 100.
  // Order n, h: 1 → 0 → 1, never above the start: best_exact = 100·1/2 = 50, threshold 0.
  const hn = squadV2(data, preds, { naProbs: [['h', 0.5], ['n', 0.5]] });
  const nh = squadV2(data, preds, { naProbs: new Map([['n', 0.5], ['h', 0.5]]) });
  assert.deepEqual([hn.best_exact, hn.best_exact_thresh], [100, 0.5]);
  assert.deepEqual([nh.best_exact, nh.best_exact_thresh], [50, 0]);
});
