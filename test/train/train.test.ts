// GPT training end to end on a tiny model: gradients reach every parameter and match finite differences,
// the KV cache reproduces the full forward, the loss falls, a resumed run equals an uninterrupted one, and a
// diverging run stops with a clear error while the last good checkpoint stays on disk. Every test runs on
// each backend: the reference and the WebAssembly one users get.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { Rng, tensor, noGrad } from '../../src/tensor/index.js';
import { fromPretrained } from '../../src/models/pretrained.js';
import { buildTokenStream, bitsPerByte } from '../../src/train/data.js';
import { trainLoop, newTrainState, evaluate, TRAIN_DEFAULTS, type TrainOptions, type MetricsRecord } from '../../src/train/trainer.js';
import { forEachBackend } from '../_backends.js';
import { saveCheckpoint, loadTrainingState } from '../../src/train/checkpoint.js';

const TEXT = 'To be, or not to be, that is the question:\nWhether tis nobler in the mind to suffer\nThe slings and arrows of outrageous fortune,\nOr to take arms against a sea of troubles\nAnd by opposing end them. To die: to sleep;\n'.repeat(8);
/** Bytes as token ids: a 256-token "tokenizer" that needs no training. */
const bytesTok = { encodeText: (t: string) => Array.from(new TextEncoder().encode(t)) };

function tinyModel(seed = 1, pdrop = 0): GPT {
  return new GPT(
    gptConfig({ preset: 'tiny', vocab_size: 256, n_positions: 32, n_embd: 32, n_head: 2, embd_pdrop: pdrop, attn_pdrop: pdrop, resid_pdrop: pdrop }),
    new Rng(seed),
  );
}

const OPTS: TrainOptions = { ...TRAIN_DEFAULTS, steps: 12, batchSize: 4, blockSize: 16, lr: 3e-3, warmupSteps: 2, evalEvery: 6, seed: 7 };

