// The experiment behind "attention won": train RNN encoder-decoders that differ only in how the decoder reads
// the source — no attention (one fixed summary vector), Bahdanau, Luong dot, Luong general — on the same data,
// with the same time budget each, and measure their error rate against the length of the input. Bahdanau et
// al. (2015, figure 2) showed the fixed-vector model degrading as sentences grow while the attention model
// does not; this re-draws that figure on two tasks:
//
//   g2p      grapheme-to-phoneme on CMUdict (src/data/g2p.ts: the split and vocabularies the Transformer of the
//            encoder-decoder experiment uses too, so its error rates can stand in the same table): spelling in,
//            ARPAbet phonemes out; word error rate (WER) and phoneme error rate (PER) against any of a word's
//            pronunciations; length = letters in the word.
//   reverse  reverse a random sequence of 5–60 symbols (20 symbols): lengths far beyond any word, where a
//            fixed-size summary must hold the whole input; sequence error rate (any symbol wrong) and symbol
//            error rate (edit distance / length).
//
// Per model: AdamW with linear warmup and cosine decay fitted to the budget (steps, or seconds measured as it
// goes), gradient clipping at 1, random batches padded per batch, full teacher forcing. Evaluation decodes
// greedily (or with beams) through src/generate via the RNN stepper, and keeps the attention weights of a few
// examples for heatmaps. Nothing here writes files: cli/experiment.ts does (tables, SVG/PNG figures).
//
// Not handled: resuming an interrupted experiment (each model trains in minutes), several seeds per model.

import { AdamW, clipGradNorm } from '../optim/index.js';
import { manualSeed, noGrad, Rng, tensor, trainingStep } from '../tensor/index.js';
import { generate } from '../generate/generate.js';
import { stepperFromRNNSeq2Seq } from '../generate/rnn_seq2seq.js';
import { RNNSeq2Seq, rnnSeq2SeqConfig, type AttentionKind, type RNNSeq2SeqConfig } from '../models/rnn_attention.js';
import { g2pPairs, g2pVocabs, G2PVocab, scoreG2P, splitG2P, type G2PEntry } from '../data/g2p.js';
import { editDistance } from '../metrics/edit_distance.js';

export type TaskName = 'g2p' | 'reverse';

/** The four models of the comparison (luong-concat can be asked for too). */
export const EXPERIMENT_MODELS: readonly AttentionKind[] = ['none', 'bahdanau', 'luong-dot', 'luong-general'];

/** How models are called in tables and figures. */
export const MODEL_LABELS: Record<AttentionKind, string> = {
  none: 'no attention',
  bahdanau: 'Bahdanau',
  'luong-dot': 'Luong dot',
  'luong-general': 'Luong general',
  'luong-concat': 'Luong concat',
};

/**
 * Model sizes per task. Every model of a task gets the same sizes; the decoders' inputs have the same width
 * (embedding + 2H: the fixed summary, the attention context, or Luong's fed-back h̃ of size Hd = 2H), so the
 * parameter counts differ only by the attention's own few matrices (see the table's parameter column).
 * Sized for a few minutes per model on a laptop CPU; the RNNSeq2Seq 'g2p' preset is the larger model of the
 * bench (bench/rnn.ts).
 */
export const TASK_SIZES: Record<TaskName, Partial<RNNSeq2SeqConfig>> = {
  g2p: { embedding_size: 64, encoder_hidden_size: 96, decoder_hidden_size: 192, attention_size: 96, dropout: 0 },
  reverse: { embedding_size: 32, encoder_hidden_size: 64, decoder_hidden_size: 128, attention_size: 64, dropout: 0 },
};

// -----------------------------------------------------------------------------------------------------------
// Tasks: where training pairs come from, what is evaluated, and how it is scored.

/** One evaluation item: a source, what counts as right, and the length it is plotted at. */
interface EvalItem {
  source: Int32Array; // ids, ending with </s>
  length: number; // input length (letters, symbols) for the length figure
  /** g2p: the entry (all pronunciations); reverse: the reference ids without </s>. */
  entry?: G2PEntry;
  reference?: Int32Array;
}

