// The page's stand-in for `node:test` (describe / test / before), so the engine's own backend test files
// (test/backend/wasm-*.test.ts) run unchanged inside Chromium: scripts/build-browser.mjs points their
// `node:test` import here. Registering only collects the tests in order; backend_suite.ts runs them.
type Fn = () => unknown;
type Options = { skip?: boolean | string };

export interface RegisteredTest {
  name: string;
  fn: Fn;
  skip: boolean;
}

const registered: RegisteredTest[] = [];
const path: string[] = [];

function split(a: Options | Fn, b?: Fn): { opts: Options; fn: Fn } {
  return typeof a === 'function' ? { opts: {}, fn: a } : { opts: a, fn: b! };
}

export function describe(name: string, a: Options | Fn, b?: Fn): void {
  const { opts, fn } = split(a, b);
  path.push(name);
  const before = registered.length;
  fn();
  if (opts.skip) for (let i = before; i < registered.length; i++) registered[i]!.skip = true;
  path.pop();
}

export function test(name: string, a: Options | Fn, b?: Fn): void {
  const { opts, fn } = split(a, b);
  registered.push({ name: [...path, name].join(' › '), fn, skip: Boolean(opts.skip) });
}

export const it = test;

/** A `before` hook runs where it was declared: before the tests that follow it. */
export function before(fn: Fn): void {
  registered.push({ name: [...path, '(before)'].join(' › '), fn, skip: false });
}

export function registeredTests(): readonly RegisteredTest[] {
  return registered;
}
