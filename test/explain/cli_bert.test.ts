// `attn explain` and `attn explain prune` on a BERT classifier folder (the bert-tiny-seqcls fixture with a
// vocab.txt), as a user runs them: maps of a text pair, head roles over labelled rows, and the pruning curve
// scored by accuracy, then a pruned folder whose accuracy is the masked model's and whose config.json names
// the pruned heads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { folderWithVocab, textOf } from '../pipelines/_folders.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

function attn(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', NO_COLOR: '1' }, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

let tmp = '';
let model = '';
let rows = '';
let cleanup = () => {};

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'attn-explain-bert-'));
  ({ dir: model, cleanup } = folderWithVocab('bert-tiny-seqcls'));
  rows = join(tmp, 'rows.jsonl');
  const labels = ['LABEL_0', 'LABEL_1', 'LABEL_2'];
  writeFileSync(rows, Array.from({ length: 30 }, (_, i) => JSON.stringify({ text: textOf([200 + ((i * 7) % 300), 300 + ((i * 13) % 200), 150 + i]), label: labels[i % 3] })).join('\n') + '\n');
});

after(() => {
  cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

test('attn explain on a BERT classifier: a text pair, roles and importance over labelled rows', () => {
  const out = join(tmp, 'report');
  const r = attn('explain', '--model', model, '--text', 'w200 w300 w400', '--pair', 'w500 w600', '--data', rows, '--max-inputs', '6', '--out', out, '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { heads: Array<{ layer: number; head: number }>; importance: Array<{ score: number }> };
  assert.equal(j.heads.length, 8); // 2 layers × 4 heads
  assert.equal(j.importance.length, 8);
  const maps = JSON.parse(readFileSync(join(out, 'maps.json'), 'utf8')) as { groups: Array<{ kind: string; queries: Array<{ text: string; special: boolean }> }> };
  assert.deepEqual(maps.groups[0]!.queries.map((q) => q.text), ['[CLS]', 'w200', 'w300', 'w400', '[SEP]', 'w500', 'w600', '[SEP]']);
  for (const f of ['report.html', 'maps/self-grid.svg', 'maps/self-rollout.png', 'roles.svg', 'heads.json', 'importance.json']) assert.ok(existsSync(join(out, f)), f);
});

test('attn explain prune on a BERT classifier: accuracy curve, pruned folder = masked model', () => {
  const save = join(tmp, 'pruned');
  const r = attn('explain', 'prune', '--model', model, '--data', rows, '--val-fraction', '0.3', '--keep', '0.5', '--save', save, '--out', join(tmp, 'prune'), '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { metric: { name: string }; totalHeads: number; points: Array<{ removed: number; quality: number }>; saved: { heads: string[]; masked: number; pruned: number } };
  assert.equal(j.metric.name, 'accuracy');
  assert.equal(j.totalHeads, 8);
  assert.deepEqual(j.points.map((p) => p.removed), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  for (const p of j.points) assert.ok(p.quality >= 0 && p.quality <= 1 && Number.isInteger(p.quality * 9), `accuracy ${p.quality} over 9 held-out rows`);
  assert.equal(j.saved.heads.length, 4);
  assert.equal(j.saved.pruned, j.saved.masked);
  const cfg = JSON.parse(readFileSync(join(save, 'config.json'), 'utf8')) as { pruned_heads: Record<string, number[]>; architectures: string[] };
  assert.deepEqual(cfg.architectures, ['BertForSequenceClassification']);
  assert.equal(Object.values(cfg.pruned_heads).flat().length, 4);
  // Unlabelled rows or a masked-LM head: no objective, a clear error.
  const unl = join(tmp, 'unlabelled.jsonl');
  writeFileSync(unl, '{"text": "w200 w300"}\n{"text": "w400"}\n');
  const u = attn('explain', 'prune', '--model', model, '--data', unl, '--out', join(tmp, 'x'));
  assert.equal(u.code, 2);
  assert.match(u.err, /scores a GPT by bits per byte on plain text, a BERT-family sequence classifier by accuracy on labelled .*; this bert model with this data has none of these/);
  assert.ok(!/\n\s+at /.test(u.err), 'no stack trace');
});
