// safetensors: the checkpoint format of Hugging Face models, read and written without any dependency.
//
// A safetensors file is three parts, back to back:
//
//   [ N: u64 little-endian ][ N bytes of UTF-8 JSON header, space-padded ][ data: raw little-endian tensors ]
//     bytes 0..8              bytes 8..8+N                                   bytes 8+N..end
//
// The header maps each tensor name to {"dtype": "F32", "shape": [768, 2304], "data_offsets": [begin, end]},
// with offsets relative to the start of the data part, plus an optional "__metadata__" object of string
// values (PyTorch writers put {"format": "pt"} there). Tensors are row-major (C order), packed with no gaps.
//
// The whole point of the format is that loading it cannot run code (unlike pickle), so a loader should also
// not trust it: every number in the header is checked against the file before a byte is read or a typed
// array is allocated. A hostile or truncated file ends in a SafetensorsError that names the file, the tensor
// and the numbers, never in a crash, a hang or a 40 GB allocation.
//
// The engine computes in float32 and int32, so reading converts: F64/F32/F16/BF16 → Float32Array,
// I64/I32/I16/I8/U64/U32/U16/U8 → Int32Array (an error if a value does not fit in int32), BOOL → Uint8Array.
// Writing takes those arrays and stores F32 (default for Float32Array), or F16/BF16/F64 on request, and so on.
//
// This file runs anywhere (browser or Node): it takes and returns bytes. Reading and writing files on disk,
// tensor by tensor so a 500 MB checkpoint is never held twice, lives in ./node.ts.
//
// Does not handle: big-endian hosts (there are none among JS engines in practice; we check and refuse);
// the 8-bit float dtypes and complex numbers (rejected by name); files larger than 2^53 bytes.

import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './half.js';
import { checkJson } from './json.js';

// ---------------------------------------------------------------------------------------------------------
// dtypes

/** The dtypes attn reads and writes. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** Valid safetensors dtypes that attn does not read; named in the error so users know the file is not corrupt. */
const KNOWN_UNSUPPORTED_DTYPES = ['F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64'];

const FLOAT_DTYPES: readonly SafetensorsDtype[] = ['F64', 'F32', 'F16', 'BF16'];
const INT_DTYPES: readonly SafetensorsDtype[] = ['I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8'];

/** Is `s` a dtype attn reads? Example: `isSafetensorsDtype('BF16') === true`, `isSafetensorsDtype('F8_E4M3') === false`. */
export function isSafetensorsDtype(s: string): s is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

/** What the engine gets: floats widen/narrow to float32, integers to int32, booleans stay one byte of 0/1. */
export type TensorData = Float32Array | Int32Array | Uint8Array;

/** One tensor read from a file: its stored dtype, its shape and its values converted for the engine. */
export interface LoadedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorData;
}

// ---------------------------------------------------------------------------------------------------------
// errors

/** Every problem with a safetensors file or a tensor to save. `file` and `tensor` are also in the message. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(
    readonly file: string,
    readonly tensor: string | undefined,
    detail: string,
  ) {
    super(`safetensors file ${file}: ${tensor !== undefined ? `tensor ${JSON.stringify(tensor)}: ` : ''}${detail}`);
  }
}

// JS engines store typed arrays in the host's byte order, and safetensors is little-endian. Every JS engine in
// use is little-endian; rather than silently produce garbage elsewhere, refuse.
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function assertLittleEndianHost(file: string): void {
  if (!LITTLE_ENDIAN_HOST) throw new SafetensorsError(file, undefined, 'attn reads and writes safetensors only on little-endian hosts');
}

// ---------------------------------------------------------------------------------------------------------
// the header

/** The official reader's cap (100 MB). A real header is ~100 bytes per tensor; GPT-2 124M's is 15 KB. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Where one tensor lives and what it is. Offsets are relative to the start of the data section. */
export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  numel: number; // product of shape (1 for a scalar, shape [])
  begin: number; // data_offsets[0]
  end: number; // data_offsets[1]; end - begin === numel * DTYPE_BYTES[dtype]
}

