// Seq2seq training: batches are padded as the loss expects, pretraining objectives make the pairs they
// promise (span corruption reconstructs the window, prefix LM splits it, UL2 draws its 7 denoisers evenly),
// gradients of both model families agree with finite differences, a tiny Transformer learns to reverse
// sequences, and a resumed run continues bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, noGrad, tensor, type Tensor } from '../../src/tensor/index.js';
import { Transformer, transformerConfig } from '../../src/models/transformer.js';
import { T5, t5Config } from '../../src/models/t5.js';
import { fromPretrainedSeq2Seq } from '../../src/models/seq2seq_pretrained.js';
import { collatePairs, evaluateSeq2Seq, objectiveTask, pairsTask, trainSeq2Seq, newSeq2SeqTrainState, SEQ2SEQ_TRAIN_DEFAULTS, type Seq2SeqEvalRecord, type Seq2SeqPair, type Seq2SeqTrainOptions } from '../../src/train/seq2seq.js';
import { saveSeq2SeqCheckpoint, loadSeq2SeqTrainingState } from '../../src/train/seq2seq_checkpoint.js';
import { reconstructSpans } from '../../src/train/objectives/index.js';

const PAD = 0;
const BOS = 1;
const EOS = 2;

/** Random sequences over ids 3..V-1 and their reversal (+ EOS): a task a Transformer learns in ~100 steps. */
function reversePairs(n: number, V: number, seed: number): Seq2SeqPair[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const len = 2 + rng.int(4);
    const s = Array.from({ length: len }, () => 3 + rng.int(V - 3));
    return { source: Int32Array.from([...s, EOS]), target: Int32Array.from([...s].reverse().concat(EOS)) };
  });
}

const tinyTransformer = (seed = 1) => new Transformer(transformerConfig({ preset: 'tiny', vocab_size: 16, d_model: 32, encoder_ffn_dim: 64, decoder_ffn_dim: 64, pad_token_id: PAD, decoder_start_token_id: BOS, eos_token_id: EOS, max_position_embeddings: 16 }), new Rng(seed));

test('collatePairs: right-padded sources with a mask, labels padded with -100', () => {
  const b = collatePairs([{ source: Int32Array.of(5, 6, 2), target: Int32Array.of(7, 2) }, { source: Int32Array.of(8, 2), target: Int32Array.of(9, 10, 11, 2) }], PAD);
  assert.deepEqual(Array.from(b.inputIds.toArray() as number[]), [5, 6, 2, 8, 2, 0]);
  assert.deepEqual(Array.from(b.attentionMask.toArray() as number[]), [1, 1, 1, 1, 1, 0]);
  assert.deepEqual(Array.from(b.labels.toArray() as number[]), [7, 2, -100, -100, 9, 10, 11, 2]);
  assert.equal(b.tokens, 11);
  assert.equal(b.targetTokens, 6);
});

test('objectiveTask: span corruption reconstructs its window, prefix LM splits it, UL2 mixes 7 denoisers evenly', () => {
  const stream = Int32Array.from({ length: 5000 }, (_, i) => 10 + (i % 50));
  const sentinelIds = Array.from({ length: 20 }, (_, i) => 100 + i);
  const rng = new Rng(5);
  const span = objectiveTask(stream, stream.subarray(0, 1000), { objective: 'span-corruption', rowLength: 40, eosId: EOS, sentinelIds });
  for (const p of span.sample(20, rng)) {
    const rebuilt = reconstructSpans(p.source.subarray(0, -1), p.target.subarray(0, -1), (id) => id >= 100);
    // The window is 40 consecutive tokens of the stream: (10 + i mod 50) for some start.
    const start = rebuilt[0]! - 10;
    assert.equal(rebuilt.length, 40);
    rebuilt.forEach((t, i) => assert.equal(t, 10 + ((start + i) % 50)));
    assert.equal(p.source[p.source.length - 1], EOS);
  }
  const prefix = objectiveTask(stream, stream.subarray(0, 1000), { objective: 'prefix-lm', rowLength: 30, eosId: EOS });
  for (const p of prefix.sample(20, rng)) assert.equal(p.source.length - 1 + p.target.length - 1, 30);
  const ul2 = objectiveTask(stream, stream.subarray(0, 1000), { objective: 'ul2', rowLength: 60, eosId: EOS, sentinelIds: Array.from({ length: 40 }, (_, i) => 100 + i), paradigmIds: { '[NLU]': 3, '[NLG]': 4, '[S2S]': 5 } });
  const counts = new Map<number, number>();
  const n = 1400;
  for (const p of ul2.sample(n, rng)) counts.set(p.source[0]!, (counts.get(p.source[0]!) ?? 0) + 1);
  // 2 of 7 denoisers are R ([NLU]), 1 is S ([S2S]), 4 are X ([NLG]): expected 400 / 200 / 800 of 1400.
  for (const [id, want] of [[3, 400], [5, 200], [4, 800]] as const) {
    const got = counts.get(id) ?? 0;
    assert.ok(Math.abs(got - want) < 4 * Math.sqrt(want), `paradigm ${id}: ${got} of ${n}, expected ≈ ${want}`);
  }
  assert.equal(span.validation.length, 25); // 1000 validation tokens / rows of 40
});

