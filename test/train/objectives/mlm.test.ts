// Masked LM: selection rate and 80/10/10 proportions over 10^5+ tokens against binomial bounds, special tokens
// never touched, dynamic and reproducible masks, whole-word masking that never splits a word (real
// bert-base-uncased WordPiece on real prose), word boundaries worked by hand, and packing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../../src/tensor/rng.js';
import { Tokenizer } from '../../../src/tokenizers/index.js';
import { continuationTable, maskTokens, packSequencePairs, packSequences, wholeWordMask, wordStarts } from '../../../src/train/objectives/index.js';
import { bertVocabTxt, gutenbergParagraphs } from '../../tokenizers/_oracle.js';
import { chiSquare, chiSquareCritical, withinBinomial } from './_stats.js';

const PAD = 0;
const CLS = 101;
const SEP = 102;
const MASK = 103;
const V = 1000;
const SPECIAL = [PAD, CLS, SEP, MASK];

/** 800 rows of 128: [CLS] 126 random ids [SEP], the last rows padded. */
function packedBatch(seed: number, tokens = 800 * 126 - 300) {
  const rng = new Rng(seed);
  const stream = Int32Array.from({ length: tokens }, () => 200 + rng.int(V - 200));
  return packSequences(stream, { length: 128, clsId: CLS, sepId: SEP, padId: PAD });
}

describe('maskTokens (BERT dynamic masking)', () => {
  const batch = packedBatch(1);
  const { inputIds, labels } = maskTokens(batch.inputIds, new Rng(7), { maskId: MASK, vocabSize: V, specialIds: SPECIAL, specialMask: batch.specialMask });

  it('15 % of the candidate tokens are selected (binomial bounds over 10^5 tokens)', () => {
    let candidates = 0;
    let selected = 0;
    for (let i = 0; i < labels.length; i++) {
      if (batch.specialMask[i]) continue;
      candidates++;
      if (labels[i] !== -100) selected++;
    }
    assert.ok(candidates > 100_000, `${candidates} candidates`);
    const r = withinBinomial(selected, candidates, 0.15);
    assert.ok(r.ok, r.message);
  });

  it('of the selected: 80 % [MASK], 10 % a random token, 10 % kept; labels are the originals', () => {
    let selected = 0;
    let masked = 0;
    let random = 0;
    let kept = 0;
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] === -100) {
        assert.equal(inputIds[i], batch.inputIds[i], 'unselected tokens are unchanged');
        continue;
      }
      assert.equal(labels[i], batch.inputIds[i], 'the label is the original id');
      selected++;
      if (inputIds[i] === MASK) masked++;
      else if (inputIds[i] === batch.inputIds[i]) kept++;
      else {
        random++;
        assert.ok(inputIds[i] >= 0 && inputIds[i] < V && !SPECIAL.includes(inputIds[i]), `random replacement ${inputIds[i]} is a non-special id`);
      }
    }
    // A random draw equals the original with probability 1/996 (996 non-special ids), and then reads as kept.
    const pSame = 0.1 / (V - SPECIAL.length);
    for (const [count, p, what] of [
      [masked, 0.8, '[MASK]'],
      [random, 0.1 - pSame, 'random'],
      [kept, 0.1 + pSame, 'kept'],
    ] as const) {
      const r = withinBinomial(count, selected, p);
      assert.ok(r.ok, `${what}: ${r.message}`);
    }
  });

  it('never selects [CLS], [SEP], padding or [MASK]', () => {
    for (let i = 0; i < labels.length; i++) {
      if (batch.specialMask[i] || SPECIAL.includes(batch.inputIds[i])) {
        assert.equal(labels[i], -100);
        assert.equal(inputIds[i], batch.inputIds[i]);
      }
    }
    // Special ids are recognised without a mask too (here every 5th token is [SEP]).
    const ids = Int32Array.from({ length: 50_000 }, (_, i) => (i % 5 === 0 ? SEP : 500));
    const m = maskTokens(ids, new Rng(3), { maskId: MASK, vocabSize: V, specialIds: SPECIAL, probability: 0.9 });
    ids.forEach((id, i) => id === SEP && assert.equal(m.labels[i], -100));
  });

  it('dynamic: a new mask each call; the same seed gives the same mask', () => {
    const rng = new Rng(11);
    const opts = { maskId: MASK, vocabSize: V, specialMask: batch.specialMask };
    const a = maskTokens(batch.inputIds, rng, opts);
    const b = maskTokens(batch.inputIds, rng, opts);
    let both = 0;
    let either = 0;
    for (let i = 0; i < a.labels.length; i++) {
      if (a.labels[i] !== -100 && b.labels[i] !== -100) both++;
      if (a.labels[i] !== -100 || b.labels[i] !== -100) either++;
    }
    assert.ok(both / either < 0.2, `masks overlap ${both}/${either}: not redrawn`); // independent: 0.15² / (1 − 0.85²) ≈ 0.08
    assert.deepEqual(maskTokens(batch.inputIds, new Rng(11), opts), a);
  });

  it('checks its options', () => {
    assert.throws(() => maskTokens(new Int32Array(3), new Rng(1), { maskId: 5000, vocabSize: V }), /maskId 5000 is not an id of a vocabulary of 1000/);
    assert.throws(() => maskTokens(new Int32Array(3), new Rng(1), { maskId: MASK, vocabSize: V, specialMask: new Uint8Array(2) }), /specialMask has 2 entries for 3 ids/);
    assert.throws(() => maskTokens(new Int32Array(3), new Rng(1), { maskId: MASK, vocabSize: V, maskFraction: 0.95, randomFraction: 0.1 }), /add up to at most 1/);
  });
});

