// Feature builders against outside oracles: Hugging Face's native `tokenizers` (bert-base-uncased) for the
// encodings, run_ner.py's label alignment applied to the native word ids, run_qa.py's windowing and answer
// positions re-derived from the native tokenization, and hand-worked cases.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  beginToInside,
  buildLabelMap,
  collateInputs,
  DataError,
  encodeSeq2Seq,
  encodeTextClassification,
  encodeTokenClassification,
  labelMapFromList,
  padRows,
  postprocessQaPredictions,
  prepareQaFeatures,
  readSquad,
  wordPredictions,
  type QAExample,
  type TokenClassificationExample,
} from '../../src/data/index.js';
import { Tokenizer } from '../../src/tokenizers/index.js';
import { bertVocabTxt, nativeBert, nativeStrategy, toUtf16 } from '../tokenizers/_oracle.js';

const bert = Tokenizer.fromWordPieceVocab(bertVocabTxt());

describe('text classification features', () => {
  it('ids and type ids equal Hugging Face with longest_first truncation', async () => {
    const native = nativeBert();
    const examples = [
      { text: 'A gripping, beautifully shot film.', labels: ['pos'], line: 1 },
      { text: 'The cat sat on the mat.', textPair: 'A cat was sitting on a rug in the sunny kitchen all afternoon.', labels: ['neg'], line: 2 },
      { text: 'short', textPair: 'x '.repeat(40), labels: ['pos'], line: 3 },
    ];
    const labels = buildLabelMap(['pos', 'neg']);
    const features = encodeTextClassification(examples, bert, { maxLength: 16, labels });
    native.setTruncation(16, { strategy: nativeStrategy('LongestFirst') });
    for (let i = 0; i < examples.length; i++) {
      const e = await native.encode(examples[i].text, examples[i].textPair ?? null);
      assert.deepEqual(Array.from(features[i].inputIds), e.getIds());
      assert.deepEqual(Array.from(features[i].typeIds), e.getTypeIds());
      assert.deepEqual(Array.from(features[i].attentionMask), e.getAttentionMask());
    }
    assert.deepEqual(features.map((f) => f.label), [1, 0, 1]); // id2label = ['neg', 'pos']
  });
  it('multi-hot targets; an unknown label in eval data names file, line, label and the known set', () => {
    const labels = buildLabelMap(['sport', 'politics', 'tech']);
    const [f] = encodeTextClassification([{ text: 'x', labels: ['tech', 'sport'], line: 1 }], bert, { maxLength: 8, labels, multiLabel: true });
    assert.deepEqual(Array.from(f.multiHot!), [0, 1, 1]); // politics, sport, tech
    assert.equal(f.label, -100);
    assert.throws(
      () => encodeTextClassification([{ text: 'x', labels: ['art'], line: 9 }], bert, { maxLength: 8, labels, source: 'dev.jsonl' }),
      (e: unknown) => e instanceof DataError && e.message === 'dev.jsonl line 9: label "art" is not one of the known labels: "politics", "sport", "tech"',
    );
  });
  it('collate pads ids with the pad id and the mask with 0', () => {
    const fs = encodeTextClassification(
      [
        { text: 'hello', labels: [], line: 1 },
        { text: 'hello world again', labels: [], line: 2 },
      ],
      bert,
      { maxLength: 16, labels: buildLabelMap(['a']) },
    );
    const b = collateInputs(fs, 0);
    assert.equal(b.size, 2);
    assert.equal(b.length, 5);
    assert.deepEqual(Array.from(b.inputIds), [101, 7592, 102, 0, 0, 101, 7592, 2088, 2153, 102]);
    assert.deepEqual(Array.from(b.attentionMask), [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
    assert.deepEqual(padRows([[1, 2], [3]], -100, { multipleOf: 4 }), { data: Int32Array.from([1, 2, -100, -100, 3, -100, -100, -100]), size: 2, length: 4 });
  });
});

/** run_ner.py's tokenize_and_align_labels, given the native word ids (the reference algorithm). */
function hfAlign(wordIds: Array<number | null | undefined>, tagIds: number[], labelAll: boolean, bToI: Int32Array): number[] {
  const out: number[] = [];
  let previous: number | null | undefined = null;
  for (const w of wordIds) {
    if (w === null || w === undefined) out.push(-100);
    else if (w !== previous) out.push(tagIds[w]);
    else out.push(labelAll ? bToI[tagIds[w]] : -100);
    previous = w;
  }
  return out;
}

describe('token classification features', () => {
  const sentences: TokenClassificationExample[] = [
    { tokens: ['Johanson', 'lives', 'in', 'Ramat-Gan', '.'], tags: ['B-PER', 'O', 'O', 'B-LOC', 'O'], line: 1 },
    { tokens: ['EU', 'rejects', 'German', 'call', 'to', 'boycott', 'British', 'lamb', '.'], tags: ['B-ORG', 'O', 'B-MISC', 'O', 'O', 'O', 'B-MISC', 'O', 'O'], line: 2 },
    { tokens: ['Müller', 'visited', 'the', 'U.S.', 'and', '東京', 'with', 'Dr.', 'Smith-Jones'], tags: ['B-PER', 'O', 'O', 'B-LOC', 'O', 'B-LOC', 'O', 'B-PER', 'I-PER'], line: 3 },
  ];
  const labels = buildLabelMap(sentences.flatMap((s) => s.tags));

  it('worked by hand: first piece labelled, other pieces -100', () => {
    const [f] = encodeTokenClassification(sentences.slice(0, 1), bert, { labels });
    const tokens = Array.from(f.inputIds, (id) => bert.idToToken(id));
    assert.deepEqual(tokens, ['[CLS]', 'johan', '##son', 'lives', 'in', 'rama', '##t', '-', 'gan', '.', '[SEP]']);
    const L = (t: string) => labels.label2id.get(t)!;
    assert.deepEqual(Array.from(f.labels), [-100, L('B-PER'), -100, L('O'), L('O'), L('B-LOC'), -100, -100, -100, L('O'), -100]);
    assert.deepEqual(Array.from(f.wordIds), [-1, 0, 0, 1, 2, 3, 3, 3, 3, 4, -1]);
    // labelAllTokens: continuation pieces of a B- word become I- (I-LOC is not a label here, so B-LOC stays).
    const withI = labelMapFromList(['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']);
    const [g] = encodeTokenClassification(sentences.slice(0, 1), bert, { labels: withI, labelAllTokens: true });
    assert.deepEqual(Array.from(g.labels), [-100, 1, 2, 0, 0, 3, 4, 4, 4, 0, -100]);
    // In the sentences' own tag set only B-PER has its I- partner.
    assert.deepEqual(
      Array.from(beginToInside(labels), (id) => labels.id2label[id]),
      labels.id2label.map((t) => (t === 'B-PER' ? 'I-PER' : t)),
    );
  });

  it('labels equal run_ner.py alignment on Hugging Face word ids (is_split_into_words)', async () => {
    // is_split_into_words tokenizes each word on its own and numbers the words; the native npm binding has no
    // pre-tokenized input, so the test does exactly that: each word through the native tokenizer, then
    // [CLS] ... [SEP] around them.
    const native = nativeBert();
    for (const labelAll of [false, true]) {
      const features = encodeTokenClassification(sentences, bert, { labels, labelAllTokens: labelAll });
      for (let s = 0; s < sentences.length; s++) {
        const ids: number[] = [101];
        const wordIds: Array<number | null> = [null];
        for (const [w, word] of sentences[s].tokens.entries()) {
          const e = await native.encode(word, null, { addSpecialTokens: false });
          ids.push(...e.getIds());
          wordIds.push(...e.getIds().map(() => w));
        }
        ids.push(102);
        wordIds.push(null);
        assert.deepEqual(Array.from(features[s].inputIds), ids, `sentence ${s} ids`);
        const tagIds = sentences[s].tags.map((t) => labels.label2id.get(t)!);
        assert.deepEqual(Array.from(features[s].labels), hfAlign(wordIds, tagIds, labelAll, beginToInside(labels)), `sentence ${s} labelAll ${labelAll}`);
        assert.deepEqual(Array.from(features[s].wordIds), wordIds.map((w) => w ?? -1));
      }
    }
  });

  it('truncation, per-word predictions, unknown tags', () => {
    const [f] = encodeTokenClassification(sentences.slice(1, 2), bert, { labels, maxLength: 6 });
    assert.equal(f.inputIds.length, 6);
    assert.deepEqual(Array.from(wordPredictions(f, [9, 1, 2, 3, 4, 9], 9)), [1, 2, 3, 4, -1, -1, -1, -1, -1]);
    assert.throws(
      () => encodeTokenClassification([{ tokens: ['a'], tags: ['B-XYZ'], line: 7 }], bert, { labels, source: 'dev.conll' }),
      /^DataError: dev\.conll line 7: label "B-XYZ" is not one of the known labels/,
    );
  });
});

// ── question answering ────────────────────────────────────────────────────────────────────────────────

const LONG_CONTEXT =
  'Super Bowl 50 was an American football game to determine the champion of the National Football League (NFL) ' +
  'for the 2015 season. The American Football Conference (AFC) champion Denver Broncos defeated the National ' +
  'Football Conference (NFC) champion Carolina Panthers 24–10 to earn their third Super Bowl title. The game was ' +
  "played on February 7, 2016, at Levi's Stadium in the San Francisco Bay Area at Santa Clara, California. As " +
  'this was the 50th Super Bowl, the league emphasized the "golden anniversary" with various gold-themed ' +
  'initiatives, as well as temporarily suspending the tradition of naming each Super Bowl game with Roman numerals.';

function example(id: string, question: string, answer: string | null, occurrence = 0): QAExample {
  let start = -1;
  for (let k = 0; k <= occurrence; k++) start = LONG_CONTEXT.indexOf(answer ?? '', start + 1);
  return {
    id,
    title: 't',
    question,
    context: LONG_CONTEXT,
    answers: answer === null ? [] : [{ text: answer, start }],
    isImpossible: answer === null,
    plausibleAnswers: [],
  };
}

describe('question answering features', () => {
  const examples = [
    example('a', 'Which team won?', 'Denver Broncos'),
    example('b', '   Where was the game played?', "Levi's Stadium"),
    example('c', 'What numerals were suspended?', 'Roman numerals'),
    example('d', 'Who sang the anthem?', null),
    example('e', 'Which conference?', 'Football Conference', 1),
  ];
  const maxLength = 48;
  const docStride = 12;
  const features = prepareQaFeatures(examples, bert, { maxLength, docStride });

  it('windows equal [CLS] question [SEP] piece [SEP] with HF windowing of the native tokenization', async () => {
    const native = nativeBert();
    const ctx = await native.encode(LONG_CONTEXT, null, { addSpecialTokens: false });
    const c = ctx.getIds();
    for (let e = 0; e < examples.length; e++) {
      const q = (await native.encode(examples[e].question.trimStart(), null, { addSpecialTokens: false })).getIds();
      const room = maxLength - q.length - 3; // [CLS] q [SEP] piece [SEP]
      const expected: number[][] = [];
      for (let s = 0; ; s += room - docStride) {
        expected.push([101, ...q, 102, ...c.slice(s, s + room), 102]);
        if (s + room >= c.length) break;
      }
      const mine = features.filter((f) => f.exampleIndex === e);
      assert.deepEqual(mine.map((f) => Array.from(f.inputIds)), expected, `example ${examples[e].id}`);
      assert.ok(mine.every((f) => f.exampleId === examples[e].id));
      // Consecutive windows share exactly docStride context tokens.
      for (let w = 1; w < mine.length; w++) {
        const prev = Array.from(mine[w - 1].inputIds).slice(q.length + 2, -1);
        const next = Array.from(mine[w].inputIds).slice(q.length + 2, -1);
        assert.deepEqual(prev.slice(-docStride), next.slice(0, docStride));
      }
    }
    // Offsets: context tokens carry the native offsets (UTF-16), every other token -1.
    const offs = toUtf16(LONG_CONTEXT, ctx.getOffsets());
    const f0 = features[0];
    const qLen = f0.inputIds.indexOf(102) - 1;
    for (let i = 0; i < f0.inputIds.length; i++) {
      const k = i - qLen - 2;
      const inContext = i > qLen + 1 && i < f0.inputIds.length - 1;
      assert.deepEqual([f0.offsets[2 * i], f0.offsets[2 * i + 1]], inContext ? offs[k] : [-1, -1]);
    }
  });

  it('answer positions: tokens decode to the answer; windows without the whole answer point at [CLS]', async () => {
    const native = nativeBert();
    let inside = 0;
    for (const f of features) {
      const ex = examples[f.exampleIndex];
      const ans = ex.answers[0];
      const T = f.inputIds.length;
      // Is the whole answer inside this window's context? (from the offsets, independently of the positions)
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < T; i++) {
        if (f.offsets[2 * i] < 0) continue;
        lo = Math.min(lo, f.offsets[2 * i]);
        hi = Math.max(hi, f.offsets[2 * i + 1]);
      }
      const whole = ans !== undefined && lo <= ans.start && hi >= ans.start + ans.text.length;
      if (!whole) {
        assert.deepEqual([f.startPosition, f.endPosition], [0, 0], `${ex.id}: no whole answer → [CLS]`);
        continue;
      }
      inside++;
      assert.ok(f.startPosition > 0 && f.endPosition >= f.startPosition);
      const span = ex.context.slice(f.offsets[2 * f.startPosition], f.offsets[2 * f.endPosition + 1]);
      assert.equal(span, ans.text);
      const answerIds = Array.from(f.inputIds.subarray(f.startPosition, f.endPosition + 1));
      const nativeAnswer = await native.encode(ans.text, null, { addSpecialTokens: false });
      assert.deepEqual(answerIds, nativeAnswer.getIds(), `${ex.id}: the answer's tokens`);
      assert.equal(bert.decode(answerIds), await native.decode(nativeAnswer.getIds(), true));
    }
    // Every answerable example has its answer whole in at least one window.
    for (const [e, ex] of examples.entries()) {
      if (ex.isImpossible) assert.ok(features.filter((f) => f.exampleIndex === e).every((f) => f.startPosition === 0 && f.endPosition === 0));
    }
    assert.ok(inside >= 4, `answers inside windows: ${inside}`);
  });

  it('an answer that ends the window maps to its own tokens, not past the context (the bounded scan)', () => {
    // Choose maxLength so the first window's piece ends exactly after "Broncos".
    const ex = example('x', 'Which team won?', 'Denver Broncos');
    const all = bert.encode(ex.question, ex.context, { addSpecialTokens: false });
    const qLen = all.sequenceIds.filter((s) => s === 0).length;
    const ctxTokens = all.offsets.filter((_, i) => all.sequenceIds[i] === 1);
    const lastTok = ctxTokens.findIndex((o) => o[1] === ex.answers[0].start + ex.answers[0].text.length);
    const [f] = prepareQaFeatures([ex], bert, { maxLength: qLen + 3 + lastTok + 1, docStride: 4 });
    assert.equal(f.endPosition, f.inputIds.length - 2); // the last context token, right before [SEP]
    assert.equal(bert.decode(Array.from(f.inputIds.subarray(f.startPosition, f.endPosition + 1))), 'denver broncos');
  });

  it('SQuAD fixture: every window of every question decodes to its answer', () => {
    const squad = readSquad(JSON.stringify({ data: [{ title: 't', paragraphs: [{ context: LONG_CONTEXT, qas: [{ id: 'q', question: 'Who won?', answers: [{ text: 'Denver Broncos', answer_start: LONG_CONTEXT.indexOf('Denver') }] }] }] }] }));
    const fs = prepareQaFeatures(squad, bert, { maxLength: 384, docStride: 128 });
    assert.equal(fs.length, 1);
    assert.equal(bert.decode(Array.from(fs[0].inputIds.subarray(fs[0].startPosition, fs[0].endPosition + 1))), 'denver broncos');
  });

  it('round trip: logits peaked at the training targets post-process to the gold answers (v2: "" for no answer)', () => {
    const starts = features.map((f) => Float32Array.from(f.inputIds, (_, i) => (i === f.startPosition ? 8 : 0)));
    const ends = features.map((f) => Float32Array.from(f.inputIds, (_, i) => (i === f.endPosition ? 8 : 0)));
    const r = postprocessQaPredictions(examples, features, starts, ends, { version2WithNegative: true });
    assert.deepEqual(r.predictions, { a: 'Denver Broncos', b: "Levi's Stadium", c: 'Roman numerals', d: '', e: 'Football Conference' });
  });

  it('a stride the windows cannot hold is an error naming the question', () => {
    assert.throws(() => prepareQaFeatures([examples[0]], bert, { maxLength: 16, docStride: 12 }), /^Error: question "a": truncation: stride 12 must be smaller/);
  });
});

describe('seq2seq features', () => {
  it('source and target tokenized with special tokens, cut to their lengths', () => {
    const [f] = encodeSeq2Seq([{ source: 'hello world again', target: 'hello', line: 1 }], bert, { maxSourceLength: 4, maxTargetLength: 8 });
    assert.deepEqual(Array.from(f.inputIds), [101, 7592, 2088, 102]);
    assert.deepEqual(Array.from(f.labels), [101, 7592, 102]);
  });
});
