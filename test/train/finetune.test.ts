// Fine-tuning: the three tasks learn a toy problem (the metric rises to its maximum), QA windows point at the
// answer or at [CLS], the output folder is what transformers and attn's pipelines load, and bad inputs are
// one clear error each (file, line, field or value) with nothing written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, tensor } from '../../src/tensor/index.js';
import { BertForMaskedLM, BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification, bertConfig } from '../../src/models/bert.js';
import { saveBertPretrained } from '../../src/models/bert_pretrained.js';
import { trainTokenizer } from '../../src/tokenizers/train.js';
import { readSquad, parseConll, tagMapFromExamples, prepareQaFeatures } from '../../src/data/index.js';
import { finetune, tokenClassificationTask, questionAnsweringTask, FINETUNE_DEFAULTS, type FinetuneTask } from '../../src/train/finetune.js';
import { pipeline } from '../../src/pipelines/index.js';
import type { Tokenizer } from '../../src/tokenizers/index.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const WORDS = 'the a queen king said went garden tea rabbit door little very time and then to of in'.split(' ');

function words(r: Rng, n: number): string[] {
  return Array.from({ length: n }, () => WORDS[r.int(WORDS.length)]!);
}

async function tokenizer(): Promise<Tokenizer> {
  const lines = [...WORDS, 'alice', 'liddell', 'hatter', 'who is here ?'].map((w) => `${w} ${w} ${w}`);
  return trainTokenizer(lines, { type: 'wordpiece', vocabSize: 108, minFrequency: 1 });
}

function tinyConfig(vocab: number) {
  return bertConfig({ preset: 'tiny', vocab_size: vocab, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 });
}

test('QA windows: the answer span maps to its tokens in the window that holds it, to [CLS] in the others', async () => {
  const tok = await tokenizer();
  const r = new Rng(3);
  const w = words(r, 40);
  w[31] = 'alice';
  const context = w.join(' ');
  const start = context.indexOf(' alice') + 1;
  const [ex] = readSquad(JSON.stringify({ data: [{ title: 't', paragraphs: [{ context, qas: [{ id: 'q', question: 'who is here ?', answers: [{ text: 'alice', answer_start: start }] }] }] }] }));
  const features = prepareQaFeatures([ex!], tok, { maxLength: 24, docStride: 4 });
  assert.ok(features.length >= 3);
  let hits = 0;
  for (const f of features) {
    if (f.startPosition === f.clsIndex) {
      assert.equal(f.endPosition, f.clsIndex);
      continue;
    }
    hits++;
    // The target tokens cover exactly the answer's characters.
    assert.equal(context.slice(f.offsets[2 * f.startPosition]!, f.offsets[2 * f.endPosition + 1]!), 'alice');
  }
  assert.ok(hits >= 1);
});