describe('word boundaries', () => {
  const bert = Tokenizer.fromWordPieceVocab(bertVocabTxt());
  const gpt2 = Tokenizer.gpt2();
  it('WordPiece: "##" pieces continue a word (una ##ffa ##ble)', () => {
    const table = continuationTable(bert.vocabSize, (id) => bert.idToToken(id), 'wordpiece');
    const ids = Int32Array.from(bert.encode('the unaffable cat').ids); // [CLS] the una ##ffa ##ble cat [SEP]
    assert.deepEqual(Array.from(wordStarts(ids, table)), [1, 1, 1, 0, 0, 1, 1]);
  });
  it('byte-level BPE: tokens without a leading "Ġ" continue a word', () => {
    const table = continuationTable(gpt2.vocabSize, (id) => gpt2.idToToken(id), 'byte-level');
    const ids = Int32Array.from(gpt2.encodeIds('Hello world, unbelievable')); // Hello Ġworld , Ġunbelievable
    assert.deepEqual(Array.from(wordStarts(ids, table)), [1, 1, 0, 1]);
    assert.equal(table[gpt2.tokenToId('Ġthe')!], 0);
    assert.equal(table[gpt2.tokenToId('ing')!], 1);
  });
});

describe('wholeWordMask', () => {
  const bert = Tokenizer.fromWordPieceVocab(bertVocabTxt());
  const table = continuationTable(bert.vocabSize, (id) => bert.idToToken(id), 'wordpiece');
  const stream = Int32Array.from(gutenbergParagraphs(40).flatMap((p) => bert.encodeIds(p)));
  const T = 128;
  const packed = packSequences(stream.subarray(0, 600 * (T - 2)), { length: T, clsId: CLS, sepId: SEP, padId: PAD });
  const starts = wordStarts(packed.inputIds, table);
  const special = [PAD, 100, CLS, SEP, MASK];
  const out = wholeWordMask(packed.inputIds, new Rng(5), {
    maskId: MASK,
    vocabSize: bert.vocabSize,
    specialIds: special,
    specialMask: packed.specialMask,
    wordStarts: starts,
    rowLength: T,
  });

  it('never splits a word: all of its pieces are selected, or none', () => {
    let words = 0;
    let multi = 0;
    for (let i = 0; i < packed.inputIds.length; ) {
      if (packed.specialMask[i] || i % T === 0) {
        i++;
        continue;
      }
      let j = i + 1;
      while (j < packed.inputIds.length && j % T !== 0 && !packed.specialMask[j] && starts[j] === 0) j++;
      const sel = Array.from(out.labels.subarray(i, j), (l) => l !== -100);
      assert.ok(sel.every((s) => s === sel[0]), `word at ${i}..${j} is split: ${sel}`);
      words++;
      if (j - i > 1 && sel[0]) multi++;
      i = j;
    }
    assert.ok(multi > 50, `only ${multi} masked multi-piece words among ${words}: the test would not notice splitting`);
  });

  it('covers round(15 %) of each row\'s candidates, never more; special tokens untouched', () => {
    let totalCandidates = 0;
    let totalSelected = 0;
    for (let r = 0; r < packed.rows; r++) {
      let candidates = 0;
      let selected = 0;
      for (let t = r * T; t < (r + 1) * T; t++) {
        if (packed.specialMask[t]) {
          assert.equal(out.labels[t], -100);
          continue;
        }
        candidates++;
        if (out.labels[t] !== -100) selected++;
      }
      const target = Math.max(1, Math.round(candidates * 0.15));
      assert.ok(selected <= target && selected >= target - 3, `row ${r}: ${selected} selected, target ${target}`);
      totalCandidates += candidates;
      totalSelected += selected;
    }
    const rate = totalSelected / totalCandidates;
    assert.ok(rate > 0.145 && rate <= 19 / 126, `rate ${rate}`); // a full row: round(0.15 × 126) = 19 of 126
  });

  it('80/10/10 on the selected tokens', () => {
    let selected = 0;
    let masked = 0;
    for (let i = 0; i < out.labels.length; i++) {
      if (out.labels[i] === -100) continue;
      selected++;
      if (out.inputIds[i] === MASK) masked++;
    }
    const r = withinBinomial(masked, selected, 0.8);
    assert.ok(r.ok, r.message);
  });
});

