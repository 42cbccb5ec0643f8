// The generation caches' beam reorder (selectRows): after any sequence of appends and reorders, each row of a
// cache holds exactly what gathering the rows by hand gives — permutations, repeated parents, rows that keep
// their place, fewer or more rows — and a cross-attention cache whose beams share a source copies nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CrossAttentionCache, LayerKVCache } from '../../src/nn/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { getBackend } from '../../src/backend/index.js';
import { forEachBackend } from '../_backends.js';

const H = 2;
const D = 3;

/** A (B, T, H, D) tensor whose every value names its row, position and element: 1000·tag + 100·t + 10·h + d. */
function block(tags: number[], T: number, from: number): Tensor {
  const data = new Float32Array(tags.length * T * H * D);
  let i = 0;
  for (const tag of tags) for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) data[i++] = 1000 * tag + 100 * (from + t) + 10 * h + d;
  return new Tensor(data, [tags.length, T, H, D]);
}

/** The cache's view (B, P, H, D) as one array of P·H·D numbers per row. */
function rowsOf(t: Tensor): number[][] {
  const [B] = t.shape as [number];
  const flat = t.toArray(); // (B, P, H, D) in order, read through the view's strides
  const per = flat.length / B;
  return Array.from({ length: B }, (_, b) => flat.slice(b * per, (b + 1) * per));
}

test('LayerKVCache.selectRows gathers rows as given: permutations, repeated parents, unmoved rows, new row counts', () => {
  const cache = new LayerKVCache();
  // The expected contents: per row, the tag written at each cached position (keys; values get tag + 500).
  const values = (tagsByRow: number[][], shift: number): number[][] =>
    tagsByRow.map((tags) => tags.flatMap((tag, p) => Array.from({ length: H * D }, (_, j) => 1000 * (tag + shift) + 100 * p + 10 * Math.floor(j / D) + (j % D))));
  let expected: number[][] = [[1], [2], [3], [4]];
  let r = cache.append(block([1, 2, 3, 4], 1, 0), block([501, 502, 503, 504], 1, 0));
  assert.deepEqual(rowsOf(r.k), values(expected, 0));
  const steps: number[][] = [
    [0, 1, 2, 3], // nothing moves
    [1, 0, 2, 3], // a swap
    [2, 2, 0, 3], // a repeated parent, one row kept
    [3, 3, 3, 3], // every beam from one parent
    [1, 2], // fewer rows
    [0, 1, 1, 0, 1], // more rows
  ];
  let tag = 5;
  for (const rows of steps) {
    cache.selectRows(rows);
    const tags = rows.map(() => tag++); // one new position, a distinct tag per row
    expected = rows.map((parent, i) => [...expected[parent]!, tags[i]!]);
    const P = expected[0]!.length - 1;
    r = cache.append(block(tags, 1, P), block(tags.map((x) => x + 500), 1, P));
    assert.deepEqual(rowsOf(r.k), values(expected, 0), `keys after selectRows(${rows})`);
    assert.deepEqual(rowsOf(r.v), values(expected, 500), `values after selectRows(${rows})`);
  }
});

test('CrossAttentionCache.selectRows: beams of one source share their keys; a reorder among them copies nothing, a move across sources does', () => {
  const cache = new CrossAttentionCache();
  cache.set(block([7, 8], 4, 0), block([70, 80], 4, 0)); // two sources, S = 4
  cache.selectRows([0, 0, 0, 1, 1, 1]); // three beams each
  const k0 = cache.k!;
  assert.deepEqual(rowsOf(k0).map((row) => Math.floor(row[0]! / 1000)), [7, 7, 7, 8, 8, 8]);
  cache.selectRows([2, 0, 0, 5, 3, 3]); // beams reordered within their source: the same keys
  assert.equal(cache.k, k0, 'no new tensor when every row keeps its source');
  cache.selectRows([3, 4, 5, 0, 1, 2]); // the sources trade places
  assert.notEqual(cache.k, k0);
  assert.deepEqual(rowsOf(cache.k!).map((row) => Math.floor(row[0]! / 1000)), [8, 8, 8, 7, 7, 7]);
  assert.deepEqual(rowsOf(cache.v!).map((row) => Math.floor(row[0]! / 1000)), [80, 80, 80, 70, 70, 70]);
  assert.throws(() => cache.selectRows([6]), /row 6 is not in 0\.\.5/);
});

