// The 2017 Transformer as Hugging Face's MarianMTModel: teacher-forced logits, encoder and decoder hidden
// states, self- and cross-attention maps of the marian-tiny fixture (transformers 4.36.2), on every backend;
// save → load round trips and the config.json transformers writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend } from '../_backends.js';
import { noGrad } from '../../src/tensor/index.js';
import { Transformer } from '../../src/models/transformer.js';
import { fromPretrainedSeq2Seq, saveSeq2Seq, marianConfigToHF, seq2seqForward } from '../../src/models/seq2seq_pretrained.js';
import { loadSafetensorsFile } from '../../src/io/node.js';
import { fixture, loadExpected, ids, maxDiff } from './_seq2seq_fixtures.js';

function marian(): Transformer {
  const { model } = fromPretrainedSeq2Seq(fixture('marian-tiny'));
  assert.ok(model instanceof Transformer);
  return model;
}

forEachBackend((backend) => {
  test(`[${backend}] marian-tiny teacher forcing: logits, hidden states, attentions match transformers`, () => {
    const { json, arrays } = loadExpected('marian-tiny');
    const tf = json.teacher_forcing;
    const model = marian();
    const out = noGrad(() => model.forward(ids(tf.input_ids), { attentionMask: ids(tf.attention_mask), decoderInputIds: ids(tf.decoder_input_ids), outputAttentions: true, outputHiddenStates: true }));
    const dl = maxDiff(out.logits.toFloat32Array(), arrays.get(tf.logits)!);
    assert.ok(dl < 1e-4, `logits differ by ${dl}`);
    // Encoder rows at padded source positions carry no meaning (the fixture says so): compare real rows.
    const mask = tf.attention_mask.flat();
    const S = tf.input_ids[0]!.length;
    const C = model.config.d_model;
    const realRow = (i: number) => mask[Math.floor(i / C)] === 1;
    const de = maxDiff(out.encoderLastHiddenState.toFloat32Array(), arrays.get(tf.encoder_last_hidden_state)!, realRow);
    assert.ok(de < 1e-4, `encoder last hidden state differs by ${de}`);
    tf.encoder_hidden_states.forEach((name, l) => {
      const d = maxDiff(out.encoderHiddenStates![l]!.toFloat32Array(), arrays.get(name)!, realRow);
      assert.ok(d < 1e-4, `encoder hidden state ${l} differs by ${d}`);
    });
    tf.decoder_hidden_states.forEach((name, l) => {
      const d = maxDiff(out.decoderHiddenStates![l]!.toFloat32Array(), arrays.get(name)!);
      assert.ok(d < 1e-4, `decoder hidden state ${l} differs by ${d}`);
    });
    const H = model.config.encoder_attention_heads;
    tf.encoder_attentions.forEach((name, l) => {
      // (B, H, S, S): query rows of real tokens.
      const d = maxDiff(out.encoderAttentions![l]!.toFloat32Array(), arrays.get(name)!, (i) => mask[Math.floor(i / (H * S * S)) * S + (Math.floor(i / S) % S)] === 1);
      assert.ok(d < 1e-5, `encoder attention ${l} differs by ${d}`);
    });
    tf.decoder_attentions.forEach((name, l) => {
      const d = maxDiff(out.decoderAttentions![l]!.toFloat32Array(), arrays.get(name)!);
      assert.ok(d < 1e-5, `decoder self-attention ${l} differs by ${d}`);
    });
    tf.cross_attentions.forEach((name, l) => {
      const d = maxDiff(out.crossAttentions![l]!.toFloat32Array(), arrays.get(name)!);
      assert.ok(d < 1e-5, `cross-attention ${l} differs by ${d}`);
    });
  });
});

test('marian: save → load is bit-identical, with the checkpoint keys and config.json transformers writes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-marian-'));
  try {
    const { json } = loadExpected('marian-tiny');
    const a = marian();
    const hfConfig = JSON.parse(readFileSync(join(fixture('marian-tiny'), 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(marianConfigToHF(a.config), hfConfig);
    saveSeq2Seq(a, join(dir, 'm'));
    const saved = [...loadSafetensorsFile(join(dir, 'm', 'model.safetensors')).tensors.keys()].sort();
    assert.deepEqual(saved, [...json.checkpoint_keys].sort());
    const b = fromPretrainedSeq2Seq(join(dir, 'm'));
    const pa = new Map(a.namedParameters());
    for (const [name, p] of b.model.namedParameters()) assert.deepEqual(p.toFloat32Array(), pa.get(name)!.toFloat32Array(), name);
    assert.equal(b.generationConfig['decoder_start_token_id'], 499);
    assert.equal(b.generationConfig['forced_eos_token_id'], 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('marian: bad folders and inputs are errors that name the file and the value', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-marian-bad-'));
  try {
    const a = marian();
    saveSeq2Seq(a, join(dir, 'm'));
    const cfgPath = join(dir, 'm', 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, d_model: 64 }));
    assert.throws(() => fromPretrainedSeq2Seq(join(dir, 'm')), /shape mismatches: .*model\.shared\.weight: checkpoint \[500, 32\], model \[500, 64\]/);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, share_encoder_decoder_embeddings: false }));
    assert.throws(() => fromPretrainedSeq2Seq(join(dir, 'm')), /config\.json: share_encoder_decoder_embeddings is false/);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, model_type: 'bart' }));
    assert.throws(() => fromPretrainedSeq2Seq(join(dir, 'm')), /model_type "bart" is not an encoder-decoder attn loads/);
    // A source longer than the position table, and ids outside the vocabulary.
    const long = ids([Array.from({ length: 65 }, () => 5)]);
    assert.throws(() => a.encode(long), /cannot encode a source of 65 tokens: max_position_embeddings is 64/);
    assert.throws(() => a.encode(ids([[3, 700]])), /source ids: token id 700 at row 0, position 1 is outside the vocabulary of size 500/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('seq2seqForward (for attn forward --decoder-input-ids): plain arrays under transformers\' output names', () => {
  const { json, arrays } = loadExpected('marian-tiny');
  const tf = json.teacher_forcing;
  const r = seq2seqForward(marian(), tf.input_ids, tf.attention_mask, tf.decoder_input_ids, { attentions: true, hiddenStates: true });
  assert.deepEqual(r.logits.shape, [2, 7, 500]);
  assert.ok(maxDiff(r.logits.data, arrays.get(tf.logits)!) < 1e-4);
  assert.equal(r.cross_attentions!.length, 2);
  assert.ok(maxDiff(r.cross_attentions![1]!.data, arrays.get(tf.cross_attentions[1]!)!) < 1e-5);
  assert.equal(r.encoder_hidden_states!.length, 3);
  assert.throws(() => seq2seqForward(marian(), [[1, 2], [3]], null, [[499], [499]]), /input ids must be a non-empty rectangle/);
});
