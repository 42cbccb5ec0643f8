// `npm run bench -- prune [--json] [--case NAME] [--threads N]`: how much faster a model gets when attention
// heads are pruned physically (Hugging Face's prune_heads, src/explain/), against the same model whole and the
// same model with those heads only masked (head_mask 0: the same outputs as pruning, none of the savings).
//
// Pruning a head removes hs columns from each of q, k and v and hs rows from the output projection, so a layer
// with a share k of its heads kept does k of the attention's work (4·C·(k·C) multiply-adds per token for the
// projections, k of the T×T scores) and all of the MLP's (8·C² per token): the attention's share of a block
// is a third of its weights, so keeping half the heads saves about a sixth of the weights' work at short
// lengths, more at long ones where the T×T scores grow. Masking saves nothing: every head is still computed.
//
// Cases (random weights, eval mode, no cache; tokens/s of one forward pass, median of at least 3):
//   prefill-gpt2-124m-128-keepP   GPT-2 small (12 layers × 12 heads of 64), batch 1, 128 tokens
//   eval-gpt-mini-16x128-keepP    the default run's GPT (`attn start`: preset mini, vocabulary 2048), batch 16
//                                 × 128 tokens, as validation in `attn explain prune` scores it
//   forward-bert-base-128-keepP   BERT-base's encoder (12 layers × 12 heads of 64, vocabulary 30522), batch 1,
//                                 128 tokens: what a classifier runs per example
// for P = 100 (whole), 75, 50, 25: the percentage of each layer's heads kept (the first heads of each layer go;
// which ones does not change the time). Each `-keepP` case below 100 also has a `-maskedP` row: the whole
// model with those heads masked. The note gives the speed-up against the whole model.
import { setBackend } from '../src/backend/index.js';
import '../src/platform/node.js';
import { GPT, gptConfig } from '../src/models/gpt.js';
import { bertConfig, createBertModel } from '../src/models/bert.js';
import { pruneGPT } from '../src/explain/adapters/gpt.js';
import { pruneBert } from '../src/explain/adapters/bert.js';
import { noGrad, Rng, tensor, type Tensor } from '../src/tensor/index.js';
import { newReport, parseCaseArgs, report, timeIt, wantJson, type BenchRow } from './_common.js';

/** A model to time: its layers and heads, and forward passes of the whole, pruned or masked model. */
interface Built {
  layers: number;
  heads: number;
  vocab: number;
  /** forward(ids (B, T), removed {layer: heads} or null, masked?) for the model pruned or masked accordingly. */
  prepare(removed: Record<number, number[]> | null, masked: boolean): (x: Tensor) => unknown;
}

interface Family {
  name: string;
  build: () => Built;
  B: number;
  T: number;
}

/** The per-layer head mask with `removed` set to 0. */
const maskOf = (layers: number, heads: number, removed: Record<number, number[]>): Float32Array[] =>
  Array.from({ length: layers }, (_, l) => Float32Array.from({ length: heads }, (_, h) => (removed[l]!.includes(h) ? 0 : 1)));

function gptFamily(config: Parameters<typeof gptConfig>[0]): () => Built {
  return () => {
    const cfg = gptConfig({ ...config, embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0 });
    const whole = new GPT(cfg, new Rng(0)).train(false);
    return {
      layers: cfg.n_layer,
      heads: cfg.n_head,
      vocab: cfg.vocab_size,
      prepare(removed, masked) {
        if (removed && masked) {
          const headMask = maskOf(cfg.n_layer, cfg.n_head, removed);
          return (x) => whole.forward(x, { headMask }).logits;
        }
        const m = removed ? pruneGPT(whole, removed) : whole;
        return (x) => m.forward(x).logits;
      },
    };
  };
}

