// Decode steps in step memory (src/generate/from_model.ts, seq2seq.ts): on the WebAssembly backend each
// token's forward pass after the prefill takes its arrays from the step arena, which the next token reuses.
// What must hold: the logits a stepper hands out are the caller's to keep (the next step does not overwrite
// them), the keys/values survive from step to step (the no-cache path, which recomputes everything in ordinary
// memory, gives the same logits), and only the paths that are safe use it (attn's KVCache, not the prefill,
// not a model with a cache of its own). The outside oracle for the numbers is transformers, in
// gpt2_parity.test.ts and seq2seq_parity.test.ts, which run the same code on the wasm backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../_backends.js';
import { setBackend } from '../../src/backend/index.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { Rng } from '../../src/tensor/index.js';
import { trainingStepsRun } from '../../src/tensor/step.js';
import { stepperFromModel, type CausalLMModule, type RowSelectableCache } from '../../src/generate/from_model.js';
import { generate } from '../../src/generate/generate.js';
import type { StepBatch } from '../../src/generate/model.js';
import type { KVCache } from '../../src/nn/attention.js';

setBackend('wasm');
const model = new GPT(gptConfig({ n_layer: 2, n_head: 2, n_embd: 64, n_positions: 64, vocab_size: 97 }), new Rng(5));
model.train(false);

/** stepper.forward, synchronous (attn's tensor models are). */
function logitsOf(stepper: ReturnType<typeof stepperFromModel>, b: StepBatch): Float32Array {
  const r = stepper.forward(b);
  if (r instanceof Promise) throw new Error('expected synchronous logits');
  return r;
}

/** The batch the generation loop would pass for rows of `ids` (no padding), with `past` positions cached. */
function batchOf(ids: number[][], past: number): StepBatch {
  const rows = ids.length;
  const S = ids[0]!.length;
  return {
    rows,
    length: S,
    pastLength: past,
    inputIds: Int32Array.from(ids.flat()),
    attentionMask: new Uint8Array(rows * S).fill(1),
    positionIds: Int32Array.from({ length: rows * S }, (_, i) => i % S),
  };
}

test('the logits of a decode step stay the caller\'s after the next step, and equal the no-cache path\'s', () => {
  const cached = stepperFromModel(model);
  const plain = stepperFromModel(model, { useCache: false });
  const seq = [[3, 14, 15, 92, 65], [35, 89, 79, 32, 38]];
  cached.forward(batchOf(seq, 0)); // prefill
  const kept: { got: Float32Array; copy: Float32Array; want: Float32Array }[] = [];
  for (let t = 0; t < 14; t++) {
    // (14 steps take the cache past its first 16 positions: it grows inside a decode step)
    for (const row of seq) row.push((t * 31 + row[0]!) % 97);
    const before = trainingStepsRun();
    const got = logitsOf(cached, batchOf(seq, seq[0]!.length - 1));
    assert.equal(trainingStepsRun(), before + 1, 'a decode step with the KV cache runs in step memory');
    kept.push({ got, copy: got.slice(), want: logitsOf(plain, batchOf(seq, 0)) });
  }
  for (const [t, { got, copy, want }] of kept.entries()) {
    assert.deepEqual(got, copy, `step ${t}: its logits changed after later steps`);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-4, `step ${t}, logit ${i}: ${got[i]} with the cache, ${want[i]} without`);
  }
});

test('greedy and beam search give the same tokens with the cache (decode steps in step memory) as without', () => {
  const prompts = [[1, 2, 3, 4], [50, 60, 70, 80]];
  for (const opts of [{ max_new_tokens: 12 }, { max_new_tokens: 10, num_beams: 3, num_return_sequences: 2 }]) {
    const a = generate(stepperFromModel(model), prompts, opts);
    const b = generate(stepperFromModel(model, { useCache: false }), prompts, opts);
    assert.deepEqual(a.sequences, b.sequences, JSON.stringify(opts));
  }
});

test('the prefill, and a model with a cache of its own, do not run in a decode step', () => {
  // The same GPT behind a cache type that is not attn's KVCache: its tensors could outlive a step.
  class OwnCache implements RowSelectableCache {
    constructor(readonly inner: KVCache) {}
    selectRows(rows: Int32Array): void {
      this.inner.selectRows(rows);
    }
  }
  const wrapped: CausalLMModule<OwnCache> = {
    config: model.config,
    get training() {
      return model.training;
    },
    train: (on: boolean) => model.train(on),
    newCache: () => new OwnCache(model.newCache()),
    forward: (ids, opts) => model.forward(ids, { ...opts, cache: opts.cache?.inner }),
  };
  const before = trainingStepsRun();
  const out = generate(stepperFromModel(wrapped), [[1, 2, 3]], { max_new_tokens: 5 });
  assert.equal(trainingStepsRun(), before, 'no decode step for a cache attn does not know');
  assert.deepEqual(out.sequences, generate(stepperFromModel(model), [[1, 2, 3]], { max_new_tokens: 5 }).sequences);
  const g = trainingStepsRun();
  stepperFromModel(model).forward(batchOf([[1, 2, 3, 4, 5, 6]], 0));
  assert.equal(trainingStepsRun(), g, 'the prefill does not run in a decode step (its layers use layerStep, whose results are ordinary arrays)');
});

test('a generation gives its KV cache back when it ends, also when it fails, and the next one (in the same memory) gives the same tokens', () => {
  const caches: KVCache[] = [];
  let failAt = -1;
  let calls = 0;
  const watched: CausalLMModule<KVCache> = {
    config: model.config,
    get training() {
      return model.training;
    },
    train: (on: boolean) => model.train(on),
    newCache: () => {
      const c = model.newCache();
      caches.push(c);
      return c;
    },
    forward: (ids, opts) => {
      if (++calls === failAt) throw new Error('step failed');
      return model.forward(ids, opts);
    },
  };
  const stepper = stepperFromModel(watched);
  const opts = { max_new_tokens: 20, num_beams: 2 };
  const first = generate(stepper, [[1, 2, 3]], opts);
  assert.equal(caches.length, 1);
  assert.ok(caches[0]!.layers.every((l) => l.length === 0 && l.capacity === 0), 'the cache is emptied and its storage given back');
  const second = generate(stepper, [[1, 2, 3]], opts);
  assert.deepEqual(second.sequences, first.sequences, 'a generation writing into the memory the last one gave back');
  assert.deepEqual(second.sequences, generate(stepperFromModel(model, { useCache: false }), [[1, 2, 3]], opts).sequences);
  calls = 0;
  failAt = 6;
  assert.throws(() => generate(stepper, [[1, 2, 3]], opts), /step failed/);
  assert.equal(caches.length, 3);
  assert.ok(caches[2]!.layers.every((l) => l.length === 0 && l.capacity === 0), 'given back after the failed step too');
});