test('pairsTask with bucket: batches of one length, every pair drawn, far less padding than random batches', () => {
  const pairs = reversePairs(3000, 16, 11);
  const rng = new Rng(3);
  const padShare = (task: ReturnType<typeof pairsTask>) => {
    let real = 0;
    let padded = 0;
    for (let k = 0; k < 200; k++) {
      const b = collatePairs(task.sample(32, rng), PAD);
      real += b.tokens;
      padded += b.inputIds.size + b.labels.size;
    }
    return 1 - real / padded;
  };
  const bucketed = pairsTask(pairs, [], 'x', { bucket: true });
  // The task keeps a packed copy: a drawn pair is a view, so pairs are compared by their ids.
  const key = (p: Seq2SeqPair) => `${p.source.join(' ')} → ${p.target.join(' ')}`;
  const given = new Set(pairs.map(key));
  const seen = new Set<string>();
  for (let k = 0; k < 2000; k++) {
    const batch = bucketed.sample(32, rng);
    const lengths = new Set(batch.map((p) => p.source.length));
    assert.ok(lengths.size <= 2, `a bucketed batch spans source lengths ${[...lengths].join(', ')}`);
    for (const p of batch) {
      assert.ok(given.has(key(p)), `drew ${key(p)}, which is not a training pair`);
      seen.add(key(p));
    }
  }
  for (const p of pairsTask(pairs, []).sample(500, rng)) assert.ok(given.has(key(p)), `random batches drew ${key(p)}`);
  assert.ok(seen.size > 0.95 * given.size, `only ${seen.size} of ${given.size} pairs drawn`);
  assert.ok(padShare(bucketed) < 0.05 && padShare(pairsTask(pairs, [])) > 0.2);
});

/** Directional finite difference of the loss along a random direction over every parameter. */
function checkGradients(model: Transformer | T5, pairs: Seq2SeqPair[]): void {
  model.train(false);
  const b = collatePairs(pairs, PAD);
  const loss = (): Tensor => model.forward(b.inputIds, { attentionMask: b.attentionMask, labels: b.labels, labelSmoothing: 0.1 }).loss!;
  model.zeroGrad();
  loss().backward();
  const params = model.parameters().filter((p) => p.requiresGrad);
  const rng = new Rng(9);
  const dirs = params.map((p) => Float32Array.from({ length: p.size }, () => rng.normal()));
  let analytic = 0;
  params.forEach((p, k) => {
    const g = p.grad?.toFloat32Array();
    if (g) for (let i = 0; i < g.length; i++) analytic += g[i]! * dirs[k]![i]!;
  });
  const h = 1e-3;
  const shift = (sign: number) => params.forEach((p, k) => {
    const d = p.data as Float32Array;
    for (let i = 0; i < p.size; i++) d[p.offset + i] = d[p.offset + i]! + sign * h * dirs[k]![i]!;
    p.version++;
  });
  shift(1);
  const up = noGrad(() => loss().item());
  shift(-2);
  const down = noGrad(() => loss().item());
  shift(1);
  const numeric = (up - down) / (2 * h);
  assert.ok(Math.abs(analytic - numeric) <= 2e-2 * Math.max(1, Math.abs(numeric)), `analytic ${analytic} vs numeric ${numeric}`);
}

test('gradients of the Transformer (post-LN, pre-LN) and T5 (relu, gated, position bias) match finite differences', () => {
  const pairs = reversePairs(4, 16, 3);
  checkGradients(tinyTransformer(), pairs);
  checkGradients(new Transformer(transformerConfig({ preset: 'tiny', vocab_size: 16, d_model: 32, encoder_ffn_dim: 64, decoder_ffn_dim: 64, normalize_before: true, pad_token_id: PAD, decoder_start_token_id: BOS, eos_token_id: EOS }), new Rng(2)), pairs);
  checkGradients(new T5(t5Config({ preset: 'tiny', vocab_size: 16, d_model: 32, d_kv: 8, d_ff: 64, pad_token_id: PAD, decoder_start_token_id: PAD, eos_token_id: EOS }), new Rng(3)), pairs);
  checkGradients(new T5(t5Config({ preset: 'tiny', vocab_size: 16, d_model: 32, d_kv: 8, d_ff: 64, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false, pad_token_id: PAD, decoder_start_token_id: PAD, eos_token_id: EOS }), new Rng(4)), pairs);
});

const OPTS: Seq2SeqTrainOptions = { ...SEQ2SEQ_TRAIN_DEFAULTS, steps: 130, batchSize: 32, lr: 3e-3, minLr: 3e-4, warmupSteps: 20, evalEvery: 0, labelSmoothing: 0, seed: 4 };

