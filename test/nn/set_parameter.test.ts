// Module.setParameter replaces a parameter by its dotted name (what checkpoint loading uses to adopt arrays).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { Rng, fromStorage } from '../../src/tensor/index.js';

test('setParameter swaps the tensor under a dotted name and checks the shape', () => {
  const model = new GPT(gptConfig({ preset: 'tiny', vocab_size: 50, n_positions: 8, n_embd: 8, n_head: 2 }), new Rng(1));
  const data = new Float32Array(8 * 24).fill(0.5);
  const t = fromStorage(data, [8, 24], { requiresGrad: true });
  model.setParameter('h.1.attn.c_attn.weight', t);
  assert.equal(new Map(model.namedParameters()).get('h.1.attn.c_attn.weight'), t);
  assert.equal(model.h[1]!.attn.c_attn.weight, t);
  assert.throws(() => model.setParameter('h.1.attn.c_attn.weight', fromStorage(new Float32Array(8), [8])), /'h\.1\.attn\.c_attn\.weight' has shape \[8, 24\], the new value \[8\]/);
  assert.throws(() => model.setParameter('h.9.attn.c_attn.weight', t), /no parameter 'h\.9\.attn\.c_attn\.weight'/);
  assert.throws(() => model.setParameter('h.1.attn.nHead', t), /'h\.1\.attn\.nHead' is not a parameter/);
});
