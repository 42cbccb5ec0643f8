// safetensors reading and writing on in-memory buffers. Oracles: files built byte by byte in the test from the
// format description (test/io/helpers.ts buildFile, independent of attn's writer), the Hugging Face fixture
// files (written by the fixture generator, with values also stored as JSON), and hand-computed bit patterns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SafetensorsError,
  openSafetensors,
  parseSafetensorsHeader,
  readSafetensors,
  serializeSafetensors,
  type SafetensorsDtype,
  type TensorToSave,
} from '../../src/io/safetensors.js';
import { FIXTURES, buildFile, concat, errorOf, le } from './helpers.js';

const FILE = 'hand.safetensors';

/** Header text for entries [name, dtype, shape, begin, end] in the given (not necessarily sorted) order. */
function headerOf(entries: [string, string, number[], number, number][], metadata: string | null = '{"format":"pt"}'): string {
  const parts = entries.map(([n, d, s, b, e]) => `${JSON.stringify(n)}:{"dtype":"${d}","shape":${JSON.stringify(s)},"data_offsets":[${b},${e}]}`);
  if (metadata !== null) parts.unshift(`"__metadata__":${metadata}`);
  return `{${parts.join(',')}}`;
}

// ---------------------------------------------------------------------------------------------------------
// a file with every dtype, bytes written by hand

// Data laid out in a deliberately odd order (not by name) with 1- and 2-byte tensors first, so that later
// 4- and 8-byte tensors are *not* aligned and the reader must cope. Header keys are in yet another order.
const segments: [string, SafetensorsDtype, number[], Uint8Array][] = [
  ['u8', 'U8', [2], le(['u8', 0], ['u8', 255])],
  ['bool', 'BOOL', [3], le(['u8', 1], ['u8', 0], ['u8', 1])], // offset 2..5
  ['f32', 'F32', [2], le(['f32', 1], ['f32', -2.5])], // offset 5: unaligned
  ['f16', 'F16', [2, 2], le(['u16', 0x3c00], ['u16', 0x7c00], ['u16', 0x0001], ['u16', 0xfc00])],
  ['bf16', 'BF16', [2], le(['u16', 0x3f80], ['u16', 0xc0a0])],
  ['f64', 'F64', [2], le(['f64', 3.5], ['f64', -0.1])],
  ['i64', 'I64', [1, 3], le(['i64', 0n], ['i64', -1n], ['i64', 2147483647n])],
  ['i32', 'I32', [2], le(['i32', -5], ['i32', 7])],
  ['i16', 'I16', [2], le(['i16', -32768], ['i16', 12345])],
  ['i8', 'I8', [2], le(['i8', -128], ['i8', 127])],
  ['u16', 'U16', [1], le(['u16', 65535])],
  ['u32', 'U32', [1], le(['u32', 2147483647])],
  ['u64', 'U64', [1], le(['u64', 42n])],
  ['scalar', 'F32', [], le(['f32', 7])],
  ['empty', 'F32', [0, 3], new Uint8Array(0)],
];
const expected: Record<string, { dtype: SafetensorsDtype; shape: number[]; values: number[]; kind: string }> = {
  u8: { dtype: 'U8', shape: [2], values: [0, 255], kind: 'Int32Array' },
  bool: { dtype: 'BOOL', shape: [3], values: [1, 0, 1], kind: 'Uint8Array' },
  f32: { dtype: 'F32', shape: [2], values: [1, -2.5], kind: 'Float32Array' },
  f16: { dtype: 'F16', shape: [2, 2], values: [1, Infinity, 2 ** -24, -Infinity], kind: 'Float32Array' },
  bf16: { dtype: 'BF16', shape: [2], values: [1, -5], kind: 'Float32Array' },
  f64: { dtype: 'F64', shape: [2], values: [3.5, Math.fround(-0.1)], kind: 'Float32Array' },
  i64: { dtype: 'I64', shape: [1, 3], values: [0, -1, 2147483647], kind: 'Int32Array' },
  i32: { dtype: 'I32', shape: [2], values: [-5, 7], kind: 'Int32Array' },
  i16: { dtype: 'I16', shape: [2], values: [-32768, 12345], kind: 'Int32Array' },
  i8: { dtype: 'I8', shape: [2], values: [-128, 127], kind: 'Int32Array' },
  u16: { dtype: 'U16', shape: [1], values: [65535], kind: 'Int32Array' },
  u32: { dtype: 'U32', shape: [1], values: [2147483647], kind: 'Int32Array' },
  u64: { dtype: 'U64', shape: [1], values: [42], kind: 'Int32Array' },
  scalar: { dtype: 'F32', shape: [], values: [7], kind: 'Float32Array' },
  empty: { dtype: 'F32', shape: [0, 3], values: [], kind: 'Float32Array' },
};

