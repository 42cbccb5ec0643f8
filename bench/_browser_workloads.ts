// The workloads of `npm run bench -- browser`, written once and run twice in the same bench run: in Node
// (bench/browser.ts) and inside headless Chromium (test/browser/page/bench_page.ts bundles this file). Both
// use the same engine source; only the platform differs (Node's worker_threads vs Web Workers), which is the
// comparison the bench is for. Each function uses whatever backend is current (the caller picks threads).
import { getBackend } from '../src/backend/index.js';
import type { MatmulSpec } from '../src/backend/backend.js';
import { GPT, gptConfig } from '../src/models/gpt.js';
import { Rng, trainingStep, type Tensor } from '../src/tensor/index.js';
import { floats } from '../src/tensor/step.js';
import { generate } from '../src/generate/index.js';
import { stepperFromModel } from '../src/generate/from_model.js';
import { makeOptimizer, TRAIN_DEFAULTS } from '../src/train/trainer.js';
import { randomBatch } from '../src/train/data.js';

/**
 * How long each workload warms up before it is timed: worker threads start on the first parallel job and take
 * a few hundred ms to join (measured in Node: 768³ products at one thread's speed for the first ~200 ms while a
 * loop kept the caller busy), and the JIT tiers up. Both sides warm up the same way; the bench times the steady state.
 */
const WARM_MS = 1000;

/** Median of `runs` timings (ms) of fn, after calling it for WARM_MS (at least once). */
function median(fn: () => void, runs: number): number {
  const warm = performance.now();
  do fn();
  while (performance.now() - warm < WARM_MS);
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

/** GFLOP/s of one whole Backend.matmul call of 768×768×768 (copies in and out included, as bench/matmul). */
export function matmul768(): number {
  const n = 768;
  const rng = new Rng(1);
  const a = new Float32Array(n * n).map(() => rng.uniform() - 0.5);
  const b = new Float32Array(n * n).map(() => rng.uniform() - 0.5);
  const out = new Float32Array(n * n);
  const spec: MatmulSpec = { batch: 1, m: n, n, k: n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false };
  const backend = getBackend();
  const ms = median(() => backend.matmul(a, b, out, spec), 9);
  return (2 * n * n * n) / (ms * 1e6);
}

/** The same product with its operands in the WebAssembly memory (step memory): the kernel alone, no copies. */
export function matmul768InMemory(): number {
  const n = 768;
  const rng = new Rng(1);
  const spec: MatmulSpec = { batch: 1, m: n, n, k: n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false };
  const backend = getBackend();
  return trainingStep(() => {
    const a = floats(n * n);
    const b = floats(n * n);
    const out = floats(n * n);
    for (let i = 0; i < n * n; i++) [a[i], b[i]] = [rng.uniform() - 0.5, rng.uniform() - 0.5];
    const ms = median(() => backend.matmul(a, b, out, spec), 9);
    return (2 * n * n * n) / (ms * 1e6);
  });
}

/** decode-gpt2-124m: GPT-2 small's shape (random weights), a 16-token prompt, greedy; new tokens per second after the first. */
export function decodeGpt2(newTokens = 24): number {
  const model = new GPT(gptConfig({ preset: 'gpt2' }), new Rng(2));
  model.train(false);
  const prompt = Array.from({ length: 16 }, (_, i) => (i * 997) % 50257);
  const stepper = stepperFromModel(model);
  // Warm-up (see WARM_MS): short generations until the threads have joined and the code is hot.
  const warm = performance.now();
  do generate(stepper, [prompt], { max_new_tokens: 4, do_sample: false });
  while (performance.now() - warm < WARM_MS);
  let first = 0;
  let count = 0;
  const t0 = performance.now();
  generate(stepper, [prompt], {
    max_new_tokens: newTokens,
    min_new_tokens: newTokens,
    do_sample: false,
    streamer: { put: () => (count++ === 0 ? (first = performance.now()) : 0), end: () => {} },
  });
  const total = performance.now() - t0;
  return (newTokens - 1) / ((total - (first - t0)) / 1000);
}

/** The default run's training step (`attn start`: preset mini, vocabulary 2048, batch 16 × 128): ms per step. */
export function trainStepMini(steps = 4): number {
  const model = new GPT(gptConfig({ preset: 'mini', vocab_size: 2048 }), new Rng(3));
  model.train(true);
  const opts = { ...TRAIN_DEFAULTS, batchSize: 16, blockSize: 128 };
  const optimizer = makeOptimizer(model, opts);
  const rng = new Rng(4);
  const tokens = new Int32Array(200_000).map(() => Math.floor(rng.uniform() * 2048));
  // As trainLoop runs a step: in step memory (src/tensor/step.ts).
  const step = () => trainingStep(() => {
    const { x, y } = randomBatch(tokens, 16, 128, rng);
    const { loss } = model.forward(x, { targets: y, rng });
    (loss as Tensor).backward();
    optimizer.step();
    optimizer.zeroGrad();
  });
  return median(step, steps);
}
