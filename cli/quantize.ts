// `attn quantize --model DIR --bits 8|4 [--group-size N] --out DIR`: a quantised copy of a model folder, for
// faster, smaller inference. The folder format is documented in src/quant/load.ts and src/quant/folder.ts.
import { parseCommand, num, str, UsageError, type CommandSpec } from './args.js';

export const QUANTIZE: CommandSpec = {
  name: 'quantize',
  summary: 'Write a quantised copy of a model folder: int8 or int4 weights with float32 scales (inference only).',
  usage: 'attn quantize --model DIR --bits 8|4 [--group-size N] [--keep-embeddings] --out DIR [--json]',
  options: {
    model: { type: 'string', value: 'DIR', help: 'the float model folder (GPT-2, BERT / RoBERTa / DistilBERT, Marian or T5: config.json, model.safetensors, tokenizer)' },
    bits: { type: 'string', value: '8|4', help: 'bits per weight' },
    'group-size': { type: 'string', value: 'N', help: 'inputs per scale, a multiple of 32 (default: one scale per output channel for 8 bits, 32 for 4)' },
    'keep-embeddings': { type: 'boolean', help: 'leave the token embedding (and a tied LM head) in float32' },
    out: { type: 'string', value: 'DIR', help: 'the folder to write' },
    json: { type: 'boolean', help: 'print one JSON object' },
  },
  epilog: [
    'Examples:',
    '  attn quantize --model runs/shakespeare --bits 8 --out runs/shakespeare-int8',
    '  attn quantize --model models/gpt2 --bits 4 --group-size 64 --out models/gpt2-int4',
    'The result loads like any folder: attn generate --model runs/shakespeare-int8 --prompt "To be"',
    'To quantise without writing a folder: attn generate|eval --model DIR --dtype int8|int4',
  ],
};

export async function quantizeCommand(argv: string[]): Promise<number> {
  const p = parseCommand(QUANTIZE, argv);
  if (!p) return 0;
  const v = p.values;
  const src = str(v, 'model');
  const out = str(v, 'out');
  const bitsText = str(v, 'bits');
  if (!src) throw new UsageError('--model DIR is required (see `attn quantize --help`)');
  if (!out) throw new UsageError('--out DIR is required: the quantised folder to write');
  if (bitsText !== '8' && bitsText !== '4') throw new UsageError(`--bits must be 8 or 4, got ${bitsText === undefined ? 'nothing' : `'${bitsText}'`}`);
  const groupSize = num(v, 'group-size', { int: true, min: 1 });
  const { resolve } = await import('node:path');
  if (resolve(src) === resolve(out)) throw new UsageError(`--out must be a new folder, not the input ${src}`);

  await import('../src/platform/node.js');
  const { quantizeFolder } = await import('../src/quant/folder.js');
  const t0 = performance.now();
  const bits = bitsText === '8' ? 8 : 4;
  const { report, config } = quantizeFolder(src, out, { bits, ...(groupSize !== undefined ? { groupSize } : {}), embeddings: v['keep-embeddings'] !== true });
  const sec = (performance.now() - t0) / 1000;
  if (v['json']) {
    console.log(JSON.stringify({ model: src, out, quantization_config: config, quantized: report.quantized.length, skipped: report.skipped, float_bytes: report.floatBytes, quantized_bytes: report.quantizedBytes, seconds: sec }));
    return 0;
  }
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
  const group = config.group_size === -1 ? 'one scale per output channel' : `one scale per ${config.group_size} inputs`;
  console.log(`${out}: ${report.quantized.length} weights quantised to int${bits} (${group}) in ${sec.toFixed(1)} s`);
  console.log(`  ${mb(report.floatBytes)} of float32 → ${mb(report.quantizedBytes)} (${(report.floatBytes / Math.max(1, report.quantizedBytes)).toFixed(1)}× smaller)`);
  for (const s of report.skipped) console.log(`  kept in float32: ${s.name} (${s.why})`);
  return 0;
}

/** The `--dtype` option of generate / eval (quantise while loading), shared so every command says the same. */
export const DTYPE_OPTION = { type: 'string', value: 'float32|int8|int4', help: 'quantise the weights while loading (a quantised folder loads as it is)' } as const;

/** --dtype's value, checked: `dtypeFlag('int8')` → 'int8'; anything but float32, int8 or int4 is a usage error. */
export function dtypeFlag(s: string | undefined): 'float32' | 'int8' | 'int4' | undefined {
  if (s === undefined || s === 'float32' || s === 'int8' || s === 'int4') return s;
  throw new UsageError(`--dtype must be float32, int8 or int4, got '${s}'`);
}
