// The playground end to end in headless Chromium: `attn serve` with a small model folder; the page starts its
// engine workers (threads), loads the model, tokenizes (ids checked against the model's tokenizer on Node),
// generates with streaming and per-token probabilities, shows attention in the explain viewer (the weights
// checked against the model's own outputAttentions on Node), trains a tiny GPT for a few dozen steps (the loss
// must fall), stops and resumes it, downloads the trained folder (loaded back on Node), shows the model card,
// reports a bad URL, and stays responsive while training. Screenshots go to dist/test-output/playground.png and
// playground-attention.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, launchChromium } from './_harness.js';
import { hamlet, nodeGreedy, tinyShakespeare, type PageElement } from './_playground_model.js';
import { startPlayground, type Playground } from '../../cli/serve.js';
import '../../src/platform/node.js';
import { fromPretrained } from '../../src/models/pretrained.js';
import { tensor, noGrad } from '../../src/tensor/index.js';
import { Tokenizer } from '../../src/tokenizers/index.js';

const skip = chromiumMissing();
const outDir = new URL('../../test-output/', import.meta.url).pathname; // dist/test-output/

// The page-side globals used inside page.evaluate / waitForFunction callbacks (they run in the page).
declare const document: { body: PageElement; querySelector(sel: string): PageElement | null; querySelectorAll(sel: string): { length: number } };

let browser: Browser;
let server: Playground;
let page: Page;
let work: string;
let tokenizer: Tokenizer;
const pageErrors: string[] = [];