function everyDtypeFile(): Uint8Array {
  const entries: [string, string, number[], number, number][] = [];
  let offset = 0;
  for (const [name, dtype, shape, bytes] of segments) {
    entries.push([name, dtype, shape, offset, offset + bytes.length]);
    offset += bytes.length;
  }
  entries.reverse(); // header order ≠ data order
  return buildFile(headerOf(entries, '{"format":"pt","note":"hand made"}'), concat(...segments.map((s) => s[3])));
}

test('reads every dtype from hand-made bytes (unaligned, any key order) into engine arrays', () => {
  const { tensors, metadata } = readSafetensors(everyDtypeFile(), FILE);
  assert.deepEqual(metadata, { format: 'pt', note: 'hand made' });
  assert.deepEqual([...tensors.keys()], segments.map((s) => s[0]), 'tensors come in file (data) order');
  for (const [name, want] of Object.entries(expected)) {
    const t = tensors.get(name)!;
    assert.equal(t.dtype, want.dtype, name);
    assert.deepEqual(t.shape, want.shape, name);
    assert.equal(t.data.constructor.name, want.kind, name);
    assert.deepEqual([...t.data], want.values, name);
  }
});

test('the same file read from an odd byte offset inside a bigger buffer gives the same values', () => {
  const file = everyDtypeFile();
  const big = new Uint8Array(file.length + 3);
  big.set(file, 3);
  const { tensors } = readSafetensors(big.subarray(3), FILE);
  for (const [name, want] of Object.entries(expected)) assert.deepEqual([...tensors.get(name)!.data], want.values, name);
});

test('aligned F32 tensors are zero-copy views by default and independent copies with copy: true', () => {
  const file = buildFile(headerOf([['w', 'F32', [2], 0, 8]]), le(['f32', 1], ['f32', 2]));
  const view = readSafetensors(file, FILE).tensors.get('w')!.data;
  assert.equal(view.buffer, file.buffer, 'shares the input buffer');
  const copy = readSafetensors(file, FILE, { copy: true }).tensors.get('w')!.data;
  assert.notEqual(copy.buffer, file.buffer);
  copy[0] = 9;
  assert.deepEqual([...view], [1, 2]);
});

test('lazy reader: header first, one tensor at a time, clear error for a missing name', () => {
  const reader = openSafetensors(everyDtypeFile(), FILE);
  assert.equal(reader.names().length, segments.length);
  assert.ok(reader.has('bf16'));
  assert.deepEqual(reader.info('f16').shape, [2, 2]);
  assert.deepEqual([...reader.get('bf16').data], [1, -5]);
  const err = errorOf(() => reader.get('nope'));
  assert.ok(err instanceof SafetensorsError);
  assert.match(err.message, /hand\.safetensors: tensor "nope": no such tensor; the file has 15 tensors: "u8", "bool", /);
});

// ---------------------------------------------------------------------------------------------------------
// writing

test('writes the layout the spec describes: u64 length, padded JSON, metadata first, sorted names, back to back', () => {
  const bytes = serializeSafetensors({
    'b.weight': { shape: [2], data: Float32Array.of(1, 2) },
    'a.bias': { shape: [1], data: Float32Array.of(-1) },
    ids: { shape: [3], data: Int32Array.of(1, 2, 3), dtype: 'I64' },
  });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0, 'header length is a multiple of 8');
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.match(text, /^\{"__metadata__":\{"format":"pt"\},"a\.bias":\{"dtype":"F32","shape":\[1\],"data_offsets":\[0,4\]\},"b\.weight":.*"ids":\{"dtype":"I64","shape":\[3\],"data_offsets":\[12,36\]\}\} *$/);
  assert.ok(/^ *$/.test(text.slice(text.lastIndexOf('}') + 1)), 'padding is spaces');
  assert.equal(bytes.length, 8 + n + 4 + 8 + 24);
  const data = new DataView(bytes.buffer, 8 + n);
  assert.equal(data.getFloat32(0, true), -1); // a.bias
  assert.equal(data.getFloat32(4, true), 1); // b.weight
  assert.equal(data.getBigInt64(12 + 16, true), 3n); // ids[2]
});

