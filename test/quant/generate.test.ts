// Generation with quantised weights, on every backend: the greedy tokens of a quantised GPT must be those of the
// same GPT with its weights replaced by their dequantised float values, run through the ordinary float path.
// That float twin is the oracle: it is what the quantised format promises (W ≈ scale·q, exactly those numbers),
// computed by code that knows nothing of quantisation.
//   - A prompt's logits (many rows: the dequantise-and-GEMM path) equal the twin's up to float rounding.
//   - Decoding (a few rows per step) on WASM also rounds the activations to 8 bits per block of 32 inside the
//     kernel (kernels/quant.ts), which moves logits by a little: greedy tokens are equal when the model's top two
//     logits are further apart than that. So the model is a tiny GPT trained (here, in a second) on a learnable
//     pattern, whose choices are clear (the test reports the smallest top-2 gap on each path), not a random one,
//     whose top logits are within 0.001 of each other (the gpt2-tiny fixture's) and flip under any rounding.
// And the task-level API loads quantised folders and quantises while loading (AutoModelForCausalLM, pipeline).
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stepperFromModel } from '../../src/generate/from_model.js';
import { generate } from '../../src/generate/index.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { fromPretrained, savePretrained } from '../../src/models/pretrained.js';
import { AdamW } from '../../src/optim/index.js';
import { AutoModelForCausalLM, pipeline } from '../../src/pipelines/text_generation.js';
import { quantizeFolder } from '../../src/quant/folder.js';
import { asQuantized } from '../../src/quant/ops.js';
import { noGrad, Rng, tensor } from '../../src/tensor/index.js';
import { trainTokenizer } from '../../src/tokenizers/train.js';
import { availableBackends, getBackend, setBackend } from '../../src/backend/index.js';
import { forEachBackend } from '../_backends.js';
import { makeFloatTwin } from './_twin.js';

const FIX = fileURLToPath(new URL('../../../test/fixtures/gpt2-tiny', import.meta.url));
const V = 64;
const NEW = 20;
/** The pattern the model learns: token i of the stream. */
const pattern = (i: number) => (i * 7 + Math.floor(i / 5)) % V;
const STARTS = [0, 30, 90];
const PROMPTS = [8, 6, 3].map((n, k) => Array.from({ length: n }, (_, i) => pattern(STARTS[k]! + i)));

let trainedDir: string | null = null;
/** A tiny GPT (C = 64, 2 layers) trained for 150 steps on the pattern, saved as a float folder (once per process). */
function trained(): string {
  if (trainedDir) return trainedDir;
  // Trained on the fast backend (the reference one would take ~10 s), whichever is current for the test.
  const current = getBackend().name;
  if (availableBackends().includes('wasm')) setBackend('wasm');
  try {
    trainedDir = trainAndSave();
  } finally {
    setBackend(current);
  }
  return trainedDir;
}

function trainAndSave(): string {
  const model = new GPT(gptConfig({ vocab_size: V, n_positions: 48, n_embd: 64, n_head: 4, n_layer: 2, embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0, bos_token_id: V - 1, eos_token_id: V - 1 }), new Rng(0));
  const opt = new AdamW(model.parameters(), { lr: 3e-3 });
  for (let step = 0; step < 150; step++) {
    const rows = Array.from({ length: 8 }, (_, r) => Array.from({ length: 33 }, (_, i) => pattern((step * 8 + r) * 13 + i)));
    const x = tensor(rows.flatMap((q) => q.slice(0, 32)), [8, 32], { dtype: 'int32' });
    const y = tensor(rows.flatMap((q) => q.slice(1)), [8, 32], { dtype: 'int32' });
    const { loss } = model.forward(x, { targets: y });
    opt.zeroGrad();
    loss!.backward();
    opt.step();
  }
  const dir = mkdtempSync(join(tmpdir(), 'attn-quant-gen-'));
  savePretrained(model, dir);
  return dir;
}
after(() => {
  if (trainedDir) rmSync(trainedDir, { recursive: true, force: true });
});

function greedy(model: GPT, prompts: number[][]): number[][] {
  const out = generate(stepperFromModel(model), prompts, { max_new_tokens: NEW, do_sample: false, pad_token_id: V - 1, eos_token_id: V - 1 });
  return out.sequences.map((s) => Array.from(s));
}

