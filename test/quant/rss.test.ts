// One copy of the weights, in int8 (issue 15, section 4): generating with a GPT-2 124M-shaped model stored in
// int8 peaks at ≤ 0.45× the size of its float32 weights (4 bytes × 124.4M parameters = 498 MB → 224 MB), i.e. the
// int8 weights (1 byte each, 25 %) plus the runtime, the kernels' memory, the KV cache and the logits — no float
// copy of any quantised weight, no second copy of the file.
// The folder is written here directly in the format of src/quant/load.ts (random int8 values and scales, as
// `attn quantize` would store a random model), so making it costs no float model; the measurement runs in a fresh
// child process (rss_child.ts) that loads it with fromPretrained and generates 8 tokens with the KV cache.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { saveSafetensorsFile } from '../../src/io/node.js';
import type { TensorToSave } from '../../src/io/safetensors.js';
import { GPT, gptConfig, gptParameterCount, CHECKPOINT_RULES } from '../../src/models/gpt.js';
import { gptConfigToHF } from '../../src/models/pretrained.js';
import { SCALE_SUFFIX, type QuantizationConfig } from '../../src/quant/load.js';
import { quantizableWeights } from '../../src/quant/model.js';
import { rng } from '../backend/_wasm.js';

const CHILD = fileURLToPath(new URL('./rss_child.js', import.meta.url));
const LIMIT = 0.45;

test(`generating with int8 GPT-2 124M-shaped weights peaks at ≤ ${LIMIT}× the float32 weights`, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-quant-rss-'));
  try {
    const config = gptConfig({ n_layer: 12, n_head: 12, n_embd: 768, n_positions: 1024, vocab_size: 50257, embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0 });
    const model = new GPT(config, undefined, { init: false }); // names and shapes only: placeholders nobody touches
    const quantized = quantizableWeights(model);
    const next = rng(1);
    const tensors = new Map<string, TensorToSave>();
    for (const [name, p] of model.namedParameters()) {
      const key = CHECKPOINT_RULES.prefix + name;
      const q = quantized.get(name);
      if (!q) {
        tensors.set(key, { shape: p.shape, data: new Float32Array(p.size).fill(name.endsWith('.weight') ? 1 : 0) }); // LayerNorm gains 1, biases 0
        continue;
      }
      const values = new Int8Array(q.n * q.k);
      for (let i = 0; i < values.length; i++) values[i] = Math.floor(next() * 255) - 127;
      tensors.set(key, { dtype: 'I8', shape: [q.n, q.k], data: values });
      tensors.set(key + SCALE_SUFFIX, { shape: [q.n, 1], data: new Float32Array(q.n).fill(0.02 / 127) });
    }
    const quantization: QuantizationConfig = { quant_method: 'attn', bits: 8, group_size: -1, sym: true, quantize_embeddings: true, modules_not_quantized: [] };
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...gptConfigToHF(config), quantization_config: quantization }));
    saveSafetensorsFile(join(dir, 'model.safetensors'), tensors);
    tensors.clear();

    const r = spawnSync(process.execPath, [...process.execArgv, CHILD, dir], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { peak_rss_mb: number; params: number; tokens: number[] };
    const floatMb = (4 * gptParameterCount(config)) / 2 ** 20;
    assert.equal(res.params, gptParameterCount(config), 'the whole model was loaded');
    assert.equal(res.tokens.length, 16 + 8, 'and generated with');
    t.diagnostic(`peak RSS ${res.peak_rss_mb.toFixed(0)} MB = ${(res.peak_rss_mb / floatMb).toFixed(3)}× the float32 weights (${floatMb.toFixed(0)} MB)`);
    assert.ok(res.peak_rss_mb <= LIMIT * floatMb, `peak RSS ${res.peak_rss_mb.toFixed(0)} MB > ${LIMIT} × ${floatMb.toFixed(0)} MB of float32 weights`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
