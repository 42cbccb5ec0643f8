// The engine's backend-comparison tests inside Chromium: test/backend/wasm-matmul, wasm-attention and
// wasm-rows (the WASM kernels of both builds, on one thread and on two Web Worker threads, against the
// reference 'js' backend, plus their hand-worked cases and bad-input errors) run unchanged in a cross-origin
// isolated page (see test/browser/page/backend_suite.ts). Each in-page test is reported here as a subtest.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { chromiumMissing, launchChromium, startTestServer } from './_harness.js';
import type { Playground } from '../../cli/serve.js';

interface SuiteResult {
  name: string;
  ok: boolean;
  skipped: boolean;
  error?: string;
  ms: number;
}

const skip = chromiumMissing();
let browser: Browser;
let server: Playground;
before(async () => {
  if (skip) return;
  browser = await launchChromium();
  server = await startTestServer({ isolated: true });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('the backend-comparison tests pass in Chromium (WASM relaxed + baseline, 1 and 2 threads, vs js)', { skip: skip ?? false }, async (t) => {
  const page = await browser.newPage();
  try {
    await page.goto(`${server.url}tests/page.html`);
    const r = (await page.evaluate(async () => {
      const suite = (await import(String('/tests/backend_suite.js'))) as { run: () => Promise<unknown> };
      return suite.run();
    })) as { crossOriginIsolated: boolean; results: SuiteResult[] };
    assert.equal(r.crossOriginIsolated, true);
    const ran = r.results.filter((x) => !x.skipped && !x.name.endsWith('(before)'));
    assert.ok(ran.length >= 40, `only ${ran.length} tests ran in the page`);
    // Threads and both kernel builds were covered (the suites name their configuration).
    assert.ok(ran.some((x) => /2 threads/.test(x.name)) && ran.some((x) => /1 thread/.test(x.name)), 'both thread counts');
    assert.ok(ran.some((x) => /relaxed/.test(x.name)) && ran.some((x) => /baseline/.test(x.name)), 'both kernel builds');
    for (const x of r.results) {
      await t.test(`in page: ${x.name}`, { skip: x.skipped }, () => {
        if (!x.ok) assert.fail(x.error);
      });
    }
  } finally {
    await page.close();
  }
});
