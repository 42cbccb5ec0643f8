// Quantised model folders: what `attn quantize` writes (src/quant/folder.ts, format documented in src/quant/load.ts),
// that they read back to identical tensors (from the file, and against quantising the float folder while loading),
// that a loaded quantised model saves to the same file, and the errors for bad input: bits, group sizes,
// malformed quantization_config, tensors that disagree with it, an already quantised folder — through the
// library and through the `attn` command (exit code and message, never a stack trace).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openSafetensorsFile, saveSafetensorsFile } from '../../src/io/node.js';
import type { TensorToSave } from '../../src/io/safetensors.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { fromPretrained, savePretrained } from '../../src/models/pretrained.js';
import { quantizeFolder } from '../../src/quant/folder.js';
import { SCALE_SUFFIX } from '../../src/quant/load.js';
import { asQuantized } from '../../src/quant/ops.js';
import { Rng } from '../../src/tensor/index.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
let dir = '';
let float = '';

/** A tiny GPT-2 with C = 64 (int4 needs inputs in multiples of 32) and a tokenizer-free float folder. */
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'attn-quant-'));
  float = join(dir, 'float');
  const model = new GPT(gptConfig({ vocab_size: 96, n_positions: 32, n_embd: 64, n_head: 4, n_layer: 2 }), new Rng(3));
  savePretrained(model, float);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Stored { dtype: string; shape: number[]; bytes: Uint8Array }
function readAll(file: string): Map<string, Stored> {
  const r = openSafetensorsFile(file);
  try {
    return new Map(r.names().map((k) => [k, { dtype: r.info(k).dtype, shape: r.info(k).shape, bytes: r.bytes(k) }] as const));
  } finally {
    r.close();
  }
}

describe('attn quantize: the folder', () => {
  test('int8 per channel: I8 (N, K) + F32 _scale (N, 1) for every Linear and Embedding weight, the rest F32; config says so', () => {
    const out = join(dir, 'int8');
    const { report } = quantizeFolder(float, out, { bits: 8 });
    assert.equal(report.quantized.length, 2 + 2 * 4, 'wte, wpe and 4 linear layers per block');
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(cfg['quantization_config'], { quant_method: 'attn', bits: 8, group_size: -1, sym: true, quantize_embeddings: true, modules_not_quantized: [] });
    assert.equal(cfg['n_embd'], 64, 'the float config is kept');
    assert.ok(existsSync(join(out, 'generation_config.json')), 'generation settings are copied');
    const t = readAll(join(out, 'model.safetensors'));
    // GPT-2's c_attn is stored (in, out) = (64, 192) as float; quantised it is (out, in) = (192, 64).
    assert.deepEqual([t.get('transformer.h.0.attn.c_attn.weight')!.dtype, t.get('transformer.h.0.attn.c_attn.weight')!.shape], ['I8', [192, 64]]);
    assert.deepEqual([t.get(`transformer.h.0.attn.c_attn.weight${SCALE_SUFFIX}`)!.dtype, t.get(`transformer.h.0.attn.c_attn.weight${SCALE_SUFFIX}`)!.shape], ['F32', [192, 1]]);
    assert.deepEqual([t.get('transformer.wte.weight')!.dtype, t.get('transformer.wte.weight')!.shape], ['I8', [96, 64]]);
    assert.deepEqual([t.get('transformer.h.1.mlp.c_proj.weight')!.shape, t.get(`transformer.h.1.mlp.c_proj.weight${SCALE_SUFFIX}`)!.shape], [[64, 256], [64, 1]]);
    for (const k of ['transformer.h.0.attn.c_attn.bias', 'transformer.h.0.ln_1.weight', 'transformer.ln_f.bias']) assert.equal(t.get(k)!.dtype, 'F32', k);
    assert.equal(t.size, 2 * 10 + 8 * 2 + 2, '10 quantised weights with their scales, 8 biases and norm vectors per block, ln_f');
  });

  test('int4 in groups of 64, embeddings kept in float32: U8 (N, K/2) + _scale (N, K/64)', () => {
    const out = join(dir, 'int4');
    quantizeFolder(float, out, { bits: 4, groupSize: 64, embeddings: false });
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { quantization_config: Record<string, unknown> };
    assert.deepEqual(cfg.quantization_config, { quant_method: 'attn', bits: 4, group_size: 64, sym: true, quantize_embeddings: false, modules_not_quantized: [] });
    const t = readAll(join(out, 'model.safetensors'));
    assert.deepEqual([t.get('transformer.h.0.mlp.c_proj.weight')!.dtype, t.get('transformer.h.0.mlp.c_proj.weight')!.shape], ['U8', [64, 128]]);
    assert.deepEqual(t.get(`transformer.h.0.mlp.c_proj.weight${SCALE_SUFFIX}`)!.shape, [64, 4]);
    assert.equal(t.get('transformer.wte.weight')!.dtype, 'F32');
    assert.equal(t.has(`transformer.wte.weight${SCALE_SUFFIX}`), false);
  });

  test('round trip: loading gives exactly the stored bytes and scales, the same as quantising the float folder while loading, and saving writes the same file', () => {
    for (const [name, dtype, groupSize] of [['int8', 'int8', undefined], ['int4-g32', 'int4', undefined], ['int4-g64', 'int4', 64]] as const) {
      const out = join(dir, `rt-${name}`);
      quantizeFolder(float, out, { bits: dtype === 'int8' ? 8 : 4, ...(groupSize ? { groupSize } : {}) });
      const file = readAll(join(out, 'model.safetensors'));
      const loaded = fromPretrained(out).model;
      const atLoad = fromPretrained(float, { dtype, groupSize }).model;
      const atLoadParams = new Map(atLoad.namedParameters());
      let quantized = 0;
      for (const [pname, p] of loaded.namedParameters()) {
        const q = asQuantized(p);
        const other = atLoadParams.get(pname)!;
        if (!q) {
          assert.deepEqual(Array.from(p.toFloat32Array()), Array.from(other.toFloat32Array()), `${name}: ${pname}`);
          continue;
        }
        quantized++;
        const stored = file.get(`transformer.${pname}`)!;
        const scales = file.get(`transformer.${pname}${SCALE_SUFFIX}`)!;
        assert.deepEqual(Array.from(q.quantized.data), Array.from(stored.bytes), `${name}: ${pname} values as in the file`);
        assert.deepEqual(Array.from(new Uint8Array(q.quantized.scales.buffer, q.quantized.scales.byteOffset, q.quantized.scales.byteLength)), Array.from(scales.bytes), `${name}: ${pname} scales as in the file`);
        const o = asQuantized(other)!;
        assert.deepEqual(Array.from(o.quantized.data), Array.from(q.quantized.data), `${name}: ${pname} = quantised while loading`);
        assert.deepEqual(Array.from(o.quantized.scales), Array.from(q.quantized.scales), `${name}: ${pname} scales = quantised while loading`);
        assert.equal(p.requiresGrad, false);
      }
      assert.equal(quantized, 10, name);
      assert.equal(loaded.training, false, 'loaded for inference');
      const again = join(dir, `rt-${name}-saved`);
      savePretrained(loaded, again);
      assert.deepEqual(readFileSync(join(again, 'model.safetensors')), readFileSync(join(out, 'model.safetensors')), `${name}: savePretrained writes the same tensors`);
      const cfg = (f: string) => (JSON.parse(readFileSync(join(f, 'config.json'), 'utf8')) as { quantization_config: unknown }).quantization_config;
      assert.deepEqual(cfg(again), cfg(out), `${name}: and the same quantization_config`);
    }
  });
});

