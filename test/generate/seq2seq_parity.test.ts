// Encoder-decoder generation against transformers 4.36.2 (marian-tiny, t5-tiny, t5-v1_1-tiny): every greedy
// and beam case with its exact generate_kwargs gives the same token sequences (start token included), beam
// sequences_scores within 1e-6 (T5: 2e-6, what an independent float32 re-implementation reached) and greedy
// per-step scores within 1e-4 — with the KV cache and without it, on every backend. Marian's cases exercise
// bad_words_ids [[pad]] and the forced EOS inherited from config.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend } from '../_backends.js';
import { fromPretrainedSeq2Seq } from '../../src/models/seq2seq_pretrained.js';
import { generateSeq2Seq, type Seq2SeqGenerateOptions } from '../../src/generate/seq2seq.js';
import { fixture, loadExpected, type GenerationCase } from '../models/_seq2seq_fixtures.js';

function check(name: string, useCache: boolean, scoreTol: number): void {
  const { json, arrays } = loadExpected(name);
  const { model, generationConfig } = fromPretrainedSeq2Seq(fixture(name));
  const tf = json.teacher_forcing;
  const greedy = Array.isArray(json.greedy) ? json.greedy : [json.greedy];
  const cases: [string, GenerationCase][] = [...greedy.map((c, i) => [`greedy[${i}]`, c] as [string, GenerationCase]), ...json.beam.map((c, i) => [`beam[${i}]`, c] as [string, GenerationCase])];
  for (const [label, c] of cases) {
    const out = generateSeq2Seq(model, tf.input_ids, {
      ...(c.generate_kwargs as Seq2SeqGenerateOptions),
      attention_mask: tf.attention_mask,
      generation_config: generationConfig,
      use_cache: useCache,
      output_scores: c.scores !== undefined,
    });
    assert.equal(out.prompt_length, 1);
    assert.deepEqual(out.sequences.map((s) => Array.from(s)), c.sequences, `${name} ${label}: sequences`);
    if (c.sequences_scores) {
      out.sequences_scores!.forEach((s, i) => assert.ok(Math.abs(s - c.sequences_scores![i]!) <= scoreTol, `${name} ${label}: score ${i} ${s} vs ${c.sequences_scores![i]}`));
    }
    if (c.scores) {
      assert.equal(out.scores!.length, c.scores.length, `${name} ${label}: steps`);
      c.scores.forEach((a, step) => {
        const want = arrays.get(a)!;
        const got = out.scores![step]!;
        for (let i = 0; i < want.length; i++) {
          if (!Number.isFinite(want[i]!)) assert.equal(got[i], want[i], `${name} ${label}: step ${step} score ${i}`);
          else assert.ok(Math.abs(got[i]! - want[i]!) < 1e-4, `${name} ${label}: step ${step} score ${i}: ${got[i]} vs ${want[i]}`);
        }
      });
    }
  }
}

forEachBackend((backend) => {
  for (const name of ['marian-tiny', 't5-tiny', 't5-v1_1-tiny']) {
    const tol = name === 'marian-tiny' ? 1e-6 : 2e-6;
    test(`[${backend}] ${name}: greedy and beam generation equal transformers' (KV cache)`, () => check(name, true, tol));
    test(`[${backend}] ${name}: the same without the cache`, () => check(name, false, tol));
  }
});
