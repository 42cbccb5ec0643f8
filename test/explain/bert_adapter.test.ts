// The BERT-family explain adapter against outside oracles: its maps of a text pair are transformers'
// attentions on the bert-tiny fixture (the text spelled in a vocab.txt whose words are the fixture's ids); a
// head mask of 0 equals the model with that head's columns of attention.output.dense zeroed (the head removed
// by editing weights); the physically pruned model equals the masked one for BERT, RoBERTa and DistilBERT, and
// its tensors are Hugging Face's prune_heads index arithmetic worked by hand (query/key/value rows,
// output.dense columns); a pruned folder round-trips under each family's checkpoint names with pruned_heads in
// config.json; a classifier's ∂L/∂ξ equals finite differences and its accuracy is the count of right argmaxes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend } from '../_backends.js';
import { noGrad, tensor, type Tensor } from '../../src/tensor/index.js';
import { fromPretrainedBert } from '../../src/models/bert_pretrained.js';
import { bertConfig, bertParameterCount, type BertAnyModel, type BertForwardOptions } from '../../src/models/bert.js';
import { Tokenizer } from '../../src/tokenizers/index.js';
import { loadSafetensorsFile } from '../../src/io/node.js';
import { BertExplainer, bertClassificationObjective, pruneBert } from '../../src/explain/adapters/bert.js';
import { maskWithout, parseHeads } from '../../src/explain/explainable.js';
import { headImportance } from '../../src/explain/importance.js';
import { loadExplainable } from '../../src/explain/node.js';
import { FIX, folderWithVocab, textOf, vocabTxt } from '../pipelines/_folders.js';

// Row 0 of the bert-tiny fixtures: [CLS] w544 [MASK] w436 w361 [SEP] w497 w490 w900 [SEP], types 0×6 then 1×4.
const IDS = [101, 544, 103, 436, 361, 102, 497, 490, 900, 102];
const TYPES = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1];
const vocabTokenizer = (): Tokenizer => Tokenizer.fromWordPieceVocab(vocabTxt(), { lowercase: true });

function load(name: string): BertExplainer {
  return new BertExplainer(fromPretrainedBert(join(FIX, name)).model, vocabTokenizer());
}

