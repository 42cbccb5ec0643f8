// `attn finetune --task TASK --model DIR --train FILE [--eval FILE] --out DIR`: a BERT, RoBERTa or DistilBERT
// folder (pretrained by `attn train --arch bert` or downloaded) fine-tuned for text classification, token
// classification or extractive question answering. The best epoch's model is written to --out as a Hugging
// Face folder (architectures, id2label/label2id, tokenizer), which `attn pipeline` and transformers both load.
//
// Data: JSONL / CSV / TSV with text (+ text_pair) and label; CoNLL columns or JSONL {tokens, tags}; SQuAD
// v1.1 / v2.0 JSON. Everything is read and checked before training starts: a bad row stops the run with its
// file, line and field, and nothing is written.
import { parseCommand, num, str, UsageError, type CommandSpec } from './args.js';
import { ProgressBar, compact, duration } from './progress.js';
import type { BertAnyModel, BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification } from '../src/models/bert.js';
import type { Tokenizer } from '../src/tokenizers/index.js';
import type { FinetuneTask } from '../src/train/finetune.js';

export const FINETUNE: CommandSpec = {
  name: 'finetune',
  summary: 'Fine-tune a BERT / RoBERTa / DistilBERT folder for text classification, token classification (NER) or question answering (translation and summarization: a Marian or T5 folder, see attn finetune --task translation --help).',
  usage: 'attn finetune --task text-classification|token-classification|question-answering --model DIR --train FILE [--eval FILE] --out DIR [options]',
  options: {
    task: { type: 'string', value: 'TASK', help: 'text-classification, token-classification or question-answering (or translation / summarization for encoder-decoders)' },
    model: { type: 'string', value: 'DIR', help: 'the model folder to start from (any head: a new one is built for the task)' },
    train: { type: 'string', value: 'FILE', help: 'training data: .jsonl/.csv/.tsv (text, label), .conll/.jsonl (tokens, tags), SQuAD .json' },
    eval: { type: 'string', value: 'FILE', help: 'evaluation data, same format: scored after every epoch, the best epoch kept' },
    out: { type: 'string', value: 'DIR', help: 'folder for the fine-tuned model' },
    epochs: { type: 'string', value: 'N', help: 'passes over the training data', default: '3' },
    lr: { type: 'string', value: 'LR', help: 'peak learning rate (linear warmup, then linear decay to 0)', default: '5e-5' },
    'batch-size': { type: 'string', value: 'B', help: 'examples per step', default: '16' },
    'max-length': { type: 'string', value: 'N', help: 'tokens per example (default 128; 384 for question answering; at most the model\'s)' },
    warmup: { type: 'string', value: 'N', help: 'warmup steps', default: '0' },
    'weight-decay': { type: 'string', value: 'W', help: 'AdamW weight decay on matrices', default: '0.01' },
    dropout: { type: 'string', value: 'P', help: "set the model's hidden and attention dropout (default: the folder's config)" },
    seed: { type: 'string', value: 'N', help: 'seed of the new head, the shuffling and dropout', default: '42' },
    time: { type: 'string', value: 'MIN', help: 'stop after MIN minutes (the schedule is fitted to the steps that fit)' },
    'early-stopping': { type: 'string', value: 'N', help: 'stop after N evaluations without improvement (0 = off)', default: '0' },
    'text-field': { type: 'string', value: 'NAME', help: 'text-classification: field of the text', default: 'text' },
    'text-pair-field': { type: 'string', value: 'NAME', help: 'text-classification: field of the second text (read when present)' },
    'label-field': { type: 'string', value: 'NAME', help: 'text-classification: field of the label', default: 'label' },
    'multi-label': { type: 'boolean', help: 'text-classification: each row has a list of labels (sigmoid per label)' },
    'label-all-tokens': { type: 'boolean', help: 'token-classification: label every piece of a word, not only the first' },
    'doc-stride': { type: 'string', value: 'N', help: 'question-answering: tokens shared by consecutive windows of a long context', default: '128' },
    tokenizer: { type: 'string', value: 'PATH', help: 'a tokenizer.json, when the model folder has none' },
    json: { type: 'boolean', help: 'print the result as one JSON object' },
    quiet: { type: 'boolean', help: 'no progress bar' },
    threads: { type: 'string', value: 'N', help: 'worker threads (default: all cores)' },
  },
  epilog: [
    'Examples:',
    '  attn finetune --task text-classification --model runs/bert --train sst2/train.jsonl --eval sst2/dev.jsonl --out runs/sst2 --epochs 3 --lr 1e-4',
    '  attn finetune --task token-classification --model models/bert-base-cased --train conll/train.txt --eval conll/dev.txt --out runs/ner',
    '  attn finetune --task question-answering --model models/distilbert-base-uncased --train squad/train-v1.1.json --out runs/squad --max-length 384',
  ],
};