/** A validated header: every tensor's bytes are known to lie inside the file, packed with no gaps. */
export interface SafetensorsHeader {
  fileName: string;
  fileLength: number; // total bytes in the file
  headerLength: number; // N, the JSON length (including the padding)
  dataStart: number; // 8 + N: where data_offsets count from
  metadata: Record<string, string>; // "__metadata__", {} when absent
  tensors: TensorInfo[]; // in file order (by data offset)
  byName: Map<string, TensorInfo>;
}

/**
 * Read N, the header length, from the first 8 bytes and check it against the file length, before anything
 * else is read. Used by parseSafetensorsHeader and by the Node reader (which reads 8 bytes, then 8 + N).
 */
export function safetensorsHeaderLength(prefix: Uint8Array, fileLength: number, fileName: string): number {
  if (fileLength < 8 || prefix.length < 8) {
    throw new SafetensorsError(fileName, undefined, `file is ${fileLength} bytes, too short for the 8-byte header length that starts every safetensors file`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true); // u64 little-endian
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(fileName, undefined, `header length ${n} (from the first 8 bytes) exceeds the ${MAX_HEADER_BYTES}-byte limit; this is not a safetensors file or it is corrupt`);
  }
  const headerLength = Number(n);
  if (8 + headerLength > fileLength) {
    throw new SafetensorsError(fileName, undefined, `header length ${headerLength} runs past the end of the file: 8 + ${headerLength} = ${8 + headerLength} > file length ${fileLength}`);
  }
  if (headerLength < 2) {
    throw new SafetensorsError(fileName, undefined, `header length ${headerLength} is too small for a JSON object (at least "{}", 2 bytes)`);
  }
  return headerLength;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

// A lone UTF-16 surrogate (from a "\ud800" escape) cannot be encoded as UTF-8; the official readers refuse it.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** A JSON number that is a non-negative integer we can count with exactly (≤ 2^53 - 1). */
function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Check one header entry's fields and types, and that its byte length matches dtype × shape. */
function parseEntry(name: string, entry: unknown, fileName: string): TensorInfo {
  const err = (detail: string) => new SafetensorsError(fileName, name, detail);
  if (LONE_SURROGATE.test(name)) throw err('name contains an unpaired UTF-16 surrogate (a \\uD800-\\uDFFF escape), which is not valid Unicode');
  if (!isPlainObject(entry)) throw err(`header entry must be an object {"dtype", "shape", "data_offsets"}, got ${describe(entry)}`);
  const { dtype, shape, data_offsets: offsets } = entry;

  if (typeof dtype !== 'string') throw err(`"dtype" must be a string such as "F32", got ${describe(dtype)}`);
  if (!isSafetensorsDtype(dtype)) {
    const known = KNOWN_UNSUPPORTED_DTYPES.includes(dtype) ? ' is a safetensors dtype that attn does not read' : ' is not a safetensors dtype';
    throw err(`dtype ${describe(dtype)}${known}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`);
  }

  if (!Array.isArray(shape)) throw err(`"shape" must be an array of non-negative integers, got ${describe(shape)}`);
  const dims: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    const size: unknown = shape[d];
    if (!isCount(size)) throw err(`shape ${describe(shape)}: dimension ${d} is ${describe(size)}, expected a non-negative integer ≤ 2^53 - 1`);
    dims.push(size);
  }
  // numel = product of dims. Checked step by step so a shape like [1e15, 1e15] is an error, not a lost digit.
  let numel = 1;
  if (dims.includes(0)) {
    numel = 0;
  } else {
    for (const size of dims) {
      numel *= size;
      if (!Number.isSafeInteger(numel)) throw err(`shape ${describe(dims)} has more than 2^53 elements`);
    }
  }

  if (!Array.isArray(offsets) || offsets.length !== 2 || !isCount(offsets[0]) || !isCount(offsets[1])) {
    throw err(`"data_offsets" must be [begin, end] with non-negative integers, got ${describe(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw err(`data_offsets [${begin}, ${end}] end before they begin`);

  const expectedBytes = numel * DTYPE_BYTES[dtype]; // numel < 2^53 but the product may not be; compare as numbers anyway (no allocation happens here)
  if (end - begin !== expectedBytes) {
    throw err(`data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} × shape ${describe(dims)} needs ${numel} × ${DTYPE_BYTES[dtype]} = ${expectedBytes} bytes`);
  }
  return { name, dtype, shape: dims, numel, begin, end };
}

/**
 * Parse and validate the header of a safetensors file. `bytes` must hold at least the first 8 + N bytes;
 * `fileLength` is the full file length (defaults to bytes.length), needed to check that the data section is
 * exactly covered. Example: `parseSafetensorsHeader(bytes, 'model.safetensors').tensors.map(t => t.name)`.
 * Checks: header length in range; UTF-8; valid JSON starting with '{'; no duplicate names; "__metadata__" is an
 * object of strings; every entry has a known dtype, a shape of non-negative integers and data_offsets whose
 * length is dtype size × numel; the tensors tile the data section exactly (no overlap, no gap, nothing after).
 * Extra fields in an entry are ignored, as the official reader does.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, fileName = '<buffer>', fileLength = bytes.length): SafetensorsHeader {
  const headerLength = safetensorsHeaderLength(bytes, fileLength, fileName);
  const dataStart = 8 + headerLength;
  if (bytes.length < dataStart) {
    throw new SafetensorsError(fileName, undefined, `internal: parseSafetensorsHeader got ${bytes.length} bytes but the header needs the first ${dataStart}`);
  }

  let text: string;
  try {
    text = utf8Decoder.decode(bytes.subarray(8, dataStart));
  } catch {
    throw new SafetensorsError(fileName, undefined, `the ${headerLength}-byte header is not valid UTF-8`);
  }
  if (text[0] !== '{') {
    throw new SafetensorsError(fileName, undefined, `the header must start with '{' (a JSON object), found ${describe(text.slice(0, 20))} at byte 8`);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    const { problem } = checkJson(text);
    const where = problem ? `${problem.message} at header character ${problem.position} (line ${problem.line}, column ${problem.column})` : String(e);
    throw new SafetensorsError(fileName, undefined, `header is not valid JSON: ${where}`);
  }
  // JSON.parse keeps only the last of two equal keys; a file naming a tensor twice is ambiguous, so refuse it.
  const { duplicate } = checkJson(text);
  if (duplicate !== null) {
    const inside = duplicate.path.length === 0 ? '' : ` inside entry ${JSON.stringify(duplicate.path[0])}`;
    const what = duplicate.path.length === 0 ? `name ${JSON.stringify(duplicate.key)}` : `key ${JSON.stringify(duplicate.key)}`;
    throw new SafetensorsError(
      fileName,
      duplicate.path.length === 0 ? duplicate.key : String(duplicate.path[0]),
      `${what}${inside} appears twice in the header (at characters ${duplicate.firstPosition} and ${duplicate.position}); refusing an ambiguous file`,
    );
  }
  if (!isPlainObject(parsed)) throw new SafetensorsError(fileName, undefined, `header must be a JSON object, got ${describe(parsed)}`);

  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(parsed)) {
    if (name === '__metadata__') {
      if (entry === null) continue; // the official reader accepts null (no metadata)
      if (!isPlainObject(entry)) throw new SafetensorsError(fileName, undefined, `"__metadata__" must be an object of strings, got ${describe(entry)}`);
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new SafetensorsError(fileName, undefined, `"__metadata__" value for ${JSON.stringify(k)} must be a string, got ${describe(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    tensors.push(parseEntry(name, entry, fileName));
  }

  // The tensors must tile the data section [0, dataLength) exactly. Sort by position (zero-length tensors
  // first at a shared offset) and walk: each must begin where the previous ended.
  const dataLength = fileLength - dataStart;
  for (const t of tensors) {
    if (t.end > dataLength) {
      throw new SafetensorsError(
        fileName,
        t.name,
        `data_offsets [${t.begin}, ${t.end}] run past the end of the data section (${dataLength} bytes: file length ${fileLength} - 8 - header ${headerLength}); the file may be truncated`,
      );
    }
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: TensorInfo | undefined;
  for (const t of tensors) {
    if (t.begin < covered) {
      throw new SafetensorsError(fileName, t.name, `data_offsets [${t.begin}, ${t.end}] overlap tensor ${JSON.stringify(previous!.name)} at [${previous!.begin}, ${previous!.end}]`);
    }
    if (t.begin > covered) {
      throw new SafetensorsError(fileName, t.name, `data_offsets [${t.begin}, ${t.end}] leave a gap: data bytes ${covered}..${t.begin} belong to no tensor (the format allows no holes)`);
    }
    covered = t.end;
    previous = t;
  }
  if (covered !== dataLength) {
    throw new SafetensorsError(
      fileName,
      undefined,
      `the tensors cover ${covered} data bytes but the data section has ${dataLength} (file length ${fileLength} = 8 + header ${headerLength} + data); ${dataLength - covered} trailing bytes belong to no tensor`,
    );
  }

  const byName = new Map<string, TensorInfo>();
  for (const t of tensors) byName.set(t.name, t);
  return { fileName, fileLength, headerLength, dataStart, metadata, tensors, byName };
}

// ---------------------------------------------------------------------------------------------------------
// decoding one tensor's bytes

/** A view of `raw` as elements of `bytesPerElement`, copying first only when `raw` is not aligned for it. */
function aligned(raw: Uint8Array, bytesPerElement: number): Uint8Array {
  return raw.byteOffset % bytesPerElement === 0 ? raw : raw.slice();
}

/**
 * Convert one tensor's raw little-endian bytes into what the engine uses. `raw.length` must equal
 * info.end - info.begin. With `copy: false`, F32 and I32 data that is 4-byte aligned, and BOOL data, are
 * returned as views into `raw` (no copy); everything else is a new array.
 * Example: `decodeTensor(info, bytes.subarray(start, end), 'model.safetensors')`.
 */
export function decodeTensor(info: TensorInfo, raw: Uint8Array, fileName = '<buffer>', opts: { copy?: boolean } = {}): TensorData {
  assertLittleEndianHost(fileName);
  const n = info.numel;
  if (raw.length !== n * DTYPE_BYTES[info.dtype]) {
    throw new SafetensorsError(fileName, info.name, `internal: got ${raw.length} bytes for ${info.dtype} × ${n}`);
  }
  const copy = opts.copy ?? true;
  const view = <T>(make: (buffer: ArrayBufferLike, byteOffset: number, length: number) => T, size: number): T => {
    const a = aligned(raw, size);
    return make(a.buffer, a.byteOffset, n);
  };
  switch (info.dtype) {
    case 'F32': {
      if (!copy && raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, n);
      const out = new Float32Array(n);
      new Uint8Array(out.buffer).set(raw); // byte copy: any alignment
      return out;
    }
    case 'F16':
      return f16ToF32(view((b, o, l) => new Uint16Array(b, o, l), 2));
    case 'BF16':
      return bf16ToF32(view((b, o, l) => new Uint16Array(b, o, l), 2));
    case 'F64': {
      const out = new Float32Array(n);
      out.set(view((b, o, l) => new Float64Array(b, o, l), 8)); // rounds each value to float32
      return out;
    }
    case 'I32': {
      if (!copy && raw.byteOffset % 4 === 0) return new Int32Array(raw.buffer, raw.byteOffset, n);
      const out = new Int32Array(n);
      new Uint8Array(out.buffer).set(raw);
      return out;
    }
    case 'I16':
      return Int32Array.from(view((b, o, l) => new Int16Array(b, o, l), 2));
    case 'I8':
      return Int32Array.from(view((b, o, l) => new Int8Array(b, o, l), 1));
    case 'U16':
      return Int32Array.from(view((b, o, l) => new Uint16Array(b, o, l), 2));
    case 'U8':
      return Int32Array.from(raw);
    case 'U32': {
      const values = view((b, o, l) => new Uint32Array(b, o, l), 4);
      for (let i = 0; i < n; i++) {
        if (values[i]! > 0x7fffffff) throw doesNotFit(fileName, info, i, BigInt(values[i]!));
      }
      return Int32Array.from(values);
    }
    case 'I64':
    case 'U64':
      return narrow64(info, view((b, o, l) => new Int32Array(b, o, 2 * l), 4), fileName);
    case 'BOOL': {
      // torch.bool is one byte holding 0 or 1; any other byte means the file is not what it claims.
      for (let i = 0; i < n; i++) {
        if (raw[i]! > 1) throw new SafetensorsError(fileName, info.name, `BOOL value at index ${i} is byte ${raw[i]}, expected 0 or 1`);
      }
      return copy ? raw.slice() : raw;
    }
  }
}

/**
 * 64-bit integers to int32. On a little-endian host each value is two int32 words [low, high]; it fits in
 * int32 exactly when the high word is the sign extension of the low word (all 0 bits for a non-negative low
 * word, all 1 bits for a negative one). For U64 the high word must be 0 and the low word < 2^31.
 */
function narrow64(info: TensorInfo, words: Int32Array, fileName: string): Int32Array {
  const n = info.numel;
  const out = new Int32Array(n);
  const unsigned = info.dtype === 'U64';
  for (let i = 0; i < n; i++) {
    const low = words[2 * i]!;
    const high = words[2 * i + 1]!;
    const fits = unsigned ? high === 0 && low >= 0 : high === low >> 31;
    if (!fits) {
      const value = (BigInt(unsigned ? high >>> 0 : high) << 32n) | BigInt(low >>> 0);
      throw doesNotFit(fileName, info, i, value);
    }
    out[i] = low;
  }
  return out;
}

function doesNotFit(fileName: string, info: TensorInfo, index: number, value: bigint): SafetensorsError {
  return new SafetensorsError(
    fileName,
    info.name,
    `${info.dtype} value ${value} at flat index ${index} does not fit in int32 (-2147483648..2147483647), which is what attn uses for integer tensors`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// reading a whole buffer

/** A safetensors file whose tensors are decoded one at a time, on request. */
export interface SafetensorsReader {
  readonly header: SafetensorsHeader;
  readonly metadata: Record<string, string>;
  /** Tensor names in file order. */
  names(): string[];
  has(name: string): boolean;
  /** dtype, shape and position of a tensor, without reading its data. */
  info(name: string): TensorInfo;
  /**
   * Read and convert one tensor. `alloc`, for a floating-point tensor: where to put its float32 values (an
   * array of n floats the caller provides, e.g. in a compute backend's memory, so the values are read there
   * directly instead of into a temporary). Example: `reader.get('wte.weight', (n) => backend.allocate(n))`.
   */
  get(name: string, alloc?: (n: number) => Float32Array): LoadedTensor;
  /**
   * A tensor's bytes as stored, unconverted (row-major, little-endian): for data the engine decodes itself,
   * such as quantised weights (I8, U8). `into`: the array to read the bytes into (n bytes, e.g. in a backend's
   * memory). Example: `reader.bytes('h.0.mlp.c_fc.weight', (n) => new Uint8Array(n))`.
   */
  bytes(name: string, into?: (n: number) => Uint8Array): Uint8Array;
  /** Release the file (no-op for in-memory buffers). */
  close(): void;
}

/** Everything in a file: tensors (in file order) and the header's "__metadata__". */
export interface SafetensorsContents {
  tensors: Map<string, LoadedTensor>;
  metadata: Record<string, string>;
}

/** The error for asking for a tensor the file does not have; lists a few names that it does have (used by both readers). */
export function missingTensorError(header: SafetensorsHeader, name: string): SafetensorsError {
  const names = header.tensors.map((t) => t.name);
  const sample = names.slice(0, 5).map((s) => JSON.stringify(s)).join(', ');
  return new SafetensorsError(header.fileName, name, `no such tensor; the file has ${names.length} tensors${names.length ? `: ${sample}${names.length > 5 ? ', ...' : ''}` : ''}`);
}

/**
 * A reader over a validated header; `read(t)` turns one tensor's entry into its values (from memory or from a
 * file). Both readers below share this, so lookups and their errors are the same for both.
 */
export function readerOver(
  header: SafetensorsHeader,
  read: (t: TensorInfo, alloc?: (n: number) => Float32Array) => TensorData,
  readBytes: (t: TensorInfo, into: Uint8Array) => void,
  close: () => void = () => {},
): SafetensorsReader {
  const info = (name: string): TensorInfo => {
    const t = header.byName.get(name);
    if (t === undefined) throw missingTensorError(header, name);
    return t;
  };
  return {
    header,
    metadata: header.metadata,
    names: () => header.tensors.map((t) => t.name),
    has: (name) => header.byName.has(name),
    info,
    get(name, alloc) {
      const t = info(name);
      return { dtype: t.dtype, shape: [...t.shape], data: read(t, alloc) };
    },
    bytes(name, into) {
      const t = info(name);
      const n = t.end - t.begin;
      const out = into ? into(n) : new Uint8Array(n);
      if (out.length < n) throw new SafetensorsError(header.fileName, name, `internal: bytes() was given ${out.length} bytes of room for ${n}`);
      readBytes(t, out.length === n ? out : out.subarray(0, n));
      return out;
    },
    close,
  };
}

/** Copy float32 values into an array from `alloc` (a reader's `get(name, alloc)`). */
export function placeFloats(data: Float32Array, alloc: (n: number) => Float32Array): Float32Array {
  const out = alloc(data.length);
  out.set(data);
  return out;
}

/**
 * Validate the header of an in-memory file and return a reader that decodes tensors lazily.
 * By default F32/I32 (when aligned) and BOOL tensors are zero-copy views into `bytes` (`copy: true` to detach them).
 * Example: `openSafetensors(new Uint8Array(await (await fetch(url)).arrayBuffer()), url).get('wte.weight')`.
 */
export function openSafetensors(bytes: Uint8Array, fileName = '<buffer>', opts: { copy?: boolean } = {}): SafetensorsReader {
  const header = parseSafetensorsHeader(bytes, fileName);
  const copy = opts.copy ?? false;
  const raw = (t: TensorInfo) => bytes.subarray(header.dataStart + t.begin, header.dataStart + t.end);
  return readerOver(
    header,
    (t, alloc) => {
      const data = decodeTensor(t, raw(t), fileName, { copy: copy || alloc !== undefined });
      return alloc && data instanceof Float32Array ? placeFloats(data, alloc) : data;
    },
    (t, into) => into.set(raw(t)),
  );
}

/**
 * Read every tensor of an in-memory safetensors file. F32/I32 (when aligned) and BOOL data are views into
 * `bytes` (no second copy of the checkpoint); pass `{ copy: true }` for independent arrays.
 * Example: `readSafetensors(bytes, 'model.safetensors').tensors.get('transformer.wte.weight')!.data`.
 */
export function readSafetensors(bytes: Uint8Array, fileName = '<buffer>', opts: { copy?: boolean } = {}): SafetensorsContents {
  const reader = openSafetensors(bytes, fileName, opts);
  const tensors = new Map<string, LoadedTensor>();
  for (const name of reader.names()) tensors.set(name, reader.get(name));
  return { tensors, metadata: { ...reader.metadata } };
}

// ---------------------------------------------------------------------------------------------------------
// writing

/**
 * A tensor to save. `dtype` defaults to F32 for a Float32Array, I32 for an Int32Array, BOOL for a Uint8Array,
 * I8 for an Int8Array. Float32Array may also be stored as F16, BF16 (rounded to nearest even) or F64; Int32Array
 * as any integer dtype (an error if a value does not fit); Uint8Array as BOOL (values 0/1) or U8; Int8Array
 * only as I8 (its bytes as they are: quantised weights).
 */
export interface TensorToSave {
  dtype?: SafetensorsDtype;
  shape: readonly number[];
  data: TensorData | Int8Array;
}

export type TensorsToSave = ReadonlyMap<string, TensorToSave> | Readonly<Record<string, TensorToSave>>;

/** One tensor's place in a planned file. */
export interface PlannedTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorData | Int8Array;
  begin: number;
  end: number;
}

/** Everything needed to write a file: the 8 + N header bytes, then each tensor's bytes in this order. */
export interface SafetensorsPlan {
  header: Uint8Array; // u64 length + JSON + space padding
  tensors: PlannedTensor[]; // sorted by name; data laid out back to back in this order
  fileLength: number;
}

/**
 * Order of names as Python's sorted() and Rust's str ordering give it: by Unicode code point (JS's default
 * sort compares UTF-16 units, which differs for characters above U+FFFF). Example: `['😀', 'ｚ'].sort(compareCodePoints)` → `['ｚ', '😀']`.
 */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}

function checkTensorToSave(name: string, t: TensorToSave, fileName: string): PlannedTensor {
  const err = (detail: string) => new SafetensorsError(fileName, name, detail);
  if (name === '__metadata__') throw err('"__metadata__" is reserved for the header metadata and cannot name a tensor');
  if (LONE_SURROGATE.test(name)) throw err('name contains an unpaired UTF-16 surrogate, which cannot be written as UTF-8');
  if (!Array.isArray(t.shape) || !t.shape.every(isCount)) throw err(`shape ${describe(t.shape)} must be an array of non-negative integers`);
  const numel = t.shape.reduce((p, d) => p * d, 1);
  if (!Number.isSafeInteger(numel)) throw err(`shape ${describe(t.shape)} has more than 2^53 elements`);
  const data = t.data;
  if (data.length !== numel) throw err(`data has ${data.length} elements but shape ${describe(t.shape)} needs ${numel}`);

  const kind = data instanceof Float32Array ? 'Float32Array' : data instanceof Int32Array ? 'Int32Array' : data instanceof Uint8Array ? 'Uint8Array' : data instanceof Int8Array ? 'Int8Array' : null;
  if (kind === null) throw err(`data must be a Float32Array, Int32Array, Uint8Array or Int8Array`);
  const dtype = t.dtype ?? (kind === 'Float32Array' ? 'F32' : kind === 'Int32Array' ? 'I32' : kind === 'Int8Array' ? 'I8' : 'BOOL');
  if (!isSafetensorsDtype(dtype)) throw err(`dtype ${describe(dtype)} is not one attn writes; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`);
  const allowed = kind === 'Float32Array' ? FLOAT_DTYPES : kind === 'Int32Array' ? INT_DTYPES : kind === 'Int8Array' ? ['I8'] : ['BOOL', 'U8'];
  if (!allowed.includes(dtype)) throw err(`a ${kind} cannot be saved as ${dtype}; use one of ${allowed.join(', ')}`);

  // Values that the chosen dtype cannot hold are an error, not a silent wrap-around.
  const range: Partial<Record<SafetensorsDtype, [number, number]>> = {
    I16: [-32768, 32767],
    I8: [-128, 127],
    U64: [0, 2147483647],
    U32: [0, 2147483647],
    U16: [0, 65535],
    U8: [0, 255],
    BOOL: [0, 1],
  };
  const r = kind === 'Int8Array' ? undefined : range[dtype]; // an Int8Array's values always fit I8
  if (r !== undefined) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < r[0] || v > r[1]) throw err(`value ${v} at flat index ${i} does not fit in ${dtype} (${r[0]}..${r[1]})`);
    }
  }
  return { name, dtype, shape: [...t.shape], data, begin: 0, end: 0 };
}