interface Task {
  name: TaskName;
  srcSymbols: readonly string[]; // id → display symbol
  tgtSymbols: readonly string[];
  /** A training batch of (source, target) ids, both ending with </s>. */
  sample(rng: Rng, n: number): { source: Int32Array; target: Int32Array }[];
  evalItems: EvalItem[];
  /** The x position of an input length in the length figure (long tails are grouped). */
  bucket(length: number): number;
  /** The two error rates of predictions (target ids without </s>) for some of the eval items. */
  score(items: readonly EvalItem[], predictions: readonly Int32Array[]): { errorRate: number; tokenErrorRate: number };
  metricNames: [string, string];
  /** Examples whose alignments become heatmaps. */
  heatmapItems: EvalItem[];
}

/** The G2P task on the shared split; `entries` = loadCmudict() (or a small list in tests). */
function g2pTask(entries: readonly G2PEntry[], evalLimit: number): Task {
  const vocabs = g2pVocabs();
  const split = splitG2P(entries);
  const train = g2pPairs(split.train, vocabs);
  if (train.length === 0) throw new Error('g2p task: no training words (is the dictionary empty?)');
  const test = evalLimit > 0 ? evenSample(split.test, evalLimit) : split.test;
  const items: EvalItem[] = test.map((e) => ({ source: vocabs.graphemes.encode(e.graphemes, { eos: true }), length: e.graphemes.length, entry: e }));
  // Heatmap words, chosen by hand for silent letters and letter groups (they may be training words: these
  // figures show how the model reads, not how well it generalises).
  const heat = ['attention', 'knight', 'thoughtful', 'phoneme'].map((w) => ({ source: vocabs.graphemes.encode(w.split(''), { eos: true }), length: w.length }));
  return {
    name: 'g2p',
    srcSymbols: vocabs.graphemes.tokens,
    tgtSymbols: vocabs.phonemes.tokens,
    sample: (rng, n) => Array.from({ length: n }, () => train[rng.int(train.length)]!),
    evalItems: items,
    bucket: (len) => Math.min(Math.max(len, 3), 14),
    score(its, preds) {
      const s = scoreG2P(preds.map((p) => vocabs.phonemes.decode(p)), its.map((i) => i.entry!));
      return { errorRate: s.wer, tokenErrorRate: s.per };
    },
    metricNames: ['WER', 'PER'],
    heatmapItems: heat,
  };
}

/** Number of symbols of the reversal task (ids 4..23, after the four specials). */
const REVERSE_SYMBOLS = 20;
export const REVERSE_LENGTHS = { min: 5, max: 60 };

/** Reversal of random sequences; evaluation: `perLength` sequences at each length 5, 10, …, 60. */
function reverseTask(seed: number, perLength: number): Task {
  const symbols = [...G2PVocab.SPECIALS, ...'abcdefghijklmnopqrst'.split('')];
  const make = (rng: Rng, len: number): { source: Int32Array; target: Int32Array; seq: Int32Array } => {
    const seq = Int32Array.from({ length: len }, () => 4 + rng.int(REVERSE_SYMBOLS));
    const source = Int32Array.from([...seq, G2PVocab.EOS]);
    const target = Int32Array.from([...[...seq].reverse(), G2PVocab.EOS]);
    return { source, target, seq };
  };
  const evalRng = new Rng(seed + 7919);
  const items: EvalItem[] = [];
  for (let len = REVERSE_LENGTHS.min; len <= REVERSE_LENGTHS.max; len += 5) {
    for (let i = 0; i < perLength; i++) {
      const ex = make(evalRng, len);
      items.push({ source: ex.source, length: len, reference: ex.target.subarray(0, len) });
    }
  }
  const heat = [make(new Rng(seed + 1), 12), make(new Rng(seed + 2), 24)].map((ex) => ({ source: ex.source, length: ex.seq.length }));
  return {
    name: 'reverse',
    srcSymbols: symbols,
    tgtSymbols: symbols,
    sample: (rng, n) => Array.from({ length: n }, () => make(rng, REVERSE_LENGTHS.min + rng.int(REVERSE_LENGTHS.max - REVERSE_LENGTHS.min + 1))),
    evalItems: items,
    bucket: (len) => len,
    score(its, preds) {
      let wrong = 0;
      let edits = 0;
      let total = 0;
      its.forEach((it, i) => {
        const ref = [...it.reference!];
        const d = editDistance(ref, [...preds[i]!]);
        if (d > 0) wrong++;
        edits += d;
        total += ref.length;
      });
      return { errorRate: its.length ? wrong / its.length : 0, tokenErrorRate: total ? edits / total : 0 };
    },
    metricNames: ['sequence error', 'symbol error'],
    heatmapItems: heat,
  };
}

