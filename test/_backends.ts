// Runs a test suite once per registered backend (tfjs-style: one suite, every backend).
//
// The 'js' reference backend is always registered. The Node platform adapter (src/platform/node.ts), when it
// has been built, registers 'wasm' as a side effect of being imported; we import it here if its compiled file
// exists, so suites written with forEachBackend pick up new backends without changes. An adapter that exists
// but fails to import fails the suite loudly instead of being skipped.
import { existsSync } from 'node:fs';
import { describe, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { availableBackends, setBackend } from '../src/backend/index.js';

// Resolved against this compiled file: dist/test/_backends.js → dist/src/platform/node.js.
const platformAdapter = new URL('../src/platform/node.js', import.meta.url);
if (existsSync(fileURLToPath(platformAdapter))) {
  await import(platformAdapter.href);
}

/** Names of every backend the tests will run on. */
export function backendNames(): string[] {
  return availableBackends();
}

/**
 * `forEachBackend((name) => { test('matmul', …) })` declares the suite once per backend, each inside a
 * describe block that switches to that backend before its tests run.
 */
export function forEachBackend(fn: (name: string) => void): void {
  for (const name of availableBackends()) {
    describe(`backend '${name}'`, () => {
      before(() => {
        setBackend(name);
      });
      fn(name);
    });
  }
}
