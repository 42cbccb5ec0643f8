// `attn train --arch transformer|t5 --objective seq2seq|span-corruption|prefix-lm|ul2`: train an encoder-decoder
// from scratch, on (source, target) pairs or by pretraining on plain text, with the GPT trainer's conveniences
// (progress bar, metrics.jsonl, loss.svg/png, --time budgets, --resume) — src/train/seq2seq.ts does the work.
//
//   attn train --arch transformer --objective seq2seq --data pairs.jsonl --out runs/mt
//   attn train --arch t5 --objective span-corruption --data books/ --vocab-size 4000 --time 10 --out runs/t5
//
// Tokenizer: --tokenizer tokenizer.json, or a SentencePiece-style Unigram trained on the data with T5's
// special tokens (<pad> 0 = decoder start, </s> 1, <unk> 2), UL2's paradigm tokens and 100 <extra_id_N>
// sentinels. The same `runSeq2SeqTraining` serves `attn finetune --task translation|summarization`.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommand, num, str, list, UsageError, type CommandSpec, type ParsedValues } from './args.js';
import { ProgressBar, compact, duration } from './progress.js';
import { encodePng } from './png.js';
import type { Seq2SeqModel } from '../src/models/seq2seq_pretrained.js';
import type { Seq2SeqTask, Seq2SeqTrainOptions, Seq2SeqHooks } from '../src/train/seq2seq.js';
import type { TrainState } from '../src/train/trainer.js';
import type { Tokenizer } from '../src/tokenizers/index.js';

export const TRAIN_SEQ2SEQ: CommandSpec = {
  name: 'train',
  summary: 'Train an encoder-decoder (the 2017 Transformer or T5) on pairs or with a pretraining objective.',
  usage: 'attn train --arch transformer|t5 --objective seq2seq|span-corruption|prefix-lm|ul2 --data FILES [options]',
  options: {
    arch: { type: 'string', value: 'NAME', help: 'transformer (2017 / Marian) or t5 (gpt trains a GPT: see attn train --help)', default: 'transformer' },
    objective: { type: 'string', value: 'NAME', help: 'seq2seq (JSONL pairs), span-corruption, prefix-lm or ul2 (plain text)', default: 'seq2seq' },
    data: { type: 'string', multiple: true, value: 'FILES|DIR', help: 'seq2seq: JSONL/CSV/TSV pairs; objectives: text files or folders' },
    valid: { type: 'string', value: 'FILE', help: 'seq2seq: validation pairs (default: the last --val-fraction of the rows)' },
    'source-field': { type: 'string', value: 'KEY', help: 'seq2seq: field of the source text (dotted paths allowed)', default: 'source' },
    'target-field': { type: 'string', value: 'KEY', help: 'seq2seq: field of the target text', default: 'target' },
    prefix: { type: 'string', value: 'TEXT', help: 'put before every source (T5 style: "translate English to German: ")' },
    tokenizer: { type: 'string', value: 'PATH', help: 'a tokenizer.json; default: train a Unigram tokenizer on the data' },
    'vocab-size': { type: 'string', value: 'N', help: 'vocabulary of the Unigram tokenizer trained on the data', default: '4000' },
    preset: { type: 'string', value: 'NAME', help: 'model size: transformer tiny|g2p|small|base|big|marian-base, t5 tiny|mini|t5-small|...', default: 'tiny' },
    'normalize-before': { type: 'boolean', help: 'transformer: pre-LN layers instead of the 2017 post-LN' },
    'max-source-length': { type: 'string', value: 'N', help: 'longest source in tokens (objectives: the corrupted input length)', default: '128' },
    'max-target-length': { type: 'string', value: 'N', help: 'longest target in tokens', default: '128' },
    'label-smoothing': { type: 'string', value: 'E', help: 'label smoothing ε of the loss (the paper: 0.1)', default: '0.1' },
    out: { type: 'string', value: 'DIR', help: 'model folder to write', default: 'runs/seq2seq' },
    resume: { type: 'boolean', help: 'continue the run saved in --out' },
    steps: { type: 'string', value: 'N', help: 'optimizer steps', default: '1000' },
    time: { type: 'string', value: 'MIN', help: 'stop after MIN minutes (the schedule is fitted to the time)' },
    'batch-size': { type: 'string', value: 'B', help: 'pairs per batch', default: '32' },
    lr: { type: 'string', value: 'LR', help: 'peak learning rate', default: '0.001' },
    'min-lr': { type: 'string', value: 'LR', help: 'final learning rate (default lr/10)' },
    warmup: { type: 'string', value: 'N', help: 'warmup steps', default: '100' },
    'weight-decay': { type: 'string', value: 'W', help: 'AdamW weight decay on matrices', default: '0.01' },
    'grad-clip': { type: 'string', value: 'N', help: 'max gradient norm (0 = off)', default: '1' },
    'eval-every': { type: 'string', value: 'N', help: 'validation loss every N steps (0 = only at the end)', default: '200' },
    'save-every': { type: 'string', value: 'N', help: 'checkpoint every N steps (0 = only at the end)', default: '500' },
    'val-fraction': { type: 'string', value: 'F', help: 'share of the data held out for validation (a tokenizer trained here does not see it either)', default: '0.05' },
    seed: { type: 'string', value: 'N', help: 'random seed', default: '1337' },
    threads: { type: 'string', value: 'N', help: 'worker threads (default: all cores)' },
    quiet: { type: 'boolean', help: 'no progress bar' },
  },
  allowPositionals: true,
  epilog: [
    'Examples:',
    '  attn train --arch transformer --objective seq2seq --data train.jsonl --valid dev.jsonl --preset small --time 20 --out runs/mt',
    '  attn train --arch t5 --objective span-corruption --data books/ --vocab-size 4000 --steps 2000 --out runs/t5',
    '  attn train --arch t5 --objective ul2 --data books/ --preset mini --time 30 --out runs/ul2',
    '  attn train --out runs/t5 --resume --steps 4000',
  ],
};

