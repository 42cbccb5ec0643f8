// `attn serve` as a command: it prints its URL, serves the playground with the cross-origin isolation
// headers, lists and serves model folders (and nothing outside them), and turns a bad --model into one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const main = new URL('../../cli/main.js', import.meta.url).pathname;

test('attn serve: URL, COOP/COEP headers, models listed and served, no path escapes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-serve-'));
  mkdirSync(join(dir, 'm'));
  writeFileSync(join(dir, 'm', 'config.json'), '{"model_type":"gpt2"}');
  writeFileSync(join(dir, 'secret.txt'), 'not to be served');
  const child = spawn(process.execPath, [main, 'serve', '--port', '0', '--model', join(dir, 'm')], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /playground: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`attn serve exited with ${code}: ${out}`)));
    });
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.match(await page.text(), /<title>attn playground<\/title>/);
    assert.equal((await fetch(`${url}attn/attn.js`)).headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.deepEqual(await (await fetch(`${url}models/`)).json(), [{ name: 'm', files: ['config.json'] }]);
    assert.equal(await (await fetch(`${url}models/m/config.json`)).text(), '{"model_type":"gpt2"}');
    assert.equal((await fetch(`${url}models/m/..%2Fsecret.txt`)).status, 404);
    assert.equal((await fetch(`${url}attn/..%2F..%2Fpackage.json`)).status, 404);
    assert.ok((await (await fetch(`${url}data/shakespeare.txt`)).text()).includes('Hamlet'));
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attn serve: a folder without config.json is one clear line, exit code 2', () => {
  const r = spawnSync(process.execPath, [main, 'serve', '--port', '0', '--model', tmpdir()], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^attn: --model .*: no config\.json there/);
});