test('a tiny Transformer learns to reverse sequences (validation loss falls from ln 13 ≈ 2.6 to below 1.0 in 130 steps)', async () => {
  const model = tinyTransformer();
  const task = pairsTask(reversePairs(2000, 16, 1), reversePairs(64, 16, 2));
  const losses: number[] = [];
  const r = await trainSeq2Seq(model, task, newSeq2SeqTrainState(model, OPTS), OPTS, { log: (rec) => rec.kind === 'train' && losses.push(rec.loss) });
  assert.ok(losses[0]! > 2.2, `first loss ${losses[0]}`);
  assert.ok(r.lastEval.valLoss < 1.0, `validation loss after ${r.state.step} steps: ${r.lastEval.valLoss}`);
});

test('ema: the averaged weights are evaluated at the end and the model keeps whichever has the lower validation loss', async () => {
  // At a constant, high learning rate the average beats the noisy last weights; after 60 steps of a fast-falling
  // loss it lags behind them. Both ends of the choice are exercised.
  const cases = [
    { opts: { ...OPTS, steps: 150, lr: 1e-2, minLr: 1e-2, ema: 0.95 }, keeps: 'average' },
    { opts: { ...OPTS, steps: 60, ema: 0.9 }, keeps: 'last' },
  ] as const;
  for (const { opts, keeps } of cases) {
    const model = tinyTransformer();
    const task = pairsTask(reversePairs(2000, 16, 1), reversePairs(64, 16, 2));
    const evals: Seq2SeqEvalRecord[] = [];
    const r = await trainSeq2Seq(model, task, newSeq2SeqTrainState(model, opts), opts, { log: (rec) => rec.kind === 'eval' && evals.push(rec) });
    const [last, average] = evals.slice(-2);
    assert.equal(last!.weights, 'last');
    assert.equal(average!.weights, 'average');
    assert.equal(average!.step, opts.steps);
    assert.equal(r.lastEval.valLoss, Math.min(last!.valLoss, average!.valLoss));
    assert.equal(r.lastEval.weights, keeps, `last ${last!.valLoss}, average ${average!.valLoss}`);
    // The weights the model holds now are the ones that scored lastEval.
    const now = evaluateSeq2Seq(model, task.validation, 32).loss;
    assert.ok(Math.abs(now - r.lastEval.valLoss) < 1e-6, `the model scores ${now}, the result says ${r.lastEval.valLoss} (${keeps})`);
  }
});

test('resume: a run checkpointed at step 4 and resumed equals the run straight through (bit for bit, with dropout)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-s2s-resume-'));
  try {
    const task = pairsTask(reversePairs(200, 16, 1), reversePairs(16, 16, 2));
    const opts = { ...OPTS, steps: 8, evalEvery: 0, saveEvery: 4 };
    const model = new Transformer(transformerConfig({ preset: 'tiny', vocab_size: 16, d_model: 32, encoder_ffn_dim: 64, decoder_ffn_dim: 64, dropout: 0.1, pad_token_id: PAD, decoder_start_token_id: BOS, eos_token_id: EOS, max_position_embeddings: 16 }), new Rng(7));
    const straight: number[] = [];
    await trainSeq2Seq(model, task, newSeq2SeqTrainState(model, opts), opts, {
      log: (r) => r.kind === 'train' && straight.push(r.loss),
      save: (s, reason) => saveSeq2SeqCheckpoint(model, join(dir, reason), s, opts),
    });
    const loaded = fromPretrainedSeq2Seq(join(dir, 'interval'));
    const saved = loadSeq2SeqTrainingState(join(dir, 'interval'), loaded.model);
    assert.equal(saved.state.step, 4);
    const rest: number[] = [];
    await trainSeq2Seq(loaded.model as Transformer, task, saved.state, saved.options, { log: (r) => r.kind === 'train' && rest.push(r.loss) });
    assert.deepEqual(rest, straight.slice(4));
    const final = new Map(fromPretrainedSeq2Seq(join(dir, 'final')).model.namedParameters());
    for (const [n, p] of loaded.model.namedParameters()) assert.deepEqual(p.toFloat32Array(), final.get(n)!.toFloat32Array(), n);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad training input: empty pairs and ids outside the vocabulary are named', () => {
  assert.throws(() => pairsTask([], []), /no training pairs/);
  assert.throws(() => pairsTask([{ source: new Int32Array(0), target: Int32Array.of(2) }], []), /training pair 0 has an empty source/);
  const model = tinyTransformer();
  const b = collatePairs([{ source: Int32Array.of(3, 40, 2), target: Int32Array.of(2) }], PAD);
  assert.throws(() => model.forward(b.inputIds, { labels: b.labels }), /source ids: token id 40 at row 0, position 1 is outside the vocabulary of size 16/);
  assert.throws(() => model.forward(tensor(Int32Array.of(3), [1, 1], { dtype: 'int32' })), /give decoderInputIds or labels/);
});
