// The RNN explain adapter: its alignments are the attention weights the model returns, and — an independent
// path through the model — the weights of its step-by-step decoding (model.step) for every output; without a
// target the output explained is src/generate's greedy decoding through the RNN stepper; every row is a
// distribution over the real source symbols; a model without attention and unknown symbols are clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad, Rng, tensor } from '../../src/tensor/index.js';
import { RNNSeq2Seq, rnnSeq2SeqConfig, type AttentionKind } from '../../src/models/rnn_attention.js';
import { G2PVocab, G2P_LETTERS, G2P_PHONEMES } from '../../src/data/g2p.js';
import { generate } from '../../src/generate/generate.js';
import { stepperFromRNNSeq2Seq } from '../../src/generate/rnn_seq2seq.js';
import { RNNExplainer } from '../../src/explain/adapters/rnn.js';

const letters = new G2PVocab(G2P_LETTERS);
const phonemes = new G2PVocab(G2P_PHONEMES);

function model(attention: AttentionKind, extra: { input_feeding?: boolean } = {}): RNNSeq2Seq {
  const cfg = rnnSeq2SeqConfig({ preset: 'tiny', src_vocab_size: letters.size, tgt_vocab_size: phonemes.size, attention, decoder_hidden_size: 16, ...extra });
  return new RNNSeq2Seq(cfg, new Rng(attention.length + 11));
}

for (const [kind, extra] of [['bahdanau', {}], ['luong-dot', { input_feeding: false }], ['luong-general', {}]] as const) {
  test(`${kind}: alignments are the model's weights, step by step, one row per output`, () => {
    const m = model(kind, extra);
    const x = new RNNExplainer(m, { source: letters, target: phonemes });
    const e = x.encode({ text: 'knight', pair: 'N AY T' });
    assert.deepEqual([...e.sourceIds], [...letters.encode('knight'.split(''), { eos: true })]);
    assert.deepEqual(e.tokens.map((t) => t.text), ['k', 'n', 'i', 'g', 'h', 't', '</s>']);
    assert.deepEqual(e.outputTokens.map((t) => t.text), ['N', 'AY', 'T', '</s>']);
    assert.deepEqual([...e.decoderIds], [G2PVocab.BOS, ...phonemes.encode(['N', 'AY', 'T'])]);
    assert.deepEqual(x.heads(), []);
    const [g] = x.attentions(e);
    assert.equal(g!.kind, 'alignments');
    assert.equal(g!.layers.length, 1);
    assert.equal(g!.layers[0]!.heads, 1);
    const S = 7;
    const T = 4;
    const a = g!.layers[0]!.data;
    assert.equal(a.length, T * S);
    // The oracle: model.step once per output, reading the reference tokens, collecting α_t.
    noGrad(() => {
      const enc = m.encode(tensor(e.sourceIds, [1, S], { dtype: 'int32' }), [S]);
      let st = m.initialState(enc);
      for (let t = 0; t < T; t++) {
        const r = m.step(enc, st, tensor(Int32Array.of(e.decoderIds[t]!), [1], { dtype: 'int32' }));
        st = r.state;
        const w = r.weights!.toFloat32Array();
        for (let j = 0; j < S; j++) assert.ok(Math.abs(w[j]! - a[t * S + j]!) < 1e-5, `step ${t}, source ${j}: ${w[j]} vs ${a[t * S + j]}`);
        const sum = Array.from(a.subarray(t * S, (t + 1) * S)).reduce((s, v) => s + v, 0);
        assert.ok(Math.abs(sum - 1) < 1e-5, `row ${t} sums to ${sum}`);
      }
    });
  });
}

test('without a target: the greedy output of src/generate; errors for no attention, unknown symbols, head masks', () => {
  const m = model('bahdanau');
  const x = new RNNExplainer(m, { source: letters, target: phonemes, maxNewTokens: 5 });
  const e = x.encode({ text: 'phoneme' });
  const src = letters.encode('phoneme'.split(''), { eos: true });
  const g = generate(stepperFromRNNSeq2Seq(m, [src]), [[G2PVocab.BOS]], { max_new_tokens: 5, eos_token_id: G2PVocab.EOS });
  const ys = Array.from(g.sequences[0]!.subarray(1));
  assert.deepEqual(e.outputTokens.map((t) => t.id), ys);
  assert.deepEqual([...e.decoderIds], [G2PVocab.BOS, ...ys.slice(0, -1)]);
  assert.match(e.notes.at(-1)!, /no target given \(--pair\): the alignments are of the model's own greedy output/);
  assert.throws(() => new RNNExplainer(model('none'), { source: letters, target: phonemes }), /has no attention \(attention 'none'\): its decoder reads one fixed summary vector/);
  assert.throws(() => x.encode({ text: 'kn1ght' }), /source symbol "1" \(position 2\) is not in the model's source vocabulary/);
  assert.throws(() => x.encode({ text: 'knight', pair: 'N XX T' }), /target symbol "XX" \(position 1\)/);
  assert.throws(() => x.attentions(x.encode({ text: 'ab', pair: 'EY' }), { headMask: {} }), /no attention heads to mask/);
});