test('LayerKVCache keeps every position through its storage doubling (one token and many at a time, after a reorder)', () => {
  const cache = new LayerKVCache();
  const tagsByRow = [[] as number[], [] as number[]];
  let P = 0;
  // past the first capacity (256 positions for rows this small) and past its doubling, in uneven steps
  for (const [i, T] of [1, 100, 200, 1, 1, 300, 7].entries()) {
    if (i === 4) {
      cache.selectRows([1, 0]); // rows swap between two growths
      tagsByRow.reverse();
    }
    const tags = [10 + i, 20 + i];
    const r = cache.append(block(tags, T, P), block(tags.map((x) => x + 500), T, P));
    tags.forEach((tag, b) => tagsByRow[b]!.push(...Array.from({ length: T }, () => tag)));
    P += T;
    const want = (shift: number): number[][] =>
      tagsByRow.map((tags) => tags.flatMap((tag, p) => Array.from({ length: H * D }, (_, j) => 1000 * (tag + shift) + 100 * p + 10 * Math.floor(j / D) + (j % D))));
    assert.deepEqual(rowsOf(r.k), want(0), `keys after appending ${T} (length ${P})`);
    assert.deepEqual(rowsOf(r.v), want(500), `values after appending ${T} (length ${P})`);
  }
  assert.ok(cache.capacity >= P && cache.capacity >= 512, `capacity ${cache.capacity} for ${P} positions`);
});

forEachBackend(() => {
  test('LayerKVCache.selectRows: every one of the 256 ways to refill 4 beams from 4, in turn, with blocks in the backend\'s memory', () => {
    // The blocks a decode step appends live where its results do (the WebAssembly memory, beside the cache), so
    // the appends and the in-place reorders take their one-buffer path; the expected rows are gathered by hand.
    const inMemory = (t: Tensor): Tensor => {
      const data = getBackend().allocate(t.size, false);
      data.set(t.data as Float32Array);
      return new Tensor(data, t.shape);
    };
    const cache = new LayerKVCache();
    const values = (tagsByRow: number[][], shift: number): number[][] =>
      tagsByRow.map((tags) => tags.flatMap((tag, p) => Array.from({ length: H * D }, (_, j) => 1000 * (tag + shift) + 100 * p + 10 * Math.floor(j / D) + (j % D))));
    let expected: number[][] = [[1], [2], [3], [4]];
    cache.append(inMemory(block([1, 2, 3, 4], 1, 0)), inMemory(block([501, 502, 503, 504], 1, 0)));
    for (let m = 0; m < 256; m++) {
      const rows = [m & 3, (m >> 2) & 3, (m >> 4) & 3, (m >> 6) & 3];
      cache.selectRows(Int32Array.from(rows));
      const tags = rows.map((_, i) => 1 + ((m + i) % 9)); // small tags: 1000·(tag + 500) stays exact in float32
      expected = rows.map((parent, i) => [...expected[parent]!, tags[i]!]);
      const P = expected[0]!.length - 1;
      const r = cache.append(inMemory(block(tags, 1, P)), inMemory(block(tags.map((x) => x + 500), 1, P)));
      if (m % 15 !== 0 && m !== 255) continue; // every mapping reorders; the rows are compared every 15th
      assert.deepEqual(rowsOf(r.k), values(expected, 0), `keys after selectRows(${rows})`);
      assert.deepEqual(rowsOf(r.v), values(expected, 500), `values after selectRows(${rows})`);
    }
  });
});
