// Fuzz: 10 000 mutated and truncated safetensors files (seeded, so every run sees the same files). Each must
// either load (and then be self-consistent) or throw a SafetensorsError whose message names the file — never
// another kind of error (a RangeError from a typed-array allocation, a TypeError from a missing field), never
// a hang, never a huge allocation. A few hundred also go through the on-disk reader, which must agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsError, readSafetensors, serializeSafetensors, type SafetensorsContents } from '../../src/io/safetensors.js';
import { loadSafetensorsFile } from '../../src/io/node.js';
import { FIXTURES, buildFile, concat, randInt, rng } from './helpers.js';

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[randInt(r, 0, xs.length - 1)]!;

// Valid starting points: a small file with every dtype, and the real gpt2-tiny checkpoint.
const small = serializeSafetensors({
  'a.weight': { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) },
  'b.half': { dtype: 'F16', shape: [3], data: Float32Array.of(0.5, -1, 65504) },
  'b.brain': { dtype: 'BF16', shape: [1], data: Float32Array.of(3) },
  'c.ids': { dtype: 'I64', shape: [1, 4], data: Int32Array.of(0, 1, 2, 3) },
  'd.mask': { shape: [2], data: Uint8Array.of(1, 0) },
  'e.u8': { dtype: 'U8', shape: [3], data: Int32Array.of(1, 2, 3) },
  'f.scalar': { shape: [], data: Float32Array.of(7) },
  'g.empty': { shape: [0, 5], data: new Float32Array(0) },
  'h.i16': { dtype: 'I16', shape: [2], data: Int32Array.of(-3, 3) },
  'i.f64': { dtype: 'F64', shape: [1], data: Float32Array.of(0.25) },
});
const gpt2 = new Uint8Array(readFileSync(join(FIXTURES, 'gpt2-tiny', 'model.safetensors')));

function headerLengthOf(file: Uint8Array): number {
  return Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
}

