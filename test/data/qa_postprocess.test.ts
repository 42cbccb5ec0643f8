// postprocessQaPredictions on hand-made logits, every expected value worked out by hand from the rules of
// utils_qa.py's postprocess_qa_predictions (n-best start/end pairs, context only, end ≥ start, max answer
// length, null score = smallest [CLS] score over the windows, threshold on null − best).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { postprocessQaPredictions } from '../../src/data/index.js';

// Context "abc def ghi": words at [0,3), [4,7), [8,11). Two windows:
//   f0: [CLS] q [SEP] abc def [SEP]      f1: [CLS] q [SEP] def ghi [SEP]
const context = 'abc def ghi';
const examples = [{ id: 'x', context }];
const offsets = (pairs: Array<[number, number] | null>): Int32Array => Int32Array.from(pairs.flatMap((p) => p ?? [-1, -1]));
const features = [
  { exampleIndex: 0, clsIndex: 0, offsets: offsets([null, null, null, [0, 3], [4, 7], null]) },
  { exampleIndex: 0, clsIndex: 0, offsets: offsets([null, null, null, [4, 7], [8, 11], null]) },
];
const L = -10; // a logit too low to matter
//                  CLS  q   SEP  c1   c2   SEP
const start0 = [1, 10, L, 2, 0.5, L]; // the question token's 10 must be ignored (not context)
const end0 = [1, L, L, 1, 3, L];
const start1 = [0, L, L, 0.2, 4, L];
const end1 = [0, L, L, 0, 2, L];

describe('postprocessQaPredictions', () => {
  it('SQuAD v1: the best (start, end) pair over all windows, with its n-best list', () => {
    const r = postprocessQaPredictions(examples, features, [start0, start1], [end0, end1]);
    assert.equal(r.predictions.x, 'ghi');
    // All pairs with start ≤ end inside the context: f0 (abc,abc)=3 (abc,def)=5 (def,def)=3.5;
    // f1 (def,def)=0.2 (def,ghi)=2.2 (ghi,ghi)=6.
    assert.deepEqual(
      r.nbest.x.map((c) => [c.text, c.score, c.start, c.end]),
      [
        ['ghi', 6, 8, 11],
        ['abc def', 5, 0, 7],
        ['def', 3.5, 4, 7],
        ['abc', 3, 0, 3],
        ['def ghi', 2.2, 4, 11],
        ['def', 0.2, 4, 7],
      ],
    );
    const p = r.nbest.x.map((c) => c.probability);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    assert.ok(Math.abs(p[0] / p[1] - Math.E) < 1e-9); // softmax: scores 6 and 5
    assert.deepEqual(r.scoreDiff, {});
  });

  it('maxAnswerLength and nBestSize limit the candidates', () => {
    const short = postprocessQaPredictions(examples, features, [start0, start1], [end0, end1], { maxAnswerLength: 1 });
    assert.deepEqual(short.nbest.x.map((c) => c.text), ['ghi', 'def', 'abc', 'def']);
    // nBestSize 1: f0's top start is the question token (skipped), so only f1's (ghi, ghi) remains.
    const one = postprocessQaPredictions(examples, features, [start0, start1], [end0, end1], { nBestSize: 1 });
    assert.deepEqual(one.nbest.x.map((c) => c.text), ['ghi']);
    assert.equal(one.nbest.x[0].probability, 1);
  });

  it('SQuAD v2: null score = the smallest [CLS] score, answer "" when null − best > threshold', () => {
    // Null scores: f0 1 + 1 = 2, f1 0 + 0 = 0 → 0. Best span 6 → diff 0 − 6 = −6.
    const r = postprocessQaPredictions(examples, features, [start0, start1], [end0, end1], { version2WithNegative: true });
    assert.equal(r.predictions.x, 'ghi');
    assert.equal(r.scoreDiff.x, -6);
    assert.deepEqual(r.nbest.x.map((c) => c.text), ['ghi', 'abc def', 'def', 'abc', 'def ghi', 'def', '']);
    const strict = postprocessQaPredictions(examples, features, [start0, start1], [end0, end1], { version2WithNegative: true, nullScoreDiffThreshold: -7 });
    assert.equal(strict.predictions.x, '');
    // [CLS] strong in both windows: null = min(8 + 8, 5 + 5) = 10 > 6 → no answer, and the null candidate leads.
    const s0 = [8, ...start0.slice(1)];
    const e0 = [8, ...end0.slice(1)];
    const s1 = [5, ...start1.slice(1)];
    const e1 = [5, ...end1.slice(1)];
    const none = postprocessQaPredictions(examples, features, [s0, s1], [e0, e1], { version2WithNegative: true });
    assert.equal(none.predictions.x, '');
    assert.equal(none.scoreDiff.x, 4);
    assert.equal(none.nbest.x[0].text, '');
    assert.equal(none.nbest.x[0].score, 10);
  });

  it('no valid span: the "empty" placeholder (as utils_qa.py)', () => {
    const onlyQuestion = [{ exampleIndex: 0, clsIndex: 0, offsets: offsets([null, null, null]) }];
    const r = postprocessQaPredictions(examples, onlyQuestion, [[0, 1, 2]], [[0, 1, 2]]);
    assert.equal(r.predictions.x, 'empty');
    assert.deepEqual(r.nbest.x.map((c) => [c.text, c.probability]), [['empty', 1]]);
  });

  it('checks that logits and features line up', () => {
    assert.throws(() => postprocessQaPredictions(examples, features, [start0], [end0, end1]), /2 features but 1 start and 2 end logit rows/);
    assert.throws(() => postprocessQaPredictions(examples, [{ ...features[0], exampleIndex: 3 }], [start0], [end0]), /feature 0 belongs to example 3, but there are 1 examples/);
  });
});
