// `npm run bench -- generate [--json] [--case NAME] [--threads N] [--contended] [--no-quant] [--tiny]`: inference speed of GPT-2 small (124M, random
// weights) with the KV cache, attn next to the same model in PyTorch (bench/_gpt_torch.py), in the same run.
//
// Cases:
//   decode-gpt2-124m        batch 1, a 16-token prompt, then 64 new tokens, greedy (argmax), one
//                           forward per new token with the cache; tokens/s of the 64, best of 4 runs for every
//                           engine (a fresh process decodes slower for its first few generations). attn runs
//                           the library's generation loop (generate + stepperFromModel, as `attn generate` and
//                           the pipelines do: its decode steps in step memory, its KV cache given back when a
//                           generation ends), timed from the prompt's token to the last one
//   prefill-gpt2-124m-512   one forward of a 512-token prompt into a fresh cache, logits at every position
//                           (as generation's first call computes them); prompt tokens/s (median of 3). It is
//                           GEMM-bound, so attn's rows also say what share of the 128-bit SIMD limit they reach:
//                           threads × the f32x4 multiply-add peak of a core (bench/_peak.ts, measured in the same
//                           run) ÷ the FLOPs of a prompt token (prefillFlopsPerToken).
//
// Decoding one token reads every weight once and does ~2 FLOPs per weight: it is memory-bound. So the
// decode case also reports the weight traffic it achieves,
//   GB/s = bytes of weights read per token × tokens/s,
// with every parameter read except the position table, of which one row is (4 bytes each, float32), next
// to the machine's memory bandwidth measured in the same run ('memory' rows: a 256 MB TypedArray copy in
// JS, and PyTorch's copy and sum of a 256 MB tensor). For a 'memory' row, "attn ÷ peer" is the fraction of
// the machine's bandwidth attn's decoding reaches.
//
// Peers, each measurement in its own process with its peak RSS (MB):
//   pytorch           bench/_gpt_torch.py, once per threading configuration (bench/_common.ts, torchConfigs:
//                     for 2 threads torch=2,openblas=1 and torch=1,openblas=2); attn is compared with the best.
//                     In prefill, PyTorch 1.13 computes the full T×T attention scores and masks half of them;
//                     attn skips the masked half.
//   onnxruntime-node  the same PyTorch module exported to ONNX with past keys/values (bench/_export_onnx.py,
//   onnxruntime-web   once, on the first run; needs python3-torch) and run by bench/_ort.ts: the same prompt,
//                     steps and timing as attn; onnxruntime-web on its WebAssembly backend with threads.
// Each attn measurement runs in its own process (this file with --child), so its peak RSS (MB) is that of
// one model plus one generation. `--contended` repeats every measurement with one busy process competing
// for a core (rows marked "contended": true).
//
// Quantised weights (src/quant), rows `attn-int8` and `attn-int4`: the same random model, quantised (int8 one
// scale per output channel; int4 groups of 32; every Linear and the tied embedding / LM head) and saved as a
// quantised folder once per run by a child process (--prepare), then loaded from that folder by each
// measuring child, as `attn generate --model DIR-int8` would: so their peak RSS is that of the quantised model,
// never of the float one it was made from. Their GB/s rows count the bytes they actually read per token
// (int8/int4 values + float32 scales). `--no-quant` leaves these rows out. `--tiny` shrinks every case (2 layers,
// 64 channels, 1000 tokens) to check that the whole bench runs.
import { setBackend } from '../src/backend/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT, gptConfig, gptParameterCount, type GPTConfig } from '../src/models/gpt.js';
import { fromPretrained, savePretrained } from '../src/models/pretrained.js';
import { asQuantized, quantizeModel } from '../src/quant/index.js';
import { noGrad, Rng, tensor, type Tensor } from '../src/tensor/index.js';
import { generate } from '../src/generate/index.js';
import { stepperFromModel } from '../src/generate/from_model.js';
import { newReport, report, parseCaseArgs, runAttnChild, runTorch, torchConfigs, wantJson, withContention, type BenchReport, type BenchRow } from './_common.js';
import { runOrtPeers } from './_peers.js';
import { fmaPeak } from './_peak.js';
import { chooseVariant } from '../src/backend/wasm/index.js';
import { nodePlatform } from '../src/platform/node.js';

