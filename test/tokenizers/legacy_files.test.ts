// Model folders without tokenizer.json: vocab.txt (BERT), vocab.json + merges.txt (GPT-2, RoBERTa), a
// SentencePiece model (T5), with tokenizer_config.json and added_tokens.json. The oracle is Hugging Face's
// native library building its tokenizer from the same files (WordPiece.fromFile, BPE.fromFile) with the
// pipeline transformers' converters give these models.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gpt2 } from '../../src/tokenizers/gpt2.js';
import { loadTokenizer, loadTokenizerFromFolder } from '../../src/tokenizers/node.js';
import type { Tokenizer } from '../../src/tokenizers/index.js';
import { ADVERSARIAL, bertVocabTxt, fromNative, fromOurs, gutenbergParagraphs, hf, unigramFixture, unigramFixtureBytes } from './_oracle.js';

const root = mkdtempSync(join(tmpdir(), 'attn-legacy-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A folder with these files (strings, or bytes for .model files). */
function folder(name: string, files: Record<string, string | Uint8Array>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, content] of Object.entries(files)) writeFileSync(join(dir, f), content);
  return dir;
}

const TEXTS = [...ADVERSARIAL, ...gutenbergParagraphs(3), 'a <mask> b<mask>c  <mask>', ' leading space', '<s>already</s>'];

/** Every text, alone and in pairs, gives the same encoding. */
async function sameEncodings(ours: Tokenizer, native: InstanceType<typeof hf.Tokenizer>): Promise<void> {
  for (const text of TEXTS) {
    assert.deepEqual(fromOurs(ours.encode(text)), fromNative(await native.encode(text, null), text), JSON.stringify(text.slice(0, 60)));
  }
  for (let i = 0; i + 1 < 12; i += 2) {
    const [a, b] = [TEXTS[i]!, TEXTS[i + 1]!];
    assert.deepEqual(fromOurs(ours.encode(a, b)), fromNative(await native.encode(a, b), a, b), `pair ${i}`);
  }
}

describe('BERT from vocab.txt and tokenizer_config.json', () => {
  const vocabTxt = bertVocabTxt();
  for (const lower of [true, false]) {
    it(`do_lower_case ${lower}: same ids, type ids and offsets as Hugging Face's WordPiece.fromFile pipeline`, async () => {
      const dir = folder(`bert-${lower}`, { 'vocab.txt': vocabTxt, 'tokenizer_config.json': JSON.stringify({ do_lower_case: lower, tokenizer_class: 'BertTokenizer' }) });
      const ours = await loadTokenizerFromFolder(dir);
      const native = new hf.Tokenizer(await hf.WordPiece.fromFile(join(dir, 'vocab.txt'), { unkToken: '[UNK]' }));
      native.setNormalizer(hf.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: lower, lowercase: lower }));
      native.setPreTokenizer(hf.bertPreTokenizer());
      native.setPostProcessor(hf.templateProcessing('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', [['[CLS]', 101], ['[SEP]', 102]]));
      native.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
      await sameEncodings(ours, native);
      // The uncased vocabulary read as cased: "Héllo" keeps its capital and accent, which it has no pieces for.
      assert.deepEqual(ours.encode('Héllo', 'world').tokens, lower ? ['[CLS]', 'hello', '[SEP]', 'world', '[SEP]'] : ['[CLS]', '[UNK]', '[SEP]', 'world', '[SEP]']);
      assert.deepEqual(ours.encode('Héllo', 'world').typeIds, [0, 0, 0, 1, 1]);
    });
  }
});

/** GPT-2's vocabulary and merges as the two files, optionally with RoBERTa's special tokens appended. */
function byteLevelFiles(roberta: boolean): { vocab: Record<string, number>; files: Record<string, string> } {
  const bpe = gpt2();
  const vocab: Record<string, number> = Object.fromEntries(bpe.vocab);
  if (roberta) {
    let id = Object.keys(vocab).length;
    for (const t of ['<s>', '<pad>', '</s>', '<unk>', '<mask>']) vocab[t] = id++;
  }
  const merges = ['#version: 0.2', ...bpe.merges.map(([a, b]) => `${a} ${b}`)].join('\n') + '\n';
  return { vocab, files: { 'vocab.json': JSON.stringify(vocab), 'merges.txt': merges } };
}

