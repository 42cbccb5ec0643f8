// Parameter counts against the published sizes of the GPT-2 family (Hugging Face's num_parameters() for
// GPT2LMHeadModel with the tied head counted once), and FLOPs against Kaplan et al.'s 2N rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gptConfig, gptParameterCount } from '../../src/models/gpt.js';
import { gptSizes } from '../../src/models/sizes.js';

test('GPT-2 family parameter counts match the published numbers', () => {
  assert.equal(gptParameterCount(gptConfig({ preset: 'gpt2' })), 124_439_808);
  assert.equal(gptParameterCount(gptConfig({ preset: 'gpt2-medium' })), 354_823_168);
  assert.equal(gptParameterCount(gptConfig({ preset: 'gpt2-large' })), 774_030_080);
  assert.equal(gptParameterCount(gptConfig({ preset: 'gpt2-xl' })), 1_557_611_200);
});

test('forward FLOPs per token follow Kaplan et al.: 2·N plus 2·n_layer·n_ctx·d_model for attention', () => {
  const s = gptSizes(gptConfig({ preset: 'gpt2' }), { context: 1024 });
  // GPT-2 124M: 124,439,808 parameters, minus the token table (50257·768 = 38,597,376) and the position table
  // (1024·768 = 786,432), is N = 85,056,000 non-embedding parameters (Kaplan et al. table 1 counts the same);
  // the tied LM head adds a 768 × 50257 product. Forward = 2·(85,056,000 + 38,597,376) + 2·12·1024·768.
  assert.equal(s.nonEmbeddingParameters, 85_056_000);
  assert.equal(s.forwardFlopsPerToken, 266_181_120);
  assert.equal(s.trainFlopsPerToken, 3 * 266_181_120);
  // K and V of 12 layers × 768 channels in float32.
  assert.equal(s.kvCacheBytesPerToken, 73_728);
});

test('config errors name the key', () => {
  assert.throws(() => gptConfig({ n_embdd: 3 } as never), /unknown GPT config key 'n_embdd'/);
  assert.throws(() => gptConfig({ n_embd: 100, n_head: 3 }), /n_embd \(100\) must be divisible by n_head \(3\)/);
  assert.throws(() => gptConfig({ preset: 'gpt5' as never }), /unknown GPT preset 'gpt5'/);
});
