// Truncation (longest_first / only_first / only_second, left and right, with stride), overflow windows for
// question answering, and padding (longest / max_length, left and right, multiples) — against Hugging Face.
//
// A note on the oracle for overflow windows: tokenizers 0.23.1+ stops tokenizing once max_length tokens exist
// (an early exit added for speed), which leaves `overflowing` empty or incomplete — a known regression
// (huggingface/tokenizers#2091, fix proposed in PR #2098). attn keeps the complete windows of 0.22 and before,
// which is what question answering needs. So the FIRST encoding is compared with the native library directly,
// and the windows with what the HF algorithm gives on the native library's full (untruncated) tokenization.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tokenizer, type EncodeOptions, type Encoding } from '../../src/tokenizers/index.js';
import { bertVocabTxt, fromNative, fromOurs, nativeBert, nativeStrategy, toUtf16, type Comparable } from './_oracle.js';

const bert = Tokenizer.fromWordPieceVocab(bertVocabTxt());
const native = nativeBert();

const QUESTION = 'Who wrote the book about whales?';
const CONTEXT =
  'Moby Dick is a novel by Herman Melville, published in 1851. It tells the story of Ishmael and the obsessive ' +
  'quest of Ahab, captain of the whaler Pequod, for revenge on Moby Dick, a giant white sperm whale.';
const SINGLES = [CONTEXT, 'short one', 'a b c d e f g h i j k l m n o p'];
const PAIRS: Array<[string, string]> = [
  [QUESTION, CONTEXT],
  [CONTEXT, QUESTION],
  [CONTEXT, CONTEXT],
  ['tiny', 'x'],
  ['a b c d e f g', 'h i j k l m n o p q'],
];

