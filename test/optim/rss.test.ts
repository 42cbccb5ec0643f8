// Users never free tensors, so memory must stay flat over a long training run on its own: graphs are released
// after backward, activations are ordinary garbage, and backends must not accumulate per-step state.
// Train a 64→128→10 MLP with AdamW for 2000 steps on every backend and watch the resident set size.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Linear, Module } from '../../src/nn/index.js';
import { AdamW } from '../../src/optim/index.js';
import * as T from '../../src/tensor/index.js';
import { Rng, type Tensor } from '../../src/tensor/index.js';
import { forEachBackend } from '../_backends.js';

const MAX_GROWTH_MB = 30;

class MLP extends Module {
  fc1: Linear;
  fc2: Linear;
  constructor(rng: Rng) {
    super();
    this.fc1 = new Linear(64, 128, { rng });
    this.fc2 = new Linear(128, 10, { rng });
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(T.relu(this.fc1.forward(x))); // (B, 64) → (B, 128) → (B, 10)
  }
}

forEachBackend((name) => {
  test(`RSS grows less than ${MAX_GROWTH_MB} MB between step 200 and step 2000 of MLP training (${name})`, (t) => {
    const rng = new Rng(0);
    const model = new MLP(rng);
    const opt = new AdamW(model.parameters(), { lr: 1e-3 });
    // 8 fixed batches of 32 random inputs with random labels (the model can memorize them).
    const batches = Array.from({ length: 8 }, () => ({
      x: T.randn([32, 64], { rng }),
      y: T.tensor(Array.from({ length: 32 }, () => rng.int(10)), [32], { dtype: 'int32' }),
    }));
    let rssAtWarmup = 0;
    let firstLoss = 0;
    let lastLoss = 0;
    for (let step = 0; step < 2000; step++) {
      const { x, y } = batches[step % batches.length];
      const loss = T.crossEntropy(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      if (step < 8) firstLoss += loss.item() / 8;
      if (step >= 1992) lastLoss += loss.item() / 8;
      if (step === 200) rssAtWarmup = process.memoryUsage().rss;
    }
    const growthMB = (process.memoryUsage().rss - rssAtWarmup) / 2 ** 20;
    t.diagnostic(`RSS growth ${growthMB.toFixed(1)} MB; loss ${firstLoss.toFixed(3)} → ${lastLoss.toFixed(3)}`);
    assert.ok(lastLoss < firstLoss / 4, `training should work: loss ${firstLoss.toFixed(3)} → ${lastLoss.toFixed(3)}`);
    assert.ok(growthMB < MAX_GROWTH_MB, `RSS grew ${growthMB.toFixed(1)} MB over 1800 steps`);
  });
});
