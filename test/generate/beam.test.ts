// Beam search: (1) with enough beams and early_stopping "never" it is an exhaustive search, so its results
// must equal a brute-force enumeration of every possible continuation scored with transformers' formula
// Σ log p / generated_length^length_penalty; (2) two hand-worked cases pin down transformers' finer rules
// (EOS candidates ranked below num_beams are skipped; the three early_stopping modes stop at different steps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from '../../src/generate/generate.js';
import { topK } from '../../src/generate/math.js';
import type { CausalLMStepper, StepBatch } from '../../src/generate/model.js';
import { ToyModel, cachedStepper, noCacheStepper } from './helpers.js';

interface Hyp {
  tokens: number[]; // generated, without EOS
  score: number;
  finished: boolean;
}

/** Every continuation of `prompt` of at most T new tokens, scored as transformers 4.36 scores hypotheses. */
function enumerate(model: ToyModel, prompt: number[], eos: number, T: number, lp: number): Hyp[] {
  const out: Hyp[] = [];
  let h0 = 0;
  prompt.forEach((id, t) => (h0 += ToyModel.term(id, t)));
  const rec = (last: number, lastPos: number, h: number, sum: number, gen: number[]) => {
    const lps = model.logProbs(last, lastPos, h);
    for (let v = 0; v < model.V; v++) {
      const s = sum + lps[v]!;
      if (v === eos) out.push({ tokens: gen, score: s / (gen.length + 1) ** lp, finished: true });
      else if (gen.length + 1 === T) out.push({ tokens: [...gen, v], score: s / T ** lp, finished: false });
      else rec(v, lastPos + 1, h + ToyModel.term(v, lastPos + 1), s, [...gen, v]);
    }
  };
  rec(prompt[prompt.length - 1]!, prompt.length - 1, h0, 0, []);
  return out.sort((a, b) => b.score - a.score);
}

for (const lp of [1, 2, 0.5, 0, -1]) {
  test(`exhaustive beam search equals brute-force enumeration (length_penalty ${lp}, 2 left-padded prompts, 3 returned)`, () => {
    const V = 4;
    const eos = 3;
    const T = 4;
    const nb = V * (V - 1) ** (T - 1); // enough beams to keep every partial sequence
    const model = new ToyModel(V, 11 + lp * 10);
    const prompts = [[1, 2], [0, 2, 1, 1]];
    const out = generate(cachedStepper(model), prompts, {
      num_beams: nb,
      num_return_sequences: 3,
      max_new_tokens: T,
      early_stopping: 'never',
      length_penalty: lp,
      eos_token_id: eos,
      pad_token_id: 0,
    });
    assert.equal(out.prompt_length, 4);
    assert.equal(out.sequences.length, 6);
    prompts.forEach((prompt, b) => {
      const expected = enumerate(model, prompt, eos, T, lp).slice(0, 3);
      // Sanity: the top three are clearly separated, so float32 rounding cannot reorder them.
      assert.ok(expected[1]!.score - expected[2]!.score > 1e-4 || expected[1]!.score === expected[2]!.score);
      for (let j = 0; j < 3; j++) {
        const seq = out.sequences[b * 3 + j]!;
        const e = expected[j]!;
        const gen = [...seq.subarray(4, 4 + e.tokens.length)];
        assert.deepEqual(gen, e.tokens, `prompt ${b}, hypothesis ${j}`);
        if (e.finished) assert.equal(seq[4 + e.tokens.length], eos, 'a finished hypothesis gets its EOS back');
        const got = out.sequences_scores![b * 3 + j]!;
        assert.ok(Math.abs(got - e.score) < 1e-5 * Math.max(1, Math.abs(e.score)), `prompt ${b} hypothesis ${j}: score ${got} vs ${e.score}`);
      }
      assert.deepEqual([...out.sequences[b * 3]!.subarray(0, 4)], b === 0 ? [0, 0, 1, 2] : [0, 2, 1, 1], 'prompt kept, left padding included');
    });
  });
}

