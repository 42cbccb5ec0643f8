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

test('forward FLOPs per token are 2 per matmul weight plus attention', () => {
  const cfg = gptConfig({ preset: 'gpt2' });
  const s = gptSizes(cfg, { context: 1024 });
  // 85M block weights + 38.6M LM head, times 2, plus 2·12·1024·768 for attention scores and mixing.
  const blocks = 12 * (768 * 2304 + 768 * 768 + 2 * 768 * 3072);
  const biasesAndNorms = s.nonEmbeddingParameters - blocks;
  assert.equal(s.forwardFlopsPerToken, 2 * (blocks + biasesAndNorms + 50257 * 768) + 2 * 12 * 1024 * 768);
  assert.equal(s.trainFlopsPerToken, 3 * s.forwardFlopsPerToken);
  assert.equal(s.kvCacheBytesPerToken, 2 * 12 * 768 * 4);
});

test('config errors name the key', () => {
  assert.throws(() => gptConfig({ n_embdd: 3 } as never), /unknown GPT config key 'n_embdd'/);
  assert.throws(() => gptConfig({ n_embd: 100, n_head: 3 }), /n_embd \(100\) must be divisible by n_head \(3\)/);
  assert.throws(() => gptConfig({ preset: 'gpt5' as never }), /unknown GPT preset 'gpt5'/);
});
