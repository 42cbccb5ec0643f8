// Quantisation for every model family with a Hugging Face folder: BERT (and its relatives, through the same
// loader), Marian (the 2017 Transformer) and T5, on the tiny transformers fixtures, on every backend.
// For each family and int8 / int4:
//   - `attn quantize` writes a folder that loads (fromPretrainedBert / fromPretrainedSeq2Seq) to exactly the weights
//     that quantising the float folder while loading gives, and the family's saver writes the same file back;
//   - its outputs equal those of its float twin (the float model with the dequantised weights, test/quant/_twin.ts)
//     up to float rounding: every Linear and Embedding of the family goes through the quantised path. The inputs
//     have ≥ 5 rows per product, so the kernels compute in float (the 8-bit activations of a few rows are covered
//     by test/quant/kernels.test.ts and the GPT generation test);
//   - and they stay near the float model's: a loose sanity bound on these random tiny models (C = 32), where each
//     weight moves by up to half a step, max |w| / 254 (int8) or max |w| / 14 per group of 32 (int4): logits within
//     5 % (int8) and 40 % (int4) of the largest float logit (measured ~1.3 % and ~26–34 %, printed by the tests;
//     int4 in groups of 32 is coarse on random weights). (Quality on a trained model is measured with
//     `attn eval --dtype`, see QUANT_README_SECTION.md.)
//   - generation from a quantised folder and from quantising while loading give the same tokens; the task API
//     (AutoModelFor…, pipelines) takes `dtype`.
// The RNN encoder-decoder has no Hugging Face folder; quantizeModel quantises its projections and embeddings (not
// the GRU/LSTM gate matrices, nor additive attention's v, READ_AS_FLOAT), with the same twin check.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateSeq2Seq } from '../../src/generate/seq2seq.js';
import type { BertHeadOutput } from '../../src/models/bert.js';
import { fromPretrainedBert, saveBertPretrained } from '../../src/models/bert_pretrained.js';
import { fromPretrainedSeq2Seq, saveSeq2Seq, seq2seqForward } from '../../src/models/seq2seq_pretrained.js';
import type { Module } from '../../src/nn/index.js';
import { AutoModelForMaskedLM } from '../../src/pipelines/encoder.js';
import { AutoModelForSeq2SeqLM } from '../../src/pipelines/text2text.js';
import { quantizeFolder } from '../../src/quant/folder.js';
import { quantizeModel } from '../../src/quant/model.js';
import { RNNSeq2Seq, rnnSeq2SeqConfig } from '../../src/models/rnn_attention.js';
import { Rng } from '../../src/tensor/index.js';
import { asQuantized } from '../../src/quant/ops.js';
import { noGrad, tensor } from '../../src/tensor/index.js';
import { forEachBackend } from '../_backends.js';
import { makeFloatTwin, maxDiff } from './_twin.js';

const FIX = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'attn-quant-families-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const BOUND = { int8: 0.05, int4: 0.4 } as const;

/** Every parameter of `a` equals `b`'s: quantised values and scales byte for byte, float values exactly. */
function sameWeights(a: Module, b: Module, what: string): number {
  const other = new Map(b.namedParameters());
  let quantized = 0;
  for (const [name, p] of a.namedParameters()) {
    const q = asQuantized(p);
    const o = other.get(name)!;
    if (!q) {
      assert.deepEqual(Array.from(p.toFloat32Array()), Array.from(o.toFloat32Array()), `${what}: ${name}`);
      continue;
    }
    quantized++;
    assert.deepEqual(Array.from(q.quantized.data), Array.from(asQuantized(o)!.quantized.data), `${what}: ${name} values`);
    assert.deepEqual(Array.from(q.quantized.scales), Array.from(asQuantized(o)!.quantized.scales), `${what}: ${name} scales`);
  }
  return quantized;
}

function checkClose(got: Float32Array, twin: Float32Array, float: Float32Array, dtype: 'int8' | 'int4', what: string): string {
  for (let i = 0; i < twin.length; i++) assert.ok(Math.abs(got[i]! - twin[i]!) <= 1e-4 * (1 + Math.abs(twin[i]!)), `${what}: [${i}] ${got[i]} vs the float twin's ${twin[i]}`);
  const { diff, scale } = maxDiff(got, float);
  assert.ok(diff > 0, `${what}: quantisation changes something`);
  assert.ok(diff <= BOUND[dtype] * scale, `${what}: max |Δ logit| ${diff.toFixed(4)} > ${BOUND[dtype]} × ${scale.toFixed(3)}`);
  return `${what}: max |Δ logit| against float32 ${diff.toFixed(4)} = ${((100 * diff) / scale).toFixed(1)} % of the largest logit`;
}