test('every returned row has the length of the longest hypothesis + 1 (capped at max_length), filled with pad', () => {
  const model = new ToyModel(4, 2); // top 5: finished after 0 and 1 tokens, two open, finished after 3
  const out = generate(cachedStepper(model), [[1, 2]], { num_beams: 108, num_return_sequences: 5, max_new_tokens: 4, early_stopping: 'never', eos_token_id: 3, pad_token_id: 0 });
  const all = enumerate(model, [1, 2], 3, 4, 1).slice(0, 5);
  assert.ok(all.some((h) => h.finished) && all.some((h) => h.tokens.length < 3), 'the case has short finished hypotheses');
  const longest = Math.max(...all.map((h) => h.tokens.length)) + 2;
  const width = Math.min(longest + 1, 2 + 4);
  for (const [j, seq] of out.sequences.entries()) {
    assert.equal(seq.length, width);
    const h = all[j]!;
    const tail = [...seq.subarray(2 + h.tokens.length)];
    if (h.finished) assert.deepEqual(tail, [3, ...new Array<number>(width - 3 - h.tokens.length).fill(0)]);
    else assert.deepEqual(tail, []);
  }
});

// -----------------------------------------------------------------------------------------------------------
// Hand-worked cases on a bigram model given as probabilities: logits = ln p(next | last).

function bigram(table: number[][]): CausalLMStepper & { calls: number } {
  const V = table.length;
  const self = {
    vocabSize: V,
    calls: 0,
    forward(b: StepBatch): Float32Array {
      self.calls++;
      const out = new Float32Array(b.rows * V);
      for (let r = 0; r < b.rows; r++) {
        const last = b.inputIds[r * b.length + b.length - 1]!;
        for (let v = 0; v < V; v++) out[r * V + v] = Math.log(table[last]![v]!);
      }
      return out;
    },
    reorderCache() {},
  };
  return self;
}

test('an EOS candidate ranked at or below num_beams does not finish a hypothesis (transformers rule)', () => {
  // Tokens 0..3, EOS = 3, 2 beams, prompt [0], 3 new tokens. Worked through by hand:
  //  step 1 (from 0):     1: ln .5 = -0.693 → beam   2: ln .25 = -1.386 → beam   (beams full)
  //  step 2: [0,1,EOS] = -0.693 + ln .7 = -1.050 (rank 0 → hypothesis, score -1.050 / 2)
  //          [0,2,2]   = -1.386 + ln .35 = -2.436 (rank 1 → beam)
  //          [0,2,EOS] = -1.386 + ln .3  = -2.590 (rank 2 ≥ num_beams → skipped, NOT a hypothesis)
  //          [0,2,0]   = -1.386 + ln .25 = -2.773 (rank 3 → beam)
  //  step 3: [0,2,0,1] = -3.466 and [0,2,2,2] = -3.486 become beams; max length reached.
  //  finalize: open beams scored by sum / 3; the list keeps the 2 best: -0.525 and -1.155.
  // Had [0,2,EOS] been accepted, early_stopping would have ended the search at step 2 with it as 2nd best.
  const table = [
    [0.05, 0.5, 0.25, 0.2],
    [0.1, 0.1, 0.1, 0.7],
    [0.25, 0.1, 0.35, 0.3],
    [0.25, 0.25, 0.25, 0.25],
  ];
  const out = generate(bigram(table), [[0]], { num_beams: 2, num_return_sequences: 2, max_new_tokens: 3, early_stopping: true, eos_token_id: 3 });
  assert.deepEqual(out.sequences.map((s) => [...s]), [
    [0, 1, 3, 3], // hypothesis [0, 1] + EOS, then pad (= eos, the default)
    [0, 2, 0, 1],
  ]);
  const s1 = (Math.log(0.5) + Math.log(0.7)) / 2;
  const s2 = (Math.log(0.25) + Math.log(0.25) + Math.log(0.5)) / 3;
  assert.ok(Math.abs(out.sequences_scores![0]! - s1) < 1e-6, `${out.sequences_scores![0]} vs ${s1}`);
  assert.ok(Math.abs(out.sequences_scores![1]! - s2) < 1e-6, `${out.sequences_scores![1]} vs ${s2}`);
});

