// T5 span corruption against the definition in T5's preprocessors.py: exact noise and span counts, the
// "all masks equally likely" property (χ² over every mask of a small case), the segment-length law of
// _random_segmentation (χ² against its combinatorial distribution), sentinel order, lossless reconstruction,
// T5's docstring example, and random_spans_helper's 512 → (568, 114).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../../src/tensor/rng.js';
import {
  nonNoiseSpanToUniqueSentinel,
  noiseSpanToUniqueSentinel,
  randomSegmentation,
  randomSpansNoiseMask,
  reconstructSpans,
  sentinelFunction,
  spanCorruption,
  spanCorruptionLengths,
} from '../../../src/train/objectives/index.js';
import { chiSquare, chiSquareCritical, choose } from './_stats.js';

/** Python's round(): to the nearest integer, exact halves to the even one. */
function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d !== 0.5) return d < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Runs of 1s in a mask: [start, end) each. */
function runs(mask: Uint8Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] && (i === 0 || !mask[i - 1])) out.push([i, i + 1]);
    else if (mask[i]) out[out.length - 1][1] = i + 1;
  }
  return out;
}

const CONFIGS = [
  { noiseDensity: 0.15, meanNoiseSpanLength: 3 },
  { noiseDensity: 0.15, meanNoiseSpanLength: 8 },
  { noiseDensity: 0.5, meanNoiseSpanLength: 3 },
  { noiseDensity: 0.5, meanNoiseSpanLength: 8 },
  { noiseDensity: 0.15, meanNoiseSpanLength: 64 },
  { noiseDensity: 0.5, meanNoiseSpanLength: 64 },
];

