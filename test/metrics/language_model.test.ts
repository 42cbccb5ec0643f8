// Perplexity and bits per byte from their definitions (language_model.ts header).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bitsPerByte, meanNll, perplexity, utf8Bytes } from '../../src/metrics/index.js';

const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-9 * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('perplexity is e^(mean loss): a uniform guess over V tokens has perplexity V', () => {
  close(perplexity(Math.log(50257)), 50257);
  assert.equal(perplexity(0), 1);
  assert.ok(Number.isNaN(perplexity(Number.NaN))); // a diverged run is reported, not thrown
});

test('bits per byte = total loss in bits / bytes', () => {
  // One byte-sized token predicted with probability 1/256: 8 bits for 1 byte.
  close(bitsPerByte(Math.log(256), 1, 1), 8);
  // 100 tokens at 2 nats each over 400 bytes: 200 nats = 200/ln 2 bits = 288.54 bits → 0.72135 bits per byte.
  close(bitsPerByte(2, 100, 400), 200 / (400 * Math.LN2));
  assert.throws(() => bitsPerByte(1, 10, 0), /bytes must be > 0/);
  assert.throws(() => bitsPerByte(1, 1.5, 10), /tokens must be a whole number/);
});

test('mean NLL from log-probabilities, and UTF-8 lengths', () => {
  // −(ln 1/2 + ln 1/4)/2 = (ln 2 + 2 ln 2)/2 = 1.5 ln 2
  close(meanNll([Math.log(0.5), Math.log(0.25)]), 1.5 * Math.LN2);
  assert.throws(() => meanNll([0.5]), /log-probability 0 is 0.5/);
  assert.equal(utf8Bytes('é😀a'), 2 + 4 + 1);
});
