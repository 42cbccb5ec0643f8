// `attn train`: text → (tokenizer) → GPT → checkpoints in a Hugging Face folder, with a progress bar, a
// metrics log (metrics.jsonl) and a loss plot (loss.svg, loss.png) beside the weights.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseCommand, num, str, list, UsageError, type CommandSpec, type ParsedValues } from './args.js';
import { ProgressBar, compact, duration } from './progress.js';
import { encodePng } from './png.js';
import type { GPT } from '../src/models/gpt.js';
import type { BertAnyModel } from '../src/models/bert.js';
import type { ClmScores, EvalRecord, EvalScores, TrainHooks, TrainOptions, TrainResult, TrainState } from '../src/train/trainer.js';

export const TRAIN: CommandSpec = {
  name: 'train',
  summary: 'Train a GPT (next-token prediction) or a BERT (masked LM) on text files: a new model, a resumed run, or more training of an existing folder.',
  usage: 'attn train --data FILES|DIR [--arch gpt|bert] [--tokenizer PATH|gpt2 | --vocab-size N] [--preset NAME] [--steps N | --time MIN] [--out DIR] [--resume] [--init DIR] [--seed N]',
  options: {
    arch: { type: 'string', value: 'gpt|bert|transformer|t5', help: 'gpt (default): decoder trained to predict the next token; bert: encoder trained with masked LM; transformer or t5: an encoder-decoder (see attn train --arch t5 --help)' },
    objective: { type: 'string', value: 'clm|mlm', help: 'training objective: clm (causal LM, gpt) or mlm (masked LM, bert); default: the architecture\'s own' },
    'whole-word-mask': { type: 'boolean', help: 'mlm: mask whole words rather than single word pieces' },
    'mask-prob': { type: 'string', value: 'P', help: 'mlm: share of tokens masked', default: '0.15' },
    cased: { type: 'boolean', help: 'bert: the WordPiece tokenizer trained on the data keeps case and accents (default: uncased)' },
    data: { type: 'string', multiple: true, value: 'FILES|DIR', help: 'text files or folders of them (repeat --data for several)' },
    tokenizer: { type: 'string', value: 'PATH|gpt2', help: 'a tokenizer.json, or gpt2; default: train a byte-level BPE on the data' },
    'vocab-size': { type: 'string', value: 'N', help: 'vocabulary of the BPE trained on the data', default: '4096' },
    preset: { type: 'string', value: 'NAME', help: 'model size: gpt: tiny, nanogpt-cpu, mini (default), small, gpt-6l-384, gpt2, ...; bert: tiny, bert-tiny, bert-mini (default), bert-small, bert-base, ...' },
    'n-layer': { type: 'string', value: 'N', help: 'override the preset: layers' },
    'n-head': { type: 'string', value: 'N', help: 'override the preset: heads' },
    'n-embd': { type: 'string', value: 'N', help: 'override the preset: channels' },
    'n-positions': { type: 'string', value: 'N', help: 'override the preset: context length (position table size)' },
    dropout: { type: 'string', value: 'P', help: 'override the preset: dropout on embeddings, attention and residuals' },
    'sliding-window': { type: 'string', value: 'N', help: 'each token attends to at most the previous N tokens (0 = full causal)' },
    init: { type: 'string', value: 'DIR', help: 'fine-tune: start from this model folder (its config and tokenizer)' },
    resume: { type: 'boolean', help: 'continue the run saved in --out (model, optimizer, step, RNG)' },
    out: { type: 'string', value: 'DIR', help: 'model folder to write', default: 'runs/gpt' },
    steps: { type: 'string', value: 'N', help: 'optimizer steps', default: '1000' },
    time: { type: 'string', value: 'MIN', help: 'stop after MIN minutes (the schedule is fitted to the time)' },
    'batch-size': { type: 'string', value: 'B', help: 'rows per micro-batch', default: '16' },
    'block-size': { type: 'string', value: 'T', help: 'tokens per row (default: the model context, at most 128)' },
    'grad-accum': { type: 'string', value: 'N', help: 'micro-batches per optimizer step', default: '1' },
    lr: { type: 'string', value: 'LR', help: 'peak learning rate', default: '0.001' },
    'min-lr': { type: 'string', value: 'LR', help: 'final learning rate of the cosine decay (default lr/10)' },
    warmup: { type: 'string', value: 'N', help: 'warmup steps', default: '50' },
    'weight-decay': { type: 'string', value: 'W', help: 'AdamW weight decay on matrices', default: '0.1' },
    'grad-clip': { type: 'string', value: 'N', help: 'max gradient norm (0 = off)', default: '1' },
    'eval-every': { type: 'string', value: 'N', help: 'evaluate every N steps (0 = only at the end)', default: '100' },
    'eval-tokens': { type: 'string', value: 'N', help: 'score at most N validation tokens per evaluation (0 = all)', default: '0' },
    'save-every': { type: 'string', value: 'N', help: 'checkpoint every N steps (0 = only at the end)', default: '500' },
    'val-fraction': { type: 'string', value: 'F', help: 'tail of each file held out for validation (a tokenizer trained here does not see it either)', default: '0.1' },
    seed: { type: 'string', value: 'N', help: 'random seed (weights, batches, dropout)', default: '1337' },
    threads: { type: 'string', value: 'N', help: 'worker threads for the WASM kernels (default: all cores)' },
    quiet: { type: 'boolean', help: 'no progress bar' },
  },
  allowPositionals: true, // `--data a.txt b.txt c.txt`: the extra file names arrive as positionals
  epilog: [
    'Examples:',
    '  attn train --data shakespeare.txt --vocab-size 2048 --preset small --time 5',
    '  attn train --data books/ --out runs/books --steps 5000 --save-every 500',
    '  attn train --out runs/books --resume --steps 8000',
    '  attn train --init models/gpt2 --data my-notes/ --steps 200 --lr 1e-4 --out runs/gpt2-notes',
    '  attn train --arch bert --objective mlm --data books/ --vocab-size 8000 --preset bert-mini --time 10 --out runs/bert',
  ],
};