test('names are sorted by Unicode code point (as Python sorted() and Rust do), not by UTF-16 unit', () => {
  // U+FF5A (ｚ) < U+1F600 (😀) by code point, but 😀's first UTF-16 unit 0xD83D < 0xFF5A.
  const bytes = serializeSafetensors({ '😀': { shape: [1], data: Float32Array.of(1) }, 'ｚ': { shape: [1], data: Float32Array.of(2) } });
  const header = parseSafetensorsHeader(bytes, FILE);
  assert.deepEqual(header.tensors.map((t) => t.name), ['ｚ', '😀']);
  assert.deepEqual([...readSafetensors(bytes).tensors.get('😀')!.data], [1]);
});

test('round trip of every dtype through the writer and the reader', () => {
  const cases: [SafetensorsDtype, TensorToSave['data'], number[]][] = [
    ['F32', Float32Array.of(1, -0, 3.4028234663852886e38, 2 ** -149, Infinity, NaN), [1, -0, 3.4028234663852886e38, 2 ** -149, Infinity, NaN]],
    // F16: rounded to nearest float16 (values hand-computed): 0.1 → 0x2e66, 1e5 → inf, 3e-8 → 2^-24 (0x0001).
    ['F16', Float32Array.of(1, 0.1, 65504, 1e5, 3e-8, -0, NaN), [1, 0.0999755859375, 65504, Infinity, 2 ** -24, -0, NaN]],
    // BF16: π (0x40490fdb) → 0x4049 = 3.140625; 1 + 2^-8 is a tie → 1.
    ['BF16', Float32Array.of(Math.PI, 1 + 2 ** -8, -Infinity, 2 ** -133), [3.140625, 1, -Infinity, 2 ** -133]],
    ['F64', Float32Array.of(0.1, -(2 ** -149)), [Math.fround(0.1), -(2 ** -149)]],
    ['I64', Int32Array.of(-2147483648, -1, 0, 2147483647), [-2147483648, -1, 0, 2147483647]],
    ['I32', Int32Array.of(-2147483648, 2147483647), [-2147483648, 2147483647]],
    ['I16', Int32Array.of(-32768, 32767), [-32768, 32767]],
    ['I8', Int32Array.of(-128, 127), [-128, 127]],
    ['U64', Int32Array.of(0, 2147483647), [0, 2147483647]],
    ['U32', Int32Array.of(0, 2147483647), [0, 2147483647]],
    ['U16', Int32Array.of(0, 65535), [0, 65535]],
    ['U8', Int32Array.of(0, 255), [0, 255]],
    ['U8', Uint8Array.of(0, 255), [0, 255]],
    ['BOOL', Uint8Array.of(1, 0, 0, 1), [1, 0, 0, 1]],
  ];
  for (const [dtype, data, want] of cases) {
    const bytes = serializeSafetensors({ t: { dtype, shape: [data.length], data } }, { format: 'pt' }, FILE);
    const got = readSafetensors(bytes, FILE).tensors.get('t')!;
    assert.equal(got.dtype, dtype);
    assert.deepEqual([...got.data], want, dtype); // deepEqual distinguishes -0 and treats NaN as equal to NaN
  }
});

test('a round trip keeps 2-D shapes, scalars and empty tensors, and metadata', () => {
  const bytes = serializeSafetensors(
    new Map<string, TensorToSave>([
      ['m', { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) }],
      ['s', { shape: [], data: Float32Array.of(42) }],
      ['z', { shape: [4, 0], data: new Float32Array(0) }],
    ]),
    { format: 'pt', step: '1000' },
  );
  const { tensors, metadata } = readSafetensors(bytes);
  assert.deepEqual(metadata, { format: 'pt', step: '1000' });
  assert.deepEqual(tensors.get('m')!.shape, [2, 3]);
  assert.deepEqual([...tensors.get('s')!.data], [42]);
  assert.deepEqual(tensors.get('s')!.shape, []);
  assert.deepEqual(tensors.get('z')!.shape, [4, 0]);
});

