// `attn train --arch bert --objective mlm`: a BERT pretrained with masked language modelling on text files, with
// the same checkpoints, resume, progress bar, metrics log, plots and time budget as GPT training (the shared
// part is trainWithProgress in train.ts; the objective is src/train/mlm.ts).
//
//   text → WordPiece tokenizer trained on it (or --tokenizer) → token stream → [CLS] … [SEP] rows → dynamic
//   masking every step → BertForMaskedLM → a Hugging Face folder (BertForMaskedLM, tokenizer.json)
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { num, str, list, UsageError, type ParsedValues } from './args.js';
import { ProgressBar, compact, duration } from './progress.js';
import { trainWithProgress } from './train.js';
import type { MlmScores } from '../src/train/mlm.js';

export interface MlmTrainSummary {
  out: string;
  steps: number;
  valLoss: number;
  perplexity: number;
  maskedAccuracy: number;
  tokensPerSec: number;
  seconds: number;
  stoppedBy: 'steps' | 'time';
}

/** The special tokens masking and packing need, by BERT's names or RoBERTa's. */
function specialIds(tok: { tokenToId(t: string): number | undefined }, where: string) {
  const find = (names: string[]) => {
    for (const n of names) {
      const id = tok.tokenToId(n);
      if (id !== undefined) return id;
    }
    throw new UsageError(`${where}: the tokenizer has no ${names.join(' or ')} token; masked-LM training needs [CLS], [SEP], [PAD] and [MASK]`);
  };
  const ids = { clsId: find(['[CLS]', '<s>']), sepId: find(['[SEP]', '</s>']), padId: find(['[PAD]', '<pad>']), maskId: find(['[MASK]', '<mask>']) };
  const unk = tok.tokenToId('[UNK]') ?? tok.tokenToId('<unk>');
  return { ...ids, specials: [ids.clsId, ids.sepId, ids.padId, ids.maskId, ...(unk !== undefined ? [unk] : [])] };
}

