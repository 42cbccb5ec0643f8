// GPT-2 forward parity with Hugging Face transformers 4.36.2 on the tiny random checkpoints of
// test/fixtures (copied from the shared golden fixtures): logits, every hidden state and every attention map,
// the left-padded batch, both key styles, and save → load round trips. Runs on every backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend } from '../_backends.js';
import { tensor, noGrad, type Tensor } from '../../src/tensor/index.js';
import { fromPretrained, savePretrained, gptConfigToHF } from '../../src/models/pretrained.js';
import { loadSafetensorsFile } from '../../src/io/node.js';

const FIX = new URL('../../../test/fixtures/', import.meta.url);
const fixture = (name: string) => join(FIX.pathname, name);

interface ForwardCase {
  input_ids: number[][];
  logits: string;
  last_hidden_state: string;
  hidden_states: string[];
  attentions: string[];
}
interface Expected {
  forward: ForwardCase[];
  padded_batch: { input_ids: number[][]; attention_mask: number[][]; position_ids: number[][]; logits: string; attentions: string[] };
}

function loadExpected(name: string): { json: Expected; arrays: Map<string, Float32Array> } {
  const json = JSON.parse(readFileSync(join(fixture(name), 'expected.json'), 'utf8')) as Expected;
  const arrays = new Map<string, Float32Array>();
  for (const [k, v] of loadSafetensorsFile(join(fixture(name), 'expected.safetensors')).tensors) arrays.set(k, v.data as Float32Array);
  return { json, arrays };
}

function ids(rows: number[][]): Tensor {
  return tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length], { dtype: 'int32' });
}

