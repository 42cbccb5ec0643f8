// The JSON checker: its verdict must agree with JSON.parse (the outside oracle) on valid and invalid texts,
// its positions must point at the offending character, and it must find repeated keys that JSON.parse hides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkJson, parseJson, JsonSyntaxError } from '../../src/io/json.js';
import { rng, randInt, errorOf } from './helpers.js';

test('positions and messages of common mistakes', () => {
  // [text, position of the problem, a phrase the message must contain]
  const cases: [string, number, string][] = [
    ['{"a":}', 5, "expected a JSON value but found '}'"],
    ['{"a":1', 6, "unexpected end of input: expected '}'"],
    ['{"a":1,}', 7, 'trailing comma?'],
    ['[1,2,]', 5, 'trailing comma?'],
    ['{"a" 1}', 5, "expected ':'"],
    ['{"a":1 "b":2}', 7, "expected ',' or '}'"],
    ['{a:1}', 1, 'expected a string key'],
    ['', 0, 'unexpected end of input'],
    ['{"a":1}x', 7, "unexpected 'x' after the end"],
    ['{"a":"x\ny"}', 7, 'control character U+000A inside a string'],
    ['{"a":"\\x"}', 6, 'invalid escape \\x'],
    ['{"a":"\\u12G4"}', 6, '\\u must be followed by 4 hex digits'],
    ['{"a":01}', 6, "expected ',' or '}'"], // leading zeros: "0" is a number, then "1" is unexpected
    ['{"a":1.}', 7, "expected a digit after '.'"],
    ['{"a":-}', 6, "expected a digit after '-'"],
    ['{"a":1e}', 7, 'expected a digit in the exponent'],
    ['{"a":tru}', 5, 'expected a JSON value'],
    ['{"a":"abc', 5, 'unterminated string'],
    ['\n\n  {"a": NaN}', 10, "found 'N'"],
  ];
  for (const [text, position, phrase] of cases) {
    assert.throws(() => JSON.parse(text), SyntaxError, `oracle: ${JSON.stringify(text)} must be invalid`);
    const { problem } = checkJson(text);
    assert.ok(problem, `no problem found in ${JSON.stringify(text)}`);
    assert.equal(problem.position, position, `position in ${JSON.stringify(text)}: ${problem.message}`);
    assert.ok(problem.message.includes(phrase), `${JSON.stringify(text)}: "${problem.message}" should contain "${phrase}"`);
  }
  const last = checkJson('\n\n  {"a": NaN}').problem!;
  assert.equal(last.line, 3);
  assert.equal(last.column, 9);
});

test('valid texts pass, including escapes, numbers and nesting', () => {
  const valid = ['{}', '[]', '0', '-0.5e+10', '"x"', 'true', ' null ', '{"a":[1,{"b":"\\u00e9\\n\\"q\\""}],"c":false}', '[1E5, -1.25e-3, 0.0]', '"😀"'];
  for (const text of valid) {
    assert.doesNotThrow(() => JSON.parse(text), `oracle: ${text}`);
    assert.equal(checkJson(text).problem, null, text);
  }
});

test('finds repeated keys that JSON.parse silently drops, with the path to their object', () => {
  const text = '{"x": {"dtype": "F32", "shape": [1], "dtype": "F16"}, "y": 1}';
  assert.deepEqual(JSON.parse(text).x.dtype, 'F16'); // the oracle keeps the last one without complaint
  const d = checkJson(text).duplicate!;
  assert.equal(d.key, 'dtype');
  assert.deepEqual(d.path, ['x']);
  assert.equal(d.firstPosition, text.indexOf('"dtype"'));
  assert.equal(d.position, text.lastIndexOf('"dtype"'));
  // Same key spelled with an escape is still the same key.
  const escaped = checkJson('{"ab": 1, "a\\u0062": 2}').duplicate!;
  assert.equal(escaped.key, 'ab');
  assert.deepEqual(escaped.path, []);
  // Equal keys in different objects are fine.
  assert.equal(checkJson('{"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 1}, {"k": 2}]}').duplicate, null);
});

test('agrees with JSON.parse on 20 000 random texts', () => {
  const r = rng(7);
  const atoms = ['{', '}', '[', ']', ',', ':', '"a"', '"b"', '1', '-2.5e3', 'true', 'null', ' ', '"\\u00', '"\\n"', '0', '.', 'e', '"', '\\', '-', 'x', '\n'];
  for (let i = 0; i < 20000; i++) {
    let text = '';
    const len = randInt(r, 0, 12);
    for (let k = 0; k < len; k++) text += atoms[randInt(r, 0, atoms.length - 1)];
    let oracleValid = true;
    try {
      JSON.parse(text);
    } catch {
      oracleValid = false;
    }
    const { problem } = checkJson(text);
    assert.equal(problem === null, oracleValid, `${JSON.stringify(text)}: JSON.parse says ${oracleValid ? 'valid' : 'invalid'}, checker says ${problem?.message ?? 'valid'}`);
  }
});

test('a million levels of nesting neither overflows the stack nor hides the error', () => {
  const deep = '['.repeat(1_000_000) + ']'.repeat(999_999);
  const { problem } = checkJson(deep);
  assert.ok(problem?.message.includes("expected ']'"), problem?.message);
  assert.equal(checkJson('['.repeat(100_000) + ']'.repeat(100_000)).problem, null);
});

test('parseJson names the source, line and column', () => {
  const err = errorOf(() => parseJson('{\n  "a": 1\n  "b": 2\n}', 'config /m/config.json'));
  assert.ok(err instanceof JsonSyntaxError);
  assert.equal(err.message, `config /m/config.json is not valid JSON: expected ',' or '}' after a value but found '"' at line 3, column 3 (character 13)`);
  assert.deepEqual(parseJson('{"a": [1, 2]}', 'x'), { a: [1, 2] });
});
