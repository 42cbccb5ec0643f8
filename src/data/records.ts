// Rows of named fields, from JSON Lines or CSV: the common ground of every task reader.
//
//   train.jsonl   {"text": "great film", "label": "pos"}        one JSON object per line
//   train.csv     text,label                                     a header row, then one record per row
//                 great film,pos
//
// Both become `{ record: { text: 'great film', label: 'pos' }, line: 2 }` (CSV values are always strings,
// JSON values keep their types). The task readers (classification.ts, token_classification.ts, seq2seq.ts)
// then pull their fields out with `field()`, which names the file, line and field when one is missing or has
// the wrong type. A field name may be a dotted path into nested objects: "translation.en" reads
// {"translation": {"en": "..."}} (the Hugging Face translation layout), unless the record has a key that is
// literally "translation.en".

import { parseCsv } from './csv.js';
import { DataError, describeValue } from './errors.js';
import { checkJson } from '../io/json.js';

/** One row: its named fields and the 1-based line it starts on. */
export interface SourceRecord {
  record: Record<string, unknown>;
  line: number;
}

/** The formats a row file can have. */
export type RecordFormat = 'jsonl' | 'csv' | 'tsv';

export interface ReadRecordsOptions {
  /** File name for error messages. Default '<input>'. */
  source?: string;
  /** 'jsonl' (default), 'csv' or 'tsv'. */
  format?: RecordFormat;
}

/**
 * JSON Lines: each non-blank line is one JSON object. Example:
 * `parseJsonl('{"a":1}\n\n{"a":2}\n')` → `[{record:{a:1},line:1}, {record:{a:2},line:3}]`.
 * Does not handle: JSON values spread over several lines (that is a .json file, not .jsonl).
 */
export function parseJsonl(text: string, source = '<input>'): SourceRecord[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: SourceRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      const problem = checkJson(raw).problem;
      const why = problem ? `${problem.message} at column ${problem.column}` : err instanceof Error ? err.message : String(err);
      throw new DataError(source, i + 1, `not valid JSON: ${why}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DataError(source, i + 1, `expected a JSON object ({"field": value, ...}), got ${describeValue(value)}`);
    }
    out.push({ record: value as Record<string, unknown>, line: i + 1 });
  }
  return out;
}

/**
 * CSV (or TSV) with a header row → one record per data row, keyed by the header's names.
 * Example: `parseCsvRecords('text,label\nhi,1\n')` → `[{record:{text:'hi',label:'1'},line:2}]`.
 */
export function parseCsvRecords(text: string, source = '<input>', delimiter = ','): SourceRecord[] {
  const rows = parseCsv(text, { source, delimiter });
  if (rows.length === 0) return [];
  const header = rows[0].fields;
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new DataError(source, rows[0].line, `the header names field ${JSON.stringify(name)} twice`);
    seen.add(name);
  }
  return rows.slice(1).map((r) => {
    const record: Record<string, unknown> = {};
    header.forEach((name, k) => (record[name] = r.fields[k]));
    return { record, line: r.line };
  });
}

/** Rows of a JSONL, CSV or TSV text. Example: `readRecords(text, { source: 'train.csv', format: 'csv' })`. */
export function readRecords(text: string, options: ReadRecordsOptions = {}): SourceRecord[] {
  const source = options.source ?? '<input>';
  switch (options.format ?? 'jsonl') {
    case 'jsonl':
      return parseJsonl(text, source);
    case 'csv':
      return parseCsvRecords(text, source, ',');
    case 'tsv':
      return parseCsvRecords(text, source, '\t');
    default:
      throw new Error(`readRecords: format must be 'jsonl', 'csv' or 'tsv', got ${JSON.stringify(options.format)}`);
  }
}

/** The value at `name` (a key, or a dotted path into nested objects); undefined when absent. */
export function lookup(record: Record<string, unknown>, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(record, name)) return record[name];
  if (!name.includes('.')) return undefined;
  let v: unknown = record;
  for (const part of name.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/**
 * A string field, or a DataError naming file, line and field. With `optional`, a missing field (or null, or an
 * empty CSV cell) gives undefined. Example: `stringField(row, 'text', 'train.jsonl')`.
 */
export function stringField(row: SourceRecord, name: string, source: string, optional = false): string | undefined {
  const v = lookup(row.record, name);
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw new DataError(source, row.line, `field ${JSON.stringify(name)} is missing${fieldHint(row.record)}`);
  }
  if (typeof v !== 'string') throw new DataError(source, row.line, `field ${JSON.stringify(name)} must be a string, got ${describeValue(v)}`);
  return v;
}

/** " (the row has fields a, b)" — helps when a configured field name is simply wrong. */
export function fieldHint(record: Record<string, unknown>): string {
  const keys = Object.keys(record);
  return keys.length > 0 ? ` (this row has ${keys.map((k) => JSON.stringify(k)).join(', ')})` : ' (this row is empty)';
}
