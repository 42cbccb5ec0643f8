// The WordPiece trainer: exact vocabulary sizes, special tokens, minimum sizes, min_frequency, both merge
// criteria on the Hugging Face course's worked example, and agreement with Hugging Face's own trainer.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { trainWordPiece, WordPieceTrainer, type Tokenizer } from '../../src/tokenizers/index.js';
import { gutenbergFile, hf } from './_oracle.js';

const ALICE = readFileSync(gutenbergFile('carroll-alice.txt'), 'utf8');
const LINES = ALICE.split('\n');

/** Vocabulary in id order. */
function vocabList(tok: Tokenizer): string[] {
  return [...tok.getVocab().entries()].sort((a, b) => a[1] - b[1]).map(([t]) => t);
}

/** The words of a text as Hugging Face's BERT normalizer and pre-tokenizer see them (the outside oracle). */
function nativeWords(lines: readonly string[]): string[] {
  const normalizer = hf.bertNormalizer({});
  const pre = hf.bertPreTokenizer();
  const out: string[] = [];
  for (const line of lines) for (const [w] of pre.preTokenizeString(normalizer.normalizeString(line))) out.push(w);
  return out;
}

describe('WordPiece trainer: exact vocabulary size', () => {
  it('reaches 300, 1000 and 1777 tokens exactly, special tokens first', async () => {
    for (const vocabSize of [300, 1000, 1777]) {
      const tok = await trainWordPiece(LINES, { vocabSize });
      assert.equal(tok.vocabSize, vocabSize);
      const v = vocabList(tok);
      assert.equal(v.length, vocabSize);
      assert.deepEqual(v.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
      assert.equal(new Set(v).size, v.length, 'no duplicates');
    }
  });

  it('the minimum is specials + characters + "##" characters; below it, the error says the minimum', async () => {
    const words = nativeWords(LINES);
    const plain = new Set<string>();
    const cont = new Set<string>();
    for (const w of words) [...w].forEach((ch, i) => (i === 0 ? plain : cont).add(i === 0 ? ch : ch));
    const chars = new Set([...plain, ...cont]);
    const minimum = 5 + chars.size + cont.size;
    await assert.rejects(trainWordPiece(LINES, { vocabSize: minimum - 1 }), new RegExp(`vocabSize ${minimum - 1} is too small; the minimum for this corpus is ${minimum}`));
    const tok = await trainWordPiece(LINES, { vocabSize: minimum });
    assert.equal(tok.vocabSize, minimum);
    // Every character and every continuation character is in the vocabulary, so no word of the corpus is [UNK].
    for (const ch of chars) assert.notEqual(tok.tokenToId(ch), undefined, ch);
    for (const ch of cont) assert.notEqual(tok.tokenToId('##' + ch), undefined, '##' + ch);
    assert.ok(!tok.encode(ALICE.slice(0, 5000)).ids.includes(1), 'no [UNK]');
  });

  it('a corpus too small for the size: the error says how many tokens it supports; allowSmallerVocab accepts it', async () => {
    await assert.rejects(trainWordPiece(['hello hello world world'], { vocabSize: 100 }), /the corpus supports only \d+ tokens at minFrequency 2 .* Use a vocabSize of at most \d+/);
    const tok = await trainWordPiece(['hello hello world world'], { vocabSize: 100, allowSmallerVocab: true });
    assert.ok(tok.vocabSize < 100);
    assert.deepEqual(tok.encode('hello world', undefined, { addSpecialTokens: false }).tokens, ['hello', 'world']);
  });

  it('min_frequency: pairs rarer than that are never merged', async () => {
    // "ab" occurs 3 times and "cd" twice: with minFrequency 3 only (a, ##b) can merge. The alphabet holds every
    // character plain, and the "##" form of those seen inside a word.
    const corpus = ['ab ab ab cd cd'];
    const tok = await trainWordPiece(corpus, { vocabSize: 100, minFrequency: 3, allowSmallerVocab: true, specialTokens: ['[UNK]'] });
    assert.deepEqual(vocabList(tok), ['[UNK]', 'a', 'b', 'c', 'd', '##b', '##d', 'ab']);
    const two = await trainWordPiece(corpus, { vocabSize: 100, minFrequency: 2, allowSmallerVocab: true, specialTokens: ['[UNK]'] });
    assert.deepEqual(vocabList(two), ['[UNK]', 'a', 'b', 'c', 'd', '##b', '##d', 'ab', 'cd']);
  });

  it('custom special tokens; [UNK] is added when missing; deterministic', async () => {
    const a = await trainWordPiece(LINES.slice(0, 800), { vocabSize: 400, specialTokens: ['<s>', '</s>'] });
    const b = await trainWordPiece(LINES.slice(0, 800), { vocabSize: 400, specialTokens: ['<s>', '</s>'] });
    assert.deepEqual(vocabList(a).slice(0, 3), ['<s>', '</s>', '[UNK]']);
    assert.equal(a.toString(), b.toString());
    // No [CLS]/[SEP]: no template, so nothing is added around the text.
    assert.deepEqual(a.encode('alice', undefined).specialTokensMask.every((m) => m === 0), true);
    // Special tokens in the corpus are not learned from, and are matched whole when encoding.
    assert.deepEqual(a.encode('<s>alice</s>').tokens[0], '<s>');
  });

  it('limitAlphabet keeps the most frequent characters only', async () => {
    const tok = await trainWordPiece(LINES, { vocabSize: 200, limitAlphabet: 30, specialTokens: ['[UNK]'] });
    const v = vocabList(tok);
    const plainChars = v.slice(1).filter((t) => [...t].length === 1);
    assert.equal(plainChars.length, 30);
    // The most frequent characters of English prose are in; a rare one is not.
    for (const ch of ['e', 't', 'a', 'o']) assert.ok(plainChars.includes(ch), ch);
    assert.ok(!plainChars.includes('z'));
    assert.equal(tok.vocabSize, 200);
  });

  it('reports progress while merging', async () => {
    const seen: Array<{ phase: string; done: number; total: number }> = [];
    const t = new WordPieceTrainer({ vocabSize: 500, onProgress: (p) => seen.push(p) });
    for (const line of LINES) t.feed(line);
    t.finish();
    const merges = seen.filter((p) => p.phase === 'merge');
    assert.ok(merges.length > 0);
    const last = merges[merges.length - 1];
    assert.equal(last.done, last.total);
  });
});

describe('WordPiece trainer: the merge criteria on the Hugging Face course example', () => {
  // ("hug", 10), ("pug", 5), ("pun", 12), ("bun", 4), ("hugs", 5), from the Hugging Face NLP course chapters on
  // BPE and WordPiece. Spelled h ##u ##g, ... the symbol counts are h 15, p 17, b 4, ##u 36, ##g 20, ##n 16,
  // ##s 5; pair counts (h,##u) 15, (##u,##g) 20, (p,##u) 17, (##u,##n) 16, (b,##u) 4, (##g,##s) 5.
  const corpus = [...Array(10).fill('hug'), ...Array(5).fill('pug'), ...Array(12).fill('pun'), ...Array(4).fill('bun'), ...Array(5).fill('hugs')];
  const firstMerge = async (criterion: 'frequency' | 'likelihood'): Promise<string> => {
    // 5 special tokens + 7 characters (b g h n p s u) + 4 continuation characters (##g ##n ##s ##u) + 1 merge.
    const tok = await trainWordPiece(corpus, { criterion, vocabSize: 5 + 7 + 4 + 1, minFrequency: 1, specialTokens: ['[UNK]', '[PAD]', '[CLS]', '[SEP]', '[MASK]'] });
    return vocabList(tok)[16];
  };
  it('likelihood: count(ab) / (count(a) count(b)) picks (##g, ##s): 5 / (20 · 5) = 1/20 beats 1/36', async () => {
    assert.equal(5 / (20 * 5), 1 / 20);
    assert.equal(20 / (36 * 20), 1 / 36);
    assert.equal(await firstMerge('likelihood'), '##gs');
  });
  it('frequency: the most frequent pair (##u, ##g), 20 times', async () => {
    assert.equal(await firstMerge('frequency'), '##ug');
  });
});

describe('WordPiece trainer: agrees with Hugging Face WordPieceTrainer (frequency criterion)', () => {
  it('same alphabet, same first 100 merges, and 97% of the same vocabulary on Alice in Wonderland', () => {
    // HF's node binding trains with its default WordPieceTrainer: no special tokens, min_frequency 0, until no
    // pair is left (Alice has fewer than its 30 000 tokens). Its "##" characters are numbered in hash-map order,
    // so a few later ties go either way from run to run; the first merges and the vocabulary do not depend on it.
    const native = new hf.Tokenizer(hf.WordPiece.empty());
    native.setNormalizer(hf.bertNormalizer({}));
    native.setPreTokenizer(hf.bertPreTokenizer());
    native.train([gutenbergFile('carroll-alice.txt')]);
    const theirs = Object.entries(native.getVocab(false))
      .sort((a, b) => a[1] - b[1])
      .map(([t]) => t);
    const t = new WordPieceTrainer({ vocabSize: 100000, minFrequency: 1, allowSmallerVocab: true, specialTokens: ['[UNK]'] });
    for (const line of LINES) t.feed(line);
    const ours = vocabList(t.finish()).slice(1);
    const firstMerge = (v: string[]): number => v.findIndex((tok) => [...tok.replace(/^##/, '')].length > 1);
    const [ta, oa] = [firstMerge(theirs), firstMerge(ours)];
    assert.deepEqual(new Set(ours.slice(0, oa)), new Set(theirs.slice(0, ta)), 'alphabet');
    assert.deepEqual(new Set(ours.slice(oa, oa + 100)), new Set(theirs.slice(ta, ta + 100)), 'first 100 merges');
    const mine = new Set(ours);
    const common = theirs.filter((tok) => mine.has(tok)).length;
    assert.ok(common / theirs.length > 0.97, `${common} of ${theirs.length} in common`);
    assert.ok(Math.abs(ours.length - theirs.length) < 20);
  });
});