interface GenCase {
  name: string;
  mode: 'decode' | 'prefill';
  n_layer: number;
  n_head: number;
  n_embd: number;
  n_positions: number;
  vocab: number;
  prompt: number; // prompt tokens
  new: number; // generated tokens (decode)
  runs: number;
}

const GPT2 = { n_layer: 12, n_head: 12, n_embd: 768, n_positions: 1024, vocab: 50257 };
const CASES: GenCase[] = [
  { name: 'decode-gpt2-124m', mode: 'decode', ...GPT2, prompt: 16, new: 64, runs: 4 },
  { name: 'prefill-gpt2-124m-512', mode: 'prefill', ...GPT2, prompt: 512, new: 0, runs: 3 },
];
const BANDWIDTH_MB = 256;

/** A case shrunk for --tiny (a smoke test of the whole bench, not a measurement). */
function tiny(c: GenCase): GenCase {
  return { ...c, name: `${c.name}-tiny`, n_layer: 2, n_head: 2, n_embd: 64, n_positions: 128, vocab: 1000, prompt: Math.min(c.prompt, 64), new: Math.min(c.new, 8), runs: 1 };
}

interface GenResult {
  tokens_per_s: number;
  params: number;
  peak_rss_mb: number;
  /** Bytes of weights one decoding step reads (what the GB/s row multiplies by tokens/s). */
  weight_bytes_per_token: number;
}

/** Quantised rows: the impl name and the folder the measuring child loads. */
const QUANT = [
  { impl: 'attn-int8', bits: 8 },
  { impl: 'attn-int4', bits: 4 },
] as const;
type QuantImpl = (typeof QUANT)[number]['impl'];

/** What the parent tells a measuring child: the case, and for a quantised row, the folder to load. */
type ChildJob = GenCase & { folder?: string };

// -----------------------------------------------------------------------------------------------------------
// The attn side (child process): build the model, time the case, print one GenResult.

function configOf(c: GenCase): GPTConfig {
  return gptConfig({
    n_layer: c.n_layer, n_head: c.n_head, n_embd: c.n_embd, n_positions: c.n_positions, vocab_size: c.vocab,
    embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0,
  });
}

function ids(values: number[]): Tensor {
  return tensor(Int32Array.from(values), [1, values.length], { dtype: 'int32' }); // (1, T)
}

