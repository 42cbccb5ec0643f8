// The `attn` command as a user runs it: a child process per call, checked on exit code and output.
// A tiny end-to-end run: train (tokenizer + model, a few steps) → resume → generate → eval → info, plus the
// errors a user is most likely to meet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const FIX = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

function attn(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', NO_COLOR: '1' }, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const CORPUS = Array.from({ length: 60 }, (_, i) => `Line ${i}: the quick brown fox jumps over the lazy dog, and the king said "well met" to the queen.\n`).join('');

test('attn train → resume → generate → eval on a small corpus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-cli-'));
  try {
    writeFileSync(join(dir, 'corpus.txt'), CORPUS);
    const out = join(dir, 'model');
    const common = ['--data', join(dir, 'corpus.txt'), '--vocab-size', '300', '--preset', 'tiny', '--block-size', '32', '--batch-size', '4', '--eval-every', '3', '--out', out, '--quiet'];
    const t = attn('train', ...common, '--steps', '4');
    assert.equal(t.code, 0, t.err);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'generation_config.json', 'training_state.json', 'optimizer.safetensors', 'metrics.jsonl', 'loss.svg', 'loss.png']) {
      assert.ok(existsSync(join(out, f)), `missing ${f}`);
    }
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; step: number });
    assert.deepEqual(metrics.filter((m) => m.kind === 'train').map((m) => m.step), [1, 2, 3, 4]);

    const r = attn('train', '--out', out, '--resume', '--steps', '6', '--quiet');
    assert.equal(r.code, 0, r.err);
    const state = JSON.parse(readFileSync(join(out, 'training_state.json'), 'utf8')) as { step: number };
    assert.equal(state.step, 6);
    const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; step: number }).filter((m) => m.kind === 'train').map((m) => m.step);
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);

    const g = attn('generate', '--model', out, '--prompt', 'the quick', '--max-new-tokens', '5', '--json');
    assert.equal(g.code, 0, g.err);
    const j = JSON.parse(g.out) as { sequences: number[][]; prompt_length: number; text: string[] };
    assert.equal(j.sequences.length, 1);
    assert.ok(j.sequences[0]!.length <= j.prompt_length + 5 && j.sequences[0]!.length > j.prompt_length);
    assert.equal(typeof j.text[0], 'string');

    const s = attn('generate', '--model', out, '--prompt', 'the', '--max-new-tokens', '4', '--temperature', '0.9', '--seed', '3', '--json');
    const s2 = attn('generate', '--model', out, '--prompt', 'the', '--max-new-tokens', '4', '--temperature', '0.9', '--seed', '3', '--json');
    assert.equal(s.code, 0, s.err);
    assert.deepEqual(JSON.parse(s.out).sequences, JSON.parse(s2.out).sequences, 'same seed, same sample');

    const e = attn('eval', '--model', out, '--data', join(dir, 'corpus.txt'), '--json');
    assert.equal(e.code, 0, e.err);
    const ev = JSON.parse(e.out) as { loss: number; perplexity: number; bitsPerByte: number; tokens: number };
    assert.ok(ev.tokens > 100 && Number.isFinite(ev.loss));
    assert.ok(Math.abs(ev.perplexity - Math.exp(ev.loss)) < 1e-6 * ev.perplexity);

    // Fine-tune: a new run that starts from the trained folder's weights and tokenizer.
    const ft = attn('train', '--init', out, '--data', join(dir, 'corpus.txt'), '--steps', '2', '--block-size', '32', '--batch-size', '2', '--eval-every', '0', '--out', join(dir, 'tuned'), '--quiet');
    assert.equal(ft.code, 0, ft.err);
    assert.equal(readFileSync(join(dir, 'tuned', 'tokenizer.json'), 'utf8'), readFileSync(join(out, 'tokenizer.json'), 'utf8'));
    assert.equal((JSON.parse(readFileSync(join(dir, 'tuned', 'training_state.json'), 'utf8')) as { step: number }).step, 2);

    const info = attn('info', '--model', out, '--json');
    assert.equal(info.code, 0, info.err);
    assert.equal((JSON.parse(info.out) as { config: { n_layer: number } }).config.n_layer, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a tokenizer trained by attn train learns nothing from the validation tail (GPT and BERT)', () => {
  // "zqx" occurs only in the last 8 % of the file, inside the held-out 10 %, and more often (125 times) than any
  // word of the training text: a tokenizer trained on the whole file merges it first; one trained on the training
  // head never sees it.
  const dir = mkdtempSync(join(tmpdir(), 'attn-cli-'));
  try {
    const tail = Array.from({ length: 5 }, () => 'zqx '.repeat(25).trim() + '\n').join('');
    writeFileSync(join(dir, 'corpus.txt'), CORPUS + tail);
    for (const arch of ['bert', 'gpt']) {
      const out = join(dir, arch);
      const r = attn('train', '--arch', arch, '--data', join(dir, 'corpus.txt'), '--vocab-size', arch === 'gpt' ? '300' : '100', '--preset', arch === 'gpt' ? 'tiny' : 'bert-tiny', '--block-size', '32', '--batch-size', '2', '--steps', '1', '--eval-every', '0', '--val-fraction', '0.1', '--out', out, '--quiet');
      assert.equal(r.code, 0, r.err);
      const vocab = Object.keys((JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab);
      assert.ok(vocab.some((t) => t.includes('the')), `${arch}: the training text is learned`);
      const leaked = vocab.filter((t) => /zq|qx/.test(t));
      assert.deepEqual(leaked, [], `${arch}: tokens from the validation tail`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('generate on the HF fixture with --input-ids reproduces transformers beam search', () => {
  const g = attn('generate', '--model', join(FIX, 'gpt2-tiny'), '--input-ids', '547,635,425,964,561,416,967,255', '--max-new-tokens', '15', '--num-beams', '4', '--num-return-sequences', '2', '--early-stopping', 'true', '--json');
  assert.equal(g.code, 0, g.err);
  const expected = JSON.parse(readFileSync(join(FIX, 'gpt2-tiny', 'expected.json'), 'utf8')) as { beam: Array<{ sequences: number[][]; sequences_scores: number[] }> };
  const j = JSON.parse(g.out) as { sequences: number[][]; sequences_scores: number[] };
  assert.deepEqual(j.sequences, expected.beam[0]!.sequences);
  j.sequences_scores.forEach((s, i) => assert.ok(Math.abs(s - expected.beam[0]!.sequences_scores[i]!) < 1e-4));
});

test('info prints GPT-2 sizes; help and errors are clear', () => {
  const i = attn('info', '--preset', 'gpt2');
  assert.equal(i.code, 0, i.err);
  assert.match(i.out, /parameters\s+124,439,808/);
  const h = attn('--help');
  assert.equal(h.code, 0);
  assert.match(h.out, /usage: attn <command>/);
  for (const cmd of ['train', 'generate', 'eval', 'info', 'start']) {
    const r = attn(cmd, '--help');
    assert.equal(r.code, 0, `${cmd} --help`);
    assert.match(r.out, new RegExp(`attn ${cmd}`));
  }
  const unknown = attn('trian');
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command 'trian'/);
  const badNum = attn('train', '--data', 'x', '--steps', 'ten');
  assert.equal(badNum.code, 2);
  assert.match(badNum.err, /--steps must be an integer ≥ 1, got 'ten'/);
  const noModel = attn('generate', '--prompt', 'hi');
  assert.equal(noModel.code, 2);
  assert.match(noModel.err, /--model DIR is required/);
  const missing = attn('generate', '--model', '/nonexistent/model', '--prompt', 'hi');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /model folder not found: \/nonexistent\/model/);
  assert.doesNotMatch(missing.err, /\n\s+at /, 'no stack trace');
  const noData = attn('train', '--data', '/nonexistent/data.txt');
  assert.match(noData.err, /data not found: \/nonexistent\/data\.txt/);
});
