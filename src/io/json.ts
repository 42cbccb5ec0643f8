// A small JSON checker that says *where* a text stops being JSON and which object keys appear twice.
//
// Why not just JSON.parse? Two gaps matter for files users hand us:
//   1. JSON.parse's error messages do not always say where the problem is (V8 prints `Unexpected token '}',
//      "{"a":}" is not valid JSON` with no position), and "line 3, column 7" is what a person needs.
//   2. JSON.parse silently keeps the *last* of two equal keys. In a safetensors header that means a file that
//      names the same tensor twice loads as if the first entry did not exist; we want to refuse such a file.
// So the file layer parses with JSON.parse (fast, native) and runs this checker to explain failures and to
// find duplicate keys. The checker follows the grammar of RFC 8259 exactly and keeps its own stack (no
// recursion), so a hostile text nested a million levels deep cannot overflow the call stack.
//
// Does not handle: building values (that is JSON.parse's job); positions are UTF-16 code-unit offsets into
// the string, as JSON.parse uses, with 1-based line and column numbers.

/** Where and why a text is not JSON. */
export interface JsonProblem {
  message: string;
  position: number; // 0-based offset into the text (UTF-16 code units)
  line: number; // 1-based
  column: number; // 1-based
}

/** A key that appears twice in the same object. `path` is the chain of keys/indices leading to that object. */
export interface JsonDuplicateKey {
  key: string;
  path: (string | number)[];
  position: number; // of the second occurrence
  firstPosition: number;
  line: number;
  column: number;
}

export interface JsonCheck {
  problem: JsonProblem | null; // the first syntax error, or null when the text is valid JSON
  duplicate: JsonDuplicateKey | null; // the first repeated key (only looked for while the text is valid so far)
}

/** 1-based line and column of `position` in `text`. Example: `lineAndColumn('{\n  x', 4)` → `{ line: 2, column: 3 }`. */
export function lineAndColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(position, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10 /* \n */) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: position - lineStart + 1 };
}

/** Describe the character at `i` for an error message: `'}'`, `end of input`, `U+0007`. */
function describeChar(text: string, i: number): string {
  if (i >= text.length) return 'end of input';
  const code = text.charCodeAt(i);
  if (code < 0x20 || code === 0x7f) return `control character U+${code.toString(16).padStart(4, '0').toUpperCase()}`;
  return `'${String.fromCodePoint(text.codePointAt(i)!)}'`;
}

// One open object or array. `keyInParent` is the key (or index) under which it sits in the enclosing
// container, so the stack itself spells the path to the current position.
type Frame =
  | { kind: 'object'; keys: Map<string, number>; keyInParent: string | number; lastKey: string }
  | { kind: 'array'; keyInParent: string | number; count: number };