test('writer refuses bad input with the tensor name and the numbers', () => {
  const cases: [Record<string, TensorToSave>, RegExp][] = [
    [{ w: { shape: [2, 3], data: new Float32Array(5) } }, /tensor "w": data has 5 elements but shape \[2,3\] needs 6/],
    [{ w: { shape: [2, -1], data: new Float32Array(2) } }, /tensor "w": shape \[2,-1\] must be an array of non-negative integers/],
    [{ w: { shape: [1], data: Float32Array.of(1), dtype: 'I32' } }, /tensor "w": a Float32Array cannot be saved as I32; use one of F64, F32, F16, BF16/],
    [{ w: { shape: [2], data: Int32Array.of(5, 300), dtype: 'I8' } }, /tensor "w": value 300 at flat index 1 does not fit in I8 \(-128\.\.127\)/],
    [{ w: { shape: [1], data: Uint8Array.of(2) } }, /tensor "w": value 2 at flat index 0 does not fit in BOOL \(0\.\.1\)/],
    [{ w: { shape: [1], data: Int32Array.of(-1), dtype: 'U64' } }, /value -1 at flat index 0 does not fit in U64/],
    [{ __metadata__: { shape: [1], data: Float32Array.of(1) } }, /"__metadata__" is reserved/],
    [{ ['bad\uD800']: { shape: [1], data: Float32Array.of(1) } }, /unpaired UTF-16 surrogate/],
  ];
  for (const [tensors, re] of cases) {
    const err = errorOf(() => serializeSafetensors(tensors, { format: 'pt' }, 'out.safetensors'));
    assert.ok(err instanceof SafetensorsError, err.message);
    assert.match(err.message, /^safetensors file out\.safetensors: /);
    assert.match(err.message, re);
  }
  const meta = errorOf(() => serializeSafetensors({}, { format: 3 as unknown as string }, 'out.safetensors'));
  assert.match(meta.message, /metadata value for "format" must be a string, got 3/);
});

// ---------------------------------------------------------------------------------------------------------
// Hugging Face fixtures

test('gpt2-tiny fixture: every key and shape the README and config describe, plausible values', () => {
  // config: vocab 1000, n_positions 64, n_embd 32, n_layer 2, n_inner 4·32; keys as save_pretrained writes them.
  const { tensors, metadata } = readSafetensors(readFileSync(join(FIXTURES, 'gpt2-tiny', 'model.safetensors')), 'gpt2-tiny/model.safetensors');
  assert.deepEqual(metadata, { format: 'pt' });
  const want = new Map<string, number[]>([
    ['transformer.wte.weight', [1000, 32]],
    ['transformer.wpe.weight', [64, 32]],
    ['transformer.ln_f.weight', [32]],
    ['transformer.ln_f.bias', [32]],
  ]);
  for (let i = 0; i < 2; i++) {
    const p = `transformer.h.${i}`;
    for (const ln of ['ln_1', 'ln_2']) {
      want.set(`${p}.${ln}.weight`, [32]);
      want.set(`${p}.${ln}.bias`, [32]);
    }
    // Conv1D layout [in, out]
    want.set(`${p}.attn.c_attn.weight`, [32, 96]);
    want.set(`${p}.attn.c_attn.bias`, [96]);
    want.set(`${p}.attn.c_proj.weight`, [32, 32]);
    want.set(`${p}.attn.c_proj.bias`, [32]);
    want.set(`${p}.mlp.c_fc.weight`, [32, 128]);
    want.set(`${p}.mlp.c_fc.bias`, [128]);
    want.set(`${p}.mlp.c_proj.weight`, [128, 32]);
    want.set(`${p}.mlp.c_proj.bias`, [32]);
  }
  assert.deepEqual([...tensors.keys()].sort(), [...want.keys()].sort());
  for (const [name, shape] of want) {
    const t = tensors.get(name)!;
    assert.equal(t.dtype, 'F32');
    assert.deepEqual(t.shape, shape, name);
    assert.ok(t.data instanceof Float32Array && t.data.every(Number.isFinite), `${name} finite`);
  }
  // README: LayerNorm weights ~ 1 + N(0, 0.1), biases ~ N(0, 0.1). Means of 32 draws sit within 0.1 of 1 / 0.
  const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean(tensors.get('transformer.ln_f.weight')!.data) - 1) < 0.1);
  assert.ok(Math.abs(mean(tensors.get('transformer.ln_f.bias')!.data)) < 0.1);
});

