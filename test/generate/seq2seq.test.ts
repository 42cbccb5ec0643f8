// Seq2seq generation on randomly initialised models (both families): the KV cache changes no token (greedy,
// beams, sampling with several returned sequences), a right-padded batch gives each row what it gives alone,
// and the source-side errors are clear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/tensor/index.js';
import { Transformer, transformerConfig } from '../../src/models/transformer.js';
import { T5, t5Config } from '../../src/models/t5.js';
import { generateSeq2Seq, padSources, type Seq2SeqGenerateOptions } from '../../src/generate/seq2seq.js';
import type { KVCache } from '../../src/nn/attention.js';
import { forEachBackend } from '../_backends.js';

const models = {
  transformer: () => new Transformer(transformerConfig({ preset: 'tiny', vocab_size: 40, d_model: 32, encoder_ffn_dim: 64, decoder_ffn_dim: 64, pad_token_id: 0, eos_token_id: 2, decoder_start_token_id: 1 }), new Rng(3)).train(false),
  t5: () => new T5(t5Config({ preset: 'tiny', vocab_size: 40, d_model: 32, d_kv: 8, d_ff: 64 }), new Rng(4)).train(false),
};
const sources = [[5, 9, 12, 7, 2], [8, 3, 2], [30, 31, 32, 33, 34, 35, 2]];

for (const [family, make] of Object.entries(models)) {
  test(`${family}: cache and no cache give identical tokens (greedy, beams, sampling)`, () => {
    const model = make();
    const settings: Seq2SeqGenerateOptions[] = [
      { max_new_tokens: 12 },
      { max_new_tokens: 12, num_beams: 3, num_return_sequences: 2, no_repeat_ngram_size: 2 },
      { max_new_tokens: 10, do_sample: true, top_k: 10, seed: 7, num_return_sequences: 2 },
      { max_new_tokens: 8, bad_words_ids: [[5], [6, 7]], forced_eos_token_id: 2, repetition_penalty: 1.3 },
    ];
    for (const s of settings) {
      const a = generateSeq2Seq(model, sources, { ...s, use_cache: true });
      const b = generateSeq2Seq(model, sources, { ...s, use_cache: false });
      assert.deepEqual(a.sequences.map((x) => Array.from(x)), b.sequences.map((x) => Array.from(x)), JSON.stringify(s));
      if (a.sequences_scores) a.sequences_scores.forEach((v, i) => assert.ok(Math.abs(v - b.sequences_scores![i]!) < 1e-5));
      for (const row of a.sequences) assert.equal(row[0], model.config.decoder_start_token_id);
    }
  });

  test(`${family}: each row of a right-padded batch equals that source alone`, () => {
    const model = make();
    const batch = generateSeq2Seq(model, sources, { max_new_tokens: 10, num_beams: 2 });
    sources.forEach((src, r) => {
      const alone = generateSeq2Seq(model, [src], { max_new_tokens: 10, num_beams: 2 });
      const got = Array.from(batch.sequences[r]!);
      const want = Array.from(alone.sequences[0]!);
      // Rows are padded to the batch's longest hypothesis: compare up to this row's own length.
      assert.deepEqual(got.slice(0, want.length), want, `row ${r}`);
      assert.ok(Math.abs(batch.sequences_scores![r]! - alone.sequences_scores![0]!) < 1e-5);
    });
  });
}

forEachBackend(() => {
  test('the KV cache (self- and cross-attention) is given back when a generation ends; the next one gives the same tokens', () => {
    for (const make of Object.values(models)) {
      const model = make();
      const caches: KVCache[] = [];
      const newCache = model.newCache.bind(model);
      model.newCache = () => {
        const c = newCache();
        caches.push(c);
        return c;
      };
      const opts = { max_new_tokens: 10, num_beams: 3 };
      const first = generateSeq2Seq(model, sources, opts);
      assert.equal(caches.length, 1);
      assert.ok(caches[0]!.layers.every((l) => l.length === 0 && l.capacity === 0), 'self-attention storage given back');
      assert.ok(caches[0]!.cross.every((c) => c.k === null && c.v === null), 'cross-attention keys dropped');
      assert.deepEqual(generateSeq2Seq(model, sources, opts).sequences, first.sequences);
    }
  });
});

test("without a generation config, the model config's EOS ends greedy rows and beams (as transformers' generate)", () => {
  const model = models.transformer();
  model.final_logits_bias.data[model.config.eos_token_id as number] = 50; // EOS (2) is the likeliest token at every step
  for (const num_beams of [1, 3]) {
    const out = generateSeq2Seq(model, sources, { max_new_tokens: 12, num_beams });
    // Every row is start, EOS — not start followed by 12 EOS (beams that never finish, ranked on their junk).
    assert.deepEqual(out.sequences.map((x) => Array.from(x)), sources.map(() => [1, 2]), `num_beams ${num_beams}`);
  }
});

test('padSources pads on the right; bad sources are clear errors', () => {
  const p = padSources([[5, 6, 0], [7, 0]], 9);
  assert.deepEqual(Array.from(p.inputIds), [5, 6, 0, 7, 0, 9]);
  assert.deepEqual(Array.from(p.attentionMask), [1, 1, 1, 1, 1, 0]);
  const q = padSources([[5, 6], [7, 9]], 9, [[1, 1], [1, 0]]);
  assert.deepEqual(Array.from(q.attentionMask), [1, 1, 1, 0]);
  assert.throws(() => padSources([[5, 6], [7]], 9, [[1, 1], [1]]), /do not match source rows/);
  assert.throws(() => padSources([[5], []], 9), /source 1 has no real token/);
  const model = models.transformer();
  assert.throws(() => generateSeq2Seq(model, [[5, 99]]), /source 0 has token id 99 at position 1, outside the vocabulary of size 40/);
  const long = [Array.from({ length: 200 }, () => 5)];
  assert.throws(() => generateSeq2Seq(model, long), /cannot encode a source of 200 tokens: max_position_embeddings is 128/);
});