export interface TrainSummary {
  out: string;
  steps: number;
  valLoss: number;
  perplexity: number;
  bitsPerByte: number;
  tokensPerSec: number;
  seconds: number;
  stoppedBy: 'steps' | 'time';
}

/** The value of `--name V` or `--name=V` in argv, if present (read before parsing, to pick the trainer). */
function flagValue(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name) return argv[i + 1];
    if (argv[i]!.startsWith(`${name}=`)) return argv[i]!.slice(name.length + 1);
  }
  return undefined;
}

export async function trainCommand(argv: string[]): Promise<number> {
  // Encoder-decoders (--arch transformer|t5, or --resume of a Marian/T5 run) have their own trainer.
  const arch = flagValue(argv, '--arch');
  const out = flagValue(argv, '--out');
  let seq2seqResume = false;
  if (arch === undefined && argv.includes('--resume') && out !== undefined && existsSync(join(out, 'config.json'))) {
    const type = (JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { model_type?: unknown }).model_type;
    seq2seqResume = type === 'marian' || type === 't5';
  }
  if ((arch === 'transformer' || arch === 't5') || seq2seqResume) return (await import('./train_seq2seq.js')).trainSeq2SeqCommand(argv);
  const p = parseCommand(TRAIN, argv);
  if (!p) return 0;
  const v = { ...p.values, data: [...list(p.values, 'data'), ...p.positionals] };
  if (await isBertRun(v)) {
    const { runMlmTraining } = await import('./train_mlm.js');
    await runMlmTraining(v);
  } else await runTraining(v);
  return 0;
}

