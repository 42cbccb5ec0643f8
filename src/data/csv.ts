// CSV as RFC 4180 writes it: records separated by line breaks, fields by commas, a field that holds a comma,
// a quote or a line break is wrapped in double quotes, and a quote inside such a field is written twice.
//
//   text,label                         header row: the field names
//   "Hello, world",positive            a quoted field keeps its comma
//   "She said ""hi""",neutral          "" inside quotes is one "
//   "two
//   lines",negative                    a quoted field may span lines (the record starts on line 4)
//
// The parser is a small state machine over the characters, one pass, no regular expressions. Each record
// remembers the physical line it starts on, so errors further up say `train.csv line 4: ...`.
//
// Lenient where Python's csv module is (a quote in the middle of an unquoted field is kept as a character:
// 5'11" is a valid field) and strict where data would silently change: text after a closing quote
// ("abc"def), a quoted field that never ends, and records with the wrong number of fields are errors.
// Blank lines are skipped. A UTF-8 byte order mark at the start is dropped.
// Does not handle: other quote characters, escape characters (\"), comment lines.

import { DataError } from './errors.js';

/** One record: its fields and the 1-based line it starts on. */
export interface CsvRecord {
  fields: string[];
  line: number;
}

export interface CsvOptions {
  /** File name for error messages. Default '<input>'. */
  source?: string;
  /** Field separator, one character. Default ','; use '\t' for TSV. */
  delimiter?: string;
}

/**
 * Split CSV text into records (the header is the first record). Every record must have as many fields as
 * the first one. Example: `parseCsv('a,b\n"x,y",2\n')` → `[{fields:['a','b'],line:1}, {fields:['x,y','2'],line:2}]`.
 */
export function parseCsv(text: string, options: CsvOptions = {}): CsvRecord[] {
  const source = options.source ?? '<input>';
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new Error(`parseCsv: delimiter must be one character other than a quote or a line break, got ${JSON.stringify(delimiter)}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1; // the physical line the scanner is on
  let recordLine = 1; // the line the current record started on
  let quoteLine = 0; // where the open quoted field started (for the "never closed" error)
  // States: at the start of a field, inside an unquoted field, inside a quoted field, just after a quote
  // inside a quoted field (either the closing quote or the first of a doubled "").
  let state: 'start' | 'plain' | 'quoted' | 'quote' = 'start';
  let blank = true; // the current record has no characters yet (so a line break ends a blank line)

  const endField = (): void => {
    fields.push(field);
    field = '';
  };
  const endRecord = (): void => {
    endField();
    if (!(blank && fields.length === 1)) records.push({ fields, line: recordLine });
    fields = [];
    blank = true;
  };

  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const isBreak = c === '\n' || c === '\r';
    if (state === 'quoted') {
      if (c === '"') state = 'quote';
      else {
        field += c;
        if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
      }
      continue;
    }
    if (state === 'quote') {
      if (c === '"') {
        field += '"'; // "" inside quotes
        state = 'quoted';
        continue;
      }
      if (c !== delimiter && !isBreak) {
        throw new DataError(
          source,
          line,
          `text after the closing quote of field ${fields.length + 1} (${JSON.stringify(text.slice(i, i + 20))}); ` +
            'inside a quoted field write a quote as ""',
        );
      }
      state = 'plain'; // fall through: the delimiter or line break is handled below
    }
    if (c === delimiter) {
      endField();
      blank = false;
      state = 'start';
    } else if (isBreak) {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
      state = 'start';
    } else if (c === '"' && state === 'start') {
      state = 'quoted';
      quoteLine = line;
      blank = false;
    } else {
      field += c;
      blank = false;
      state = 'plain';
    }
  }
  if (state === 'quoted') {
    throw new DataError(source, quoteLine, `a quoted field (field ${fields.length + 1}) is never closed; the file ends inside it`);
  }
  if (!blank || fields.length > 0) endRecord();

  const width = records[0]?.fields.length ?? 0;
  for (const r of records) {
    if (r.fields.length !== width) {
      throw new DataError(
        source,
        r.line,
        `expected ${width} fields (${records[0].fields.join(options.delimiter ?? ',')}), got ${r.fields.length}` +
          (r.fields.length > width ? '; a field with the delimiter in it must be quoted' : ''),
      );
    }
  }
  return records;
}