/** n items spread evenly over a list (deterministic; the list is already in a fixed order). */
function evenSample<T>(xs: readonly T[], n: number): T[] {
  if (n >= xs.length) return [...xs];
  return Array.from({ length: n }, (_, i) => xs[Math.floor((i * xs.length) / n)]!);
}

// -----------------------------------------------------------------------------------------------------------
// Training

export interface ExperimentOptions {
  task: TaskName;
  /** Attention kinds to train, in order (default EXPERIMENT_MODELS). */
  models?: readonly AttentionKind[];
  cell?: 'gru' | 'lstm';
  /** Training budget per model: seconds of wall time, or a number of steps (exactly reproducible). */
  seconds?: number;
  steps?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  /** g2p: evaluate on this many test words (spread over the test set); 0 = all. Default 0. */
  evalLimit?: number;
  /** reverse: evaluation sequences per length. Default 40. */
  perLength?: number;
  /** Beam width for evaluation (default 1: greedy). */
  beams?: number;
  /** Model size overrides on top of TASK_SIZES. */
  sizes?: Partial<RNNSeq2SeqConfig>;
  /** The dictionary for g2p (loadCmudict() in the CLI; tests pass a small one). */
  g2pEntries?: readonly G2PEntry[];
  /** Called after every step and at the phases of a model's run. */
  onProgress?: (p: ExperimentProgress) => void;
  /**
   * Called with each trained model and its symbol tables (id → symbol), after its evaluation: the CLI saves
   * it as a folder (src/models/rnn_pretrained.ts) that `attn explain` reads.
   */
  onModel?: (model: RNNSeq2Seq, info: { task: TaskName; attention: AttentionKind; source: readonly string[]; target: readonly string[] }) => void;
}

export interface ExperimentProgress {
  model: AttentionKind;
  phase: 'train' | 'eval';
  step: number;
  /** Planned steps (for a time budget: an estimate from the speed so far). */
  totalSteps: number;
  loss: number;
  elapsed: number;
}

export interface LengthPoint {
  /** x of the figure: the length, with the tails grouped (g2p: 3 = "≤ 3", 14 = "≥ 14"). */
  length: number;
  count: number;
  errorRate: number;
  tokenErrorRate: number;
}

export interface Alignment {
  /** Input symbols (columns), output symbols (rows), and rows × cols weights. */
  source: string[];
  output: string[];
  weights: Float32Array;
}

export interface ModelResult {
  attention: AttentionKind;
  label: string;
  parameters: number;
  steps: number;
  seconds: number;
  /** Mean training loss over the last 50 steps. */
  finalLoss: number;
  errorRate: number;
  tokenErrorRate: number;
  byLength: LengthPoint[];
  alignments: Alignment[];
  /** Tokens (target positions) trained on per second. */
  tokensPerSecond: number;
}

export interface TaskResult {
  task: TaskName;
  metricNames: [string, string];
  cell: 'gru' | 'lstm';
  budget: { seconds?: number; steps?: number };
  evalItems: number;
  models: ModelResult[];
}

/**
 * Train and evaluate every model of the comparison on one task.
 * Example: `runAttentionExperiment({ task: 'reverse', steps: 2000 })`. Synchronous (a few minutes per model).
 */
