// `attn eval --model DIR --data FILE...`: how well a model predicts text — mean loss per token, perplexity,
// and bits per byte (comparable across tokenizers, since a byte is a byte).
import { parseCommand, num, list, str, UsageError, type CommandSpec } from './args.js';
import { DTYPE_OPTION, dtypeFlag } from './quantize.js';
import { compact } from './progress.js';

export const EVAL: CommandSpec = {
  name: 'eval',
  summary: 'Loss, perplexity and bits per byte of a model folder on text files (all of their text, or the validation tail).',
  usage: 'attn eval --model DIR --data FILE... [--val-fraction F] [--dtype float32|int8|int4] [--block-size T] [--batch-size B] [--json]',
  options: {
    model: { type: 'string', value: 'DIR', help: 'a model folder (config.json, model.safetensors, tokenizer.json)' },
    data: { type: 'string', multiple: true, value: 'FILE...', help: 'text files or folders to score' },
    'block-size': { type: 'string', value: 'T', help: 'window length (default: the model context)' },
    'batch-size': { type: 'string', value: 'B', help: 'rows per forward pass', default: '8' },
    tokenizer: { type: 'string', value: 'PATH|gpt2', help: 'tokenizer when the folder has none' },
    json: { type: 'boolean', help: 'print one JSON object' },
    'val-fraction': { type: 'string', value: 'F', help: "score only the tail of each file that attn train --val-fraction F held out (0.1 for attn train's and attn start's default)" },
    dtype: DTYPE_OPTION,
  },
  allowPositionals: true,
  epilog: [
    'Examples:',
    '  attn eval --model runs/shakespeare --data hamlet.txt',
    '  attn eval --model runs/shakespeare --data shakespeare.txt --val-fraction 0.1 --dtype int8   (the validation split, weights in int8)',
  ],
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
  const { quantizationConfigOfModel } = await import('../src/quant/load.js');
  /** 'float32', or 'int8' / 'int4' with the group size: what the scored weights were. */
  const weightsOf = (model: Parameters<typeof quantizationConfigOfModel>[0], asked: string | undefined): string => {
    const q = quantizationConfigOfModel(model);
    if (!q) return asked ?? 'float32';
    return `int${q.bits} (${q.group_size === -1 ? 'per channel' : `groups of ${q.group_size}`})`;
  };
  const dtype = dtypeFlag(str(p.values, 'dtype'));
  const loaded = fromPretrained(dir, { dtype });
  const tokenizer = loadTokenizerFor(loaded, str(p.values, 'tokenizer'));
  if (!tokenizer) throw new UsageError(`${dir} has no tokenizer.json; pass --tokenizer PATH|gpt2`);
  const files = listTextFiles(data);
  const { docs, reports } = readDocuments(files);
  for (const r of reports) if (r.invalidUtf8 > 0) process.stderr.write(`warning: ${r.path}: ${r.invalidUtf8} invalid UTF-8 sequences replaced by U+FFFD\n`);
  // All of the text is scored: a "validation fraction" of 0 puts every token in `train`, which we score.
  // With --val-fraction, the same split as training (buildTokenStream cuts each file at the same line), and only
  // its validation tail is scored; without it, every token.
  const valFraction = num(p.values, 'val-fraction', { min: 0, max: 0.9 });
  const split = buildTokenStream(docs, { encodeText: (t) => tokenizer.encodeIds(t) }, valFraction ?? 0);
  const stream = valFraction !== undefined ? { train: split.val, trainBytes: split.valBytes } : split;
  const blockSize = num(p.values, 'block-size', { int: true, min: 2, max: loaded.config.n_positions }) ?? loaded.config.n_positions;
  const batchSize = num(p.values, 'batch-size', { int: true, min: 1 }) ?? 8;
  if (stream.train.length < 2) throw new UsageError(`the text has ${stream.train.length} token(s); at least 2 are needed to score a prediction`);
  const t0 = performance.now();
  const r = evaluate(loaded.model, stream.train, stream.trainBytes, { batchSize, blockSize, evalTokens: 0 });
  const sec = (performance.now() - t0) / 1000;
  if (p.values['json']) {
    const weights = weightsOf(loaded.model, dtype);
    console.log(JSON.stringify({ model: dir, files, weights, ...(valFraction !== undefined ? { valFraction } : {}), tokens: r.tokens, bytes: stream.trainBytes, loss: r.loss, perplexity: r.perplexity, bitsPerByte: r.bitsPerByte, seconds: sec }));
  } else {
    const part = valFraction !== undefined ? `the last ${valFraction} of ${files.length} file(s)` : `${files.length} file(s)`;
    console.log(`${dir} (${weightsOf(loaded.model, dtype)} weights) on ${part}, ${compact(r.tokens)} tokens scored in ${sec.toFixed(1)} s (window ${blockSize})`);
    console.log(`loss ${r.loss.toFixed(4)} nats/token · perplexity ${r.perplexity.toFixed(2)} · ${r.bitsPerByte.toFixed(4)} bits per byte`);
  }
  return 0;
}