/** Special tokens of tokenizers trained here: T5's, UL2's paradigm tokens, then the sentinels. */
export const SEQ2SEQ_SPECIALS = ['<pad>', '</s>', '<unk>', '[NLU]', '[NLG]', '[S2S]', ...Array.from({ length: 100 }, (_, i) => `<extra_id_${i}>`)];

export async function trainSeq2SeqCommand(argv: string[]): Promise<number> {
  const p = parseCommand(TRAIN_SEQ2SEQ, argv);
  if (!p) return 0;
  await import('../src/platform/node.js');
  const { setBackend } = await import('../src/backend/index.js');
  const threads = num(p.values, 'threads', { int: true, min: 1 });
  if (threads !== undefined) setBackend('wasm', { threads });
  return trainFromScratch({ ...p.values, data: [...list(p.values, 'data'), ...p.positionals] });
}

/** Training options from the shared flags (defaults from the flags' own defaults). */
export function seq2seqOptionsFromFlags(v: ParsedValues, base: Seq2SeqTrainOptions): Seq2SeqTrainOptions {
  const time = num(v, 'time', { min: 0 });
  const lr = num(v, 'lr', { min: 0 }) ?? base.lr;
  return {
    ...base,
    steps: time !== undefined ? 1_000_000 : (num(v, 'steps', { int: true, min: 1 }) ?? base.steps),
    timeLimitSec: time !== undefined ? time * 60 : 0,
    batchSize: num(v, 'batch-size', { int: true, min: 1 }) ?? base.batchSize,
    lr,
    minLr: num(v, 'min-lr', { min: 0 }) ?? lr / 10,
    warmupSteps: num(v, 'warmup', { int: true, min: 0 }) ?? base.warmupSteps,
    weightDecay: num(v, 'weight-decay', { min: 0 }) ?? base.weightDecay,
    gradClip: num(v, 'grad-clip', { min: 0 }) ?? base.gradClip,
    labelSmoothing: num(v, 'label-smoothing', { min: 0, max: 1 }) ?? base.labelSmoothing,
    evalEvery: num(v, 'eval-every', { int: true, min: 0 }) ?? base.evalEvery,
    saveEvery: num(v, 'save-every', { int: true, min: 0 }) ?? base.saveEvery,
    seed: num(v, 'seed', { int: true }) ?? base.seed,
  };
}