/** The whole of `attn train`, reusable by `attn start`. */
export async function runTraining(v: ParsedValues, hooks: { header?: (lines: string[]) => void } = {}): Promise<TrainSummary> {
  await import('../src/platform/node.js');
  const { setBackend, getBackend } = await import('../src/backend/index.js');
  const { GPT, gptConfig, GPT_PRESETS } = await import('../src/models/gpt.js');
  const { fromPretrained } = await import('../src/models/pretrained.js');
  const { gptSizes } = await import('../src/models/sizes.js');
  const { Rng } = await import('../src/tensor/index.js');
  const { Tokenizer } = await import('../src/tokenizers/index.js');
  const { BPETrainer } = await import('../src/tokenizers/bpe_trainer.js');
  const { splitText } = await import('../src/train/data.js');
  const { trainLoop, newTrainState, TRAIN_DEFAULTS } = await import('../src/train/trainer.js');
  const { loadTrainingState, hasTrainingState } = await import('../src/train/checkpoint.js');
  const { recoverDirAtomic } = await import('../src/io/atomic.js');
  const { listTextFiles, loadTokenStream, readDocuments } = await import('../src/train/corpus.js');
  const { readFileSync } = await import('node:fs');

  const threads = num(v, 'threads', { int: true, min: 1 });
  if (threads !== undefined) setBackend('wasm', { threads });
  const out = str(v, 'out')!;
  const resume = v['resume'] === true;
  const init = str(v, 'init');
  const dataPaths = list(v, 'data');
  const valFraction = num(v, 'val-fraction', { min: 0, max: 0.9 }) ?? 0.1;
  const quiet = v['quiet'] === true;
  const say = (s: string) => {
    if (!quiet) process.stderr.write(s + '\n');
  };
  if (resume && init) throw new UsageError('--resume continues the run in --out; --init starts a fine-tune from another folder: give one of them');
  if (resume && !hasTrainingState(out)) throw new UsageError(`--resume: ${out} has no training state (training_state.json + optimizer.safetensors); start a run with --out ${out} first`);

  const warned = new Set<string>();
  const warnInvalid = (r: { path: string; invalidUtf8: number }) => {
    const key = resolve(r.path);
    if (r.invalidUtf8 === 0 || warned.has(key)) return;
    warned.add(key);
    say(`warning: ${r.path}: ${r.invalidUtf8} invalid UTF-8 sequence${r.invalidUtf8 > 1 ? 's' : ''} replaced by U+FFFD`);
  };

  // --- 1. model, tokenizer and options (from the folder when resuming or fine-tuning) --------------------------
  let tokenizer: InstanceType<typeof Tokenizer>;
  let tokenizerJson: string;
  let model: InstanceType<typeof GPT>;
  let state;
  let opts = { ...TRAIN_DEFAULTS };
  const header: string[] = [];

  const loadFolderTokenizer = (dir: string, json: string | null, vm: { vocab: string; merges: string } | null) => {
    if (json !== null) return Tokenizer.fromJSON(json);
    if (vm !== null) {
      throw new UsageError(`${dir} has vocab.json + merges.txt but no tokenizer.json; pass --tokenizer gpt2 if it is GPT-2's vocabulary`);
    }
    throw new UsageError(`${dir} has no tokenizer.json; pass --tokenizer PATH|gpt2`);
  };

  const readOpts = () => {
    const steps = num(v, 'steps', { int: true, min: 1 }) ?? opts.steps;
    const time = num(v, 'time', { min: 0 });
    const lr = num(v, 'lr', { min: 0 }) ?? opts.lr;
    return {
      ...opts,
      steps: time !== undefined && v['steps'] === TRAIN.options['steps']!.default ? 1_000_000 : steps,
      timeLimitSec: time !== undefined ? time * 60 : 0,
      batchSize: num(v, 'batch-size', { int: true, min: 1 }) ?? opts.batchSize,
      gradAccum: num(v, 'grad-accum', { int: true, min: 1 }) ?? opts.gradAccum,
      lr,
      minLr: num(v, 'min-lr', { min: 0 }) ?? lr / 10,
      warmupSteps: num(v, 'warmup', { int: true, min: 0 }) ?? opts.warmupSteps,
      weightDecay: num(v, 'weight-decay', { min: 0 }) ?? opts.weightDecay,
      gradClip: num(v, 'grad-clip', { min: 0 }) ?? opts.gradClip,
      evalEvery: num(v, 'eval-every', { int: true, min: 0 }) ?? opts.evalEvery,
      evalTokens: num(v, 'eval-tokens', { int: true, min: 0 }) ?? opts.evalTokens,
      saveEvery: num(v, 'save-every', { int: true, min: 0 }) ?? opts.saveEvery,
      seed: num(v, 'seed', { int: true }) ?? opts.seed,
    };
  };

  if (resume) {
    // This process is about to write `out` again, so it may finish or undo a save its killed predecessor left
    // half swapped (only a folder's writer does that; readers such as `attn generate` never change it).
    recoverDirAtomic(out);
    const loaded = fromPretrained(out);
    model = loaded.model;
    tokenizer = loadFolderTokenizer(out, loaded.tokenizerJson, loaded.vocabMerges);
    tokenizerJson = loaded.tokenizerJson!;
    const saved = loadTrainingState(out, model);
    state = saved.state;
    opts = { ...saved.options };
    // Only the length of the run and the evaluation/saving cadence may change on resume; the rest must match
    // the saved run, or it would not be the same run.
    opts.steps = num(v, 'steps', { int: true, min: 1 }) ?? opts.steps;
    const time = num(v, 'time', { min: 0 });
    opts.timeLimitSec = time !== undefined ? time * 60 : 0;
    opts.evalEvery = num(v, 'eval-every', { int: true, min: 0 }) ?? opts.evalEvery;
    opts.saveEvery = num(v, 'save-every', { int: true, min: 0 }) ?? opts.saveEvery;
    header.push(`resuming ${out} at step ${state.step} of ${opts.steps}`);
    if (dataPaths.length === 0) {
      const info = saved.info as { data?: string[] };
      if (!Array.isArray(info.data)) throw new UsageError('--resume needs --data (the checkpoint does not record its data files)');
      dataPaths.push(...info.data);
    }
  } else {
    opts = readOpts();
    if (dataPaths.length === 0) throw new UsageError('--data FILES|DIR is required: the text to train on (see `attn train --help`)');
    if (init) {
      const loaded = fromPretrained(init);
      model = loaded.model;
      const tokArg = str(v, 'tokenizer');
      tokenizer = tokArg === 'gpt2' ? Tokenizer.gpt2() : tokArg ? Tokenizer.fromJSON(readFileSync(tokArg, 'utf8')) : loadFolderTokenizer(init, loaded.tokenizerJson, loaded.vocabMerges);
      tokenizerJson = JSON.stringify(tokenizer.toJSON());
      if (tokenizer.vocabSize > model.config.vocab_size) {
        throw new UsageError(`the tokenizer has ${tokenizer.vocabSize} tokens but ${init} has vocab_size ${model.config.vocab_size}`);
      }
      header.push(`fine-tuning ${init}`);
    } else {
      const files = listTextFiles(dataPaths);
      const tokArg = str(v, 'tokenizer');
      if (tokArg === 'gpt2') tokenizer = Tokenizer.gpt2();
      else if (tokArg) {
        if (!existsSync(tokArg)) throw new UsageError(`tokenizer not found: ${tokArg}`);
        tokenizer = Tokenizer.fromJSON(readFileSync(tokArg, 'utf8'));
      } else {
        const vocabSize = num(v, 'vocab-size', { int: true, min: 257 })!;
        const t0 = performance.now();
        const bar = quiet ? null : new ProgressBar(vocabSize - 257, 'tokenizer merges ');
        // Trained on the training head of each file only (splitText, the cut the token stream makes below), so the
        // validation text is unseen by the tokenizer as by the model.
        const { docs, reports } = readDocuments(files);
        for (const r of reports) warnInvalid(r);
        const trainer = new BPETrainer({ vocabSize, specialTokens: ['<|endoftext|>'], onProgress: (pr) => pr.phase === 'merge' && bar?.update(pr.done) });
        for (const d of docs) trainer.feed(splitText(d.text, valFraction).train);
        bar?.done();
        tokenizer = Tokenizer.fromByteLevelBPE(trainer.finish(), { specialTokens: ['<|endoftext|>'] });
        header.push(`tokenizer: byte-level BPE, ${tokenizer.vocabSize} tokens, trained in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      }
      tokenizerJson = JSON.stringify(tokenizer.toJSON());
      const preset = str(v, 'preset') ?? 'mini';
      if (!(preset in GPT_PRESETS)) throw new UsageError(`unknown preset '${preset}'; presets: ${Object.keys(GPT_PRESETS).join(', ')}`);
      const overrides: Record<string, number> = {};
      for (const [flag, key] of [['n-layer', 'n_layer'], ['n-head', 'n_head'], ['n-embd', 'n_embd'], ['n-positions', 'n_positions'], ['sliding-window', 'sliding_window']] as const) {
        const n = num(v, flag, { int: true, min: 0 });
        if (n !== undefined) overrides[key] = n;
      }
      const drop = num(v, 'dropout', { min: 0, max: 0.99 });
      if (drop !== undefined) Object.assign(overrides, { embd_pdrop: drop, attn_pdrop: drop, resid_pdrop: drop });
      const eot = tokenizer.tokenToId('<|endoftext|>');
      const cfg = gptConfig({
        preset: preset as keyof typeof GPT_PRESETS,
        ...overrides,
        vocab_size: tokenizer.vocabSize,
        ...(eot !== undefined ? { bos_token_id: eot, eos_token_id: eot } : { bos_token_id: tokenizer.vocabSize - 1, eos_token_id: tokenizer.vocabSize - 1 }),
      });
      model = new GPT(cfg, new Rng(opts.seed));
    }
    state = newTrainState(model, { ...opts });
  }
  const blockSize = num(v, 'block-size', { int: true, min: 2 }) ?? (resume ? opts.blockSize : Math.min(model.config.n_positions, 128));
  if (blockSize > model.config.n_positions) throw new UsageError(`--block-size ${blockSize} is larger than the model's context (n_positions ${model.config.n_positions})`);
  opts.blockSize = blockSize;

  // --- 2. data ----------------------------------------------------------------------------------------------
  const files = listTextFiles(dataPaths);
  const enc = { encodeText: (t: string) => tokenizer.encodeIds(t) };
  const t0 = performance.now();
  const { stream, cached, reports } = loadTokenStream(files, enc, tokenizerJson, valFraction);
  for (const r of reports) warnInvalid(r);
  const bytes = reports.reduce((n, r) => n + r.bytes, 0);
  header.push(
    `data: ${files.length} file${files.length > 1 ? 's' : ''}, ${(bytes / 1e6).toFixed(2)} MB → ${compact(stream.train.length)} train + ${compact(stream.val.length)} validation tokens (${(stream.trainBytes / Math.max(1, stream.train.length)).toFixed(2)} bytes/token) ${cached ? '(cached)' : `in ${((performance.now() - t0) / 1000).toFixed(1)} s`}`,
  );
  if (stream.val.length < 2 && opts.evalEvery >= 0) throw new UsageError(`the validation split is empty; use more text or a larger --val-fraction (now ${valFraction})`);
  const sizes = gptSizes(model.config, { context: blockSize, batch: opts.batchSize });
  header.push(
    `model: ${model.config.n_layer} layers, ${model.config.n_head} heads, ${model.config.n_embd} channels, context ${model.config.n_positions}, vocab ${model.config.vocab_size}: ${compact(sizes.parameters)} parameters`,
  );
  header.push(`training: batch ${opts.batchSize}×${blockSize}${opts.gradAccum > 1 ? `×${opts.gradAccum}` : ''}, lr ${opts.lr} (cosine to ${opts.minLr}, ${opts.warmupSteps} warmup), ${opts.timeLimitSec > 0 ? `${duration(opts.timeLimitSec)} budget` : `${opts.steps} steps`}, backend ${getBackend().name} (${getBackend().threads} threads)`);
  (hooks.header ?? ((lines: string[]) => lines.forEach(say)))(header);

  // --- 3. train, logging metrics and saving checkpoints --------------------------------------------------
  const { result, tokensPerSec } = await trainWithProgress<ClmScores>({
    model,
    state,
    opts,
    out,
    resume,
    quiet,
    run: (runHooks) => trainLoop(model, stream, state, opts, runHooks),
    evalMessage: (r) => `step ${r.step}: val loss ${r.valLoss.toFixed(3)}, perplexity ${r.perplexity.toFixed(1)}, ${r.bitsPerByte.toFixed(3)} bits/byte`,
    checkpoint: { tokenizerJson, info: { data: dataPaths, files, tokenizer: str(v, 'tokenizer') ?? 'trained', createdBy: 'attn train' } },
  });
  const e = result.lastEval!;
  const summary: TrainSummary = {
    out,
    steps: result.state.step,
    valLoss: e.valLoss,
    perplexity: e.perplexity,
    bitsPerByte: e.bitsPerByte,
    tokensPerSec,
    seconds: result.state.elapsedSec,
    stoppedBy: result.stoppedBy,
  };
  say(`done: ${summary.steps} steps in ${duration(summary.seconds)} (${compact(summary.tokensPerSec)} tokens/s); validation loss ${e.valLoss.toFixed(3)}, perplexity ${e.perplexity.toFixed(1)}, ${e.bitsPerByte.toFixed(3)} bits per byte`);
  say(`model saved to ${out}/ (config.json, model.safetensors, tokenizer.json, metrics.jsonl, loss.svg, loss.png)`);
  return summary;
}

/**
 * Whether this is a masked-LM run: --arch bert (or --objective mlm), or --resume of a folder holding a BERT.
 * The objective has to fit the architecture: a GPT learns clm, a BERT mlm.
 */
async function isBertRun(v: ParsedValues): Promise<boolean> {
  const arch = str(v, 'arch');
  const objective = str(v, 'objective');
  if (arch !== undefined && arch !== 'gpt' && arch !== 'bert') throw new UsageError(`--arch must be gpt, bert, transformer or t5, got '${arch}'`);
  if (objective !== undefined && objective !== 'clm' && objective !== 'mlm') throw new UsageError(`--objective must be clm or mlm, got '${objective}'`);
  // A folder to resume or start from says what it holds.
  const folder = v['resume'] === true ? str(v, 'out') : str(v, 'init');
  if (folder && existsSync(join(folder, 'config.json'))) {
    const { readModelType } = await import('../src/models/pretrained.js');
    if (readModelType(folder) !== 'gpt2') return true;
  }
  if (arch === 'bert' && objective === 'clm') throw new UsageError('--arch bert trains with --objective mlm (masked LM); a causal LM objective needs --arch gpt');
  if (arch === 'gpt' && objective === 'mlm') throw new UsageError('--objective mlm (masked LM) needs a bidirectional encoder: use --arch bert');
  return arch === 'bert' || objective === 'mlm';
}

/** What trainWithProgress needs: the model and its run, and how to word an evaluation. */
export interface ProgressRun<S extends EvalScores> {
  model: GPT | BertAnyModel;
  state: TrainState;
  opts: TrainOptions;
  out: string;
  resume: boolean;
  quiet: boolean;
  /** Start the loop with these hooks (trainLoop for GPT, runTrainLoop with the MLM objective for BERT). */
  run: (hooks: TrainHooks<S>) => Promise<TrainResult<S>>;
  evalMessage: (r: EvalRecord<S>) => string;
  checkpoint: { tokenizerJson: string; info: Record<string, unknown> };
}

/**
 * The part of `attn train` every architecture shares: the progress bar, the metrics log (metrics.jsonl, copied
 * into each checkpoint), the loss plots and the checkpoints. Returns the loop's result and the mean tokens/s.
 */
export async function trainWithProgress<S extends EvalScores>(r: ProgressRun<S>): Promise<{ result: TrainResult<S>; tokensPerSec: number }> {
  const { saveCheckpoint } = await import('../src/train/checkpoint.js');
  const { lossCurveSvg, lossCurveRaster } = await import('../src/train/plot.js');
  const { readFileSync } = await import('node:fs');
  const { model, state, opts, out, resume, quiet } = r;
  const say = (s: string) => {
    if (!quiet) process.stderr.write(s + '\n');
  };
  mkdirSync(out, { recursive: true });
  const metricsPath = join(out, 'metrics.jsonl');
  const scratchMetrics = `${out}.metrics.jsonl`; // the live log; copied into each checkpoint folder as it is saved
  if (!resume) rmSync(scratchMetrics, { force: true });
  else if (existsSync(metricsPath)) writeFileSync(scratchMetrics, readFileSync(metricsPath));
  const series = { train: [] as Array<[number, number]>, val: [] as Array<[number, number]> };
  if (resume && existsSync(scratchMetrics)) {
    for (const line of readFileSync(scratchMetrics, 'utf8').split('\n')) {
      if (!line) continue;
      const rec = JSON.parse(line) as { kind: string; step: number; loss?: number; valLoss?: number };
      if (rec.step > state.step) continue;
      if (rec.kind === 'train' && rec.loss !== undefined) series.train.push([rec.step, rec.loss]);
      if (rec.kind === 'eval' && rec.valLoss !== undefined) series.val.push([rec.step, rec.valLoss]);
    }
  }
  const bar = quiet ? null : new ProgressBar(opts.timeLimitSec > 0 ? 0 : opts.steps, 'step ');
  let lastTrain = { loss: NaN, tokensPerSec: 0 };
  let tokSum = 0;
  let tokN = 0;
  const plots = () => {
    const svg = lossCurveSvg(series, `${out}: loss`);
    const raster = lossCurveRaster(series);
    return { 'loss.svg': svg, 'loss.png': encodePng(raster.width, raster.height, raster.rgba) };
  };
  const result = await r.run({
    log: (rec) => {
      appendFileSync(scratchMetrics, JSON.stringify(rec) + '\n');
      if (rec.kind === 'train') {
        series.train.push([rec.step, rec.loss]);
        lastTrain = rec;
        if (rec.step > 2) {
          tokSum += rec.tokensPerSec;
          tokN++;
        }
        if (bar) {
          bar.setTotal(rec.totalSteps);
          const eta = opts.timeLimitSec > 0 ? Math.max(0, opts.timeLimitSec - (rec.elapsedSec - (state.elapsedSec ?? 0))) : undefined;
          bar.update(rec.step, `loss ${rec.loss.toFixed(3)} · ${compact(rec.tokensPerSec)} tok/s · lr ${rec.lr.toExponential(1)}`, eta);
        }
      } else {
        series.val.push([rec.step, rec.valLoss]);
        const msg = r.evalMessage(rec);
        if (bar) bar.log(msg);
        else say(msg);
      }
    },
    save: (s) => {
      saveCheckpoint(model, out, s, opts, {
        tokenizerJson: r.checkpoint.tokenizerJson,
        copyFiles: { 'metrics.jsonl': scratchMetrics },
        extraFiles: plots(),
        info: r.checkpoint.info,
      });
    },
  });
  bar?.done();
  rmSync(scratchMetrics, { force: true });
  return { result, tokensPerSec: tokN > 0 ? tokSum / tokN : lastTrain.tokensPerSec };
}
