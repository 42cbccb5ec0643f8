// Masked-LM pretraining through the shared training loop: what the rows and masks look like, that the loss goes
// down, that a resumed run is the uninterrupted one bit for bit, and `attn train --arch bert` end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/tensor/index.js';
import { BertForMaskedLM, bertConfig } from '../../src/models/bert.js';
import { fromPretrainedBert } from '../../src/models/bert_pretrained.js';
import { runTrainLoop, newTrainState, TRAIN_DEFAULTS, type TrainOptions } from '../../src/train/trainer.js';
import { mlmRows, mlmObjective, evaluateMlm, type MlmSettings } from '../../src/train/mlm.js';
import { saveCheckpoint, loadTrainingState } from '../../src/train/checkpoint.js';
import { Tokenizer } from '../../src/tokenizers/index.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

// A toy language: ids 5..24 in a repeating pattern, so a model can learn to fill a gap from its neighbours.
const PAD = 0;
const CLS = 1;
const SEP = 2;
const MASK = 3;
const V = 25;
function stream(n: number, seed: number): Int32Array {
  const r = new Rng(seed);
  return Int32Array.from({ length: n }, (_, i) => 5 + ((i * 7 + (r.uniform() < 0.1 ? r.int(20) : 0)) % 20));
}
const settings: MlmSettings = { maskId: MASK, clsId: CLS, sepId: SEP, padId: PAD, vocabSize: V, specialIds: [PAD, CLS, SEP, MASK] };
const opts: TrainOptions = { ...TRAIN_DEFAULTS, steps: 6, batchSize: 8, blockSize: 16, lr: 1e-2, minLr: 1e-3, warmupSteps: 2, evalEvery: 0, saveEvery: 0, seed: 11, gradClip: 1 };
const cfg = bertConfig({ preset: 'tiny', vocab_size: V, max_position_embeddings: 32, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64, pad_token_id: PAD, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 });

test('rows are [CLS] … [SEP]; masks are fresh each draw, ~15 % of non-special tokens, never specials', () => {
  const rows = mlmRows({ train: stream(1400, 1), val: stream(200, 2), trainBytes: 0, valBytes: 0 }, 16, { clsId: CLS, sepId: SEP, padId: PAD });
  assert.equal(rows.train.rows, 100); // 1400 tokens / 14 per row
  assert.equal(rows.train.inputIds[0], CLS);
  assert.equal(rows.train.inputIds[15], SEP);
  assert.equal(rows.val.rows, 15); // the last of them padded
  // Count what the objective feeds the model, through the model's forward (labels = the chosen positions).
  const model = new BertForMaskedLM(cfg, { rng: new Rng(1) });
  const seen: Int32Array[] = [];
  const orig = model.forward.bind(model);
  model.forward = (ids, o) => {
    seen.push(Int32Array.from(o!.labels!.toArray()));
    return orig(ids, o);
  };
  const obj = mlmObjective(model, rows, { ...opts, batchSize: 64 }, settings);
  const rng = new Rng(5);
  let chosen = 0;
  let candidates = 0;
  for (let k = 0; k < 10; k++) obj.loss(rng);
  for (const labels of seen) {
    labels.forEach((l, i) => {
      const t = i % 16;
      if (t === 0 || t === 15) assert.equal(l, -100, 'a special position was chosen');
      else {
        candidates++;
        if (l !== -100) chosen++;
      }
    });
  }
  const share = chosen / candidates;
  assert.ok(Math.abs(share - 0.15) < 0.012, `chosen share ${share}`); // 8960 candidates: σ ≈ 0.004
  assert.notDeepEqual(seen[0], seen[1]); // dynamic: new masks each draw
});

