// T5 (original, tied, ReLU) and T5 v1.1 (gated-GELU, own lm_head) against transformers 4.36.2: relative
// position buckets, teacher-forced loss, logits, hidden states and every attention map, on every backend;
// save → load round trips and config.json as transformers writes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend } from '../_backends.js';
import { noGrad } from '../../src/tensor/index.js';
import { T5, relativePositionBucket } from '../../src/models/t5.js';
import { fromPretrainedSeq2Seq, saveSeq2Seq, t5ConfigToHF } from '../../src/models/seq2seq_pretrained.js';
import { loadSafetensorsFile } from '../../src/io/node.js';
import { fixture, loadExpected, ids, maxDiff } from './_seq2seq_fixtures.js';

function t5(name: string): T5 {
  const { model } = fromPretrainedSeq2Seq(fixture(name));
  assert.ok(model instanceof T5);
  return model;
}

test('relative position buckets equal transformers\' for −140..140, both directions', () => {
  const { json } = loadExpected('t5-tiny');
  const b = json.relative_position_buckets!;
  b.relative_positions.forEach((n, i) => {
    assert.equal(relativePositionBucket(n, true, 32, 128), b.bidirectional[i], `bidirectional ${n}`);
    assert.equal(relativePositionBucket(n, false, 32, 128), b.unidirectional[i], `unidirectional ${n}`);
  });
});

function checkTeacherForcing(name: string): void {
  const { json, arrays } = loadExpected(name);
  const tf = json.teacher_forcing;
  const model = t5(name);
  const out = noGrad(() => model.forward(ids(tf.input_ids), { attentionMask: ids(tf.attention_mask), labels: ids(tf.labels!), outputAttentions: true, outputHiddenStates: true }));
  assert.ok(Math.abs(out.loss!.item() - tf.loss!) < 1e-5, `${name}: loss ${out.loss!.item()} vs ${tf.loss}`);
  const dl = maxDiff(out.logits.toFloat32Array(), arrays.get(tf.logits)!);
  assert.ok(dl < 1e-4, `${name}: logits differ by ${dl}`);
  const mask = tf.attention_mask.flat();
  const S = tf.input_ids[0]!.length;
  const C = model.config.d_model;
  const H = model.config.num_heads;
  const realRow = (i: number) => mask[Math.floor(i / C)] === 1;
  const de = maxDiff(out.encoderLastHiddenState.toFloat32Array(), arrays.get(tf.encoder_last_hidden_state)!, realRow);
  assert.ok(de < 1e-4, `${name}: encoder last hidden state differs by ${de}`);
  tf.encoder_hidden_states.forEach((a, l) => {
    const d = maxDiff(out.encoderHiddenStates![l]!.toFloat32Array(), arrays.get(a)!, realRow);
    assert.ok(d < 1e-4, `${name}: encoder hidden state ${l} differs by ${d}`);
  });
  tf.decoder_hidden_states.forEach((a, l) => {
    const d = maxDiff(out.decoderHiddenStates![l]!.toFloat32Array(), arrays.get(a)!);
    assert.ok(d < 1e-4, `${name}: decoder hidden state ${l} differs by ${d}`);
  });
  tf.encoder_attentions.forEach((a, l) => {
    const d = maxDiff(out.encoderAttentions![l]!.toFloat32Array(), arrays.get(a)!, (i) => mask[Math.floor(i / (H * S * S)) * S + (Math.floor(i / S) % S)] === 1);
    assert.ok(d < 1e-5, `${name}: encoder attention ${l} differs by ${d}`);
  });
  tf.decoder_attentions.forEach((a, l) => {
    const d = maxDiff(out.decoderAttentions![l]!.toFloat32Array(), arrays.get(a)!);
    assert.ok(d < 1e-5, `${name}: decoder self-attention ${l} differs by ${d}`);
  });
  tf.cross_attentions.forEach((a, l) => {
    const d = maxDiff(out.crossAttentions![l]!.toFloat32Array(), arrays.get(a)!);
    assert.ok(d < 1e-5, `${name}: cross-attention ${l} differs by ${d}`);
  });
}

forEachBackend((backend) => {
  test(`[${backend}] t5-tiny (ReLU, tied head × d_model^-0.5): loss, logits, states, attentions`, () => checkTeacherForcing('t5-tiny'));
  test(`[${backend}] t5-v1_1-tiny (gated-GELU, own lm_head): loss, logits, states, attentions`, () => checkTeacherForcing('t5-v1_1-tiny'));
});

test('t5: save → load is bit-identical; keys and config.json are transformers\'', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-t5-'));
  try {
    for (const name of ['t5-tiny', 't5-v1_1-tiny']) {
      const { json } = loadExpected(name);
      const a = t5(name);
      const hfConfig = JSON.parse(readFileSync(join(fixture(name), 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(t5ConfigToHF(a.config), hfConfig, name);
      saveSeq2Seq(a, join(dir, name));
      const saved = [...loadSafetensorsFile(join(dir, name, 'model.safetensors')).tensors.keys()].sort();
      assert.deepEqual(saved, [...json.checkpoint_keys].sort(), name);
      const b = fromPretrainedSeq2Seq(join(dir, name));
      const pa = new Map(a.namedParameters());
      for (const [n, p] of b.model.namedParameters()) assert.deepEqual(p.toFloat32Array(), pa.get(n)!.toFloat32Array(), `${name} ${n}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
