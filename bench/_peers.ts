// The peers of the model benches, in one place: ONNX exports of the PyTorch modules (made once, cached),
// the onnxruntime-node / onnxruntime-web runners, and ready-made peer rows for the BERT and Marian cases, so
// a model bench adds attn's own rows and calls one function for everything it is compared with.
//
//   onnxExport(kind, shape)      the export's .json (bench/_export_onnx.py, run on first use into
//                                node_modules/.cache/attn-bench/), or why there is none (no PyTorch)
//   runOrtPeers(r, ...)          one measurement per installed onnxruntime, in a fresh process (bench/_ort.ts)
//   bertPeers(r, c, threads)     PyTorch under each threading configuration, and for the forward case
//   marianPeers(r, c, threads)   the two onnxruntimes; adds the rows and returns the peers' parameter counts
//
// Exports are keyed by a hash of the model shape and of the Python sources, so editing a model script
// exports again (and removes that kind's stale files: a GPT-2 export is ~650 MB).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasTorch, runTorch, torchConfigs, withContention, type BenchReport, type BenchRow } from './_common.js';
import type { OrtJob, OrtResult, OrtRuntime } from './_ort.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)); // from dist/bench/
const BENCH_SRC = join(ROOT, 'bench');
const ORT_CHILD = fileURLToPath(new URL('./_ort.js', import.meta.url));
const PY_SOURCES = ['_export_onnx.py', '_gpt_torch.py', '_bert_torch.py', '_marian_torch.py', '_torch_common.py'];

/** Where the ONNX exports live: ignored by git, and thrown away with node_modules. */
export const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'attn-bench');
export const ORT_RUNTIMES: readonly OrtRuntime[] = ['onnxruntime-node', 'onnxruntime-web'];

/** Can `name` be imported from here? hasPackage('onnxruntime-web') */
export function hasPackage(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

function addMissing(r: BenchReport, what: string): void {
  if (!r.missing!.includes(what)) r.missing!.push(what);
}

/**
 * The ONNX export of a `kind` model with `shape` (the config bench/_export_onnx.py takes), exporting it on
 * first use: { meta: path of its .json }, or { missing: why } when PyTorch is not there to export it.
 * Example: onnxExport('gpt', { n_layer: 12, n_head: 12, n_embd: 768, n_positions: 1024, vocab: 50257 })
 */
export function onnxExport(kind: 'gpt' | 'bert' | 'marian', shape: object): { meta: string } | { missing: string } {
  const sources = PY_SOURCES.map((f) => readFileSync(join(BENCH_SRC, f), 'utf8'));
  const key = createHash('sha256').update(JSON.stringify([kind, shape, sources])).digest('hex').slice(0, 12);
  const prefix = join(CACHE_DIR, `${kind}-${key}`);
  if (existsSync(prefix + '.json')) return { meta: prefix + '.json' }; // written last: the export is whole
  if (!hasTorch()) return { missing: 'needs python3-torch to export the ONNX model' };
  mkdirSync(CACHE_DIR, { recursive: true });
  for (const f of readdirSync(CACHE_DIR)) if (f.startsWith(`${kind}-`)) rmSync(join(CACHE_DIR, f)); // stale exports
  process.stderr.write(`bench: exporting the ${kind} model to ONNX, once, into ${CACHE_DIR} ...\n`);
  const script = join(BENCH_SRC, '_export_onnx.py');
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }; // no __pycache__ in bench/
  const r = spawnSync('/usr/bin/python3', [script, kind, JSON.stringify(shape), prefix], { encoding: 'utf8', env, maxBuffer: 16 << 20 });
  if (r.error || r.status !== 0) {
    throw new Error(`bench: exporting the ${kind} model to ONNX failed (${r.error?.message ?? `status ${r.status}`}):\n${r.stderr}\nrerun it with\n  /usr/bin/python3 ${script} ${kind} '${JSON.stringify(shape)}' ${prefix}`);
  }
  return { meta: prefix + '.json' };
}

