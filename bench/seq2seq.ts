// `npm run bench -- seq2seq [--json] [--case NAME] [--threads N] [--contended]`: the encoder-decoder benches.
//
//   translate-marian-base-greedy / -beam4   Marian base shape (6 + 6 layers, 512 wide, 8 heads, FFN 2048,
//       vocab 58 101), random weights, a 32-token source, exactly 64 new tokens (EOS held back by
//       min_new_tokens, the pad token banned by bad_words_ids as opus-mt does): tokens/s = 64 / seconds of the
//       whole call (encoder included), best of 2, greedy and beam 4. Peers: the same model in PyTorch
//       (bench/_marian_torch.py) and in onnxruntime-node/-web (bench/_peers.ts, marianPeers).
//   train-transformer-g2p   the `attn g2p` model (3 + 3 layers, 128 wide, FFN 512, vocab 70, no dropout for the
//       bench) trained on batches of 64 CMUdict words: a full optimizer step (label-smoothed loss, backward,
//       clip, AdamW); tokens/s = real source + target tokens / median seconds per token-weighted step.
//       attn trains padding-free, as `attn train` and `attn g2p train` do (src/nn/packing.ts: the layers skip
//       the ~44 % of padded positions in these random batches); the `attn-padded` row computes the padding too,
//       as the PyTorch module does, so both comparisons are in the table.
//       Peer: the same model in PyTorch (bench/_g2p_torch.py) on the same batches.
// Every attn measurement runs in its own process (this file with --child), so the peak RSS rows are that run's.
import { setBackend } from '../src/backend/index.js';
import '../src/platform/node.js';
import { Rng, trainingStep } from '../src/tensor/index.js';
import { Transformer, transformerConfig } from '../src/models/transformer.js';
import { generateSeq2Seq } from '../src/generate/seq2seq.js';
import { collatePairs, newSeq2SeqTrainState, SEQ2SEQ_TRAIN_DEFAULTS } from '../src/train/seq2seq.js';
import { clipGradNorm } from '../src/optim/index.js';
import { loadCmudict } from '../src/data/g2p_node.js';
import { splitG2P, g2pPairs, g2pSharedVocab } from '../src/data/g2p.js';
import { newReport, report, parseCaseArgs, runAttnChild, runTorch, torchConfigs, wantJson, withContention, type BenchReport } from './_common.js';
import { MARIAN_CASES, marianPeers, type MarianCase } from './_peers.js';

interface G2PCase {
  name: 'train-transformer-g2p';
  n_enc: number;
  n_dec: number;
  d_model: number;
  n_head: number;
  ffn: number;
  vocab: number;
  batch: number;
  warmup: number;
  min_steps: number;
  min_s: number;
}
type Case = (MarianCase & { kind: 'marian' }) | (G2PCase & { kind: 'g2p' });

const G2P_CASE: G2PCase = { name: 'train-transformer-g2p', n_enc: 3, n_dec: 3, d_model: 128, n_head: 4, ffn: 512, vocab: 70, batch: 64, warmup: 2, min_steps: 6, min_s: 3 };
const CASES: Case[] = [...MARIAN_CASES.map((c) => ({ ...c, kind: 'marian' as const })), { ...G2P_CASE, kind: 'g2p' }];

interface Result {
  tokens_per_s: number;
  params: number;
  peak_rss_mb: number;
  note: string;
}

// -----------------------------------------------------------------------------------------------------------
// The attn side (child processes)

