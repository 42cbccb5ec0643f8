// `npm run bench -- bert [--json] [--case NAME] [--threads N] [--contended] [--tiny] [--breakdown]`: BERT
// throughput, tokens/s, of attn next to the same BERT in PyTorch and onnxruntime (node and web), in the same run.
//
// Cases (bench/_peers.ts, BERT_CASES, shared with the peers):
//   forward-bert-base   BERT-base's shape (12 layers, 768 channels, 12 heads, FFN 3072, vocab 30522), a batch of
//                       8 × 128 random tokens, all real (mask of ones), inference without gradients; the encoder
//                       only (no pooler). tokens/s = B·T / median seconds per forward, after one warm-up.
//   finetune-bert-mini  4 layers, 256 channels, 4 heads, FFN 1024: a sequence-classification training step
//                       (encoder + pooler + classifier, dropout 0.1): forward, cross-entropy, backward, clip the
//                       gradient norm at 1, AdamW (lr 5e-5, no weight decay), zero the grads, on batches of
//                       16 × 128; tokens/s = B·T / median seconds per step.
// Both sides build the same architecture with random weights; their parameter counts are compared before
// anything is reported, so a mismatch in sizes cannot hide behind a ratio.
//
// The forward case is GEMM-bound, so its 1- and 2-thread rows also say what share of the 128-bit SIMD limit
// they reach: forward FLOPs per token (2 per weight of every matmul, plus q·kᵀ and p·v: 4·T·C per layer)
// times tokens/s, over the f32x4 multiply-add peak of one core (kernels/peak.ts, as bench/matmul.ts measures
// it) times the threads.
//
// Each measurement runs in its own process (this file again, with --child), so the peak RSS row (MB) is that
// one run's peak. `--tiny` shrinks every case (2 layers, 64 channels, batch 2 × 16) to check that the bench
// runs end to end in seconds; its figures mean nothing.
//
// `--breakdown`: instead of the table, where attn's fine-tuning step goes, per thread count: the phases
// (forward, backward, clip, AdamW, zero grads) and inside them the backend's kernels (GEMMs with their FLOP
// rate and share of the SIMD limit, attention, each row kernel), the rest being JavaScript between kernels
// (the cheap elementwise ops, dropout's masks, copies, the tape). The forward case has no breakdown.
import { setBackend } from '../src/backend/index.js';
import { nodePlatform } from '../src/platform/node.js';
import { chooseVariant } from '../src/backend/wasm/index.js';
import { fmaPeak } from './_peak.js';
import { BertModel, BertForSequenceClassification, bertConfig, bertParameterCount } from '../src/models/bert.js';
import { AdamW, clipGradNorm } from '../src/optim/index.js';
import { Rng, noGrad, tensor, trainingStep, type Tensor } from '../src/tensor/index.js';
import { getBackend } from '../src/backend/index.js';
import { instrument, type Breakdown, type KernelTimes } from './_breakdown.js';
import type { WasmBackend } from '../src/backend/wasm/index.js';
import { newReport, report, parseCaseArgs, runAttnChild, wantJson, withContention, type BenchReport, type BenchRow } from './_common.js';
import { BERT_CASES, bertPeers, type BertCase } from './_peers.js';

/** What one attn measurement reports. */
interface BertResult {
  tokens_per_s: number;
  seconds: number; // median seconds per forward or per step
  runs: number;
  params: number;
  first_loss?: number;
  peak_rss_mb: number;
}

function configOf(c: BertCase, dropout: number) {
  return bertConfig({
    num_hidden_layers: c.n_layer,
    hidden_size: c.hidden,
    num_attention_heads: c.n_head,
    intermediate_size: c.ffn,
    vocab_size: c.vocab,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    hidden_dropout_prob: dropout,
    attention_probs_dropout_prob: dropout,
    id2label: Array.from({ length: c.labels ?? 2 }, (_, i) => `LABEL_${i}`),
  });
}

