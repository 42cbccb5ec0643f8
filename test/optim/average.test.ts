// The moving average of the weights against its recurrence worked out by hand here (float64).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WeightAverage } from '../../src/optim/index.js';
import { tensor } from '../../src/tensor/index.js';

test('WeightAverage: avg += (1 − d)(w − avg) with d = min(decay, (1 + n) / (10 + n)); swap exchanges and restores', () => {
  const p = tensor([0, 10], [2], { requiresGrad: true });
  const frozen = tensor([5, 5], [2]); // no gradient: not averaged
  const avg = new WeightAverage([p, frozen], 0.5);
  // Step 1: the ramp gives d = 2/11 (< 0.5); weights become [1, 12].
  p.data.set([1, 12]);
  avg.update();
  let want = [0 + (9 / 11) * (1 - 0), 10 + (9 / 11) * (12 - 10)];
  // Step 2: d = min(0.5, 3/12) = 0.25; weights [3, 12].
  p.data.set([3, 12]);
  avg.update();
  want = [want[0]! + 0.75 * (3 - want[0]!), want[1]! + 0.75 * (12 - want[1]!)];
  // Step 20: the ramp (21/30 = 0.7) is above the decay, so d = 0.5 from here on.
  for (let n = 3; n <= 20; n++) {
    p.data.set([n, 12]);
    avg.update();
    const d = Math.min(0.5, (1 + n) / (10 + n));
    want = [want[0]! + (1 - d) * (n - want[0]!), want[1]! + (1 - d) * (12 - want[1]!)];
  }
  assert.equal(avg.count, 20);
  const version = p.version;
  avg.swap();
  const got = Array.from(p.toFloat32Array());
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]!) < 1e-5, `average[${i}]: ${g}, expected ${want[i]}`));
  assert.ok(p.version > version, 'swap must bump the version (matmul caches weight copies by version)');
  assert.deepEqual(Array.from(frozen.toFloat32Array()), [5, 5]);
  avg.swap();
  assert.deepEqual(Array.from(p.toFloat32Array()), [20, 12]);
  assert.throws(() => new WeightAverage([p], 1), /decay must be in \[0, 1\), got 1/);
});
