// The encoder-decoder explain adapter (Marian / the 2017 Transformer, T5) against outside oracles: its
// encoder, decoder and cross-attention maps are transformers' teacher-forced attentions on the marian-tiny and
// t5-tiny fixtures; a head mask of 0 in each group equals the model with that head's input columns of the
// group's output projection zeroed (out_proj / o, the head removed by editing weights); without a target the
// explained output is src/generate's greedy decoding; the teacher-forced objective's ∂L/∂ξ equals finite
// differences and its accuracy is the count of right argmaxes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { forEachBackend } from '../_backends.js';
import { noGrad, Rng, tensor, type Tensor } from '../../src/tensor/index.js';
import { fromPretrainedSeq2Seq } from '../../src/models/seq2seq_pretrained.js';
import { Transformer, transformerConfig } from '../../src/models/transformer.js';
import { T5, t5Config } from '../../src/models/t5.js';
import { generateSeq2Seq } from '../../src/generate/seq2seq.js';
import { loadSafetensorsFile } from '../../src/io/node.js';
import { trainTokenizer, Tokenizer } from '../../src/tokenizers/index.js';
import { Seq2SeqExplainer, seq2seqObjective, type Seq2SeqEncoded, type Seq2SeqModel } from '../../src/explain/adapters/seq2seq.js';
import { maskWithout, parseHeads, type HeadId } from '../../src/explain/explainable.js';
import { headImportance } from '../../src/explain/importance.js';

const FIX = new URL('../../../test/fixtures/', import.meta.url).pathname;

interface Case {
  name: 'marian-tiny' | 't5-tiny';
  family: 'marian' | 't5';
  src: number[];
  dec: number[];
}
const CASES: Case[] = [
  { name: 'marian-tiny', family: 'marian', src: [196, 6, 413, 354, 493, 383, 1, 389, 0], dec: [499, 483, 336, 132, 129, 494, 307] },
  { name: 't5-tiny', family: 't5', src: [380, 52, 67, 143, 192, 319, 92, 322, 125, 47, 355, 1], dec: [0, 6, 345, 173, 304, 294, 383, 352, 71, 172, 484, 275, 247, 23, 492, 462, 345, 286] },
];

const views = (ids: number[]) => ids.map((id) => ({ id, text: String(id), special: false, punct: false }));
function encoded(c: Case): Seq2SeqEncoded {
  return { sourceIds: Int32Array.from(c.src), decoderIds: Int32Array.from(c.dec), tokens: views(c.src), targetTokens: views(c.dec), notes: [], start: 0, total: c.src.length };
}

function load(c: Case): Seq2SeqExplainer {
  return new Seq2SeqExplainer(fromPretrainedSeq2Seq(join(FIX, c.name)).model, Tokenizer.gpt2(), { family: c.family });
}

