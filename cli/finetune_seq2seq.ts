// `attn finetune --task translation|summarization --model DIR --train FILE.jsonl`: fine-tune a Marian or T5
// folder on (source, target) rows, then score it on the validation rows with the metric of the task — BLEU
// (sacreBLEU's 13a) and chrF for translation, ROUGE-1/2/L/Lsum for summarization — from generated outputs.
//
//   attn finetune --task translation --model models/opus-mt-en-de --train train.jsonl --valid dev.jsonl --out runs/mt
//   attn finetune --task summarization --model models/t5-small --train cnn.jsonl --prefix "summarize: " --out runs/sum
//
// Rows are `{"source": ..., "target": ...}` (other fields with --source-field / --target-field, dotted paths
// for {"translation": {"de": ..., "en": ...}}). Training is src/train/seq2seq.ts through runSeq2SeqTraining
// (train_seq2seq.ts), so --time, --resume-free checkpoints, metrics.jsonl and loss plots work as in attn train.
// Entry point: finetuneSeq2SeqCommand(argv); `attn finetune` dispatches here for these two tasks.
import { parseCommand, num, str, UsageError, type CommandSpec } from './args.js';

export const SEQ2SEQ_TASKS = ['translation', 'summarization'] as const;

export const FINETUNE_SEQ2SEQ: CommandSpec = {
  name: 'finetune',
  summary: 'Fine-tune a Marian or T5 folder for translation or summarization on JSONL pairs; report BLEU/chrF or ROUGE.',
  usage: 'attn finetune --task translation|summarization --model DIR --train FILE.jsonl [--valid FILE.jsonl] [options]',
  options: {
    task: { type: 'string', value: 'NAME', help: 'translation or summarization' },
    model: { type: 'string', value: 'DIR', help: 'the Marian or T5 folder to start from (config.json, model.safetensors, tokenizer)' },
    train: { type: 'string', value: 'FILE', help: 'training rows (.jsonl, .csv or .tsv)' },
    valid: { type: 'string', value: 'FILE', help: 'validation rows (default: the last --val-fraction of --train)' },
    'source-field': { type: 'string', value: 'KEY', help: 'field of the source text', default: 'source' },
    'target-field': { type: 'string', value: 'KEY', help: 'field of the target text', default: 'target' },
    prefix: { type: 'string', value: 'TEXT', help: 'put before every source (T5: "summarize: ", "translate English to German: ")' },
    'max-source-length': { type: 'string', value: 'N', help: 'tokens kept per source', default: '512' },
    'max-target-length': { type: 'string', value: 'N', help: 'tokens kept per target', default: '128' },
    out: { type: 'string', value: 'DIR', help: 'fine-tuned model folder', default: 'runs/finetune' },
    steps: { type: 'string', value: 'N', help: 'optimizer steps', default: '500' },
    time: { type: 'string', value: 'MIN', help: 'stop after MIN minutes' },
    'batch-size': { type: 'string', value: 'B', help: 'pairs per batch', default: '8' },
    lr: { type: 'string', value: 'LR', help: 'peak learning rate', default: '0.0001' },
    warmup: { type: 'string', value: 'N', help: 'warmup steps', default: '50' },
    'weight-decay': { type: 'string', value: 'W', help: 'AdamW weight decay', default: '0.01' },
    'label-smoothing': { type: 'string', value: 'E', help: 'label smoothing ε', default: '0.1' },
    'eval-every': { type: 'string', value: 'N', help: 'validation loss every N steps (0 = only at the end)', default: '100' },
    'val-fraction': { type: 'string', value: 'F', help: 'share of --train held out when there is no --valid', default: '0.05' },
    'num-beams': { type: 'string', value: 'N', help: 'beams for the final scoring', default: '4' },
    'max-new-tokens': { type: 'string', value: 'N', help: 'longest generated output when scoring', default: '128' },
    'eval-rows': { type: 'string', value: 'N', help: 'score at most N validation rows by generation (0 = all)', default: '200' },
    seed: { type: 'string', value: 'N', help: 'random seed', default: '1337' },
    threads: { type: 'string', value: 'N', help: 'worker threads (default: all cores)' },
    quiet: { type: 'boolean', help: 'no progress bar' },
  },
  epilog: [
    'Examples:',
    '  attn finetune --task translation --model models/opus-mt-en-de --train train.jsonl --valid dev.jsonl --steps 1000 --out runs/mt',
    '  attn finetune --task summarization --model models/t5-small --train news.jsonl --prefix "summarize: " --time 20 --out runs/sum',
  ],
};