/** Max |a - b| over the elements where `keep(i)` holds. */
function maxDiff(a: Float32Array, b: Float32Array, keep: (i: number) => boolean = () => true): number {
  assert.equal(a.length, b.length, `length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) if (keep(i)) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function checkForwardCases(name: string): void {
  const { json, arrays } = loadExpected(name);
  const { model } = fromPretrained(fixture(name));
  json.forward.forEach((c, i) => {
    const out = noGrad(() => model.forward(ids(c.input_ids), { outputHiddenStates: true, outputAttentions: true }));
    const dl = maxDiff(out.logits.toFloat32Array(), arrays.get(c.logits)!);
    assert.ok(dl < 1e-4, `${name} case ${i}: logits differ by ${dl}`);
    assert.equal(out.hiddenStates!.length, c.hidden_states.length);
    c.hidden_states.forEach((h, l) => {
      const d = maxDiff(out.hiddenStates![l]!.toFloat32Array(), arrays.get(h)!);
      assert.ok(d < 1e-4, `${name} case ${i}: hidden state ${l} differs by ${d}`);
    });
    const dh = maxDiff(out.hiddenStates![out.hiddenStates!.length - 1]!.toFloat32Array(), arrays.get(c.last_hidden_state)!);
    assert.ok(dh < 1e-4, `${name} case ${i}: last hidden state differs by ${dh}`);
    assert.equal(out.attentions!.length, c.attentions.length);
    c.attentions.forEach((a, l) => {
      const d = maxDiff(out.attentions![l]!.toFloat32Array(), arrays.get(a)!);
      assert.ok(d < 1e-5, `${name} case ${i}: attention ${l} differs by ${d}`);
    });
  });
}

function checkPadded(name: string): void {
  const { json, arrays } = loadExpected(name);
  const { model, config } = fromPretrained(fixture(name));
  const p = json.padded_batch;
  const B = p.input_ids.length;
  const T = p.input_ids[0]!.length;
  const V = config.vocab_size;
  const mask = p.attention_mask.flat();
  const out = noGrad(() => model.forward(ids(p.input_ids), { attentionMask: ids(p.attention_mask), positionIds: ids(p.position_ids), outputAttentions: true }));
  // Only rows of real tokens are meaningful (padded query rows depend on HF's masking arithmetic).
  const dl = maxDiff(out.logits.toFloat32Array(), arrays.get(p.logits)!, (i) => mask[Math.floor(i / V)] === 1);
  assert.ok(dl < 1e-4, `${name} padded batch: logits differ by ${dl}`);
  const H = config.n_head;
  p.attentions.forEach((a, l) => {
    // (B, H, T, T): keep query rows whose token is real.
    const d = maxDiff(out.attentions![l]!.toFloat32Array(), arrays.get(a)!, (i) => {
      const q = Math.floor(i / T) % T;
      const b = Math.floor(i / (H * T * T));
      return mask[b * T + q] === 1;
    });
    assert.ok(d < 1e-5, `${name} padded batch: attention ${l} differs by ${d}`);
  });
  assert.equal(B, 2 + (name === 'gpt2-legacy-keys' ? 1 : 0));
}

forEachBackend((backend) => {
  test(`[${backend}] gpt2-tiny: logits, hidden states and attentions match transformers`, () => checkForwardCases('gpt2-tiny'));
  test(`[${backend}] gpt2-legacy-keys (h.0... keys, attn.bias buffers): matches transformers`, () => checkForwardCases('gpt2-legacy-keys'));
  test(`[${backend}] left-padded batch with position ids from the mask`, () => {
    checkPadded('gpt2-tiny');
    checkPadded('gpt2-legacy-keys');
  });
});

test('load → save → load gives bit-identical tensors, identical logits, and HF config fields', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-save-'));
  try {
    const a = fromPretrained(fixture('gpt2-legacy-keys'));
    savePretrained(a.model, join(dir, 'm'));
    const b = fromPretrained(join(dir, 'm'));
    const pa = new Map(a.model.namedParameters());
    for (const [name, p] of b.model.namedParameters()) {
      assert.deepEqual(p.toFloat32Array(), pa.get(name)!.toFloat32Array(), name);
    }
    const x = ids([[562, 397, 986, 776, 617, 606]]);
    const la = noGrad(() => a.model.forward(x).logits.toFloat32Array());
    const lb = noGrad(() => b.model.forward(x).logits.toFloat32Array());
    assert.deepEqual(lb, la);
    // Saved keys are save_pretrained's: the 'transformer.' prefix, no attn.bias buffers, no lm_head.
    const saved = [...loadSafetensorsFile(join(dir, 'm', 'model.safetensors')).tensors.keys()].sort();
    const hfKeys = JSON.parse(readFileSync(join(fixture('gpt2-tiny'), 'expected.json'), 'utf8')) as { checkpoint_keys: string[] };
    const tinyCfg = JSON.parse(readFileSync(join(fixture('gpt2-tiny'), 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.ok(saved.every((k) => k.startsWith('transformer.')));
    assert.equal(saved.length, 4 + 12 * a.config.n_layer);
    // gpt2-tiny's own config, written back by us, has exactly transformers' fields and values.
    const t = fromPretrained(fixture('gpt2-tiny'));
    assert.deepEqual(gptConfigToHF(t.config), tinyCfg);
    assert.equal(hfKeys.checkpoint_keys.length, 4 + 12 * t.config.n_layer);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unsupported model_type and mismatched checkpoints are clear errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-bad-'));
  try {
    const a = fromPretrained(fixture('gpt2-tiny'));
    savePretrained(a.model, join(dir, 'm'));
    const cfgPath = join(dir, 'm', 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    // A bigger n_embd than the weights: every mismatched tensor is named with both shapes.
    rmSync(cfgPath);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, n_embd: 64 }));
    assert.throws(() => fromPretrained(join(dir, 'm')), /shape mismatches: transformer\.h\.0\.attn\.c_attn\.bias: checkpoint \[96\], model \[192\]/);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, model_type: 'llama' }));
    assert.throws(() => fromPretrained(join(dir, 'm')), /model_type "llama" is not supported; attn loads: gpt2/);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, n_layer: 3 }));
    assert.throws(() => fromPretrained(join(dir, 'm')), /missing keys \(12\): transformer\.h\.2\./);
    writeFileSync(cfgPath, '{"model_type": "gpt2",');
    assert.throws(() => fromPretrained(join(dir, 'm')), /config\.json is not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
