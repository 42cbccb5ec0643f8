// `npm run bench -- train [--json] [--case NAME] [--threads N]`: training throughput, tokens/s, of attn's GPT
// next to the same GPT in PyTorch (bench/_gpt_torch.py, Debian's torch 1.13 on OpenBLAS), in the same run.
//
// One timed unit is a full optimizer step, as nanoGPT's train.py does it:
//   logits = model(x);  loss = cross_entropy(logits, y);  loss.backward();  clip grad norm at 1.0;
//   AdamW (lr 1e-3, betas 0.9/0.99, weight decay 0.1 on matrices and embeddings);  zero the grads
// tokens/s = B·T / (median seconds per step), after warm-up steps (JIT, first-touch allocations, packing).
//
// The model on both sides: GPT-2's architecture (learned positions, pre-LayerNorm, GELU tanh, head tied to
// wte, biases everywhere), no dropout, random token ids in [0, vocab). The parameter counts of both sides are
// compared before anything is reported, so a mismatch in sizes cannot hide behind a ratio.
//
// Cases:
//   nanogpt-cpu  4 layers, 4 heads, 128 dims, block 64, batch 12, vocab 65  (nanoGPT's CPU config)
//   gpt-6l-384   6 layers, 6 heads, 384 dims, block 256, batch 16, vocab 65 (nanoGPT's Shakespeare-char model)
//
// Both sides run with 1 and 2 threads (`--threads N` for one count, `--case NAME` for one case); the big case
// times only 3 steps after 1 warm-up step, as one step takes seconds. PyTorch runs once per threading
// configuration (bench/_common.ts, torchConfigs: for 2 threads torch=2,openblas=1 and torch=1,openblas=2,
// never both pools on every core), each a row, and attn is compared with the best. PyTorch 1.13 computes
// the full T×T attention scores and masks half of them; attn skips the masked half: the rows say so.
// `--contended` measures everything a second time with one busy process competing for a core (rows marked
// "contended": true); on a machine busy with other work, note the load next to the figures.
//
// Each measurement runs in its own process (this file again, with --child), so the peak RSS row (MB) is that
// one training run's peak: the Node/Python runtime plus weights, gradients, AdamW moments and activations.
//
// `--breakdown`: instead of the table, where attn's step time goes, per case and thread count: the phases
// (forward, backward, clip, AdamW, zero grads) and inside them the backend's kernels (GEMMs with their FLOP
// rate and share of the SIMD limit, attention, each row kernel), the rest being JavaScript between kernels.
import { setBackend } from '../src/backend/index.js';
import '../src/platform/node.js';
import { GPT, gptConfig, gptParameterCount } from '../src/models/gpt.js';
import { clipGradNorm } from '../src/optim/index.js';
import { Rng, tensor, trainingStep, type Tensor } from '../src/tensor/index.js';
import { makeOptimizer, TRAIN_DEFAULTS } from '../src/train/trainer.js';
import { getBackend } from '../src/backend/index.js';
import { instrument, type Breakdown, type KernelTimes } from './_breakdown.js';
import type { WasmBackend } from '../src/backend/wasm/index.js';
import { fmaPeak } from './_peak.js';
import { newReport, report, parseCaseArgs, runAttnChild, runTorch, torchConfigs, wantJson, withContention, type BenchReport, type BenchRow } from './_common.js';

interface TrainCase {
  name: string;
  n_layer: number;
  n_head: number;
  n_embd: number;
  block: number; // T, also n_positions
  batch: number; // B
  vocab: number;
  warmup: number; // untimed steps
  min_steps: number; // timed steps: at least this many ...
  min_s: number; // ... and at least this many seconds
}

const CASES: TrainCase[] = [
  { name: 'nanogpt-cpu', n_layer: 4, n_head: 4, n_embd: 128, block: 64, batch: 12, vocab: 65, warmup: 3, min_steps: 10, min_s: 4 },
  { name: 'gpt-6l-384', n_layer: 6, n_head: 6, n_embd: 384, block: 256, batch: 16, vocab: 65, warmup: 1, min_steps: 3, min_s: 0 },
];

/** What one measurement (attn child process or PyTorch process) reports. */
interface TrainResult {
  step_s: number; // median seconds per optimizer step
  steps: number; // timed steps
  first_loss: number; // ≈ ln(vocab) at initialisation on both sides: a sanity check, not a speed number
  params: number;
  peak_rss_mb: number;
}

// -----------------------------------------------------------------------------------------------------------
// The attn side: runs in a child process (`--child CASE_JSON THREADS`) and prints one TrainResult.