type Strategy = 'longest_first' | 'only_first' | 'only_second';
const NATIVE_STRATEGY = { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' } as const;

/** Which of the inputs each strategy can truncate (only_second needs a long second text, and so on). */
function inputsFor(strategy: Strategy): Array<string | [string, string]> {
  if (strategy === 'only_second') return PAIRS.filter(([a, b]) => b.length > a.length);
  if (strategy === 'only_first') return [...PAIRS.filter(([a, b]) => a.length > b.length), ...SINGLES];
  return [...PAIRS, ...SINGLES];
}

describe('truncation: the kept encoding is identical to Hugging Face', () => {
  for (const strategy of ['longest_first', 'only_first', 'only_second'] as const) {
    for (const side of ['right', 'left'] as const) {
      it(`${strategy}, ${side}, stride 0 and 2, maxLength 12/20/33`, async () => {
        let compared = 0;
        const t = nativeBert();
        for (const maxLength of [12, 20, 33]) {
          for (const stride of [0, 2]) {
            t.setTruncation(maxLength, { strategy: nativeStrategy(NATIVE_STRATEGY[strategy]), stride, direction: side });
            for (const input of inputsFor(strategy)) {
              const [a, b] = typeof input === 'string' ? [input, undefined] : input;
              const options: EncodeOptions = { truncation: strategy, maxLength, stride, truncationSide: side };
              let ours: Encoding;
              try {
                ours = bert.encode(a, b, options);
              } catch (e) {
                // The only refusals: a stride that would not let windows advance (native Rust panics there).
                assert.match((e as Error).message, /stride \d+ must be smaller/);
                continue;
              }
              const theirs = fromNative(await t.encode(a, b ?? null), a, b);
              const mine = fromOurs(ours);
              // Left truncation: the native early exit numbers words from the first kept one (see the header);
              // our word ids keep counting from the start of the text, so compare them only on the right.
              if (side === 'left') {
                mine.wordIds = [];
                theirs.wordIds = [];
              }
              assert.deepEqual(mine, theirs, `${JSON.stringify(a.slice(0, 20))} + ${JSON.stringify(b?.slice(0, 20))} max ${maxLength} stride ${stride}`);
              assert.ok(ours.ids.length <= maxLength);
              compared++;
            }
          }
        }
        assert.ok(compared >= 6, `compared ${compared}`);
      });
    }
  }

  it('without special tokens, maxLength is not reduced (as Hugging Face)', async () => {
    const t = nativeBert();
    t.setTruncation(10, {});
    const theirs = await t.encode(QUESTION, CONTEXT, { addSpecialTokens: false });
    const ours = bert.encode(QUESTION, CONTEXT, { addSpecialTokens: false, truncation: true, maxLength: 10 });
    assert.deepEqual(fromOurs(ours), fromNative(theirs, QUESTION, CONTEXT));
    assert.equal(ours.ids.length, 10);
  });

  it('a maxLength alone truncates (like Python transformers), unless padding to it', () => {
    assert.equal(bert.encode(CONTEXT, undefined, { maxLength: 16 }).ids.length, 16);
    assert.equal(bert.encode('short', undefined, { maxLength: 16, padding: 'max_length' }).ids.length, 16);
    assert.ok(bert.encode(CONTEXT, undefined, { maxLength: 16, padding: 'max_length' }).ids.length > 16);
  });

  it('errors say what to do', () => {
    assert.throws(() => bert.encode('x', undefined, { truncation: true }), /truncation needs a length; pass \{ maxLength: N \}/);
    assert.throws(() => bert.encode(CONTEXT, undefined, { truncation: 'only_second', maxLength: 10 }), /no second text/);
    assert.throws(() => bert.encode(CONTEXT, undefined, { maxLength: 1 }), /maxLength 1 is shorter than the 2 special tokens/);
    assert.throws(
      () => bert.encode(QUESTION, CONTEXT, { truncation: 'only_first', maxLength: 30 }),
      /'only_first': the first text has 7 tokens, but 34 must go to fit maxLength; raise maxLength or use 'longest_first'/,
    );
    assert.throws(() => bert.encode(CONTEXT, undefined, { maxLength: 8, stride: 6 }), /stride 6 must be smaller than the 6 tokens/);
  });
});

/** The tokens of one text alone, from the native library (no special tokens, no truncation). */
async function nativeTokens(text: string): Promise<Comparable> {
  return fromNative(await native.encode(text, null, { addSpecialTokens: false }), text);
}

describe('overflow windows (stride) as Hugging Face defines them, on the native full tokenization', () => {
  it('question answering: only_second, maxLength 24, stride 4 — every window is [CLS] Q [SEP] C[i..] [SEP]', async () => {
    const maxLength = 24;
    const stride = 4;
    const q = await nativeTokens(QUESTION);
    const c = await nativeTokens(CONTEXT);
    const keep = maxLength - q.ids.length - 3; // room for the context in each window
    // Window k covers context tokens [k·(keep − stride), k·(keep − stride) + keep), the last one ends at the end.
    const starts: number[] = [];
    for (let s = 0; ; s += keep - stride) {
      starts.push(s);
      if (s + keep >= c.ids.length) break;
    }
    const enc = bert.encode(QUESTION, CONTEXT, { truncation: 'only_second', maxLength, stride, returnOverflowing: true });
    const windows = [enc, ...enc.overflowing];
    assert.equal(windows.length, starts.length);
    assert.ok(windows.length >= 4, 'the context needs several windows');
    windows.forEach((w, k) => {
      const from = starts[k];
      const to = Math.min(from + keep, c.ids.length);
      assert.deepEqual(w.ids, [101, ...q.ids, 102, ...c.ids.slice(from, to), 102], `window ${k} ids`);
      assert.deepEqual(w.offsets, [[0, 0], ...q.offsets, [0, 0], ...c.offsets.slice(from, to), [0, 0]], `window ${k} offsets`);
      assert.deepEqual(w.typeIds, [0, ...q.ids.map(() => 0), 0, ...c.ids.slice(from, to).map(() => 1), 1]);
      assert.deepEqual(w.sequenceIds, [null, ...q.ids.map(() => 0), null, ...c.ids.slice(from, to).map(() => 1), null]);
      // Consecutive windows share exactly `stride` context tokens.
      if (k > 0) assert.equal(starts[k - 1] + keep - starts[k], stride);
    });
    // The text of a window's context tokens, sliced from the context by their offsets, is in the context.
    const last = windows[windows.length - 1];
    const [s] = last.offsets[q.ids.length + 2];
    const [, e] = last.offsets[last.offsets.length - 2];
    assert.ok(CONTEXT.slice(s, e).endsWith('sperm whale.'));
  });

  it('one text, right and left, with and without stride', async () => {
    const c = await nativeTokens(CONTEXT);
    for (const side of ['right', 'left'] as const) {
      for (const stride of [0, 3]) {
        const maxLength = 12;
        const keep = maxLength - 2;
        const ranges: Array<[number, number]> = [];
        if (side === 'right') {
          for (let s = 0; ; s += keep - stride) {
            ranges.push([s, Math.min(s + keep, c.ids.length)]);
            if (s + keep >= c.ids.length) break;
          }
        } else {
          for (let end = c.ids.length; ; end -= keep - stride) {
            ranges.push([Math.max(0, end - keep), end]);
            if (end - keep <= 0) break;
          }
        }
        const enc = bert.encode(CONTEXT, undefined, { maxLength, stride, truncationSide: side, returnOverflowing: true });
        const windows = [enc, ...enc.overflowing];
        assert.equal(windows.length, ranges.length, `${side} stride ${stride}`);
        windows.forEach((w, k) => {
          const [a, b] = ranges[k];
          assert.deepEqual(w.ids, [101, ...c.ids.slice(a, b), 102], `${side} stride ${stride} window ${k}`);
          assert.deepEqual(w.offsets.slice(1, -1), c.offsets.slice(a, b));
        });
      }
    }
  });

  it('both texts overflow (longest_first): windows in Hugging Face order, the first one as native', async () => {
    const a = 'a b c d e f g';
    const b = 'h i j k l m n o p q';
    const enc = bert.encode(a, b, { maxLength: 12, truncation: true, returnOverflowing: true });
    const toks = (e: Encoding): string => e.tokens.join(' ');
    // HF merges windows as: for each window of A: (A-window + B), (A-window + each B-window); then A + each B-window.
    assert.deepEqual([enc, ...enc.overflowing].map(toks), [
      '[CLS] a b c d [SEP] h i j k l [SEP]',
      '[CLS] e f g [SEP] h i j k l [SEP]',
      '[CLS] e f g [SEP] m n o p q [SEP]',
      '[CLS] a b c d [SEP] m n o p q [SEP]',
    ]);
    const t = nativeBert();
    t.setTruncation(12, {});
    const theirs = await t.encode(a, b);
    assert.deepEqual([theirs, ...theirs.getOverflowing()].map((e) => e.getTokens().join(' ')), [enc, ...enc.overflowing].map(toks));
  });

  it('returnOverflowing false (the default) drops the windows', () => {
    assert.deepEqual(bert.encode(CONTEXT, undefined, { maxLength: 12 }).overflowing, []);
  });
});

describe('padding: identical to Hugging Face', () => {
  const inputs: Array<string | [string, string]> = [...PAIRS, ...SINGLES];

  async function nativePadded(side: 'right' | 'left', length: (lens: number[]) => number, truncate?: { maxLength: number; stride: number }): Promise<Comparable[]> {
    const t = nativeBert();
    if (truncate) t.setTruncation(truncate.maxLength, { strategy: nativeStrategy('OnlySecond'), stride: truncate.stride });
    const encs = [];
    for (const x of inputs) encs.push(typeof x === 'string' ? await t.encode(x) : await t.encode(x[0], x[1]));
    const target = length(encs.map((e) => e.getLength()));
    for (const e of encs) e.pad(target, { direction: side, padId: 0, padToken: '[PAD]' });
    return encs.map((e, i) => {
      const x = inputs[i];
      return typeof x === 'string' ? fromNative(e, x) : fromNative(e, x[0], x[1]);
    });
  }

  for (const side of ['right', 'left'] as const) {
    it(`longest in the batch, ${side}`, async () => {
      const ours = bert.encodeBatch(inputs, { padding: true, paddingSide: side }).map(fromOurs);
      assert.deepEqual(ours, await nativePadded(side, (l) => Math.max(...l)));
      assert.ok(ours.every((e) => e.ids.length === ours[0].ids.length));
    });
    it(`max_length 80 and multiple of 8, ${side}`, async () => {
      assert.deepEqual(bert.encodeBatch(inputs, { padding: 'max_length', maxLength: 80, paddingSide: side }).map(fromOurs), await nativePadded(side, () => 80));
      assert.deepEqual(
        bert.encodeBatch(inputs, { padding: true, padToMultipleOf: 8, paddingSide: side }).map(fromOurs),
        await nativePadded(side, (l) => Math.ceil(Math.max(...l) / 8) * 8),
      );
    });
  }

  it('padding and truncation together (question answering batch)', async () => {
    const qa: Array<[string, string]> = [
      [QUESTION, CONTEXT],
      [QUESTION, 'short context here'],
    ];
    const t = nativeBert();
    t.setTruncation(24, { strategy: nativeStrategy('OnlySecond'), stride: 4 });
    t.setPadding({ padId: 0, padToken: '[PAD]' });
    const theirs = [await t.encode(qa[0][0], qa[0][1]), await t.encode(qa[1][0], qa[1][1])];
    const target = Math.max(...theirs.map((e) => e.getLength()));
    for (const e of theirs) e.pad(target, { padId: 0, padToken: '[PAD]' });
    const ours = bert.encodeBatch(qa, { truncation: 'only_second', maxLength: 24, stride: 4, padding: true });
    assert.deepEqual(ours.map(fromOurs), theirs.map((e, i) => fromNative(e, qa[i][0], qa[i][1])));
    assert.deepEqual(ours[1].attentionMask.slice(-3), [0, 0, 0]);
  });

  it('GPT-2 has no pad token: the error says how to give one', () => {
    const gpt = Tokenizer.gpt2();
    assert.throws(() => gpt.encodeBatch(['a', 'b c'], { padding: true }), /pass \{ padId, padToken \}, e\.g\. for GPT-2 \{ padId: 50256/);
    const padded = gpt.encodeBatch(['a', 'b c d'], { padding: true, padId: 50256, paddingSide: 'left' });
    assert.deepEqual(padded[0].ids.slice(0, 2), [50256, 50256]);
    assert.deepEqual(padded[0].attentionMask, [0, 0, 1]);
    assert.deepEqual(padded[0].tokens[0], '<|endoftext|>');
  });

  it('offsets stay in the original text after padding and truncation', () => {
    const [enc] = bert.encodeBatch([[QUESTION, CONTEXT]], { truncation: 'only_second', maxLength: 20, padding: 'max_length' });
    const q = toUtf16(QUESTION, [[0, 3]]);
    assert.deepEqual(enc.offsets[1], q[0]);
    assert.equal(QUESTION.slice(...enc.offsets[1]), 'Who');
  });
});
