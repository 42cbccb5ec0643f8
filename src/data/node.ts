// Node-only: read data files from disk and hand their text to the browser-safe parsers in this folder.
// The format comes from the file extension; every error names the file as the user wrote its path.
//
//   const train = loadTextClassification('data/train.csv');           // .jsonl .csv .tsv
//   const ner = loadTokenClassification('data/train.conll');          // .conll .txt .iob .bio, or .jsonl
//   const squad = loadSquad('data/dev-v2.0.json');
//   const pairs = loadSeq2Seq('data/train.jsonl', { sourceField: 'translation.de', targetField: 'translation.en' });

import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { readTextClassification, type ReadTextClassificationOptions, type TextClassificationExample } from './classification.js';
import { DataError } from './errors.js';
import type { RecordFormat } from './records.js';
import { readSeq2Seq, type ReadSeq2SeqOptions, type Seq2SeqExample } from './seq2seq.js';
import { readSquad, type QAExample, type ReadSquadOptions } from './squad.js';
import { parseConll, readTokenTagsJsonl, type ReadConllOptions, type ReadTokenTagsOptions, type TokenClassificationExample } from './token_classification.js';

/**
 * The UTF-8 text of a data file. A missing file, or bytes that are not UTF-8 (a CSV saved as Latin-1 or
 * UTF-16), is a DataError naming the file and the line. Example: `readDataFile('train.jsonl')`.
 */
export function readDataFile(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(path, 0, code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${code ?? String(err)})`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    let line = 1;
    for (let i = 0; i < bad; i++) if (bytes[i] === 0x0a) line++;
    throw new DataError(path, line, `is not valid UTF-8 (byte 0x${bytes[bad]?.toString(16).padStart(2, '0')}); save the file as UTF-8`);
  }
}

/**
 * Index of the first byte that starts an invalid UTF-8 sequence (bytes.length if none). A sequence is a lead
 * byte 0xxxxxxx, 110xxxxx, 1110xxxx or 11110xxx followed by 0, 1, 2 or 3 bytes 10xxxxxx, not overlong, not a
 * surrogate (U+D800..DFFF) and not above U+10FFFF: the rules TextDecoder's fatal mode applies.
 */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let n: number; // continuation bytes
    let min: number; // smallest code point this length may encode (no overlong forms)
    let cp: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b < 0xe0) [n, min, cp] = [1, 0x80, b & 0x1f];
    else if (b >= 0xe0 && b < 0xf0) [n, min, cp] = [2, 0x800, b & 0x0f];
    else if (b >= 0xf0 && b < 0xf5) [n, min, cp] = [3, 0x10000, b & 0x07];
    else return i;
    if (i + n >= bytes.length) return i; // the sequence is cut off by the end of the file
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return bytes.length;
}

/** 'jsonl' | 'csv' | 'tsv' from a file name, or a DataError listing what is supported. */
export function recordFormatOf(path: string): RecordFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv') return 'tsv';
  throw new DataError(path, 0, `cannot tell the format from the extension ${JSON.stringify(ext)}; use .jsonl, .csv or .tsv`);
}

/** Read a text classification file (.jsonl, .csv, .tsv). Example: `loadTextClassification('train.csv', { labelField: 'sentiment' })`. */
export function loadTextClassification(path: string, options: Omit<ReadTextClassificationOptions, 'source'> = {}): TextClassificationExample[] {
  return readTextClassification(readDataFile(path), { ...options, source: path, format: options.format ?? recordFormatOf(path) });
}

/**
 * Read a token classification file: .jsonl ({tokens, tags}) or CoNLL columns (.conll, .txt, .iob, .bio, ...).
 * Example: `loadTokenClassification('eng.train')` (any extension other than .jsonl is read as CoNLL).
 */
export function loadTokenClassification(path: string, options: Omit<ReadTokenTagsOptions & ReadConllOptions, 'source'> = {}): TokenClassificationExample[] {
  const text = readDataFile(path);
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return readTokenTagsJsonl(text, { ...options, source: path });
  return parseConll(text, { requireTags: options.requireTags, source: path });
}

/** Read a SQuAD v1.1 / v2.0 JSON file. Example: `loadSquad('dev-v1.1.json')`. */
export function loadSquad(path: string, options: Omit<ReadSquadOptions, 'source'> = {}): QAExample[] {
  return readSquad(readDataFile(path), { ...options, source: path });
}

/** Read a source/target file (.jsonl, .csv, .tsv). Example: `loadSeq2Seq('train.jsonl', { prefix: 'summarize: ' })`. */
export function loadSeq2Seq(path: string, options: Omit<ReadSeq2SeqOptions, 'source'> = {}): Seq2SeqExample[] {
  return readSeq2Seq(readDataFile(path), { ...options, source: path, format: options.format ?? recordFormatOf(path) });
}