function runCaseAttn(c: ChildJob, threads: number): GenResult {
  setBackend('wasm', { threads });
  const cfg = configOf(c);
  // Float: built here with random weights. Quantised: loaded from the folder --prepare wrote (the same weights).
  const model = c.folder ? fromPretrained(c.folder).model : new GPT(cfg, new Rng(1337));
  model.train(false);
  const rng = new Rng(0);
  const prompt = ids(Array.from({ length: c.prompt }, () => rng.int(c.vocab)));
  let tokensPerSec = 0;
  noGrad(() => {
    if (c.mode === 'decode') {
      // generate() makes the prompt's token (the prefill), then c.new more, one decode step each: the clock
      // starts when the first token arrives and stops after the last.
      const stepper = stepperFromModel(model);
      const promptIds = Array.from(prompt.toInt32Array());
      // A short generation first, as the onnxruntime runners check a few greedy steps against PyTorch before
      // they time theirs: a fresh process's first generation runs slower (first touch of its memory, the
      // pool's threads settling).
      generate(stepper, [promptIds], { max_new_tokens: 8, min_new_tokens: 8, eos_token_id: null, pad_token_id: 0 });
      let best = Infinity;
      for (let run = 0; run < c.runs; run++) {
        let t0 = 0;
        let t1 = 0;
        let seen = 0;
        const streamer = { put: () => (++seen === 1 ? (t0 = performance.now()) : (t1 = performance.now())), end: () => {} };
        const n = c.new + 1;
        const out = generate(stepper, [promptIds], { max_new_tokens: n, min_new_tokens: n, eos_token_id: null, pad_token_id: 0, streamer });
        if (out.sequences[0]!.length !== c.prompt + n || seen !== n) throw new Error(`bench generate: ${seen} tokens streamed, expected ${n}`);
        best = Math.min(best, (t1 - t0) / 1000);
      }
      tokensPerSec = c.new / best;
    } else {
      model.forward(prompt, { cache: model.newCache() }); // warm-up: JIT, first touch, packed weights
      const times: number[] = [];
      for (let run = 0; run < c.runs; run++) {
        const t0 = performance.now();
        model.forward(prompt, { cache: model.newCache() }).logits; // (1, 512, V)
        times.push((performance.now() - t0) / 1000);
      }
      times.sort((a, b) => a - b);
      tokensPerSec = c.prompt / times[Math.floor(times.length / 2)]!;
    }
  });
  return { tokens_per_s: tokensPerSec, params: gptParameterCount(cfg), peak_rss_mb: process.resourceUsage().maxRSS / 1024, weight_bytes_per_token: weightBytesRead(model) };
}

/**
 * The quantised folders for `c` (child process, --prepare): the float model of runCaseAttn (same seed),
 * quantised and saved once per bit width. Its own process, so the parent never holds a model.
 */
function prepareQuantized(c: GenCase, root: string): Record<QuantImpl, string> {
  const out = {} as Record<QuantImpl, string>;
  for (const q of QUANT) {
    const model = new GPT(configOf(c), new Rng(1337));
    quantizeModel(model, { bits: q.bits });
    out[q.impl] = join(root, `${c.name}-${q.impl}`);
    savePretrained(model, out[q.impl]);
  }
  return out;
}


// -----------------------------------------------------------------------------------------------------------
// Memory bandwidth, measured here: the ceiling for decoding.

/** GB/s of a big TypedArray copy (memmove in V8), counting bytes read + written; best of 5. */
function jsCopyBandwidth(mb: number): number {
  const n = (mb << 20) / 4;
  const src = new Float32Array(n).fill(1);
  const dst = new Float32Array(n);
  dst.set(src); // first touch of dst's pages
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    dst.set(src);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return (2 * 4 * n) / best / 1e9;
}

/**
 * FLOPs of one prompt token in a prefill: 2 per weight of the layers' products (q, k, v, out: 4·C²; MLP: 8·C²),
 * the causal attention's q·kᵀ and weights·v over (T + 1)/2 keys on average (2·2·C each), and the LM head at
 * every position (2·C·V). GPT-2 124M at T = 512: ~0.257 GFLOP.
 */
function prefillFlopsPerToken(c: GenCase): number {
  const C = c.n_embd;
  return c.n_layer * (24 * C * C + 2 * C * (c.prompt + 1)) + 2 * C * c.vocab;
}

/**
 * Bytes of weights one decoding step reads: every parameter except the position table, plus one row of it —
 * 4 bytes per float32 weight; a quantised weight's values and scales (1 or ½ byte per weight + 4 per scale).
 */
function weightBytesRead(model: GPT): number {
  let bytes = 0;
  for (const [name, p] of model.namedParameters()) {
    const q = asQuantized(p);
    const all = q ? q.quantized.byteLength : 4 * p.size;
    bytes += name === 'wpe.weight' ? all / model.config.n_positions : all;
  }
  return bytes;
}

// -----------------------------------------------------------------------------------------------------------
// The report.

