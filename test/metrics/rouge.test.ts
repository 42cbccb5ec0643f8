// ROUGE and the Porter stemmer on cases worked by hand from rouge-score's and NLTK's definitions (rouge.ts and
// porter.ts headers). golden.test.ts checks 40 generated ROUGE cases and 6,600 stems against the real packages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpusRouge, porterStem, rougeScore, rougeTokenize } from '../../src/metrics/index.js';

const close = (a: number, b: number, what = ''): void => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('rouge-score tokenisation: lowercase, a-z0-9 only, optional stemming of long words', () => {
  assert.deepEqual(rougeTokenize("Don't STOP-me now, 2024!"), ['don', 't', 'stop', 'me', 'now', '2024']);
  assert.deepEqual(rougeTokenize('café 北京 naïve'), ['caf', 'na', 've']); // other scripts vanish, as in rouge-score
  // Stemming only words of more than 3 characters: "cats" → "cat", "runs" → "run", but "ran" is too short.
  assert.deepEqual(rougeTokenize('The cats runs ran', true), ['the', 'cat', 'run', 'ran']);
});

test('ROUGE-1, ROUGE-2 and ROUGE-L, worked by hand', () => {
  // prediction: the cat sat (3 tokens)     target: the cat sat down (4 tokens)
  // ROUGE-1: overlap 3 → P = 3/3, R = 3/4, F = 2·1·0.75/1.75 = 6/7
  // ROUGE-2: bigrams {the cat, cat sat} vs {the cat, cat sat, sat down} → overlap 2: P = 1, R = 2/3, F = 0.8
  // ROUGE-L: LCS "the cat sat" = 3 → same as ROUGE-1 here
  const s = rougeScore('the cat sat', 'the cat sat down');
  close(s.rouge1.precision, 1);
  close(s.rouge1.recall, 0.75);
  close(s.rouge1.fmeasure, 6 / 7);
  close(s.rouge2.recall, 2 / 3);
  close(s.rouge2.fmeasure, 0.8);
  close(s.rougeL.fmeasure, 6 / 7);
  // Order matters for L but not for 1: "sat the cat" has LCS 2 with "the cat sat down" ("the cat").
  const r = rougeScore('sat the cat', 'the cat sat down');
  close(r.rouge1.fmeasure, 6 / 7);
  close(r.rougeL.precision, 2 / 3);
  close(r.rougeL.recall, 2 / 4);
});

test('the stemmer makes inflections match', () => {
  // Stemmed: prediction the cat were run, target the cat run → overlap 3: P = 3/4, R = 1, F = 6/7.
  // Unstemmed: the cats were running vs the cat runs → overlap 1 ("the"): P = 1/4, R = 1/3, F = 2/7.
  close(rougeScore('The cats were running', 'the cat runs', { useStemmer: true }).rouge1.fmeasure, 6 / 7);
  close(rougeScore('The cats were running', 'the cat runs').rouge1.fmeasure, 2 / 7);
});

test('ROUGE-Lsum: LCS per sentence (sentences end at newlines), union over prediction sentences', () => {
  // target "a b\nc d", prediction "c d\na b". ROUGE-L over the whole token lists: LCS(a b c d, c d a b) = 2 →
  // P = R = 1/2. ROUGE-Lsum: target sentence "a b" has LCS "a b" with prediction sentence 2, "c d" has "c d"
  // with sentence 1 → 4 hits of 4 → P = R = 1.
  const s = rougeScore('c d\na b', 'a b\nc d');
  close(s.rougeL.fmeasure, 0.5);
  close(s.rougeLsum.fmeasure, 1);
  // The union is of token *positions* in the target sentence: target "a a" against prediction sentences "a" and
  // "a" — each LCS picks the same position (the last "a"), so the union has one hit: P = R = 1/2.
  close(rougeScore('a\na', 'a a').rougeLsum.fmeasure, 0.5);
  close(rougeScore('a\na', 'a a').rougeL.fmeasure, 1);
  // Empty lines are not sentences; an empty side scores 0.
  close(rougeScore('x y', '\n\nx y\n').rougeLsum.fmeasure, 1);
  close(rougeScore('', 'x').rougeLsum.fmeasure, 0);
});

test('several targets: each type takes the target with the best F; the corpus is a plain mean', () => {
  // Against "a": rouge1 P = 1/3, R = 1, F = 0.5. Against "a b c d": P = 1, R = 3/4, F = 6/7 → that one counts.
  const s = rougeScore('a b c', ['a', 'a b c d'], { types: ['rouge1'] });
  close(s.rouge1.fmeasure, 6 / 7);
  assert.deepEqual(Object.keys(s), ['rouge1']);
  // Segment 1 is perfect (F = 1), segment 2 shares nothing (F = 0): the mean is 0.5.
  close(corpusRouge(['a b', 'c'], [['a b', 'd']]).rouge1.fmeasure, 0.5);
  // ROUGE-N with n larger than a text: no n-grams on either side → 0/1 = 0.
  close(rougeScore('a', 'a', { types: ['rouge3'] }).rouge3.fmeasure, 0);
  assert.throws(() => rougeScore('a', 'a', { types: ['rougeW'] }), /unknown ROUGE type 'rougeW'/);
  assert.throws(() => rougeScore('a', 'a', { types: ['rouge0'] }), /needs n ≥ 1/);
  assert.throws(() => corpusRouge(['a', 'b'], [['a']]), /reference stream 1 has 1 segments but there are 2 predictions/);
});

test('Porter stemmer: the paper examples and NLTK extensions', () => {
  // Each pair is an example from Porter (1980) for one rule, or from NLTK's notes on its extensions.
  const cases: Array<[string, string]> = [
    ['caresses', 'caress'], // 1a SSES → SS
    ['ponies', 'poni'], // 1a IES → I
    ['ties', 'tie'], // NLTK: four-letter -ies → -ie
    ['cats', 'cat'], // 1a S →
    ['agreed', 'agre'], // 1b EED → EE (m("agr") = 1 > 0), then 5a drops the e: m("agre") = 1, "agre" does not end cvc
    ['plastered', 'plaster'], // 1b ED
    ['motoring', 'motor'], // 1b ING
    ['hopping', 'hop'], // 1b double consonant → single
    ['filing', 'file'], // 1b (m = 1 and *o) → E
    ['happy', 'happi'], // 1c Y → I
    ['sky', 'sky'], // NLTK irregular form
    ['dying', 'die'], // NLTK irregular form
    ['relational', 'relat'], // 2 ATIONAL → ATE ("relate"); 4 keeps ATE (m("rel") = 1); 5a drops the e (m("relat") = 2)
    ['hopefulness', 'hope'], // 2 FULNESS → FUL, 3 FUL →
    ['adoption', 'adopt'], // 4 ION after t
    ['controlling', 'control'], // 1b, then 5b LL → L
    ['generalizations', 'gener'],
    ['running', 'run'],
    ['a', 'a'], // NLTK: one- and two-letter words are left alone
  ];
  for (const [w, s] of cases) assert.equal(porterStem(w), s, w);
});