function breakdownAttn(c: TrainCase, threads: number): Breakdown {
  const be = setBackend('wasm', { threads }) as WasmBackend;
  const peak = fmaPeak(be.variant);
  const cfg = gptConfig({ n_layer: c.n_layer, n_head: c.n_head, n_embd: c.n_embd, n_positions: c.block, vocab_size: c.vocab, embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0 });
  const model = new GPT(cfg, new Rng(1337));
  model.train(true);
  const params = model.parameters();
  const optimizer = makeOptimizer(model, { ...TRAIN_DEFAULTS, lr: 1e-3, betas: [0.9, 0.99], weightDecay: 0.1 });
  const rng = new Rng(0);
  const ids = () => tensor(Int32Array.from({ length: c.batch * c.block }, () => rng.int(c.vocab)), [c.batch, c.block], { dtype: 'int32' });
  const x = ids();
  const y = ids();
  const times: KernelTimes = new Map();
  const phases = new Map<string, number>();
  const phase = (name: string, fn: () => void): void => {
    const t0 = performance.now();
    fn();
    phases.set(name, (phases.get(name) ?? 0) + (performance.now() - t0));
  };
  // As attn's training loops run a step: in step memory (src/tensor/step.ts).
  const step = (): void => trainingStep(() => {
    let loss: Tensor | null = null;
    phase('forward (incl. loss)', () => {
      loss = model.forward(x, { targets: y }).loss as Tensor;
      loss.item();
    });
    phase('backward', () => loss!.backward());
    phase('clip grad norm', () => clipGradNorm(params, 1.0));
    phase('AdamW step', () => optimizer.step());
    phase('zero grads', () => optimizer.zeroGrad());
  });
  for (let i = 0; i < c.warmup; i++) step();
  phases.clear();
  instrument(getBackend(), times);
  const n = Math.max(c.min_steps, 3);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) step();
  const stepMs = (performance.now() - t0) / n;
  const kernels: Breakdown['kernels'] = {};
  for (const [k, v] of [...times].sort((a, b) => b[1].s - a[1].s)) kernels[k] = { ms: (v.s * 1000) / n, gflops: v.flops > 0 ? v.flops / v.s / 1e9 : 0, calls: v.calls / n };
  return { step_ms: stepMs, phases: Object.fromEntries([...phases].map(([k, v]) => [k, v / n])), kernels, peak_gflops: peak, threads };
}

function printBreakdown(c: TrainCase, b: Breakdown): void {
  const limit = b.peak_gflops * b.threads;
  console.log(`\n${c.name}, ${b.threads} thread${b.threads > 1 ? 's' : ''}: ${b.step_ms.toFixed(1)} ms per step (${((c.batch * c.block) / (b.step_ms / 1000)).toFixed(0)} tokens/s); SIMD limit ${limit.toFixed(1)} GFLOP/s (${b.peak_gflops.toFixed(1)} per core)`);
  for (const [k, ms] of Object.entries(b.phases)) console.log(`  ${k.padEnd(28)} ${ms.toFixed(1).padStart(8)} ms  ${((100 * ms) / b.step_ms).toFixed(0).padStart(3)} %`);
  let kernelMs = 0;
  let gemmFlops = 0;
  console.log('  kernels:');
  for (const [k, v] of Object.entries(b.kernels)) {
    kernelMs += v.ms;
    gemmFlops += v.gflops * v.ms * 1e6;
    const rate = v.gflops > 0 ? `  ${v.gflops.toFixed(1)} GFLOP/s = ${((100 * v.gflops) / limit).toFixed(0)} % of the limit` : '';
    console.log(`    ${k.padEnd(30)} ${v.ms.toFixed(1).padStart(8)} ms  ${((100 * v.ms) / b.step_ms).toFixed(0).padStart(3)} %  ${v.calls.toFixed(0).padStart(4)} calls${rate}`);
  }
  const rest = b.step_ms - kernelMs;
  console.log(`    ${'JavaScript between kernels'.padEnd(30)} ${rest.toFixed(1).padStart(8)} ms  ${((100 * rest) / b.step_ms).toFixed(0).padStart(3)} %`);
  console.log(`  whole step: ${(gemmFlops / (b.step_ms * 1e6)).toFixed(1)} GEMM GFLOP/s = ${((100 * gemmFlops) / (b.step_ms * 1e6) / limit).toFixed(0)} % of the limit`);
}