describe('packing', () => {
  const stream = Int32Array.from({ length: 1000 }, (_, i) => 1000 + i);
  it('[CLS] … [SEP] rows; their contents concatenate back to the stream; the last row padded', () => {
    const p = packSequences(stream, { length: 10, clsId: CLS, sepId: SEP, padId: PAD });
    assert.equal(p.rows, 125); // 1000 / 8
    const content: number[] = [];
    for (let r = 0; r < p.rows; r++) {
      const row = Array.from(p.inputIds.subarray(r * 10, (r + 1) * 10));
      assert.equal(row[0], CLS);
      assert.equal(row[9], SEP);
      content.push(...row.slice(1, 9));
    }
    assert.deepEqual(content, Array.from(stream));
    const q = packSequences(stream.subarray(0, 13), { length: 10, clsId: CLS, sepId: SEP, padId: PAD });
    assert.deepEqual(Array.from(q.inputIds.subarray(10)), [CLS, 1008, 1009, 1010, 1011, 1012, SEP, PAD, PAD, PAD]);
    assert.deepEqual(Array.from(q.attentionMask.subarray(10)), [1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
    assert.deepEqual(Array.from(q.specialMask.subarray(10)), [1, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    assert.equal(packSequences(stream.subarray(0, 13), { length: 10, clsId: CLS, sepId: SEP, padId: PAD, dropLast: true }).rows, 1);
  });

  it('pairs: [CLS] A [SEP] B [SEP] with type ids 0/1, the cut uniform over 1 … n−1', () => {
    const n = 9; // content tokens per row with length 12
    const long = Int32Array.from({ length: n * 9000 }, (_, i) => 1000 + (i % 500));
    const p = packSequencePairs(long, new Rng(2), { length: 12, clsId: CLS, sepId: SEP, padId: PAD });
    const counts = new Array<number>(n - 1).fill(0);
    for (let r = 0; r < p.rows; r++) {
      const ids = Array.from(p.inputIds.subarray(r * 12, (r + 1) * 12));
      const types = Array.from(p.typeIds.subarray(r * 12, (r + 1) * 12));
      const firstSep = ids.indexOf(SEP);
      assert.equal(ids[0], CLS);
      assert.equal(ids[11], SEP);
      assert.deepEqual(types, ids.map((_, t) => (t <= firstSep ? 0 : 1)));
      assert.deepEqual([...ids.slice(1, firstSep), ...ids.slice(firstSep + 1, 11)], Array.from(long.subarray(r * n, (r + 1) * n)));
      counts[firstSep - 2]++; // |A| = firstSep − 1 ∈ 1 … 8
    }
    const x = chiSquare(counts, counts.map(() => p.rows / (n - 1)));
    assert.ok(x < chiSquareCritical(n - 2), `χ² ${x.toFixed(1)} over ${counts}`);
  });
});