forEachBackend(() => {
  test('every parameter gets a gradient, and it matches central finite differences', () => {
    const model = tinyModel();
    const x = tensor(Int32Array.from([5, 77, 200, 3, 9, 14, 15, 92]), [2, 4], { dtype: 'int32' });
    const y = tensor(Int32Array.from([77, 200, 3, 9, 14, 15, 92, 1]), [2, 4], { dtype: 'int32' });
    const { loss } = model.forward(x, { targets: y });
    loss!.backward();
    for (const [name, p] of model.namedParameters()) {
      assert.ok(p.grad, `${name} has no gradient`);
      if (name === 'wpe.weight') continue; // rows past position 3 are unused: their gradient is rightly 0
      const g = p.grad.toFloat32Array();
      assert.ok(g.some((v) => v !== 0), `${name}'s gradient is all zero`);
    }
    // Finite differences on a few entries of several kinds of parameter (the whole model is the function).
    const lossAt = () => noGrad(() => model.forward(x, { targets: y }).loss!.item());
    const params = new Map(model.namedParameters());
    for (const name of ['wte.weight', 'h.0.attn.c_attn.weight', 'h.1.mlp.c_proj.bias', 'h.0.ln_1.weight', 'ln_f.bias']) {
      const p = params.get(name)!;
      const g = p.grad!.toFloat32Array();
      for (const i of [0, 7, p.size - 1]) {
        const data = p.toFloat32Array().slice();
        const eps = 1e-2;
        const orig = data[i]!;
        data[i] = orig + eps;
        p.copyFrom(data);
        const up = lossAt();
        data[i] = orig - eps;
        p.copyFrom(data);
        const down = lossAt();
        data[i] = orig;
        p.copyFrom(data);
        const fd = (up - down) / (2 * eps);
        assert.ok(Math.abs(fd - g[i]!) < 2e-3 + 0.05 * Math.abs(fd), `${name}[${i}]: autograd ${g[i]} vs finite difference ${fd}`);
      }
    }
  });

  test('KV cache: one token at a time gives the logits of the full forward', () => {
    const model = tinyModel(3);
    const seq = [1, 50, 99, 150, 200, 250, 7, 8, 9, 10];
    const full = noGrad(() => model.forward(tensor(Int32Array.from(seq), [1, seq.length], { dtype: 'int32' })).logits.toFloat32Array());
    const cache = model.newCache();
    noGrad(() => {
      // Prefill 4 tokens, then one at a time.
      const first = model.forward(tensor(Int32Array.from(seq.slice(0, 4)), [1, 4], { dtype: 'int32' }), { cache }).logits.toFloat32Array();
      for (let i = 0; i < 4 * 256; i++) assert.ok(Math.abs(first[i]! - full[i]!) < 1e-5);
      for (let t = 4; t < seq.length; t++) {
        const step = model.forward(tensor(Int32Array.from([seq[t]!]), [1, 1], { dtype: 'int32' }), { cache }).logits.toFloat32Array();
        for (let v = 0; v < 256; v++) assert.ok(Math.abs(step[v]! - full[t * 256 + v]!) < 1e-5, `position ${t}, token ${v}: ${step[v]} vs ${full[t * 256 + v]}`);
      }
    });
    assert.equal(cache.length, seq.length);
  });

  test('training lowers the validation loss and bits per byte are consistent', async () => {
    const model = tinyModel();
    const data = buildTokenStream([{ name: 'hamlet', text: TEXT }], bytesTok, 0.1);
    assert.equal(data.valBytes, data.val.length); // one byte per token here
    const records: MetricsRecord[] = [];
    const res = await trainLoop(model, data, newTrainState(model, OPTS), { ...OPTS, steps: 40, evalEvery: 20 }, { log: (r) => records.push(r) });
    const evals = records.filter((r) => r.kind === 'eval');
    assert.equal(evals.length, 2);
    assert.ok(evals[1]!.valLoss < evals[0]!.valLoss, `val loss ${evals[0]!.valLoss} → ${evals[1]!.valLoss}`);
    assert.ok(evals[1]!.valLoss < Math.log(256), 'better than uniform');
    const e = res.lastEval!;
    // One byte per token: bits per byte is the loss in bits.
    assert.ok(Math.abs(e.bitsPerByte - e.valLoss / Math.LN2) < 1e-9, `${e.bitsPerByte} vs ${e.valLoss / Math.LN2}`);
    assert.ok(Math.abs(bitsPerByte(2, 10, 20) - 1 / Math.LN2) < 1e-12); // 2 nats × 10 tokens over 20 bytes
  });

  for (const pdrop of [0, 0.1]) {
    // With dropout the masks come from the training state's generator, which the checkpoint saves.
    test(`resume: 6 steps + save + load + 6 steps equals 12 uninterrupted steps, bit for bit (dropout ${pdrop})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'attn-resume-'));
      try {
        const data = buildTokenStream([{ name: 'hamlet', text: TEXT }], bytesTok, 0.1);
        const straight: number[] = [];
        const m1 = tinyModel(1, pdrop);
        await trainLoop(m1, data, newTrainState(m1, OPTS), OPTS, { log: (r) => r.kind === 'train' && straight.push(r.loss) });

        const resumed: number[] = [];
        const m2 = tinyModel(1, pdrop);
        const half = { ...OPTS };
        const s2 = newTrainState(m2, half);
        // Stop after 6 of the 12 steps by saving from the hook and throwing (as a kill would, after the save).
        await assert.rejects(
          trainLoop(m2, data, s2, { ...half, saveEvery: 6 }, {
            log: (r) => r.kind === 'train' && resumed.push(r.loss),
            save: (state, reason) => {
              if (reason !== 'interval') return;
              saveCheckpoint(m2, join(dir, 'ckpt'), state, half);
              throw new Error('stop here');
            },
          }),
          /stop here/,
        );
        const { model: m3 } = fromPretrained(join(dir, 'ckpt'));
        m3.train(true);
        const { state: s3, options } = loadTrainingState(join(dir, 'ckpt'), m3);
        assert.equal(s3.step, 6);
        await trainLoop(m3, data, s3, options, { log: (r) => r.kind === 'train' && resumed.push(r.loss) });
        assert.equal(resumed.length, 12);
        assert.deepEqual(resumed, straight);
        const saved = JSON.parse(readFileSync(join(dir, 'ckpt', 'training_state.json'), 'utf8')) as { step: number };
        assert.equal(saved.step, 6);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('a diverging run stops with the step named and keeps the last good checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attn-nan-'));
    try {
      const data = buildTokenStream([{ name: 'hamlet', text: TEXT }], bytesTok, 0.1);
      const model = tinyModel();
      const opts = { ...OPTS, steps: 50, lr: 1e9, warmupSteps: 0, gradClip: 0, evalEvery: 0, saveEvery: 1 };
      let saves = 0;
      await assert.rejects(
        trainLoop(model, data, newTrainState(model, opts), opts, {
          save: (state) => {
            saves++;
            saveCheckpoint(model, join(dir, 'ckpt'), state, opts);
          },
        }),
        /training diverged: (loss|the gradient norm) is (NaN|Infinity|-Infinity) at step \d+; the last good checkpoint is kept/,
      );
      assert.ok(saves >= 1);
      // The checkpoint on disk loads and its weights are finite.
      const { model: back } = fromPretrained(join(dir, 'ckpt'));
      for (const [name, p] of back.namedParameters()) assert.ok(p.toFloat32Array().every(Number.isFinite), `${name} is not finite`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a time budget ends on time, with the cosine schedule fitted to it', async () => {
    const model = tinyModel();
    const data = buildTokenStream([{ name: 'hamlet', text: TEXT }], bytesTok, 0.1);
    const opts = { ...OPTS, steps: 1_000_000, timeLimitSec: 3, evalEvery: 0, warmupSteps: 2, minLr: 1e-5 };
    const lrs: number[] = [];
    const t0 = performance.now();
    const res = await trainLoop(model, data, newTrainState(model, opts), opts, { log: (r) => r.kind === 'train' && lrs.push(r.lr) });
    const sec = (performance.now() - t0) / 1000;
    assert.ok(sec < 3 + 1.5, `took ${sec} s for a 3 s budget`);
    assert.ok(res.totalSteps < 1_000_000 && res.state.step > 10, `planned ${res.totalSteps}, ran ${res.state.step}`);
    // The schedule was fitted: by the end the learning rate has decayed most of the way to minLr.
    assert.ok(lrs[lrs.length - 1]! < 0.35 * opts.lr, `last lr ${lrs[lrs.length - 1]} of peak ${opts.lr}`);
  });

  test('sliding window: with window 2 and 2 layers, position t sees only tokens t - 2 .. t', () => {
    // Each layer looks one token back, so two layers look two back: the receptive field is 2·(window − 1) + 1.
    const model = new GPT(gptConfig({ preset: 'tiny', vocab_size: 256, n_positions: 32, n_embd: 32, n_head: 2, sliding_window: 2 }), new Rng(4));
    const a = [10, 20, 30, 40, 50, 60];
    const b = [99, 98, 30, 40, 50, 60]; // differs only at positions 0 and 1
    const run = (ids: number[]) => noGrad(() => model.forward(tensor(Int32Array.from(ids), [1, ids.length], { dtype: 'int32' })).logits.toFloat32Array());
    const la = run(a);
    const lb = run(b);
    for (let t = 4; t < 6; t++) for (let v = 0; v < 256; v++) assert.ok(Math.abs(la[t * 256 + v]! - lb[t * 256 + v]!) < 1e-6, `position ${t}`);
    // Position 3 sees position 1 through the first layer: it differs.
    assert.ok(la.slice(3 * 256, 4 * 256).some((x, v) => Math.abs(x - lb[3 * 256 + v]!) > 1e-4));
    // Without the window, position 5 would see position 0.
    const full = new GPT(gptConfig({ preset: 'tiny', vocab_size: 256, n_positions: 32, n_embd: 32, n_head: 2 }), new Rng(4));
    const fa = noGrad(() => full.forward(tensor(Int32Array.from(a), [1, 6], { dtype: 'int32' })).logits.toFloat32Array());
    const fb = noGrad(() => full.forward(tensor(Int32Array.from(b), [1, 6], { dtype: 'int32' })).logits.toFloat32Array());
    assert.ok(fa.slice(5 * 256).some((x, v) => Math.abs(x - fb[5 * 256 + v]!) > 1e-4));
  });

  test('evaluate puts the model back in training mode even when a batch throws', () => {
    const model = tinyModel();
    model.train(true);
    // Token 300 is outside the 256-token vocabulary: the embedding throws in the middle of evaluation.
    const bad = Int32Array.from({ length: 40 }, (_, i) => (i === 20 ? 300 : i));
    assert.throws(() => evaluate(model, bad, 40, { batchSize: 2, blockSize: 8, evalTokens: 0 }), /out of range/);
    assert.equal(model.training, true);
  });
});
