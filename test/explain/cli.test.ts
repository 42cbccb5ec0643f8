// `attn explain` and `attn explain prune` as a user runs them (a child process per call) on a tiny model
// trained for a few steps, and the bad inputs the issue names: a text longer than the context, a head that does
// not exist, a model without attention maps in this build.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

function attn(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', NO_COLOR: '1' }, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const CORPUS = Array.from({ length: 80 }, (_, i) => `Line ${i}: the quick brown fox jumps over the lazy dog, and the king said "well met" to the queen.\n`).join('');
let dir = '';
let model = '';
let corpus = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'attn-explain-cli-'));
  corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, CORPUS);
  model = join(dir, 'model');
  const t = attn('train', '--data', corpus, '--vocab-size', '300', '--preset', 'tiny', '--n-positions', '32', '--block-size', '32', '--batch-size', '4', '--steps', '3', '--eval-every', '0', '--save-every', '0', '--out', model, '--quiet');
  assert.equal(t.code, 0, t.err);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('attn explain writes the report, the maps and, with --data, roles and importance', () => {
  const out = join(dir, 'report');
  const r = attn('explain', '--model', model, '--text', 'the quick brown fox jumps', '--data', corpus, '--max-inputs', '4', '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /2 self-attention layers over \d+ tokens/);
  assert.match(r.out, /report: .*report\.html/);
  for (const f of ['report.html', 'maps/self-grid.svg', 'maps/self-grid.png', 'maps/self-layer0.svg', 'maps/self-layer1.png', 'maps/self-rollout.png', 'roles.svg', 'roles.png', 'heads.json', 'importance.json', 'maps.json']) {
    assert.ok(existsSync(join(out, f)), `missing ${f}`);
  }
  const heads = JSON.parse(readFileSync(join(out, 'heads.json'), 'utf8')) as { inputs: number; heads: Array<{ layer: number; head: number; entropy: number }> };
  assert.equal(heads.inputs, 4);
  assert.equal(heads.heads.length, 4); // tiny: 2 layers × 2 heads
  const imp = JSON.parse(readFileSync(join(out, 'importance.json'), 'utf8')) as { heads: Array<{ score: number }> };
  assert.equal(imp.heads.length, 4);
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /What each head does[\s\S]*Head importance/);
});

test('a text longer than the context is explained in a window, and the note says so', () => {
  const long = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
  const r = attn('explain', '--model', model, '--text', long, '--out', join(dir, 'long'), '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { notes: string[] };
  assert.match(j.notes[0]!, /the text has \d+ tokens; explaining tokens 0..31 \(the model's context is 32 tokens\)/);
  const w = attn('explain', '--model', model, '--text', long, '--start', '10', '--window', '8', '--out', join(dir, 'long'), '--json');
  assert.equal(w.code, 0, w.err);
  assert.match((JSON.parse(w.out) as { notes: string[] }).notes[0]!, /explaining tokens 10..17/);
});

test('bad input: a head that does not exist, a missing text, a model without maps', () => {
  const h = attn('explain', '--model', model, '--text', 'the fox', '--heads', '0:1,5:0', '--out', join(dir, 'x'));
  assert.equal(h.code, 1);
  assert.match(h.err, /attn: head "5:0": layer must be in 0..1/);
  const h2 = attn('explain', 'prune', '--model', model, '--data', corpus, '--heads', '1:2', '--save', join(dir, 'x2'));
  assert.equal(h2.code, 1);
  assert.match(h2.err, /head "1:2": head must be in 0..1/);
  const t = attn('explain', '--model', model, '--out', join(dir, 'x'));
  assert.equal(t.code, 2);
  assert.match(t.err, /--text TEXT \(or --text-file FILE\) is required/);
  const other = join(dir, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'config.json'), JSON.stringify({ model_type: 'rnn-seq2seq' }));
  const m = attn('explain', '--model', other, '--text', 'x', '--out', join(dir, 'x'));
  assert.equal(m.code, 1);
  assert.match(m.err, /model_type "rnn-seq2seq" has no attention maps in this build of attn; it explains: gpt2/);
  assert.ok(!/\n\s+at /.test(h.err + t.err + m.err), 'no stack traces');
  // A quantised folder: maps and roles yes; importance and pruning need float weights, and say so.
  const q = join(dir, 'q8');
  assert.equal(attn('quantize', '--model', model, '--bits', '8', '--out', q).code, 0);
  const qe = attn('explain', '--model', q, '--text', 'the fox', '--data', corpus, '--max-inputs', '2', '--out', join(dir, 'q8-report'), '--json');
  assert.equal(qe.code, 0, qe.err);
  assert.ok((JSON.parse(qe.out) as { notes: string[] }).notes.some((n) => /is quantised \(int8\), so run --data on the float folder/.test(n)));
  const qp = attn('explain', 'prune', '--model', q, '--data', corpus, '--out', join(dir, 'x'));
  assert.equal(qp.code, 2);
  assert.match(qp.err, /is quantised \(int8\): head importance needs gradients through float weights/);
});

test('attn explain prune: the curve, then a pruned folder that loads and scores as the masked model', () => {
  const out = join(dir, 'prune');
  const save = join(dir, 'pruned');
  const r = attn('explain', 'prune', '--model', model, '--data', corpus, '--out', out, '--keep', '0.5', '--save', save, '--block-size', '16', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { totalHeads: number; points: Array<{ removed: number; quality: number }>; removableWithinTolerance: number; saved: { heads: string[]; masked: number; pruned: number } };
  assert.equal(j.totalHeads, 4);
  assert.deepEqual(j.points.map((p) => p.removed), [0, 1, 2, 3, 4]);
  assert.ok(j.removableWithinTolerance >= 0 && j.removableWithinTolerance <= 4);
  assert.equal(j.saved.heads.length, 2);
  assert.ok(Math.abs(j.saved.masked - j.saved.pruned) < 1e-4, `masked ${j.saved.masked} vs pruned ${j.saved.pruned}`);
  const cfg = JSON.parse(readFileSync(join(save, 'config.json'), 'utf8')) as { pruned_heads: Record<string, number[]> };
  assert.equal(Object.values(cfg.pruned_heads).flat().length, 2);
  for (const heads of Object.values(cfg.pruned_heads)) assert.equal(heads.length, 1); // each layer keeps one of its two
  for (const f of ['prune.svg', 'prune.png', 'prune.json', 'report.html']) assert.ok(existsSync(join(out, f)), f);
  // The pruned folder is a model like any other: explain it.
  const e = attn('explain', '--model', save, '--text', 'the king', '--out', join(dir, 'pruned-report'), '--json');
  assert.equal(e.code, 0, e.err);
});