/** Smallest gap between the top two logits over the greedy path of `model` (how robust its choices are). */
function smallestGap(model: GPT, prompt: number[], seq: number[]): number {
  return noGrad(() => {
    const T = seq.length - 1;
    const logits = model.forward(tensor(Int32Array.from(seq.slice(0, T)), [1, T], { dtype: 'int32' })).logits.toFloat32Array(); // (1, T, V)
    let gap = Infinity;
    for (let t = prompt.length - 1; t < T; t++) {
      const row = Array.from(logits.subarray(t * V, (t + 1) * V)).sort((a, b) => b - a);
      gap = Math.min(gap, row[0]! - row[1]!);
    }
    return gap;
  });
}

forEachBackend((backend) => {
  for (const dtype of ['int8', 'int4'] as const) {
    test(`${dtype}: a prompt's logits equal the dequantised float model's; greedy tokens too (${backend}), one prompt at a time and batched`, (t) => {
      const dir = trained();
      const quantized = fromPretrained(dir, { dtype }).model;
      const twin = makeFloatTwin(quantized, fromPretrained(dir).model);
      assert.ok(asQuantized(quantized.h[0]!.attn.c_attn.weight), 'the model is quantised');
      assert.equal(asQuantized(twin.h[0]!.attn.c_attn.weight), null, 'its twin is float');
      // Prefill: 8 rows per product, so W is dequantised and multiplied in float on every backend.
      const ids = tensor(Int32Array.from(PROMPTS[0]!), [1, 8], { dtype: 'int32' });
      const got = noGrad(() => quantized.forward(ids).logits.toFloat32Array());
      const want = noGrad(() => twin.forward(ids).logits.toFloat32Array());
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-4 * (1 + Math.abs(want[i]!)), `logit ${i}: ${got[i]} vs ${want[i]}`);
      // Decoding.
      for (const p of PROMPTS) {
        const wantSeq = greedy(twin, [p]);
        {
          // The model has learned the pattern (so its choices mean something): the twin continues it.
          const start = STARTS[PROMPTS.indexOf(p)]! + p.length;
          assert.deepEqual(wantSeq[0]!.slice(p.length, p.length + 5), [0, 1, 2, 3, 4].map((i) => pattern(start + i)), 'the trained model continues the pattern');
        }
        assert.deepEqual(greedy(quantized, [p]), wantSeq, `prompt ${p.slice(0, 4).join(',')}…`);
        t.diagnostic(`prompt ${p[0]}…: smallest top-2 logit gap on the path ${smallestGap(twin, p, wantSeq[0]!).toFixed(3)}`);
      }
      // Batched, left-padded: 3 rows per decoding step (the kernels' several-rows path).
      assert.deepEqual(greedy(quantized, PROMPTS), greedy(twin, PROMPTS), 'batched');
    });
  }

  test(`quantised folders and dtype work through AutoModelForCausalLM and pipeline (${backend})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attn-quant-gen-'));
    try {
      const folder = join(dir, 'float');
      cpSync(FIX, folder, { recursive: true });
      const corpus = readFileSync(join(FIX, '..', '..', '..', 'README.md'), 'utf8').slice(0, 20000);
      const tok = await trainTokenizer([corpus], { type: 'bpe', vocabSize: 400 });
      writeFileSync(join(folder, 'tokenizer.json'), JSON.stringify(tok.toJSON()));
      quantizeFolder(folder, join(dir, 'int4'), { bits: 4 });
      const fromFolder = AutoModelForCausalLM.fromPretrained(join(dir, 'int4'));
      const atLoad = AutoModelForCausalLM.fromPretrained(folder, { dtype: 'int4' });
      assert.equal(asQuantized(fromFolder.model.wte.weight)?.quantized.bits, 4);
      assert.ok(fromFolder.tokenizer, 'the tokenizer is copied into the quantised folder');
      const opts = { max_new_tokens: 12, do_sample: false, pad_token_id: 999, eos_token_id: 999 };
      assert.deepEqual(fromFolder.generate([PROMPTS[0]!], opts).sequences, atLoad.generate([PROMPTS[0]!], opts).sequences);
      const a = pipeline('text-generation', join(dir, 'int4'))('the model', opts);
      const b = pipeline('text-generation', folder, { dtype: 'int4' })('the model', opts);
      assert.deepEqual(a, b);
      assert.ok(a[0]!.generated_text.startsWith('the model'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
