// Marian (opus-mt) folders: source.spm + target.spm + vocab.json. The oracle is test/fixtures/marian-tok/
// expected.json, written by make.py there: Google's SentencePiece 0.1.97 (Debian's python3-sentencepiece)
// splitting and joining with the fixture's two models, and transformers' MarianTokenizer rules (special tokens
// cut out first, language codes, vocab.json lookup with <unk> for missing pieces, </s> appended;
// convert_tokens_to_string for decoding) re-implemented there line by line with citations.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { isMarianTokenizer } from '../../src/tokenizers/index.js';
import { loadTokenizerFromFolder } from '../../src/tokenizers/node.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'marian-tok');
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as {
  encodings: Array<{ text: string; pieces: string[]; ids: number[] }>;
  decodings: Array<{ ids: number[]; skip: string; keep: string }>;
};

const root = mkdtempSync(join(tmpdir(), 'attn-marian-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the fixture folder with some files left out and some replaced. */
function variant(name: string, leaveOut: string[], replace: Record<string, string> = {}): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const f of ['source.spm', 'target.spm', 'vocab.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    if (!leaveOut.includes(f)) copyFileSync(join(FIXTURE, f), join(dir, f));
  }
  for (const [f, text] of Object.entries(replace)) writeFileSync(join(dir, f), text);
  return dir;
}

describe('Marian folders (source.spm, target.spm, vocab.json)', () => {
  it("encodes every text to MarianTokenizer's ids: source.spm pieces, vocab.json ids, </s>", async () => {
    const tok = await loadTokenizerFromFolder(FIXTURE);
    assert.ok(isMarianTokenizer(tok));
    assert.ok(expected.encodings.length >= 25);
    for (const { text, pieces, ids } of expected.encodings) {
      const enc = tok.encode(text);
      assert.deepEqual(enc.ids, ids, `${JSON.stringify(text)} (pieces ${pieces.join(' ')})`);
    }
  });

  it('the fixture exercises <unk> for pieces vocab.json lacks, and ids for characters only the target side knows', async () => {
    const tok = await loadTokenizerFromFolder(FIXTURE);
    const unk = tok.tokenToId('<unk>')!;
    const strasse = expected.encodings.find((e) => e.text === 'Straße und Größe')!;
    const sharp = strasse.pieces.indexOf('ß');
    assert.ok(sharp >= 0 && strasse.ids[sharp] !== unk, 'ß is unknown to source.spm but has a vocab.json id');
    assert.deepEqual(tok.encode('Straße und Größe').ids, strasse.ids);
    assert.ok(expected.encodings.some((e) => e.ids.slice(0, -1).includes(unk)));
    assert.deepEqual(tok.encode('').ids, [tok.tokenToId('</s>')], 'an empty text is just </s>');
  });

  it("decodes as MarianTokenizer.decode does, with and without special tokens", async () => {
    const tok = await loadTokenizerFromFolder(FIXTURE);
    for (const { ids, skip, keep } of expected.decodings) {
      assert.equal(tok.decode(ids, { skipSpecialTokens: true }), skip, `skip ${JSON.stringify(ids)}`);
      assert.equal(tok.decode(ids), keep, `keep ${JSON.stringify(ids)}`);
    }
  });

  it('vocabulary and special tokens come from vocab.json and the config', async () => {
    const tok = await loadTokenizerFromFolder(FIXTURE);
    const vocab = JSON.parse(readFileSync(join(FIXTURE, 'vocab.json'), 'utf8')) as Record<string, number>;
    assert.equal(tok.vocabSize, Object.keys(vocab).length);
    assert.equal(tok.tokenToId('<pad>'), Math.max(...Object.values(vocab)));
    assert.equal(tok.idToToken(vocab['>>de<<']!), '>>de<<');
    const withExtra = await loadTokenizerFromFolder(variant('extra', [], { 'special_tokens_map.json': JSON.stringify({ additional_special_tokens: ['<sep>'] }) }));
    assert.equal(withExtra.tokenToId('<sep>'), Object.keys(vocab).length, 'a special token vocab.json lacks goes after it');
    assert.deepEqual(withExtra.encode('a<sep>b').ids.slice(1, 2), [Object.keys(vocab).length]);
  });

  it('has no tokenizer.json form, and says which files to keep', async () => {
    const tok = await loadTokenizerFromFolder(FIXTURE);
    assert.throws(() => tok.toJSON(), /no exact tokenizer\.json form.*source\.spm, target\.spm, vocab\.json/);
  });

  it('errors name the file and what is missing or wrong', async () => {
    await assert.rejects(loadTokenizerFromFolder(variant('novocab', ['vocab.json'])), /a Marian folder .* without vocab\.json: .*novocab.vocab\.json is missing/);
    await assert.rejects(
      loadTokenizerFromFolder(variant('separate', [], { 'tokenizer_config.json': '{"separate_vocabs": true}' })),
      /separate\/tokenizer_config\.json: separate_vocabs is true/,
    );
    await assert.rejects(loadTokenizerFromFolder(variant('nounk', [], { 'vocab.json': '{"</s>": 0, "<pad>": 1}' })), /nounk.vocab\.json: the unk_token "<unk>" is not in the vocabulary/);
    await assert.rejects(loadTokenizerFromFolder(variant('badid', [], { 'vocab.json': '{"</s>": 0, "<unk>": "one"}' })), /badid.vocab\.json: the id of "<unk>" must be a non-negative integer, got "one"/);
    await assert.rejects(loadTokenizerFromFolder(variant('list', [], { 'vocab.json': '["</s>"]' })), /list.vocab\.json: expected an object/);
  });
});
