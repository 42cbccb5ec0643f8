// The Tokenizer API around the models: added/special tokens (and their options), decode, vocabulary lookups,
// batches, round trips — and that `attn/tokenizers` stays browser-safe.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Tokenizer, type AddedToken } from '../../src/tokenizers/index.js';
import { bertVocabTxt, fromNative, fromOurs, hf, nativeBert } from './_oracle.js';

const bert = Tokenizer.fromWordPieceVocab(bertVocabTxt());

describe('added tokens', () => {
  it('addSpecialTokens / addTokens: same ids and encodings as Hugging Face', async () => {
    const ours = Tokenizer.fromWordPieceVocab(bertVocabTxt());
    const native = nativeBert();
    // Two are new; [SEP] is already a special token.
    assert.equal(ours.addSpecialTokens(['<user>', '[SEP]', '<bot>']), 2);
    native.addSpecialTokens(['<user>', '[SEP]', '<bot>']);
    assert.equal(ours.addTokens(['Covid19', 'hello']), native.addTokens(['Covid19', 'hello']));
    for (const token of ['<user>', '<bot>', 'covid19', 'Covid19', 'hello']) assert.equal(ours.tokenToId(token), native.tokenToId(token) ?? undefined, token);
    // A normalized added token reads back in its normalized form (HF's id_to_token does the same).
    const covid = ours.tokenToId('Covid19') as number;
    assert.equal(ours.idToToken(covid), native.idToToken(covid));
    assert.equal(ours.vocabSize, native.getVocabSize(true));
    for (const text of ['<user> hi there<bot>fine', 'COVID19 and covid19 and Covid19!', 'say hello<user>', '<user><user>']) {
      assert.deepEqual(fromOurs(ours.encode(text)), fromNative(await native.encode(text, null), text), text);
      const ids = ours.encode(text).ids;
      assert.equal(ours.decode(ids, { skipSpecialTokens: true }), await native.decode(ids, true));
      assert.equal(ours.decode(ids), await native.decode(ids, false));
    }
  });

  it('single_word, lstrip, rstrip and normalized, read from tokenizer.json: same as Hugging Face', async () => {
    const doc = JSON.parse(bert.toString()) as { added_tokens: AddedToken[] };
    const extra: AddedToken[] = [
      { id: 30522, content: '<mask>', single_word: true, lstrip: true, rstrip: true, normalized: false, special: true },
      { id: 30523, content: 'ony', single_word: true, lstrip: false, rstrip: false, normalized: true, special: false },
      { id: 30524, content: 'Yesterday', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
      { id: 30525, content: '<r>', single_word: false, lstrip: false, rstrip: true, normalized: false, special: false },
    ];
    doc.added_tokens.push(...extra);
    const text = JSON.stringify(doc);
    const ours = Tokenizer.fromJSON(text);
    const native = hf.Tokenizer.fromString(text);
    const samples = [
      'Hi <mask> there\t<mask>\t<mask>\u2000',
      '<mask> My name <mask> A<mask> <mask>ony <mask>',
      'Anthony ony ONY tony',
      'I read a book yesterday, YESTERDAY and Yesterday.',
      '<r>   spaced <r>x',
    ];
    for (const s of samples) {
      assert.deepEqual(fromOurs(ours.encode(s)), fromNative(await native.encode(s, null), s), s);
    }
  });
});

describe('decode', () => {
  it('WordPiece: joins ## pieces and cleans up spaces before punctuation, like HF', async () => {
    // HF's cleanup works token by token, so only the space before . ? ! , goes (not the ones around ').
    const ids = bert.encode("Hello, world! Isn't it un-believable? We'll see.").ids;
    assert.equal(bert.decode(ids, { skipSpecialTokens: true }), "hello, world! isn ' t it un - believable? we ' ll see.");
    assert.equal(bert.decode(ids), "[CLS] hello, world! isn ' t it un - believable? we ' ll see. [SEP]");
    assert.equal(bert.decode(ids), await nativeBert().decode(ids, false));
    assert.equal(bert.decode(bert.encode('un ##able ##s').ids, { skipSpecialTokens: true }), 'un # # able # # s');
    assert.equal(bert.decode([4895, 3085], { skipSpecialTokens: true }), 'unable');
  });
  it('byte-level: exact for any text, special tokens kept or skipped', () => {
    const gpt = Tokenizer.gpt2();
    const text = 'naïve 😀 text\r\n\twith <|endoftext|> inside \u0000';
    const ids = gpt.encode(text).ids;
    assert.ok(ids.includes(50256));
    assert.equal(gpt.decode(ids), text);
    assert.equal(gpt.decode(ids, { skipSpecialTokens: true }), text.replace('<|endoftext|>', ''));
    // A prefix that stops inside the emoji's bytes decodes with U+FFFD, like Rust's from_utf8_lossy.
    const emoji = gpt.encode('😀').ids;
    assert.ok(emoji.length > 1);
    assert.equal(gpt.decode(emoji.slice(0, 1)), '\ufffd');
  });
  it('ids outside the vocabulary are skipped (as Hugging Face), decodeBatch maps over lists', async () => {
    assert.equal(bert.decode([7592, 999999, 2088]), 'hello world');
    assert.equal(bert.decode([7592, 999999, 2088]), await nativeBert().decode([7592, 999999, 2088], false));
    assert.deepEqual(bert.decodeBatch([[7592], [2088]]), ['hello', 'world']);
  });
});

describe('vocabulary and batches', () => {
  it('tokenToId / idToToken / vocabSize', () => {
    assert.equal(bert.vocabSize, 30522);
    assert.equal(bert.tokenToId('[MASK]'), 103);
    assert.equal(bert.idToToken(2015), '##s');
    assert.equal(bert.tokenToId('no-such-token'), undefined);
    assert.equal(bert.idToToken(-1), undefined);
    const gpt = Tokenizer.gpt2();
    assert.equal(gpt.vocabSize, 50257);
    assert.equal(gpt.tokenToId('Ġthe'), 262);
    assert.equal(gpt.idToToken(50256), '<|endoftext|>');
  });
  it('encodeBatch: texts and [text, pair] tuples; bad inputs named', () => {
    const out = bert.encodeBatch(['one', ['two', 'three']]);
    assert.deepEqual(out[0].ids, bert.encode('one').ids);
    assert.deepEqual(out[1].ids, bert.encode('two', 'three').ids);
    assert.throws(() => bert.encodeBatch(['ok', 42 as unknown as string]), /encodeBatch: inputs\[1\] must be a string or a \[text, pair\] tuple, got 42/);
    assert.throws(() => bert.encode(undefined as unknown as string), /encode: text must be a string, got undefined/);
  });
  it('toJSON -> fromJSON gives the same tokenizer', () => {
    const again = Tokenizer.fromJSON(bert.toJSON());
    assert.equal(again.toString(), bert.toString());
    const text = 'Round trip: café, 北京, emoji 😀';
    assert.deepEqual(again.encode(text), bert.encode(text));
  });
});

describe('attn/tokenizers is browser-safe', () => {
  it('nothing reachable from src/tokenizers/index.ts imports node: modules or the tensor engine', () => {
    const here = dirname(fileURLToPath(import.meta.url)); // dist/test/tokenizers
    const start = resolve(here, '../../src/tokenizers/index.js');
    const seen = new Set<string>();
    const stack = [start];
    while (stack.length > 0) {
      const file = stack.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      const specs = [
        ...src.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+['"]([^'"]+)['"]/gm),
        ...src.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
        ...src.matchAll(/^[^/\n]*\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm),
      ].map((m) => m[1]);
      for (const spec of specs) {
        assert.ok(!spec.startsWith('node:') && !['fs', 'path', 'os', 'worker_threads', 'crypto'].includes(spec), `${file} imports ${spec}`);
        assert.ok(spec.startsWith('.'), `${file} imports the package ${spec}`);
        const target = join(dirname(file), spec);
        assert.ok(!/[/\\](tensor|backend|nn|models)[/\\]/.test(target), `${file} reaches the engine: ${spec}`);
        stack.push(target);
      }
    }
    assert.ok(seen.size >= 10, `walked ${seen.size} modules`);
    assert.ok([...seen].every((f) => f.includes(`${'tokenizers'}`)));
  });
});
