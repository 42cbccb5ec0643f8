// Edit distance and error rates, worked by hand from Levenshtein's definition (edit_distance.ts header).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { editDistance, sequenceErrorRate, tokenErrorRate } from '../../src/metrics/index.js';

test('Levenshtein distance', () => {
  // kitten → sitting: k→s, e→i, insert g = 3 edits.
  assert.equal(editDistance(Array.from('kitten'), Array.from('sitting')), 3);
  // K AE T → K AH T S: one substitution, one insertion.
  assert.equal(editDistance(['k', 'ae', 't'], ['k', 'ah', 't', 's']), 2);
  assert.equal(editDistance([], ['a', 'b']), 2);
  assert.equal(editDistance(['a', 'b'], []), 2);
  assert.equal(editDistance(['a', 'b', 'c'], ['a', 'b', 'c']), 0);
  // Symmetric, and a transposition costs two edits (no Damerau swaps).
  assert.equal(editDistance(['a', 'b'], ['b', 'a']), 2);
  assert.equal(editDistance(Array.from('😀ab'), Array.from('ab')), 1); // code points, not UTF-16 units
});

test('token error rate is total edits over total reference tokens', () => {
  // Pair 1: a b c → a c (1 deletion); pair 2: d → d e (1 insertion). 2 edits / 4 reference tokens = 0.5,
  // where the mean of the per-pair rates would be (1/3 + 1)/2 = 2/3.
  const r = tokenErrorRate([['a', 'b', 'c'], ['d']], [['a', 'c'], ['d', 'e']]);
  assert.deepEqual(r, { rate: 0.5, errors: 2, total: 4 });
  // Insertions can push the rate above 1.
  assert.equal(tokenErrorRate([['a']], [['x', 'y', 'z']]).rate, 3);
  assert.throws(() => tokenErrorRate([[]], [['a']]), /references hold no tokens/);
  assert.throws(() => tokenErrorRate([['a']], []), /1 references but 0 hypotheses/);
});

test('sequence error rate (G2P word error rate): any difference makes the whole word wrong', () => {
  const r = sequenceErrorRate([['k', 'ae', 't'], ['d', 'ao', 'g']], [['k', 'ae', 't'], ['d', 'aa', 'g']]);
  assert.deepEqual(r, { rate: 0.5, errors: 1, total: 2 });
  assert.equal(sequenceErrorRate([['a']], [['a', 'a']]).rate, 1);
  assert.equal(sequenceErrorRate(['kat', 'dog'], ['kat', 'dawg']).rate, 0.5);
  assert.throws(() => sequenceErrorRate([], []), /no sequences given/);
});