function translateAttn(c: MarianCase, threads: number): Result {
  setBackend('wasm', { threads });
  const cfg = transformerConfig({
    preset: 'marian-base', encoder_layers: c.n_enc, decoder_layers: c.n_dec, d_model: c.d_model, encoder_attention_heads: c.n_head, decoder_attention_heads: c.n_head,
    encoder_ffn_dim: c.ffn, decoder_ffn_dim: c.ffn, vocab_size: c.vocab, pad_token_id: c.vocab - 1, decoder_start_token_id: c.vocab - 1, eos_token_id: 0, forced_eos_token_id: null, dropout: 0,
  });
  const model = new Transformer(cfg, new Rng(1337)).train(false);
  const rng = new Rng(1);
  const source = Array.from({ length: c.src }, () => 1 + rng.int(c.vocab - 2));
  const opts = { max_new_tokens: c.new, min_new_tokens: c.new, num_beams: c.mode === 'beam' ? c.beams! : 1, bad_words_ids: [[c.vocab - 1]] };
  // A short call first, as every peer makes one before it is timed (onnxruntime's runs check a few greedy and
  // beam steps against PyTorch's): the first call of a process is ~25 % slower than later ones.
  generateSeq2Seq(model, [source], { ...opts, max_new_tokens: 4, min_new_tokens: 4 });
  let best = Infinity;
  for (let i = 0; i < c.runs; i++) {
    const t0 = performance.now();
    const out = generateSeq2Seq(model, [source], opts);
    best = Math.min(best, (performance.now() - t0) / 1000);
    if (out.sequences[0]!.length !== 1 + c.new) throw new Error(`bench seq2seq: generated ${out.sequences[0]!.length - 1} tokens, expected ${c.new}`);
  }
  return { tokens_per_s: c.new / best, params: model.numParameters() - c.vocab, peak_rss_mb: process.resourceUsage().maxRSS / 1024, note: `${c.mode === 'beam' ? `beam ${c.beams}` : 'greedy'}, KV cache + cached cross-attention` };
}

/** Batches of CMUdict pairs for both sides: the training split, drawn with a fixed seed. */
function g2pBatches(c: G2PCase, n: number): Array<{ src: number[][]; tgt: number[][] }> {
  const vocab = g2pSharedVocab();
  const pairs = g2pPairs(splitG2P(loadCmudict()).train, { graphemes: vocab, phonemes: vocab });
  const rng = new Rng(7);
  return Array.from({ length: n }, () => {
    const picked = Array.from({ length: c.batch }, () => pairs[rng.int(pairs.length)]!);
    return { src: picked.map((p) => Array.from(p.source)), tgt: picked.map((p) => Array.from(p.target)) };
  });
}

function trainG2PAttn(c: G2PCase & { batches: Array<{ src: number[][]; tgt: number[][] }>; paddingFree: boolean }, threads: number): Result {
  setBackend('wasm', { threads });
  const cfg = transformerConfig({
    preset: 'g2p', encoder_layers: c.n_enc, decoder_layers: c.n_dec, d_model: c.d_model, encoder_attention_heads: c.n_head, decoder_attention_heads: c.n_head,
    encoder_ffn_dim: c.ffn, decoder_ffn_dim: c.ffn, vocab_size: c.vocab, pad_token_id: 0, decoder_start_token_id: 1, eos_token_id: 2, dropout: 0,
  });
  const model = new Transformer(cfg, new Rng(1337));
  model.train(true);
  const opts = { ...SEQ2SEQ_TRAIN_DEFAULTS, lr: 1e-3, betas: [0.9, 0.98] as [number, number], weightDecay: 0.01 };
  const state = newSeq2SeqTrainState(model, opts);
  const params = model.parameters();
  const batches = c.batches.map((b) => collatePairs(b.src.map((s, i) => ({ source: Int32Array.from(s), target: Int32Array.from(b.tgt[i]!) })), 0));
  // As trainSeq2Seq runs a step: in step memory (src/tensor/step.ts).
  const step = (i: number): number => trainingStep(() => {
    const b = batches[i % batches.length]!;
    const { loss } = model.forward(b.inputIds, { attentionMask: b.attentionMask, labels: b.labels, labelSmoothing: 0.1, paddingFree: c.paddingFree });
    loss!.backward();
    clipGradNorm(params, 1.0);
    state.optimizer.step();
    state.optimizer.zeroGrad();
    return b.tokens;
  });
  for (let i = 0; i < c.warmup; i++) step(i);
  const perToken: number[] = [];
  const start = performance.now();
  while (perToken.length < c.min_steps || performance.now() - start < c.min_s * 1000) {
    const t0 = performance.now();
    const n = step(c.warmup + perToken.length);
    perToken.push((performance.now() - t0) / 1000 / n);
  }
  perToken.sort((a, b) => a - b);
  return {
    tokens_per_s: 1 / perToken[Math.floor(perToken.length / 2)]!, params: model.numParameters() - c.vocab, peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    note: `median of ${perToken.length} steps, batch ${c.batch} words, ${c.paddingFree ? 'padding-free' : 'padding computed'}`,
  };
}