test('token classification and QA fine-tuning reach a perfect score on a toy task', async () => {
  const tok = await tokenizer();
  const r = new Rng(5);
  const conll = Array.from({ length: 40 }, () => {
    const t = words(r, 6);
    const tags = t.map(() => 'O');
    const j = r.int(5);
    t[j] = 'alice';
    tags[j] = 'B-PER';
    t[j + 1] = 'liddell';
    tags[j + 1] = 'I-PER';
    return t.map((x, i) => `${x} ${tags[i]}`).join('\n');
  }).join('\n\n');
  const sentences = parseConll(conll, { source: 'toy.conll' });
  const labels = tagMapFromExamples(sentences);
  const ner = new BertForTokenClassification({ ...tinyConfig(tok.vocabSize), id2label: labels.id2label }, { rng: new Rng(1) });
  const task = tokenClassificationTask(ner, tok, { train: sentences, eval: sentences, labels, labelAllTokens: false, trainSource: 'toy.conll' }, { maxLength: 32, batchSize: 8, padId: 0 });
  const res = await finetune(ner, task, { ...FINETUNE_DEFAULTS, epochs: 14, lr: 3e-3, warmupSteps: 4, seed: 1 });
  assert.equal(res.best!.scoreName, 'f1');
  assert.ok(res.best!.score > 0.95, `entity F1 ${res.best!.score}`);

  const paragraphs = Array.from({ length: 30 }, (_, i) => {
    const w = words(r, 12);
    w[r.int(12)] = 'alice';
    const context = w.join(' ');
    const start = context.startsWith('alice') ? 0 : context.indexOf(' alice') + 1;
    return { context, qas: [{ id: `q${i}`, question: 'who is here ?', answers: [{ text: 'alice', answer_start: start }] }] };
  });
  const squad = readSquad(JSON.stringify({ data: [{ title: 't', paragraphs }] }));
  const qa = new BertForQuestionAnswering(tinyConfig(tok.vocabSize), { rng: new Rng(2) });
  const qaTask = questionAnsweringTask(qa, tok, { train: squad, eval: squad, version2: false }, { maxLength: 32, docStride: 8, batchSize: 8, padId: 0 });
  const qres = await finetune(qa, qaTask, { ...FINETUNE_DEFAULTS, epochs: 10, lr: 3e-3, warmupSteps: 4, seed: 1 });
  assert.ok(qres.best!.metrics['exact_match']! > 90, `EM ${qres.best!.metrics['exact_match']}`);
});

