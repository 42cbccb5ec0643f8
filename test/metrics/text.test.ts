// Python's string rules that the reference metrics depend on (text.ts header), checked against Python's
// documented behaviour: str.isspace, str.split, sorted() on strings, and f'{x:.Nf}'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareCodePoints, formatFixed, pyRstrip, pySplit, pyStrip } from '../../src/metrics/index.js';

test('whitespace as Python sees it', () => {
  // U+0085 and U+001C split in Python; U+FEFF does not (JavaScript's \s says the opposite for all three).
  assert.deepEqual(pySplit(' a\x85b\x1cc\ufeffd '), ['a', 'b', 'c\ufeffd']);
  assert.deepEqual(pySplit(''), []);
  assert.deepEqual(pySplit(' \t\n'), []);
  assert.equal(pyRstrip('a \u3000\n'), 'a');
  assert.equal(pyStrip('\u00a0a b\x85'), 'a b');
  assert.equal(pyRstrip('a\ufeff'), 'a\ufeff');
});

test('strings sort by code point', () => {
  assert.deepEqual(['😀', '\uffff', 'a', 'B'].sort(compareCodePoints), ['B', 'a', '\uffff', '😀']);
  assert.ok(compareCodePoints('ab', 'abc') < 0);
  assert.equal(compareCodePoints('x', 'x'), 0);
});

test("formatFixed rounds like Python's f-strings: exact ties to even", () => {
  // 12.25 and 0.125 are exact in binary, so they are true ties: Python gives 12.2 and 0.12, toFixed 12.3 and 0.13.
  assert.equal(formatFixed(12.25, 1), '12.2');
  assert.equal(formatFixed(0.125, 2), '0.12');
  assert.equal(formatFixed(0.375, 2), '0.38');
  // 2.675 is stored as 2.67499999…, not a tie: both round down.
  assert.equal(formatFixed(2.675, 2), '2.67');
  assert.equal(formatFixed(99.96, 1), '100.0');
  assert.equal(formatFixed(0, 1), '0.0');
  assert.equal(formatFixed(-0.04, 1), '-0.0');
  assert.equal(formatFixed(37.99178428257963, 1), '38.0');
  assert.equal(formatFixed(5, 0), '5');
});