test('MLM training lowers the loss, and a resumed run equals the uninterrupted run bit for bit', async () => {
  const data = { train: stream(2000, 3), val: stream(300, 4), trainBytes: 0, valBytes: 0 };
  const rows = mlmRows(data, 16, { clsId: CLS, sepId: SEP, padId: PAD });
  const losses = async (model: BertForMaskedLM, state: ReturnType<typeof newTrainState>, steps: number): Promise<number[]> => {
    const out: number[] = [];
    const o = { ...opts, steps };
    await runTrainLoop(model, mlmObjective(model, rows, o, settings), state, o, { log: (r) => r.kind === 'train' && out.push(r.loss) });
    return out;
  };
  const a = new BertForMaskedLM(cfg, { rng: new Rng(7) });
  const before = evaluateMlm(a, rows.val, settings, { batchSize: 8, evalTokens: 0, seed: 1 });
  const full = await losses(a, newTrainState(a, opts), 40);
  const after = evaluateMlm(a, rows.val, settings, { batchSize: 8, evalTokens: 0, seed: 1 });
  assert.ok(after.valLoss < before.valLoss - 0.3, `val loss ${before.valLoss} → ${after.valLoss}`);
  assert.ok(after.maskedAccuracy > before.maskedAccuracy, `accuracy ${before.maskedAccuracy} → ${after.maskedAccuracy}`);
  assert.ok(Math.abs(after.perplexity - Math.exp(after.valLoss)) < 1e-9 * after.perplexity);

  const dir = mkdtempSync(join(tmpdir(), 'attn-mlm-'));
  try {
    // With dropout on: the loop's generator draws rows, masks and dropout, and all of it must continue exactly.
    const dcfg = { ...cfg, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 };
    const o = { ...opts, steps: 8 };
    const whole: number[] = [];
    const ref = new BertForMaskedLM(dcfg, { rng: new Rng(9) });
    await runTrainLoop(ref, mlmObjective(ref, rows, o, settings), newTrainState(ref, o), o, { log: (r) => r.kind === 'train' && whole.push(r.loss) });
    const resumed: number[] = [];
    const b = new BertForMaskedLM(dcfg, { rng: new Rng(9) });
    const tok = Tokenizer.fromWordPieceVocab(Array.from({ length: V }, (_, i) => ['[PAD]', '[CLS]', '[SEP]', '[MASK]', '[UNK]'][i] ?? `t${i}`).join('\n'));
    // Stop after 4 of the 8 steps: save from the hook, then throw (as a kill right after a save would).
    await assert.rejects(
      runTrainLoop(b, mlmObjective(b, rows, o, settings), newTrainState(b, o), { ...o, saveEvery: 4 }, {
        log: (r) => r.kind === 'train' && resumed.push(r.loss),
        save: (state, reason) => {
          if (reason !== 'interval') return;
          saveCheckpoint(b, join(dir, 'ck'), state, o, { tokenizerJson: tok.toString() });
          throw new Error('stop here');
        },
      }),
      /stop here/,
    );
    const c = fromPretrainedBert(join(dir, 'ck')).model as BertForMaskedLM;
    const { state, options } = loadTrainingState(join(dir, 'ck'), c);
    assert.equal(state.step, 4);
    await runTrainLoop(c, mlmObjective(c, rows, options, settings), state, options, { log: (r) => r.kind === 'train' && resumed.push(r.loss) });
    assert.equal(resumed.length, 8);
    assert.deepEqual(resumed, whole);
    assert.ok(full.length === 40);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function attn(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('attn train --arch bert --objective mlm: WordPiece + BERT folder, resume, fill-mask on the result, errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-mlm-cli-'));
  try {
    const text = Array.from({ length: 80 }, (_, i) => `The cat number ${i % 7} sat on the mat, and the dog slept by the door of the house.\n`).join('');
    writeFileSync(join(dir, 'corpus.txt'), text);
    const out = join(dir, 'bert');
    const common = ['--data', join(dir, 'corpus.txt'), '--vocab-size', '70', '--preset', 'tiny', '--block-size', '32', '--batch-size', '8', '--eval-every', '3', '--out', out, '--quiet'];
    const t = attn('train', '--arch', 'bert', '--objective', 'mlm', '--whole-word-mask', ...common, '--steps', '4');
    assert.equal(t.code, 0, t.err);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'training_state.json', 'optimizer.safetensors', 'metrics.jsonl', 'loss.svg']) assert.ok(existsSync(join(out, f)), f);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { architectures: string[]; vocab_size: number };
    assert.deepEqual(cfg.architectures, ['BertForMaskedLM']);
    assert.equal(cfg.vocab_size, 70);
    const evals = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; maskedAccuracy?: number; perplexity?: number; valLoss?: number }).filter((r) => r.kind === 'eval');
    assert.ok(evals.length >= 2 && evals.every((e) => typeof e.maskedAccuracy === 'number' && Math.abs(e.perplexity! - Math.exp(e.valLoss!)) < 1e-6 * e.perplexity!));
    const r = attn('train', '--out', out, '--resume', '--steps', '6', '--quiet');
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(readFileSync(join(out, 'training_state.json'), 'utf8')) as { step: number; info: { mlm: { wholeWord: boolean } } }).step, 6);
    assert.equal((JSON.parse(readFileSync(join(out, 'training_state.json'), 'utf8')) as { info: { mlm: { wholeWord: boolean } } }).info.mlm.wholeWord, true);
    const fm = attn('pipeline', 'fill-mask', '--model', out, 'the cat sat on the [MASK]', '--json');
    assert.equal(fm.code, 0, fm.err);
    assert.equal((JSON.parse(fm.out) as unknown[]).length, 5);
    const bad = attn('train', '--arch', 'gpt', '--objective', 'mlm', ...common);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--objective mlm \(masked LM\) needs a bidirectional encoder: use --arch bert/);
    const badPreset = attn('train', '--arch', 'bert', ...common, '--preset', 'gpt2');
    assert.match(badPreset.err, /unknown BERT preset 'gpt2'; presets: tiny, bert-tiny/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
