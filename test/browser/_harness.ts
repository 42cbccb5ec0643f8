// What the browser tests share (Node side): Debian's Chromium driven by playwright-core (no browser download:
// it launches /usr/bin/chromium), and the playground server with the routes the in-page tests need.
//
// Chromium (and Firefox ESR, for firefox.test.ts) are installed by .ci/run (apt-get). Outside CI, a machine without
// them skips the browser tests with a message that says how to install it; in CI (CI=true) a missing one fails them.
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { startPlayground, type Playground } from '../../cli/serve.js';
import { vocabTxt } from '../pipelines/_folders.js';

export const CHROMIUM = process.env['ATTN_CHROMIUM'] ?? '/usr/bin/chromium';
/** Debian's Firefox ESR, which firefox.test.ts drives with puppeteer-core over WebDriver BiDi. */
export const FIREFOX = process.env['ATTN_FIREFOX'] ?? '/usr/bin/firefox-esr';

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const why = `${CHROMIUM} not found; install Debian's chromium (apt-get install -y chromium) or set ATTN_CHROMIUM`;
  if (process.env['CI']) throw new Error(`browser tests: ${why}`);
  return why;
}

/** Why the Firefox tests cannot run here, or null when they can (in CI a missing Firefox is an error, as Chromium). */
export function firefoxMissing(): string | null {
  if (existsSync(FIREFOX)) return null;
  const why = `${FIREFOX} not found; install Debian's firefox-esr (apt-get install -y firefox-esr) or set ATTN_FIREFOX`;
  if (process.env['CI']) throw new Error(`browser tests: ${why}`);
  return why;
}

/** Headless Chromium with a fresh profile and none of its background traffic (the machine has no network). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ], // (playwright gives every launch a fresh, temporary profile: no --user-data-dir needed)
  });
}

const root = new URL('../../../', import.meta.url); // dist/test/browser/_harness.js → the project folder
const fixtures = new URL('test/fixtures/', root);
const bundles = new URL('dist/test/browser/bundles/', root);

function sendFile(res: ServerResponse, path: string, type: string): void {
  if (!existsSync(path) || !statSync(path).isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    return;
  }
  const body = readFileSync(path);
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': String(body.length) }).end(body);
}

/**
 * The test routes, tried before the playground's own:
 *   /tests/page.html                  an empty page the tests import their bundles into
 *   /tests/NAME.js                    dist/test/browser/bundles/NAME.js
 *   /fixtures/DIR/FILE                test/fixtures (a model folder by URL; DIR may be nested: bert-family/bert-tiny-mlm)
 *   /pipe/NAME/FILE                   test/fixtures/bert-family/NAME with the WordPiece vocab.txt of
 *                                     test/pipelines/_folders.ts (+ a tokenizer_config.json), for pipelines
 *   /bad/truncated/model.safetensors  announces the whole file, sends half, then drops the connection
 *   /bad/tokenizer/tokenizer.json     a tokenizer.json whose model type attn does not read
 *   /bad/{truncated,no-config,tokenizer}/*  the gpt2-tiny fixture's other files (no-config: without config.json)
 *   /bad/no-weights/config.json       marian-tiny's config.json, and no other file
 */
export function testRoutes(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  let m: RegExpExecArray | null;
  if (path === '/tests/page.html') {
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><meta charset="utf-8"><title>attn tests</title><body></body>');
    return true;
  }
  if ((m = /^\/tests\/([\w-]+\.js)$/.exec(path))) {
    sendFile(res, new URL(m[1]!, bundles).pathname, 'text/javascript');
    return true;
  }
  if ((m = /^\/fixtures\/((?:[\w-]+\/)+)([\w.-]+)$/.exec(path))) {
    sendFile(res, new URL(`${m[1]}${m[2]}`, fixtures).pathname, m[2]!.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    return true;
  }
  if ((m = /^\/pipe\/([\w-]+)\/([\w.-]+)$/.exec(path))) {
    if (m[2] === 'vocab.txt') res.writeHead(200, { 'Content-Type': 'text/plain' }).end(vocabTxt());
    else if (m[2] === 'tokenizer_config.json') res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ do_lower_case: true }));
    else sendFile(res, new URL(`bert-family/${m[1]}/${m[2]}`, fixtures).pathname, 'application/octet-stream');
    return true;
  }
  if (path === '/bad/truncated/model.safetensors') {
    const body = readFileSync(new URL('gpt2-tiny/model.safetensors', fixtures));
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) });
    res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => req.socket.destroy(), 50));
    return true;
  }
  if (path === '/bad/tokenizer/tokenizer.json') {
    const json = { version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, model: { type: 'WordLevel', vocab: { a: 0 }, unk_token: 'a' } };
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(json));
    return true;
  }
  if (path.startsWith('/bad/no-weights/')) {
    if (path.endsWith('/config.json')) sendFile(res, new URL('marian-tiny/config.json', fixtures).pathname, 'application/json');
    else res.writeHead(404).end('not found');
    return true;
  }
  if ((m = /^\/bad\/(truncated|no-config|tokenizer)\/([\w.-]+)$/.exec(path))) {
    if (m[1] === 'no-config' && m[2] === 'config.json') res.writeHead(404).end('not found');
    else sendFile(res, new URL(`gpt2-tiny/${m[2]}`, fixtures).pathname, 'application/octet-stream');
    return true;
  }
  return false;
}

/** The playground server with the test routes; `isolated: false` serves without COOP/COEP. */
export function startTestServer(opts: { isolated?: boolean; models?: string[] } = {}): Promise<Playground> {
  return startPlayground({ models: opts.models ?? [], port: 0, host: '127.0.0.1', isolated: opts.isolated ?? true, extra: testRoutes });
}