function attn(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('attn finetune: classification end to end (folder with id2label, pipeline on it) and its bad inputs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-ft-'));
  try {
    const tok = await tokenizer();
    const base = join(dir, 'base');
    saveBertPretrained(new BertForMaskedLM(tinyConfig(tok.vocabSize), { rng: new Rng(4) }), base, { tokenizer: tok });
    const r = new Rng(9);
    const rows = (n: number) =>
      Array.from({ length: n }, () => {
        const label = r.uniform() < 0.5 ? 'alice' : 'hatter';
        const w = words(r, 6);
        w[r.int(6)] = label;
        return JSON.stringify({ text: w.join(' '), label });
      }).join('\n') + '\n';
    writeFileSync(join(dir, 'train.jsonl'), rows(64));
    writeFileSync(join(dir, 'dev.jsonl'), rows(24));
    const out = join(dir, 'cls');
    const ft = attn('finetune', '--task', 'text-classification', '--model', base, '--train', join(dir, 'train.jsonl'), '--eval', join(dir, 'dev.jsonl'), '--out', out, '--epochs', '12', '--lr', '3e-3', '--warmup', '5', '--batch-size', '8', '--quiet', '--json');
    assert.equal(ft.code, 0, ft.err);
    const summary = JSON.parse(ft.out) as { best: { score: number; scoreName: string; metrics: Record<string, number> }; labels: string[] };
    assert.equal(summary.best.scoreName, 'macro_f1');
    assert.ok(summary.best.metrics['accuracy']! >= 0.9, `accuracy ${summary.best.metrics['accuracy']}`);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { architectures: string[]; id2label: Record<string, string>; label2id: Record<string, number> };
    assert.deepEqual(cfg.architectures, ['BertForSequenceClassification']);
    assert.deepEqual(cfg.id2label, { 0: 'alice', 1: 'hatter' });
    assert.deepEqual(cfg.label2id, { alice: 0, hatter: 1 });
    assert.ok(existsSync(join(out, 'eval_results.json')) && existsSync(join(out, 'tokenizer.json')));
    const [pred] = pipeline('text-classification', out)('the queen said hatter');
    assert.equal(pred!.label, 'hatter');

    // Bad inputs: each names the file and line (or value), and nothing is written.
    const badOut = join(dir, 'bad');
    writeFileSync(join(dir, 'dev-bad.jsonl'), '{"text": "the queen", "label": "alice"}\n{"text": "the king", "label": "march hare"}\n');
    let e = attn('finetune', '--task', 'text-classification', '--model', base, '--train', join(dir, 'train.jsonl'), '--eval', join(dir, 'dev-bad.jsonl'), '--out', badOut, '--quiet');
    assert.equal(e.code, 1);
    assert.match(e.err, /dev-bad\.jsonl line 2: label "march hare" is not one of the known labels: "alice", "hatter"/);
    writeFileSync(join(dir, 'train-bad.jsonl'), '{"text": "the queen", "label": "alice"}\n{"txt": "the king", "label": "alice"}\n');
    e = attn('finetune', '--task', 'text-classification', '--model', base, '--train', join(dir, 'train-bad.jsonl'), '--out', badOut, '--quiet');
    assert.match(e.err, /train-bad\.jsonl line 2: field "text" is missing \(this row has "txt", "label"\)/);
    writeFileSync(join(dir, 'bad.conll'), 'alice B-PER\nliddell I-PER\n\nthe O\nqueen NN O\n');
    e = attn('finetune', '--task', 'token-classification', '--model', base, '--train', join(dir, 'bad.conll'), '--out', badOut, '--quiet');
    assert.match(e.err, /bad\.conll line 5: expected 2 columns as on line 1, got 3/);
    const squad = { data: [{ title: 't', paragraphs: [{ context: 'the queen met alice', qas: [{ id: 'q1', question: 'who?', answers: [{ text: 'alice', answer_start: 4 }] }] }] }] };
    writeFileSync(join(dir, 'bad-squad.json'), JSON.stringify(squad));
    e = attn('finetune', '--task', 'question-answering', '--model', base, '--train', join(dir, 'bad-squad.json'), '--out', badOut, '--quiet');
    assert.match(e.err, /bad-squad\.json: .*q1.*answer "alice" is not at answer_start 4 \(the context there reads "queen"\)/);
    e = attn('finetune', '--task', 'summarise', '--model', base, '--train', join(dir, 'train.jsonl'), '--out', badOut);
    assert.equal(e.code, 2);
    assert.match(e.err, /--task must be one of text-classification, token-classification, question-answering \(or translation, summarization for Marian \/ T5 folders\), got 'summarise'/);
    // Summarization is an encoder-decoder task: a BERT folder is refused by its model type.
    e = attn('finetune', '--task', 'summarization', '--model', base, '--train', join(dir, 'train.jsonl'), '--out', badOut);
    assert.equal(e.code, 1);
    assert.match(e.err, /model_type "bert" is not an encoder-decoder/);
    assert.ok(!existsSync(badOut), 'nothing is written for bad input');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the loop keeps the best epoch and stops early after `patience` evaluations without improvement', async () => {
  const model = new BertForSequenceClassification(tinyConfig(20), { rng: new Rng(1) });
  const ids = tensor(Int32Array.from([2, 5, 6, 3]), [1, 4], { dtype: 'int32' });
  const scores = [0.5, 0.7, 0.6, 0.65, 0.9, 0.95];
  let evals = 0;
  const saved: number[] = [];
  const task: FinetuneTask = {
    name: 'text-classification',
    size: 4,
    loss: (_idx, rng) => model.forward(ids, { labels: tensor(Int32Array.from([1]), [1], { dtype: 'int32' }), rng }).loss!,
    evaluate: () => ({ score: scores[evals++]!, scoreName: 'macro_f1', metrics: {} }),
  };
  const res = await finetune(model, task, { ...FINETUNE_DEFAULTS, epochs: 6, batchSize: 2, lr: 1e-3, patience: 2 }, { saveBest: (_m, epoch) => saved.push(epoch) });
  assert.equal(res.stoppedBy, 'early-stopping');
  assert.equal(res.epochs, 4); // epochs 3 and 4 did not beat epoch 2's 0.7
  assert.deepEqual(saved, [1, 2]);
  assert.equal(res.best!.epoch, 2);
  assert.equal(res.steps, 8);
});