export async function finetuneSeq2SeqCommand(argv: string[]): Promise<number> {
  const p = parseCommand(FINETUNE_SEQ2SEQ, argv);
  if (!p) return 0;
  const v = p.values;
  const task = str(v, 'task');
  if (!task || !(SEQ2SEQ_TASKS as readonly string[]).includes(task)) throw new UsageError(`--task must be translation or summarization here, got ${task === undefined ? 'nothing' : `'${task}'`}`);
  const dir = str(v, 'model');
  if (!dir) throw new UsageError('--model DIR is required: the Marian or T5 folder to fine-tune');
  const trainFile = str(v, 'train');
  if (!trainFile) throw new UsageError('--train FILE.jsonl is required: rows of {"source": ..., "target": ...}');

  await import('../src/platform/node.js');
  const { setBackend } = await import('../src/backend/index.js');
  const threads = num(v, 'threads', { int: true, min: 1 });
  if (threads !== undefined) setBackend('wasm', { threads });
  const { fromPretrainedSeq2Seq } = await import('../src/models/seq2seq_pretrained.js');
  const { Tokenizer, isMarianTokenizer, MARIAN_FILES } = await import('../src/tokenizers/index.js');
  const { join } = await import('node:path');
  const { loadTokenizerFromFolder } = await import('../src/tokenizers/node.js');
  const { loadSeq2Seq } = await import('../src/data/node.js');
  const { pairsTask, newSeq2SeqTrainState, SEQ2SEQ_TRAIN_DEFAULTS } = await import('../src/train/seq2seq.js');
  const { generateSeq2Seq } = await import('../src/generate/seq2seq.js');
  const { corpusBleu, corpusChrf, corpusRouge } = await import('../src/metrics/index.js');
  const { encodePairs, runSeq2SeqTraining, seq2seqOptionsFromFlags } = await import('./train_seq2seq.js');

  const loaded = fromPretrainedSeq2Seq(dir);
  const model = loaded.model;
  const tokenizer = loaded.tokenizerJson !== null ? Tokenizer.fromJSON(loaded.tokenizerJson) : await loadTokenizerFromFolder(dir);
  const V = model.config.vocab_size;
  if (tokenizer.vocabSize > V) throw new UsageError(`the tokenizer of ${dir} has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${V}: they do not belong together`);
  const eos = model.config.eos_token_id;
  const read = (file: string) => loadSeq2Seq(file, { sourceField: str(v, 'source-field')!, targetField: str(v, 'target-field')!, prefix: str(v, 'prefix') ?? '' });
  const rows = read(trainFile);
  const validFile = str(v, 'valid');
  let trainRows = rows;
  let validRows = validFile ? read(validFile) : [];
  if (!validFile) {
    const cut = Math.max(1, Math.floor(rows.length * (1 - num(v, 'val-fraction', { min: 0, max: 0.9 })!)));
    trainRows = rows.slice(0, cut);
    validRows = rows.slice(cut);
  }
  if (validRows.length === 0) throw new UsageError(`no validation rows: give --valid FILE or more rows in ${trainFile}`);
  let maxSource = num(v, 'max-source-length', { int: true, min: 2 })!;
  if ('max_position_embeddings' in model.config) maxSource = Math.min(maxSource, model.config.max_position_embeddings);
  const maxTarget = num(v, 'max-target-length', { int: true, min: 2 })!;
  const trainPairs = encodePairs(trainRows, tokenizer, eos, maxSource, maxTarget);
  const validPairs = encodePairs(validRows, tokenizer, eos, maxSource, maxTarget);
  const opts = seq2seqOptionsFromFlags(v, { ...SEQ2SEQ_TRAIN_DEFAULTS, steps: 500, batchSize: 8, lr: 1e-4, warmupSteps: 50, saveEvery: 0 });
  const state = newSeq2SeqTrainState(model, opts);
  if (v['quiet'] !== true) process.stderr.write(`fine-tuning ${dir} (${loaded.modelType}, ${model.numParameters()} parameters) for ${task} on ${trainPairs.length} pairs, validating on ${validPairs.length}\n`);
  const run = await runSeq2SeqTraining(model, pairsTask(trainPairs, validPairs, `${trainFile}`), state, opts, {
    out: str(v, 'out')!,
    // A Marian folder's tokenizer has no tokenizer.json form: its files travel into each checkpoint instead.
    ...(isMarianTokenizer(tokenizer) ? { tokenizerFiles: Object.fromEntries([...MARIAN_FILES, 'added_tokens.json'].map((f) => [f, join(dir, f)])) } : { tokenizerJson: JSON.stringify(tokenizer.toJSON()) }),
    generationConfig: loaded.generationConfig,
    info: { createdBy: 'attn finetune', task, base: dir, train: trainFile, valid: validFile ?? null },
    quiet: v['quiet'] === true,
    resume: false,
  });

  // Score by generation on (at most eval-rows of) the validation rows.
  const limit = num(v, 'eval-rows', { int: true, min: 0 })!;
  const scored = limit > 0 ? validRows.slice(0, limit) : validRows;
  const hyps: string[] = [];
  const beams = num(v, 'num-beams', { int: true, min: 1 })!;
  const maxNew = num(v, 'max-new-tokens', { int: true, min: 1 })!;
  for (let i = 0; i < scored.length; i += 16) {
    const chunk = validPairs.slice(i, Math.min(i + 16, scored.length));
    const g = generateSeq2Seq(model, chunk.map((p) => p.source), { num_beams: beams, max_new_tokens: maxNew, generation_config: loaded.generationConfig });
    for (const s of g.sequences) hyps.push(tokenizer.decode(s.subarray(1), { skipSpecialTokens: true }));
  }
  const refs = scored.map((r) => r.target ?? '');
  const scores: Record<string, number> = {};
  if (task === 'translation') {
    scores['bleu'] = corpusBleu(hyps, [refs]).score;
    scores['chrf'] = corpusChrf(hyps, [refs]).score;
  } else {
    for (const [k, s] of Object.entries(corpusRouge(hyps, [refs]))) scores[k] = 100 * s.fmeasure;
  }
  console.log(JSON.stringify({ task, out: str(v, 'out'), steps: run.steps, validationLoss: run.valLoss, scoredRows: hyps.length, ...scores }));
  return 0;
}