export function runAttentionExperiment(opts: ExperimentOptions): TaskResult {
  const seed = opts.seed ?? 1234;
  if (opts.seconds === undefined && opts.steps === undefined) throw new Error('runAttentionExperiment: give a budget per model, seconds or steps');
  if (opts.seconds !== undefined && !(opts.seconds > 0)) throw new Error(`runAttentionExperiment: seconds must be > 0, got ${opts.seconds}`);
  if (opts.steps !== undefined && !(Number.isInteger(opts.steps) && opts.steps > 0)) throw new Error(`runAttentionExperiment: steps must be a positive integer, got ${opts.steps}`);
  let task: Task;
  if (opts.task === 'g2p') {
    if (!opts.g2pEntries) throw new Error('runAttentionExperiment: the g2p task needs g2pEntries (loadCmudict() from src/data/g2p_node.ts)');
    task = g2pTask(opts.g2pEntries, opts.evalLimit ?? 0);
  } else if (opts.task === 'reverse') {
    task = reverseTask(seed, opts.perLength ?? 40);
  } else {
    throw new Error(`runAttentionExperiment: unknown task '${String(opts.task)}' (g2p or reverse)`);
  }
  const cell = opts.cell ?? 'gru';
  const models = (opts.models ?? EXPERIMENT_MODELS).map((kind) => trainAndEvaluate(task, kind, cell, opts, seed));
  const budget: { seconds?: number; steps?: number } = opts.steps !== undefined ? { steps: opts.steps } : { seconds: opts.seconds! };
  return { task: task.name, metricNames: task.metricNames, cell, budget, evalItems: task.evalItems.length, models };
}

/** Right-pad rows into (B, L) with `pad`. */
function padRows(rows: readonly Int32Array[], pad: number): { ids: Int32Array; L: number } {
  const L = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * L).fill(pad);
  rows.forEach((r, i) => ids.set(r, i * L));
  return { ids, L };
}

