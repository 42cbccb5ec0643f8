// `attn generate` on encoder-decoder folders as a user runs it (a child process per call): a padded batch of
// source ids with --attention-mask and --bad-words-ids gives transformers' beams for marian-tiny; bad input is
// one clear line and exit code 2, never a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const FIX = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

export function attn(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', NO_COLOR: '1' }, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

interface Beam {
  generate_kwargs: Record<string, unknown>;
  sequences: number[][];
  sequences_scores: number[];
}

test('attn generate --input-ids 1,2;3,4 --attention-mask … --bad-words-ids on marian-tiny matches transformers', () => {
  const expected = JSON.parse(readFileSync(join(FIX, 'marian-tiny', 'expected.json'), 'utf8')) as { teacher_forcing: { input_ids: number[][]; attention_mask: number[][] }; beam: Beam[] };
  const tf = expected.teacher_forcing;
  const beam = expected.beam[0]!; // 4 beams, 2 returned, early stopping, bad_words_ids [[499]]
  const rows = (m: number[][]) => m.map((r) => r.join(',')).join(';');
  const r = attn('generate', '--model', join(FIX, 'marian-tiny'), '--input-ids', rows(tf.input_ids), '--attention-mask', rows(tf.attention_mask), '--num-beams', '4', '--num-return-sequences', '2', '--early-stopping', 'true', '--max-new-tokens', '12', '--bad-words-ids', '499', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { sequences: number[][]; prompt_length: number; sequences_scores: number[] };
  assert.deepEqual(j.sequences, beam.sequences);
  assert.equal(j.prompt_length, 1);
  j.sequences_scores.forEach((s, i) => assert.ok(Math.abs(s - beam.sequences_scores[i]!) < 1e-6));
  // Greedy without the cache: the same tokens as transformers' greedy case.
  const greedy = JSON.parse(readFileSync(join(FIX, 'marian-tiny', 'expected.json'), 'utf8')) as { greedy: { sequences: number[][] } };
  const g = attn('generate', '--model', join(FIX, 'marian-tiny'), '--input-ids', rows(tf.input_ids), '--attention-mask', rows(tf.attention_mask), '--max-new-tokens', '12', '--bad-words-ids', '499', '--no-cache', '--json');
  assert.equal(g.code, 0, g.err);
  assert.deepEqual((JSON.parse(g.out) as { sequences: number[][] }).sequences, greedy.greedy.sequences);
});

test('attn generate on encoder-decoders: bad input is one clear line', () => {
  const m = join(FIX, 'marian-tiny');
  const cases: [string[], RegExp][] = [
    [['--input-ids', '1,2;3', '--attention-mask', '1,1;1,1'], /attention mask rows of lengths \[2, 2\] do not match source rows of lengths \[2, 1\]/],
    [['--input-ids', '1,700'], /token id 700 in source 1 is out of range: the model's vocabulary has 500 tokens/],
    [['--input-ids', Array.from({ length: 70 }, () => '5').join(',')], /the source has 70 tokens; the model reads at most 64/],
    [['--input-ids', '1,2', '--bad-words-ids', '3;x'], /--bad-words-ids must be comma-separated non-negative integers/],
    [['--source', 'hello'], /has no tokenizer|tokenizer/],
  ];
  for (const [args, re] of cases) {
    const r = attn('generate', '--model', m, ...args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.err, re, args.join(' '));
    assert.ok(!/\n\s+at /.test(r.err), `stack trace for ${args.join(' ')}: ${r.err}`);
  }
  const gpt = attn('generate', '--model', join(FIX, 'gpt2-tiny'), '--source', 'x');
  assert.match(gpt.err, /--source is for encoder-decoder models/);
});