/**
 * Check every tensor and lay out the file: header JSON (metadata first, then tensors sorted by name, the
 * layout the official writers and the Hugging Face fixtures use), padded with spaces to a multiple of 8, and
 * each tensor's data_offsets back to back in name order.
 */
export function planSafetensors(tensors: TensorsToSave, metadata: Readonly<Record<string, string>> | null = { format: 'pt' }, fileName = '<buffer>'): SafetensorsPlan {
  assertLittleEndianHost(fileName);
  const entries: [string, TensorToSave][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const planned = entries.map(([name, t]) => checkTensorToSave(name, t, fileName));
  planned.sort((a, b) => compareCodePoints(a.name, b.name));

  let offset = 0;
  for (const t of planned) {
    t.begin = offset;
    offset += t.data.length * DTYPE_BYTES[t.dtype];
    t.end = offset;
  }

  // Build the JSON text by hand so the key order is exactly ours (a JS object would move keys such as "0"
  // to the front). JSON.stringify of each name escapes quotes and control characters correctly.
  const parts: string[] = [];
  if (metadata !== null) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(fileName, undefined, `metadata value for ${JSON.stringify(k)} must be a string, got ${describe(v)}`);
      if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) throw new SafetensorsError(fileName, undefined, `metadata ${JSON.stringify(k)} contains an unpaired UTF-16 surrogate`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  for (const t of planned) {
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":${JSON.stringify(t.shape)},"data_offsets":[${t.begin},${t.end}]}`);
  }
  const json = utf8Encoder.encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8; // pad so the data section starts 8-byte aligned
  if (headerLength > MAX_HEADER_BYTES) throw new SafetensorsError(fileName, undefined, `header would be ${headerLength} bytes, over the ${MAX_HEADER_BYTES}-byte limit readers accept`);

  const header = new Uint8Array(8 + headerLength).fill(0x20); // spaces
  new DataView(header.buffer).setBigUint64(0, BigInt(headerLength), true);
  header.set(json, 8);
  return { header, tensors: planned, fileLength: header.length + offset };
}

/**
 * The bytes of one planned tensor in its file dtype. F32/I32/U8-or-BOOL data are returned as a view of the
 * array itself (no copy); other dtypes are converted into a new buffer.
 */
export function encodeTensor(t: PlannedTensor): Uint8Array {
  const d = t.data;
  const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (t.dtype) {
    case 'F32':
    case 'I32':
    case 'BOOL':
      return bytesOf(d);
    case 'U8':
      return d instanceof Uint8Array ? bytesOf(d) : bytesOf(Uint8Array.from(d));
    case 'F16':
      return bytesOf(f32ToF16(d as Float32Array));
    case 'BF16':
      return bytesOf(f32ToBf16(d as Float32Array));
    case 'F64':
      return bytesOf(Float64Array.from(d));
    case 'I16':
      return bytesOf(Int16Array.from(d));
    case 'I8':
      return d instanceof Int8Array ? bytesOf(d) : bytesOf(Int8Array.from(d));
    case 'U16':
      return bytesOf(Uint16Array.from(d));
    case 'U32':
      return bytesOf(Uint32Array.from(d));
    case 'I64':
    case 'U64': {
      // Two int32 words per value: the value itself (low) and its sign extension (high).
      const words = new Int32Array(2 * d.length);
      for (let i = 0; i < d.length; i++) {
        words[2 * i] = d[i]!;
        words[2 * i + 1] = d[i]! < 0 ? -1 : 0;
      }
      return bytesOf(words);
    }
  }
}

/**
 * A whole safetensors file in one buffer (for the browser, tests and small files; ./node.ts streams large
 * ones to disk without building this). Example: `serializeSafetensors({ w: { shape: [2], data: Float32Array.of(1, 2) } })`.
 */
export function serializeSafetensors(tensors: TensorsToSave, metadata: Readonly<Record<string, string>> | null = { format: 'pt' }, fileName = '<buffer>'): Uint8Array {
  const plan = planSafetensors(tensors, metadata, fileName);
  const out = new Uint8Array(plan.fileLength);
  out.set(plan.header, 0);
  for (const t of plan.tensors) out.set(encodeTensor(t), plan.header.length + t.begin);
  return out;
}
