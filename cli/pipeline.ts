// `attn pipeline TASK --model DIR TEXT...`: transformers' pipelines from the command line, results as JSON.
//
//   attn pipeline fill-mask --model models/bert-base-uncased "Paris is the [MASK] of France." --top-k 3
//   attn pipeline text-classification --model runs/sst2 "a gripping film" "a dull one"
//   attn pipeline ner --model runs/conll "I live in Berlin" --aggregation-strategy simple
//   attn pipeline question-answering --model runs/squad --question "Where do I live?" --context "…"
//   attn pipeline feature-extraction --model runs/mlm "some text" --pooling mean --normalize
//   attn pipeline text-generation --model runs/gpt "Once upon a time" --max-new-tokens 20
import { readFileSync } from 'node:fs';
import { parseCommand, num, str, UsageError, type CommandSpec } from './args.js';
import { DTYPE_OPTION, dtypeFlag } from './quantize.js';

export const PIPELINE: CommandSpec = {
  name: 'pipeline',
  summary: 'Run a task on texts with a model folder (fill-mask, text-classification, token-classification, question-answering, feature-extraction, text-generation; translation, summarization, text2text-generation with Marian / T5).',
  usage: 'attn pipeline TASK --model DIR [TEXT...] [--input FILE] [options] [--json]',
  options: {
    model: { type: 'string', value: 'DIR', help: 'a model folder with its tokenizer' },
    input: { type: 'string', value: 'FILE', help: 'read texts from FILE, one per line (besides those given as arguments)' },
    'text-pair': { type: 'string', value: 'TEXT', help: 'text-classification: the second text of a pair (for every text)' },
    question: { type: 'string', value: 'TEXT', help: 'question-answering: the question' },
    context: { type: 'string', value: 'TEXT', help: 'question-answering: the text holding the answer' },
    'top-k': { type: 'string', value: 'K', help: 'fill-mask, text-classification (all: "all"), question-answering: results per input' },
    targets: { type: 'string', value: 'A,B', help: 'fill-mask: only score these tokens' },
    'function-to-apply': { type: 'string', value: 'F', help: 'text-classification: softmax, sigmoid or none' },
    'aggregation-strategy': { type: 'string', value: 'S', help: 'token-classification: none, simple, first, average, max', default: 'none' },
    'ignore-labels': { type: 'string', value: 'A,B', help: 'token-classification: labels to leave out (default O)' },
    'doc-stride': { type: 'string', value: 'N', help: 'question-answering: tokens shared by windows of a long context' },
    'max-answer-len': { type: 'string', value: 'N', help: 'question-answering: longest answer in tokens', default: '15' },
    'max-seq-len': { type: 'string', value: 'N', help: 'question-answering: tokens per window' },
    'handle-impossible-answer': { type: 'boolean', help: 'question-answering: allow "" (no answer)' },
    pooling: { type: 'string', value: 'P', help: 'feature-extraction: none, mean or cls', default: 'none' },
    normalize: { type: 'boolean', help: 'feature-extraction: unit-length vectors' },
    'max-new-tokens': { type: 'string', value: 'N', help: 'text-generation, translation, summarization, text2text-generation: tokens to generate', default: '50' },
    'num-beams': { type: 'string', value: 'N', help: 'translation, summarization, text2text-generation: beam width (default: the folder\'s generation config)' },
    prefix: { type: 'string', value: 'TEXT', help: 'translation, summarization, text2text-generation: text put before each input (T5: default from config.json task_specific_params)' },
    'batch-size': { type: 'string', value: 'B', help: 'inputs per forward pass', default: '8' },
    json: { type: 'boolean', help: 'compact JSON on one line (default: indented)' },
    threads: { type: 'string', value: 'N', help: 'worker threads (default: all cores)' },
    dtype: DTYPE_OPTION,
  },
  allowPositionals: true,
  epilog: [
    'Examples:',
    '  attn pipeline fill-mask --model models/bert-base-uncased "Paris is the [MASK] of France."',
    '  attn pipeline ner --model runs/conll --aggregation-strategy simple "I live in Berlin"',
    '  attn pipeline question-answering --model runs/squad --question "Where?" --context "I live in Berlin."',
    '  attn pipeline translation --model models/opus-mt-en-de --num-beams 4 "The house is wonderful."',
  ],
};

const TASKS = ['fill-mask', 'text-classification', 'sentiment-analysis', 'token-classification', 'ner', 'question-answering', 'feature-extraction', 'text-generation', 'translation', 'summarization', 'text2text-generation'];

