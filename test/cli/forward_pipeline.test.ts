// `attn forward` and `attn pipeline` as a user runs them: a child process per call, checked against the
// transformers fixtures (raw outputs) and for the errors a user meets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { folderWithVocab, textOf } from '../pipelines/_folders.js';
import { loadSafetensorsFile } from '../../src/io/node.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const FIX = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

function attn(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('attn forward --json: transformers\' start/end logits for BERT QA, logits for GPT-2, hidden states and attentions', () => {
  const dir = join(FIX, 'bert-family', 'bert-tiny-qa');
  const exp = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { start_logits_json: number[][] | string; end_logits_json: number[][] | string };
  const parse = (x: number[][] | string) => (typeof x === 'string' ? (JSON.parse(x) as number[][]) : x);
  const r = attn('forward', '--model', dir, '--input-ids', '101,544,103,436,361,102,497,490,900,102;101,103,494,102,592,102,0,0,0,0', '--token-type-ids', '0,0,0,0,0,0,1,1,1,1;0,0,0,0,1,1,0,0,0,0', '--attention-mask', '1,1,1,1,1,1,1,1,1,1;1,1,1,1,1,1,0,0,0,0', '--hidden-states', '--attentions', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { architecture: string; start_logits: number[][]; end_logits: number[][]; hidden_states: unknown[]; attentions: unknown[]; shapes: Record<string, unknown> };
  assert.equal(j.architecture, 'BertForQuestionAnswering');
  for (const [got, want] of [[j.start_logits, parse(exp.start_logits_json)], [j.end_logits, parse(exp.end_logits_json)]] as const) {
    got.forEach((row, b) => row.forEach((v, t) => assert.ok(Math.abs(v - want[b]![t]!) < 1e-4, `[${b}, ${t}] ${v} vs ${want[b]![t]}`)));
  }
  assert.equal(j.hidden_states.length, 3);
  assert.deepEqual(j.shapes['attentions'], [[2, 4, 10, 10], [2, 4, 10, 10]]);

  const g = attn('forward', '--model', join(FIX, 'gpt2-tiny'), '--input-ids', '547,635,425', '--json');
  assert.equal(g.code, 0, g.err);
  assert.deepEqual((JSON.parse(g.out) as { shapes: { logits: number[] } }).shapes.logits, [1, 3, 1000]);
  const text = attn('forward', '--model', dir, '--input-ids', '101,544,102');
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /start_logits \[1, 3\]/);
});

test('attn forward --decoder-input-ids: a Marian folder gives transformers\' teacher-forced logits and cross attentions', () => {
  const dir = join(FIX, 'marian-tiny');
  const tf = (JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { teacher_forcing: { input_ids: number[][]; attention_mask: number[][]; decoder_input_ids: number[][] } }).teacher_forcing;
  const rows = (x: number[][]) => x.map((r) => r.join(',')).join(';');
  const r = attn('forward', '--model', dir, '--input-ids', rows(tf.input_ids), '--attention-mask', rows(tf.attention_mask), '--decoder-input-ids', rows(tf.decoder_input_ids), '--attentions', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { architecture: string; logits: number[][][]; shapes: Record<string, unknown> };
  assert.equal(j.architecture, 'MarianMTModel');
  const want = loadSafetensorsFile(join(dir, 'expected.safetensors')).tensors.get('tf.logits')!;
  const flat = j.logits.flat(2);
  assert.equal(flat.length, want.data.length);
  let worst = 0;
  for (let i = 0; i < flat.length; i++) worst = Math.max(worst, Math.abs(flat[i]! - (want.data[i] as number)));
  assert.ok(worst < 1e-4, `max |attn - transformers| = ${worst}`);
  const heads = (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { decoder_attention_heads: number }).decoder_attention_heads;
  assert.deepEqual(j.shapes['cross_attentions'], [[2, heads, 7, 9], [2, heads, 7, 9]]); // (B, H, T, S) per decoder layer
  const e = attn('forward', '--model', dir, '--input-ids', '1,2,3');
  assert.equal(e.code, 2);
  assert.match(e.err, /is an encoder-decoder "marian" model: give --decoder-input-ids too/);
});

test('attn forward: clear errors for ragged rows, ids out of range, decoder inputs on encoders, unknown types', () => {
  const bert = join(FIX, 'bert-family', 'bert-tiny-mlm');
  let r = attn('forward', '--model', bert, '--input-ids', '1,2,3;4,5');
  assert.equal(r.code, 2);
  assert.match(r.err, /--input-ids: rows have different lengths \(3, 2\); pad them/);
  r = attn('forward', '--model', bert, '--input-ids', '1,2,5000');
  assert.match(r.err, /token id 5000 \(row 1\) is out of range: the model has 1000/);
  r = attn('forward', '--model', bert, '--input-ids', '1,2,3', '--attention-mask', '1,1');
  assert.match(r.err, /--attention-mask is 1×2 but --input-ids is 1×3/);
  r = attn('forward', '--model', bert, '--input-ids', '1,2,3', '--decoder-input-ids', '0,1');
  assert.match(r.err, /--decoder-input-ids is for encoder-decoder models; .* is a "bert" model/);
  r = attn('forward', '--model', join(FIX, 'bert-family', 'distilbert-tiny-mlm'), '--input-ids', '1,2,3', '--token-type-ids', '0,0,1');
  assert.match(r.err, /distilbert has no token types/);
  r = attn('forward', '--model', join(FIX, 'io'), '--input-ids', '1');
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.err, /at .*\.js:\d+/); // a message, not a stack trace
});

test('attn pipeline: fill-mask, text-classification with pairs, ner, question-answering, feature-extraction', () => {
  const mlm = folderWithVocab('bert-tiny-mlm');
  const cls = folderWithVocab('bert-tiny-seqcls');
  const ner = folderWithVocab('bert-tiny-tokcls');
  const qa = folderWithVocab('bert-tiny-qa');
  try {
    let r = attn('pipeline', 'fill-mask', '--model', mlm.dir, textOf([544, 103, 436]), '--top-k', '3', '--json');
    assert.equal(r.code, 0, r.err);
    const fm = JSON.parse(r.out) as Array<{ score: number; token: number; token_str: string; sequence: string }>;
    assert.equal(fm.length, 3);
    assert.ok(fm[0]!.score >= fm[1]!.score);
    r = attn('pipeline', 'text-classification', '--model', cls.dir, textOf([544, 103, 436, 361]), '--text-pair', textOf([497, 490, 900]), '--top-k', 'all', '--json');
    assert.equal(r.code, 0, r.err);
    const tc = JSON.parse(r.out) as Array<{ label: string; score: number }>;
    const logits = (JSON.parse(readFileSync(join(FIX, 'bert-family', 'bert-tiny-seqcls', 'expected.json'), 'utf8')) as { logits_json: number[][] }).logits_json[0]!;
    const best = logits.indexOf(Math.max(...logits));
    assert.equal(tc[0]!.label, `LABEL_${best}`);
    assert.equal(tc.length, 3);
    r = attn('pipeline', 'ner', '--model', ner.dir, 'w544 w436950', '--aggregation-strategy', 'first', '--ignore-labels', '', '--json');
    assert.equal(r.code, 0, r.err);
    const groups = JSON.parse(r.out) as Array<{ entity_group: string; start: number; end: number }>;
    assert.ok(groups.length >= 1 && groups.every((g) => typeof g.entity_group === 'string'));
    r = attn('pipeline', 'question-answering', '--model', qa.dir, '--question', textOf([544, 103]), '--context', textOf([497, 490, 900]), '--json');
    assert.equal(r.code, 0, r.err);
    const ans = JSON.parse(r.out) as { answer: string; start: number; end: number };
    assert.equal(textOf([497, 490, 900]).slice(ans.start, ans.end), ans.answer);
    r = attn('pipeline', 'feature-extraction', '--model', mlm.dir, 'w500 w501', '--pooling', 'mean', '--normalize', '--json');
    assert.equal(r.code, 0, r.err);
    const vec = JSON.parse(r.out) as number[];
    assert.equal(vec.length, 32);
    assert.ok(Math.abs(Math.hypot(...vec) - 1) < 1e-6);
    r = attn('pipeline', 'fill-mask', '--model', mlm.dir, 'no mask here');
    assert.equal(r.code, 1);
    assert.match(r.err, /no mask token \(\[MASK\]\) found/);
    r = attn('pipeline', 'translate', '--model', mlm.dir, 'x');
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown task 'translate'/);
  } finally {
    mlm.cleanup();
    cls.cleanup();
    ner.cleanup();
    qa.cleanup();
  }
});
