// Node adapter for safetensors files on disk: read tensor by tensor, write tensor by tensor.
//
// Memory is the point. A GPT-2 124M checkpoint is ~500 MB. Reading it with readFileSync and then copying each
// tensor out would hold it twice (1 GB). Instead we read the 8-byte length, then the header, validate it, and
// read each tensor's byte range with fs.readSync straight into the typed array the engine will keep (for F32
// and I32 the file bytes *are* the values, so there is no conversion and no temporary). Peak memory is about
// one copy of the weights. Writing is the mirror image: the header, then each tensor's bytes handed to the
// file descriptor, never one giant concatenated buffer; the file appears atomically (temp file + rename).
//
// Does not handle: memory-mapping (Node has no mmap); concurrent writers of the same file (last rename wins).

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { writeAll, writeFileAtomicWith } from './atomic.js';
import {
  DTYPE_BYTES,
  SafetensorsError,
  decodeTensor,
  encodeTensor,
  placeFloats,
  readerOver,
  parseSafetensorsHeader,
  planSafetensors,
  safetensorsHeaderLength,
  type LoadedTensor,
  type SafetensorsContents,
  type SafetensorsHeader,
  type SafetensorsReader,
  type TensorData,
  type TensorInfo,
  type TensorsToSave,
} from './safetensors.js';

/** Read exactly `into.length` bytes at `position`, looping over short reads; an error names the file if it ends early. */
function readExactly(fd: number, into: Uint8Array, position: number, path: string, what: string): void {
  let done = 0;
  while (done < into.length) {
    // readSync reads at most ~2 GiB at a time and may return fewer bytes than asked; keep going.
    const chunk = Math.min(into.length - done, 1 << 30);
    const got = readSync(fd, into, done, chunk, position + done);
    if (got === 0) {
      throw new SafetensorsError(path, undefined, `file ended after ${position + done} bytes while reading ${what} (expected ${into.length} bytes at offset ${position}); was it truncated while being read?`);
    }
    done += got;
  }
}

/**
 * Open a safetensors file: read and validate its header only; tensors are read when you ask for them.
 * Call close() when done (loadSafetensorsFile does it for you).
 * Example: `const f = openSafetensorsFile('gpt2/model.safetensors'); const wte = f.get('wte.weight'); f.close();`
 */
export function openSafetensorsFile(path: string): SafetensorsReader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot open (${code || String(e)})`;
    throw new SafetensorsError(path, undefined, why);
  }
  let header: SafetensorsHeader;
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new SafetensorsError(path, undefined, 'is a directory, expected a .safetensors file');
    const fileLength = stat.size;
    const prefix = new Uint8Array(Math.min(8, fileLength));
    readExactly(fd, prefix, 0, path, 'the header length');
    const headerLength = safetensorsHeaderLength(prefix, fileLength, path); // checked against the file size first
    const head = new Uint8Array(8 + headerLength);
    readExactly(fd, head, 0, path, 'the header');
    header = parseSafetensorsHeader(head, path, fileLength);
  } catch (e) {
    closeSync(fd);
    if (e instanceof SafetensorsError) throw e;
    throw new SafetensorsError(path, undefined, `cannot read: ${(e as Error).message}`);
  }

  let open = true;
  return readerOver(
    header,
    (t, alloc) => {
      if (!open) throw new SafetensorsError(path, t.name, 'file was already closed');
      return readTensor(fd, header, t, path, alloc);
    },
    (t, into) => {
      if (!open) throw new SafetensorsError(path, t.name, 'file was already closed');
      readExactly(fd, into, header.dataStart + t.begin, path, `tensor ${JSON.stringify(t.name)}`);
    },
    () => {
      if (open) closeSync(fd);
      open = false;
    },
  );
}

/**
 * Read one tensor's bytes into its final array (F32/I32: directly; other dtypes: via one temporary). With
 * `alloc`, float values go into the array it returns (F32: read straight into it).
 */
function readTensor(fd: number, header: SafetensorsHeader, t: TensorInfo, path: string, alloc?: (n: number) => Float32Array): TensorData {
  const position = header.dataStart + t.begin;
  const what = `tensor ${JSON.stringify(t.name)}`;
  if (t.dtype === 'F32' || t.dtype === 'I32') {
    const out = t.dtype === 'F32' ? (alloc ? alloc(t.numel) : new Float32Array(t.numel)) : new Int32Array(t.numel);
    readExactly(fd, new Uint8Array(out.buffer, out.byteOffset, out.byteLength), position, path, what); // the file bytes are the values
    return out;
  }
  const raw = new Uint8Array(t.numel * DTYPE_BYTES[t.dtype]);
  readExactly(fd, raw, position, path, what);
  const data = decodeTensor(t, raw, path, { copy: false }); // raw is ours alone, so BOOL may keep it
  return alloc && data instanceof Float32Array ? placeFloats(data, alloc) : data;
}

/**
 * Read every tensor of a safetensors file (or only `names`), each into its own typed array.
 * Example: `const { tensors, metadata } = loadSafetensorsFile('gpt2/model.safetensors');`
 */
export function loadSafetensorsFile(path: string, opts: { names?: readonly string[] } = {}): SafetensorsContents {
  const reader = openSafetensorsFile(path);
  try {
    const tensors = new Map<string, LoadedTensor>();
    for (const name of opts.names ?? reader.names()) tensors.set(name, reader.get(name));
    return { tensors, metadata: { ...reader.metadata } };
  } finally {
    reader.close();
  }
}

/**
 * Write a safetensors file atomically, streaming: header first, then each tensor's bytes (converted one
 * tensor at a time when saving as F16/BF16/...). A crash leaves the old file (or none), never half a file.
 * Example: `saveSafetensorsFile('out/model.safetensors', { 'wte.weight': { shape: [V, C], data } })`.
 */
export function saveSafetensorsFile(path: string, tensors: TensorsToSave, metadata: Readonly<Record<string, string>> | null = { format: 'pt' }): void {
  const plan = planSafetensors(tensors, metadata, path); // validates everything before the file is touched
  writeFileAtomicWith(path, (fd) => {
    writeAll(fd, plan.header);
    for (const t of plan.tensors) writeAll(fd, encodeTensor(t));
  });
}