// What the checker expects next.
type State =
  | 'value' // any JSON value
  | 'firstKeyOrEnd' // just after '{'
  | 'key' // just after ',' inside an object
  | 'colon' // just after a key
  | 'firstValueOrEnd' // just after '['
  | 'commaOrEnd' // just after a value inside an object or array
  | 'done'; // the top-level value is complete; only whitespace may follow

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d; // space, tab, \n, \r (RFC 8259)
}
function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}
function isHexDigit(code: number): boolean {
  return isDigit(code) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

/**
 * Check `text` against the JSON grammar and look for repeated keys.
 * Example: `checkJson('{"a": 1,}').problem?.message` → `expected a string key after ',' but found '}' (trailing comma?)`.
 */
export function checkJson(text: string): JsonCheck {
  const n = text.length;
  const stack: Frame[] = [];
  let state: State = 'value';
  let i = 0;
  let duplicate: JsonDuplicateKey | null = null;

  const fail = (message: string, position: number): JsonCheck => ({
    problem: { message, position, ...lineAndColumn(text, position) },
    duplicate,
  });

  // Scan a string starting at the opening quote; returns the index just past the closing quote, or a problem.
  const scanString = (start: number): number | JsonCheck => {
    let j = start + 1;
    for (;;) {
      if (j >= n) return fail('unterminated string (missing closing \'"\')', start);
      const c = text.charCodeAt(j);
      if (c === 0x22 /* " */) return j + 1;
      if (c < 0x20) return fail(`${describeChar(text, j)} inside a string (it must be written as an escape such as \\n)`, j);
      if (c === 0x5c /* \ */) {
        const e = text.charCodeAt(j + 1);
        if (e === 0x75 /* u */) {
          for (let k = j + 2; k < j + 6; k++) {
            if (k >= n || !isHexDigit(text.charCodeAt(k))) return fail('\\u must be followed by 4 hex digits', j);
          }
          j += 6;
        } else if (j + 1 < n && '"\\/bfnrt'.includes(text[j + 1]!)) {
          j += 2;
        } else {
          return fail(`invalid escape \\${j + 1 < n ? text[j + 1] : ''} in a string (allowed: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)`, j);
        }
      } else {
        j++;
      }
    }
  };

  // Scan a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  const scanNumber = (start: number): number | JsonCheck => {
    let j = start;
    if (text.charCodeAt(j) === 0x2d /* - */) j++;
    if (text.charCodeAt(j) === 0x30 /* 0 */) {
      j++;
    } else if (isDigit(text.charCodeAt(j))) {
      while (isDigit(text.charCodeAt(j))) j++;
    } else {
      return fail(`invalid number: expected a digit after '-' but found ${describeChar(text, j)}`, j);
    }
    if (text.charCodeAt(j) === 0x2e /* . */) {
      j++;
      if (!isDigit(text.charCodeAt(j))) return fail(`invalid number: expected a digit after '.' but found ${describeChar(text, j)}`, j);
      while (isDigit(text.charCodeAt(j))) j++;
    }
    const e = text.charCodeAt(j);
    if (e === 0x65 || e === 0x45 /* e E */) {
      j++;
      const s = text.charCodeAt(j);
      if (s === 0x2b || s === 0x2d /* + - */) j++;
      if (!isDigit(text.charCodeAt(j))) return fail(`invalid number: expected a digit in the exponent but found ${describeChar(text, j)}`, j);
      while (isDigit(text.charCodeAt(j))) j++;
    }
    return j;
  };

  // After a complete value: inside a container we expect ',' or its end; at the top level, nothing more.
  const afterValue = (): State => (stack.length > 0 ? 'commaOrEnd' : 'done');
  // The key or index a new container opened now will have in its parent.
  const keyForChild = (): string | number => {
    const top = stack[stack.length - 1];
    if (top === undefined) return '';
    return top.kind === 'object' ? top.lastKey : top.count;
  };
  const pathOfTop = (): (string | number)[] => stack.slice(1).map((f) => f.keyInParent);

  for (;;) {
    while (i < n && isWhitespace(text.charCodeAt(i))) i++;
    if (i >= n) {
      if (state === 'done') return { problem: null, duplicate };
      const open = stack[stack.length - 1];
      const what = open === undefined ? 'a JSON value' : open.kind === 'object' ? "'}' to close an object" : "']' to close an array";
      return fail(`unexpected end of input: expected ${what}`, n);
    }
    const c = text.charCodeAt(i);

    if (state === 'done') return fail(`unexpected ${describeChar(text, i)} after the end of the JSON value`, i);

    if (state === 'colon') {
      if (c !== 0x3a /* : */) return fail(`expected ':' after an object key but found ${describeChar(text, i)}`, i);
      i++;
      state = 'value';
      continue;
    }

    if (state === 'commaOrEnd') {
      const top = stack[stack.length - 1]!;
      const close = top.kind === 'object' ? 0x7d /* } */ : 0x5d; /* ] */
      if (c === 0x2c /* , */) {
        i++;
        state = top.kind === 'object' ? 'key' : 'value';
        if (top.kind === 'array') top.count++;
        continue;
      }
      if (c === close) {
        i++;
        stack.pop();
        state = afterValue();
        continue;
      }
      return fail(`expected ',' or '${top.kind === 'object' ? '}' : ']'}' after a value but found ${describeChar(text, i)}`, i);
    }

    if (state === 'firstKeyOrEnd' || state === 'key') {
      if (c === 0x7d /* } */ && state === 'firstKeyOrEnd') {
        i++;
        stack.pop();
        state = afterValue();
        continue;
      }
      if (c !== 0x22 /* " */) {
        const hint = c === 0x7d && state === 'key' ? ' (trailing comma?)' : '';
        const after = state === 'key' ? "after ','" : "after '{'";
        return fail(`expected a string key ${after} but found ${describeChar(text, i)}${hint}`, i);
      }
      const end = scanString(i);
      if (typeof end !== 'number') return end;
      const raw = text.slice(i + 1, end - 1);
      const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end)) as string) : raw; // decode escapes
      const top = stack[stack.length - 1]!;
      if (top.kind === 'object') {
        const first = top.keys.get(key);
        if (first !== undefined && duplicate === null) {
          duplicate = { key, path: pathOfTop(), position: i, firstPosition: first, ...lineAndColumn(text, i) };
        } else if (first === undefined) {
          top.keys.set(key, i);
        }
        top.lastKey = key;
      }
      i = end;
      state = 'colon';
      continue;
    }

    // state is 'value' or 'firstValueOrEnd'
    if (c === 0x5d /* ] */ && state === 'firstValueOrEnd') {
      i++;
      stack.pop();
      state = afterValue();
      continue;
    }
    if (c === 0x7b /* { */) {
      stack.push({ kind: 'object', keys: new Map(), keyInParent: keyForChild(), lastKey: '' });
      i++;
      state = 'firstKeyOrEnd';
    } else if (c === 0x5b /* [ */) {
      stack.push({ kind: 'array', keyInParent: keyForChild(), count: 0 });
      i++;
      state = 'firstValueOrEnd';
    } else if (c === 0x22 /* " */) {
      const end = scanString(i);
      if (typeof end !== 'number') return end;
      i = end;
      state = afterValue();
    } else if (c === 0x2d || isDigit(c)) {
      const end = scanNumber(i);
      if (typeof end !== 'number') return end;
      i = end;
      state = afterValue();
    } else if (text.startsWith('true', i) || text.startsWith('null', i)) {
      i += 4;
      state = afterValue();
    } else if (text.startsWith('false', i)) {
      i += 5;
      state = afterValue();
    } else {
      const top = stack[stack.length - 1];
      const hint = c === 0x5d && top?.kind === 'array' ? ' (trailing comma?)' : '';
      return fail(`expected a JSON value but found ${describeChar(text, i)}${hint}`, i);
    }
  }
}

/** Error for text that is not valid JSON; the message names the source and the line and column. */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
  constructor(
    readonly source: string,
    readonly problem: JsonProblem,
  ) {
    super(`${source} is not valid JSON: ${problem.message} at line ${problem.line}, column ${problem.column} (character ${problem.position})`);
  }
}

/**
 * JSON.parse with an error that says where: `parseJson(text, 'config.json')` throws
 * `config.json is not valid JSON: expected ',' or '}' after a value but found '"' at line 3, column 5 (character 27)`.
 * Duplicate keys are allowed here (last one wins, as in JSON.parse and Python's json); use checkJson to find them.
 */
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const { problem } = checkJson(text);
    // If our checker disagrees with V8 (it should not), fall back to V8's own message rather than lose it.
    const fallback = { message: err instanceof Error ? err.message : String(err), position: 0, line: 1, column: 1 };
    throw new JsonSyntaxError(source, problem ?? fallback);
  }
}