test('writing the fixtures back gives byte-identical files (same layout as the generator writer)', () => {
  for (const rel of [['gpt2-tiny', 'model.safetensors'], ['io', 'bert-tiny-mlm-legacy-keys.model.safetensors']]) {
    const original = new Uint8Array(readFileSync(join(FIXTURES, ...rel)));
    const { tensors, metadata } = readSafetensors(original, rel.join('/'), { copy: true });
    const again = serializeSafetensors(tensors, metadata); // LoadedTensor carries its dtype, so I64 stays I64
    assert.equal(again.length, original.length, rel.join('/'));
    assert.ok(Buffer.from(again).equals(Buffer.from(original)), `${rel.join('/')} differs after a round trip`);
  }
});

test('legacy BERT fixture: I64 position_ids [1, 64] = 0..63 become an Int32Array', () => {
  const { tensors } = readSafetensors(readFileSync(join(FIXTURES, 'io', 'bert-tiny-mlm-legacy-keys.model.safetensors')), 'bert-legacy');
  const ids = tensors.get('bert.embeddings.position_ids')!;
  assert.equal(ids.dtype, 'I64');
  assert.deepEqual(ids.shape, [1, 64]);
  assert.ok(ids.data instanceof Int32Array);
  assert.deepEqual([...ids.data], Array.from({ length: 64 }, (_, i) => i));
  assert.deepEqual(tensors.get('bert.embeddings.LayerNorm.gamma')!.shape, [32]);
});

test('logits-processors fixture: F32 values (with -Infinity) equal the JSON copy written by the generator', () => {
  const dir = join(FIXTURES, 'logits-processors');
  const json = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
    input_logits: number[][];
    single: { name: string; output: (number | string)[][] }[];
  };
  const { tensors, metadata } = readSafetensors(readFileSync(join(dir, 'expected.safetensors')), 'logits-processors/expected.safetensors');
  assert.deepEqual(metadata, { format: 'fixtures' });
  const asF32 = (rows: (number | string)[][]) => rows.flat().map((v) => Math.fround(typeof v === 'string' ? Number(v) : v)); // "-Infinity" → -Infinity
  assert.deepEqual([...tensors.get('input_logits')!.data], asF32(json.input_logits));
  assert.equal(json.single.length, 9);
  let infinities = 0;
  for (const s of json.single) {
    const t = tensors.get(`single.${s.name}`)!;
    assert.deepEqual(t.shape, [2, 50], s.name);
    assert.deepEqual([...t.data], asF32(s.output), s.name);
    infinities += [...t.data].filter((v) => v === -Infinity).length;
  }
  assert.ok(infinities > 100, 'the fixture exercises -Infinity');
});

// ---------------------------------------------------------------------------------------------------------
// every validation error: one case each, the message must name the file, the tensor and the numbers

