// The on-disk safetensors reader and writer: same bytes as the in-memory writer, lazy per-tensor reads into
// independent arrays, errors that name the path, and atomic replacement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsError, serializeSafetensors, type TensorToSave } from '../../src/io/safetensors.js';
import { loadSafetensorsFile, openSafetensorsFile, saveSafetensorsFile } from '../../src/io/node.js';
import { FIXTURES, errorOf } from './helpers.js';

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'attn-io-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const tensors: Record<string, TensorToSave> = {
  'h.0.w': { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) },
  'h.0.half': { dtype: 'F16', shape: [2], data: Float32Array.of(0.1, -65504) },
  ids: { dtype: 'I64', shape: [3], data: Int32Array.of(-1, 0, 7) },
  mask: { shape: [3], data: Uint8Array.of(1, 0, 1) },
  odd: { dtype: 'U8', shape: [1], data: Int32Array.of(200) }, // 1 byte: the tensors after it in name order are unaligned
};

test('saveSafetensorsFile streams the same bytes serializeSafetensors builds, and loads back', () => {
  withTempDir((dir) => {
    const path = join(dir, 'model.safetensors');
    saveSafetensorsFile(path, tensors, { format: 'pt' });
    assert.ok(Buffer.from(readFileSync(path)).equals(Buffer.from(serializeSafetensors(tensors))));
    const { tensors: back, metadata } = loadSafetensorsFile(path);
    assert.deepEqual(metadata, { format: 'pt' });
    assert.deepEqual([...back.get('h.0.w')!.data], [1, 2, 3, 4]);
    assert.deepEqual([...back.get('h.0.half')!.data], [0.0999755859375, -65504]);
    assert.deepEqual([...back.get('ids')!.data], [-1, 0, 7]);
    assert.deepEqual([...back.get('mask')!.data], [1, 0, 1]);
    assert.deepEqual([...back.get('odd')!.data], [200]);
    assert.deepEqual(readdirSync(dir), ['model.safetensors'], 'no temporary file is left behind');
  });
});

test('loading the gpt2-tiny fixture from disk gives one independent array per tensor', () => {
  const path = join(FIXTURES, 'gpt2-tiny', 'model.safetensors');
  const { tensors: loaded } = loadSafetensorsFile(path);
  assert.equal(loaded.size, 28);
  const wte = loaded.get('transformer.wte.weight')!;
  assert.deepEqual(wte.shape, [1000, 32]);
  assert.ok(wte.data instanceof Float32Array);
  // Each array owns exactly its bytes (no hidden reference to a whole-file buffer).
  for (const [name, t] of loaded) assert.equal(t.data.buffer.byteLength, t.data.byteLength, name);
  // And the values equal the bytes at the offsets the header gives (read independently here).
  const file = readFileSync(path);
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  const [begin] = header['transformer.wte.weight']!.data_offsets;
  assert.equal(wte.data[0], file.readFloatLE(8 + n + begin));
  assert.equal(wte.data[31999], file.readFloatLE(8 + n + begin + 4 * 31999));
});

test('openSafetensorsFile reads only what is asked for; loadSafetensorsFile can take a list of names', () => {
  withTempDir((dir) => {
    const path = join(dir, 'm.safetensors');
    saveSafetensorsFile(path, tensors);
    const reader = openSafetensorsFile(path);
    assert.deepEqual(reader.names().sort(), Object.keys(tensors).sort());
    assert.deepEqual(reader.info('ids').dtype, 'I64');
    assert.deepEqual([...reader.get('ids').data], [-1, 0, 7]);
    reader.close();
    assert.match(errorOf(() => reader.get('ids')).message, /tensor "ids": file was already closed/);
    const some = loadSafetensorsFile(path, { names: ['mask'] });
    assert.deepEqual([...some.tensors.keys()], ['mask']);
    const missing = errorOf(() => loadSafetensorsFile(path, { names: ['nope'] }));
    assert.match(missing.message, /m\.safetensors: tensor "nope": no such tensor; the file has 5 tensors/);
  });
});

test('file errors name the path: missing, a folder, truncated', () => {
  withTempDir((dir) => {
    const missing = join(dir, 'none.safetensors');
    const e1 = errorOf(() => loadSafetensorsFile(missing));
    assert.ok(e1 instanceof SafetensorsError);
    assert.equal(e1.message, `safetensors file ${missing}: no such file`);
    const e2 = errorOf(() => loadSafetensorsFile(dir));
    assert.equal(e2.message, `safetensors file ${dir}: is a directory, expected a .safetensors file`);
    const path = join(dir, 'cut.safetensors');
    writeFileSync(path, serializeSafetensors(tensors));
    truncateSync(path, 100);
    const e3 = errorOf(() => loadSafetensorsFile(path));
    assert.ok(e3.message.startsWith(`safetensors file ${path}: `), e3.message);
    assert.match(e3.message, /run past the end of the data section|header length \d+ runs past the end/);
  });
});

test('a failed save leaves the previous file untouched and no temporary files', () => {
  withTempDir((dir) => {
    const path = join(dir, 'model.safetensors');
    saveSafetensorsFile(path, tensors);
    const before = readFileSync(path);
    const bad = { w: { shape: [3], data: new Float32Array(2) } };
    assert.throws(() => saveSafetensorsFile(path, bad), /tensor "w": data has 2 elements but shape \[3\] needs 3/);
    assert.ok(readFileSync(path).equals(before));
    assert.deepEqual(readdirSync(dir), ['model.safetensors']);
    // Saving into a folder that does not exist says which folder.
    const nowhere = join(dir, 'missing', 'model.safetensors');
    assert.match(errorOf(() => saveSafetensorsFile(nowhere, tensors)).message, /does the folder .*missing exist\?/);
  });
});