const HEADS = { 'text-classification': 'sequence-classification', 'token-classification': 'token-classification', 'question-answering': 'question-answering' } as const;

export interface FinetuneSummary {
  out: string;
  task: string;
  best: { epoch: number; score: number; scoreName: string; metrics: Record<string, number> } | null;
  steps: number;
  epochs: number;
  seconds: number;
  stoppedBy: string;
  trainExamples: number;
  labels: string[];
}

export async function finetuneCommand(argv: string[]): Promise<number> {
  // Translation and summarization fine-tune an encoder-decoder (Marian, T5): their own loop and metrics.
  const at = argv.findIndex((a) => a === '--task' || a.startsWith('--task='));
  const task = at < 0 ? undefined : argv[at]!.includes('=') ? argv[at]!.slice(7) : argv[at + 1];
  if (task === 'translation' || task === 'summarization') return (await import('./finetune_seq2seq.js')).finetuneSeq2SeqCommand(argv);
  const p = parseCommand(FINETUNE, argv);
  if (!p) return 0;
  const s = await runFinetune(p.values);
  if (p.values['json']) console.log(JSON.stringify(s));
  return 0;
}

/** The whole of `attn finetune` (reused by `attn example`). */
export async function runFinetune(v: Record<string, string | boolean | string[] | undefined>, hooks: { header?: (lines: string[]) => void } = {}): Promise<FinetuneSummary> {
  const task = str(v, 'task');
  if (!task || !(task in HEADS)) throw new UsageError(`--task must be one of ${Object.keys(HEADS).join(', ')} (or translation, summarization for Marian / T5 folders)${task ? `, got '${task}'` : ''}`);
  const dir = str(v, 'model');
  const trainFile = str(v, 'train');
  const evalFile = str(v, 'eval');
  const out = str(v, 'out');
  if (!dir) throw new UsageError('--model DIR is required: the folder to fine-tune');
  if (!trainFile) throw new UsageError('--train FILE is required');
  if (!out) throw new UsageError('--out DIR is required: where the fine-tuned model goes');
  const quiet = v['quiet'] === true;
  const say = (line: string) => {
    if (!quiet) process.stderr.write(line + '\n');
  };

  await import('../src/platform/node.js');
  const { setBackend, getBackend } = await import('../src/backend/index.js');
  const threads = num(v, 'threads', { int: true, min: 1 });
  if (threads !== undefined) setBackend('wasm', { threads });
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { readJsonFile } = await import('../src/io/atomic.js');
  const { bertConfigFromHF, fromPretrainedBert, saveBertPretrained, architectureName } = await import('../src/models/bert_pretrained.js');
  const { Tokenizer: TokenizerClass } = await import('../src/tokenizers/index.js');
  const { loadTextClassification, loadTokenClassification, loadSquad } = await import('../src/data/node.js');
  const { labelMapFromExamples, tagMapFromExamples, labelMapFromList } = await import('../src/data/index.js');
  const ft = await import('../src/train/finetune.js');
  const { modelMaxLength } = await import('../src/pipelines/encoder.js');
  const { readModelType } = await import('../src/models/pretrained.js');

  const type = readModelType(dir);
  if (!['bert', 'roberta', 'distilbert'].includes(type)) throw new UsageError(`attn finetune fine-tunes encoders (bert, roberta, distilbert); ${dir} holds a "${type}" model`);
  const head = HEADS[task as keyof typeof HEADS];
  const folder = bertConfigFromHF(readJsonFile(join(dir, 'config.json'), 'model config'), join(dir, 'config.json'));
  const opts = {
    ...ft.FINETUNE_DEFAULTS,
    epochs: num(v, 'epochs', { int: true, min: 1 }) ?? 3,
    lr: num(v, 'lr', { min: 0 }) ?? 5e-5,
    batchSize: num(v, 'batch-size', { int: true, min: 1 }) ?? 16,
    warmupSteps: num(v, 'warmup', { int: true, min: 0 }) ?? 0,
    weightDecay: num(v, 'weight-decay', { min: 0 }) ?? 0.01,
    seed: num(v, 'seed', { int: true }) ?? 42,
    timeLimitSec: (num(v, 'time', { min: 0 }) ?? 0) * 60,
    patience: num(v, 'early-stopping', { int: true, min: 0 }) ?? 0,
  };
  const limit = modelMaxLength(folder.config);
  const maxLength = num(v, 'max-length', { int: true, min: 8 }) ?? Math.min(limit, task === 'question-answering' ? 384 : 128);
  if (maxLength > limit) throw new UsageError(`--max-length ${maxLength} is longer than the model takes (${limit} tokens)`);

  // 1. Data (read and checked in full before anything else happens).
  const t0 = performance.now();
  let id2label: string[] | undefined;
  let build: (model: BertAnyModel, tok: Tokenizer, padId: number) => FinetuneTask;
  let trainCount: number;
  let dataLine: string;
  // The folder's own labels are kept when it already has this head with named labels (fine-tuning further).
  const ownLabels = folder.head === head && !(folder.config.id2label.length === 2 && folder.config.id2label.every((l, i) => l === `LABEL_${i}`)) ? folder.config.id2label : undefined;
  if (task === 'text-classification') {
    const readOpts = { textField: str(v, 'text-field')!, labelField: str(v, 'label-field')!, multiLabel: v['multi-label'] === true, ...(str(v, 'text-pair-field') ? { textPairField: str(v, 'text-pair-field')! } : {}) };
    const train = loadTextClassification(trainFile, readOpts);
    const evalData = evalFile ? loadTextClassification(evalFile, readOpts) : undefined;
    const labels = ownLabels ? labelMapFromList(ownLabels) : labelMapFromExamples(train);
    if (labels.id2label.length < 2 && !readOpts.multiLabel) throw new UsageError(`${trainFile}: every example has the label ${JSON.stringify(labels.id2label[0])}; a classifier needs at least two labels`);
    id2label = labels.id2label;
    trainCount = train.length;
    dataLine = `data: ${train.length} training${evalData ? ` + ${evalData.length} evaluation` : ''} examples, ${labels.id2label.length} labels (${labels.id2label.slice(0, 8).join(', ')}${labels.id2label.length > 8 ? ', …' : ''})`;
    build = (model, tok, padId) =>
      ft.classificationTask(model as BertForSequenceClassification, tok, { train, ...(evalData ? { eval: evalData, evalSource: evalFile } : {}), labels, multiLabel: readOpts.multiLabel, trainSource: trainFile }, { maxLength, batchSize: opts.batchSize, padId });
  } else if (task === 'token-classification') {
    const train = loadTokenClassification(trainFile);
    const evalData = evalFile ? loadTokenClassification(evalFile) : undefined;
    const labels = ownLabels ? labelMapFromList(ownLabels) : tagMapFromExamples(train);
    id2label = labels.id2label;
    trainCount = train.length;
    dataLine = `data: ${train.length} training${evalData ? ` + ${evalData.length} evaluation` : ''} sentences, ${labels.id2label.length} tags (${labels.id2label.slice(0, 9).join(', ')}${labels.id2label.length > 9 ? ', …' : ''})`;
    build = (model, tok, padId) =>
      ft.tokenClassificationTask(model as BertForTokenClassification, tok, { train, ...(evalData ? { eval: evalData, evalSource: evalFile } : {}), labels, labelAllTokens: v['label-all-tokens'] === true, trainSource: trainFile }, { maxLength, batchSize: opts.batchSize, padId });
  } else {
    const train = loadSquad(trainFile);
    const evalData = evalFile ? loadSquad(evalFile) : undefined;
    const version2 = [...train, ...(evalData ?? [])].some((e) => e.isImpossible);
    const docStride = num(v, 'doc-stride', { int: true, min: 0 })!;
    if (docStride >= maxLength / 2) throw new UsageError(`--doc-stride ${docStride} must be less than half of --max-length ${maxLength}`);
    trainCount = train.length;
    dataLine = `data: ${train.length} training${evalData ? ` + ${evalData.length} evaluation` : ''} questions (SQuAD ${version2 ? 'v2.0, with unanswerable questions' : 'v1.1'}), windows of ${maxLength} tokens, stride ${docStride}`;
    build = (model, tok, padId) => ft.questionAnsweringTask(model as BertForQuestionAnswering, tok, { train, ...(evalData ? { eval: evalData } : {}), version2 }, { maxLength, docStride, batchSize: opts.batchSize, padId });
  }

  // 2. Model and tokenizer.
  const dropoutP = num(v, 'dropout', { min: 0 });
  if (dropoutP !== undefined && dropoutP >= 1) throw new UsageError(`--dropout must be below 1, got ${dropoutP}`);
  const loaded = fromPretrainedBert(dir, { head, ...(id2label && head !== 'question-answering' ? { id2label } : {}), seed: opts.seed, ...(dropoutP !== undefined ? { dropout: dropoutP } : {}) });
  const tokArg = str(v, 'tokenizer');
  const tokenizer = tokArg ? TokenizerClass.fromJSON(readFileSync(tokArg, 'utf8')) : loaded.tokenizer;
  if (!tokenizer) throw new UsageError(`${dir} has no tokenizer (tokenizer.json, vocab.txt or vocab.json + merges.txt); pass --tokenizer PATH`);
  if (tokenizer.vocabSize > loaded.config.vocab_size) throw new UsageError(`the tokenizer has ${tokenizer.vocabSize} tokens but ${dir} has vocab_size ${loaded.config.vocab_size}; they do not belong together`);
  const taskRun = build(loaded.model, tokenizer, loaded.config.pad_token_id);
  const header = [
    `model: ${dir} → ${architectureName(loaded.config.model_type, head)} (${compact(loaded.model.numParameters())} parameters)${loaded.report.newlyInitialized.length ? `; new head weights: ${loaded.report.newlyInitialized.join(', ')}` : ''}`,
    `${dataLine} → ${taskRun.size} features in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    `training: ${opts.epochs} epochs × ${Math.ceil(taskRun.size / opts.batchSize)} steps of ${opts.batchSize}, lr ${opts.lr} (linear${opts.warmupSteps ? `, ${opts.warmupSteps} warmup` : ''}), ${opts.timeLimitSec > 0 ? `${duration(opts.timeLimitSec)} budget, ` : ''}backend ${getBackend().name} (${getBackend().threads} threads)`,
  ];
  (hooks.header ?? ((lines: string[]) => lines.forEach(say)))(header);

  // 3. Train; keep the best epoch in --out.
  const log: string[] = [];
  const bar = quiet ? null : new ProgressBar(0, 'step ');
  const result = await ft.finetune(loaded.model as BertForSequenceClassification | BertForTokenClassification | BertForQuestionAnswering, taskRun, opts, {
    log: (r) => {
      log.push(JSON.stringify(r));
      if (r.kind === 'train') {
        bar?.setTotal(r.totalSteps);
        bar?.update(r.step, `epoch ${r.epoch} · loss ${r.loss.toFixed(3)} · lr ${r.lr.toExponential(1)}`);
      } else {
        const msg = `epoch ${r.epoch}: ${Object.entries(r.metrics).map(([k, x]) => `${k} ${x.toFixed(4)}`).join(', ')}${r.best ? ' (best so far)' : ''}`;
        if (bar) bar.log(msg);
        else say(msg);
      }
    },
    saveBest: (m, epoch) => {
      saveBertPretrained(loaded.model, out, {
        tokenizer,
        extraFiles: {
          'eval_results.json': JSON.stringify({ task, epoch, ...(m ? { [m.scoreName]: m.score, ...m.metrics } : {}) }, null, 2) + '\n',
          'finetune_log.jsonl': log.join('\n') + '\n',
        },
      });
    },
  });
  bar?.done();
  const summary: FinetuneSummary = {
    out,
    task,
    best: result.best,
    steps: result.steps,
    epochs: result.epochs,
    seconds: result.seconds,
    stoppedBy: result.stoppedBy,
    trainExamples: trainCount,
    labels: head === 'question-answering' ? [] : loaded.config.id2label,
  };
  const b = result.best;
  say(`done: ${result.steps} steps, ${result.epochs} epoch${result.epochs === 1 ? '' : 's'} in ${duration(result.seconds)}${result.stoppedBy !== 'epochs' ? ` (stopped by ${result.stoppedBy})` : ''}${b ? `; best epoch ${b.epoch}: ${b.scoreName} ${b.score.toFixed(4)}` : ''}`);
  say(`model saved to ${out}/ (config.json with id2label, model.safetensors, tokenizer.json, eval_results.json)`);
  return summary;
}