const ok = headerOf([['w', 'F32', [2], 0, 8]]);
const okData = le(['f32', 1], ['f32', 2]);
const validationCases: { what: string; file: () => Uint8Array; tensor?: string; parts: (string | RegExp)[] }[] = [
  { what: 'shorter than 8 bytes', file: () => new Uint8Array(5), parts: ['file is 5 bytes, too short for the 8-byte header length'] },
  { what: 'header length over the cap', file: () => buildFile(ok, okData, { headerLength: 0xffffffffffffffffn }), parts: ['header length 18446744073709551615', 'exceeds the 100000000-byte limit'] },
  { what: 'header length past the end', file: () => buildFile(ok, okData, { headerLength: 1000n }), parts: ['header length 1000 runs past the end of the file: 8 + 1000 = 1008 > file length'] },
  { what: 'header length zero', file: () => buildFile('', new Uint8Array(0), { pad: false }), parts: ['header length 0 is too small'] },
  { what: 'header not UTF-8', file: () => concat(le(['u64', 8n]), Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d, 0x20, 0x20, 0x20, 0x20)), parts: ['the 8-byte header is not valid UTF-8'] },
  { what: 'header not an object', file: () => buildFile('[1,2]'), parts: ["the header must start with '{'", '"[1,2]'] },
  { what: 'header JSON syntax error', file: () => buildFile('{"w":{"dtype":"F32",}}'), parts: ['header is not valid JSON', "expected a string key after ',' but found '}' (trailing comma?) at header character 20 (line 1, column 21)"] },
  {
    what: 'duplicate tensor name',
    file: () => buildFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, okData),
    tensor: 'w',
    parts: ['name "w" appears twice in the header (at characters 1 and 54)'],
  },
  {
    what: 'duplicate field in an entry',
    file: () => buildFile(`{"w":{"dtype":"F32","dtype":"I32","shape":[2],"data_offsets":[0,8]}}`, okData),
    tensor: 'w',
    parts: ['key "dtype" inside entry "w" appears twice'],
  },
  { what: '__metadata__ not an object', file: () => buildFile(headerOf([['w', 'F32', [2], 0, 8]], '[1]'), okData), parts: ['"__metadata__" must be an object of strings, got [1]'] },
  { what: '__metadata__ value not a string', file: () => buildFile(headerOf([['w', 'F32', [2], 0, 8]], '{"step":5}'), okData), parts: ['"__metadata__" value for "step" must be a string, got 5'] },
  { what: 'entry not an object', file: () => buildFile('{"w":[0,8]}', okData), tensor: 'w', parts: ['header entry must be an object', 'got [0,8]'] },
  { what: 'dtype missing', file: () => buildFile('{"w":{"shape":[2],"data_offsets":[0,8]}}', okData), tensor: 'w', parts: ['"dtype" must be a string such as "F32", got undefined'] },
  { what: 'unknown dtype', file: () => buildFile(headerOf([['w', 'F17', [2], 0, 8]]), okData), tensor: 'w', parts: ['dtype "F17" is not a safetensors dtype; supported: F64, F32, F16, BF16, I64'] },
  { what: 'valid but unsupported dtype', file: () => buildFile(headerOf([['w', 'F8_E4M3', [8], 0, 8]]), okData), tensor: 'w', parts: ['dtype "F8_E4M3" is a safetensors dtype that attn does not read'] },
  { what: 'shape not an array', file: () => buildFile('{"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}', okData), tensor: 'w', parts: ['"shape" must be an array of non-negative integers, got "2"'] },
  { what: 'negative dimension', file: () => buildFile(headerOf([['w', 'F32', [2, -1], 0, 8]]), okData), tensor: 'w', parts: ['shape [2,-1]: dimension 1 is -1, expected a non-negative integer'] },
  { what: 'fractional dimension', file: () => buildFile(headerOf([['w', 'F32', [1.5], 0, 8]]), okData), tensor: 'w', parts: ['dimension 0 is 1.5'] },
  { what: 'shape product beyond 2^53', file: () => buildFile(headerOf([['w', 'F32', [2 ** 30, 2 ** 30, 2 ** 30], 0, 8]]), okData), tensor: 'w', parts: ['shape [1073741824,1073741824,1073741824] has more than 2^53 elements'] },
  { what: 'data_offsets malformed', file: () => buildFile('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}', okData), tensor: 'w', parts: ['"data_offsets" must be [begin, end] with non-negative integers, got [0,8,9]'] },
  { what: 'negative offset', file: () => buildFile(headerOf([['w', 'F32', [2], -8, 0]]), okData), tensor: 'w', parts: ['got [-8,0]'] },
  { what: 'offsets reversed', file: () => buildFile(headerOf([['w', 'F32', [0], 8, 0]]), okData), tensor: 'w', parts: ['data_offsets [8, 0] end before they begin'] },
  { what: 'byte length ≠ dtype size × numel', file: () => buildFile(headerOf([['w', 'F32', [3], 0, 8]]), okData), tensor: 'w', parts: ['data_offsets [0, 8] hold 8 bytes but F32 × shape [3] needs 3 × 4 = 12 bytes'] },
  {
    what: 'tensor past the end (truncated file)',
    file: () => buildFile(headerOf([['w', 'F32', [2], 0, 8]]), okData).subarray(0, -3),
    tensor: 'w',
    parts: ['data_offsets [0, 8] run past the end of the data section (5 bytes: file length', 'the file may be truncated'],
  },
  {
    what: 'overlapping tensors',
    file: () => buildFile(headerOf([['a', 'F32', [2], 0, 8], ['b', 'F32', [1], 4, 8]]), okData),
    tensor: 'b',
    parts: ['data_offsets [4, 8] overlap tensor "a" at [0, 8]'],
  },
  {
    what: 'a gap between tensors',
    file: () => buildFile(headerOf([['a', 'F32', [1], 0, 4], ['b', 'F32', [1], 8, 12]]), concat(okData, okData.subarray(0, 4))),
    tensor: 'b',
    parts: ['data_offsets [8, 12] leave a gap: data bytes 4..8 belong to no tensor'],
  },
  { what: 'trailing bytes', file: () => buildFile(ok, concat(okData, Uint8Array.of(1, 2, 3))), parts: ['the tensors cover 8 data bytes but the data section has 11', '3 trailing bytes belong to no tensor'] },
  { what: 'lone surrogate in a name', file: () => buildFile('{"w\\ud800":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', okData), tensor: 'w\ud800', parts: ['unpaired UTF-16 surrogate'] },
  { what: 'BOOL byte other than 0/1', file: () => buildFile(headerOf([['m', 'BOOL', [2], 0, 2]]), Uint8Array.of(1, 7)), tensor: 'm', parts: ['BOOL value at index 1 is byte 7, expected 0 or 1'] },
  { what: 'I64 too large for int32', file: () => buildFile(headerOf([['ids', 'I64', [2], 0, 16]]), le(['i64', 5n], ['i64', 3000000000n])), tensor: 'ids', parts: ['I64 value 3000000000 at flat index 1 does not fit in int32 (-2147483648..2147483647)'] },
  { what: 'I64 too small for int32', file: () => buildFile(headerOf([['ids', 'I64', [1], 0, 8]]), le(['i64', -2147483649n])), tensor: 'ids', parts: ['I64 value -2147483649 at flat index 0 does not fit in int32'] },
  { what: 'U64 too large for int32', file: () => buildFile(headerOf([['ids', 'U64', [1], 0, 8]]), le(['u64', 2n ** 63n])), tensor: 'ids', parts: ['U64 value 9223372036854775808 at flat index 0 does not fit'] },
  { what: 'U32 too large for int32', file: () => buildFile(headerOf([['ids', 'U32', [1], 0, 4]]), le(['u32', 2147483648])), tensor: 'ids', parts: ['U32 value 2147483648 at flat index 0 does not fit'] },
];