export async function pipelineCommand(argv: string[]): Promise<number> {
  const p = parseCommand(PIPELINE, argv);
  if (!p) return 0;
  const v = p.values;
  const [task, ...texts] = p.positionals;
  if (!task) throw new UsageError(`give a task: attn pipeline TASK --model DIR …; tasks: ${TASKS.join(', ')}`);
  if (!TASKS.includes(task)) throw new UsageError(`unknown task '${task}'; tasks: ${TASKS.join(', ')}`);
  const dir = str(v, 'model');
  if (!dir) throw new UsageError('--model DIR is required (see `attn pipeline --help`)');
  const inputFile = str(v, 'input');
  if (inputFile) {
    let text: string;
    try {
      text = readFileSync(inputFile, 'utf8');
    } catch {
      throw new UsageError(`--input: cannot read ${inputFile}`);
    }
    texts.push(...text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== ''));
  }
  const batch_size = num(v, 'batch-size', { int: true, min: 1 })!;
  const dtype = dtypeFlag(str(v, 'dtype'));
  const quant = dtype !== undefined ? { dtype } : {}; // quantise while loading (a quantised folder loads as it is)

  await import('../src/platform/node.js');
  const { setBackend } = await import('../src/backend/index.js');
  const threads = num(v, 'threads', { int: true, min: 1 });
  if (threads !== undefined) setBackend('wasm', { threads });
  const { pipeline } = await import('../src/pipelines/index.js');
  const needTexts = () => {
    if (texts.length === 0) throw new UsageError(`${task}: give the text(s) as arguments or with --input FILE`);
  };
  const topK = (): number | null | undefined => {
    const raw = str(v, 'top-k');
    if (raw === 'all') return null;
    return num(v, 'top-k', { int: true, min: 1 });
  };
  const one = texts.length === 1;
  let result: unknown;
  switch (task) {
    case 'fill-mask': {
      needTexts();
      const targets = str(v, 'targets')?.split(',');
      const k = topK();
      const fill = pipeline('fill-mask', dir, quant);
      const opts = { batch_size, ...(k ? { top_k: k } : {}), ...(targets ? { targets } : {}) };
      result = one ? fill(texts[0]!, opts) : fill(texts, opts);
      break;
    }
    case 'text-classification':
    case 'sentiment-analysis': {
      needTexts();
      const pair = str(v, 'text-pair');
      const inputs = texts.map((t) => (pair !== undefined ? { text: t, text_pair: pair } : t));
      const fn = str(v, 'function-to-apply');
      if (fn !== undefined && !['softmax', 'sigmoid', 'none'].includes(fn)) throw new UsageError(`--function-to-apply must be softmax, sigmoid or none, got '${fn}'`);
      const k = topK();
      const opts = { batch_size, ...(str(v, 'top-k') !== undefined ? { top_k: k ?? null } : {}), ...(fn ? { function_to_apply: fn as 'softmax' } : {}) };
      const classify = pipeline('text-classification', dir, quant);
      result = one ? classify(inputs[0]!, opts) : classify(inputs, opts);
      break;
    }
    case 'token-classification':
    case 'ner': {
      needTexts();
      const strategy = str(v, 'aggregation-strategy')!;
      if (!['none', 'simple', 'first', 'average', 'max'].includes(strategy)) throw new UsageError(`--aggregation-strategy must be none, simple, first, average or max, got '${strategy}'`);
      const ignore = str(v, 'ignore-labels');
      const ner = pipeline('token-classification', dir, quant);
      const opts = { batch_size, aggregation_strategy: strategy as 'none', ...(ignore !== undefined ? { ignore_labels: ignore === '' ? [] : ignore.split(',') } : {}) };
      result = one ? ner(texts[0]!, opts) : ner(texts, opts);
      break;
    }
    case 'question-answering': {
      const question = str(v, 'question');
      const context = str(v, 'context') ?? (texts.length > 0 ? texts.join('\n') : undefined);
      if (!question || !context) throw new UsageError('question-answering needs --question TEXT and --context TEXT (or the context as arguments / --input)');
      const opts = {
        batch_size,
        max_answer_len: num(v, 'max-answer-len', { int: true, min: 1 })!,
        handle_impossible_answer: v['handle-impossible-answer'] === true,
        ...(topK() ? { top_k: topK()! } : {}),
        ...(num(v, 'doc-stride', { int: true, min: 0 }) !== undefined ? { doc_stride: num(v, 'doc-stride', { int: true, min: 0 })! } : {}),
        ...(num(v, 'max-seq-len', { int: true, min: 8 }) !== undefined ? { max_seq_len: num(v, 'max-seq-len', { int: true, min: 8 })! } : {}),
      };
      result = pipeline('question-answering', dir, quant)({ question, context }, opts);
      break;
    }
    case 'feature-extraction': {
      needTexts();
      const pooling = str(v, 'pooling')!;
      if (!['none', 'mean', 'cls'].includes(pooling)) throw new UsageError(`--pooling must be none, mean or cls, got '${pooling}'`);
      const embed = pipeline('feature-extraction', dir, quant);
      const opts = { batch_size, pooling: pooling as 'mean', normalize: v['normalize'] === true };
      result = one ? embed(texts[0]!, opts) : embed(texts, opts);
      break;
    }
    case 'text-generation': {
      needTexts();
      const gen = pipeline('text-generation', dir, quant);
      const maxNew = num(v, 'max-new-tokens', { int: true, min: 0 })!;
      const outs = texts.map((t) => gen(t, { max_new_tokens: maxNew }));
      result = one ? outs[0] : outs;
      break;
    }
    case 'translation':
    case 'summarization':
    case 'text2text-generation': {
      needTexts();
      const { translationPipeline, summarizationPipeline, text2textPipeline } = await import('../src/pipelines/text2text.js');
      const prefix = str(v, 'prefix');
      const popts = { ...quant, ...(prefix !== undefined ? { prefix } : {}) };
      const run = task === 'translation' ? await translationPipeline(dir, popts) : task === 'summarization' ? await summarizationPipeline(dir, popts) : await text2textPipeline(dir, popts);
      const beams = num(v, 'num-beams', { int: true, min: 1 });
      const maxNew = num(v, 'max-new-tokens', { int: true, min: 1 })!;
      const outs = texts.map((t) => run(t, { max_new_tokens: maxNew, ...(beams !== undefined ? { num_beams: beams } : {}) }));
      result = one ? outs[0] : outs;
      break;
    }
  }
  console.log(v['json'] ? JSON.stringify(result) : JSON.stringify(result, null, 2));
  return 0;
}