/** `how`: the peer's configuration and whether a busy process competed for a core. */
function addRows(r: BenchReport, c: GenCase, impl: string, threads: number, res: Pick<GenResult, 'tokens_per_s' | 'peak_rss_mb'>, note: string, how: Pick<BenchRow, 'config' | 'contended'>, bytesPerToken: number): void {
  r.rows.push({ case: c.name, impl, threads, ...how, value: res.tokens_per_s, unit: 'tokens/s', note });
  if (c.mode === 'decode') {
    const bytes = bytesPerToken;
    r.rows.push({
      case: c.name, impl, threads, ...how, value: (bytes * res.tokens_per_s) / 1e9, unit: 'GB/s',
      note: `weight traffic: ${(bytes / 1e6).toFixed(0)} MB of weights per token × tokens/s`,
    });
  }
  r.rows.push({ case: c.name, impl, threads, ...how, value: res.peak_rss_mb, unit: 'MB', note: 'peak RSS of the process' });
}

/** The peers' model must be attn's, parameter for parameter. */
function sameSize(c: GenCase, peer: string, theirs: number, mine: number): void {
  if (theirs !== mine) throw new Error(`bench generate: case ${c.name}: the ${peer} model has ${theirs} parameters, attn's ${mine}; the models must be identical`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const job = JSON.parse(argv[1]!) as ChildJob & { prepare?: string };
    const res = job.prepare ? prepareQuantized(job, job.prepare) : runCaseAttn(job, Number(argv[2]));
    process.stdout.write(JSON.stringify(res) + '\n');
    return;
  }
  const all = argv.includes('--tiny') ? CASES.map(tiny) : CASES;
  const { cases, threads: threadList, loads } = parseCaseArgs('generate', all, argv.filter((a) => a !== '--tiny'));
  const withQuant = !argv.includes('--no-quant');
  const r = newReport('generate');
  const quantRoot = withQuant ? mkdtempSync(join(tmpdir(), 'attn-bench-quant-')) : '';
  try {
    await measure(r, cases, threadList, loads, withQuant ? quantRoot : null);
  } finally {
    if (withQuant) rmSync(quantRoot, { recursive: true, force: true });
  }
  // Side by side: by case, then threads, attn first, the memory rows last.
  const caseIndex = (name: string): number => all.findIndex((c) => c.name === name);
  const isMemory = (impl: string): number => (impl === 'memory' ? 1 : 0);
  const order = (impl: string): number => ['attn', 'attn-int8', 'attn-int4', 'pytorch', 'onnxruntime-node', 'onnxruntime-web'].indexOf(impl);
  r.rows.sort((x, y) => caseIndex(x.case) - caseIndex(y.case) || isMemory(x.impl) - isMemory(y.impl) || Number(Boolean(x.contended)) - Number(Boolean(y.contended))
    || (x.threads ?? 1) - (y.threads ?? 1) || order(x.impl) - order(y.impl));
  report(r, wantJson());
}