test('early_stopping true / false / "never" stop after 2 / 3 / 4 model calls on a hand-worked case', () => {
  // EOS = 3, 2 beams, prompt [0], up to 6 new tokens, length_penalty 1.
  //  step 1: [0,EOS] = ln .5 = -0.693 → hypothesis -0.693;  beams [0,1] -0.916, [0,2] -2.526
  //  step 2: [0,1,EOS] = -1.079 → hypothesis -0.539; [0,2,EOS] = -2.883 → hypothesis -1.441, pushed out
  //          (worst kept: -0.693); beams [0,1,0] -3.730, [0,1,1] -3.912.
  //          true: 2 hypotheses → done.  false: -0.693 ≥ -1.079 / 2? no.  never: -0.693 ≥ -1.079 / 6? no.
  //  step 3: best candidate [0,1,1,EOS] = -4.075.  false: -0.693 ≥ -4.075 / 3 → done.  never: ≥ -4.075 / 6? no.
  //  step 4: best candidate [0,1,0,1,EOS] = -4.809.  never: -0.693 ≥ -4.809 / 6 → done.
  const table = [
    [0.02, 0.4, 0.08, 0.5],
    [0.06, 0.05, 0.04, 0.85],
    [0.1, 0.1, 0.1, 0.7],
    [0.25, 0.25, 0.25, 0.25],
  ];
  for (const [mode, calls] of [[true, 2], [false, 3], ['never', 4]] as const) {
    const stepper = bigram(table);
    const out = generate(stepper, [[0]], { num_beams: 2, num_return_sequences: 2, max_new_tokens: 6, early_stopping: mode, eos_token_id: 3, pad_token_id: 2 });
    assert.equal(stepper.calls, calls, `early_stopping ${String(mode)}`);
    assert.deepEqual(out.sequences.map((s) => [...s]), [
      [0, 1, 3],
      [0, 3, 2],
    ]);
    assert.ok(Math.abs(out.sequences_scores![0]! - (Math.log(0.4) + Math.log(0.85)) / 2) < 1e-6);
    assert.ok(Math.abs(out.sequences_scores![1]! - Math.log(0.5)) < 1e-6);
  }
});

test('beam search with a KV-cache stepper gives exactly the results of the no-cache stepper', () => {
  for (const seed of [1, 2, 3]) {
    const model = new ToyModel(9, seed);
    const prompts = [[4, 2, 7], [1], [8, 8]];
    const opts = { num_beams: 4, num_return_sequences: 3, max_new_tokens: 7, eos_token_id: 5, pad_token_id: 0, length_penalty: 1.3, no_repeat_ngram_size: 2, output_scores: true } as const;
    const cached = cachedStepper(model);
    const a = generate(cached, prompts, opts);
    const b = generate(noCacheStepper(model), prompts, opts);
    assert.deepEqual(a.sequences.map((s) => [...s]), b.sequences.map((s) => [...s]));
    assert.deepEqual([...a.sequences_scores!], [...b.sequences_scores!]);
    assert.equal(a.scores!.length, b.scores!.length);
    assert.ok(cached.reorders.length > 0, 'the cache was reordered');
    assert.equal(cached.reorders[0]!.length, 12, 'first reorder expands 3 prompts to 3 × 4 beams');
    assert.equal(a.scores![0]!.length, 12 * 9, 'scores are (prompts × beams, V) per step');
  }
});

test('a prompt that finishes early pads along while the others continue', () => {
  // Prompt [3] (EOS-heavy continuation) finishes at once; prompt [0] runs on. Bigram: from 3, EOS (= 2) is
  // almost certain; from 0 and 1, EOS is unlikely.
  const table = [
    [0.6, 0.35, 0.05],
    [0.35, 0.6, 0.05],
    [0.34, 0.33, 0.33],
  ];
  const t4 = [...table, [0.001, 0.002, 0.997]].map((r) => [...r, 0]).map((r) => r.map((x) => x || 1e-9));
  const out = generate(bigram(t4), [[3], [0]], { num_beams: 2, max_new_tokens: 5, early_stopping: true, eos_token_id: 2, pad_token_id: 1 });
  assert.equal(out.sequences.length, 2);
  assert.deepEqual([...out.sequences[0]!.subarray(0, 2)], [3, 2], 'prompt 0: [3] + EOS');
  assert.ok([...out.sequences[0]!.subarray(2)].every((t) => t === 1), 'then padding');
  assert.equal(out.sequences[1]!.length, 6, 'prompt 1 ran to max_length');
});

