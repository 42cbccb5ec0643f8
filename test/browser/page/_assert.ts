// The page's stand-in for `node:assert/strict`: the assertions the engine's backend tests use (ok, equal,
// deepEqual, fail, throws with a RegExp), with node's strict semantics, so those files run unchanged inside
// Chromium (scripts/build-browser.mjs points their import here).

export class AssertionError extends Error {
  override name = 'AssertionError';
}

function show(v: unknown): string {
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<number>).length})`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function ok(value: unknown, message?: string): void {
  if (!value) throw new AssertionError(message ?? `expected a truthy value, got ${show(value)}`);
}

function equal(actual: unknown, expected: unknown, message?: string): void {
  if (!Object.is(actual, expected)) throw new AssertionError(message ?? `${show(actual)} !== ${show(expected)}`);
}

function notEqual(actual: unknown, expected: unknown, message?: string): void {
  if (Object.is(actual, expected)) throw new AssertionError(message ?? `expected a value other than ${show(expected)}`);
}

/** Strict deep equality: same prototype, same own keys, Object.is on primitives (typed arrays element-wise). */
function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (ArrayBuffer.isView(a)) {
    const x = a as unknown as ArrayLike<number>;
    const y = b as unknown as ArrayLike<number>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true;
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !same(v, b.get(k))) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function deepEqual(actual: unknown, expected: unknown, message?: string): void {
  if (!same(actual, expected)) throw new AssertionError(message ?? `not deeply equal: ${show(actual)} vs ${show(expected)}`);
}

function fail(message?: string): never {
  throw new AssertionError(message ?? 'failed');
}

function match(s: string, re: RegExp, message?: string): void {
  if (!re.test(s)) throw new AssertionError(message ?? `${show(s)} does not match ${re}`);
}

/** As node: a RegExp is tested against String(error) ("Error: message"). */
function throws(fn: () => unknown, expected?: RegExp | ((e: unknown) => boolean), message?: string): void {
  try {
    fn();
  } catch (e) {
    if (expected instanceof RegExp && !expected.test(String(e))) throw new AssertionError(message ?? `the error ${show(String(e))} does not match ${expected}`);
    if (typeof expected === 'function' && expected(e) !== true) throw new AssertionError(message ?? `the error ${show(String(e))} failed the validation function`);
    return;
  }
  throw new AssertionError(message ?? 'expected the function to throw');
}

const assert = Object.assign(ok, { ok, equal, strictEqual: equal, notEqual, deepEqual, deepStrictEqual: deepEqual, fail, match, throws, AssertionError });
export default assert;
export { ok, equal, notEqual, deepEqual, fail, match, throws };
