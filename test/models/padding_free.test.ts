// Padding-free training (src/nn/packing.ts): the layers run on the real positions of a padded batch only.
// The oracle is the padded computation itself, which the Hugging Face parity suites check: packed, the loss,
// the logits of every real target position and every parameter's gradient must be the same. scatterRows, the
// one new op, is checked against finite differences. Every suite runs on each backend (wasm included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend } from '../_backends.js';
import { gradcheck, leaf } from '../tensor/_gradcheck.js';
import { Rng, scatterRows, tensor, type Tensor } from '../../src/tensor/index.js';
import { MultiHeadAttention, Packing } from '../../src/nn/index.js';
import { Transformer, transformerConfig } from '../../src/models/transformer.js';
import { T5, t5Config } from '../../src/models/t5.js';
import { collatePairs, type Seq2SeqPair } from '../../src/train/seq2seq.js';
import { BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification, bertConfig } from '../../src/models/bert.js';
import { RNNSeq2Seq, rnnSeq2SeqConfig } from '../../src/models/rnn_attention.js';

const PAD = 0;
const EOS = 2;

/** Pairs of very different lengths, so a batch is mostly padding on both sides. */
function pairs(seed: number): Seq2SeqPair[] {
  const rng = new Rng(seed);
  return [9, 2, 5, 1, 7].map((len) => ({
    source: Int32Array.from({ length: len + 1 }, (_, i) => (i === len ? EOS : 3 + rng.int(13))),
    target: Int32Array.from({ length: 1 + ((len * 3) % 7) }, () => 3 + rng.int(13)),
  }));
}

function close(a: Float32Array, b: Float32Array, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  assert.ok(worst <= tol, `${what}: differs by ${worst} (tolerance ${tol})`);
}

/** Loss, logits at the labelled positions and gradients, padded and padding-free; they must agree. */
function comparePacked(model: Transformer | T5, batch: ReturnType<typeof collatePairs>, labelSmoothing: number): void {
  model.train(false); // no dropout: the two runs draw different random numbers
  const run = (paddingFree: boolean) => {
    model.zeroGrad();
    const out = model.forward(batch.inputIds, { attentionMask: batch.attentionMask, labels: batch.labels, labelSmoothing, paddingFree });
    out.loss!.backward();
    const grads = new Map(model.namedParameters().map(([n, p]) => [n, p.grad?.toFloat32Array() ?? new Float32Array(0)]));
    return { loss: out.loss!.item(), logits: out.logits, grads };
  };
  const padded = run(false);
  const packed = run(true);
  const [B, T, V] = padded.logits.shape as [number, number, number];
  const labels = batch.labels.toArray() as number[];
  // Packed logits: each row's positions up to its last label, in order.
  const rowsOf = (b: number) => {
    let end = T;
    while (end > 0 && labels[b * T + end - 1] === -100) end--;
    return end;
  };
  const kept = Array.from({ length: B }, (_, b) => rowsOf(b)).reduce((a, n) => a + n, 0);
  assert.deepEqual(packed.logits.shape, [kept, V]);
  assert.ok(kept < B * T, 'the batch must have target padding for the test to mean anything');
  const want = new Float32Array(kept * V);
  const all = padded.logits.toFloat32Array();
  let r = 0;
  for (let b = 0; b < B; b++) for (let t = 0; t < rowsOf(b); t++, r++) want.set(all.subarray((b * T + t) * V, (b * T + t + 1) * V), r * V);
  close(packed.logits.toFloat32Array(), want, 1e-5, 'logits');
  assert.ok(Math.abs(packed.loss - padded.loss) <= 1e-5 * Math.max(1, padded.loss), `loss ${packed.loss} vs ${padded.loss}`);
  let checked = 0;
  for (const [name, g] of padded.grads) {
    if (g.length === 0) continue;
    close(packed.grads.get(name)!, g, 2e-5, `gradient of ${name}`);
    checked++;
  }
  assert.ok(checked > 20, `only ${checked} gradients compared`);
}