/** B·T random token ids (and, for fine-tuning, random labels), made before timing. */
function batchOf(c: BertCase, seed: number) {
  const rng = new Rng(seed);
  const shape = [c.batch, c.seq];
  return {
    ids: tensor(Int32Array.from({ length: c.batch * c.seq }, () => rng.int(c.vocab)), shape, { dtype: 'int32' }),
    types: tensor(new Int32Array(c.batch * c.seq), shape, { dtype: 'int32' }),
    mask: tensor(new Int32Array(c.batch * c.seq).fill(1), shape, { dtype: 'int32' }),
    labels: tensor(Int32Array.from({ length: c.batch }, () => rng.int(c.labels ?? 2)), [c.batch], { dtype: 'int32' }),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// -----------------------------------------------------------------------------------------------------------
// The attn side: runs in a child process (`--child CASE_JSON THREADS`) and prints one BertResult.

function runAttn(c: BertCase, threads: number): BertResult {
  setBackend('wasm', { threads });
  const rss = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
  if (c.mode === 'forward') {
    const cfg = configOf(c, 0);
    const model = new BertModel(cfg, { pooler: false }).eval(); // the encoder, random (PyTorch-style) weights
    const x = batchOf(c, 0);
    const once = () => noGrad(() => model.forward(x.ids, { tokenTypeIds: x.types, attentionMask: x.mask }).lastHiddenState);
    once(); // warm-up: JIT, weight packing
    const times: number[] = [];
    for (let i = 0; i < (c.runs ?? 3); i++) {
      const t0 = performance.now();
      once();
      times.push((performance.now() - t0) / 1000);
    }
    const s = median(times);
    return { tokens_per_s: (c.batch * c.seq) / s, seconds: s, runs: times.length, params: model.numParameters(), peak_rss_mb: rss() };
  }
  const ft = fineTuner(c);
  for (let i = 0; i < (c.warmup ?? 2); i++) ft.step(i);
  const times: number[] = [];
  const start = performance.now();
  while (times.length < (c.min_steps ?? 5) || performance.now() - start < (c.min_s ?? 3) * 1000) {
    const t0 = performance.now();
    ft.step(times.length);
    times.push((performance.now() - t0) / 1000);
  }
  const s = median(times);
  return { tokens_per_s: (c.batch * c.seq) / s, seconds: s, runs: times.length, params: ft.params, first_loss: ft.losses[0]!, peak_rss_mb: rss() };
}

/**
 * The fine-tuning step of a 'finetune' case: forward with labels, backward, clip, AdamW, zero the grads.
 * `phase` wraps each part (the breakdown times them; the plain run passes nothing).
 */
function fineTuner(c: BertCase, phase: (name: string, fn: () => void) => void = (_n, fn) => fn()) {
  const cfg = configOf(c, c.dropout ?? 0.1);
  const model = new BertForSequenceClassification(cfg, { rng: new Rng(1337) });
  model.train(true);
  const params = model.parameters();
  // Hugging Face Trainer's grouping: weight decay on matrices, none on biases and LayerNorm weights.
  const optimizer = new AdamW(
    [
      { params: params.filter((p) => p.ndim >= 2), weightDecay: c.weight_decay ?? 0 },
      { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
    ],
    { lr: c.lr ?? 5e-5, betas: [0.9, 0.999], eps: 1e-8 },
  );
  const batches = Array.from({ length: 4 }, (_, i) => batchOf(c, i));
  const rng = new Rng(7);
  const losses: number[] = [];
  // As attn's fine-tuning loop runs a step: in step memory (src/tensor/step.ts).
  const step = (i: number): void => trainingStep(() => {
    const x = batches[i % batches.length]!;
    let loss: Tensor | null = null;
    phase('forward (incl. loss)', () => {
      loss = model.forward(x.ids, { tokenTypeIds: x.types, attentionMask: x.mask, labels: x.labels, rng }).loss!;
      losses.push(loss.item());
    });
    phase('backward', () => loss!.backward());
    phase('clip grad norm', () => clipGradNorm(params, 1.0));
    phase('AdamW step', () => optimizer.step());
    phase('zero grads', () => optimizer.zeroGrad());
  });
  return { step, losses, params: model.numParameters() };
}

// -----------------------------------------------------------------------------------------------------------
// --breakdown: where the fine-tuning step's time goes (runs in a child process: `--breakdown-child CASE THREADS`).

function breakdownAttn(c: BertCase, threads: number): Breakdown {
  const be = setBackend('wasm', { threads }) as WasmBackend;
  const peak = fmaPeak(be.variant);
  const phases = new Map<string, number>();
  const ft = fineTuner(c, (name, fn) => {
    const t0 = performance.now();
    fn();
    phases.set(name, (phases.get(name) ?? 0) + (performance.now() - t0));
  });
  for (let i = 0; i < (c.warmup ?? 2); i++) ft.step(i);
  phases.clear();
  const times: KernelTimes = new Map();
  instrument(getBackend(), times);
  const n = Math.max(c.min_steps ?? 5, 3);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) ft.step(i);
  const stepMs = (performance.now() - t0) / n;
  const kernels: Breakdown['kernels'] = {};
  for (const [k, v] of [...times].sort((a, b) => b[1].s - a[1].s)) kernels[k] = { ms: (v.s * 1000) / n, gflops: v.flops > 0 ? v.flops / v.s / 1e9 : 0, calls: v.calls / n };
  return { step_ms: stepMs, phases: Object.fromEntries([...phases].map(([k, v]) => [k, v / n])), kernels, peak_gflops: peak, threads };
}

function printBreakdown(c: BertCase, b: Breakdown): void {
  const limit = b.peak_gflops * b.threads;
  console.log(`\n${c.name}, ${b.threads} thread${b.threads > 1 ? 's' : ''}: ${b.step_ms.toFixed(1)} ms per step (${((c.batch * c.seq) / (b.step_ms / 1000)).toFixed(0)} tokens/s); SIMD limit ${limit.toFixed(1)} GFLOP/s (${b.peak_gflops.toFixed(1)} per core)`);
  for (const [k, ms] of Object.entries(b.phases)) console.log(`  ${k.padEnd(28)} ${ms.toFixed(1).padStart(8)} ms  ${((100 * ms) / b.step_ms).toFixed(0).padStart(3)} %`);
  let kernelMs = 0;
  let flops = 0;
  console.log('  kernels:');
  for (const [k, v] of Object.entries(b.kernels)) {
    kernelMs += v.ms;
    flops += v.gflops * v.ms * 1e6;
    const rate = v.gflops > 0 ? `  ${v.gflops.toFixed(1)} GFLOP/s = ${((100 * v.gflops) / limit).toFixed(0)} % of the limit` : '';
    console.log(`    ${k.padEnd(30)} ${v.ms.toFixed(1).padStart(8)} ms  ${((100 * v.ms) / b.step_ms).toFixed(0).padStart(3)} %  ${v.calls.toFixed(0).padStart(4)} calls${rate}`);
  }
  const rest = b.step_ms - kernelMs;
  console.log(`    ${'JavaScript between kernels'.padEnd(30)} ${rest.toFixed(1).padStart(8)} ms  ${((100 * rest) / b.step_ms).toFixed(0).padStart(3)} %`);
  console.log(`  whole step: ${(flops / (b.step_ms * 1e6)).toFixed(1)} GFLOP/s (GEMMs and attention) = ${((100 * flops) / (b.step_ms * 1e6) / limit).toFixed(0)} % of the limit`);
}

// -----------------------------------------------------------------------------------------------------------
// The 128-bit SIMD limit (bench/_peak.ts, as bench/matmul.ts measures it).

/** Forward FLOPs per token: 2 per matmul weight (q, k, v, out, FFN in and out), plus 4·T·C per layer of attention. */
function forwardFlopsPerToken(c: BertCase): number {
  const C = c.hidden;
  return c.n_layer * (2 * (4 * C * C + 2 * C * c.ffn) + 4 * c.seq * C);
}

// -----------------------------------------------------------------------------------------------------------
// The report

function addRows(r: BenchReport, c: BertCase, threads: number, res: BertResult, note: string, how: Pick<BenchRow, 'contended'>): void {
  const what = c.mode === 'forward' ? `${(res.seconds * 1000).toFixed(0)} ms/forward, median of ${res.runs}, no gradients` : `${(res.seconds * 1000).toFixed(0)} ms/step, median of ${res.runs}; first loss ${res.first_loss!.toFixed(3)}`;
  r.rows.push({ case: c.name, impl: 'attn', threads, ...how, value: res.tokens_per_s, unit: 'tokens/s', note: `${what}; ${(res.params / 1e6).toFixed(2)}M params${note}` });
  r.rows.push({ case: c.name, impl: 'attn', threads, ...how, value: res.peak_rss_mb, unit: 'MB', note: 'peak RSS of the process' });
}

/** The cases shrunk for --tiny (a smoke test of the whole bench). */
function tiny(c: BertCase): BertCase {
  return { ...c, name: `${c.name}-tiny`, n_layer: 2, hidden: 64, n_head: 2, ffn: 256, vocab: 1000, batch: 2, seq: 16, runs: 2, min_steps: 2, min_s: 0, warmup: 1 };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    process.stdout.write(JSON.stringify(runAttn(JSON.parse(argv[1]!) as BertCase, Number(argv[2]))) + '\n');
    return;
  }
  if (argv[0] === '--breakdown-child') {
    process.stdout.write(JSON.stringify(breakdownAttn(JSON.parse(argv[1]!) as BertCase, Number(argv[2]))) + '\n');
    return;
  }
  const small = argv.includes('--tiny');
  const all = small ? BERT_CASES.map(tiny) : [...BERT_CASES];
  const { cases, threads: threadList, loads } = parseCaseArgs('bert', all, argv.filter((a) => a !== '--tiny' && a !== '--breakdown'));
  if (argv.includes('--breakdown')) {
    for (const c of cases.filter((c) => c.mode === 'finetune')) {
      for (const threads of threadList) printBreakdown(c, runAttnChild<Breakdown>(import.meta.url, 'bert', c, threads, '--breakdown-child'));
    }
    return;
  }
  const r = newReport('bert');
  const peak = fmaPeak(chooseVariant(nodePlatform)); // the kernels the backend picks
  for (const c of cases) {
    for (const contended of loads) {
      const load = contended ? { contended: true } : {};
      for (const threads of threadList) {
        const mine = await withContention(contended, () => runAttnChild<BertResult>(import.meta.url, 'bert', c, threads));
        const want = c.mode === 'forward' ? bertParameterCount(configOf(c, 0), { pooler: false }) : null;
        if (want !== null && want !== mine.params) throw new Error(`bench bert: ${c.name}: attn's encoder has ${mine.params} parameters, expected ${want}`);
        let note = '';
        if (c.mode === 'forward') {
          const limit = (peak * 1e9 * threads) / forwardFlopsPerToken(c); // tokens/s at the f32x4 multiply-add peak
          note = `; ${((100 * mine.tokens_per_s) / limit).toFixed(0)} % of the 128-bit SIMD limit (${limit.toFixed(0)} tokens/s at ${peak.toFixed(1)} GFLOP/s per core)`;
        }
        addRows(r, c, threads, mine, note, load);
        const counts = await bertPeers(r, c, threads, contended);
        for (const [peer, n] of Object.entries(counts)) {
          if (n !== undefined && n !== mine.params) throw new Error(`bench bert: case ${c.name}: the ${peer} model has ${n} parameters, attn's ${mine.params}; the models must be identical`);
        }
      }
    }
  }
  report(r, wantJson());
}

await main();
