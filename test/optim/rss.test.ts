// Users never free tensors, so memory must stay flat over a long run on its own: graphs are released after
// backward, activations are ordinary garbage, KV caches are dropped with their generation, and backends must not
// accumulate per-step state (packed weights are re-packed in place as the optimizer changes them).
// Train a small GPT (attention, GELU, layer norm, cross-entropy, AdamW) for 600 steps on every backend, with a
// 20-token cached generation every 25 steps, and watch the resident set size.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { AdamW } from '../../src/optim/index.js';
import * as T from '../../src/tensor/index.js';
import { Rng } from '../../src/tensor/index.js';
import { forEachBackend } from '../_backends.js';

const MAX_GROWTH_MB = 30;
const STEPS = 600;

forEachBackend((name) => {
  test(`RSS grows less than ${MAX_GROWTH_MB} MB between step 100 and step ${STEPS} of GPT training with cached generation (${name})`, (t) => {
    const rng = new Rng(0);
    const model = new GPT(gptConfig({ preset: 'tiny', vocab_size: 64, n_positions: 48, n_embd: 48, n_head: 4, n_layer: 2 }), rng);
    const opt = new AdamW(model.parameters(), { lr: 3e-3 });
    // 8 fixed batches of 4 × 16 tokens from a repeating pattern (learnable), targets shifted by one.
    const seq = Array.from({ length: 4 * 17 * 8 }, (_, i) => (i * 7 + Math.floor(i / 5)) % 64);
    const batches = Array.from({ length: 8 }, (_, b) => {
      const rows = Array.from({ length: 4 }, (_, r) => seq.slice((b * 4 + r) * 17, (b * 4 + r + 1) * 17));
      return {
        x: T.tensor(rows.flatMap((s) => s.slice(0, 16)), [4, 16], { dtype: 'int32' }),
        y: T.tensor(rows.flatMap((s) => s.slice(1, 17)), [4, 16], { dtype: 'int32' }),
      };
    });
    let rssAtWarmup = 0;
    let firstLoss = 0;
    let lastLoss = 0;
    for (let step = 0; step < STEPS; step++) {
      const { x, y } = batches[step % batches.length]!;
      const { loss } = model.forward(x, { targets: y });
      opt.zeroGrad();
      loss!.backward();
      opt.step();
      if (step < 8) firstLoss += loss!.item() / 8;
      if (step >= STEPS - 8) lastLoss += loss!.item() / 8;
      if (step % 25 === 0) {
        // Generation with a KV cache: prefill 8 tokens, then 12 one at a time (weights packed and cached).
        model.train(false);
        T.noGrad(() => {
          const cache = model.newCache();
          let ids = T.tensor(seq.slice(0, 8), [1, 8], { dtype: 'int32' });
          for (let i = 0; i < 12; i++) {
            const logits = model.forward(ids, { cache, logitsToKeep: 1 }).logits.toFloat32Array();
            ids = T.tensor([logits.indexOf(Math.max(...logits))], [1, 1], { dtype: 'int32' });
          }
        });
        model.train(true);
      }
      if (step === 100) rssAtWarmup = process.memoryUsage().rss;
    }
    const growthMB = (process.memoryUsage().rss - rssAtWarmup) / 2 ** 20;
    t.diagnostic(`RSS growth ${growthMB.toFixed(1)} MB; loss ${firstLoss.toFixed(3)} → ${lastLoss.toFixed(3)}`);
    assert.ok(lastLoss < firstLoss / 2, `training should work: loss ${firstLoss.toFixed(3)} → ${lastLoss.toFixed(3)}`);
    assert.ok(growthMB < MAX_GROWTH_MB, `RSS grew ${growthMB.toFixed(1)} MB over ${STEPS - 100} steps`);
  });
});
