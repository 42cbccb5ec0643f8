// The one error type of the data layer: bad input named by file, line and field, so a person can open the
// file and fix it.
//
//   train.jsonl line 17: field "label" is missing
//   dev.csv line 4: expected 3 fields (text,text_pair,label), got 2
//   squad.json: question "56be4db0acb8001400a502ec": answer "Denver Broncos" is not at answer_start 177 (the context there reads "Carolina Panthers")
//
// The CLI prints `message` alone (no stack trace) for a DataError: the message is the whole story.

/** Bad input data. `source` is the file name (or '<input>'), `line` is 1-based, or 0 when no line applies. */
export class DataError extends Error {
  override name = 'DataError';
  constructor(
    readonly source: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(line > 0 ? `${source} line ${line}: ${detail}` : `${source}: ${detail}`);
  }
}

/** A value as it reads in an error message: strings quoted, long ones cut, other types named. */
export function describeValue(value: unknown, max = 60): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const s = JSON.stringify(value.length > max ? value.slice(0, max) + '…' : value);
    return `string ${s}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return 'an object';
}
