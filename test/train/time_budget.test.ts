// The time budget of the training loops: steps that fit are fitted from measured step times, skipping warm-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StepBudget } from '../../src/train/time_budget.js';

test('StepBudget ignores slow warm-up steps and fits the steps that remain', () => {
  // 100 s budget; steps 0–1 take 10 s each (warm-up), then 0.5 s per step.
  const b = new StepBudget(100, 1_000_000, 0, 0);
  let now = 0;
  const fits: Array<[number, number]> = [];
  for (let step = 0; step < 60; step++) {
    const fit = b.refit(step, now * 1000, 0);
    if (fit !== null) fits.push([step, fit]);
    now += step < 2 ? 10 : 0.5;
  }
  // First fit at step 8: 20 s + 3 s spent; 0.5 s per step measured from step 2 (not 23/8 ≈ 2.9 s); reserve 3 % of 100 s.
  assert.deepEqual(fits[0], [8, 8 + Math.floor((100 - 23 - 3) / 0.5)]);
  assert.deepEqual(fits.map((f) => f[0]), [8, 28, 48]);
  for (const [, fit] of fits) assert.equal(fit, 156);
  assert.equal(b.spent(99_999), false);
  assert.equal(b.spent(100_000), true);
});

test('StepBudget never fits more than the step limit, and at least one more step', () => {
  const b = new StepBudget(10, 50, 0, 0);
  b.refit(2, 0, 0);
  assert.equal(b.refit(8, 6, 0), 50); // 1 ms per step: thousands fit, the limit is 50
  const slow = new StepBudget(10, 1000, 0, 0);
  slow.refit(2, 0, 0);
  assert.equal(slow.refit(8, 60_000, 0), 9); // over budget already: one more step, then the time check stops it
});

test('StepBudget without a limit never refits or stops; resumed runs skip warm-up after their start', () => {
  const none = new StepBudget(0, 100, 0, 0);
  for (let s = 0; s < 40; s++) assert.equal(none.refit(s, s * 1e6, 0), null);
  assert.equal(none.spent(1e12), false);
  const resumed = new StepBudget(100, 10_000, 500, 0);
  assert.equal(resumed.refit(8, 0, 0), null);
  resumed.refit(502, 0, 0);
  assert.equal(resumed.refit(508, 6000, 5), 508 + Math.floor((100 - 6 - 5) / 1)); // 1 s per step; reserve = last eval 5 s
});
