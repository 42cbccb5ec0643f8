// `attn tokenizer train | encode | decode`, run in-process with captured output, plus one real process to check
// the command is wired into `attn`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { colorEnabled, tokenizerCommand, type CommandIO } from '../../cli/tokenizer.js';
import { hf } from './_oracle.js';

const dir = mkdtempSync(join(tmpdir(), 'attn-tokcli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CORPUS = join(dir, 'corpus.txt');
writeFileSync(
  CORPUS,
  [
    'The quick brown fox jumps over the lazy dog.',
    'A naïve café serves crème brûlée to the fox and the dog.',
    'Tokenizers split text into tokens; tokens become ids.',
  ]
    .join('\n')
    .repeat(30),
);

/** Run `attn tokenizer ...argv` in-process; returns exit code and captured output. */
async function run(argv: string[], color = false): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIO = { stdout: (t) => (out += t), stderr: (t) => (err += t), color, progress: false };
  const code = await tokenizerCommand(argv, io);
  return { code, out, err };
}

describe('attn tokenizer: train -> encode -> decode round trip', () => {
  for (const type of ['bpe', 'wordpiece'] as const) {
    it(type, async () => {
      const out = join(dir, `${type}.json`);
      const vocabSize = type === 'bpe' ? 300 : 90;
      const trained = await run(['train', '--type', type, '--input', CORPUS, '--vocab-size', String(vocabSize), '--min-frequency', '2', '--out', out]);
      assert.equal(trained.code, 0);
      assert.equal(trained.out.trim(), out);
      assert.match(trained.err, new RegExp(`trained ${type} tokenizer: ${vocabSize} tokens from 1 file`));
      assert.ok(existsSync(out));
      // Hugging Face loads what the CLI wrote and agrees on the ids.
      const native = hf.Tokenizer.fromString(readFileSync(out, 'utf8'));
      const text = 'The lazy fox serves tokens.';
      const enc = await run(['encode', '--tokenizer', out, '--text', text, '--json']);
      const parsed = JSON.parse(enc.out) as { ids: number[]; tokens: string[]; offsets: Array<[number, number]> };
      assert.deepEqual(parsed.ids, (await native.encode(text, null)).getIds());
      const plain = await run(['encode', '--tokenizer', out, '--text', text]);
      assert.equal(plain.out.trim(), parsed.ids.join(','));
      const dec = await run(['decode', '--tokenizer', out, '--ids', parsed.ids.join(','), '--skip-special-tokens']);
      assert.equal(dec.out.trim(), type === 'bpe' ? text : 'the lazy fox serves tokens.');
    });
  }

  it('unigram (SentencePiece style), with T5\'s special tokens', async () => {
    const out = join(dir, 'unigram.json');
    const trained = await run(['train', '--type', 'unigram', '--input', CORPUS, '--vocab-size', '60', '--special', '<pad>', '</s>', '<unk>', '--out', out]);
    assert.equal(trained.code, 0);
    assert.match(trained.err, /trained unigram tokenizer: 60 tokens from 1 file/);
    const native = hf.Tokenizer.fromString(readFileSync(out, 'utf8'));
    assert.equal(native.getVocabSize(true), 60);
    assert.equal(native.tokenToId('<unk>'), 2);
    const text = 'The lazy fox serves crème brûlée.';
    const enc = JSON.parse((await run(['encode', '--tokenizer', out, '--text', text, '--json'])).out) as { ids: number[] };
    assert.deepEqual(enc.ids, (await native.encode(text, null)).getIds());
    const dec = await run(['decode', '--tokenizer', out, '--ids', enc.ids.join(',')]);
    assert.equal(dec.out.trim(), text);
    await assert.rejects(run(['train', '--type', 'unigram', '--input', CORPUS, '--vocab-size', '60', '--min-frequency', '3', '--out', out]), /--min-frequency is for bpe and wordpiece/);
  });
});

describe('attn tokenizer encode --visual', () => {
  it('colours alternate tokens with ANSI backgrounds; without colour, tokens are separated by |', async () => {
    const coloured = await run(['encode', '--tokenizer', 'gpt2', '--text', 'Hello world', '--visual'], true);
    assert.match(coloured.out, /\x1b\[30;48;5;\d+mHello\x1b\[0m\x1b\[30;48;5;\d+m world\x1b\[0m/);
    assert.match(coloured.err, /2 tokens, 11 characters/);
    const plain = await run(['encode', '--tokenizer', 'gpt2', '--text', 'Hello world 😀', '--visual'], false);
    assert.equal(plain.out, '|Hello| world| 😀|\n');
    assert.ok(!plain.out.includes('\x1b'));
  });
  it('NO_COLOR wins over a terminal; FORCE_COLOR turns colours on without one', () => {
    assert.equal(colorEnabled(true, {}), true);
    assert.equal(colorEnabled(true, { NO_COLOR: '1' }), false);
    assert.equal(colorEnabled(false, {}), false);
    assert.equal(colorEnabled(false, { FORCE_COLOR: '1' }), true);
    assert.equal(colorEnabled(false, { FORCE_COLOR: '1', NO_COLOR: '1' }), false);
  });
  it('BERT pairs: special tokens shown by name, the text between tokens kept', async () => {
    const vocab = join(dir, 'vocab.txt');
    writeFileSync(vocab, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', 'world', '!'].join('\n') + '\n');
    const r = await run(['encode', '--tokenizer', vocab, '--text', 'Hello  world!', '--pair', 'hello', '--visual']);
    assert.equal(r.out, '|[CLS]|Hello  |world|!|[SEP]|hello|[SEP]|\n');
  });
});

describe('attn tokenizer: help and errors that say what to do', () => {
  it('--help for the group and each command', async () => {
    assert.match((await run(['--help'])).out, /usage: attn tokenizer <train\|encode\|decode>/);
    assert.match((await run(['train', '--help'])).out, /--vocab-size N\s+exact number of tokens/);
    assert.match((await run(['encode', '--help'])).out, /--visual/);
    assert.match((await run(['decode', '--help'])).out, /--ids I,J,\.\.\./);
  });
  it('missing file, bad vocabulary size, missing options, bad ids', async () => {
    await assert.rejects(run(['train', '--input', join(dir, 'nope.txt'), '--vocab-size', '300', '--out', join(dir, 'x.json')]), /nope\.txt: file not found/);
    await assert.rejects(run(['train', '--input', CORPUS, '--vocab-size', '100', '--out', join(dir, 'x.json')]), /vocabSize 100 is too small; it must be an integer >= 256/);
    await assert.rejects(run(['train', '--type', 'wordpiece', '--input', CORPUS, '--vocab-size', '10', '--out', join(dir, 'x.json')]), /the minimum for this corpus is \d+/);
    await assert.rejects(run(['train', '--input', CORPUS, '--out', join(dir, 'x.json')]), /--vocab-size N is required/);
    await assert.rejects(run(['train', '--input', CORPUS, '--vocab-size', 'many', '--out', join(dir, 'x.json')]), /--vocab-size must be an integer ≥ 1, got 'many'/);
    await assert.rejects(run(['train', '--vocab-size', '300', '--out', join(dir, 'x.json')]), /give the text files with --input FILE/);
    await assert.rejects(run(['encode', '--tokenizer', join(dir, 'none.json'), '--text', 'x']), /none\.json does not exist/);
    await assert.rejects(run(['decode', '--ids', '1,two,3']), /--ids item 2 is 'two', not a non-negative integer/);
    await assert.rejects(run(['frobnicate']), /unknown command 'attn tokenizer frobnicate'/);
  });
  it('several input files after one --input, and special tokens after one --special', async () => {
    const second = join(dir, 'second.txt');
    writeFileSync(second, 'More text about foxes and dogs.\n'.repeat(20));
    const out = join(dir, 'multi.json');
    const r = await run(['train', '--input', CORPUS, second, '--special', '<s>', '</s>', '--vocab-size', '280', '--out', out]);
    assert.match(r.err, /from 2 file\(s\)/);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { added_tokens: Array<{ content: string; id: number }> };
    assert.deepEqual(doc.added_tokens.map((t) => [t.content, t.id]), [['<s>', 0], ['</s>', 1]]);
  });
});

describe('attn tokenizer as a real process', () => {
  it('`node dist/cli/main.js tokenizer decode` prints the text', () => {
    const main = resolve(dirname(fileURLToPath(import.meta.url)), '../../cli/main.js');
    const r = spawnSync(process.execPath, [main, 'tokenizer', 'decode', '--ids', '15496,995'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'Hello world\n');
    const bad = spawnSync(process.execPath, [main, 'tokenizer', 'encode', '--tokenizer', '/no/such/file.json', '--text', 'x'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^attn: attn tokenizer encode: loadTokenizer: \/no\/such\/file\.json does not exist/);
  });
});
