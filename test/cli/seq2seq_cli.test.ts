// `attn generate` on encoder-decoder folders as a user runs it (a child process per call): a padded batch of
// source ids with --attention-mask and --bad-words-ids gives transformers' beams for marian-tiny; bad input is
// one clear line and exit code 2, never a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

const WORDS = 'the cat sat on a mat and dog ran to big red house in small green tree with one two three'.split(' ');
function pairsJsonl(n: number, seed: number): string {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, () => {
    const src = Array.from({ length: 3 + Math.floor(next() * 5) }, () => WORDS[Math.floor(next() * WORDS.length)]!);
    return JSON.stringify({ source: src.join(' '), target: [...src].reverse().join(' ') });
  }).join('\n') + '\n';
}

test('the tokenizer attn train --arch transformer|t5 trains learns nothing from the validation rows or text', () => {
  // "zqx" is only in the last rows of the pairs (inside the held-out 5 %) and in the last lines of the text file
  // (inside its held-out tail): a tokenizer trained on all the data has its letters; one trained on the training
  // part does not (none of z, q, x occurs in WORDS).
  const dir = mkdtempSync(join(tmpdir(), 'attn-s2s-cli-'));
  try {
    const zqx = Array.from({ length: 8 }, () => JSON.stringify({ source: 'zqx zqx the cat', target: 'cat the zqx zqx' })).join('\n') + '\n';
    writeFileSync(join(dir, 'pairs.jsonl'), pairsJsonl(200, 1) + zqx);
    const text = pairsJsonl(400, 2).replace(/[{}":,]|source|target/g, ' ');
    writeFileSync(join(dir, 'text.txt'), text + 'zqx zqx zqx\n'.repeat(Math.floor((0.03 * text.length) / 12)));
    const runs = [
      ['mt', '--arch', 'transformer', '--objective', 'seq2seq', '--data', join(dir, 'pairs.jsonl')],
      ['t5', '--arch', 't5', '--objective', 'span-corruption', '--data', join(dir, 'text.txt'), '--max-source-length', '32'],
    ];
    for (const [name, ...args] of runs) {
      const out = join(dir, name!);
      const t = attn('train', ...args, '--vocab-size', '130', '--steps', '1', '--eval-every', '0', '--batch-size', '2', '--out', out, '--quiet');
      assert.equal(t.code, 0, t.err);
      const pieces = (JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8')) as { model: { vocab: [string, number][] } }).model.vocab.map(([p]) => p);
      assert.ok(pieces.filter((p) => /^▁?[a-wy]+$/.test(p)).length >= 15, `${name}: the training text is learned`);
      assert.deepEqual(pieces.filter((p) => /[zqx]/.test(p) && !/^<.+>$/.test(p)), [], `${name}: pieces from the validation data`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attn train --arch transformer|t5 --objective …, --resume, generate --source, finetune --task translation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-s2s-cli-'));
  try {
    writeFileSync(join(dir, 'pairs.jsonl'), pairsJsonl(200, 1));
    writeFileSync(join(dir, 'text.txt'), pairsJsonl(200, 2).replace(/[{}":,]|source|target/g, ' '));
    const mt = join(dir, 'mt');
    const t = attn('train', '--arch', 'transformer', '--objective', 'seq2seq', '--data', join(dir, 'pairs.jsonl'), '--vocab-size', '128', '--steps', '3', '--eval-every', '2', '--batch-size', '4', '--out', mt, '--quiet');
    assert.equal(t.code, 0, t.err);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'generation_config.json', 'training_state.json', 'optimizer.safetensors', 'metrics.jsonl', 'loss.svg', 'loss.png']) assert.ok(existsSync(join(mt, f)), `missing ${f}`);
    assert.equal((JSON.parse(readFileSync(join(mt, 'config.json'), 'utf8')) as { model_type: string }).model_type, 'marian');
    const g = attn('generate', '--model', mt, '--source', 'the cat sat', '--max-new-tokens', '5', '--num-beams', '2', '--json');
    assert.equal(g.code, 0, g.err);
    const j = JSON.parse(g.out) as { sequences: number[][]; prompt_length: number; text: string[] };
    assert.equal(j.sequences[0]![0], 0); // the decoder start (<pad>, as T5 and Marian)
    assert.equal(typeof j.text[0], 'string');
    const f = attn('finetune', '--task', 'translation', '--model', mt, '--train', join(dir, 'pairs.jsonl'), '--steps', '2', '--batch-size', '4', '--eval-rows', '4', '--num-beams', '1', '--max-new-tokens', '6', '--out', join(dir, 'ft'), '--quiet');
    assert.equal(f.code, 0, f.err);
    const fj = JSON.parse(f.out) as { bleu: number; chrf: number; steps: number };
    assert.equal(fj.steps, 2);
    assert.ok(Number.isFinite(fj.bleu) && Number.isFinite(fj.chrf));

    const t5 = join(dir, 't5');
    const s = attn('train', '--arch', 't5', '--objective', 'span-corruption', '--data', join(dir, 'text.txt'), '--vocab-size', '128', '--steps', '2', '--batch-size', '2', '--max-source-length', '32', '--out', t5, '--quiet');
    assert.equal(s.code, 0, s.err);
    const r = attn('train', '--out', t5, '--resume', '--steps', '3', '--quiet');
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(readFileSync(join(t5, 'training_state.json'), 'utf8')) as { step: number }).step, 3);

    // A malformed row names the file and the line.
    writeFileSync(join(dir, 'bad.jsonl'), '{"source": "a", "target": "b"}\n{"source": "a" "target": "b"}\n');
    const bad = attn('finetune', '--task', 'translation', '--model', mt, '--train', join(dir, 'bad.jsonl'), '--quiet');
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /bad\.jsonl.*line 2/);
    assert.ok(!/\n\s+at /.test(bad.err), bad.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attn g2p train → results.json, cross_attention.svg; predict and eval read the folder back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-g2p-cli-'));
  try {
    const out = join(dir, 'g2p');
    const t = attn('g2p', 'train', '--preset', 'tiny', '--steps', '3', '--warmup', '1', '--eval-every', '0', '--limit', '40', '--dropout', '0.05', '--out', out, '--quiet');
    assert.equal(t.code, 0, t.err);
    assert.equal((JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { dropout: number }).dropout, 0.05, '--dropout is the saved config');
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { wer: number; per: number; testWords: number; examples: unknown[] };
    assert.equal(res.testWords, 40);
    assert.ok(res.wer >= 0 && res.wer <= 1 && res.per >= 0);
    assert.match(readFileSync(join(out, 'cross_attention.svg'), 'utf8'), /^<svg[\s\S]*<\/svg>\n$/);
    const p = attn('g2p', 'predict', '--model', out, 'phoneme', "o'neil");
    assert.equal(p.code, 0, p.err);
    assert.deepEqual(p.out.trim().split('\n').map((l) => l.split('\t')[0]), ['phoneme', "o'neil"]);
    const e = attn('g2p', 'eval', '--model', out, '--limit', '20', '--quiet');
    assert.equal(e.code, 0, e.err);
    assert.deepEqual((({ split, words }) => ({ split, words }))(JSON.parse(e.out) as { split: string; words: number }), { split: 'test', words: 20 });
    const ev = attn('g2p', 'eval', '--model', out, '--limit', '20', '--quiet', '--split', 'valid');
    assert.equal(ev.code, 0, ev.err);
    assert.deepEqual((({ split, words }) => ({ split, words }))(JSON.parse(ev.out) as { split: string; words: number }), { split: 'valid', words: 20 });
    assert.match(attn('g2p', 'eval', '--model', out, '--split', 'train').err, /--split must be 'test' or 'valid', got 'train'/);
    const bad = attn('g2p', 'predict', '--model', out, 'x1');
    assert.match(bad.err, /'x1': only letters and apostrophes/);
    assert.match(attn('g2p', 'fly').err, /needs a subcommand: train, eval or predict \(got 'fly'\)/);
    assert.match(attn('g2p', 'train', '--dropout', '1', '--out', join(dir, 'no')).err, /--dropout must be below 1, got 1/);
    assert.match(attn('g2p', 'train', '--ema', '1', '--out', join(dir, 'no')).err, /--ema must be below 1 \(a decay per step, e.g. 0.999\), got 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