function bertFamily(config: Parameters<typeof bertConfig>[0]): () => Built {
  return () => {
    const cfg = bertConfig({ ...config, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 });
    const whole = createBertModel(cfg, 'base', { rng: new Rng(0) }).train(false);
    return {
      layers: cfg.num_hidden_layers,
      heads: cfg.num_attention_heads,
      vocab: cfg.vocab_size,
      prepare(removed, masked) {
        if (removed && masked) {
          const headMask = maskOf(cfg.num_hidden_layers, cfg.num_attention_heads, removed);
          return (x) => whole.forward(x, { headMask }).logits;
        }
        const m = removed ? pruneBert(whole, removed) : whole;
        return (x) => m.forward(x).logits;
      },
    };
  };
}

const FAMILIES: Family[] = [
  { name: 'prefill-gpt2-124m-128', build: gptFamily({ n_layer: 12, n_head: 12, n_embd: 768, n_positions: 1024, vocab_size: 50257 }), B: 1, T: 128 },
  { name: 'eval-gpt-mini-16x128', build: gptFamily({ preset: 'mini', vocab_size: 2048 }), B: 16, T: 128 },
  { name: 'forward-bert-base-128', build: bertFamily({ preset: 'bert-base' }), B: 1, T: 128 },
];
const KEEP = [100, 75, 50, 25];

interface Case {
  name: string;
  family: Family;
  keep: number;
  mode: 'whole' | 'pruned' | 'masked';
}

const CASES: Case[] = FAMILIES.flatMap((f) =>
  KEEP.flatMap((keep): Case[] =>
    keep === 100
      ? [{ name: `${f.name}-keep100`, family: f, keep, mode: 'whole' }]
      : [
          { name: `${f.name}-keep${keep}`, family: f, keep, mode: 'pruned' },
          { name: `${f.name}-masked${keep}`, family: f, keep, mode: 'masked' },
        ],
  ),
);

/** The first heads of each layer, so that `keep` % of them are left: { layer: [0, 1, …] }. */
function headsToRemove(layers: number, heads: number, keep: number): Record<number, number[]> {
  const gone = heads - Math.round((heads * keep) / 100);
  return Object.fromEntries(Array.from({ length: layers }, (_, l) => [l, Array.from({ length: gone }, (_, h) => h)]));
}

async function measure(c: Case, threads: number): Promise<BenchRow> {
  const built = c.family.build();
  const removed = headsToRemove(built.layers, built.heads, c.keep);
  const run = built.prepare(c.mode === 'whole' ? null : removed, c.mode === 'masked');
  const { B, T } = c.family;
  const ids = new Int32Array(B * T);
  const rng = new Rng(1);
  for (let i = 0; i < ids.length; i++) ids[i] = rng.int(built.vocab);
  const x: Tensor = tensor(ids, [B, T], { dtype: 'int32' });
  const ms = await timeIt(() => noGrad(() => run(x)), { warmup: 1, minRuns: 3, minMs: 1500 });
  const H = built.heads;
  const gone = removed[0]?.length ?? 0;
  const what = c.mode === 'whole' ? `all ${H} heads` : c.mode === 'pruned' ? `${H - gone} of ${H} heads per layer, pruned` : `${gone} of ${H} heads per layer masked`;
  return { case: c.name, impl: 'attn', threads, value: (B * T) / (ms / 1000), unit: 'tokens/s', note: what };
}

const { cases, threads } = parseCaseArgs('prune', CASES, process.argv.slice(2));
const r = newReport('prune');
for (const n of threads) {
  setBackend('wasm', { threads: n });
  for (const c of cases) r.rows.push(await measure(c, n));
  // Speed-up against the whole model of the same family and thread count, in each row's note.
  for (const row of r.rows.filter((x) => x.threads === n)) {
    const fam = FAMILIES.find((f) => row.case.startsWith(f.name))!;
    const base = r.rows.find((x) => x.threads === n && x.case === `${fam.name}-keep100`);
    if (base && row !== base) row.note += `; ${(row.value / base.value).toFixed(2)}× the whole model`;
  }
}
report(r, wantJson());