async function measure(r: BenchReport, cases: GenCase[], threadList: number[], loads: boolean[], quantRoot: string | null): Promise<void> {
  for (const c of cases) {
    // The quantised folders of this case, written once by a child process (they are deleted at the end).
    const prepare: ChildJob & { prepare: string } = { ...c, prepare: quantRoot ?? '' };
    const folders = quantRoot ? runAttnChild<Record<QuantImpl, string>>(import.meta.url, 'generate', prepare, 1) : null;
    const shape = { n_layer: c.n_layer, n_head: c.n_head, n_embd: c.n_embd, n_positions: c.n_positions, vocab: c.vocab };
    const masked = c.mode === 'prefill' ? '; full T×T causal scores' : '';
    // The 128-bit SIMD limit for a prefill, in tokens/s per thread (the kernels the backend picks).
    const perThread = c.mode === 'prefill' ? (fmaPeak(chooseVariant(nodePlatform)) * 1e9) / prefillFlopsPerToken(c) : 0;
    const share = (tokensPerS: number, threads: number): string =>
      perThread > 0 ? `; ${((100 * tokensPerS) / (perThread * threads)).toFixed(0)} % of the 128-bit SIMD limit (${(perThread * threads).toFixed(0)} tokens/s)` : '';
    for (const contended of loads) {
      const load = contended ? { contended: true } : {};
      for (const threads of threadList) {
        const mine = await withContention(contended, () => runAttnChild<GenResult>(import.meta.url, 'generate', c, threads));
        addRows(r, c, 'attn', threads, mine, `${(mine.params / 1e6).toFixed(1)}M params, random weights${share(mine.tokens_per_s, threads)}`, load, mine.weight_bytes_per_token);
        for (const q of folders ? QUANT : []) {
          const job: ChildJob = { ...c, folder: folders![q.impl] };
          const res = await withContention(contended, () => runAttnChild<GenResult>(import.meta.url, 'generate', job, threads));
          sameSize(c, q.impl, res.params, mine.params);
          const how = q.bits === 8 ? 'int8, one scale per output channel' : 'int4, groups of 32';
          addRows(r, c, q.impl, threads, res, `the same model, ${how} (every Linear + the tied embedding / LM head), loaded from its quantised folder${share(res.tokens_per_s, threads)}`, load, res.weight_bytes_per_token);
        }
        for (const tc of torchConfigs(threads)) {
          const torch = await withContention(contended, () => runTorch<GenResult>('_gpt_torch.py', c.mode, c, tc));
          if (torch === null) {
            if (!r.missing!.includes('pytorch')) r.missing!.push('pytorch');
            break;
          }
          sameSize(c, 'PyTorch', torch.params, mine.params);
          addRows(r, c, 'pytorch', threads, torch, `torch ${torch.torch}, ${torch.blas}, no_grad${masked}`, { config: torch.config, ...load }, mine.weight_bytes_per_token);
        }
        const job = { task: c.mode === 'decode' ? ('gpt-decode' as const) : ('gpt-prefill' as const), threads, runs: c.runs, prompt: c.prompt, new: c.new };
        for (const { runtime, result } of await runOrtPeers(r, 'gpt', shape, job, contended)) {
          sameSize(c, `${runtime} (ONNX)`, result.params, mine.params);
          addRows(r, c, runtime, result.threads, result, `${runtime} ${result.version}, ONNX export with past key/values`, { config: result.config, ...load }, mine.weight_bytes_per_token);
        }
      }
    }
  }
  // The machine's bandwidth, next to the decode rows it bounds (copies and sums run on torch's own pool). Measured
  // after every model run: the JS copy makes this process hold 512 MB, and on Linux a child process started after
  // that reports at least this process's peak RSS as its own (ru_maxrss survives exec), which would hide the
  // peak RSS of every later measurement below 512 MB.
  for (const c of cases.filter((x) => x.mode === 'decode')) {
    r.rows.push({ case: c.name, impl: 'memory', threads: 1, value: jsCopyBandwidth(BANDWIDTH_MB), unit: 'GB/s', note: `JS TypedArray.set of ${BANDWIDTH_MB} MB, read + write` });
    for (const threads of threadList) {
      const bw = runTorch<{ read_gbs: number; copy_gbs: number }>('_gpt_torch.py', 'bandwidth', { mb: BANDWIDTH_MB }, { torch: threads, openblas: 1 });
      if (bw === null) break;
      r.rows.push({ case: c.name, impl: 'memory', threads, value: bw.read_gbs, unit: 'GB/s', note: `torch sum of ${BANDWIDTH_MB} MB, read only` });
      r.rows.push({ case: c.name, impl: 'memory', threads, value: bw.copy_gbs, unit: 'GB/s', note: `torch copy_ of ${BANDWIDTH_MB} MB, read + write` });
    }
  }
}

await main();
