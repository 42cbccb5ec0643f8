// Generation config: reading generation_config.json, merging layers, resolving lengths and pad/eos, and the
// order in which transformers 4.36.2 builds processors and warpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLogitsProcessors, buildLogitsWarpers, generationConfigFromJson, resolveGenerationConfig } from '../../src/generate/config.js';
import { readJson } from './helpers.js';

test("generationConfigFromJson reads gpt2-tiny's generation_config.json, skipping bookkeeping keys", () => {
  const json = readJson<Record<string, unknown>>('gpt2-tiny', 'generation_config.json');
  assert.deepEqual(generationConfigFromJson(json), { bos_token_id: 999, eos_token_id: 999 });
});

test('generationConfigFromJson refuses unknown keys and settings attn does not implement, by name', () => {
  assert.throws(() => generationConfigFromJson({ max_lenght: 5 }), /unknown generation setting 'max_lenght'/);
  assert.throws(() => generationConfigFromJson({ num_beam_groups: 2 }), /num_beam_groups = 2 asks for group beam search/);
  assert.throws(() => generationConfigFromJson({ penalty_alpha: 0.6 }), /contrastive search/);
  assert.deepEqual(generationConfigFromJson({ num_beam_groups: 1, use_cache: true, top_k: 10 }), { top_k: 10 });
});

test('resolve: later layers win, max_new_tokens sets max_length from the prompt, pad defaults to the first eos', () => {
  const cfg = resolveGenerationConfig([{ eos_token_id: [7, 3], max_length: 50, top_k: 5 }, { max_new_tokens: 10, top_k: 8 }], 6, 20);
  assert.equal(cfg.max_length, 16);
  assert.equal(cfg.top_k, 8);
  assert.deepEqual(cfg.eos, [7, 3]);
  assert.equal(cfg.pad_token_id, 7);
  assert.equal(cfg.prompt_length, 6);
  assert.equal(resolveGenerationConfig([{ max_length: 12 }], 6, 20).max_length, 12);
  assert.equal(resolveGenerationConfig([{}], 3, 20).pad_token_id, null);
});

test('processors and warpers are built in transformers order', () => {
  const cfg = resolveGenerationConfig(
    [
      {
        sequence_bias: [[[1], 0.5]],
        repetition_penalty: 1.1,
        no_repeat_ngram_size: 3,
        bad_words_ids: [[2]],
        min_length: 4,
        min_new_tokens: 2,
        forced_bos_token_id: 0,
        forced_eos_token_id: 9,
        suppress_tokens: [5],
        begin_suppress_tokens: [6],
        renormalize_logits: true,
        eos_token_id: 9,
        do_sample: true,
        temperature: 0.9,
        top_k: 20,
        top_p: 0.9,
        min_p: 0.05,
        typical_p: 0.95,
      },
    ],
    3,
    10,
  );
  assert.deepEqual(buildLogitsProcessors(cfg).map((p) => p.name), [
    'SequenceBiasLogitsProcessor',
    'RepetitionPenaltyLogitsProcessor',
    'NoRepeatNGramLogitsProcessor',
    'NoBadWordsLogitsProcessor',
    'MinLengthLogitsProcessor',
    'MinNewTokensLengthLogitsProcessor',
    'ForcedBOSTokenLogitsProcessor',
    'ForcedEOSTokenLogitsProcessor',
    'SuppressTokensLogitsProcessor',
    'SuppressTokensAtBeginLogitsProcessor',
    'LogitNormalization',
  ]);
  assert.deepEqual(buildLogitsWarpers(cfg).map((p) => p.name), ['TemperatureLogitsWarper', 'TopKLogitsWarper', 'TopPLogitsWarper', 'MinPLogitsWarper', 'TypicalLogitsWarper', 'LogitNormalization']);
  // Defaults build nothing (as for gpt2-tiny: active_logits_processors_without_extra_kwargs = []) ...
  const plain = resolveGenerationConfig([{ eos_token_id: 9 }], 3, 10);
  assert.deepEqual(buildLogitsProcessors(plain), []);
  // ... except top_k = 50 when sampling.
  assert.deepEqual(buildLogitsWarpers(resolveGenerationConfig([{ do_sample: true }], 3, 10)).map((p) => p.name), ['TopKLogitsWarper']);
});