before(async () => {
  if (skip) return;
  // A small model folder, as `attn train` would leave it: a BPE tokenizer and a (random) tiny GPT.
  work = mkdtempSync(join(tmpdir(), 'attn-playground-'));
  let folder: string;
  ({ folder, tokenizer } = await tinyShakespeare(work));
  server = await startPlayground({ models: [folder], port: 0, host: '127.0.0.1' });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
  if ((await page.getAttribute('body', 'data-ready')) !== '1') {
    throw new Error(`the playground gave up starting: ${await page.textContent('#backend')}: ${await page.textContent('#model-error')}; page errors: ${pageErrors.join('; ')}`);
  }
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const opts = { skip: skip ?? false };

test('the page starts its engine on threads and loads the served model', opts, async () => {
  const badge = await page.textContent('#backend');
  assert.match(badge!, /^wasm relaxed SIMD · \d+ threads?$/);
  assert.match((await page.getAttribute('#backend', 'title'))!, /cross-origin isolated/);
  assert.equal(await page.getAttribute('body', 'data-model'), 'tiny-shakespeare');
  assert.match((await page.textContent('#model-status'))!, /tiny-shakespeare: .* parameters/);
  for (const id of ['#tab-tokenizer', '#tab-generate', '#tab-attention', '#tab-train', '#tab-card', '#model-select', '#model-url', '#model-files']) {
    assert.equal(await page.locator(id).count(), 1, id);
  }
});

test('tokenizer view: coloured tokens with the ids and offsets of the model tokenizer', opts, async () => {
  const text = 'To be, or not to be: that is the question.';
  await page.fill('#tok-text', text);
  await page.waitForFunction((t) => document.querySelector('#tok-count')?.textContent?.includes(`${t.length} characters`), text);
  const ids = await page.$$eval('#tok-output .tok', (spans) => spans.map((s) => Number((s as unknown as PageElement).dataset['id'])));
  assert.deepEqual(ids, Array.from(tokenizer.encode(text, undefined, { addSpecialTokens: false }).ids));
  // GPT-2's built-in tokenizer: "Hello world" is [15496, 995] (tiktoken r50k_base).
  await page.selectOption('#tok-which', 'gpt2');
  await page.fill('#tok-text', 'Hello world');
  await page.waitForFunction(() => document.querySelectorAll('#tok-output .tok').length === 2);
  assert.deepEqual(await page.$$eval('#tok-output .tok', (s) => s.map((x) => Number((x as unknown as PageElement).dataset['id']))), [15496, 995]);
  assert.match((await page.getAttribute('#tok-output .tok >> nth=1', 'title'))!, /id 995, offsets \[5, 11\)/);
});

test('generation: streamed tokens with probabilities, greedy equal to Node', opts, async () => {
  await page.click('#tabs button[data-tab="generate"]');
  await page.fill('#gen-prompt', 'HAMLET. To be');
  await page.uncheck('#gen-do_sample');
  await page.fill('#gen-max_new_tokens', '12');
  await page.fill('#gen-repetition_penalty', '1');
  await page.click('#gen-run');
  await page.waitForFunction(() => /tokens\/s/.test(document.querySelector('#gen-stats')?.textContent ?? ''));
  const probs = await page.$$eval('#gen-output .gen', (s) => s.map((x) => Number((x as unknown as PageElement).dataset['p'])));
  assert.equal(probs.length, 12);
  assert.ok(probs.every((p) => p > 0 && p <= 1));
  // Greedy: the page's continuation is what Node's loader + generate give for the same folder.
  const wantText = nodeGreedy(join(work, 'tiny-shakespeare'), tokenizer, 'HAMLET. To be', 12);
  const gotText = (await page.$$eval('#gen-output .gen', (s) => s.map((x) => x.textContent).join('')))!;
  assert.equal(gotText, wantText);
  // Beam search returns whole sequences with scores.
  await page.fill('#gen-num_beams', '3');
  await page.fill('#gen-num_return_sequences', '2');
  await page.click('#gen-run');
  await page.waitForFunction(() => document.querySelectorAll('#gen-output .sample').length === 2);
  assert.match((await page.textContent('#gen-output .sample'))!, /^\[score -?\d+\.\d+\] HAMLET\. To be/);
  await page.fill('#gen-num_beams', '1');
  await page.fill('#gen-num_return_sequences', '1');
});

test('attention explorer: the explain viewer (grid, one head, head view, rollout) on the weights of outputAttentions', opts, async () => {
  await page.click('#tabs button[data-tab="attention"]');
  await page.fill('#attn-text', 'The king is dead');
  await page.click('#attn-run');
  await page.waitForSelector('#attn-view.explain .grid canvas.heat');
  assert.equal(await page.locator('#attn-view .grid canvas.heat').count(), 4); // tiny: 2 layers × 2 heads
  assert.equal(await page.locator('#attn-view nav.tabs').isHidden(), true); // a GPT has one group, 'self'
  assert.equal(await page.locator('#attn-view .grid canvas.sel').getAttribute('title'), 'layer 0, head 0');
  // The head view: one query's lines only while its token is hovered.
  const all = await page.locator('#attn-view svg.headview line').count();
  await page.locator('#attn-view svg.headview text').nth(1).hover(); // query 1 of a causal model: keys 0 and 1
  const one = await page.locator('#attn-view svg.headview line').count();
  assert.ok(one > 0 && one < all && one <= 2 * 2, `hover shows ${one} of ${all} lines`);
  // Rollout after each layer, with its slider.
  assert.equal(await page.locator('#attn-view h2', { hasText: 'Attention rollout' }).count(), 1);
  assert.equal(await page.locator('#attn-view input[type="range"]').getAttribute('max'), '1');
  // The tokens and weights are what `attn explain` computes: the tokenizer's encode (as GPTExplainer does) and
  // the model's own outputAttentions. Open layer 1, head 1 and hover the last query row, first key.
  const lm = fromPretrained(join(work, 'tiny-shakespeare'));
  const ids = tokenizer.encode('The king is dead').ids;
  const T = ids.length;
  assert.equal(await page.locator('#attn-view .detail .qlabels div').count(), T);
  await page.locator('#attn-view .grid canvas.heat').nth(3).click();
  assert.equal(await page.locator('#attn-view .detail').evaluate((e) => e.previousElementSibling?.textContent), 'Layer 1, head 1');
  const out = noGrad(() => lm.model.forward(tensor(Int32Array.from(ids), [1, T], { dtype: 'int32' }), { outputAttentions: true }));
  const want = out.attentions![1]!.toFloat32Array()[(1 * T + T - 1) * T + 0]!; // layer 1, head 1, query T-1, key 0
  const box = (await page.locator('#attn-view .detail canvas.heat').boundingBox())!;
  await page.mouse.move(box.x + box.width / T / 2, box.y + box.height * (T - 0.5) / T);
  const tip = (await page.textContent('.explain-tip'))!;
  const got = Number(/(\d\.\d+)$/.exec(tip)![1]);
  assert.ok(Math.abs(got - want) < 1e-3, `tooltip weight ${got}, Node ${want} (${tip})`);
  // Drawing again replaces the view instead of adding a second one.
  await page.fill('#attn-text', 'The king is dead, long live the king');
  await page.click('#attn-run');
  await page.waitForFunction(() => document.querySelectorAll('#attn-view .detail .qlabels div').length > 4);
  assert.equal(await page.locator('#attn-view .grid').count(), 1);
  assert.equal(await page.locator('.explain-tip').count(), 1);
  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: join(outDir, 'playground-attention.png'), fullPage: true });
});