describe('GPT-2 and RoBERTa from vocab.json + merges.txt', () => {
  it("GPT-2: the same as attn's built-in GPT-2 and Hugging Face's BPE.fromFile", async () => {
    const { files } = byteLevelFiles(false);
    const dir = folder('gpt2', files);
    const ours = await loadTokenizerFromFolder(dir);
    const native = new hf.Tokenizer(await hf.BPE.fromFile(join(dir, 'vocab.json'), join(dir, 'merges.txt')));
    native.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
    native.setPostProcessor(hf.byteLevelProcessing(false));
    native.addSpecialTokens(['<|endoftext|>']);
    await sameEncodings(ours, native);
    const text = TEXTS.join(' ');
    assert.deepEqual(ours.encode(text).ids, (await loadTokenizer('gpt2')).encode(text).ids);
  });

  for (const addPrefixSpace of [false, true]) {
    it(`RoBERTa, add_prefix_space ${addPrefixSpace}: <s> A </s></s> B </s>, trimmed offsets, <mask> eats the space before it`, async () => {
      const { vocab, files } = byteLevelFiles(true);
      const dir = folder(`roberta-${addPrefixSpace}`, {
        ...files,
        'tokenizer_config.json': JSON.stringify({ tokenizer_class: 'RobertaTokenizer', add_prefix_space: addPrefixSpace, trim_offsets: true }),
      });
      const ours = await loadTokenizerFromFolder(dir);
      const native = new hf.Tokenizer(await hf.BPE.fromFile(join(dir, 'vocab.json'), join(dir, 'merges.txt')));
      native.setPreTokenizer(hf.byteLevelPreTokenizer(addPrefixSpace, true));
      native.setPostProcessor(hf.robertaProcessing(['</s>', vocab['</s>']!], ['<s>', vocab['<s>']!], true, addPrefixSpace));
      native.addAddedTokens([
        new hf.AddedToken('<s>', true),
        new hf.AddedToken('<pad>', true),
        new hf.AddedToken('</s>', true),
        new hf.AddedToken('<unk>', true),
        new hf.AddedToken('<mask>', true, { leftStrip: true }),
      ]);
      await sameEncodings(ours, native);
      const e = ours.encode('Hi', 'there');
      assert.deepEqual(e.tokens, ['<s>', addPrefixSpace ? 'ĠHi' : 'Hi', '</s>', '</s>', addPrefixSpace ? 'Ġthere' : 'there', '</s>']);
      assert.deepEqual(e.typeIds, [0, 0, 0, 0, 0, 0]);
    });
  }
});

describe('folders: what wins, added tokens, SentencePiece, errors', () => {
  it('tokenizer.json wins over the older files', async () => {
    const json = unigramFixture('hf-unigram-blake.tokenizer.json');
    const dir = folder('both', { 'tokenizer.json': json, 'vocab.txt': bertVocabTxt() });
    assert.equal((await loadTokenizerFromFolder(dir)).model.type, 'Unigram');
  });

  it('added_tokens.json adds tokens at the ids it gives; a mismatch is an error', async () => {
    const dir = folder('added', {
      'vocab.txt': bertVocabTxt(),
      'added_tokens.json': JSON.stringify({ '<new>': 30522, '<ent>': 30523 }),
      'special_tokens_map.json': JSON.stringify({ additional_special_tokens: ['<ent>'] }),
    });
    const tok = await loadTokenizerFromFolder(dir);
    assert.deepEqual(tok.encode('a <new> b<ent>').ids, [101, 1037, 30522, 1038, 30523, 102]);
    assert.deepEqual(tok.decode(tok.encode('a <new> b<ent>').ids, { skipSpecialTokens: true }), 'a <new> b');
    const bad = folder('added-bad', { 'vocab.txt': bertVocabTxt(), 'added_tokens.json': JSON.stringify({ '<new>': 40000 }) });
    await assert.rejects(loadTokenizerFromFolder(bad), /"<new>" should have id 40000, but the next free id is 30522/);
  });

  it("a T5 folder with spiece.model: SentencePiece's ids, then </s>", async () => {
    const expected = JSON.parse(unigramFixture('spm-expected.json')) as Record<string, { encodings: Array<{ text: string; ids: number[] }> }>;
    const dir = folder('t5', { 'spiece.model': unigramFixtureBytes('spm-rules.model'), 'tokenizer_config.json': JSON.stringify({ tokenizer_class: 'T5Tokenizer' }) });
    const tok = await loadTokenizerFromFolder(dir);
    for (const { text, ids } of expected['spm-rules']!.encodings.slice(0, 30)) assert.deepEqual(tok.encode(text).ids, [...ids, 1], text);
    assert.equal((await loadTokenizer(join(dir, 'spiece.model'))).encode('x').tokens.at(-1) === '</s>', false, 'a bare .model adds nothing');
  });

  it('errors name the folder and what is missing or wrong', async () => {
    await assert.rejects(loadTokenizerFromFolder(folder('empty', {})), /the folder .*empty has no tokenizer\.json, vocab\.json \+ merges\.txt, vocab\.txt or SentencePiece model/);
    await assert.rejects(
      loadTokenizerFromFolder(folder('marian', { 'source.spm': unigramFixtureBytes('spm-rules.model'), 'vocab.json': '{}' })),
      /a Marian folder .* without target\.spm: .*marian.target\.spm is missing/,
    );
    await assert.rejects(loadTokenizerFromFolder(folder('badcfg', { 'vocab.txt': bertVocabTxt(), 'tokenizer_config.json': '{nope' })), /tokenizer_config\.json is not a valid JSON object/);
    await assert.rejects(
      loadTokenizerFromFolder(folder('badlower', { 'vocab.txt': bertVocabTxt(), 'tokenizer_config.json': '{"do_lower_case": "yes"}' })),
      /"do_lower_case" must be true or false, got "yes"/,
    );
  });
});