/** One onnxruntime measurement in a fresh Node process (bench/_ort.ts). */
export function runOrt(job: OrtJob): OrtResult {
  const r = spawnSync(process.execPath, [ORT_CHILD, JSON.stringify(job)], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.error || r.status !== 0) {
    throw new Error(`bench: ${job.runtime} ${job.task} (${job.threads} threads) failed (${r.error?.message ?? `status ${r.status}`}):\n${r.stderr}\nrerun it with\n  node ${ORT_CHILD} '${JSON.stringify(job)}'`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as OrtResult;
}

/**
 * `job` on each installed onnxruntime with the `kind` export of `shape`, with one busy core when
 * `contended`; what cannot run goes to r.missing with the reason.
 * Example: await runOrtPeers(r, 'gpt', shape, { task: 'gpt-decode', threads: 2, runs: 2, prompt: 16, new: 64 }, false)
 */
export async function runOrtPeers(
  r: BenchReport, kind: 'gpt' | 'bert' | 'marian', shape: object, job: Omit<OrtJob, 'runtime' | 'meta'>, contended: boolean,
): Promise<{ runtime: OrtRuntime; result: OrtResult }[]> {
  const out: { runtime: OrtRuntime; result: OrtResult }[] = [];
  for (const runtime of ORT_RUNTIMES) {
    if (!hasPackage(runtime)) {
      addMissing(r, `${runtime} (not installed)`);
      continue;
    }
    const model = onnxExport(kind, shape);
    if ('missing' in model) {
      addMissing(r, `${runtime} (${model.missing})`);
      continue;
    }
    const result = await withContention(contended, () => runOrt({ ...job, runtime, meta: model.meta }));
    out.push({ runtime, result });
  }
  return out;
}

/** A tokens/s row and a peak-RSS row. */
function addPeerRows(r: BenchReport, row: Omit<BenchRow, 'value' | 'unit'>, tokensPerS: number, rssMb: number): void {
  r.rows.push({ ...row, value: tokensPerS, unit: 'tokens/s' });
  r.rows.push({ ...row, value: rssMb, unit: 'MB', note: 'peak RSS of the process' });
}

// -----------------------------------------------------------------------------------------------------------
// BERT (bench/_bert_torch.py): a BERT-base encoder forward, and a BERT-mini fine-tuning step.

export interface BertCase {
  name: string;
  mode: 'forward' | 'finetune';
  n_layer: number;
  hidden: number;
  n_head: number;
  ffn: number;
  vocab: number;
  batch: number; // B
  seq: number; // T
  runs?: number; // forward: timed forwards (median)
  labels?: number; // finetune: classes of the classifier head
  dropout?: number; // finetune: hidden and attention dropout (BERT's 0.1)
  lr?: number; // finetune: AdamW (Hugging Face Trainer's defaults: 5e-5, weight decay 0, clip 1.0)
  weight_decay?: number;
  warmup?: number; // finetune: untimed steps
  min_steps?: number; // finetune: timed steps, at least this many ...
  min_s?: number; // ... and at least this many seconds
}

export const BERT_CASES: readonly BertCase[] = [
  { name: 'forward-bert-base', mode: 'forward', n_layer: 12, hidden: 768, n_head: 12, ffn: 3072, vocab: 30522, batch: 8, seq: 128, runs: 3 },
  {
    name: 'finetune-bert-mini', mode: 'finetune', n_layer: 4, hidden: 256, n_head: 4, ffn: 1024, vocab: 30522, batch: 16, seq: 128,
    labels: 2, dropout: 0.1, lr: 5e-5, weight_decay: 0, warmup: 2, min_steps: 5, min_s: 3,
  },
];

/**
 * The peers of one BERT case on `threads` threads (one busy core when `contended`): PyTorch rows under each
 * threading configuration, and for 'forward' onnxruntime-node and onnxruntime-web rows (tokens/s and peak
 * RSS each). Returns the peers' parameter counts so the caller can check them against attn's model
 * (forward: the encoder without pooler; finetune: encoder + pooler + classifier).
 * Example: const { pytorch } = await bertPeers(r, BERT_CASES[0]!, 2, false)
 */
export async function bertPeers(r: BenchReport, c: BertCase, threads: number, contended: boolean): Promise<{ pytorch?: number; onnx?: number }> {
  const load = contended ? { contended: true } : {};
  const counts: { pytorch?: number; onnx?: number } = {};
  for (const tc of torchConfigs(threads)) {
    const res = await withContention(contended, () => runTorch<{ tokens_per_s: number; params: number; forward_s?: number; step_s?: number }>('_bert_torch.py', c.mode, c, tc));
    if (res === null) {
      addMissing(r, 'pytorch');
      break;
    }
    counts.pytorch = res.params;
    const what = c.mode === 'forward' ? `${(res.forward_s! * 1000).toFixed(0)} ms/forward, no_grad` : `${(res.step_s! * 1000).toFixed(0)} ms/step, AdamW`;
    addPeerRows(r, { case: c.name, impl: 'pytorch', threads, config: res.config, ...load, note: `${what}; torch ${res.torch}, ${res.blas}` }, res.tokens_per_s, res.peak_rss_mb);
  }
  if (c.mode === 'forward') {
    const shape = { n_layer: c.n_layer, hidden: c.hidden, n_head: c.n_head, ffn: c.ffn, vocab: c.vocab };
    const job = { task: 'bert-forward' as const, threads, runs: c.runs ?? 3, batch: c.batch, seq: c.seq };
    for (const { runtime, result } of await runOrtPeers(r, 'bert', shape, job, contended)) {
      counts.onnx = result.params;
      addPeerRows(r, { case: c.name, impl: runtime, threads: result.threads, config: result.config, ...load, note: `${runtime} ${result.version}, ONNX export of the PyTorch module` }, result.tokens_per_s, result.peak_rss_mb);
    }
  }
  return counts;
}

// -----------------------------------------------------------------------------------------------------------
// Marian (bench/_marian_torch.py): translation of a 32-token source into 64 new tokens, greedy and beam 4.

export interface MarianCase {
  name: string;
  mode: 'greedy' | 'beam';
  n_enc: number;
  n_dec: number;
  d_model: number;
  n_head: number;
  ffn: number;
  vocab: number;
  src: number; // source tokens
  new: number; // generated tokens (nothing ends a translation early)
  beams?: number;
  runs: number; // best of
}

const MARIAN_BASE = { n_enc: 6, n_dec: 6, d_model: 512, n_head: 8, ffn: 2048, vocab: 58101, src: 32, new: 64, runs: 2 };
export const MARIAN_CASES: readonly MarianCase[] = [
  { name: 'translate-marian-base-greedy', mode: 'greedy', ...MARIAN_BASE },
  { name: 'translate-marian-base-beam4', mode: 'beam', ...MARIAN_BASE, beams: 4 },
];

/**
 * The peers of one Marian case on `threads` threads: PyTorch under each threading configuration and both
 * onnxruntimes (encoder + decoder-with-past graphs), tokens/s = new tokens / whole call, and peak RSS.
 * Example: const { pytorch } = await marianPeers(r, MARIAN_CASES[1]!, 1, false)
 */
export async function marianPeers(r: BenchReport, c: MarianCase, threads: number, contended: boolean): Promise<{ pytorch?: number; onnx?: number }> {
  const load = contended ? { contended: true } : {};
  const counts: { pytorch?: number; onnx?: number } = {};
  const how = c.mode === 'beam' ? `beam ${c.beams}` : 'greedy';
  for (const tc of torchConfigs(threads)) {
    const res = await withContention(contended, () => runTorch<{ tokens_per_s: number; params: number }>('_marian_torch.py', c.mode, c, tc));
    if (res === null) {
      addMissing(r, 'pytorch');
      break;
    }
    counts.pytorch = res.params;
    addPeerRows(r, { case: c.name, impl: 'pytorch', threads, config: res.config, ...load, note: `${how}, KV cache; torch ${res.torch}, ${res.blas}` }, res.tokens_per_s, res.peak_rss_mb);
  }
  const shape = { n_enc: c.n_enc, n_dec: c.n_dec, d_model: c.d_model, n_head: c.n_head, ffn: c.ffn, vocab: c.vocab };
  const job = { task: c.mode === 'beam' ? ('marian-beam' as const) : ('marian-greedy' as const), threads, runs: c.runs, src: c.src, new: c.new, ...(c.beams ? { beams: c.beams } : {}) };
  for (const { runtime, result } of await runOrtPeers(r, 'marian', shape, job, contended)) {
    counts.onnx = result.params;
    addPeerRows(r, { case: c.name, impl: runtime, threads: result.threads, config: result.config, ...load, note: `${how}; ${runtime} ${result.version}, encoder + decoder-with-past graphs` }, result.tokens_per_s, result.peak_rss_mb);
  }
  return counts;
}
