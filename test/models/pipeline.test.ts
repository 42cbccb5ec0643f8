// The task-level API: AutoModelForCausalLM.fromPretrained → forward / generate / generateText, and
// pipeline('text-generation'), on the HF fixture (ids checked against transformers' own greedy output) and on
// a folder with a tokenizer written by savePretrained.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoModelForCausalLM, pipeline, GPT, gptConfig, Rng, savePretrained, Tokenizer } from '../../src/index.js';

const FIX = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

test('AutoModelForCausalLM: forward and generate reproduce transformers on gpt2-tiny', () => {
  const lm = AutoModelForCausalLM.fromPretrained(join(FIX, 'gpt2-tiny'));
  const expected = JSON.parse(readFileSync(join(FIX, 'gpt2-tiny', 'expected.json'), 'utf8')) as { greedy: Array<{ input_ids: number[][]; generate_kwargs: Record<string, unknown>; sequences: number[][] }>; forward: Array<{ input_ids: number[][]; last_token_logits_first8: number[] }> };
  const f = expected.forward[0]!;
  const out = lm.forward(f.input_ids, { outputAttentions: true, outputHiddenStates: true });
  assert.deepEqual(out.logits.shape, [1, f.input_ids[0]!.length, 1000]);
  assert.equal(out.attentions!.length, 2);
  assert.equal(out.hiddenStates!.length, 3);
  const T = f.input_ids[0]!.length;
  const last = out.logits.slice(1, T - 1, T).toArray().slice(0, 8);
  last.forEach((v, i) => assert.ok(Math.abs(v - f.last_token_logits_first8[i]!) < 1e-4, `logit ${i}: ${v} vs ${f.last_token_logits_first8[i]}`));
  const g = expected.greedy[3]!; // eos 544: finishes early
  const r = lm.generate(g.input_ids, g.generate_kwargs);
  assert.deepEqual(r.sequences.map((s) => Array.from(s)), g.sequences);
  assert.equal(lm.tokenizer, null);
  assert.throws(() => lm.generateText('hi'), /no tokenizer/);
});

test('pipeline("text-generation") on a saved folder with a tokenizer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-pipe-'));
  try {
    const tok = Tokenizer.gpt2();
    const model = new GPT(gptConfig({ preset: 'tiny', vocab_size: tok.vocabSize, n_positions: 64, bos_token_id: 50256, eos_token_id: 50256 }), new Rng(5));
    savePretrained(model, join(dir, 'm'), { tokenizerJson: JSON.stringify(tok.toJSON()) });
    const generator = pipeline('text-generation', join(dir, 'm'));
    const [first] = generator('Hello there', { max_new_tokens: 5, do_sample: false });
    assert.ok(first!.generated_text.startsWith('Hello there'));
    const lm = AutoModelForCausalLM.fromPretrained(join(dir, 'm'));
    const text = lm.generateText('Hello there', { max_new_tokens: 5, do_sample: false });
    assert.equal('Hello there' + text, first!.generated_text);
    // The continuation is exactly the decoded greedy ids.
    const ids = tok.encode('Hello there', undefined, { addSpecialTokens: false }).ids;
    const out = lm.generate([ids], { max_new_tokens: 5, do_sample: false });
    assert.equal(tok.decode(out.sequences[0]!.subarray(out.prompt_length)), text);
    // savePretrained round trip: same folder contents as far as a reader can tell (tokenizer, weights, text).
    lm.savePretrained(join(dir, 'm2'));
    const again = AutoModelForCausalLM.fromPretrained(join(dir, 'm2'));
    assert.equal(again.generateText('Hello there', { max_new_tokens: 5, do_sample: false }), text);
    assert.deepEqual(again.generationConfig['eos_token_id'], 50256);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