function trainAndEvaluate(task: Task, kind: AttentionKind, cell: 'gru' | 'lstm', opts: ExperimentOptions, seed: number): ModelResult {
  const cfg = rnnSeq2SeqConfig({
    ...TASK_SIZES[task.name],
    ...opts.sizes,
    src_vocab_size: task.srcSymbols.length,
    tgt_vocab_size: task.tgtSymbols.length,
    cell,
    attention: kind,
    pad_token_id: G2PVocab.PAD,
    bos_token_id: G2PVocab.BOS,
    eos_token_id: G2PVocab.EOS,
  });
  manualSeed(seed); // dropout draws, if any
  const model = new RNNSeq2Seq(cfg, new Rng(seed));
  const params = model.parameters();
  const maxLr = opts.lr ?? 2e-3;
  const opt = new AdamW(params, { lr: maxLr, weightDecay: 0 });
  const rng = new Rng(seed + 1);
  const B = opts.batchSize ?? 64;
  const warmup = 50;
  const t0 = performance.now();
  const losses: number[] = [];
  let step = 0;
  let tokens = 0;
  const elapsed = () => (performance.now() - t0) / 1000;
  // Progress through the budget, 0 → 1: the cosine schedule follows it.
  const progress = () => (opts.steps !== undefined ? step / opts.steps : Math.min(1, elapsed() / opts.seconds!));
  model.train();
  while (progress() < 1) {
    const f = progress();
    opt.lr = step < warmup ? (maxLr * (step + 1)) / warmup : maxLr * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * f)));
    const batch = task.sample(rng, B);
    const src = padRows(batch.map((p) => p.source), cfg.pad_token_id);
    const decIn = padRows(batch.map((p) => Int32Array.from([cfg.bos_token_id, ...p.target.subarray(0, -1)])), cfg.pad_token_id);
    const tgt = padRows(batch.map((p) => p.target), -100);
    // One step's activations and gradients live in step memory, reused by the next step (src/tensor/step.ts).
    const loss = trainingStep(() => {
      const out = model.forward(
        tensor(src.ids, [B, src.L], { dtype: 'int32' }),
        batch.map((p) => p.source.length),
        tensor(decIn.ids, [B, decIn.L], { dtype: 'int32' }),
        { targets: tensor(tgt.ids, [B, tgt.L], { dtype: 'int32' }), paddingFree: true }, // the same loss, without padded steps
      );
      opt.zeroGrad();
      out.loss!.backward();
      clipGradNorm(params, 1);
      opt.step();
      return out.loss!.item();
    });
    if (!Number.isFinite(loss)) throw new Error(`${MODEL_LABELS[kind]} on ${task.name}: the training loss became ${loss} at step ${step} (lower --lr?)`);
    losses.push(loss);
    for (const p of batch) tokens += p.target.length;
    step++;
    const total = opts.steps ?? Math.max(step, Math.round(step / Math.max(progress(), 1e-9)));
    opts.onProgress?.({ model: kind, phase: 'train', step, totalSteps: total, loss: mean(losses.slice(-50)), elapsed: elapsed() });
  }
  const seconds = elapsed();
  model.eval();
  opts.onProgress?.({ model: kind, phase: 'eval', step, totalSteps: step, loss: mean(losses.slice(-50)), elapsed: seconds });
  const preds = decode(model, task.evalItems.map((i) => i.source), opts.beams ?? 1).predictions;
  const overall = task.score(task.evalItems, preds);
  // Error rates per length bucket.
  const buckets = new Map<number, number[]>();
  task.evalItems.forEach((it, i) => {
    const x = task.bucket(it.length);
    const list = buckets.get(x) ?? [];
    list.push(i);
    buckets.set(x, list);
  });
  const byLength = [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([length, idx]) => {
    const s = task.score(idx.map((i) => task.evalItems[i]!), idx.map((i) => preds[i]!));
    return { length, count: idx.length, errorRate: s.errorRate, tokenErrorRate: s.tokenErrorRate };
  });
  const alignments: Alignment[] = [];
  if (kind !== 'none') {
    const h = decode(model, task.heatmapItems.map((i) => i.source), 1);
    task.heatmapItems.forEach((it, r) => {
      const out = [...h.predictions[r]!, G2PVocab.EOS]; // rows: each output symbol and the final </s>
      const steps = h.alignments[r]!.slice(0, out.length);
      const S = it.source.length;
      const weights = new Float32Array(steps.length * S);
      steps.forEach((w, t) => weights.set(w.subarray(0, S), t * S));
      alignments.push({ source: [...it.source].map((id) => task.srcSymbols[id]!), output: out.slice(0, steps.length).map((id) => task.tgtSymbols[id]!), weights });
    });
  }
  opts.onModel?.(model, { task: task.name, attention: kind, source: task.srcSymbols, target: task.tgtSymbols });
  return {
    attention: kind,
    label: MODEL_LABELS[kind],
    parameters: model.numParameters(),
    steps: step,
    seconds,
    finalLoss: mean(losses.slice(-50)),
    errorRate: overall.errorRate,
    tokenErrorRate: overall.tokenErrorRate,
    byLength,
    alignments,
    tokensPerSecond: tokens / seconds,
  };
}

/**
 * Decode sources with src/generate through the RNN stepper, in chunks: the predicted ids (without </s>) and,
 * for greedy decoding, each row's attention weights per generated step.
 */
function decode(model: RNNSeq2Seq, sources: readonly Int32Array[], beams: number): { predictions: Int32Array[]; alignments: Float32Array[][] } {
  const cfg = model.config;
  const predictions: Int32Array[] = [];
  const alignments: Float32Array[][] = [];
  const chunk = 256;
  for (let i = 0; i < sources.length; i += chunk) {
    const part = sources.slice(i, i + chunk);
    const stepper = stepperFromRNNSeq2Seq(model, part);
    const maxNew = Math.max(...part.map((s) => s.length)) + 6; // outputs run at most a few symbols longer than inputs
    const out = noGrad(() => generate(stepper, part.map(() => [cfg.bos_token_id]), { max_new_tokens: maxNew, num_beams: beams }));
    const al = stepper.alignments();
    out.sequences.forEach((seq, r) => {
      const gen = [...seq.subarray(out.prompt_length)];
      const end = gen.indexOf(cfg.eos_token_id);
      predictions.push(Int32Array.from(end < 0 ? gen : gen.slice(0, end)));
      alignments.push(beams === 1 ? al[r] ?? [] : []);
    });
  }
  return { predictions, alignments };
}

function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}