describe('randomSpansNoiseMask', () => {
  it('exact counts: round(L·density) noise tokens in max(1, round(noise/μ)) spans, non-noise first, noise last', () => {
    const rng = new Rng(1);
    for (const c of CONFIGS) {
      for (let L = 2; L <= 300; L += 7) {
        const mask = randomSpansNoiseMask(L, rng, c);
        const noise = Math.min(Math.max(pyRound(L * c.noiseDensity), 1), L - 1);
        const spans = Math.max(pyRound(noise / c.meanNoiseSpanLength), 1);
        assert.equal(mask.reduce((a, b) => a + b, 0), noise, `L=${L} ${JSON.stringify(c)}`);
        assert.equal(runs(mask).length, spans, `L=${L} ${JSON.stringify(c)}: spans`);
        assert.equal(mask[0], 0);
        assert.equal(mask[L - 1], 1);
      }
    }
  });

  it('measured density and mean span length over many draws are the targets', () => {
    const rng = new Rng(2);
    for (const c of CONFIGS) {
      let noise = 0;
      let tokens = 0;
      let spans = 0;
      for (let draw = 0; draw < 400; draw++) {
        const L = 512 + rng.int(512);
        const mask = randomSpansNoiseMask(L, rng, c);
        noise += mask.reduce((a, b) => a + b, 0);
        tokens += L;
        spans += runs(mask).length;
      }
      assert.ok(Math.abs(noise / tokens - c.noiseDensity) < 0.002, `density ${noise / tokens} for ${JSON.stringify(c)}`);
      assert.ok(Math.abs(noise / spans - c.meanNoiseSpanLength) / c.meanNoiseSpanLength < 0.04, `mean span ${noise / spans} for ${JSON.stringify(c)}`);
    }
  });

  it('all masks with those counts are equally likely (χ² over the 65 masks of L = 20, density 0.3)', () => {
    // 6 noise tokens in 2 spans (5 ways), 14 non-noise in 2 spans (13 ways): 65 masks.
    const rng = new Rng(3);
    const counts = new Map<string, number>();
    const draws = 65 * 400;
    for (let d = 0; d < draws; d++) {
      const key = randomSpansNoiseMask(20, rng, { noiseDensity: 0.3, meanNoiseSpanLength: 3 }).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    assert.equal(counts.size, 65);
    const observed = [...counts.values()];
    const x = chiSquare(observed, observed.map(() => draws / 65));
    assert.ok(x < chiSquareCritical(64), `χ² ${x.toFixed(1)} ≥ ${chiSquareCritical(64).toFixed(1)}`);
  });

  it('random segmentation: a segment\'s length follows C(n−j−1, s−2) / C(n−1, s−1)', () => {
    const n = 15;
    const s = 5;
    const rng = new Rng(4);
    const draws = 40_000;
    const counts = new Array<number>(n - s + 1).fill(0); // length j = 1 … n − s + 1
    for (let d = 0; d < draws; d++) {
      const seg = randomSegmentation(n, s, rng);
      assert.equal(seg.reduce((a, b) => a + b, 0), n);
      assert.ok(seg.every((x) => x >= 1));
      counts[seg[d % s] - 1]++; // by exchangeability every segment has the same law
    }
    const expected = counts.map((_, k) => (draws * choose(n - (k + 1) - 1, s - 2)) / choose(n - 1, s - 1));
    // Merge the sparse tail (expected < 5) into one cell before χ².
    const obs: number[] = [];
    const exp: number[] = [];
    counts.forEach((c, k) => {
      if (exp.length > 0 && expected[k] < 5) {
        obs[obs.length - 1] += c;
        exp[exp.length - 1] += expected[k];
      } else {
        obs.push(c);
        exp.push(expected[k]);
      }
    });
    const x = chiSquare(obs, exp);
    assert.ok(x < chiSquareCritical(obs.length - 1), `χ² ${x.toFixed(1)}: ${counts} vs ${expected.map((e) => e.toFixed(0))}`);
  });

  it('random roll spreads a single span over all positions', () => {
    // L = 10, density 0.3: one span of 3 — without the roll always the last three tokens.
    const rng = new Rng(5);
    assert.deepEqual(Array.from(randomSpansNoiseMask(10, rng, { noiseDensity: 0.3 })), [0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    const hits = new Array<number>(10).fill(0);
    const draws = 20_000;
    for (let d = 0; d < draws; d++) {
      const m = randomSpansNoiseMask(10, rng, { noiseDensity: 0.3, randomRoll: true });
      assert.equal(m.reduce((a, b) => a + b, 0), 3);
      m.forEach((v, i) => (hits[i] += v));
    }
    const x = chiSquare(hits, hits.map(() => (draws * 3) / 10));
    assert.ok(x < chiSquareCritical(9), `χ² ${x.toFixed(1)}: ${hits}`);
  });

  it('degenerate lengths as T5: 0 and 1 have no noise; density 0 has none', () => {
    assert.deepEqual(Array.from(randomSpansNoiseMask(0, new Rng(1))), []);
    assert.deepEqual(Array.from(randomSpansNoiseMask(1, new Rng(1))), [0]);
    assert.deepEqual(Array.from(randomSpansNoiseMask(2, new Rng(1))), [0, 1]);
    assert.deepEqual(Array.from(randomSpansNoiseMask(5, new Rng(1), { noiseDensity: 0 })), [0, 0, 0, 0, 0]);
    // 3 tokens at density 0.5 and μ = 1: 2 noise spans but 1 non-noise token to separate them (T5 fails too).
    assert.throws(() => randomSpansNoiseMask(3, new Rng(1), { noiseDensity: 0.5, meanNoiseSpanLength: 1 }), /2 noise spans need 2 non-noise spans, but a length of 3/);
  });
});

describe('sentinels and examples', () => {
  it('T5\'s docstring example: "We hold X to be Y that" → "X these truths Y self evident Z"', () => {
    // We hold these truths to be self evident that  (ids 0 … 8), noise on "these truths" and "self evident".
    const tokens = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const mask = Uint8Array.from([0, 0, 1, 1, 0, 0, 1, 1, 0]);
    const sentinel = sentinelFunction({ vocabSize: 100 }); // X = 99, Y = 98, Z = 97
    assert.deepEqual(Array.from(noiseSpanToUniqueSentinel(tokens, mask, sentinel)), [0, 1, 99, 4, 5, 98, 8]);
    assert.deepEqual(Array.from(nonNoiseSpanToUniqueSentinel(tokens, mask, sentinel)), [99, 2, 3, 98, 6, 7, 97]);
  });

  it('sentinels count down from the top of the vocabulary in order; inputs and targets rebuild the original', () => {
    const rng = new Rng(6);
    const V = 32100;
    const isSentinel = (id: number) => id >= 32000;
    for (let trial = 0; trial < 500; trial++) {
      const c = CONFIGS[trial % CONFIGS.length];
      const L = 1 + rng.int(400);
      const tokens = Int32Array.from({ length: L }, () => 5 + rng.int(31_000));
      const ex = spanCorruption(tokens, rng, { ...c, vocabSize: V, eosId: 1 });
      assert.equal(ex.inputs[ex.inputs.length - 1], 1);
      assert.equal(ex.targets[ex.targets.length - 1], 1);
      const inputs = ex.inputs.subarray(0, -1);
      const targets = ex.targets.subarray(0, -1);
      const inS = Array.from(inputs).filter(isSentinel);
      const tgS = Array.from(targets).filter(isSentinel);
      const spans = runs(ex.noiseMask).length;
      assert.deepEqual(inS, Array.from({ length: spans }, (_, k) => V - 1 - k), 'input sentinels in order');
      // Targets: one sentinel per non-noise span; those equal the noise spans in number, +1 if the row ends in non-noise.
      assert.deepEqual(tgS, Array.from({ length: tgS.length }, (_, k) => V - 1 - k), 'target sentinels in order');
      // Rebuild: the k-th sentinel of the inputs is followed, in the targets, by the tokens it replaced.
      const after = new Map<number, number[]>();
      let cur: number[] = [];
      for (const id of targets) {
        if (isSentinel(id)) after.set(id, (cur = []));
        else cur.push(id);
      }
      const rebuilt = Array.from(inputs).flatMap((id) => (isSentinel(id) ? after.get(id)! : [id]));
      assert.deepEqual(rebuilt, Array.from(tokens), `L=${L} ${JSON.stringify(c)}`);
      assert.deepEqual(Array.from(reconstructSpans(inputs, targets, isSentinel)), Array.from(tokens));
    }
  });

  it('explicit sentinel ids, in order; too few is an error', () => {
    const ids = [500, 501, 502];
    const tokens = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const mask = Uint8Array.from([0, 0, 1, 1, 0, 0, 1, 1, 0]);
    assert.deepEqual(Array.from(noiseSpanToUniqueSentinel(tokens, mask, sentinelFunction({ sentinelIds: ids }))), [0, 1, 500, 4, 5, 501, 8]);
    assert.throws(() => spanCorruption(new Int32Array(300), new Rng(1), { sentinelIds: [7, 8] }), /needs sentinel 3 but only 2 sentinel ids were given/);
    assert.throws(() => spanCorruption(new Int32Array(30), new Rng(1), {}), /pass sentinelIds .* or vocabSize/);
  });

  it('random_spans_helper: 512 inputs need 568 raw tokens and give 114 targets (T5\'s setup); the lengths come out exact', () => {
    assert.deepEqual(spanCorruptionLengths(512), { tokensLength: 568, targetsLength: 114 });
    const rng = new Rng(7);
    for (const inputsLength of [64, 128, 512]) {
      for (const c of [CONFIGS[0], CONFIGS[2]]) {
        const { tokensLength, targetsLength } = spanCorruptionLengths(inputsLength, c.noiseDensity, c.meanNoiseSpanLength);
        const ex = spanCorruption(new Int32Array(tokensLength).fill(9), rng, { ...c, vocabSize: 1000, eosId: 1 });
        assert.ok(ex.inputs.length <= inputsLength && ex.inputs.length >= inputsLength - 1, `${ex.inputs.length} vs ${inputsLength}`);
        assert.equal(ex.targets.length, targetsLength);
      }
    }
  });
});