forEachBackend((backend) => {
  for (const dtype of ['int8', 'int4'] as const) {
    const bits = dtype === 'int8' ? 8 : 4;

    test(`BERT (${dtype}, ${backend}): quantised folder round trip, outputs equal the float twin's and near the float model's`, (t) => {
      const src = join(FIX, 'bert-family', 'bert-tiny-mlm');
      const out = join(dir, `bert-${dtype}-${backend}`);
      const { report } = quantizeFolder(src, out, { bits });
      assert.equal(report.quantized.length, 3 + 2 * 6 + 1, 'word / position / token-type embeddings, 6 Linears per layer, the MLM transform');
      const loaded = fromPretrainedBert(out);
      assert.equal(sameWeights(loaded.model, fromPretrainedBert(src, { dtype }).model, 'folder = quantised while loading'), report.quantized.length);
      const again = join(dir, `bert-${dtype}-${backend}-saved`);
      saveBertPretrained(loaded.model, again);
      assert.deepEqual(readFileSync(join(again, 'model.safetensors')), readFileSync(join(out, 'model.safetensors')), 'saveBertPretrained writes the same tensors');
      assert.equal((JSON.parse(readFileSync(join(again, 'config.json'), 'utf8')) as { quantization_config: { bits: number } }).quantization_config.bits, bits);

      const ids = tensor([2, 15, 87, 3, 401, 16, 999, 3], [1, 8], { dtype: 'int32' });
      const logits = (m: Module) => noGrad(() => (m as unknown as { forward(x: typeof ids): BertHeadOutput }).forward(ids).logits.toFloat32Array());
      const float = fromPretrainedBert(src).model;
      const twin = makeFloatTwin(loaded.model, fromPretrainedBert(src).model);
      t.diagnostic(checkClose(logits(loaded.model), logits(twin), logits(float), dtype, `BERT ${dtype}`));

      const em = AutoModelForMaskedLM.fromPretrained(src, { dtype });
      assert.ok(asQuantized(em.model.bert.encoder.layer[0]!.attention.self.query.weight), 'AutoModelForMaskedLM takes dtype');
      assert.throws(() => fromPretrainedBert(out, { head: 'sequence-classification', id2label: ['a', 'b'] }), /keeps the folder's own head \(masked-lm\); a new head/);
    });

    // Marian: shared + 4 projections × (2 encoder + 2 decoder self) + 4 × 2 cross + 2 × 4 FFN = 33.
    // T5 v1.1: shared, lm_head, q k v o per attention (2 + 2 + 2 cross) = 24, wi_0 wi_1 wo × 4 blocks = 12, and the two
    // relative position tables (32 buckets × 4 heads) in int8 only: int4 needs inputs in multiples of 32.
    for (const [family, fixture, modules] of [['Marian', 'marian-tiny', 33], ['T5', 't5-v1_1-tiny', dtype === 'int8' ? 40 : 38]] as const) {
      test(`${family} (${dtype}, ${backend}): quantised folder round trip, outputs equal the float twin's and near the float model's, generation`, async (t) => {
        const src = join(FIX, fixture);
        const out = join(dir, `${fixture}-${dtype}-${backend}`);
        const { report } = quantizeFolder(src, out, { bits });
        assert.equal(report.quantized.length, modules, `${family}: the shared embedding and every projection`);
        const loaded = fromPretrainedSeq2Seq(out);
        assert.equal(sameWeights(loaded.model, fromPretrainedSeq2Seq(src, { dtype }).model, 'folder = quantised while loading'), report.quantized.length);
        const again = join(dir, `${fixture}-${dtype}-${backend}-saved`);
        saveSeq2Seq(loaded.model, again);
        assert.deepEqual(readFileSync(join(again, 'model.safetensors')), readFileSync(join(out, 'model.safetensors')), 'saveSeq2Seq writes the same tensors');

        const source = [[37, 5, 101, 220, 8, 400, 0]];
        const target = [[loaded.model.config.decoder_start_token_id, 44, 9, 310, 72, 15]];
        const logits = (m: typeof loaded.model) => seq2seqForward(m, source, null, target).logits.data;
        const float = fromPretrainedSeq2Seq(src).model;
        const twin = makeFloatTwin(loaded.model, fromPretrainedSeq2Seq(src).model);
        t.diagnostic(checkClose(logits(loaded.model), logits(twin), logits(float), dtype, `${family} ${dtype}`));

        const opts = { max_new_tokens: 6, do_sample: false };
        const atLoad = await AutoModelForSeq2SeqLM.fromPretrained(src, { dtype });
        assert.deepEqual(generateSeq2Seq(loaded.model, source, opts).sequences, generateSeq2Seq(atLoad.model, source, opts).sequences, `${family}: same tokens`);
      });
    }

    for (const attention of ['bahdanau', 'luong-general'] as const) {
      test(`RNN encoder-decoder, ${attention} (${dtype}, ${backend}): quantizeModel; outputs equal the float twin's and near the float model's`, (t) => {
        const cfg = rnnSeq2SeqConfig({ src_vocab_size: 40, tgt_vocab_size: 48, embedding_size: 32, encoder_hidden_size: 32, decoder_hidden_size: 64, attention_size: 32, attention });
        const make = () => new RNNSeq2Seq(cfg, new Rng(7)).eval();
        const quantized = make();
        const report = quantizeModel(quantized, { bits });
        const names = report.quantized.map((q) => q.name).sort();
        assert.deepEqual(names, attention === 'bahdanau'
          ? ['attn_U.weight', 'attn_W.weight', 'bridge.weight', 'combine.weight', 'generator.weight', 'src_embed.weight', 'tgt_embed.weight']
          : ['attn_U.weight', 'bridge.weight', 'combine.weight', 'generator.weight', 'src_embed.weight', 'tgt_embed.weight']);
        // 6 sequences: every product has ≥ 5 rows, so the kernels compute in float (see the top of the file).
        const src = tensor(Array.from({ length: 6 * 7 }, (_, i) => 3 + ((i * 11) % 37)), [6, 7], { dtype: 'int32' });
        const dec = tensor(Array.from({ length: 6 * 5 }, (_, i) => (i % 5 === 0 ? 1 : 3 + ((i * 7) % 45))), [6, 5], { dtype: 'int32' });
        const lengths = [7, 7, 6, 5, 7, 4];
        const logits = (m: RNNSeq2Seq) => noGrad(() => m.forward(src, lengths, dec).logits.toFloat32Array());
        t.diagnostic(checkClose(logits(quantized), logits(makeFloatTwin(quantized, make())), logits(make()), dtype, `RNN ${attention} ${dtype}`));
      });
    }
  }
});
