// The task-level API: AutoModelForCausalLM.fromPretrained → forward / generate / generateText, and
// pipeline('text-generation'), on the HF fixture (ids checked against transformers' own greedy output) and on
// a folder with a tokenizer written by savePretrained.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoModelForCausalLM, pipeline, GPT, gptConfig, Rng, savePretrained, Tokenizer } from '../../src/index.js';
import { trainTokenizer } from '../../src/tokenizers/train.js';

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

test('pipeline("text-generation") continues a text prompt exactly as transformers continues its ids', async () => {
  // The gpt2-tiny fixture with a 1000-token tokenizer beside it: a prompt text that encodes to the ids of one of
  // transformers' greedy cases must come back as the text of transformers' output ids.
  const dir = mkdtempSync(join(tmpdir(), 'attn-pipe-'));
  try {
    const corpus = readFileSync(join(FIX, '..', '..', 'README.md'), 'utf8');
    const tok = await trainTokenizer([corpus], { type: 'bpe', vocabSize: 1000 });
    assert.equal(tok.vocabSize, 1000);
    const folder = join(dir, 'm');
    cpSync(join(FIX, 'gpt2-tiny'), folder, { recursive: true });
    writeFileSync(join(folder, 'tokenizer.json'), JSON.stringify(tok.toJSON()));
    const expected = JSON.parse(readFileSync(join(FIX, 'gpt2-tiny', 'expected.json'), 'utf8')) as { greedy: Array<{ input_ids: number[][]; generate_kwargs: Record<string, unknown>; sequences: number[][] }> };
    // A greedy case whose prompt ids are what the tokenizer makes of their own text (byte-level BPE round trip).
    const roundTrips = (ids: number[]): boolean => {
      const again = tok.encode(tok.decode(ids), undefined, { addSpecialTokens: false }).ids;
      return again.length === ids.length && again.every((x, i) => x === ids[i]);
    };
    const c = expected.greedy.find((g) => g.input_ids.length === 1 && roundTrips(g.input_ids[0]!));
    assert.ok(c, 'some greedy prompt round-trips through the tokenizer');
    const prompt = tok.decode(c.input_ids[0]!);
    const generator = pipeline('text-generation', folder);
    const [first] = generator(prompt, { ...c.generate_kwargs });
    assert.equal(first!.generated_text, tok.decode(c.sequences[0]!.filter((id) => id !== c.generate_kwargs['pad_token_id'])));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('AutoModelForCausalLM.savePretrained round trip keeps weights, tokenizer and generation defaults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-pipe-'));
  try {
    const tok = Tokenizer.gpt2();
    const model = new GPT(gptConfig({ preset: 'tiny', vocab_size: tok.vocabSize, n_positions: 64, bos_token_id: 50256, eos_token_id: 50256 }), new Rng(5));
    savePretrained(model, join(dir, 'm'), { tokenizerJson: JSON.stringify(tok.toJSON()) });
    const lm = AutoModelForCausalLM.fromPretrained(join(dir, 'm'));
    lm.savePretrained(join(dir, 'm2'));
    const again = AutoModelForCausalLM.fromPretrained(join(dir, 'm2'));
    for (const [name, p] of model.namedParameters()) {
      const q = new Map(again.model.namedParameters()).get(name)!;
      assert.ok(q.toFloat32Array().every((x, i) => x === p.toFloat32Array()[i]), `${name} survives the round trip`);
    }
    assert.deepEqual(again.generationConfig['eos_token_id'], 50256);
    assert.deepEqual(again.tokenizer!.encode('Hello there').ids, tok.encode('Hello there').ids);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
