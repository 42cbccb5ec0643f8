// Node-only helpers (src/tokenizers/node.ts): loading every kind of tokenizer file, atomic saving, training from
// files with invalid UTF-8.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Tokenizer } from '../../src/tokenizers/index.js';
import { loadTokenizer, saveTokenizer, trainTokenizerFromFiles } from '../../src/tokenizers/node.js';
import { bertVocabTxt, hf } from './_oracle.js';

const dir = mkdtempSync(join(tmpdir(), 'attn-toknode-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('loadTokenizer', () => {
  it("'gpt2', a tokenizer.json, a vocab.txt, folders with either, and GPT-2's vocab.json + merges.txt", async () => {
    const text = 'Hello world, naïve café!';
    const gpt = await loadTokenizer('gpt2');
    assert.deepEqual(gpt.encode(text).ids, Tokenizer.gpt2().encode(text).ids);

    const bertDir = join(dir, 'bert');
    mkdirSync(bertDir);
    writeFileSync(join(bertDir, 'vocab.txt'), bertVocabTxt());
    const fromTxt = await loadTokenizer(join(bertDir, 'vocab.txt'));
    const fromFolder = await loadTokenizer(bertDir);
    assert.deepEqual(fromTxt.encode(text).ids, [101, 7592, 2088, 1010, 15743, 7668, 999, 102]);
    assert.deepEqual(fromFolder.encode(text).ids, fromTxt.encode(text).ids);

    await saveTokenizer(fromTxt, bertDir); // folder -> bert/tokenizer.json, now preferred over vocab.txt
    const fromJsonFolder = await loadTokenizer(bertDir);
    assert.deepEqual(fromJsonFolder.encode(text), fromTxt.encode(text));

    // GPT-2's original two files, written from the built-in tokenizer's data.
    const model = Tokenizer.gpt2().toJSON().model as { vocab: Record<string, number>; merges: Array<[string, string]> };
    const gptDir = join(dir, 'gpt2files');
    mkdirSync(gptDir);
    writeFileSync(join(gptDir, 'vocab.json'), JSON.stringify(model.vocab));
    writeFileSync(join(gptDir, 'merges.txt'), '#version: 0.2\n' + model.merges.map((m) => m.join(' ')).join('\n') + '\n');
    const fromFiles = await loadTokenizer(gptDir);
    assert.deepEqual(fromFiles.encode(text + '<|endoftext|>').ids, gpt.encode(text + '<|endoftext|>').ids);
  });

  it('errors name the path and say what was expected', async () => {
    await assert.rejects(loadTokenizer(join(dir, 'missing.json')), /missing\.json does not exist; give a tokenizer\.json, a vocab\.txt, a \.model, a model folder, or 'gpt2'/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await assert.rejects(loadTokenizer(empty), /the folder .*empty has no tokenizer\.json, vocab\.json \+ merges\.txt, vocab\.txt or SentencePiece model/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"model": {"type": "WordLevel"}}');
    await assert.rejects(loadTokenizer(bad), /bad\.json: tokenizer\.json model: type "WordLevel" is not supported/);
  });
});

describe('saveTokenizer', () => {
  it('writes atomically (no temporary file left) a file Hugging Face loads', async () => {
    const out = join(dir, 'saved', 'tok.json');
    const tok = Tokenizer.fromWordPieceVocab(bertVocabTxt());
    assert.equal(await saveTokenizer(tok, out), out);
    assert.deepEqual(readdirSync(join(dir, 'saved')), ['tok.json']);
    const native = hf.Tokenizer.fromFile(out);
    assert.deepEqual((await native.encode('Saved and loaded.', null)).getIds(), tok.encode('Saved and loaded.').ids);
    assert.equal(readFileSync(out, 'utf8'), tok.toString() + '\n');
  });
});

describe('trainTokenizerFromFiles', () => {
  it('counts invalid UTF-8 per file, never crashes, and reaches the vocabulary size', async () => {
    const good = join(dir, 'good.txt');
    const bad = join(dir, 'latin1.txt');
    writeFileSync(good, 'the cat sat on the mat\nthe dog sat on the log\n'.repeat(50));
    // "café" in Latin-1 (0xE9 alone is not UTF-8), twice, plus one truncated 3-byte sequence at the end.
    writeFileSync(bad, Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(' caf'), Buffer.from([0xe9]), Buffer.from(' ok\n'), Buffer.from([0xe2, 0x80])]));
    for (const type of ['wordpiece', 'bpe'] as const) {
      const phases = new Set<string>();
      const { tokenizer, files } = await trainTokenizerFromFiles([good, bad], { type, vocabSize: type === 'bpe' ? 270 : 35, onProgress: (p) => phases.add(p.phase) });
      assert.equal(tokenizer.vocabSize, type === 'bpe' ? 270 : 35);
      assert.deepEqual(files.map((f) => [f.path, f.invalidUtf8]), [[good, 0], [bad, 3]]);
      assert.ok(phases.has('count') && phases.has('merge'));
    }
  });

  it('a missing file is named', async () => {
    await assert.rejects(trainTokenizerFromFiles([join(dir, 'nope.txt')], { vocabSize: 300 }), /cannot read .*nope\.txt: file not found/);
  });
});