test('beam search refuses what it cannot do, with the values', () => {
  const s = bigram([
    [0.5, 0.5],
    [0.5, 0.5],
  ]);
  assert.throws(() => generate(s, [[0]], { num_beams: 2, num_return_sequences: 3 }), /num_return_sequences \(3\) must be <= num_beams \(2\)/);
  assert.throws(() => generate(s, [[0]], { num_beams: 2, do_sample: true }), /beam sampling .* not implemented/);
  assert.throws(() => generate(s, [[0]], { num_beams: 2, early_stopping: 'sometimes' as unknown as boolean }), /early_stopping must be true, false or "never", got "sometimes"/);
  assert.throws(() => generate(s, [[0]], { num_beams: 2, streamer: { put() {}, end() {} } }), /streaming works with greedy search and sampling, not with beam search/);
});

test('topK: the k best (value, index) pairs as a full sort gives them, ties to the lower index, NaNs skipped; with per-row shifts, of the float32 sums', () => {
  let seed = 12345;
  const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (const [rows, V, k] of [[1, 1, 1], [1, 7, 3], [3, 11, 6], [4, 1000, 8], [2, 5, 10]] as [number, number, number][]) {
    // Values on a coarse grid (many ties), some −∞ (banned tokens) and NaNs.
    const x = Float32Array.from({ length: rows * V }, () => {
      const u = next();
      return u < 0.05 ? -Infinity : u < 0.08 ? NaN : Math.round(next() * 40) / 8 - 3;
    });
    const shifts = Float32Array.from({ length: rows }, () => -Math.round(next() * 100) / 7);
    for (const withShifts of [false, true]) {
      const sums = Array.from(x, (v, i) => (withShifts ? Math.fround(v + shifts[Math.floor(i / V)]!) : v));
      // The oracle: every (value, index) pair sorted by value descending, then index ascending.
      const want = sums.map((v, i) => ({ v, i })).filter((e) => !Number.isNaN(e.v)).sort((a, b) => b.v - a.v || a.i - b.i).slice(0, k);
      const got = withShifts ? topK(x, k, shifts, V) : topK(x, k);
      const n = Math.min(k, x.length);
      assert.deepEqual(Array.from(got.indices).slice(0, want.length), want.map((e) => e.i), `rows ${rows}, V ${V}, k ${k}, shifts ${withShifts}: indices`);
      assert.deepEqual(Array.from(got.values).slice(0, want.length), want.map((e) => e.v), `rows ${rows}, V ${V}, k ${k}, shifts ${withShifts}: values`);
      assert.equal(got.values.length, n);
    }
  }
});

test('topK with shifts at the edges: a beam at −∞, shifts far larger than the values (sums decided by float32 rounding), +∞ entries', () => {
  // topK skips an entry with one comparison against a bar a hair below (worst − shift); these sums sit where that
  // bar and float32 rounding meet, so a bar set too high would drop an entry the full sort keeps.
  let seed = 777;
  const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (const [rows, V, k, scale, shift] of [[3, 200, 6, 1e-3, 1e6], [4, 300, 8, 1, -1e7], [2, 50, 4, 1e-6, 3], [3, 40, 6, 1, -Infinity]] as [number, number, number, number, number][]) {
    const x = Float32Array.from({ length: rows * V }, () => {
      const u = next();
      return u < 0.02 ? Infinity : u < 0.05 ? -Infinity : Math.fround((next() - 0.5) * scale);
    });
    // Row 0 keeps the edge shift; the others are near it, one ulp-scale step apart.
    const shifts = Float32Array.from({ length: rows }, (_, r) => (r === 0 ? shift : Math.fround(shift === -Infinity ? -r : shift + r * scale * 0.37)));
    const sums = Array.from(x, (v, i) => Math.fround(v + shifts[Math.floor(i / V)]!));
    const want = sums.map((v, i) => ({ v, i })).filter((e) => !Number.isNaN(e.v)).sort((a, b) => b.v - a.v || a.i - b.i).slice(0, k);
    const got = topK(x, k, shifts, V);
    const what = `rows ${rows}, V ${V}, scale ${scale}, shift ${shift}`;
    assert.deepEqual(Array.from(got.indices).slice(0, want.length), want.map((e) => e.i), `${what}: indices`);
    assert.deepEqual(Array.from(got.values).slice(0, want.length), want.map((e) => e.v), `${what}: values`);
  }
});