function logits(model: Seq2SeqModel, c: Case, masks: Record<string, unknown> = {}): Float32Array {
  const ids = tensor(Int32Array.from(c.src), [1, c.src.length], { dtype: 'int32' });
  const dec = tensor(Int32Array.from(c.dec), [1, c.dec.length], { dtype: 'int32' });
  return noGrad(() => model.forward(ids, { decoderInputIds: dec, ...masks }).logits.toFloat32Array());
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The output projection whose input columns carry a head of `group`, layer `l`: (C, H·D) out_in. */
function outProjection(model: Seq2SeqModel, group: string, l: number): { weight: Tensor } {
  if (model instanceof T5) {
    const block = (group === 'encoder' ? model.encoder : model.decoder).block[l]!;
    const layer = block.layer as unknown as Array<{ SelfAttention?: { o: { weight: Tensor } }; EncDecAttention?: { o: { weight: Tensor } } }>;
    return group === 'cross' ? layer[1]!.EncDecAttention!.o : layer[0]!.SelfAttention!.o;
  }
  const m = model as Transformer;
  if (group === 'encoder') return m.encoder.layers[l]!.self_attn.out_proj;
  return group === 'cross' ? m.decoder.layers[l]!.encoder_attn.out_proj : m.decoder.layers[l]!.self_attn.out_proj;
}

forEachBackend((backend) => {
  for (const c of CASES) {
    test(`[${backend}] ${c.name}: encoder, decoder and cross maps are transformers' attentions`, () => {
      const x = load(c);
      const groups = x.attentions(encoded(c));
      assert.deepEqual(groups.map((g) => [g.kind, g.causal, g.queries.length, g.keys.length]), [
        ['encoder', false, c.src.length, c.src.length],
        ['decoder', true, c.dec.length, c.dec.length],
        ['cross', false, c.dec.length, c.src.length],
      ]);
      const hf = loadSafetensorsFile(join(FIX, c.name, 'expected.safetensors')).tensors;
      const names = { encoder: 'encoder_attentions', decoder: 'decoder_attentions', cross: 'cross_attentions' } as const;
      for (const g of groups) {
        g.layers.forEach((l, i) => {
          const want = (hf.get(`tf.${names[g.kind as keyof typeof names]}.${i}`)!.data as Float32Array).subarray(0, l.data.length); // row 0
          const d = maxDiff(l.data, want);
          assert.ok(d < 1e-5, `${g.kind} layer ${i}: maps differ from transformers by ${d}`);
        });
      }
    });

    test(`[${backend}] ${c.name}: a head mask of 0 in each group equals zeroing the head's columns of its output projection`, () => {
      const x = load(c);
      const removed: HeadId[] = parseHeads('encoder:0:1, encoder:1:3, decoder:1:0, cross:0:2, cross:1:1', x.heads());
      const mask = maskWithout(x.heads(), removed);
      const masked = logits(x.model, c, { headMask: mask.encoder, decoderHeadMask: mask.decoder, crossAttentionHeadMask: mask.cross });
      const edited = fromPretrainedSeq2Seq(join(FIX, c.name)).model;
      const D = 8;
      for (const { group, layer, head } of removed) {
        const w = outProjection(edited, group, layer).weight; // (C, H·D)
        const [C, A] = w.shape as [number, number];
        const data = w.toFloat32Array().slice();
        for (let r = 0; r < C; r++) data.fill(0, r * A + head * D, r * A + (head + 1) * D);
        w.copyFrom(data);
      }
      const d = maxDiff(masked, logits(edited, c));
      assert.ok(d < 1e-4, `masked vs zeroed heads: ${d}`);
      assert.ok(maxDiff(masked, logits(x.model, c)) > 1e-3, 'the mask must change the output');
      // Each group's mask reaches only its own maps: the masked heads' maps are 0.
      const groups = x.attentions(encoded(c), { headMask: mask });
      for (const { group, layer, head } of removed) {
        const g = groups.find((gg) => gg.kind === group)!;
        const n = g.queries.length * g.keys.length;
        assert.ok(g.layers[layer]!.data.subarray(head * n, (head + 1) * n).every((v) => v === 0), `${group}:${layer}:${head}`);
      }
      assert.throws(() => x.attentions(encoded(c), { headMask: { self: [null] } }), /'encoder', 'decoder' and 'cross' attention heads; the head mask names self/);
      assert.throws(() => logits(x.model, c, { headMask: new Float32Array(3) }), /encoder head mask must be \(H\) = \[4\] or \(layers, H\) = \[2, 4\], got 3 values/);
    });
  }
});

const TEXT = Array.from({ length: 40 }, (_, i) => `the house number ${i} is wonderful and the garden is green`);

test('without a target, the explained output is greedy decoding (src/generate); windows and notes', async () => {
  const tok = await trainTokenizer(TEXT, { type: 'unigram', vocabSize: 39, specialTokens: ['<pad>', '</s>', '<unk>'] });
  const V = tok.vocabSize;
  for (const model of [
    new Transformer(transformerConfig({ preset: 'tiny', vocab_size: V, pad_token_id: 0, eos_token_id: 1, decoder_start_token_id: 0, max_position_embeddings: 64 }), new Rng(3)),
    new T5(t5Config({ preset: 'tiny', vocab_size: V }), new Rng(4)),
  ]) {
    const x = new Seq2SeqExplainer(model, tok, { family: model instanceof T5 ? 't5' : 'marian', maxNewTokens: 6 });
    const src = 'the house is green';
    const e = x.encode({ text: src });
    const g = generateSeq2Seq(model, [tok.encode(src).ids], { max_new_tokens: 6 });
    const want = Array.from(g.sequences[0]!); // [start, y1, …]
    const ys = want.slice(1);
    assert.deepEqual([...e.decoderIds], [model.config.decoder_start_token_id, ...ys.slice(0, -1)]);
    assert.match(e.notes.at(-1)!, /no target given \(--pair\): the maps are of the model's own greedy output/);
    assert.equal(e.targetTokens.length, e.decoderIds.length);
    const t = x.encode({ text: src, pair: 'the garden' });
    assert.deepEqual([...t.decoderIds], [model.config.decoder_start_token_id, ...tok.encode('the garden').ids.slice(0, -1)]);
  }
  const small = new Seq2SeqExplainer(new Transformer(transformerConfig({ preset: 'tiny', vocab_size: V, max_position_embeddings: 8, pad_token_id: 0, eos_token_id: 1, decoder_start_token_id: 0 }), new Rng(5)), tok, { family: 'marian' });
  const long = small.encode({ text: TEXT.slice(0, 3).join(' '), pair: 'the' });
  assert.equal(long.sourceIds.length, 8);
  assert.match(long.notes[0]!, /explaining tokens 0..7 \(the model's context is 8 tokens\)/);
});

test('teacher-forced objective: ∂L/∂ξ per group equals finite differences; token accuracy by hand', async () => {
  const tok = await trainTokenizer(TEXT, { type: 'unigram', vocabSize: 39, specialTokens: ['<pad>', '</s>', '<unk>'] });
  const model = new Transformer(transformerConfig({ preset: 'tiny', vocab_size: tok.vocabSize, pad_token_id: 0, eos_token_id: 1, decoder_start_token_id: 0 }), new Rng(6));
  const x = new Seq2SeqExplainer(model, tok, { family: 'marian' });
  const pairs = [
    { source: 'the house is green', target: 'the garden is wonderful' },
    { source: 'number 7', target: 'the house number 7' },
    { source: 'the garden', target: 'is green' },
  ];
  const obj = seq2seqObjective(x, { importance: pairs.slice(0, 1), evaluation: pairs }, { batchSize: 1 });
  const imp = headImportance(x.heads(), obj, { normalizeLayers: false });
  assert.equal(imp.heads.length, 3 * 2 * 4); // encoder, decoder, cross × 2 layers × 4 heads
  const src = tensor(Int32Array.from(tok.encode(pairs[0]!.source).ids), [1, tok.encode(pairs[0]!.source).ids.length], { dtype: 'int32' });
  const y = tok.encode(pairs[0]!.target).ids;
  const labels = tensor(Int32Array.from(y), [1, y.length], { dtype: 'int32' });
  const key = { encoder: 'headMask', decoder: 'decoderHeadMask', cross: 'crossAttentionHeadMask' } as const;
  const loss = (h: HeadId, v: number) => {
    const m = [0, 1].map((l) => Float32Array.from([0, 1, 2, 3], (hh) => (l === h.layer && hh === h.head ? v : 1)));
    return noGrad(() => model.forward(src, { labels, [key[h.group as keyof typeof key]]: m }).loss!.item());
  };
  const eps = 1e-2;
  for (const h of imp.heads) {
    const fd = (loss(h, 1 + eps) - loss(h, 1 - eps)) / (2 * eps);
    assert.ok(Math.abs(h.raw - Math.abs(fd)) < 2e-3 + 0.02 * Math.abs(fd), `${h.group}:${h.layer}:${h.head}: ${h.raw} vs ${Math.abs(fd)}`);
  }
  // Token accuracy: the argmax of each teacher-forced position against its label, one pair at a time.
  let right = 0;
  let count = 0;
  for (const p of pairs) {
    const s = tok.encode(p.source).ids;
    const t = tok.encode(p.target).ids;
    const z = noGrad(() => model.forward(tensor(Int32Array.from(s), [1, s.length], { dtype: 'int32' }), { labels: tensor(Int32Array.from(t), [1, t.length], { dtype: 'int32' }) }).logits.toFloat32Array());
    const V = z.length / t.length;
    t.forEach((label, i) => {
      const row = Array.from(z.subarray(i * V, (i + 1) * V));
      if (row.indexOf(Math.max(...row)) === label) right++;
      count++;
    });
  }
  assert.equal(obj.quality(), right / count);
  // Padded batches score the same as one pair at a time.
  assert.equal(seq2seqObjective(x, { importance: pairs, evaluation: pairs }, { batchSize: 3 }).quality(), right / count);
});
