// `npm run bench -- browser [--json] [--model DIR]`: attn in headless Chromium vs attn in Node, same machine,
// same run, same engine source (bench/_browser_workloads.ts runs in both):
//
//   768x768x768          matmul GFLOP/s (a whole Backend.matmul call), 1 and 2 threads
//   768x768x768-in-memory   the same with the operands in the WebAssembly memory (as in a training step): the
//                        kernel without the copies in and out
//   decode-gpt2-124m     tokens/s of greedy decoding with GPT-2 small's shape (random weights), 1 and 2 threads
//   train-step-mini      ms per optimizer step of the default run's model (attn start: preset mini, vocab
//                        2048, batch 16 × 128), 2 threads
//   bundle-full / bundle-tokenizers   gzip'd sizes of dist/browser/attn.js and attn-tokenizers.js, beside
//                        gpt-tokenizer (its r50k_base encoder bundled by esbuild, minified) and transformers.js
//                        (its browser build, when @huggingface/transformers is installed; it is not a
//                        dependency of attn, so usually listed as missing)
//   ttft-playground      time to the first generated token in the playground (`attn serve`), from the click
//                        on Generate to the first token on the page, with the default run's model (--model
//                        DIR, default runs/shakespeare; without it a random-weight model of the same shape)
//
// impl is 'attn' for Node and 'attn-chromium' for the page; the table's ratio column reads Node ÷ Chromium, so
// the goal (Chromium ≥ 0.9× Node) is a ratio ≤ 1.11 for higher-is-better rows.
// Needs Chromium (/usr/bin/chromium, or ATTN_CHROMIUM).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import '../src/platform/node.js';
import { setBackend } from '../src/backend/index.js';
import { decodeGpt2, matmul768, matmul768InMemory, trainStepMini } from './_browser_workloads.js';
import { newReport, report, wantJson, type BenchRow } from './_common.js';
import { chromiumMissing, launchChromium, startTestServer } from '../test/browser/_harness.js';
import { startPlayground } from '../cli/serve.js';
import { GPT, gptConfig } from '../src/models/gpt.js';
import { savePretrained } from '../src/models/pretrained.js';
import { Rng } from '../src/tensor/index.js';
import { trainTokenizer } from '../src/tokenizers/index.js';
import { shakespeareFiles } from '../cli/start.js';

const require = createRequire(import.meta.url);
const dist = new URL('../', import.meta.url).pathname; // dist/bench/browser.js → dist/
const log = (s: string) => {
  if (!wantJson()) console.error(s);
};

/** In the page: click Generate, resolve with the ms until the first generated token is on the page. */
const TTFT = `new Promise((resolve) => {
  const out = document.querySelector('#gen-output');
  const t0 = performance.now();
  const poll = () => (out.querySelector('.gen') ? resolve(performance.now() - t0) : requestAnimationFrame(poll));
  document.querySelector('#gen-run').click();
  requestAnimationFrame(poll);
})`;

const r = newReport('browser');
const missing = chromiumMissing();
if (missing) throw new Error(`bench browser: ${missing}`);

type Task = 'matmul' | 'matmul-mem' | 'decode' | 'train';
const TASKS: { task: Task; case: string; unit: BenchRow['unit']; threads: number[]; node: () => number }[] = [
  { task: 'matmul', case: '768x768x768', unit: 'GFLOP/s', threads: [1, 2], node: matmul768 },
  { task: 'matmul-mem', case: '768x768x768-in-memory', unit: 'GFLOP/s', threads: [1, 2], node: matmul768InMemory },
  { task: 'decode', case: 'decode-gpt2-124m', unit: 'tokens/s', threads: [1, 2], node: () => decodeGpt2() },
  { task: 'train', case: 'train-step-mini', unit: 'ms', threads: [2], node: () => trainStepMini() },
];

/** How long a fresh page is left alone before a measurement (see below). */
const SETTLE_MS = 2000;

// --- Node and Chromium, workload by workload
const browser = await launchChromium();
const server = await startTestServer({ isolated: true });
try {
  for (const t of TASKS) {
    for (const threads of t.threads) {
      setBackend('wasm', { threads });
      log(`${t.case}, ${threads} thread(s): node…`);
      r.rows.push({ case: t.case, impl: 'attn', threads, value: t.node(), unit: t.unit, note: 'node' });
      log(`${t.case}, ${threads} thread(s): chromium…`);
      // A fresh page per measurement, as a fresh process per measurement on the Node side would be.
      const page = await browser.newPage();
      await page.goto(`${server.url}tests/page.html`);
      // A new page's renderer keeps Chromium's background threads busy for about a second after it loads
      // (measured: a 768³ product took 20–50 ms in that second, 17.5–18 ms after it, as in Node): let it settle,
      // as the Node side's process has, so that both sides measure the engine and not the browser's start.
      await page.waitForTimeout(SETTLE_MS);
      const got = (await page.evaluate(async ([task, n]) => {
        const mod = (await import(String('/tests/bench_page.js'))) as { run: (t: string, n: number) => Promise<{ value: number; note: string }> };
        return mod.run(task as string, n as number);
      }, [t.task, threads] as const)) as { value: number; note: string };
      await page.close();
      r.rows.push({ case: t.case, impl: 'attn-chromium', threads, value: got.value, unit: t.unit, note: `chromium: ${got.note}` });
    }
  }
} finally {
  await server.close();
}

