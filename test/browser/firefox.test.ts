// The playground in headless Firefox (Debian's firefox-esr, driven over WebDriver BiDi by puppeteer-core; no
// browser download): the page is cross-origin isolated and starts its engine on threads, loads the served model,
// tokenizes (ids checked against the model's tokenizer on Node), generates greedily (the text checked against
// Node's generate on the same folder) and trains a tiny GPT in a worker until the loss falls. The Chromium suite
// (playground.test.ts) covers every view; this one shows the same engine, kernels and workers run in Firefox.
// Screenshot: dist/test-output/playground-firefox.png.
// Skipped when /usr/bin/firefox-esr (or ATTN_FIREFOX) is missing, except in CI, where `.ci/run` installs it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { firefoxMissing, FIREFOX } from './_harness.js';
import { hamlet, nodeGreedy, tinyShakespeare, type PageElement } from './_playground_model.js';
import { startPlayground, type Playground } from '../../cli/serve.js';
import type { Tokenizer } from '../../src/tokenizers/index.js';

const skip = firefoxMissing() ?? false;
const outDir = new URL('../../test-output/', import.meta.url).pathname; // dist/test-output/

// The page-side globals used inside page.evaluate / waitForFunction callbacks (they run in the page).
declare const document: { body: PageElement; querySelector(sel: string): PageElement | null; querySelectorAll(sel: string): { length: number } };
declare const Event: new (type: string, init: { bubbles: boolean }) => unknown;

let browser: Browser;
let server: Playground;
let page: Page;
let work: string;
let tokenizer: Tokenizer;
const pageErrors: string[] = [];

/** Set an input's value as typing would (an 'input' event, which the playground listens to). */
async function fill(selector: string, value: string): Promise<void> {
  await page.$eval(
    selector,
    (el, v) => {
      const e = el as unknown as PageElement;
      e.value = v;
      e.dispatchEvent(new Event('input', { bubbles: true }));
      e.dispatchEvent(new Event('change', { bubbles: true }));
    },
    value,
  );
}

const text = (selector: string) => page.$eval(selector, (el) => (el as unknown as PageElement).textContent ?? '');

/**
 * Launch Firefox and open the playground; resolves once the page says it is ready. What the page and the
 * browser said on the way (console errors and warnings, uncaught page errors, Firefox's own stderr) is kept,
 * so a page that never gets ready fails with the reason instead of a bare selector time-out.
 */
async function openPlayground(url: string, readyMs: number): Promise<{ browser: Browser; page: Page } | { problem: string }> {
  const said: string[] = [];
  const keep = (line: string) => {
    said.push(line.slice(0, 500));
    if (said.length > 60) said.shift();
  };
  const b = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    // As Chromium's --no-sandbox in _harness.ts: the tests run as root in a VM, where the content-process
    // sandbox (seccomp + namespaces) depends on what the host allows; the page under test is our own.
    env: { ...process.env, MOZ_DISABLE_CONTENT_SANDBOX: '1', MOZ_DISABLE_GMP_SANDBOX: '1', MOZ_DISABLE_RDD_SANDBOX: '1', MOZ_DISABLE_SOCKET_PROCESS_SANDBOX: '1', MOZ_DISABLE_UTILITY_SANDBOX: '1' },
  });
  b.process()?.stderr?.on('data', (d: Buffer) => {
    for (const line of String(d).split('\n')) if (line.trim()) keep(`firefox: ${line}`);
  });
  const p = await b.newPage();
  p.on('pageerror', (e) => {
    pageErrors.push(String(e));
    keep(`page error: ${String(e)}`);
  });
  p.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') keep(`console.${m.type()}: ${m.text()}`);
  });
  let state: string | undefined;
  try {
    await p.goto(url);
    await p.waitForSelector('body[data-ready]', { timeout: readyMs });
    state = await p.$eval('body', (el) => (el as unknown as PageElement).dataset['ready']);
    if (state === '1') return { browser: b, page: p };
  } catch (e) {
    keep(`test: ${String(e).split('\n')[0]}`);
  }
  // Not ready: what the page shows, then close this browser.
  const show = async (sel: string) => p.$eval(sel, (el) => (el as unknown as PageElement).textContent ?? '').catch((e: unknown) => `(${String(e).split('\n')[0]})`);
  const problem = [
    `the playground did not get ready in Firefox (data-ready=${state ?? 'unset'} after ${readyMs / 1000} s)`,
    `#backend: ${await show('#backend')}`,
    `#model-status: ${await show('#model-status')}`,
    `#model-error: ${await show('#model-error')}`,
    ...said,
  ].join('\n  ');
  await b.close().catch(() => undefined);
  return { problem };
}

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'attn-firefox-'));
  let folder: string;
  ({ folder, tokenizer } = await tinyShakespeare(work));
  server = await startPlayground({ models: [folder], port: 0, host: '127.0.0.1' });
  // The page is ready in 5–15 s here. One fresh browser more if the first never gets there (both failures
  // are reported; a first failure followed by a good start is printed, so it is seen, not hidden).
  const first = await openPlayground(server.url, 45_000);
  if ('page' in first) ({ browser, page } = first);
  else {
    const second = await openPlayground(server.url, 45_000);
    if ('problem' in second) throw new Error(`${first.problem}\n\nand again with a fresh Firefox:\n  ${second.problem}`);
    console.log(`# Firefox: a fresh browser started the page, but the first did not:\n#   ${first.problem.replaceAll('\n', '\n# ')}`);
    ({ browser, page } = second);
    pageErrors.length = 0; // the first page's errors are in the message above; the tests judge this page
  }
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const opts = { skip };