function logits(model: BertAnyModel, opts: BertForwardOptions = {}, ids = IDS, types: number[] | null = ids === IDS ? TYPES : null): Float32Array {
  const T = ids.length;
  const tt = types && model.config.type_vocab_size > 0 ? { tokenTypeIds: tensor(Int32Array.from(types), [1, T], { dtype: 'int32' }) } : {};
  return noGrad(() => model.forward(tensor(Int32Array.from(ids), [1, T], { dtype: 'int32' }), { ...tt, ...opts }).logits.toFloat32Array());
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

forEachBackend((backend) => {
  test(`[${backend}] maps of a text pair are transformers' attentions (bert-tiny fixture), bidirectional`, () => {
    const x = load('bert-tiny-seqcls');
    const e = x.encode({ text: textOf([544, 103, 436, 361]), pair: textOf([497, 490, 900]) }); // 103 is [MASK]
    assert.deepEqual([...e.ids], IDS);
    assert.deepEqual([...e.typeIds], TYPES);
    // [CLS] and [SEP] added by the post-processor, [MASK] a special token written in the text.
    assert.deepEqual(e.tokens.map((t) => t.special), [true, false, true, false, false, true, false, false, false, true]);
    assert.deepEqual(e.tokens.map((t) => t.text), ['[CLS]', 'w544', '[MASK]', 'w436', 'w361', '[SEP]', 'w497', 'w490', 'w900', '[SEP]']);
    const [g] = x.attentions(e);
    assert.equal(g!.kind, 'self');
    assert.equal(g!.causal, false);
    const hf = loadSafetensorsFile(join(FIX, 'bert-tiny-seqcls', 'expected.safetensors')).tensors;
    g!.layers.forEach((l, i) => {
      const want = (hf.get(`attentions.${i}`)!.data as Float32Array).subarray(0, 4 * 10 * 10); // row 0 of (2, 4, 10, 10)
      const d = maxDiff(l.data, want);
      assert.ok(d < 1e-5, `layer ${i}: maps differ from transformers by ${d}`);
    });
  });

  test(`[${backend}] a head mask of 0 equals zeroing the head's columns of attention.output.dense`, () => {
    const x = load('bert-tiny-seqcls');
    const removed = parseHeads('0:1, 1:2, 1:3', x.heads());
    const masked = logits(x.model, { headMask: maskWithout(x.heads(), removed).self! });
    const edited = fromPretrainedBert(join(FIX, 'bert-tiny-seqcls')).model;
    const C = 32;
    const D = 8;
    for (const { layer, head } of removed) {
      const w = edited.bert.encoder.layer[layer]!.attention.output.dense.weight; // (C, A) out_in: column c reads dim c
      const data = w.toFloat32Array().slice();
      for (let r = 0; r < C; r++) data.fill(0, r * C + head * D, r * C + (head + 1) * D);
      w.copyFrom(data);
    }
    const d = maxDiff(masked, logits(edited));
    assert.ok(d < 1e-5, `masked vs zeroed heads: ${d}`);
    assert.ok(maxDiff(masked, logits(x.model)) > 1e-3, 'the mask must change the output');
  });

  for (const name of ['bert-tiny-seqcls', 'roberta-tiny-mlm', 'distilbert-tiny-seqcls']) {
    test(`[${backend}] ${name}: pruned = masked, logits and the surviving heads' maps`, () => {
      const x = load(name);
      const removed = parseHeads('0:1,1:0,1:2', x.heads());
      const pruned = x.prune(removed);
      assert.deepEqual(pruned.model.config.pruned_heads, { 0: [1], 1: [0, 2] });
      assert.deepEqual(pruned.heads()[0]!.layers, [[0, 2, 3], [1, 3]]);
      const ids = name.startsWith('roberta') ? [0, 747, 999, 917, 2, 2, 472, 382, 908, 339, 2] : IDS;
      const mask = maskWithout(x.heads(), removed);
      const d = maxDiff(logits(pruned.model, {}, ids), logits(x.model, { headMask: mask.self! }, ids));
      assert.ok(d < 1e-5, `pruned vs masked logits: ${d}`);
      const e = { ids: Int32Array.from(ids), typeIds: new Int32Array(ids.length), tokens: ids.map((id) => ({ id, text: String(id), special: false, punct: false })), notes: [], start: 0, total: ids.length };
      const full = x.attentions(e, { headMask: mask })[0]!;
      const small = pruned.attentions(e)[0]!;
      const T = ids.length;
      small.layers.forEach((l, i) => {
        assert.equal(l.heads, l.headIds.length);
        l.headIds.forEach((h, p) => {
          const dd = maxDiff(l.data.subarray(p * T * T, (p + 1) * T * T), full.layers[i]!.data.subarray(h * T * T, (h + 1) * T * T));
          assert.ok(dd < 1e-5, `layer ${i} head ${h}: ${dd}`);
        });
      });
    });
  }
});

test("pruned tensors are HF's prune_linear_layer of the originals; two steps = one; parameter count", () => {
  const { model } = fromPretrainedBert(join(FIX, 'bert-tiny-seqcls'));
  const C = 32;
  const once = pruneBert(model, { 0: [0, 2], 1: [3] });
  const twice = pruneBert(pruneBert(model, { 0: [2] }), { 0: [0, 2], 1: [3] });
  const p1 = new Map(once.namedParameters());
  for (const [name, p] of twice.namedParameters()) assert.deepEqual(p.toFloat32Array(), p1.get(name)!.toFloat32Array(), name);
  assert.deepEqual(twice.config.pruned_heads, { 0: [0, 2], 1: [3] });
  // Layer 0 keeps original heads 1 and 3: dims 8..15 and 24..31.
  const keep = [...Array.from({ length: 8 }, (_, i) => 8 + i), ...Array.from({ length: 8 }, (_, i) => 24 + i)];
  const a0 = model.bert.encoder.layer[0]!.attention;
  const b0 = once.bert.encoder.layer[0]!.attention;
  for (const which of ['query', 'key', 'value'] as const) {
    const w = a0.self[which].weight.toFloat32Array(); // (A, C): row r makes output dim r
    assert.deepEqual(b0.self[which].weight.shape, [16, C]);
    assert.deepEqual(b0.self[which].weight.toFloat32Array(), Float32Array.from(keep.flatMap((r) => Array.from(w.subarray(r * C, (r + 1) * C)))));
    const bias = a0.self[which].bias!.toFloat32Array();
    assert.deepEqual(b0.self[which].bias!.toFloat32Array(), Float32Array.from(keep, (r) => bias[r]!));
  }
  const dense = a0.output.dense.weight.toFloat32Array(); // (C, A): column c reads dim c
  assert.deepEqual(b0.output.dense.weight.shape, [C, 16]);
  const want = new Float32Array(C * 16);
  for (let r = 0; r < C; r++) keep.forEach((c, j) => (want[r * 16 + j] = dense[r * C + c]!));
  assert.deepEqual(b0.output.dense.weight.toFloat32Array(), want);
  assert.deepEqual(b0.output.dense.bias!.toFloat32Array(), a0.output.dense.bias!.toFloat32Array());
  // Everything outside the pruned projections is the original.
  const orig = new Map(model.namedParameters());
  for (const [name, p] of once.namedParameters()) {
    if (!/attention\.(self|output\.dense)/.test(name) || name.includes('LayerNorm')) assert.deepEqual(p.toFloat32Array(), orig.get(name)!.toFloat32Array(), name);
  }
  // 3 of 8 heads gone, each head D = 8: 3 · (3·(C·D + D) + C·D) fewer parameters.
  assert.equal(once.numParameters(), model.numParameters() - 3 * (3 * (C * 8 + 8) + C * 8));
  assert.equal(bertParameterCount(once.config), bertParameterCount(model.config) - 3 * (3 * (C * 8 + 8) + C * 8));
});

test('pruned folders round-trip under each family\'s names, with pruned_heads in config.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-bert-pruned-'));
  try {
    for (const [name, qKey] of [
      ['bert-tiny-seqcls', 'bert.encoder.layer.0.attention.self.query.weight'],
      ['roberta-tiny-mlm', 'roberta.encoder.layer.0.attention.self.query.weight'],
      ['distilbert-tiny-seqcls', 'distilbert.transformer.layer.0.attention.q_lin.weight'],
    ] as const) {
      const x = load(name);
      const pruned = x.prune(parseHeads('0:0,0:3,1:1', x.heads()));
      pruned.save(join(dir, name));
      const cfg = JSON.parse(readFileSync(join(dir, name, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(cfg['pruned_heads'], { 0: [0, 3], 1: [1] }, name);
      const st = loadSafetensorsFile(join(dir, name, 'model.safetensors')).tensors;
      assert.deepEqual(st.get(qKey)!.shape, [16, 32], `${name}: ${qKey}`);
      const back = loadExplainable(join(dir, name));
      assert.ok(back instanceof BertExplainer);
      assert.deepEqual(back.heads()[0]!.layers, [[1, 2], [0, 2, 3]]);
      const ids = name.startsWith('roberta') ? [0, 747, 999, 917, 2] : IDS;
      assert.deepEqual(logits(back.model, {}, ids), logits(pruned.model, {}, ids), name);
      // The unpruned model's folder has no pruned_heads (save_pretrained leaves the default {} out).
      x.save(join(dir, `${name}-full`));
      assert.ok(!('pruned_heads' in (JSON.parse(readFileSync(join(dir, `${name}-full`, 'config.json'), 'utf8')) as object)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('head masks of a pruned BERT: per layer; wrong sizes and bad pruned_heads are clear errors', () => {
  const x = load('bert-tiny-seqcls');
  const pruned = x.prune(parseHeads('0:1', x.heads())).model;
  assert.throws(() => logits(pruned, { headMask: Float32Array.of(1, 1, 1, 1) }), /headMask must be one entry per layer \(heads per layer: 3, 4\), got 4 values/);
  assert.throws(() => logits(pruned, { headMask: [Float32Array.of(1, 1, 1, 1), null] }), /headMask for layer 0 must be \(3\) or \(B, 3\)/);
  assert.deepEqual(logits(pruned, { headMask: [Float32Array.of(1, 1, 1), null] }), logits(pruned));
  assert.throws(() => bertConfig({ preset: 'tiny', vocab_size: 10, pruned_heads: { 0: [0, 1] } }), /removes all 2 heads of layer 0/);
  assert.throws(() => bertConfig({ preset: 'tiny', vocab_size: 10, pruned_heads: { 2: [0] } }), /layer "2" is not in 0..1/);
  assert.throws(() => parseHeads('1:4', x.heads()), /head must be in 0..3/);
  assert.throws(() => x.encode({ text: textOf(Array.from({ length: 70 }, (_, i) => 200 + i)) }, { length: 65 }), /longer than the model's context \(64 tokens\)/);
  const long = x.encode({ text: textOf(Array.from({ length: 70 }, (_, i) => 200 + i)) });
  assert.equal(long.ids.length, 64);
  assert.match(long.notes[0]!, /the text has 72 tokens; explaining tokens 0..63 \(the model's context is 64 tokens\)/);
});

test('a classifier: ∂L/∂ξ equals finite differences; accuracy is the share of right argmaxes', () => {
  const { dir, cleanup } = folderWithVocab('bert-tiny-seqcls');
  try {
    const x = loadExplainable(dir) as BertExplainer;
    const labels = x.model.config.id2label;
    const rows = [[544, 103, 436], [497, 490], [900, 361, 222, 333], [120, 130], [140], [150, 160, 170]].map((ids, i) => ({ text: textOf(ids), labels: [labels[i % labels.length]!], line: i + 1 }));
    const obj = bertClassificationObjective(x, { importance: rows.slice(0, 4), evaluation: rows }, { batchSize: 4 });
    assert.equal(obj.batches, 1);
    const imp = headImportance(x.heads(), obj, { normalizeLayers: false });
    // The oracle: the loss of the same 4 examples, padded by hand, as a function of one head's mask value.
    const enc = rows.slice(0, 4).map((r) => x.tokenizer.encode(r.text));
    const T = Math.max(...enc.map((e) => e.ids.length));
    const pad = (xs: number[], v: number) => [...xs, ...Array(T - xs.length).fill(v)];
    const ids = tensor(Int32Array.from(enc.flatMap((e) => pad(e.ids, 0))), [4, T], { dtype: 'int32' });
    const am = tensor(Int32Array.from(enc.flatMap((e) => pad(e.ids.map(() => 1), 0))), [4, T], { dtype: 'int32' });
    const y = tensor(Int32Array.from([0, 1, 2, 0]), [4], { dtype: 'int32' });
    const loss = (m: Float32Array[]) => noGrad(() => (x.model.forward(ids, { attentionMask: am, labels: y, headMask: m }).loss as Tensor).item());
    const eps = 1e-2;
    for (const h of imp.heads) {
      const at = (v: number) => [0, 1].map((l) => Float32Array.from([0, 1, 2, 3], (hh) => (l === h.layer && hh === h.head ? v : 1)));
      const fd = (loss(at(1 + eps)) - loss(at(1 - eps))) / (2 * eps);
      // |Σ_b ∂L/∂ξ| ≤ Σ_b |∂L_b/∂ξ|·(1/B)·B: per-example gates give at least the batch gradient's size.
      assert.ok(h.raw + 1e-4 >= Math.abs(fd) - 0.02 * Math.abs(fd), `layer ${h.layer} head ${h.head}: Σ|∂L/∂ξ_b| ${h.raw} < |∂L/∂ξ| ${Math.abs(fd)}`);
    }
    // With one example per batch, |∂L/∂ξ| is exactly the finite difference.
    const one = bertClassificationObjective(x, { importance: rows.slice(0, 1), evaluation: rows }, { batchSize: 1 });
    const imp1 = headImportance(x.heads(), one, { normalizeLayers: false });
    const e0 = x.tokenizer.encode(rows[0]!.text);
    const ids0 = tensor(Int32Array.from(e0.ids), [1, e0.ids.length], { dtype: 'int32' });
    const loss0 = (m: Float32Array[]) => noGrad(() => (x.model.forward(ids0, { labels: tensor(Int32Array.of(0), [1], { dtype: 'int32' }), headMask: m }).loss as Tensor).item());
    for (const h of imp1.heads) {
      const at = (v: number) => [0, 1].map((l) => Float32Array.from([0, 1, 2, 3], (hh) => (l === h.layer && hh === h.head ? v : 1)));
      const fd = (loss0(at(1 + eps)) - loss0(at(1 - eps))) / (2 * eps);
      assert.ok(Math.abs(h.raw - Math.abs(fd)) < 2e-3 + 0.02 * Math.abs(fd), `layer ${h.layer} head ${h.head}: ${h.raw} vs ${Math.abs(fd)}`);
    }
    // Accuracy: argmax of each row's logits, computed one example at a time, against its label.
    const gold = rows.map((_, i) => i % labels.length);
    const right = (m?: Float32Array[]) =>
      rows.filter((r, i) => {
        const e = x.tokenizer.encode(r.text);
        const z = noGrad(() => x.model.forward(tensor(Int32Array.from(e.ids), [1, e.ids.length], { dtype: 'int32' }), m ? { headMask: m } : {}).logits.toFloat32Array());
        return z.indexOf(Math.max(...z)) === gold[i];
      }).length;
    assert.equal(obj.quality(), right() / rows.length);
    const mask = maskWithout(x.heads(), parseHeads('0:0,0:1,1:3', x.heads()));
    assert.equal(obj.quality(mask), right(mask.self as Float32Array[]) / rows.length);
    assert.throws(() => bertClassificationObjective(x, { importance: [{ text: 'w200', labels: ['nope'], line: 7 }], evaluation: rows }), /nope/);
  } finally {
    cleanup();
  }
});