test('training in the page: the loss falls, the page stays responsive, stop / resume, download', opts, async () => {
  await page.click('#tabs button[data-tab="train"]');
  await page.click('#train-sample');
  await page.waitForFunction(() => (document.querySelector('#train-text')?.value.length ?? 0) > 100_000);
  // Keep it short for the test: a small corpus, few steps.
  await page.$eval('#train-text', (t) => ((t as unknown as PageElement).value = (t as unknown as PageElement).value.slice(0, 30_000)));
  await page.fill('#train-vocab', '300');
  await page.fill('#train-steps', '60');
  await page.fill('#train-batch', '8');
  await page.fill('#train-block', '32');
  await page.fill('#train-lr', '0.01');
  await page.fill('#train-sample-every', '20');
  await page.click('#train-start');
  await page.waitForFunction(() => Number(document.body.dataset['trainStep'] ?? 0) >= 5, undefined, { timeout: 60_000 });
  // Responsive while training: the main thread answers within a frame or two.
  const latency = await page.evaluate(() => new Promise<number>((r) => {
    const t0 = performance.now();
    setTimeout(() => r(performance.now() - t0), 0);
  }));
  assert.ok(latency < 100, `the page took ${latency} ms to run a timer while training`);
  await page.click('#train-stop');
  await page.waitForFunction(() => document.body.dataset['trainDone'] !== undefined, undefined, { timeout: 60_000 });
  const stoppedAt = Number(await page.getAttribute('body', 'data-train-done'));
  assert.ok(stoppedAt < 60, `stopped at ${stoppedAt}`);
  assert.match((await page.textContent('#train-stats'))!, /stopped at step/);
  await page.evaluate(() => delete document.body.dataset['trainDone']);
  await page.click('#train-resume');
  await page.waitForFunction(() => document.body.dataset['trainDone'] === '60', undefined, { timeout: 90_000 });
  const stats = (await page.textContent('#train-stats'))!;
  assert.match(stats, /done: 60 steps, validation loss \d/);
  assert.ok((await page.locator('#train-samples .sample').count()) >= 2, 'samples every 20 steps');
  // The loss fell: from about ln 300 ≈ 5.7 at the first step to clearly less at the last.
  const first = Number(await page.getAttribute('body', 'data-first-loss'));
  const last = Number(await page.getAttribute('body', 'data-last-loss'));
  assert.ok(first > 5 && last < first - 1, `loss ${first} → ${last}`);
  const download = page.waitForEvent('download');
  await page.click('#train-download');
  const file = await (await download).path();
  const entries = unzipSync(new Uint8Array(readFileSync(file!)));
  const dir = mkdtempSync(join(tmpdir(), 'attn-trained-'));
  try {
    for (const [name, bytes] of Object.entries(entries)) {
      mkdirSync(join(dir, dirname(name)), { recursive: true });
      writeFileSync(join(dir, name), bytes);
    }
    const folder = join(dir, Object.keys(entries)[0]!.split('/')[0]!);
    const trained = fromPretrained(folder);
    assert.equal(trained.config.n_layer, 2);
    const tok = Tokenizer.fromJSON(trained.tokenizerJson!);
    // The trained model must beat the uniform guess (ln V) clearly on text it trained on.
    const ids = tok.encode(hamlet.slice(2000, 2600), undefined, { addSpecialTokens: false }).ids.slice(0, 32);
    const x = tensor(Int32Array.from(ids.slice(0, -1)), [1, ids.length - 1], { dtype: 'int32' });
    const y = tensor(Int32Array.from(ids.slice(1)), [1, ids.length - 1], { dtype: 'int32' });
    const loss = noGrad(() => trained.model.forward(x, { targets: y }).loss!.item());
    assert.ok(loss < Math.log(300) - 0.5, `loss ${loss} after training vs ln 300 = ${Math.log(300).toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('model card and a bad URL: the numbers of attn info, and a clear message', opts, async () => {
  await page.click('#tabs button[data-tab="card"]');
  const card = (await page.textContent('#card'))!;
  assert.match(card, /parameters/);
  assert.match(card, /FLOPs per token/);
  assert.match(card, /inference memory/);
  mkdirSync(outDir, { recursive: true });
  await page.click('#tabs button[data-tab="train"]');
  await page.screenshot({ path: join(outDir, 'playground.png'), fullPage: true });
  await page.fill('#model-url', `${server.url}models/nope/`);
  await page.click('#model-load-url');
  await page.waitForSelector('#model-error:not([hidden])');
  assert.match((await page.textContent('#model-error'))!, /models\/nope\/: no config\.json/);
  assert.deepEqual(pageErrors, []);
});
