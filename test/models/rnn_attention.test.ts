// The RNN encoder-decoders (src/models/rnn_attention.ts), every attention kind, GRU and LSTM:
//   - gradients of the loss through encoder, attention, decoder steps and the bridge match finite differences;
//   - the all-steps-at-once path (no attention; Luong dot/general without input feeding) equals stepping;
//   - padded sources: α is 0 on padding and sums to 1, and a source in a padded batch gets what it gets alone;
//   - generation through src/generate (greedy and beam search) is the same with and without the stepper's
//     cache, and greedy equals the argmax of the model's own teacher-forced forward pass;
//   - config errors.
// Runs on every backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend } from '../_backends.js';
import { gradcheck } from '../tensor/_gradcheck.js';
import { noGrad, Rng, tensor, type Tensor } from '../../src/tensor/index.js';
import { ATTENTION_KINDS, RNNSeq2Seq, rnnSeq2SeqConfig, type AttentionKind, type RNNSeq2SeqConfig } from '../../src/models/rnn_attention.js';
import { generate } from '../../src/generate/generate.js';
import { stepperFromRNNSeq2Seq } from '../../src/generate/rnn_seq2seq.js';

const SRC_V = 7;
const TGT_V = 6;

function micro(attention: AttentionKind, extra: Partial<RNNSeq2SeqConfig> = {}): RNNSeq2Seq {
  const cfg = rnnSeq2SeqConfig({
    src_vocab_size: SRC_V, tgt_vocab_size: TGT_V, embedding_size: 3, encoder_hidden_size: 2, decoder_hidden_size: 4, attention_size: 3,
    attention, ...extra,
  });
  return new RNNSeq2Seq(cfg, new Rng(attention.length * 7 + (extra.cell === 'lstm' ? 1 : 0)));
}

const ids = (rows: number[][]): Tensor => tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length], { dtype: 'int32' });

// Two sources (the second padded), targets with an ignored last position.
const SRC = [[3, 4, 5, 6], [5, 3, 0, 0]];
const LENGTHS = [4, 2];
const DEC_IN = [[1, 4, 5], [1, 3, 3]];
const TARGETS = [[4, 5, 2], [3, 2, -100]];