/** (source, target) pairs from JSONL/CSV rows: tokenized, EOS appended, cut to the maximum lengths. */
export function encodePairs(
  examples: readonly { source: string; target?: string; line: number }[],
  tokenizer: Tokenizer,
  eosId: number,
  maxSource: number,
  maxTarget: number,
): { source: Int32Array; target: Int32Array }[] {
  const enc = (text: string, max: number): Int32Array => {
    const ids = tokenizer.encode(text, undefined, { addSpecialTokens: false }).ids.slice(0, max - 1);
    return Int32Array.from([...ids, eosId]);
  };
  return examples.filter((e) => e.target !== undefined).map((e) => ({ source: enc(e.source, maxSource), target: enc(e.target!, maxTarget) }));
}

async function trainFromScratch(v: ParsedValues): Promise<number> {
  const { Rng } = await import('../src/tensor/index.js');
  const { Tokenizer } = await import('../src/tokenizers/index.js');
  const { trainTokenizer } = await import('../src/tokenizers/train.js');
  const { Transformer, transformerConfig, TRANSFORMER_PRESETS } = await import('../src/models/transformer.js');
  const { T5, t5Config, T5_PRESETS } = await import('../src/models/t5.js');
  const { fromPretrainedSeq2Seq } = await import('../src/models/seq2seq_pretrained.js');
  const { loadSeq2Seq } = await import('../src/data/node.js');
  const { listTextFiles, readDocuments } = await import('../src/train/corpus.js');
  const { buildTokenStream, splitText } = await import('../src/train/data.js');
  const { spanCorruptionLengths } = await import('../src/train/objectives/index.js');
  const { pairsTask, objectiveTask, newSeq2SeqTrainState, SEQ2SEQ_TRAIN_DEFAULTS } = await import('../src/train/seq2seq.js');
  const { loadSeq2SeqTrainingState } = await import('../src/train/seq2seq_checkpoint.js');
  const { hasTrainingState } = await import('../src/train/checkpoint.js');

  const out = str(v, 'out')!;
  const resume = v['resume'] === true;
  const quiet = v['quiet'] === true;
  const say = (s: string) => {
    if (!quiet) process.stderr.write(s + '\n');
  };
  if (resume && !hasTrainingState(out)) throw new UsageError(`--resume: ${out} has no training state (training_state.json + optimizer.safetensors); start a run with --out ${out} first`);

  let model!: Seq2SeqModel;
  let tokenizer!: Tokenizer;
  let opts: Seq2SeqTrainOptions;
  let state!: TrainState;
  let info: Record<string, unknown>;
  let dataPaths = list(v, 'data');
  if (resume) {
    // This process writes `out` again, so it may finish or undo a save its killed predecessor left half swapped.
    const { recoverDirAtomic } = await import('../src/io/atomic.js');
    recoverDirAtomic(out);
    const loaded = fromPretrainedSeq2Seq(out);
    model = loaded.model;
    if (loaded.tokenizerJson === null) throw new UsageError(`${out} has no tokenizer.json to resume with`);
    tokenizer = Tokenizer.fromJSON(loaded.tokenizerJson);
    const saved = loadSeq2SeqTrainingState(out, model);
    state = saved.state;
    info = saved.info;
    opts = { ...saved.options, steps: num(v, 'steps', { int: true, min: 1 }) ?? saved.options.steps };
    const time = num(v, 'time', { min: 0 });
    opts.timeLimitSec = time !== undefined ? time * 60 : 0;
    if (dataPaths.length === 0) dataPaths = (info['data'] as string[] | undefined) ?? [];
    for (const k of ['arch', 'objective', 'valid', 'source-field', 'target-field', 'prefix', 'max-source-length', 'max-target-length', 'val-fraction'] as const) {
      if (info[k] !== undefined) v[k] = info[k] as string;
    }
    say(`resuming ${out} at step ${state.step} of ${opts.steps}`);
  } else {
    opts = seq2seqOptionsFromFlags(v, SEQ2SEQ_TRAIN_DEFAULTS);
    info = {};
  }
  if (dataPaths.length === 0) throw new UsageError('--data FILES|DIR is required (see attn train --arch transformer --help)');
  const arch = str(v, 'arch')!;
  const objective = str(v, 'objective')!;
  if (arch !== 'transformer' && arch !== 't5') throw new UsageError(`--arch must be transformer or t5, got '${arch}'`);
  if (!['seq2seq', 'span-corruption', 'prefix-lm', 'ul2'].includes(objective)) throw new UsageError(`--objective must be seq2seq, span-corruption, prefix-lm or ul2, got '${objective}'`);
  const maxSource = num(v, 'max-source-length', { int: true, min: 2 })!;
  const maxTarget = num(v, 'max-target-length', { int: true, min: 2 })!;
  const valFraction = num(v, 'val-fraction', { min: 0, max: 0.9 })!;

  // --- tokenizer ---------------------------------------------------------------------------------------
  const pairFiles = objective === 'seq2seq' ? dataPaths : [];
  const textFiles = objective === 'seq2seq' ? [] : listTextFiles(dataPaths);
  const readPairs = (file: string) => loadSeq2Seq(file, { sourceField: str(v, 'source-field')!, targetField: str(v, 'target-field')!, prefix: str(v, 'prefix') ?? '' });
  // Training and validation pairs: --valid's file, or the last --val-fraction of the rows (read once, when needed).
  let split: { train: ReturnType<typeof readPairs>; valid: ReturnType<typeof readPairs> } | null = null;
  const splitPairs = () => {
    if (split) return split;
    const rows = pairFiles.flatMap(readPairs);
    const validFile = str(v, 'valid');
    if (validFile) return (split = { train: rows, valid: readPairs(validFile) });
    const cut = Math.max(1, Math.floor(rows.length * (1 - valFraction)));
    return (split = { train: rows.slice(0, cut), valid: rows.slice(cut) });
  };
  if (!resume) {
    const tokArg = str(v, 'tokenizer');
    if (tokArg) {
      if (!existsSync(tokArg)) throw new UsageError(`tokenizer not found: ${tokArg}`);
      tokenizer = Tokenizer.fromJSON(readFileSync(tokArg, 'utf8'));
    } else {
      const vocabSize = num(v, 'vocab-size', { int: true, min: SEQ2SEQ_SPECIALS.length + 10 })!;
      // Trained on the training data only — both sides of the training pairs, or the training head of each text
      // file (splitText, the cut buildTokenStream makes below) — so validation text is unseen by the tokenizer as by
      // the model.
      const texts = objective === 'seq2seq' ? splitPairs().train.flatMap((e) => [e.source, e.target ?? '']) : readDocuments(textFiles).docs.map((d) => splitText(d.text, valFraction).train);
      const t0 = performance.now();
      tokenizer = await trainTokenizer(texts, { type: 'unigram', vocabSize, specialTokens: SEQ2SEQ_SPECIALS });
      say(`tokenizer: Unigram, ${tokenizer.vocabSize} tokens (${SEQ2SEQ_SPECIALS.length} special), trained in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  const id = (t: string): number => {
    const i = tokenizer.tokenToId(t);
    if (i === undefined) throw new UsageError(`the tokenizer has no ${t} token, which ${objective === 'seq2seq' ? 'training' : `--objective ${objective}`} needs (train one here without --tokenizer, or add it)`);
    return i;
  };
  const pad = id('<pad>');
  const eos = id('</s>');

  // --- model -------------------------------------------------------------------------------------------
  const preset = str(v, 'preset')!;
  if (!resume) {
    const seed = opts.seed;
    if (arch === 'transformer') {
      if (!(preset in TRANSFORMER_PRESETS)) throw new UsageError(`unknown transformer preset '${preset}'; presets: ${Object.keys(TRANSFORMER_PRESETS).join(', ')}`);
      const cfg = transformerConfig({
        preset: preset as keyof typeof TRANSFORMER_PRESETS,
        vocab_size: tokenizer.vocabSize,
        pad_token_id: pad,
        decoder_start_token_id: pad,
        eos_token_id: eos,
        max_position_embeddings: Math.max(maxSource, maxTarget + 1),
        normalize_before: v['normalize-before'] === true,
      });
      model = new Transformer(cfg, new Rng(seed));
    } else {
      if (!(preset in T5_PRESETS)) throw new UsageError(`unknown t5 preset '${preset}'; presets: ${Object.keys(T5_PRESETS).join(', ')}`);
      model = new T5(t5Config({ preset: preset as keyof typeof T5_PRESETS, vocab_size: tokenizer.vocabSize, pad_token_id: pad, decoder_start_token_id: pad, eos_token_id: eos }), new Rng(seed));
    }
    state = newSeq2SeqTrainState(model, opts);
  }

  // --- data --------------------------------------------------------------------------------------------
  let task: Seq2SeqTask;
  if (objective === 'seq2seq') {
    const { train: trainRows, valid: validRows } = splitPairs();
    const trainPairs = encodePairs(trainRows, tokenizer, eos, maxSource, maxTarget);
    const validPairs = encodePairs(validRows, tokenizer, eos, maxSource, maxTarget);
    if (validPairs.length === 0) throw new UsageError('no validation pairs: give --valid FILE or more rows (a larger --val-fraction)');
    task = pairsTask(trainPairs, validPairs, `${trainPairs.length} training / ${validPairs.length} validation pairs from ${pairFiles.join(', ')}`);
  } else {
    const { docs } = readDocuments(textFiles);
    const stream = buildTokenStream(docs, { encodeText: (t) => tokenizer.encode(t, undefined, { addSpecialTokens: false }).ids }, valFraction);
    const sentinelIds = Array.from({ length: 100 }, (_, i) => id(`<extra_id_${i}>`));
    const rowLength = objective === 'span-corruption' ? spanCorruptionLengths(maxSource - 1).tokensLength : maxSource - 1;
    task = objectiveTask(stream.train, stream.val, {
      objective: objective as 'span-corruption' | 'prefix-lm' | 'ul2',
      rowLength,
      eosId: eos,
      sentinelIds,
      paradigmIds: { '[NLU]': id('[NLU]'), '[NLG]': id('[NLG]'), '[S2S]': id('[S2S]') },
    });
    if (task.validation.length === 0) throw new UsageError(`the validation text has fewer than ${rowLength} tokens: use more text or a larger --val-fraction`);
  }
  say(`data: ${task.describe}`);
  say(`model: ${arch} (${preset}), ${compact(model!.numParameters())} parameters, vocab ${model!.config.vocab_size}`);
  info = { ...info, data: dataPaths, arch, objective, 'source-field': str(v, 'source-field'), 'target-field': str(v, 'target-field'), prefix: str(v, 'prefix'), valid: str(v, 'valid'), 'max-source-length': String(maxSource), 'max-target-length': String(maxTarget), 'val-fraction': String(valFraction), createdBy: 'attn train' };
  await runSeq2SeqTraining(model!, task, state!, opts, { out, tokenizerJson: JSON.stringify(tokenizer.toJSON()), info, quiet, resume });
  return 0;
}

export interface RunOptions {
  out: string;
  tokenizerJson?: string;
  /** Tokenizer files to copy into each checkpoint (name -> path), for tokenizers without a tokenizer.json form (Marian). */
  tokenizerFiles?: Record<string, string>;
  info: Record<string, unknown>;
  quiet: boolean;
  resume: boolean;
  generationConfig?: Record<string, unknown>;
  /** Extra metrics at each evaluation. */
  evaluate?: Seq2SeqHooks['evaluate'];
}

/** The training run with progress, metrics.jsonl, loss plots and checkpoints in `out` (attn train and attn finetune). */
export async function runSeq2SeqTraining(model: Seq2SeqModel, task: Seq2SeqTask, state: TrainState, opts: Seq2SeqTrainOptions, r: RunOptions): Promise<{ valLoss: number; steps: number; seconds: number; tokensPerSec: number }> {
  const { trainSeq2Seq } = await import('../src/train/seq2seq.js');
  const { saveSeq2SeqCheckpoint } = await import('../src/train/seq2seq_checkpoint.js');
  const { lossCurveSvg, lossCurveRaster } = await import('../src/train/plot.js');
  const { getBackend } = await import('../src/backend/index.js');
  const say = (s: string) => {
    if (!r.quiet) process.stderr.write(s + '\n');
  };
  say(`training: batch ${opts.batchSize}, lr ${opts.lr} (cosine to ${opts.minLr}, ${opts.warmupSteps} warmup), label smoothing ${opts.labelSmoothing}, ${opts.timeLimitSec > 0 ? `${duration(opts.timeLimitSec)} budget` : `${opts.steps} steps`}, backend ${getBackend().name} (${getBackend().threads} threads)`);
  mkdirSync(r.out, { recursive: true });
  const scratch = `${r.out}.metrics.jsonl`;
  const metricsPath = join(r.out, 'metrics.jsonl');
  if (!r.resume) rmSync(scratch, { force: true });
  else if (existsSync(metricsPath)) writeFileSync(scratch, readFileSync(metricsPath));
  const series = { train: [] as Array<[number, number]>, val: [] as Array<[number, number]> };
  const bar = r.quiet ? null : new ProgressBar(opts.timeLimitSec > 0 ? 0 : opts.steps, 'step ');
  let tokSum = 0;
  let tokN = 0;
  const result = await trainSeq2Seq(model, task, state, opts, {
    ...(r.evaluate ? { evaluate: r.evaluate } : {}),
    log: (rec) => {
      appendFileSync(scratch, JSON.stringify(rec) + '\n');
      if (rec.kind === 'train') {
        series.train.push([rec.step, rec.loss]);
        if (rec.step > 2) {
          tokSum += rec.tokensPerSec;
          tokN++;
        }
        bar?.setTotal(rec.totalSteps);
        bar?.update(rec.step, `loss ${rec.loss.toFixed(3)} · ${compact(rec.tokensPerSec)} tok/s · lr ${rec.lr.toExponential(1)}`);
      } else {
        series.val.push([rec.step, rec.valLoss]);
        const extra = rec.metrics ? ' · ' + Object.entries(rec.metrics).map(([k, x]) => `${k} ${x.toFixed(4)}`).join(', ') : '';
        const msg = `step ${rec.step}: validation loss ${rec.valLoss.toFixed(3)}, perplexity ${rec.perplexity.toFixed(2)}${extra}`;
        if (bar) bar.log(msg);
        else say(msg);
      }
    },
    save: (s) => {
      const raster = lossCurveRaster(series);
      saveSeq2SeqCheckpoint(model, r.out, s, opts, {
        ...(r.tokenizerJson !== undefined ? { tokenizerJson: r.tokenizerJson } : {}),
        ...(r.generationConfig ? { generationConfig: r.generationConfig } : {}),
        copyFiles: { ...r.tokenizerFiles, 'metrics.jsonl': scratch },
        extraFiles: { 'loss.svg': lossCurveSvg(series, `${r.out}: loss`), 'loss.png': encodePng(raster.width, raster.height, raster.rgba) },
        info: r.info,
      });
    },
  });
  bar?.done();
  rmSync(scratch, { force: true });
  const tokensPerSec = tokN > 0 ? tokSum / tokN : 0;
  say(`done: ${result.state.step} steps in ${duration(result.state.elapsedSec)} (${compact(tokensPerSec)} tokens/s); validation loss ${result.lastEval.valLoss.toFixed(3)}`);
  say(`model saved to ${r.out}/ (config.json, model.safetensors, tokenizer.json, metrics.jsonl, loss.svg, loss.png)`);
  return { valLoss: result.lastEval.valLoss, steps: result.state.step, seconds: result.state.elapsedSec, tokensPerSec };
}