const NUMBERS = [-1, 0, 1, 2, 3, 4, 7, 8, 12, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 1e308, 1.5, -0, 1e-7, 240000];
const DTYPES = ['F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'U16', 'U32', 'U64', 'BOOL', 'F8_E4M3', 'f32', '', 'F32 ', 'C64'];
const NAMES = ['😀', 'e\u0301', '\u0000', '__proto__', 'constructor', '', ' ', 'a"b', 'Ω.weight', '\\ud800', '__metadata__', 'x'.repeat(300)];
const WEIRD_VALUES = ['null', '"x"', '[]', '{}', 'true', '[1,2,3]', '[[1]]', '{"a":1}', '-5', '1e400'];

/** Re-write the header text with a JSON-level mutation; the data section is kept as it is. */
function mutateHeader(r: Rand, file: Uint8Array): Uint8Array {
  const n = headerLengthOf(file);
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, Record<string, unknown>>;
  const data = file.subarray(8 + n);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = pick(r, names);
  const entry = header[name]!;
  let extraText = ''; // raw text appended inside the top-level object (for duplicates and other non-JSON-object shapes)
  switch (randInt(r, 0, 9)) {
    case 0: {
      // change one number in shape or data_offsets
      const field = pick(r, ['shape', 'data_offsets'] as const);
      const arr = entry[field] as number[];
      if (arr.length > 0) arr[randInt(r, 0, arr.length - 1)] = pick(r, NUMBERS);
      else arr.push(pick(r, NUMBERS));
      break;
    }
    case 1:
      entry.dtype = pick(r, DTYPES);
      break;
    case 2:
      delete entry[pick(r, ['dtype', 'shape', 'data_offsets'])];
      break;
    case 3:
      entry[pick(r, ['dtype', 'shape', 'data_offsets'])] = JSON.parse(pick(r, WEIRD_VALUES)) as unknown;
      break;
    case 4: // duplicate a tensor name (same or different content)
      extraText = `,${JSON.stringify(name)}:${JSON.stringify(r() < 0.5 ? entry : header[pick(r, names)])}`;
      break;
    case 5: {
      // rename to a strange name (a "\\ud800" string becomes a lone-surrogate escape in the JSON text)
      const newName = pick(r, NAMES);
      delete header[name];
      if (newName === '\\ud800') extraText = `,"w\\ud800":${JSON.stringify(entry)}`;
      else header[newName] = entry as Record<string, unknown>;
      break;
    }
    case 6: {
      // swap offsets with another tensor (overlaps and holes)
      const other = header[pick(r, names)]!;
      [entry.data_offsets, other.data_offsets] = [other.data_offsets, entry.data_offsets];
      break;
    }
    case 7: // shift every offset by a little
      for (const k of names) {
        const offs = header[k]!.data_offsets as number[];
        header[k]!.data_offsets = offs.map((o) => o + randInt(r, -2, 2));
      }
      break;
    case 8:
      header.__metadata__ = JSON.parse(pick(r, ['{"format":5}', '[]', 'null', '{"a":{"b":"c"}}', '"pt"', '{"format":"pt"}'])) as Record<string, unknown>;
      break;
    case 9: // a new entry
      header[`new${randInt(r, 0, 9)}`] = { dtype: pick(r, DTYPES), shape: [pick(r, NUMBERS)], data_offsets: [pick(r, NUMBERS), pick(r, NUMBERS)] };
      break;
  }
  const text = JSON.stringify(header);
  return buildFile(text.slice(0, -1) + extraText + '}', data, { pad: r() < 0.9 });
}

/** Mutate raw bytes: flips, truncation, extension, lies in the length field, text edits inside the header. */
function mutateBytes(r: Rand, file: Uint8Array): Uint8Array {
  const n = headerLengthOf(file);
  const out = file.slice();
  switch (randInt(r, 0, 6)) {
    case 0: // overwrite a few bytes anywhere, biased to the length field and the header
      for (let k = randInt(r, 1, 4); k > 0; k--) {
        const region = randInt(r, 0, 2);
        const at = region === 0 ? randInt(r, 0, 7) : region === 1 ? randInt(r, 8, 7 + n) : randInt(r, 0, out.length - 1);
        out[at] = r() < 0.5 ? out[at]! ^ (1 << randInt(r, 0, 7)) : randInt(r, 0, 255);
      }
      return out;
    case 1: // truncate, often right at a boundary
      return out.subarray(0, pick(r, [0, 1, 7, 8, 9, 8 + n - 1, 8 + n, 8 + n + 1, out.length - 1, randInt(r, 0, out.length)]));
    case 2: // extend
      return concat(out, new Uint8Array(randInt(r, 1, 64)).map(() => randInt(r, 0, 255)));
    case 3: {
      // lie about the header length
      const lies = [0n, 1n, 2n, BigInt(n - 1), BigInt(n + 1), BigInt(n + 8), BigInt(out.length), 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 100_000_001n, BigInt(randInt(r, 0, 1e6))];
      new DataView(out.buffer).setBigUint64(0, pick(r, lies), true);
      return out;
    }
    case 4: {
      // insert or delete a character inside the header text (keeps the length field honest)
      const text = new TextDecoder().decode(out.subarray(8, 8 + n));
      const at = randInt(r, 0, text.length);
      const edited = r() < 0.5 ? text.slice(0, at) + pick(r, ['{', '}', '[', ']', ',', ':', '"', '\\', '0', '-', 'é', '\u0000']) + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
      return buildFile(edited, out.subarray(8 + n), { pad: false });
    }
    case 5: {
      // invalid UTF-8 in the header
      const at = randInt(r, 9, 7 + n);
      out[at] = pick(r, [0xff, 0xc0, 0x80, 0xed]);
      return out;
    }
    default:
      return mutateHeader(r, out);
  }
}

/** What happened to one file: 'ok' or the error message. Throws (fails the test) on anything unacceptable. */
function attempt(load: () => SafetensorsContents, fileName: string, label: string): string {
  let contents: SafetensorsContents;
  try {
    contents = load();
  } catch (e) {
    if (!(e instanceof SafetensorsError)) {
      assert.fail(`${label}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of a SafetensorsError`);
    }
    assert.ok(e.message.length > fileName.length + 30, `${label}: message too short: ${e.message}`);
    assert.ok(e.message.includes(fileName), `${label}: message does not name the file: ${e.message}`);
    return e.message;
  }
  // Loaded: it must be self-consistent.
  for (const [name, t] of contents.tensors) {
    const numel = t.shape.reduce((p, d) => p * d, 1);
    assert.equal(t.data.length, numel, `${label}: tensor ${name} has ${t.data.length} values for shape ${JSON.stringify(t.shape)}`);
  }
  return 'ok';
}

test('10 000 mutated files: each loads or fails with a clear SafetensorsError, fast and without big allocations', (t) => {
  const r = rng(20240601);
  const budgetMs = 30_000; // the whole loop normally takes 1-3 s; this only catches a pathological slowdown
  const started = performance.now();
  let slowest = 0;
  let loaded = 0;
  const messages = new Set<string>();
  let maxArrayBuffers = 0;
  for (let i = 0; i < 10_000; i++) {
    const base = i % 20 === 0 ? gpt2 : small;
    let file = base;
    for (let k = randInt(r, 1, 3); k > 0; k--) {
      // Mutations that need a parsable header fall back to byte mutations when an earlier step broke it.
      try {
        file = r() < 0.4 ? mutateHeader(r, file) : mutateBytes(r, file);
      } catch {
        file = mutateBytes(r, base);
      }
    }
    const name = `fuzz-${i}.safetensors`;
    const t0 = performance.now();
    const outcome = attempt(() => readSafetensors(file, name), name, `case ${i}`);
    const dt = performance.now() - t0;
    slowest = Math.max(slowest, dt);
    assert.ok(dt < 2000, `case ${i} took ${dt.toFixed(0)} ms`);
    if (outcome === 'ok') loaded++;
    else messages.add(outcome.replace(/fuzz-\d+/, 'F').replace(/\d+/g, 'N'));
    if (i % 250 === 0) maxArrayBuffers = Math.max(maxArrayBuffers, process.memoryUsage().arrayBuffers);
    assert.ok(performance.now() - started < budgetMs, `fuzz exceeded its ${budgetMs} ms budget at case ${i}`);
  }
  // Both outcomes must be well represented, with many different diagnoses (the mutations reach many checks).
  assert.ok(loaded > 300, `only ${loaded} files loaded`);
  assert.ok(10_000 - loaded > 5000, `only ${10_000 - loaded} files failed`);
  assert.ok(messages.size > 40, `only ${messages.size} distinct error messages`);
  t.diagnostic(`${loaded} loaded, ${10_000 - loaded} refused with ${messages.size} distinct messages; slowest case ${slowest.toFixed(1)} ms; array buffers ≤ ${(maxArrayBuffers / 2 ** 20).toFixed(1)} MB`);
  assert.ok(maxArrayBuffers < 256 * 2 ** 20, `array buffers reached ${(maxArrayBuffers / 2 ** 20).toFixed(0)} MB`);
});

test('the on-disk reader agrees with the in-memory reader on 300 mutated files', () => {
  const r = rng(777);
  const dir = mkdtempSync(join(tmpdir(), 'attn-fuzz-'));
  try {
    for (let i = 0; i < 300; i++) {
      let file = small;
      for (let k = randInt(r, 1, 2); k > 0; k--) {
        try {
          file = r() < 0.4 ? mutateHeader(r, file) : mutateBytes(r, file);
        } catch {
          file = mutateBytes(r, small);
        }
      }
      const path = join(dir, `case-${i}.safetensors`);
      writeFileSync(path, file);
      const fromDisk = attempt(() => loadSafetensorsFile(path), path, `disk case ${i}`);
      const fromMemory = attempt(() => readSafetensors(file, path), path, `memory case ${i}`);
      assert.equal(fromDisk, fromMemory, `case ${i}`);
      if (fromDisk === 'ok') {
        const a = loadSafetensorsFile(path).tensors;
        const b = readSafetensors(file, path).tensors;
        for (const [k, t] of a) assert.deepEqual([...t.data], [...b.get(k)!.data], `case ${i} tensor ${k}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
