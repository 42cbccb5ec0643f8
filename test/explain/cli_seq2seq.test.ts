// `attn explain` and `attn explain prune` on an encoder-decoder folder (a small T5 with a Unigram tokenizer,
// written here): the three groups of maps, a head of one group masked by name, the pruning curve by
// teacher-forced token accuracy on source/target rows, and the clear error for --save (no HF pruning).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/tensor/index.js';
import { T5, t5Config } from '../../src/models/t5.js';
import { saveSeq2Seq } from '../../src/models/seq2seq_pretrained.js';
import { trainTokenizer } from '../../src/tokenizers/index.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const FIX = new URL('../../../test/fixtures/', import.meta.url).pathname;

function attn(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', NO_COLOR: '1' }, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const TEXT = Array.from({ length: 40 }, (_, i) => `the house number ${i} is wonderful and the garden is green`);
let tmp = '';
let model = '';
let pairs = '';

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'attn-explain-s2s-'));
  const tok = await trainTokenizer(TEXT, { type: 'unigram', vocabSize: 38, specialTokens: ['<pad>', '</s>', '<unk>'] });
  model = join(tmp, 't5');
  saveSeq2Seq(new T5(t5Config({ preset: 'tiny', vocab_size: tok.vocabSize }), new Rng(2)), model, { tokenizerJson: JSON.stringify(tok.toJSON()) });
  pairs = join(tmp, 'pairs.jsonl');
  writeFileSync(pairs, Array.from({ length: 12 }, (_, i) => JSON.stringify({ source: `house ${i}`, target: `the garden ${i}` })).join('\n') + '\n');
});

after(() => rmSync(tmp, { recursive: true, force: true }));

test('attn explain on a T5 folder: encoder, decoder and cross maps; a cross head masked by name', () => {
  const out = join(tmp, 'report');
  const r = attn('explain', '--model', model, '--text', 'the house', '--pair', 'is green', '--heads', 'cross:1:0', '--data', pairs, '--max-inputs', '4', '--out', out, '--json');
  assert.equal(r.code, 0, r.err);
  const maps = JSON.parse(readFileSync(join(out, 'maps.json'), 'utf8')) as { groups: Array<{ kind: string; queries: unknown[]; keys: unknown[] }> };
  assert.deepEqual(maps.groups.map((g) => g.kind), ['encoder', 'decoder', 'cross']);
  for (const f of ['maps/encoder-grid.svg', 'maps/decoder-rollout.png', 'maps/cross-layer1.png', 'heads.json', 'importance.json']) assert.ok(existsSync(join(out, f)), f);
  const j = JSON.parse(r.out) as { notes: string[]; heads: Array<{ group: string }>; importance: Array<{ group: string }> };
  assert.ok(j.notes.includes('heads masked (head_mask 0): cross:1:0'));
  assert.deepEqual([...new Set(j.importance.map((h) => h.group))], ['encoder', 'decoder', 'cross']);
  const bad = attn('explain', '--model', model, '--text', 'the house', '--heads', '1:0', '--out', join(tmp, 'x'));
  assert.equal(bad.code, 1);
  assert.match(bad.err, /head "1:0": name the group as GROUP:LAYER:HEAD \(groups: encoder, decoder, cross\)/);
});

test('attn explain prune on a T5 folder: token-accuracy curve; --save is refused with the reason', () => {
  const r = attn('explain', 'prune', '--model', model, '--data', pairs, '--val-fraction', '0.25', '--step', '4', '--out', join(tmp, 'prune'), '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { metric: { name: string }; totalHeads: number; points: Array<{ removed: number }> };
  assert.equal(j.metric.name, 'token accuracy');
  assert.equal(j.totalHeads, 3 * 2 * 4);
  assert.deepEqual(j.points.map((p) => p.removed), [0, 4, 8, 12, 16, 20, 24]);
  const s = attn('explain', 'prune', '--model', model, '--data', pairs, '--heads', 'encoder:0:1', '--save', join(tmp, 'pruned'));
  assert.equal(s.code, 2);
  assert.match(s.err, /t5 models cannot be pruned physically/);
  assert.ok(!/\n\s+at /.test(s.err), 'no stack trace');
  // --keep runs the curve to choose heads: the refusal comes before it, not after minutes of it.
  const k = attn('explain', 'prune', '--model', model, '--data', pairs, '--keep', '0.5', '--save', join(tmp, 'pruned'));
  assert.equal(k.code, 2);
  assert.match(k.err, /t5 models cannot be pruned physically/);
  assert.ok(!/pruning curve|full model/.test(k.out + k.err), `the curve ran first:\n${k.out}${k.err}`);
});

test('a Marian folder without tokenizer.json (source.spm + vocab.json): tokens as SentencePiece splits them', () => {
  const dir = join(tmp, 'marian');
  mkdirSync(dir);
  for (const f of ['config.json', 'model.safetensors', 'generation_config.json']) cpSync(join(FIX, 'marian-tiny', f), join(dir, f));
  for (const f of ['source.spm', 'target.spm', 'vocab.json', 'tokenizer_config.json', 'special_tokens_map.json']) cpSync(join(FIX, 'marian-tok', f), join(dir, f));
  const want = (JSON.parse(readFileSync(join(FIX, 'marian-tok', 'expected.json'), 'utf8')) as { encodings: Array<{ text: string; pieces: string[] }> }).encodings[0]!;
  const out = join(tmp, 'marian-report');
  const r = attn('explain', '--model', dir, '--text', want.text, '--pair', 'Alice', '--out', out);
  assert.equal(r.code, 0, r.err);
  const maps = JSON.parse(readFileSync(join(out, 'maps.json'), 'utf8')) as { groups: Array<{ kind: string; queries: Array<{ text: string }> }> };
  assert.deepEqual(maps.groups[0]!.queries.map((q) => q.text), [...want.pieces.map((p) => p.replace(/\u2581/g, '␣')), '</s>']);
});
