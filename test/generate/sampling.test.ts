// Sampling: frequencies of drawn tokens match the softmax of the warped logits computed here from the
// definitions; top-k / top-p / min-p never draw removed tokens; a seed reproduces a run; cache and no-cache
// steppers agree; num_return_sequences copies each prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from '../../src/generate/generate.js';
import type { CausalLMStepper } from '../../src/generate/model.js';
import { sampleIndex, seededUniform } from '../../src/generate/rng.js';
import { ToyModel, cachedStepper, noCacheStepper } from './helpers.js';

/** Every row gets the same logits: a fixed next-token distribution to sample from. */
function fixedLogits(logits: number[]): CausalLMStepper {
  const V = logits.length;
  return { vocabSize: V, forward: (b) => Float32Array.from({ length: b.rows * V }, (_, i) => logits[i % V]!), reorderCache() {} };
}

const LOGITS = [1.0, 2.5, 0.3, -1.0, 2.0, 0.0];

function softmax(x: number[]): number[] {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Draw n first tokens in one batch (n identical prompts) and count them. */
function counts(opts: Record<string, unknown>, n: number): number[] {
  const prompts = Array.from({ length: n }, () => [0]);
  const out = generate(fixedLogits(LOGITS), prompts, { do_sample: true, max_new_tokens: 1, top_k: 0, ...opts });
  const c = new Array<number>(LOGITS.length).fill(0);
  for (const s of out.sequences) c[s[1]!]!++;
  return c;
}

function assertFrequencies(c: number[], p: number[], label: string): void {
  const n = c.reduce((a, b) => a + b, 0);
  for (let i = 0; i < p.length; i++) {
    const sd = Math.sqrt(n * p[i]! * (1 - p[i]!));
    assert.ok(Math.abs(c[i]! - n * p[i]!) <= 5 * sd + 1e-9, `${label}: token ${i} drawn ${c[i]} times, expected ${(n * p[i]!).toFixed(1)} ± ${(5 * sd).toFixed(1)}`);
  }
}

test('temperature sampling draws tokens with probability softmax(logits / T)', () => {
  const n = 8000;
  assertFrequencies(counts({ temperature: 1, seed: 1 }, n), softmax(LOGITS), 'T = 1');
  assertFrequencies(counts({ temperature: 0.5, seed: 2 }, n), softmax(LOGITS.map((x) => x / 0.5)), 'T = 0.5');
  assertFrequencies(counts({ temperature: 3, seed: 3 }, n), softmax(LOGITS.map((x) => x / 3)), 'T = 3');
});

test('top-k, top-p and min-p draw only from the kept tokens, in renormalised proportions', () => {
  const n = 8000;
  // top_k 2: tokens 1 (2.5) and 4 (2.0)
  const pk = softmax([2.5, 2.0]);
  assertFrequencies(counts({ top_k: 2, seed: 4 }, n), [0, pk[0]!, 0, 0, pk[1]!, 0], 'top_k 2');
  // top_p 0.8: sorted probabilities 0.455, 0.276, 0.167, 0.062, 0.034, 0.008 → the first three reach 0.898
  // (the cumulative mass of the removed tail, 0.102, is <= 0.2).
  const p = softmax(LOGITS);
  const keep = [0, 1, 4];
  const z = keep.reduce((a, i) => a + p[i]!, 0);
  assertFrequencies(counts({ top_p: 0.8, seed: 5 }, n), p.map((x, i) => (keep.includes(i) ? x / z : 0)), 'top_p 0.8');
  // min_p 0.5: keep p >= 0.5 · 0.455 → tokens 1 and 4 (0.276)
  const z2 = p[1]! + p[4]!;
  assertFrequencies(counts({ min_p: 0.5, seed: 6 }, n), p.map((x, i) => (i === 1 || i === 4 ? x / z2 : 0)), 'min_p 0.5');
});

test('transformers defaults: sampling uses top_k = 50 unless told otherwise', () => {
  const V = 80;
  const logits = Array.from({ length: V }, (_, i) => (i < 60 ? 0 : -50));
  const prompts = Array.from({ length: 1500 }, () => [0]);
  const out = generate(fixedLogits(logits), prompts, { do_sample: true, max_new_tokens: 1, seed: 9 });
  const drawn = new Set(out.sequences.map((s) => s[1]!));
  // 60 equal logits: top-k keeps every value >= the 50th largest, i.e. all 60 (ties survive)
  assert.ok([...drawn].every((t) => t < 60));
  const out2 = generate(fixedLogits(logits.map((x, i) => x - i * 1e-3)), prompts, { do_sample: true, max_new_tokens: 1, seed: 9 });
  assert.ok(out2.sequences.every((s) => s[1]! < 50), 'with distinct values only the 50 best are drawn');
});

test('a seed reproduces a run, another seed changes it; the output reports the seed', () => {
  const model = new ToyModel(13, 8, true, true, 1);
  const opts = { do_sample: true, max_new_tokens: 30, top_k: 0 } as const;
  const a = generate(noCacheStepper(model), [[1, 2]], { ...opts, seed: 42 });
  const b = generate(noCacheStepper(model), [[1, 2]], { ...opts, seed: 42 });
  const c = generate(noCacheStepper(model), [[1, 2]], { ...opts, seed: 43 });
  assert.deepEqual([...a.sequences[0]!], [...b.sequences[0]!]);
  assert.notDeepEqual([...a.sequences[0]!], [...c.sequences[0]!]);
  assert.equal(a.seed, 42);
  const d = generate(noCacheStepper(model), [[1, 2]], opts);
  assert.equal(typeof d.seed, 'number', 'a random seed is drawn and reported');
  const e = generate(noCacheStepper(model), [[1, 2]], { ...opts, seed: d.seed! });
  assert.deepEqual([...e.sequences[0]!], [...d.sequences[0]!]);
});

test('sampling with the KV-cache stepper equals sampling without it (same seed), also with num_return_sequences', () => {
  const model = new ToyModel(10, 12, true, true, 1);
  const prompts = [[3, 4, 5], [7]];
  const opts = { do_sample: true, max_new_tokens: 15, temperature: 0.8, top_p: 0.95, repetition_penalty: 1.2, num_return_sequences: 3, seed: 7, eos_token_id: 9, pad_token_id: 0 } as const;
  const cached = cachedStepper(model);
  const a = generate(cached, prompts, opts);
  const b = generate(noCacheStepper(model), prompts, opts);
  assert.equal(a.sequences.length, 6);
  assert.deepEqual(a.sequences.map((s) => [...s]), b.sequences.map((s) => [...s]));
  assert.deepEqual([...cached.reorders[0]!], [0, 0, 0, 1, 1, 1], 'the cache was expanded to 3 rows per prompt');
  // Rows of one prompt keep its prompt, and (with overwhelming probability) differ from each other.
  assert.deepEqual([...a.sequences[1]!.subarray(0, 3)], [3, 4, 5]);
  assert.deepEqual([...a.sequences[4]!.subarray(0, 3)], [0, 0, 7]);
  assert.notDeepEqual([...a.sequences[0]!], [...a.sequences[1]!]);
});

test('logprobs are log_softmax of the raw logits; processed_logprobs those of the warped distribution', () => {
  const stepper = fixedLogits(LOGITS);
  const out = generate(stepper, [[0], [1]], { do_sample: true, max_new_tokens: 4, top_k: 3, temperature: 0.7, seed: 11, output_logprobs: true });
  const raw = softmax(LOGITS);
  // warped: temperature, then only the 3 best (tokens 1, 4, 0)
  const warped = softmax(LOGITS.map((x) => x / 0.7));
  const z = warped[1]! + warped[4]! + warped[0]!;
  for (let r = 0; r < 2; r++) {
    for (let i = 0; i < 4; i++) {
      const tok = out.sequences[r]![1 + i]!;
      assert.ok([0, 1, 4].includes(tok));
      assert.ok(Math.abs(out.logprobs![r]![i]! - Math.log(raw[tok]!)) < 1e-5);
      assert.ok(Math.abs(out.processed_logprobs![r]![i]! - Math.log(warped[tok]! / z)) < 1e-5);
    }
  }
  // Without warpers the processed distribution is the model's (the shared log Σ exp path).
  const plain = generate(stepper, [[0]], { do_sample: true, max_new_tokens: 3, top_k: 0, seed: 3, output_logprobs: true });
  for (let i = 0; i < 3; i++) {
    const tok = plain.sequences[0]![1 + i]!;
    assert.ok(Math.abs(plain.logprobs![0]![i]! - Math.log(raw[tok]!)) < 1e-5);
    assert.equal(plain.processed_logprobs![0]![i], plain.logprobs![0]![i]);
  }
  assert.equal(generate(stepper, [[0]], { do_sample: true, max_new_tokens: 2, seed: 3 }).logprobs, undefined, 'opt-in');
});

test('a custom uniform source is used as given (u = 0 picks the first possible token)', () => {
  const out = generate(fixedLogits(LOGITS), [[0]], { do_sample: true, max_new_tokens: 3, top_k: 2, rng: () => 0 });
  assert.deepEqual([...out.sequences[0]!], [0, 1, 1, 1]);
  const last = generate(fixedLogits(LOGITS), [[0]], { do_sample: true, max_new_tokens: 2, top_k: 2, rng: () => 0.999999 });
  assert.deepEqual([...last.sequences[0]!], [0, 4, 4]);
});

test('seededUniform: deterministic, in [0, 1), and close to uniform (chi-square over 16 bins)', () => {
  const a = seededUniform(123);
  const b = seededUniform(123);
  const n = 64000;
  const bins = new Array<number>(16).fill(0);
  for (let i = 0; i < n; i++) {
    const x = a();
    assert.equal(x, b());
    assert.ok(x >= 0 && x < 1);
    bins[Math.floor(x * 16)]!++;
  }
  const chi2 = bins.reduce((acc, c) => acc + (c - n / 16) ** 2 / (n / 16), 0);
  assert.ok(chi2 < 45, `chi-square ${chi2.toFixed(1)} with 15 degrees of freedom`); // p ≈ 1e-4
  assert.notEqual(seededUniform(1)(), seededUniform(2)());
});

test('sampleIndex never picks a zero-probability token and refuses an all-zero distribution', () => {
  const p = Float32Array.of(0, 0.5, 0, 0.5, 0);
  for (const u of [0, 0.25, 0.4999, 0.5, 0.75, 0.999999]) assert.ok([1, 3].includes(sampleIndex(p, () => u)));
  assert.throws(() => sampleIndex(new Float32Array(3), () => 0.5), /probabilities sum to 0/);
});