/** The whole of `attn train --arch bert`. */
export async function runMlmTraining(v: ParsedValues, hooks: { header?: (lines: string[]) => void } = {}): Promise<MlmTrainSummary> {
  await import('../src/platform/node.js');
  const { getBackend } = await import('../src/backend/index.js');
  const { BertForMaskedLM, bertConfig, bertParameterCount, BERT_PRESETS } = await import('../src/models/bert.js');
  const { fromPretrainedBert } = await import('../src/models/bert_pretrained.js');
  const { Rng } = await import('../src/tensor/index.js');
  const { Tokenizer } = await import('../src/tokenizers/index.js');
  const { trainTokenizer } = await import('../src/tokenizers/train.js');
  const { splitText } = await import('../src/train/data.js');
  const { runTrainLoop, newTrainState, TRAIN_DEFAULTS } = await import('../src/train/trainer.js');
  const { loadTrainingState, hasTrainingState } = await import('../src/train/checkpoint.js');
  const { recoverDirAtomic } = await import('../src/io/atomic.js');
  const { listTextFiles, loadTokenStream, readDocuments } = await import('../src/train/corpus.js');
  const { mlmRows, mlmObjective } = await import('../src/train/mlm.js');
  const { continuationTable } = await import('../src/train/objectives/mlm.js');

  const out = str(v, 'out')!;
  const resume = v['resume'] === true;
  const init = str(v, 'init');
  const dataPaths = list(v, 'data');
  const valFraction = num(v, 'val-fraction', { min: 0, max: 0.9 }) ?? 0.1;
  const quiet = v['quiet'] === true;
  const say = (s: string) => {
    if (!quiet) process.stderr.write(s + '\n');
  };
  if (resume && init) throw new UsageError('--resume continues the run in --out; --init starts from another folder: give one of them');
  if (resume && !hasTrainingState(out)) throw new UsageError(`--resume: ${out} has no training state (training_state.json + optimizer.safetensors); start a run with --out ${out} first`);
  const warned = new Set<string>();
  const warnInvalid = (r: { path: string; invalidUtf8: number }) => {
    const key = resolve(r.path);
    if (r.invalidUtf8 === 0 || warned.has(key)) return;
    warned.add(key);
    say(`warning: ${r.path}: ${r.invalidUtf8} invalid UTF-8 sequence${r.invalidUtf8 > 1 ? 's' : ''} replaced by U+FFFD`);
  };
  const header: string[] = [];

  // --- 1. model, tokenizer and options --------------------------------------------------------------------
  let opts = { ...TRAIN_DEFAULTS };
  let mlm = { probability: num(v, 'mask-prob', { min: 0.01, max: 0.9 }) ?? 0.15, wholeWord: v['whole-word-mask'] === true };
  let model: InstanceType<typeof BertForMaskedLM>;
  let tokenizer: InstanceType<typeof Tokenizer>;
  let state;
  const loadMlmFolder = (dir: string) => {
    const loaded = fromPretrainedBert(dir, { head: 'masked-lm' });
    const tokArg = str(v, 'tokenizer');
    const tok = tokArg ? Tokenizer.fromJSON(readFileSync(tokArg, 'utf8')) : loaded.tokenizer;
    if (!tok) throw new UsageError(`${dir} has no tokenizer (tokenizer.json, vocab.txt or vocab.json + merges.txt); pass --tokenizer PATH`);
    if (tok.vocabSize > loaded.config.vocab_size) throw new UsageError(`the tokenizer has ${tok.vocabSize} tokens but ${dir} has vocab_size ${loaded.config.vocab_size}`);
    if (loaded.report.newlyInitialized.length > 0) header.push(`${dir}: new masked-LM head weights: ${loaded.report.newlyInitialized.join(', ')}`);
    return { model: loaded.model as InstanceType<typeof BertForMaskedLM>, tok };
  };
  if (resume) {
    // This process writes `out` again, so it may finish or undo a save its killed predecessor left half swapped.
    recoverDirAtomic(out);
    ({ model, tok: tokenizer } = loadMlmFolder(out));
    const saved = loadTrainingState(out, model);
    state = saved.state;
    opts = { ...saved.options };
    opts.steps = num(v, 'steps', { int: true, min: 1 }) ?? opts.steps;
    const time = num(v, 'time', { min: 0 });
    opts.timeLimitSec = time !== undefined ? time * 60 : 0;
    opts.evalEvery = num(v, 'eval-every', { int: true, min: 0 }) ?? opts.evalEvery;
    opts.saveEvery = num(v, 'save-every', { int: true, min: 0 }) ?? opts.saveEvery;
    const info = saved.info as { data?: string[]; mlm?: typeof mlm };
    if (info.mlm) mlm = info.mlm; // the masking is part of the run
    header.push(`resuming ${out} at step ${state.step} of ${opts.steps}`);
    if (dataPaths.length === 0) {
      if (!Array.isArray(info.data)) throw new UsageError('--resume needs --data (the checkpoint does not record its data files)');
      dataPaths.push(...info.data);
    }
  } else {
    if (dataPaths.length === 0) throw new UsageError('--data FILES|DIR is required: the text to train on (see `attn train --help`)');
    const steps = num(v, 'steps', { int: true, min: 1 }) ?? opts.steps;
    const time = num(v, 'time', { min: 0 });
    const lr = num(v, 'lr', { min: 0 }) ?? opts.lr;
    opts = {
      ...opts,
      steps: time !== undefined && v['steps'] === '1000' ? 1_000_000 : steps,
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
    if (init) {
      ({ model, tok: tokenizer } = loadMlmFolder(init));
      header.push(`continuing masked-LM training of ${init}`);
    } else {
      const files = listTextFiles(dataPaths);
      const tokArg = str(v, 'tokenizer');
      if (tokArg) {
        if (!existsSync(tokArg)) throw new UsageError(`tokenizer not found: ${tokArg}`);
        tokenizer = Tokenizer.fromJSON(readFileSync(tokArg, 'utf8'));
      } else {
        const vocabSize = num(v, 'vocab-size', { int: true, min: 32 })!;
        const t0 = performance.now();
        const bar = quiet ? null : new ProgressBar(vocabSize, 'tokenizer ');
        // Trained on the training head of each file only (splitText, the cut the token stream makes below), so the
        // validation text is unseen by the tokenizer as by the model.
        const { docs, reports } = readDocuments(files);
        for (const r of reports) warnInvalid(r);
        tokenizer = await trainTokenizer(
          docs.map((d) => splitText(d.text, valFraction).train),
          { type: 'wordpiece', vocabSize, lowercase: v['cased'] !== true, onProgress: (pr) => pr.phase === 'merge' && bar?.update(pr.done) },
        );
        bar?.done();
        header.push(`tokenizer: WordPiece${v['cased'] === true ? ' (cased)' : ''}, ${tokenizer.vocabSize} tokens, trained in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      }
      const preset = str(v, 'preset') ?? 'bert-mini';
      if (!(preset in BERT_PRESETS)) throw new UsageError(`unknown BERT preset '${preset}'; presets: ${Object.keys(BERT_PRESETS).join(', ')}`);
      const overrides: Record<string, number> = {};
      for (const [flag, key] of [['n-layer', 'num_hidden_layers'], ['n-head', 'num_attention_heads'], ['n-embd', 'hidden_size'], ['n-positions', 'max_position_embeddings']] as const) {
        const n = num(v, flag, { int: true, min: 1 });
        if (n !== undefined) overrides[key] = n;
      }
      if (overrides['hidden_size'] !== undefined) overrides['intermediate_size'] = 4 * overrides['hidden_size'];
      const drop = num(v, 'dropout', { min: 0, max: 0.99 });
      if (drop !== undefined) Object.assign(overrides, { hidden_dropout_prob: drop, attention_probs_dropout_prob: drop });
      const ids = specialIds(tokenizer, 'the tokenizer');
      let cfg;
      try {
        cfg = bertConfig({ preset: preset as keyof typeof BERT_PRESETS, ...overrides, vocab_size: tokenizer.vocabSize, pad_token_id: ids.padId });
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      model = new BertForMaskedLM(cfg, { rng: new Rng(opts.seed) });
    }
    state = newTrainState(model, { ...opts });
  }
  const cfg = model.config;
  const blockSize = num(v, 'block-size', { int: true, min: 4 }) ?? (resume ? opts.blockSize : Math.min(cfg.max_position_embeddings, 128));
  if (blockSize > cfg.max_position_embeddings) throw new UsageError(`--block-size ${blockSize} is larger than the model's max_position_embeddings ${cfg.max_position_embeddings}`);
  opts.blockSize = blockSize;
  const tokenizerJson = tokenizer.toString();
  const ids = specialIds(tokenizer, 'the tokenizer');

  // --- 2. data: the token stream cut into [CLS] … [SEP] rows --------------------------------------------
  const files = listTextFiles(dataPaths);
  const t0 = performance.now();
  const { stream, cached, reports } = loadTokenStream(files, { encodeText: (t) => tokenizer.encodeIds(t) }, tokenizerJson, valFraction);
  for (const r of reports) warnInvalid(r);
  const rows = mlmRows(stream, blockSize, ids);
  if (rows.val.rows === 0) throw new UsageError(`the validation split is empty; use more text or a larger --val-fraction (now ${valFraction})`);
  const bytes = reports.reduce((n, r) => n + r.bytes, 0);
  header.push(
    `data: ${files.length} file${files.length > 1 ? 's' : ''}, ${(bytes / 1e6).toFixed(2)} MB → ${compact(stream.train.length)} train + ${compact(stream.val.length)} validation tokens → ${rows.train.rows} + ${rows.val.rows} rows of ${blockSize} ${cached ? '(cached)' : `in ${((performance.now() - t0) / 1000).toFixed(1)} s`}`,
  );
  header.push(
    `model: BERT, ${cfg.num_hidden_layers} layers, ${cfg.num_attention_heads} heads, ${cfg.hidden_size} channels, ${cfg.max_position_embeddings} positions, vocab ${cfg.vocab_size}: ${compact(model.numParameters())} parameters (encoder ${compact(bertParameterCount(cfg, { pooler: false }))})`,
  );
  header.push(
    `training: masked LM (${Math.round(mlm.probability * 100)} % of tokens, 80/10/10${mlm.wholeWord ? ', whole words' : ''}), batch ${opts.batchSize}×${blockSize}${opts.gradAccum > 1 ? `×${opts.gradAccum}` : ''}, lr ${opts.lr} (cosine to ${opts.minLr}, ${opts.warmupSteps} warmup), ${opts.timeLimitSec > 0 ? `${duration(opts.timeLimitSec)} budget` : `${opts.steps} steps`}, backend ${getBackend().name} (${getBackend().threads} threads)`,
  );
  (hooks.header ?? ((lines: string[]) => lines.forEach(say)))(header);

  // --- 3. train --------------------------------------------------------------------------------------------
  const settings = {
    maskId: ids.maskId,
    clsId: ids.clsId,
    sepId: ids.sepId,
    padId: ids.padId,
    vocabSize: cfg.vocab_size,
    specialIds: ids.specials,
    probability: mlm.probability,
    ...(mlm.wholeWord
      ? { wholeWord: continuationTable(cfg.vocab_size, (id) => tokenizer.idToToken(id), tokenizer.model.type === 'WordPiece' ? 'wordpiece' : 'byte-level', { specialIds: ids.specials }) }
      : {}),
  };
  const finalState = state;
  const { result, tokensPerSec } = await trainWithProgress<MlmScores>({
    model,
    state: finalState,
    opts,
    out,
    resume,
    quiet,
    run: (runHooks) => runTrainLoop(model, mlmObjective(model, rows, opts, settings), finalState, opts, runHooks),
    evalMessage: (r) => `step ${r.step}: val MLM loss ${r.valLoss.toFixed(3)}, masked-token accuracy ${(100 * r.maskedAccuracy).toFixed(1)} %, perplexity ${r.perplexity.toFixed(1)}`,
    checkpoint: { tokenizerJson, info: { data: dataPaths, files, tokenizer: str(v, 'tokenizer') ?? 'trained', mlm, createdBy: 'attn train --arch bert' } },
  });
  const e = result.lastEval!;
  const summary: MlmTrainSummary = {
    out,
    steps: result.state.step,
    valLoss: e.valLoss,
    perplexity: e.perplexity,
    maskedAccuracy: e.maskedAccuracy,
    tokensPerSec,
    seconds: result.state.elapsedSec,
    stoppedBy: result.stoppedBy,
  };
  say(`done: ${summary.steps} steps in ${duration(summary.seconds)} (${compact(tokensPerSec)} tokens/s); validation MLM loss ${e.valLoss.toFixed(3)}, masked-token accuracy ${(100 * e.maskedAccuracy).toFixed(1)} %, perplexity ${e.perplexity.toFixed(1)}`);
  say(`model saved to ${out}/ (config.json, model.safetensors, tokenizer.json, metrics.jsonl, loss.svg, loss.png)`);
  return summary;
}