// --- Bundle sizes
const sizes = JSON.parse(readFileSync(join(dist, 'browser', 'sizes.json'), 'utf8')) as Record<string, { bytes: number; gzip: number }>;
const mb = (bytes: number) => bytes / 1e6;
r.rows.push({ case: 'bundle-full', impl: 'attn', value: mb(sizes['browser/attn.js']!.gzip + sizes['browser/attn-worker.js']!.gzip), unit: 'MB', note: 'gzip, attn.js + attn-worker.js (kernels embedded)' });
r.rows.push({ case: 'bundle-tokenizers', impl: 'attn', value: mb(sizes['browser/attn-tokenizers.js']!.gzip), unit: 'MB', note: 'gzip, with the GPT-2 merges' });
const esbuild = await import('esbuild');
const gt = await esbuild.build({ stdin: { contents: "export { encode, decode } from 'gpt-tokenizer/encoding/r50k_base';", resolveDir: dist, loader: 'js' }, bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, nodePaths: [join(dist, '..', 'node_modules')] });
r.rows.push({ case: 'bundle-tokenizers', impl: 'gpt-tokenizer', value: mb(gzipSync(gt.outputFiles[0]!.contents, { level: 9 }).length), unit: 'MB', note: 'gzip, r50k_base encoder bundled by esbuild' });
try {
  const dir = dirname(require.resolve('@huggingface/transformers/package.json'));
  const file = ['dist/transformers.web.min.js', 'dist/transformers.min.js'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) throw new Error('no browser build found');
  r.rows.push({ case: 'bundle-full', impl: 'transformers-js', value: mb(gzipSync(readFileSync(file), { level: 9 }).length), unit: 'MB', note: 'gzip, JS only (onnxruntime-web .wasm comes on top)' });
} catch {
  r.missing!.push('transformers-js (@huggingface/transformers is not installed; it is not a dev dependency of attn)');
}

// --- Time to first token in the playground, with the default run's model
const argModel = process.argv.indexOf('--model');
let modelDir = argModel > 0 ? process.argv[argModel + 1]! : 'runs/shakespeare';
let tmp: string | null = null;
let modelNote = modelDir;
if (!existsSync(join(modelDir, 'config.json'))) {
  // No trained default-run model here: the same shape with random weights (time to first token does not depend on the values).
  tmp = mkdtempSync(join(tmpdir(), 'attn-bench-browser-'));
  const text = readFileSync(shakespeareFiles()[0]!, 'utf8');
  const tok = await trainTokenizer(text.split('\n'), { type: 'bpe', vocabSize: 2048 });
  const model = new GPT(gptConfig({ preset: 'mini', vocab_size: tok.vocabSize, bos_token_id: tok.vocabSize - 1, eos_token_id: tok.vocabSize - 1 }), new Rng(1));
  modelDir = join(tmp, 'shakespeare');
  savePretrained(model, modelDir, { tokenizerJson: JSON.stringify(tok.toJSON()) });
  modelNote = 'the default run\'s model shape (mini, vocab 2048), random weights';
}
const playground = await startPlayground({ models: [modelDir], port: 0, host: '127.0.0.1' });
try {
  const page = await browser.newPage();
  await page.goto(playground.url);
  await page.waitForSelector('body[data-ready]', { timeout: 120_000 });
  if ((await page.getAttribute('body', 'data-ready')) !== '1') throw new Error(`the playground gave up starting: ${await page.textContent('#model-error')}`);
  await page.click('#tabs button[data-tab="generate"]');
  await page.fill('#gen-prompt', 'HAMLET. To be, or not to be,');
  await page.fill('#gen-max_new_tokens', '20');
  const times: number[] = [];
  for (let i = 0; i < 4; i++) {
    const ms = (await page.evaluate(TTFT)) as number;
    await page.waitForFunction('/tokens\\/s/.test(document.querySelector("#gen-stats").textContent)');
    if (i > 0) times.push(ms); // the first one warms up (JIT, packed weights)
  }
  times.sort((a, b) => a - b);
  r.rows.push({ case: 'ttft-playground', impl: 'attn-chromium', value: times[Math.floor(times.length / 2)]!, unit: 'ms', note: `${modelNote}; click → first token on the page` });
  await page.close();
} finally {
  await playground.close();
  await browser.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}

report(r);
