// The report in a real browser (Debian's Chromium through playwright-core): it opens from a file with no
// network request and no script error, draws one map per head, opens a head when its map is clicked, and the
// head view shows a query's lines on hover. Skipped (with the reason) where Chromium is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumMissing, launchChromium } from '../browser/_harness.js';
import { fromPretrained } from '../../src/models/pretrained.js';
import { Tokenizer } from '../../src/tokenizers/index.js';
import { GPTExplainer } from '../../src/explain/adapters/gpt.js';
import { writeReportFolder } from '../../src/explain/node.js';
import { fromPretrainedSeq2Seq } from '../../src/models/seq2seq_pretrained.js';
import { Seq2SeqExplainer } from '../../src/explain/adapters/seq2seq.js';

const FIX = new URL('../../../test/fixtures/', import.meta.url).pathname;
const missing = chromiumMissing();

test('the report works offline in Chromium: grid, detail, head view', { skip: missing ?? false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-report-browser-'));
  const browser = await launchChromium();
  try {
    const x = new GPTExplainer(fromPretrained(join(FIX, 'gpt2-tiny')).model, Tokenizer.gpt2());
    const ids = [547, 635, 425, 964, 561, 416, 967, 255];
    const groups = x.attentions({ ids: Int32Array.from(ids), tokens: ids.map((id) => ({ id, text: `t${id}`, special: false, punct: false })), notes: [], start: 0, total: 8 });
    writeReportFolder(join(dir, 'r'), { title: 'tiny', groups, layouts: x.heads() });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('request', (r) => !r.url().startsWith('file:') && !r.url().startsWith('data:') && problems.push(`request ${r.url()}`));
    await page.goto(`file://${join(dir, 'r', 'report.html')}`);
    await page.waitForSelector('.grid canvas');
    assert.equal(await page.locator('.grid canvas').count(), 8); // 2 layers × 4 heads
    await page.locator('.grid canvas').nth(6).click(); // layer 1, head 2
    assert.equal(await page.locator('.detail').evaluate((e) => e.previousElementSibling?.textContent), 'Layer 1, head 2');
    assert.equal(await page.locator('.qlabels div').first().textContent(), 't547');
    const all = await page.locator('svg.headview line').count();
    await page.locator('svg.headview text').nth(5).hover(); // query 5: its lines only
    const one = await page.locator('svg.headview line').count();
    assert.ok(one > 0 && one < all, `hover shows ${one} of ${all} lines`);
    assert.ok(one <= 4 * 6, 'query 5 of a causal model reaches at most 6 keys per head');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an encoder-decoder report: one tab per group, the cross maps are target × source', { skip: missing ?? false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-report-browser-'));
  const browser = await launchChromium();
  try {
    const x = new Seq2SeqExplainer(fromPretrainedSeq2Seq(join(FIX, 'marian-tiny')).model, Tokenizer.gpt2(), { family: 'marian' });
    const src = [196, 6, 413, 354, 0];
    const dec = [499, 483, 336];
    const v = (ids: number[], p: string) => ids.map((id) => ({ id, text: `${p}${id}`, special: false, punct: false }));
    const groups = x.attentions({ sourceIds: Int32Array.from(src), decoderIds: Int32Array.from(dec), tokens: v(src, 's'), targetTokens: v(dec, 't'), notes: [], start: 0, total: 5 });
    writeReportFolder(join(dir, 'r'), { title: 'marian', groups, layouts: x.heads() });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    await page.goto(`file://${join(dir, 'r', 'report.html')}`);
    await page.waitForSelector('.grid canvas');
    const tabs = page.locator('button', { hasText: 'attention' });
    assert.deepEqual(await tabs.allTextContents(), ['encoder attention', 'decoder attention', 'cross attention']);
    await tabs.nth(2).click();
    await page.locator('.grid canvas').first().click();
    assert.deepEqual(await page.locator('.qlabels div').allTextContents(), ['t499', 't483', 't336']);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
