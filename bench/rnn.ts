// `npm run bench -- rnn [--json] [--case NAME] [--threads N]`: recurrent layers and the RNN attention model,
// attn next to PyTorch (CPU, /usr/bin/python3, bench/_rnn_torch.py) in the same run, 1 and 2 threads.
//
//   lstm-layer          a 2-layer bidirectional LSTM, input and hidden 256, batch 32, 50 steps: forward and
//                       backward of sum(output · g) with the input requiring grad (torch.nn.LSTM against
//                       attn's LSTM module: one op per layer, its time loop one backend call per pass with the
//                       two directions on two threads when there are two);
//   train-bahdanau-g2p  one training step (forward, backward, clipping, AdamW) of a Bahdanau G2P model (GRU,
//                       the 'g2p' preset of src/models/rnn_attention.ts: E 64, H 128, Hd 256, A 128) on a batch
//                       of 64 words with CMUdict-like lengths (3–12 letters), against the same model written as
//                       the PyTorch seq2seq tutorial writes it. attn's decoder skips the steps past each word's
//                       end (`paddingFree`, as `attn experiment attention` trains); the `attn-padded` row takes
//                       every padded step, as the PyTorch model does.
// The value is tokens per second (median step): B·T input tokens for the layer, real target tokens for the
// model. Higher is better. PyTorch runs once per threading configuration (bench/_common.ts, torchConfigs).
import { setBackend } from '../src/backend/index.js';
import '../src/platform/node.js';
import { fromStorage, mul, Rng, sum, tensor, trainingStep } from '../src/tensor/index.js';
import { LSTM } from '../src/nn/index.js';
import { AdamW, clipGradNorm } from '../src/optim/index.js';
import { RNNSeq2Seq, rnnSeq2SeqConfig } from '../src/models/rnn_attention.js';
import { newReport, parseCaseArgs, report, runTorch, timeIt, torchConfigs, wantJson } from './_common.js';

interface Case {
  name: string;
}
const CASES: Case[] = [{ name: 'lstm-layer' }, { name: 'train-bahdanau-g2p' }];
const LSTM_CASE = { T: 50, B: 32, I: 256, H: 256, layers: 2 };

/** A G2P-like batch: 64 words of 3–12 letters (+ </s>), pronunciations of about as many phonemes (+ </s>). */
function g2pBatch(): { B: number; src_lengths: number[]; tgt_lengths: number[] } {
  const rng = new Rng(11);
  const B = 64;
  const src: number[] = [];
  const tgt: number[] = [];
  for (let b = 0; b < B; b++) {
    const letters = 3 + rng.int(10);
    src.push(letters + 1);
    tgt.push(Math.max(2, letters - 1 + rng.int(3)) + 1);
  }
  return { B, src_lengths: src, tgt_lengths: tgt };
}
const SRC_VOCAB = 31; // src/data/g2p.ts: 4 specials + 27 letters
const TGT_VOCAB = 43; // 4 specials + 39 phonemes

/** attn's LSTM case: ms per forward + backward. */
async function lstmAttn(): Promise<number> {
  const { T, B, I, H, layers } = LSTM_CASE;
  const rng = new Rng(1);
  const lstm = new LSTM({ inputSize: I, hiddenSize: H, numLayers: layers, bidirectional: true, rng });
  const x = fromStorage(Float32Array.from({ length: T * B * I }, () => rng.normal()), [T, B, I], { requiresGrad: true });
  const g = fromStorage(Float32Array.from({ length: T * B * 2 * H }, () => rng.normal()), [T, B, 2 * H]);
  // In step memory, as every training loop of attn runs a step (src/tensor/step.ts) and as the Bahdanau case
  // below does: the activations and gradients reuse one arena instead of fresh arrays (~20 % on two threads).
  return timeIt(() => trainingStep(() => {
    lstm.zeroGrad();
    x.grad = null;
    sum(mul(lstm.forward(x).output, g)).backward();
  }), { minMs: 2000 });
}

