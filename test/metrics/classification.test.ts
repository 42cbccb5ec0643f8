// Classification metrics on cases worked by hand from scikit-learn's definitions (classification.ts header).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracy, classificationReport, confusionMatrix, precisionRecallF1 } from '../../src/metrics/index.js';

const close = (a: number, b: number, what = ''): void => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('three labels, worked by hand', () => {
  const gold = ['a', 'a', 'a', 'b', 'b', 'c'];
  const pred = ['a', 'b', 'a', 'b', 'c', 'c'];
  // Confusion (rows gold, columns predicted):   a  b  c
  //                                          a  2  1  0
  //                                          b  0  1  1
  //                                          c  0  0  1
  // tp = 2, 1, 1   predicted (column sums) = 2, 2, 2   gold (row sums) = 3, 2, 1
  // P = 1, 1/2, 1/2     R = 2/3, 1/2, 1     F1 = 2tp/(pred+gold) = 4/5, 2/4, 2/3
  const r = classificationReport(gold, pred);
  assert.deepEqual(r.labels, ['a', 'b', 'c']);
  assert.deepEqual(r.confusion, [[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
  const expect = [[1, 2 / 3, 0.8, 3], [0.5, 0.5, 0.5, 2], [0.5, 1, 2 / 3, 1]];
  r.perLabel.forEach((s, i) => {
    close(s.precision, expect[i][0], `${s.label} P`);
    close(s.recall, expect[i][1], `${s.label} R`);
    close(s.f1, expect[i][2], `${s.label} F1`);
    assert.equal(s.support, expect[i][3]);
  });
  // accuracy = micro P = micro R = micro F1 = 4/6
  close(r.accuracy, 2 / 3);
  close(r.micro.f1, 2 / 3);
  // macro: P = (1 + 1/2 + 1/2)/3 = 2/3, R = (2/3 + 1/2 + 1)/3 = 13/18, F1 = (4/5 + 1/2 + 2/3)/3 = 59/90
  close(r.macro.precision, 2 / 3);
  close(r.macro.recall, 13 / 18);
  close(r.macro.f1, 59 / 90);
  // weighted by support 3, 2, 1: P = (3 + 1 + 1/2)/6 = 3/4, R = (2 + 1 + 1)/6 = 2/3 (= accuracy, always),
  // F1 = (3·4/5 + 2·1/2 + 2/3)/6 = 61/90
  close(r.weighted.precision, 0.75);
  close(r.weighted.recall, 2 / 3);
  close(r.weighted.f1, 61 / 90);
  close(precisionRecallF1(gold, pred, 'macro').f1, 59 / 90);
  close(accuracy(gold, pred), 2 / 3);
});

test('a label that is only predicted counts, with recall 0/0 = 0', () => {
  // Labels {x, y}. x: tp 1, predicted 1, gold 2 → P 1, R 1/2, F1 2/3. y: tp 0, predicted 1, gold 0 → P 0,
  // R 0/0 = 0, F1 0. macro = (1/2, 1/4, 1/3); weighted by support (2, 0) = x's figures.
  const r = classificationReport(['x', 'x'], ['x', 'y']);
  assert.deepEqual(r.labels, ['x', 'y']);
  close(r.macro.precision, 0.5);
  close(r.macro.recall, 0.25);
  close(r.macro.f1, 1 / 3);
  close(r.weighted.precision, 1);
  close(r.weighted.f1, 2 / 3);
  assert.equal(r.perLabel[1].support, 0);
});

test('labels sort by code point, as Python sorts strings', () => {
  // U+FFFF sorts before U+1F600 in Python; JavaScript's default sort (by UTF-16 unit) puts the emoji first.
  assert.deepEqual(classificationReport(['😀', '\uffff'], ['😀', '\uffff']).labels, ['\uffff', '😀']);
  assert.deepEqual(classificationReport(['10', '2', '1'], ['1', '1', '1']).labels, ['1', '10', '2']);
  assert.deepEqual(confusionMatrix(['a', 'b'], ['b', 'b'], ['b', 'a']).matrix, [[1, 0], [1, 0]]);
});

test('bad input is named', () => {
  assert.throws(() => accuracy(['a'], ['a', 'b']), /1 gold labels but 2 predictions/);
  assert.throws(() => classificationReport([], []), /no samples/);
});