describe('bad input', () => {
  test('bits, group sizes, an already quantised folder', () => {
    assert.throws(() => quantizeFolder(float, join(dir, 'x'), { bits: 3 as 8 }), /bits must be 8 or 4, got 3/);
    assert.throws(() => quantizeFolder(float, join(dir, 'x'), { bits: 8, groupSize: 48 }), /group size 48 must be a multiple of 32/);
    assert.throws(() => quantizeFolder(float, join(dir, 'x'), { bits: 4, groupSize: 96 }), /cannot quantise \S+ \(\d+ outputs × 64 inputs\) to int4: group size 96 does not divide K = 64/);
    assert.equal(existsSync(join(dir, 'x')), false, 'nothing is written when the request is bad');
    const q = join(dir, 'already');
    quantizeFolder(float, q, { bits: 8 });
    assert.throws(() => quantizeFolder(q, join(dir, 'x'), { bits: 4 }), /is already quantised \(int8, quantization_config in config.json\)/);
    assert.throws(() => fromPretrained(q, { dtype: 'int4' }), /already quantised \(int8\); it cannot be loaded as int4/);
    assert.throws(() => fromPretrained(q, { dtype: 'float32' }), /is quantised \(int8\); it cannot be loaded as float32/);
    assert.throws(() => fromPretrained(float, { groupSize: 64 }), /a group size or quantizeEmbeddings was given without dtype/);
    assert.equal(asQuantized(fromPretrained(q, { dtype: 'int8' }).model.wte.weight)?.quantized.bits, 8, 'asking a folder for its own dtype is fine');
    assert.throws(() => fromPretrained(float, { dtype: 'int3' as 'int8' }), /dtype must be float32, int8 or int4, got "int3"/);
  });

  test('a malformed quantization_config, or tensors that disagree with it, name the file, the field and the value', () => {
    const good = join(dir, 'good8');
    quantizeFolder(float, good, { bits: 8 });
    const cfgText = readFileSync(join(good, 'config.json'), 'utf8');
    const variant = (name: string, edit: (q: Record<string, unknown>) => unknown): string => {
      const d = join(dir, `bad-${name}`);
      cpSync(good, d, { recursive: true });
      const cfg = JSON.parse(cfgText) as Record<string, unknown>;
      cfg['quantization_config'] = edit({ ...(cfg['quantization_config'] as Record<string, unknown>) });
      writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
      return d;
    };
    const cases: [string, (q: Record<string, unknown>) => unknown, RegExp][] = [
      ['not-object', () => 'int8', /"quantization_config" must be an object, got "int8"/],
      ['method', (q) => ({ ...q, quant_method: 'gptq' }), /quant_method "gptq"; attn reads only its own format/],
      ['bits', (q) => ({ ...q, bits: 5 }), /"bits" must be 8 or 4, got 5/],
      ['group', (q) => ({ ...q, group_size: 0 }), /"group_size" must be a positive integer or -1 .*got 0/],
      ['sym', (q) => ({ ...q, sym: false }), /"sym" must be true/],
      ['skipped', (q) => ({ ...q, modules_not_quantized: [1] }), /"modules_not_quantized" must be a list of names/],
      ['bits-disagree', (q) => ({ ...q, bits: 4 }), /transformer\.\S+ is I8 \(int8\), but quantization_config says bits 4/],
      ['group-disagree', (q) => ({ ...q, group_size: 32 }), /_scale has 1 scales per row \(groups of 64\), but quantization_config says group_size 32/],
    ];
    for (const [name, edit, re] of cases) {
      const d = variant(name, edit);
      assert.throws(() => fromPretrained(d), (e: Error) => re.test(e.message) && e.message.includes(d), `${name}: ${re}`);
    }
    // Tensors: a quantised weight without its scales; a non-finite scale; no quantised tensor at all.
    const tensors = (src: string, edit: (m: Map<string, TensorToSave>) => void): string => {
      const d = join(dir, `badt-${Math.random().toString(36).slice(2)}`);
      cpSync(src, d, { recursive: true });
      const r = openSafetensorsFile(join(src, 'model.safetensors'));
      const m = new Map<string, TensorToSave>();
      for (const k of r.names()) {
        const info = r.info(k);
        m.set(k, info.dtype === 'F32' ? { shape: info.shape, data: r.get(k).data as Float32Array } : { dtype: info.dtype, shape: info.shape, data: info.dtype === 'I8' ? new Int8Array(r.bytes(k).buffer) : r.bytes(k) });
      }
      r.close();
      edit(m);
      saveSafetensorsFile(join(d, 'model.safetensors'), m);
      return d;
    };
    const noScale = tensors(good, (m) => m.delete(`transformer.h.1.mlp.c_fc.weight${SCALE_SUFFIX}`));
    assert.throws(() => fromPretrained(noScale), /transformer\.h\.1\.mlp\.c_fc\.weight is I8 but has no transformer\.h\.1\.mlp\.c_fc\.weight_scale/);
    const nanScale = tensors(good, (m) => {
      const s = m.get(`transformer.h.0.attn.c_proj.weight${SCALE_SUFFIX}`)!;
      (s.data as Float32Array)[5] = NaN;
    });
    assert.throws(() => fromPretrained(nanScale), /h\.0\.attn\.c_proj\.weight_scale has a scale of NaN at flat index 5 \(row 5\)/);
    const floatWithConfig = variant('float-config', (q) => q);
    cpSync(join(float, 'model.safetensors'), join(floatWithConfig, 'model.safetensors'));
    assert.throws(() => fromPretrained(floatWithConfig), /has a "quantization_config" \(int8\), but no tensor is quantised/);
    const noConfig = join(dir, 'no-config');
    cpSync(good, noConfig, { recursive: true });
    const cfg = JSON.parse(cfgText) as Record<string, unknown>;
    delete cfg['quantization_config'];
    writeFileSync(join(noConfig, 'config.json'), JSON.stringify(cfg));
    assert.throws(() => fromPretrained(noConfig), /does not fit this model/);
  });

  test('the attn command: usage errors exit 2 with a message, no stack trace', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
    const out = join(dir, 'cli-int4');
    const ok = run('quantize', '--model', float, '--bits', '4', '--out', out, '--json');
    assert.equal(ok.status, 0, ok.stderr);
    const j = JSON.parse(ok.stdout) as { quantized: number; quantization_config: { bits: number; group_size: number } };
    assert.equal(j.quantized, 10);
    assert.deepEqual([j.quantization_config.bits, j.quantization_config.group_size], [4, 32]);
    for (const [args, re] of [
      [['quantize', '--model', float, '--bits', '3', '--out', join(dir, 'y')], /--bits must be 8 or 4, got '3'/],
      [['quantize', '--model', float, '--bits', '8'], /--out DIR is required/],
      [['quantize', '--model', float, '--bits', '8', '--out', float], /--out must be a new folder, not the input/],
      [['generate', '--model', float, '--dtype', 'int3', '--input-ids', '1,2'], /--dtype must be float32, int8 or int4, got 'int3'/],
    ] as [string[], RegExp][]) {
      const r = run(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    const r = run('quantize', '--model', float, '--bits', '4', '--group-size', '96', '--out', join(dir, 'z'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /group size 96 does not divide K = 64/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});