test('Firefox: the page is cross-origin isolated, starts its engine on threads and loads the served model', opts, async () => {
  assert.equal(await page.evaluate(() => (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated), true);
  assert.match(await text('#backend'), /^wasm (relaxed|baseline) SIMD · [2-9]\d* threads$/);
  assert.equal(await page.$eval('body', (b) => (b as unknown as PageElement).dataset['model']), 'tiny-shakespeare');
  assert.match(await text('#model-status'), /tiny-shakespeare: .* parameters/);
});

test('Firefox: the tokenizer view gives the ids of the model tokenizer on Node', opts, async () => {
  const s = 'To be, or not to be: that is the question.';
  await fill('#tok-text', s);
  await page.waitForFunction((t: string) => document.querySelector('#tok-count')?.textContent?.includes(`${t.length} characters`), { timeout: 30_000 }, s);
  const ids = await page.$$eval('#tok-output .tok', (spans) => spans.map((x) => Number((x as unknown as PageElement).dataset['id'])));
  assert.deepEqual(ids, Array.from(tokenizer.encode(s, undefined, { addSpecialTokens: false }).ids));
});

test('Firefox: greedy generation in the page equals Node on the same folder', opts, async () => {
  await page.click('#tabs button[data-tab="generate"]');
  await fill('#gen-prompt', 'HAMLET. To be');
  if (await page.$eval('#gen-do_sample', (c) => (c as unknown as PageElement).checked)) await page.click('#gen-do_sample');
  await fill('#gen-max_new_tokens', '12');
  await fill('#gen-repetition_penalty', '1');
  await page.click('#gen-run');
  await page.waitForFunction(() => /tokens\/s/.test(document.querySelector('#gen-stats')?.textContent ?? ''), { timeout: 60_000 });
  const got = await page.$$eval('#gen-output .gen', (s) => s.map((x) => x.textContent).join(''));
  assert.equal(got, nodeGreedy(join(work, 'tiny-shakespeare'), tokenizer, 'HAMLET. To be', 12));
});

test('Firefox: training in the page — the loss falls', opts, async () => {
  await page.click('#tabs button[data-tab="train"]');
  await fill('#train-text', hamlet.slice(0, 30_000));
  await fill('#train-vocab', '300');
  await fill('#train-steps', '40');
  await fill('#train-batch', '8');
  await fill('#train-block', '32');
  await fill('#train-lr', '0.01');
  await fill('#train-sample-every', '20');
  await page.click('#train-start');
  await page.waitForFunction(() => document.body.dataset['trainDone'] === '40', { timeout: 120_000 });
  assert.match(await text('#train-stats'), /done: 40 steps, validation loss \d/);
  const first = Number(await page.$eval('body', (b) => (b as unknown as PageElement).dataset['firstLoss']));
  const last = Number(await page.$eval('body', (b) => (b as unknown as PageElement).dataset['lastLoss']));
  assert.ok(first > 5 && last < first - 1, `loss ${first} → ${last}`);
  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: join(outDir, 'playground-firefox.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
});