for (const c of validationCases) {
  test(`refuses a file: ${c.what}`, () => {
    const bytes = c.file();
    const err = errorOf(() => readSafetensors(bytes, 'bad.safetensors'));
    assert.ok(err instanceof SafetensorsError, `${err.name}: ${err.message}`);
    assert.ok(err.message.startsWith('safetensors file bad.safetensors: '), err.message);
    assert.equal(err.file, 'bad.safetensors');
    assert.equal(err.tensor, c.tensor);
    if (c.tensor !== undefined) assert.ok(err.message.includes(`tensor ${JSON.stringify(c.tensor)}: `), err.message);
    for (const part of c.parts) {
      if (typeof part === 'string') assert.ok(err.message.includes(part), `message: ${err.message}\nshould contain: ${part}`);
      else assert.match(err.message, part);
    }
  });
}

test('accepts what the format allows: zero tensors, null metadata, no metadata, extra entry fields', () => {
  assert.equal(readSafetensors(buildFile('{}')).tensors.size, 0);
  assert.deepEqual(readSafetensors(buildFile('{"__metadata__":null}')).metadata, {});
  const extra = buildFile('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"future":true}}', okData);
  assert.deepEqual([...readSafetensors(extra).tensors.get('w')!.data], [1, 2]);
  // Several zero-length tensors may share one offset.
  const zeros = buildFile(headerOf([['a', 'F32', [0], 0, 0], ['b', 'I64', [2, 0], 0, 0], ['c', 'F32', [2], 0, 8], ['d', 'U8', [0], 8, 8]]), okData);
  assert.deepEqual([...readSafetensors(zeros).tensors.keys()], ['a', 'b', 'c', 'd']);
});
