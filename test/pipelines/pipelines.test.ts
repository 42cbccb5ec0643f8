// The encoder pipelines on the transformers fixtures. Oracles: transformers' own logits (the fixtures' inputs
// are reproduced exactly through a vocab that spells their ids), the pipelines' rules worked by hand from the
// model's (HF-checked) outputs, and the aggregation cases of transformers' own pipeline test suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import '../_backends.js'; // registers the wasm backend, which getBackend() then prefers: the backend users get
import { join } from 'node:path';
import { pipeline, AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoModelForMaskedLM, AutoModel, AutoModelForQuestionAnswering, cosineSimilarity, type TokenEntity, type GroupedEntity, type FillMaskResult, type LabelScore, type QuestionAnsweringResult } from '../../src/pipelines/index.js';
import { aggregateEntities, type PreEntity } from '../../src/pipelines/token_classification.js';
import { Tokenizer } from '../../src/tokenizers/index.js';
import { FIX, folderWithVocab, textOf, tokenOf } from './_folders.js';

function softmax(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test('text-classification: text pairs reproduce transformers\' scores; shapes, top_k, function_to_apply, batching', () => {
  const { dir, cleanup } = folderWithVocab('bert-tiny-seqcls');
  try {
    const exp = JSON.parse(readFileSync(join(FIX, 'bert-tiny-seqcls', 'expected.json'), 'utf8')) as { logits_json: number[][] };
    const classifier = pipeline('text-classification', dir);
    const inputs = [
      { text: textOf([544, 103, 436, 361]), text_pair: textOf([497, 490, 900]) }, // = the fixture's row 0
      { text: textOf([103, 494]), text_pair: textOf([592]) }, // = row 1 (padded in the fixture's batch)
    ];
    const all = classifier(inputs, { top_k: null }) as LabelScore[][];
    inputs.forEach((_, i) => {
      const probs = softmax(exp.logits_json[i]!);
      const want = probs.map((score, k) => ({ label: `LABEL_${k}`, score })).sort((a, b) => b.score - a.score);
      assert.deepEqual(all[i]!.map((r) => r.label), want.map((r) => r.label));
      all[i]!.forEach((r, k) => close(r.score, want[k]!.score));
    });
    // One text, no top_k: a list holding the best label (transformers' legacy shape); a list of texts: one each.
    const one = classifier(inputs[0]!);
    assert.equal(one.length, 1);
    assert.equal(one[0]!.label, all[0]![0]!.label);
    close(one[0]!.score, all[0]![0]!.score, 1e-7); // alone vs padded in a batch: the kernels sum in another order
    const each = classifier(inputs) as LabelScore[];
    assert.deepEqual(each.map((r) => r.label), all.map((r) => r[0]!.label));
    assert.equal((classifier(inputs[0]!, { top_k: 2 }) as LabelScore[]).length, 2);
    const raw = classifier(inputs[0]!, { top_k: null, function_to_apply: 'none' });
    const sig = classifier(inputs[0]!, { top_k: null, function_to_apply: 'sigmoid' });
    for (const r of raw) close(r.score, exp.logits_json[0]![Number(r.label.slice(6))]!);
    for (const r of sig) close(r.score, 1 / (1 + Math.exp(-exp.logits_json[0]![Number(r.label.slice(6))]!)));
    // Batched (padded) and one at a time agree.
    const single = inputs.map((x) => classifier(x, { top_k: null }));
    const batched = classifier(inputs, { top_k: null, batch_size: 2 }) as LabelScore[][];
    batched.forEach((r, i) => r.forEach((x, k) => close(x.score, single[i]![k]!.score)));
  } finally {
    cleanup();
  }
  const d = folderWithVocab('distilbert-tiny-seqcls');
  try {
    const exp = JSON.parse(readFileSync(join(FIX, 'distilbert-tiny-seqcls', 'expected.json'), 'utf8')) as { logits_json: number[][]; predicted_labels: string[] };
    const out = pipeline('sentiment-analysis', d.dir)([{ text: textOf([198, 103, 849, 227]), text_pair: textOf([820, 267, 333]) }], { top_k: null }) as LabelScore[][];
    assert.equal(out[0]![0]!.label, exp.predicted_labels[0]);
    close(out[0]!.find((r) => r.label === 'POSITIVE')!.score, softmax(exp.logits_json[0]!)[1]!);
  } finally {
    d.cleanup();
  }
});

test('fill-mask: top-k by softmax at the mask, targets, several masks, errors, batching', () => {
  const { dir, cleanup } = folderWithVocab('bert-tiny-mlm');
  try {
    const unmasker = pipeline('fill-mask', dir);
    const m = AutoModelForMaskedLM.fromPretrained(dir);
    const text = textOf([544, 103, 436, 361]);
    const ids = [101, 544, 103, 436, 361, 102];
    const logits = m.forward([ids]).logits.toFloat32Array();
    const probs = softmax(Array.from(logits.subarray(2 * 1000, 3 * 1000)));
    const order = probs.map((p, i) => [p, i] as const).sort((a, b) => b[0] - a[0]);
    const out = unmasker(text) as FillMaskResult[];
    assert.equal(out.length, 5);
    out.forEach((r, k) => {
      assert.equal(r.token, order[k]![1]);
      close(r.score, order[k]![0]);
      assert.equal(r.token_str, tokenOf(r.token));
    });
    // The sequence: the text with the winner in place (a ## piece joins w544).
    const best = out[0]!.token;
    const filled = best >= 950 ? `w544${best} w436 w361` : `w544 ${tokenOf(best)} w436 w361`;
    assert.equal(out[0]!.sequence, filled);
    // targets: only those tokens, top_k capped at their number; an unknown target uses its first token.
    const t = unmasker(text, { targets: ['w500', 'w600'], top_k: 10 }) as FillMaskResult[];
    assert.equal(t.length, 2);
    assert.deepEqual(new Set(t.map((r) => r.token)), new Set([500, 600]));
    close(t.find((r) => r.token === 500)!.score, probs[500]!);
    assert.deepEqual((unmasker(text, { targets: 'w500950' }) as FillMaskResult[]).map((r) => r.token), [500]);
    // Two masks: one list per mask, the other mask kept in the sequence.
    const two = unmasker(textOf([103, 436, 103]), { top_k: 2 }) as FillMaskResult[][];
    assert.equal(two.length, 2);
    assert.ok(two[0]![0]!.sequence.includes('[MASK]') && two[0]![0]!.sequence.startsWith('[CLS]'));
    assert.throws(() => unmasker('w500 w501'), /no mask token \(\[MASK\]\) found in input 0/);
    // Batched and one at a time agree.
    const texts = [text, textOf([103, 500]), textOf([700, 701, 702, 103, 703])];
    const batched = unmasker(texts, { batch_size: 3 }) as FillMaskResult[][];
    texts.forEach((x, i) => {
      const s = unmasker(x) as FillMaskResult[];
      s.forEach((r, k) => {
        assert.equal(batched[i]![k]!.token, r.token);
        close(batched[i]![k]!.score, r.score);
      });
    });
  } finally {
    cleanup();
  }
});

test('token-classification: per-token labels, offsets and words; aggregation on whole words', () => {
  const { dir, cleanup } = folderWithVocab('bert-tiny-tokcls');
  try {
    const ner = pipeline('token-classification', dir);
    const text = 'w544 w436950 w361';
    const out = ner(text, { ignore_labels: [] }) as TokenEntity[];
    assert.deepEqual(out.map((e) => [e.word, e.index, e.start, e.end]), [['w544', 1, 0, 4], ['w436', 2, 5, 9], ['##950', 3, 9, 12], ['w361', 4, 13, 17]]);
    // Each token's label and score: the best of its softmax over the model's (transformers-checked) logits.
    const logits = AutoModelForTokenClassification.fromPretrained(dir).forward([[101, 544, 436, 950, 361, 102]]).logits.toFloat32Array();
    out.forEach((e) => {
      const p = softmax(Array.from(logits.subarray(e.index * 5, e.index * 5 + 5)));
      const k = p.indexOf(Math.max(...p));
      assert.equal(e.entity, `LABEL_${k}`);
      close(e.score, p[k]!);
    });
    const first = ner(text, { ignore_labels: [], aggregation_strategy: 'first' }) as GroupedEntity[];
    // "w436950" is one word: its pieces never split between entities; spans cover whole words.
    for (const g of first) assert.ok(!(g.start < 9 && g.end > 5 && g.end < 12));
    assert.equal(first.map((g) => text.slice(g.start, g.end)).join(' '), text);
    // ignore_labels drops by label.
    const labels = new Set(out.map((e) => e.entity));
    assert.deepEqual(ner(text, { ignore_labels: [...labels] }), []);
  } finally {
    cleanup();
  }
});

test('token-classification aggregation: transformers\' own pipeline test cases', () => {
  const tok = Tokenizer.fromWordPieceVocab(['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'En', '##zo', 'UN', 'Ra', '##ma', '##zotti'].join('\n'), { lowercase: false });
  const id = (t: string) => tok.tokenToId(t)!;
  const pe = (word: string, scores: number[], index: number, isSubword: boolean, start: number, end: number): PreEntity => ({ word, id: id(word), scores, index, isSubword, start, end });
  const round = (xs: Array<TokenEntity | GroupedEntity>) => xs.map((x) => ({ ...x, score: Math.round(x.score * 1000) / 1000 }));
  // test_aggregation_strategy
  const labels9 = ['O', 'B-MISC', 'I-MISC', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC'];
  const ex = [pe('En', [0, 0, 0, 0, 0.9968166351318359, 0, 0, 0], 1, false, 0, 2), pe('##zo', [0, 0, 0, 0, 0.9957635998725891, 0, 0, 0], 2, true, 2, 4), pe('UN', [0, 0, 0, 0, 0, 0.9986497163772583, 0, 0], 7, false, 11, 13)];
  assert.deepEqual(round(aggregateEntities(ex, 'none', labels9, tok)), [
    { entity: 'I-PER', score: 0.997, index: 1, word: 'En', start: 0, end: 2 },
    { entity: 'I-PER', score: 0.996, index: 2, word: '##zo', start: 2, end: 4 },
    { entity: 'B-ORG', score: 0.999, index: 7, word: 'UN', start: 11, end: 13 },
  ]);
  const grouped = (perScore: number) => [
    { entity_group: 'PER', score: perScore, word: 'Enzo', start: 0, end: 4 },
    { entity_group: 'ORG', score: 0.999, word: 'UN', start: 11, end: 13 },
  ];
  assert.deepEqual(round(aggregateEntities(ex, 'simple', labels9, tok)), grouped(0.996));
  assert.deepEqual(round(aggregateEntities(ex, 'first', labels9, tok)), grouped(0.997));
  assert.deepEqual(round(aggregateEntities(ex, 'max', labels9, tok)), grouped(0.997));
  assert.deepEqual(round(aggregateEntities(ex, 'average', labels9, tok)), grouped(0.996));
  // test_aggregation_strategy_no_b_i_prefix
  const plain = ['O', 'MISC', 'PER', 'ORG', 'LOC'];
  const ex2 = [pe('En', [0, 0, 0, 0, 0.9968166351318359], 1, false, 0, 2), pe('##zo', [0, 0, 0, 0, 0.9957635998725891], 2, true, 2, 4), pe('UN', [0, 0, 0, 0.9986497163772583, 0], 7, false, 11, 13)];
  assert.deepEqual(round(aggregateEntities(ex2, 'simple', plain, tok)), [
    { entity_group: 'LOC', score: 0.996, word: 'Enzo', start: 0, end: 4 },
    { entity_group: 'ORG', score: 0.999, word: 'UN', start: 11, end: 13 },
  ]);
  // test_aggregation_strategy_example2: first, max and average disagree on one word.
  const labels10 = [...labels9, 'X'];
  const ex3 = [pe('Ra', [0, 0.55, 0, 0.45, 0, 0, 0, 0, 0, 0], 1, false, 0, 2), pe('##ma', [0, 0, 0, 0.2, 0, 0, 0, 0.8, 0, 0], 2, true, 2, 4), pe('##zotti', [0, 0, 0, 0.4, 0, 0, 0.6, 0, 0, 0], 3, true, 11, 13)];
  assert.deepEqual(round(aggregateEntities(ex3, 'none', labels10, tok)).map((e) => [(e as TokenEntity).entity, e.score]), [['B-MISC', 0.55], ['B-LOC', 0.8], ['I-ORG', 0.6]]);
  assert.deepEqual(round(aggregateEntities(ex3, 'first', labels10, tok)), [{ entity_group: 'MISC', score: 0.55, word: 'Ramazotti', start: 0, end: 13 }]);
  assert.deepEqual(round(aggregateEntities(ex3, 'max', labels10, tok)), [{ entity_group: 'LOC', score: 0.8, word: 'Ramazotti', start: 0, end: 13 }]);
  assert.deepEqual(round(aggregateEntities(ex3, 'average', labels10, tok)), [{ entity_group: 'PER', score: 0.35, word: 'Ramazotti', start: 0, end: 13 }]);
});

/** The QA rules worked by hand on one window: softmax over context + [CLS], [CLS] zeroed, best band span. */
function bruteForceQa(starts: number[], ends: number[], wanted: boolean[], maxLen: number): { s: number; e: number; score: number; nullScore: number } {
  const ps = softmax(starts.map((v, i) => (wanted[i] ? v : -10000)));
  const pe = softmax(ends.map((v, i) => (wanted[i] ? v : -10000)));
  const nullScore = ps[0]! * pe[0]!;
  ps[0] = pe[0] = 0;
  let best = { s: 0, e: 0, score: -1, nullScore };
  for (let s = 0; s < ps.length; s++) for (let e = s; e < Math.min(ps.length, s + maxLen); e++) if (wanted[s] && wanted[e] && ps[s]! * pe[e]! > best.score) best = { s, e, score: ps[s]! * pe[e]!, nullScore };
  return best;
}

test('question-answering: transformers\' logits → the span, word-aligned offsets, impossible answers, long contexts', () => {
  const { dir, cleanup } = folderWithVocab('bert-tiny-qa');
  try {
    const exp = JSON.parse(readFileSync(join(FIX, 'bert-tiny-qa', 'expected.json'), 'utf8')) as { start_logits_json: string | number[][]; end_logits_json: string | number[][] };
    const parse = (x: string | number[][]) => (typeof x === 'string' ? (JSON.parse(x) as number[][]) : x);
    const starts = parse(exp.start_logits_json)[0]!;
    const ends = parse(exp.end_logits_json)[0]!;
    const qa = pipeline('question-answering', dir);
    const question = textOf([544, 103, 436, 361]);
    const context = textOf([497, 490, 900]); // [CLS] q [SEP] c [SEP] = the fixture's row 0
    const wanted = [true, false, false, false, false, false, true, true, true, false];
    const want = bruteForceQa(starts, ends, wanted, 15);
    const words = context.split(' ');
    const charStart = (w: number) => words.slice(0, w).join(' ').length + (w > 0 ? 1 : 0);
    const r = qa({ question, context }) as QuestionAnsweringResult;
    close(r.score, want.score);
    assert.equal(r.start, charStart(want.s - 6));
    assert.equal(r.end, charStart(want.e - 6) + words[want.e - 6]!.length);
    assert.equal(r.answer, context.slice(r.start, r.end));
    const withNull = qa(question, context, { top_k: 3, handle_impossible_answer: true }) as QuestionAnsweringResult[];
    assert.equal(withNull.length, 3);
    const empty = withNull.find((a) => a.answer === '');
    if (empty) close(empty.score, want.nullScore);
    assert.ok(withNull[0]!.score >= withNull[1]!.score && withNull[1]!.score >= withNull[2]!.score);
    // A context longer than a window: every window is read, the best span of all is returned.
    const long = textOf(Array.from({ length: 60 }, (_, i) => 300 + ((i * 37) % 500)));
    const opts = { max_seq_len: 24, doc_stride: 6 };
    const got = qa({ question: textOf([544, 436]), context: long }, opts) as QuestionAnsweringResult;
    const m = AutoModelForQuestionAnswering.fromPretrained(dir);
    const enc = m.tokenizer!.encode(textOf([544, 436]), long, { maxLength: 24, truncation: 'only_second', stride: 6, returnOverflowing: true });
    const windows = [enc, ...enc.overflowing];
    assert.ok(windows.length > 3);
    let best = { score: -1, start: 0, end: 0 };
    for (const w of windows) {
      const out = m.forward([w.ids], { tokenTypeIds: [w.typeIds] });
      const ok = w.sequenceIds.map((s, i) => s === 1 || w.ids[i] === 101);
      const b = bruteForceQa(Array.from(out.startLogits!.toFloat32Array()), Array.from(out.endLogits!.toFloat32Array()), ok, 15);
      if (b.score > best.score) best = { score: b.score, start: w.offsets[b.s]![0], end: w.offsets[b.e]![1] };
    }
    close(got.score, best.score);
    assert.deepEqual([got.start, got.end], [best.start, best.end]);
    assert.throws(() => qa({ question: 'x', context: '' }), /must be \{ question: string, context: non-empty string \}/);
  } finally {
    cleanup();
  }
});

test('feature-extraction: mean and CLS pooling, normalization, cosine similarity', () => {
  const { dir, cleanup } = folderWithVocab('bert-tiny-mlm');
  try {
    const embed = pipeline('feature-extraction', dir);
    const m = AutoModel.fromPretrained(dir);
    const ids = [101, 544, 436, 361, 102];
    const h = m.forward([ids]).logits.toFloat32Array(); // (1, 5, 32): the last hidden state
    const tokens = embed(textOf([544, 436, 361])) as number[][];
    assert.equal(tokens.length, 5);
    tokens.forEach((v, t) => v.forEach((x, c) => close(x, h[t * 32 + c]!)));
    const meanV = embed(textOf([544, 436, 361]), { pooling: 'mean' }) as number[];
    meanV.forEach((x, c) => close(x, [0, 1, 2, 3, 4].reduce((s, t) => s + h[t * 32 + c]!, 0) / 5));
    const cls = embed(textOf([544, 436, 361]), { pooling: 'cls', normalize: true }) as number[];
    close(Math.hypot(...cls), 1);
    close(cosineSimilarity(cls, tokens[0]!), 1);
    close(cosineSimilarity([1, 0], [0, 1]), 0);
    close(cosineSimilarity([1, 2], [2, 4]), 1);
    close(cosineSimilarity([1, 0], [-1, 0]), -1);
    // Batches with padding give the same vectors.
    const texts = [textOf([544, 436, 361]), textOf([600]), textOf([700, 701, 702, 703, 704, 705])];
    const batched = embed(texts, { pooling: 'mean', batch_size: 3 }) as number[][];
    texts.forEach((t, i) => (embed(t, { pooling: 'mean' }) as number[]).forEach((x, c) => close(batched[i]![c]!, x)));
  } finally {
    cleanup();
  }
});

test('pipeline(): task aliases, a GPT folder for an encoder task, unknown tasks', () => {
  assert.throws(() => pipeline('fill-mask', join(FIX, '..', 'gpt2-tiny')), /pipeline 'fill-mask' needs an encoder model \(bert, roberta, distilbert\); .* holds a "gpt2" model \(use text-generation\)/);
  assert.throws(() => pipeline('summarize' as 'fill-mask', join(FIX, 'bert-tiny-mlm')), /unknown task 'summarize'/);
  assert.throws(() => pipeline('fill-mask', join(FIX, 'bert-tiny-mlm'))('w1 [MASK]'), /has no tokenizer/);
  // AutoModelFor… with a new head reports what it initialised.
  const m = AutoModelForSequenceClassification.fromPretrained(join(FIX, 'bert-tiny-mlm'), { numLabels: 4 });
  assert.deepEqual(m.id2label, ['LABEL_0', 'LABEL_1', 'LABEL_2', 'LABEL_3']);
  assert.ok(m.report.newlyInitialized.includes('classifier.weight'));
  assert.deepEqual(m.forward([[101, 5, 102]]).logits.shape, [1, 4]);
});
