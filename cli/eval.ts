// `attn eval --model DIR --data FILE...`: how well a model predicts text — mean loss per token, perplexity,
// and bits per byte (comparable across tokenizers, since a byte is a byte).
import { parseCommand, num, list, str, UsageError, type CommandSpec } from './args.js';
import { compact } from './progress.js';

export const EVAL: CommandSpec = {
  name: 'eval',
  summary: 'Loss, perplexity and bits per byte of a model folder on text files (all of their text is scored).',
  usage: 'attn eval --model DIR --data FILE... [--block-size T] [--batch-size B] [--json]',
  options: {
    model: { type: 'string', value: 'DIR', help: 'a model folder (config.json, model.safetensors, tokenizer.json)' },
    data: { type: 'string', multiple: true, value: 'FILE...', help: 'text files or folders to score' },
    'block-size': { type: 'string', value: 'T', help: 'window length (default: the model context)' },
    'batch-size': { type: 'string', value: 'B', help: 'rows per forward pass', default: '8' },
    tokenizer: { type: 'string', value: 'PATH|gpt2', help: 'tokenizer when the folder has none' },
    json: { type: 'boolean', help: 'print one JSON object' },
    dtype: { type: 'string', value: 'float32|int8|int4', help: 'quantise the weights while loading (a quantised folder loads as it is)' },
  },
  allowPositionals: true,
  epilog: ['Example: attn eval --model runs/shakespeare --data hamlet.txt'],
};

export async function evalCommand(argv: string[]): Promise<number> {
  const p = parseCommand(EVAL, argv);
  if (!p) return 0;
  const dir = str(p.values, 'model');
  const data = [...list(p.values, 'data'), ...p.positionals];
  if (!dir) throw new UsageError('--model DIR is required (see `attn eval --help`)');
  if (data.length === 0) throw new UsageError('--data FILE is required: the text to score');
  await import('../src/platform/node.js');
  const { fromPretrained } = await import('../src/models/pretrained.js');
  const { loadTokenizerFor } = await import('./model_tokenizer.js');
  const { evaluate } = await import('../src/train/trainer.js');
  const { listTextFiles, readDocuments } = await import('../src/train/corpus.js');
  const { buildTokenStream } = await import('../src/train/data.js');
  const loaded = fromPretrained(dir, { dtype: dtypeFlag(str(p.values, 'dtype')) });
  const tokenizer = loadTokenizerFor(loaded, str(p.values, 'tokenizer'));
  if (!tokenizer) throw new UsageError(`${dir} has no tokenizer.json; pass --tokenizer PATH|gpt2`);
  const files = listTextFiles(data);
  const { docs, reports } = readDocuments(files);
  for (const r of reports) if (r.invalidUtf8 > 0) process.stderr.write(`warning: ${r.path}: ${r.invalidUtf8} invalid UTF-8 sequences replaced by U+FFFD\n`);
  // All of the text is scored: a "validation fraction" of 0 puts every token in `train`, which we score.
  const stream = buildTokenStream(docs, { encodeText: (t) => tokenizer.encodeIds(t) }, 0);
  const blockSize = num(p.values, 'block-size', { int: true, min: 2, max: loaded.config.n_positions }) ?? loaded.config.n_positions;
  const batchSize = num(p.values, 'batch-size', { int: true, min: 1 }) ?? 8;
  if (stream.train.length < 2) throw new UsageError(`the text has ${stream.train.length} token(s); at least 2 are needed to score a prediction`);
  const t0 = performance.now();
  const r = evaluate(loaded.model, stream.train, stream.trainBytes, { batchSize, blockSize, evalTokens: 0 });
  const sec = (performance.now() - t0) / 1000;
  if (p.values['json']) {
    console.log(JSON.stringify({ model: dir, files, tokens: r.tokens, bytes: stream.trainBytes, loss: r.loss, perplexity: r.perplexity, bitsPerByte: r.bitsPerByte, seconds: sec }));
  } else {
    console.log(`${dir} on ${files.length} file(s), ${compact(r.tokens)} tokens scored in ${sec.toFixed(1)} s (window ${blockSize})`);
    console.log(`loss ${r.loss.toFixed(4)} nats/token · perplexity ${r.perplexity.toFixed(2)} · ${r.bitsPerByte.toFixed(4)} bits per byte`);
  }
  return 0;
}

/** --dtype's value, checked. */
function dtypeFlag(s: string | undefined): 'float32' | 'int8' | 'int4' | undefined {
  if (s === undefined || s === 'float32' || s === 'int8' || s === 'int4') return s;
  throw new UsageError(`--dtype must be float32, int8 or int4, got '${s}'`);
}