forEachBackend((backend) => {
  for (const kind of ATTENTION_KINDS) {
    for (const cell of ['gru', 'lstm'] as const) {
      if (cell === 'lstm' && kind !== 'bahdanau' && kind !== 'luong-general') continue; // the LSTM path once per attention family
      test(`${kind} (${cell}): loss gradients match finite differences (${backend})`, () => {
        const model = micro(kind, { cell, input_feeding: kind !== 'luong-general' });
        const params = new Map(model.namedParameters());
        // The parameters whose gradient crosses every part: attention, decoder, bridge, encoder (both directions).
        const names = ['combine.bias', 'bridge.weight', 'encoder.weight_ih_l0_reverse', 'encoder.bias_hh_l0', 'decoder.weight_hh_l0', 'src_embed.weight'];
        if (model.attn_U) names.push('attn_U.weight');
        if (model.attn_v) names.push('attn_v.weight', 'attn_W.weight');
        const inputs = names.map((n) => params.get(n) ?? assert.fail(`no parameter ${n}`));
        const loss = () => model.forward(ids(SRC), LENGTHS, ids(DEC_IN), { targets: ids(TARGETS) }).loss!;
        gradcheck(() => loss(), inputs, { h: 1e-2, atol: 2e-3, rtol: 5e-3 });
      });
    }
  }

  // none and Luong without input feeding decode all steps in one call; Bahdanau batches what follows the recurrence.
  for (const kind of ['none', 'luong-dot', 'luong-general', 'bahdanau'] as const) {
    test(`${kind}: teacher-forced decoding equals stepping (${backend})`, () => {
      const model = micro(kind, { input_feeding: false });
      noGrad(() => {
        const fast = model.forward(ids(SRC), LENGTHS, ids(DEC_IN));
        const enc = model.encode(ids(SRC), LENGTHS);
        let state = model.initialState(enc);
        const f = fast.logits.toFloat32Array(); // (B, T, V)
        for (let t = 0; t < 3; t++) {
          const r = model.step(enc, state, tensor(DEC_IN.map((row) => row[t]!), [2], { dtype: 'int32' }));
          state = r.state;
          const l = model.logits(r.output).toFloat32Array(); // (B, V)
          for (let b = 0; b < 2; b++) {
            for (let v = 0; v < TGT_V; v++) assert.ok(Math.abs(l[b * TGT_V + v]! - f[(b * 3 + t) * TGT_V + v]!) < 1e-5, `${kind} step ${t} row ${b}`);
          }
          if (r.weights) {
            const w = r.weights.toFloat32Array();
            const fw = fast.attentions!.toFloat32Array(); // (B, T, S)
            for (let b = 0; b < 2; b++) for (let j = 0; j < 4; j++) assert.ok(Math.abs(w[b * 4 + j]! - fw[(b * 3 + t) * 4 + j]!) < 1e-6);
          }
        }
      });
    });
  }

  for (const kind of ATTENTION_KINDS) {
    test(`${kind}: padded sources get zero attention and the same results as alone (${backend})`, () => {
      const model = micro(kind);
      noGrad(() => {
        const both = model.forward(ids(SRC), LENGTHS, ids(DEC_IN));
        const alone = model.forward(ids([[5, 3]]), [2], ids([DEC_IN[1]!]));
        const lb = both.logits.toFloat32Array();
        const la = alone.logits.toFloat32Array();
        for (let i = 0; i < la.length; i++) assert.ok(Math.abs(lb[3 * TGT_V + i]! - la[i]!) < 1e-5, `${kind}: padded row differs from the source alone at ${i}`);
        if (kind === 'none') return assert.equal(both.attentions, undefined);
        const w = both.attentions!.toFloat32Array(); // (2, 3, 4)
        for (let b = 0; b < 2; b++) {
          for (let t = 0; t < 3; t++) {
            let s = 0;
            for (let j = 0; j < 4; j++) {
              const a = w[(b * 3 + t) * 4 + j]!;
              if (j >= LENGTHS[b]!) assert.equal(a, 0, `${kind}: weight on padding`);
              s += a;
            }
            assert.ok(Math.abs(s - 1) < 1e-5, `${kind}: weights of row ${b} step ${t} sum to ${s}`);
          }
        }
      });
    });

    test(`${kind}: greedy and beam search through src/generate agree with and without the stepper's cache (${backend})`, () => {
      const model = micro(kind, { cell: kind === 'bahdanau' ? 'lstm' : 'gru' });
      const sources = [[3, 4, 5, 6], [5, 3], [6]];
      const prompts = sources.map(() => [model.config.bos_token_id]);
      for (const opts of [{ max_new_tokens: 6 }, { max_new_tokens: 6, num_beams: 3, num_return_sequences: 2 }]) {
        const cached = stepperFromRNNSeq2Seq(model, sources);
        const plain = stepperFromRNNSeq2Seq(model, sources, { useCache: false });
        const a = generate(cached, prompts, opts);
        const b = generate(plain, prompts, opts);
        assert.deepEqual(a.sequences.map((s) => [...s]), b.sequences.map((s) => [...s]), `${kind} ${JSON.stringify(opts)}: sequences`);
        if (a.sequences_scores) {
          for (let i = 0; i < a.sequences_scores.length; i++) assert.ok(Math.abs(a.sequences_scores[i]! - b.sequences_scores![i]!) < 1e-5);
        }
        const wa = cached.alignments();
        const wb = plain.alignments();
        assert.equal(wa.length, wb.length);
        wa.forEach((rows, r) => rows.forEach((w, t) => w.forEach((v, j) => assert.ok(Math.abs(v - wb[r]![t]![j]!) < 1e-6, `${kind}: alignment row ${r} step ${t}`))));
        if (kind !== 'none') assert.ok(wa[0]!.length > 0, 'no alignments were recorded');
      }
      // Greedy = the argmax of the model's own forward pass over the tokens greedy produced.
      const g = generate(stepperFromRNNSeq2Seq(model, sources), prompts, { max_new_tokens: 5, eos_token_id: null });
      noGrad(() => {
        sources.forEach((src, i) => {
          const seq = [...g.sequences[i]!];
          const out = model.forward(ids([src]), [src.length], ids([seq.slice(0, -1)])).logits.toFloat32Array();
          for (let t = 0; t < seq.length - 1; t++) {
            let best = 0;
            for (let v = 1; v < TGT_V; v++) if (out[t * TGT_V + v]! > out[t * TGT_V + best]!) best = v;
            assert.equal(seq[t + 1], best, `${kind}: source ${i} step ${t}`);
          }
        });
      });
    });
  }

  test(`scheduled sampling (teacher forcing 0.5) runs, is reproducible with a seeded generator, and differs from full forcing (${backend})`, () => {
    const model = micro('bahdanau');
    const run = (tf: number, seed: number) => noGrad(() => model.forward(ids(SRC), LENGTHS, ids(DEC_IN), { teacherForcing: tf, rng: new Rng(seed) }).logits.toFloat32Array());
    assert.deepEqual(run(0.5, 3), run(0.5, 3));
    const forced = run(1, 3);
    assert.ok([1, 2, 3, 4, 5].some((seed) => run(0, seed).some((v, i) => Math.abs(v - forced[i]!) > 1e-6)), 'free-running decoding equals teacher forcing');
  });
});

test('config errors name the key or the sizes', () => {
  assert.throws(() => rnnSeq2SeqConfig({ attn: 'x' } as unknown as Partial<RNNSeq2SeqConfig>), /unknown RNN seq2seq config key 'attn'/);
  assert.throws(() => rnnSeq2SeqConfig({ attention: 'luong-dot', encoder_hidden_size: 64, decoder_hidden_size: 100 }), /needs decoder_hidden_size = 2·encoder_hidden_size/);
  assert.throws(() => rnnSeq2SeqConfig({ attention: 'cosine' as AttentionKind }), /attention must be one of none, bahdanau/);
  const model = micro('bahdanau');
  assert.throws(() => stepperFromRNNSeq2Seq(model, [[3, 99]]), /source 0 has token 99 at position 1, outside the source vocabulary \(7\)/);
  assert.throws(() => stepperFromRNNSeq2Seq(model, [[3], []]), /source 1 is empty/);
  assert.throws(() => model.forward(ids([[3, 4], [5, 0]]), [2, 0], ids([[1], [1]])), /lengths\[1\] = 0: sequence 1 is empty/);
  assert.throws(() => generate(stepperFromRNNSeq2Seq(model, [[3, 4]]), [[1], [1]], { max_new_tokens: 2 }), /2 decoder prompts for 1 sources/);
  assert.throws(() => model.encode(ids([[3, 4]]), [2, 1]), /2 lengths for 1 sources/);
  assert.throws(() => model.forward(ids([[3, 4]]), [3], ids([[1, 2]])), /lengths\[0\] = 3 is longer than the padded batch \(T = 2 steps\)/);
});