// -----------------------------------------------------------------------------------------------------------
// The report

function addRows(r: BenchReport, name: string, impl: string, threads: number, res: { tokens_per_s: number; peak_rss_mb: number }, note: string, extra: { config?: string; contended?: boolean }): void {
  r.rows.push({ case: name, impl, threads, ...extra, value: res.tokens_per_s, unit: 'tokens/s', note });
  r.rows.push({ case: name, impl, threads, ...extra, value: res.peak_rss_mb, unit: 'MB', note: 'peak RSS of the process' });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const c = JSON.parse(argv[1]!) as Case & { batches?: Array<{ src: number[][]; tgt: number[][] }>; paddingFree?: boolean };
    const threads = Number(argv[2]);
    const res = c.kind === 'marian' ? translateAttn(c, threads) : trainG2PAttn(c as G2PCase & { batches: Array<{ src: number[][]; tgt: number[][] }>; paddingFree: boolean }, threads);
    process.stdout.write(JSON.stringify(res) + '\n');
    return;
  }
  const { cases, threads: threadList, loads } = parseCaseArgs('seq2seq', CASES, argv);
  const r = newReport('seq2seq');
  for (const c of cases) {
    const job = c.kind === 'g2p' ? { ...c, batches: g2pBatches(c, 8) } : c;
    for (const contended of loads) {
      const load = contended ? { contended: true } : {};
      for (const threads of threadList) {
        const withPadding = (paddingFree: boolean): { name: string } => {
          const child: typeof job & { paddingFree: boolean } = { ...job, paddingFree };
          return child;
        };
        const mine = await withContention(contended, () => runAttnChild<Result>(import.meta.url, 'seq2seq', withPadding(true), threads));
        addRows(r, c.name, 'attn', threads, mine, `${mine.note}; ${(mine.params / 1e6).toFixed(2)}M params`, load);
        if (c.kind === 'g2p') {
          const padded = await withContention(contended, () => runAttnChild<Result>(import.meta.url, 'seq2seq', withPadding(false), threads));
          addRows(r, c.name, 'attn-padded', threads, padded, padded.note, load);
        }
        if (c.kind === 'marian') {
          const peers = await marianPeers(r, c, threads, contended);
          if (peers.pytorch !== undefined && peers.pytorch !== mine.params) throw new Error(`bench seq2seq: ${c.name}: PyTorch has ${peers.pytorch} parameters, attn ${mine.params}`);
        } else {
          for (const tc of torchConfigs(threads)) {
            const torch = await withContention(contended, () => runTorch<{ tokens_per_s: number; params: number; steps: number; first_loss: number }>('_g2p_torch.py', 'train', job, tc));
            if (torch === null) {
              if (!r.missing!.includes('pytorch')) r.missing!.push('pytorch');
              break;
            }
            if (torch.params !== mine.params) throw new Error(`bench seq2seq: ${c.name}: PyTorch has ${torch.params} parameters, attn ${mine.params}; the models must be identical`);
            addRows(r, c.name, 'pytorch', threads, torch, `median of ${torch.steps} steps; torch ${torch.torch}, ${torch.blas}`, { config: torch.config, ...load });
          }
        }
      }
    }
  }
  report(r, wantJson());
}

await main();