/** attn's Bahdanau training step: ms per step. */
async function bahdanauAttn(paddingFree: boolean): Promise<{ ms: number; params: number }> {
  const { B, src_lengths: sl, tgt_lengths: tl } = g2pBatch();
  const cfg = rnnSeq2SeqConfig({ preset: 'g2p', dropout: 0, src_vocab_size: SRC_VOCAB, tgt_vocab_size: TGT_VOCAB, attention: 'bahdanau', cell: 'gru' });
  const model = new RNNSeq2Seq(cfg, new Rng(0));
  const params = model.parameters();
  const opt = new AdamW(params, { lr: 2e-3, weightDecay: 0 });
  const rng = new Rng(3);
  const S = Math.max(...sl);
  const T = Math.max(...tl);
  const src = new Int32Array(B * S);
  const dec = new Int32Array(B * T);
  const tgt = new Int32Array(B * T).fill(-100);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < sl[b]!; j++) src[b * S + j] = 4 + rng.int(SRC_VOCAB - 4);
    for (let t = 0; t < tl[b]!; t++) {
      dec[b * T + t] = 4 + rng.int(TGT_VOCAB - 4);
      tgt[b * T + t] = 4 + rng.int(TGT_VOCAB - 4);
    }
  }
  const srcT = tensor(src, [B, S], { dtype: 'int32' });
  const decT = tensor(dec, [B, T], { dtype: 'int32' });
  const tgtT = tensor(tgt, [B, T], { dtype: 'int32' });
  // As the experiment's loop runs a step: in step memory (src/tensor/step.ts).
  const ms = await timeIt(() => trainingStep(() => {
    opt.zeroGrad();
    model.forward(srcT, sl, decT, { targets: tgtT, paddingFree }).loss!.backward();
    clipGradNorm(params, 1);
    opt.step();
  }), { minMs: 2000 });
  return { ms, params: model.numParameters() };
}

const { cases, threads: threadList } = parseCaseArgs('rnn', CASES, process.argv.slice(2));
const r = newReport('rnn');
for (const threads of threadList) {
  setBackend('wasm', { threads });
  for (const c of cases) {
    if (c.name === 'lstm-layer') {
      const ms = await lstmAttn();
      r.rows.push({ case: c.name, impl: 'attn', threads, value: (LSTM_CASE.T * LSTM_CASE.B * 1000) / ms, unit: 'tokens/s', note: `${ms.toFixed(1)} ms fwd+bwd` });
    } else {
      const tokens = g2pBatch().tgt_lengths.reduce((a, b) => a + b, 0);
      for (const paddingFree of [true, false]) {
        const { ms, params } = await bahdanauAttn(paddingFree);
        const impl = paddingFree ? 'attn' : 'attn-padded';
        r.rows.push({ case: c.name, impl, threads, value: (tokens * 1000) / ms, unit: 'tokens/s', note: `${ms.toFixed(1)} ms/step, ${params} parameters${paddingFree ? ', padding-free' : ''}` });
      }
    }
  }
  for (const tc of torchConfigs(threads)) {
    let missing = false;
    for (const c of cases) {
      const res = c.name === 'lstm-layer'
        ? runTorch<{ ms: number; tokens: number }>('_rnn_torch.py', 'lstm', LSTM_CASE, tc)
        : runTorch<{ ms: number; tokens: number }>('_rnn_torch.py', 'bahdanau', { ...g2pBatch(), E: 64, H: 128, Hd: 256, A: 128, src_vocab: SRC_VOCAB, tgt_vocab: TGT_VOCAB }, tc);
      if (res === null) {
        missing = true;
        break;
      }
      r.rows.push({
        case: c.name, impl: 'pytorch', threads, config: res.config, value: (res.tokens * 1000) / res.ms, unit: 'tokens/s',
        note: `torch ${res.torch}, ${res.blas}, ${res.ms.toFixed(1)} ms${res.params !== undefined ? `, ${res.params} parameters` : ''}`,
      });
    }
    if (missing) {
      if (!r.missing!.includes('pytorch')) r.missing!.push('pytorch');
      break;
    }
  }
}
r.rows.sort((x, y) => CASES.findIndex((c) => c.name === x.case) - CASES.findIndex((c) => c.name === y.case) || (x.threads ?? 1) - (y.threads ?? 1));
report(r, wantJson());
