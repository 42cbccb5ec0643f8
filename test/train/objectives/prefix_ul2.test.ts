// Prefix LM (T5's random_prefix_noise_mask: the split's range and uniformity) and the UL2 mixture (denoiser
// frequencies against binomial bounds, paradigm tokens, each denoiser's corruption, config errors).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../../src/tensor/rng.js';
import { prefixLength, prefixLm, reconstructSpans, ul2Example, UL2_DENOISERS, type Denoiser } from '../../../src/train/objectives/index.js';
import { chiSquare, chiSquareCritical, withinBinomial } from './_stats.js';

describe('prefixLm', () => {
  it('density 0.5: the split is uniform over 1 … L−1; inputs + targets = the row', () => {
    const rng = new Rng(1);
    const L = 12;
    const tokens = Int32Array.from({ length: L }, (_, i) => 100 + i);
    const counts = new Array<number>(L - 1).fill(0);
    const draws = 22_000;
    for (let d = 0; d < draws; d++) {
      const ex = prefixLm(tokens, rng);
      assert.deepEqual([...ex.inputs, ...ex.targets], Array.from(tokens));
      assert.equal(ex.inputs.length, ex.prefixLength);
      counts[ex.prefixLength - 1]++;
    }
    const x = chiSquare(counts, counts.map(() => draws / (L - 1)));
    assert.ok(x < chiSquareCritical(L - 2), `χ² ${x.toFixed(1)}: ${counts}`);
  });

  it('density 0.25 (UL2\'s S): prefix in [round(0.5·(L−1)), L−1], targets a quarter of the row on average', () => {
    const rng = new Rng(2);
    const L = 101;
    let targets = 0;
    const draws = 20_000;
    for (let d = 0; d < draws; d++) {
      const k = prefixLength(L, rng, 0.25);
      assert.ok(k >= 50 && k <= 100, `prefix ${k}`);
      targets += L - k;
    }
    // Uniform on 50 … 100: mean target length 101 − 75 = 26 (≈ L/4), sd 14.7 per draw.
    assert.ok(Math.abs(targets / draws - 26) < 4.5 * (14.72 / Math.sqrt(draws)), `mean target ${targets / draws}`);
  });

  it('EOS on both sides; rows shorter than 2 are all target', () => {
    const ex = prefixLm(Int32Array.from([7, 8, 9]), new Rng(3), { eosId: 1 });
    assert.equal(ex.inputs[ex.inputs.length - 1], 1);
    assert.equal(ex.targets[ex.targets.length - 1], 1);
    assert.deepEqual(prefixLm(Int32Array.from([7]), new Rng(3)), { inputs: new Int32Array(0), targets: Int32Array.from([7]), prefixLength: 0 });
    assert.throws(() => prefixLength(10, new Rng(1), 0.6), /noiseDensity must be in \(0, 0.5\]/);
  });
});

describe('UL2 mixture of denoisers', () => {
  const paradigmIds = { '[NLU]': 32100, '[NLG]': 32101, '[S2S]': 32102 };
  const isSentinel = (id: number) => id >= 32000 && id < 32100;
  const tokens = Int32Array.from({ length: 512 }, (_, i) => 10 + (i % 997));

  it('the seven denoisers of the paper, each drawn 1/7 of the time, with the right paradigm token', () => {
    assert.deepEqual(
      UL2_DENOISERS.map((d) => [d.paradigm, d.kind, d.meanSpanLength ?? null, d.noiseDensity]),
      [
        ['[NLU]', 'span', 3, 0.15],
        ['[NLU]', 'span', 8, 0.15],
        ['[S2S]', 'prefix', null, 0.25],
        ['[NLG]', 'span', 3, 0.5],
        ['[NLG]', 'span', 8, 0.5],
        ['[NLG]', 'span', 64, 0.15],
        ['[NLG]', 'span', 64, 0.5],
      ],
    );
    const rng = new Rng(4);
    const counts = new Map<string, number>();
    const draws = 7000;
    for (let d = 0; d < draws; d++) {
      const ex = ul2Example(tokens, rng, { vocabSize: 32100, eosId: 1, paradigmIds });
      counts.set(ex.denoiser.name, (counts.get(ex.denoiser.name) ?? 0) + 1);
      assert.equal(ex.inputs[0], paradigmIds[ex.denoiser.paradigm as keyof typeof paradigmIds]);
      const inputs = ex.inputs.subarray(1, -1);
      const targets = ex.targets.subarray(0, -1);
      if (ex.denoiser.kind === 'prefix') {
        assert.deepEqual([...inputs, ...targets], Array.from(tokens));
      } else {
        assert.deepEqual(Array.from(reconstructSpans(inputs, targets, isSentinel)), Array.from(tokens));
        const noise = targets.filter((id) => !isSentinel(id)).length;
        assert.equal(noise, Math.round(512 * ex.denoiser.noiseDensity)); // 76.8 → 77, 256
      }
    }
    assert.equal(counts.size, 7);
    for (const [name, n] of counts) {
      const r = withinBinomial(n, draws, 1 / 7);
      assert.ok(r.ok, `${name}: ${r.message}`);
    }
  });

  it('custom mixtures: rates are relative weights; a zero rate is never drawn', () => {
    const mix: Denoiser[] = [
      { name: 'R', kind: 'span', paradigm: '[NLU]', meanSpanLength: 3, noiseDensity: 0.15, rate: 3 },
      { name: 'S', kind: 'prefix', paradigm: '[S2S]', noiseDensity: 0.5, rate: 1 },
      { name: 'off', kind: 'span', paradigm: '[NLG]', meanSpanLength: 3, noiseDensity: 0.5, rate: 0 },
    ];
    const rng = new Rng(5);
    let r = 0;
    const draws = 8000;
    for (let d = 0; d < draws; d++) {
      const name = ul2Example(tokens, rng, { vocabSize: 32100, paradigmIds, denoisers: mix }).denoiser.name;
      assert.notEqual(name, 'off');
      if (name === 'R') r++;
    }
    const b = withinBinomial(r, draws, 0.75);
    assert.ok(b.ok, b.message);
  });

  it('bad configurations name the denoiser and the problem', () => {
    const base: Denoiser = { name: 'R', kind: 'span', paradigm: '[NLU]', meanSpanLength: 3, noiseDensity: 0.15, rate: 1 };
    const run = (d: object, ids: Record<string, number> = paradigmIds) => ul2Example(tokens, new Rng(1), { vocabSize: 32100, paradigmIds: ids, denoisers: [d as Denoiser] });
    assert.throws(() => run({ ...base, mean: 3 }), /UL2 denoiser 0 \("R"\): unknown key "mean"; known keys are name, kind, paradigm, noiseDensity, meanSpanLength, rate/);
    assert.throws(() => run({ ...base, kind: 'bert' }), /kind must be 'span' or 'prefix', got "bert"/);
    assert.throws(() => run({ ...base, noiseDensity: 1.5 }), /noiseDensity must be in \(0, 1\), got 1.5/);
    assert.throws(() => run({ ...base, kind: 'prefix', noiseDensity: 0.75 }), /a prefix denoiser's noiseDensity must be in \(0, 0.5\], got 0.75/);
    assert.throws(() => run(base, { '[NLG]': 5 }), /no id for paradigm token "\[NLU\]" in paradigmIds \(\[NLG\]\)/);
    assert.throws(() => run({ ...base, rate: 0 }), /rates add up to 0/);
  });
});