function trainAttn(c: TrainCase, threads: number): TrainResult {
  setBackend('wasm', { threads });
  const cfg = gptConfig({
    n_layer: c.n_layer, n_head: c.n_head, n_embd: c.n_embd, n_positions: c.block, vocab_size: c.vocab,
    embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0,
  });
  const model = new GPT(cfg, new Rng(1337));
  model.train(true);
  const params = model.parameters();
  const optimizer = makeOptimizer(model, { ...TRAIN_DEFAULTS, lr: 1e-3, betas: [0.9, 0.99], weightDecay: 0.1 });

  // A few fixed batches of random sequences, made before timing: y is x shifted left by one, as in a corpus.
  const rng = new Rng(0);
  const { batch: B, block: T } = c;
  const batches = Array.from({ length: 4 }, () => {
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      let prev = rng.int(c.vocab);
      for (let t = 0; t < T; t++) {
        const next = rng.int(c.vocab);
        x[b * T + t] = prev;
        y[b * T + t] = next;
        prev = next;
      }
    }
    return { x: tensor(x, [B, T], { dtype: 'int32' }), y: tensor(y, [B, T], { dtype: 'int32' }) }; // (B, T) each
  });

  const losses: number[] = [];
  // As attn's training loops run a step: in step memory (src/tensor/step.ts).
  const step = (i: number): void => trainingStep(() => {
    const { x, y } = batches[i % batches.length]!;
    const loss = model.forward(x, { targets: y }).loss as Tensor;
    losses.push(loss.item());
    loss.backward();
    clipGradNorm(params, 1.0);
    optimizer.step();
    optimizer.zeroGrad();
  });

  for (let i = 0; i < c.warmup; i++) step(i);
  const times: number[] = [];
  const start = performance.now();
  while (times.length < c.min_steps || performance.now() - start < c.min_s * 1000) {
    const t0 = performance.now();
    step(times.length);
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return {
    step_s: times[Math.floor(times.length / 2)]!,
    steps: times.length,
    first_loss: losses[0]!,
    params: gptParameterCount(cfg),
    peak_rss_mb: process.resourceUsage().maxRSS / 1024, // maxRSS is in KiB
  };
}


// -----------------------------------------------------------------------------------------------------------
// The report. (The PyTorch side is bench/_gpt_torch.py, one process per case and threading configuration.)

/** `how`: the peer's configuration and whether a busy process competed for a core. */
function addRows(r: BenchReport, c: TrainCase, impl: string, threads: number, res: TrainResult, note: string, how: Pick<BenchRow, 'config' | 'contended'>): void {
  const tokens = c.batch * c.block;
  r.rows.push({
    case: c.name, impl, threads, ...how, value: tokens / res.step_s, unit: 'tokens/s',
    note: `${(res.step_s * 1000).toFixed(0)} ms/step, median of ${res.steps}; first loss ${res.first_loss.toFixed(3)}${note}`,
  });
  r.rows.push({ case: c.name, impl, threads, ...how, value: res.peak_rss_mb, unit: 'MB', note: 'peak RSS of the process' });
}


async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const res = trainAttn(JSON.parse(argv[1]!) as TrainCase, Number(argv[2]));
    process.stdout.write(JSON.stringify(res) + '\n');
    return;
  }
  if (argv[0] === '--breakdown-child') {
    process.stdout.write(JSON.stringify(breakdownAttn(JSON.parse(argv[1]!) as TrainCase, Number(argv[2]))) + '\n');
    return;
  }
  const breakdown = argv.includes('--breakdown');
  const { cases, threads: threadList, loads } = parseCaseArgs('train', CASES, argv.filter((a) => a !== '--breakdown'));
  if (breakdown) {
    for (const c of cases) for (const threads of threadList) printBreakdown(c, await runAttnChild<Breakdown>(import.meta.url, 'train', c, threads, '--breakdown-child'));
    return;
  }
  const r = newReport('train');
  for (const c of cases) {
    for (const contended of loads) {
      const load = contended ? { contended: true } : {};
      for (const threads of threadList) {
        const mine = await withContention(contended, () => runAttnChild<TrainResult>(import.meta.url, 'train', c, threads));
        addRows(r, c, 'attn', threads, mine, `; ${(mine.params / 1e6).toFixed(2)}M params`, load);
        for (const tc of torchConfigs(threads)) {
          const torch = await withContention(contended, () => runTorch<TrainResult>('_gpt_torch.py', 'train', c, tc));
          if (torch === null) {
            if (!r.missing!.includes('pytorch')) r.missing!.push('pytorch');
            break;
          }
          if (torch.params !== mine.params) {
            throw new Error(`bench train: case ${c.name}: the PyTorch model has ${torch.params} parameters, attn's ${mine.params}; the models must be identical`);
          }
          addRows(r, c, 'pytorch', threads, torch, `; torch ${torch.torch}, ${torch.blas}; full T×T causal scores`, { config: torch.config, ...load });
        }
      }
    }
  }
  report(r, wantJson());
}

await main();