forEachBackend(() => {
  test('scatterRows: rows land where the index says, the rest are zero; its gradient matches finite differences', () => {
    const x = tensor(Float32Array.of(1, 2, 3, 4), [2, 2]);
    const y = scatterRows(x, tensor(Int32Array.of(3, 0), [2], { dtype: 'int32' }), 4);
    assert.deepEqual(Array.from(y.toFloat32Array()), [3, 4, 0, 0, 0, 0, 1, 2]);
    const idx = tensor(Int32Array.of(4, 1, 2), [3], { dtype: 'int32' });
    assert.ok(gradcheck((a: Tensor) => scatterRows(a, idx, 6), [leaf([3, 2, 3], 5)]) === 18);
    assert.throws(() => scatterRows(x, tensor(Int32Array.of(1, 1), [2], { dtype: 'int32' }), 4), /row 1 is named twice/);
    assert.throws(() => scatterRows(x, tensor(Int32Array.of(0, 4), [2], { dtype: 'int32' }), 4), /index 4 at position 1 is out of range for 4 rows/);
  });

  test('Packing: real positions from a mask and up to the last label; pack then unpack zeroes only the padding', () => {
    const m = Packing.fromMask(Uint8Array.of(1, 1, 0, 1, 0, 0), 2, 3)!;
    assert.deepEqual(Array.from(m.index.toArray() as number[]), [0, 1, 3]);
    assert.equal(Packing.fromMask(Uint8Array.of(1, 1, 1, 1), 2, 2), undefined, 'no padding: nothing to pack');
    // An ignored label before a real one stays: a causal decoder's later position reads it.
    const l = Packing.upToLastLabel(Int32Array.of(5, -100, 6, -100, 7, -100, -100, -100), 2, 4)!;
    assert.deepEqual(Array.from(l.index.toArray() as number[]), [0, 1, 2, 4]);
    const x = tensor(Float32Array.from({ length: 6 * 2 }, (_, i) => i + 1), [2, 3, 2]);
    const back = m.unpack(m.pack(x));
    assert.deepEqual(Array.from(back.toFloat32Array()), [1, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 0]);
    assert.throws(() => m.pack(tensor(new Float32Array(8), [2, 4, 1])), /expected \(B, T, …\) = \(2, 3, …\)/);
  });

  test('MultiHeadAttention with packed rows gives the padded result at the real positions (fused and separate projections)', () => {
    const [B, T, C] = [3, 5, 8];
    const mask = Uint8Array.of(1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0);
    const rows = Packing.fromMask(mask, B, T)!;
    const x = leaf([B, T, C], 11);
    for (const [projections, causal] of [['fused', false], ['separate', true]] as const) {
      const attn = new MultiHeadAttention({ dim: C, heads: 2, projections, names: { qkv: 'c_attn', q: 'q', k: 'k', v: 'v', out: 'o' }, causal });
      const want = rows.pack(attn.forward(x, { keyMask: mask }).out).toFloat32Array();
      const got = attn.forward(rows.pack(x), { keyMask: mask, rows }).out;
      assert.deepEqual(got.shape, [rows.count, C]);
      close(got.toFloat32Array(), want, 1e-6, `${projections} attention`);
    }
    const attn = new MultiHeadAttention({ dim: C, heads: 2, projections: 'separate', names: { q: 'q', k: 'k', v: 'v', out: 'o' } });
    assert.throws(() => attn.forward(rows.pack(x), { rows, kvRows: rows }), /kvRows given without kv/);
  });

  test('paddingFree: the Transformer (post-LN and pre-LN) gives the padded loss, logits and every gradient', () => {
    const base = { preset: 'tiny' as const, vocab_size: 16, d_model: 32, encoder_ffn_dim: 64, decoder_ffn_dim: 64, pad_token_id: PAD, decoder_start_token_id: 1, eos_token_id: EOS, max_position_embeddings: 16 };
    const batch = collatePairs(pairs(1), PAD);
    comparePacked(new Transformer(transformerConfig(base), new Rng(1)), batch, 0.1);
    comparePacked(new Transformer(transformerConfig({ ...base, normalize_before: true, activation_function: 'swish' }), new Rng(2)), batch, 0);
  });

  test('paddingFree: T5 (relu, gated-gelu untied) gives the padded loss, logits and every gradient', () => {
    const base = { preset: 'tiny' as const, vocab_size: 16, d_model: 32, d_kv: 8, d_ff: 64, pad_token_id: PAD, decoder_start_token_id: PAD, eos_token_id: EOS };
    const batch = collatePairs(pairs(2), PAD);
    comparePacked(new T5(t5Config(base), new Rng(3)), batch, 0);
    comparePacked(new T5(t5Config({ ...base, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false }), new Rng(4)), batch, 0.1);
  });

  test('paddingFree: padding on one side only (sources of different lengths, targets of one length)', () => {
    const model = new Transformer(transformerConfig({ preset: 'tiny', vocab_size: 16, d_model: 32, encoder_ffn_dim: 64, decoder_ffn_dim: 64, pad_token_id: PAD, decoder_start_token_id: 1, eos_token_id: EOS }), new Rng(6));
    const same = pairs(4).map((p) => ({ source: p.source, target: Int32Array.of(5, 6, 7, EOS) }));
    const batch = collatePairs(same, PAD);
    model.train(false);
    const loss = (paddingFree: boolean) => model.forward(batch.inputIds, { attentionMask: batch.attentionMask, labels: batch.labels, paddingFree });
    const packed = loss(true);
    assert.deepEqual(packed.logits.shape, [5, 4, 16], 'no target padding: the logits keep their (B, T, V) shape');
    assert.equal(packed.encoderLastHiddenState.ndim, 2, 'the source was packed');
    close(packed.logits.toFloat32Array(), loss(false).logits.toFloat32Array(), 1e-5, 'logits');
  });

  test('paddingFree: an ignored label inside a target keeps its position; without labels it is an error', () => {
    const model = new Transformer(transformerConfig({ preset: 'tiny', vocab_size: 16, d_model: 32, encoder_ffn_dim: 64, decoder_ffn_dim: 64, pad_token_id: PAD, decoder_start_token_id: 1, eos_token_id: EOS }), new Rng(5));
    const batch = collatePairs(pairs(3), PAD);
    const labels = batch.labels.toArray() as number[];
    labels[1] = -100; // row 0's second label ignored, later ones not
    comparePacked(model, { ...batch, labels: tensor(Int32Array.from(labels), [...batch.labels.shape], { dtype: 'int32' }) }, 0);
    assert.throws(() => model.forward(batch.inputIds, { attentionMask: batch.attentionMask, paddingFree: true, decoderInputIds: batch.inputIds }), /paddingFree needs labels/);
  });

  test('paddingFree: BERT and RoBERTa heads give the padded logits at real tokens, the same loss and every gradient', () => {
    // Rows of 7, 3, 5 and 1 real tokens padded to 7; RoBERTa counts positions after its padding id.
    const lens = [7, 3, 5, 1];
    const [B, T] = [lens.length, 7];
    const rng = new Rng(8);
    const ids = Int32Array.from({ length: B * T }, (_, i) => (i % T < lens[Math.floor(i / T)]! ? 5 + rng.int(40) : 1));
    const mask = Int32Array.from({ length: B * T }, (_, i) => (i % T < lens[Math.floor(i / T)]! ? 1 : 0));
    const input = tensor(ids, [B, T], { dtype: 'int32' });
    const attentionMask = tensor(mask, [B, T], { dtype: 'int32' });
    const tokenLabels = tensor(Int32Array.from(mask, (m, i) => (m ? i % 3 : -100)), [B, T], { dtype: 'int32' });
    const sentenceLabels = tensor(Int32Array.of(0, 1, 1, 0), [B], { dtype: 'int32' });
    const real = (logits: Float32Array, per: number): Float32Array => Float32Array.from(logits.filter((_, i) => mask[Math.floor(i / per)] === 1));
    for (const model_type of ['bert', 'roberta'] as const) {
      const cfg = bertConfig({ preset: 'tiny', model_type, vocab_size: 64, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 16, pad_token_id: 1, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, id2label: ['A', 'B', 'C'] });
      const heads = [
        { model: new BertForSequenceClassification(cfg, { rng: new Rng(1) }), labels: sentenceLabels, per: 0 },
        { model: new BertForTokenClassification(cfg, { rng: new Rng(2) }), labels: tokenLabels, per: 3 },
      ];
      for (const { model, labels, per } of heads) {
        model.train(false);
        const run = (paddingFree: boolean) => {
          model.zeroGrad();
          const out = model.forward(input, { attentionMask, labels, paddingFree, outputHiddenStates: true });
          out.loss!.backward();
          return { out, grads: model.namedParameters().map(([n, p]) => [n, p.grad?.toFloat32Array() ?? new Float32Array(0)] as const) };
        };
        const padded = run(false);
        const packed = run(true);
        const what = `${model_type} ${model.constructor.name}`;
        const logits = (o: typeof padded) => (per ? real(o.out.logits.toFloat32Array(), per) : o.out.logits.toFloat32Array());
        close(logits(packed), logits(padded), 1e-5, `${what} logits`);
        close(real(packed.out.hiddenStates!.at(-1)!.toFloat32Array(), 32), real(padded.out.hiddenStates!.at(-1)!.toFloat32Array(), 32), 1e-5, `${what} last hidden state`);
        assert.ok(Math.abs(packed.out.loss!.item() - padded.out.loss!.item()) <= 1e-5, `${what} loss`);
        packed.grads.forEach(([n, g], k) => g.length && close(g, padded.grads[k]![1], 2e-5, `${what} gradient of ${n}`));
      }
    }
    const qa = new BertForQuestionAnswering(bertConfig({ preset: 'tiny', vocab_size: 64 }));
    const pos = tensor(Int32Array.of(0, 1, 1, 0), [B], { dtype: 'int32' });
    assert.throws(() => qa.forward(input, { attentionMask, startPositions: pos, endPositions: pos, paddingFree: true }), /paddingFree changes the loss/);
  });

  test('paddingFree: the Bahdanau RNN decoder (GRU and LSTM, two layers) gives the padded loss, logits, attention and gradients', () => {
    // Targets of 5, 2, 4, 0 and 3 steps (one row with nothing to predict), an ignored label inside row 2.
    const tl = [5, 2, 4, 0, 3];
    const sl = [6, 3, 4, 2, 5];
    const [B, S, T] = [tl.length, 6, 5];
    const rng = new Rng(12);
    const src = tensor(Int32Array.from({ length: B * S }, (_, i) => (i % S < sl[Math.floor(i / S)]! ? 3 + rng.int(9) : 0)), [B, S], { dtype: 'int32' });
    const dec = tensor(Int32Array.from({ length: B * T }, (_, i) => (i % T === 0 ? 1 : 3 + rng.int(8))), [B, T], { dtype: 'int32' });
    const y = Int32Array.from({ length: B * T }, (_, i) => (i % T < tl[Math.floor(i / T)]! ? 3 + rng.int(8) : -100));
    y[2 * T + 1] = -100;
    const targets = tensor(y, [B, T], { dtype: 'int32' });
    for (const cell of ['gru', 'lstm'] as const) {
      const model = new RNNSeq2Seq(rnnSeq2SeqConfig({ src_vocab_size: 12, tgt_vocab_size: 11, embedding_size: 6, encoder_hidden_size: 5, decoder_hidden_size: 7, attention_size: 4, decoder_layers: 2, attention: 'bahdanau', cell, dropout: 0 }), new Rng(3));
      model.train(false);
      const run = (paddingFree: boolean) => {
        model.zeroGrad();
        const out = model.forward(src, sl, dec, { targets, paddingFree });
        out.loss!.backward();
        return { out, grads: model.namedParameters().map(([n, p]) => [n, p.grad?.toFloat32Array() ?? new Float32Array(0)] as const) };
      };
      const padded = run(false);
      const packed = run(true);
      const real = (a: Float32Array, per: number) => Float32Array.from(a.filter((_, i) => Math.floor(i / per) % T < tl[Math.floor(i / per / T)]!));
      const V = 11;
      close(real(packed.out.logits.toFloat32Array(), V), real(padded.out.logits.toFloat32Array(), V), 1e-5, `${cell} logits`);
      close(real(packed.out.attentions!.toFloat32Array(), S), real(padded.out.attentions!.toFloat32Array(), S), 1e-5, `${cell} attention`);
      assert.ok(Math.abs(packed.out.loss!.item() - padded.out.loss!.item()) <= 1e-5, `${cell} loss`);
      packed.grads.forEach(([n, g], k) => g.length && close(g, padded.grads[k]![1], 2e-5, `${cell} gradient of ${n}`));
    }
  });
});
