// `attn forward --model DIR --input-ids 1,2,3;4,5,6`: a model's raw outputs for token ids, for debugging and
// scripting (compare with transformers' `model(**inputs)`). Every model type attn loads answers through a small
// table (RUNNERS below): how to load the folder and run one forward pass. Encoder-decoder models will add their
// entry there (they are the ones taking --decoder-input-ids).
import { parseCommand, str, UsageError, type CommandSpec, type ParsedValues } from './args.js';
import { DTYPE_OPTION, dtypeFlag } from './quantize.js';
import type { Tensor } from '../src/tensor/index.js';
import type { BertHeadOutput } from '../src/models/bert.js';

export const FORWARD: CommandSpec = {
  name: 'forward',
  summary: "Print a model's raw outputs (logits, or start/end logits; hidden states, attentions) for token ids.",
  usage: 'attn forward --model DIR --input-ids 1,2,3[;4,5,6] [--attention-mask 1,1,0[;…]] [--token-type-ids …] [--decoder-input-ids …] [--hidden-states] [--attentions] [--json]',
  options: {
    model: { type: 'string', value: 'DIR', help: 'a model folder (config.json + model.safetensors)' },
    'input-ids': { type: 'string', value: 'IDS', help: 'token ids, comma separated; rows separated by ";" (equal lengths)' },
    'attention-mask': { type: 'string', value: 'MASK', help: '1 for tokens, 0 for padding, rows as --input-ids' },
    'token-type-ids': { type: 'string', value: 'IDS', help: 'segment ids (BERT: 0 first text, 1 second), rows as --input-ids' },
    'position-ids': { type: 'string', value: 'IDS', help: 'positions, rows as --input-ids (default: the model\'s rule)' },
    'decoder-input-ids': { type: 'string', value: 'IDS', help: 'decoder ids of encoder-decoder models, rows as --input-ids' },
    'hidden-states': { type: 'boolean', help: 'also print every layer\'s hidden states' },
    attentions: { type: 'boolean', help: 'also print every layer\'s attention probabilities' },
    json: { type: 'boolean', help: 'print one JSON object (nested arrays, shapes alongside)' },
    threads: { type: 'string', value: 'N', help: 'worker threads (default: all cores)' },
    dtype: DTYPE_OPTION,
  },
  epilog: [
    'Examples:',
    '  attn forward --model models/bert-base-uncased --input-ids "101,7592,103,102" --json',
    '  attn forward --model runs/gpt --input-ids "1,2,3;4,5,0" --attention-mask "1,1,1;1,1,0" --attentions --json',
  ],
};

/** The inputs of one forward pass, (B, T) each, as parsed from the flags. */
export interface ForwardInputs {
  inputIds: number[][];
  attentionMask?: number[][];
  tokenTypeIds?: number[][];
  positionIds?: number[][];
  decoderInputIds?: number[][];
  hiddenStates: boolean;
  attentions: boolean;
  /** Quantise the weights while loading (--dtype int8 | int4); a quantised folder loads as it is. */
  quant: { dtype?: 'float32' | 'int8' | 'int4' };
}

/** Named outputs: each a tensor (printed as nested arrays with its shape) or a list of them. */
export type ForwardOutputs = Record<string, Tensor | Tensor[]>;

/** How one model type is loaded and run. */
export interface ForwardRunner {
  /** Whether the model reads --decoder-input-ids (encoder-decoder models). */
  decoderInputs: boolean;
  run(dir: string, x: ForwardInputs): Promise<{ architecture: string; vocabSize: number; outputs: ForwardOutputs }>;
}

const bertRunner: ForwardRunner = {
  decoderInputs: false,
  async run(dir, x) {
    const { fromPretrainedBert, architectureName } = await import('../src/models/bert_pretrained.js');
    const { tensor, noGrad } = await import('../src/tensor/index.js');
    const loaded = fromPretrainedBert(dir, x.quant);
    checkIds(x.inputIds, loaded.config.vocab_size);
    if (x.tokenTypeIds && loaded.config.type_vocab_size === 0) throw new UsageError(`${loaded.config.model_type} has no token types; drop --token-type-ids`);
    if (x.tokenTypeIds) checkIds(x.tokenTypeIds, loaded.config.type_vocab_size, 'token type id');
    const t = (rows: number[][]) => tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length], { dtype: 'int32' });
    const out = noGrad(() =>
      loaded.model.forward(t(x.inputIds), {
        ...(x.attentionMask ? { attentionMask: t(x.attentionMask) } : {}),
        ...(x.tokenTypeIds ? { tokenTypeIds: t(x.tokenTypeIds) } : {}),
        ...(x.positionIds ? { positionIds: t(x.positionIds) } : {}),
        outputHiddenStates: x.hiddenStates,
        outputAttentions: x.attentions,
      }),
    );
    const o = out as BertHeadOutput & { startLogits?: Tensor; endLogits?: Tensor; poolerOutput?: Tensor };
    const outputs: ForwardOutputs = {};
    if (o.startLogits && o.endLogits) {
      outputs['start_logits'] = o.startLogits;
      outputs['end_logits'] = o.endLogits;
    } else outputs[loaded.head === 'base' ? 'last_hidden_state' : 'logits'] = o.logits;
    if (o.poolerOutput) outputs['pooler_output'] = o.poolerOutput;
    if (out.hiddenStates) outputs['hidden_states'] = out.hiddenStates;
    if (out.attentions) outputs['attentions'] = out.attentions;
    return { architecture: architectureName(loaded.config.model_type, loaded.head), vocabSize: loaded.config.vocab_size, outputs };
  },
};

const seq2seqRunner: ForwardRunner = {
  decoderInputs: true,
  async run(dir, x) {
    const { fromPretrainedSeq2Seq } = await import('../src/models/seq2seq_pretrained.js');
    const { tensor, noGrad } = await import('../src/tensor/index.js');
    const loaded = fromPretrainedSeq2Seq(dir, x.quant);
    const vocab = loaded.model.config.vocab_size;
    checkIds(x.inputIds, vocab);
    checkIds(x.decoderInputIds!, vocab, 'decoder token id');
    if (x.tokenTypeIds) throw new UsageError(`${loaded.modelType} has no token types; drop --token-type-ids`);
    if (x.positionIds) throw new UsageError(`${loaded.modelType} takes no --position-ids (positions follow the ids)`);
    if (x.decoderInputIds!.length !== x.inputIds.length) throw new UsageError(`--decoder-input-ids has ${x.decoderInputIds!.length} rows but --input-ids has ${x.inputIds.length}`);
    const t = (rows: number[][]) => tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length], { dtype: 'int32' });
    const out = noGrad(() =>
      loaded.model.forward(t(x.inputIds), {
        ...(x.attentionMask ? { attentionMask: t(x.attentionMask) } : {}),
        decoderInputIds: t(x.decoderInputIds!),
        outputHiddenStates: x.hiddenStates,
        outputAttentions: x.attentions,
      }),
    );
    // transformers' Seq2SeqLMOutput names.
    const outputs: ForwardOutputs = { logits: out.logits, encoder_last_hidden_state: out.encoderLastHiddenState };
    if (out.encoderHiddenStates) outputs['encoder_hidden_states'] = out.encoderHiddenStates;
    if (out.decoderHiddenStates) outputs['decoder_hidden_states'] = out.decoderHiddenStates;
    if (out.encoderAttentions) outputs['encoder_attentions'] = out.encoderAttentions;
    if (out.decoderAttentions) outputs['decoder_attentions'] = out.decoderAttentions;
    if (out.crossAttentions) outputs['cross_attentions'] = out.crossAttentions;
    const architecture = loaded.modelType === 'marian' ? 'MarianMTModel' : 'T5ForConditionalGeneration';
    return { architecture, vocabSize: vocab, outputs };
  },
};

/** The table: model_type → runner. */
export const RUNNERS: Record<string, ForwardRunner> = {
  gpt2: {
    decoderInputs: false,
    async run(dir, x) {
      const { fromPretrained } = await import('../src/models/pretrained.js');
      const { tensor, noGrad } = await import('../src/tensor/index.js');
      const loaded = fromPretrained(dir, x.quant);
      checkIds(x.inputIds, loaded.config.vocab_size);
      if (x.tokenTypeIds) throw new UsageError('gpt2 has no token types; drop --token-type-ids');
      const t = (rows: number[][]) => tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length], { dtype: 'int32' });
      const out = noGrad(() =>
        loaded.model.forward(t(x.inputIds), {
          ...(x.attentionMask ? { attentionMask: t(x.attentionMask) } : {}),
          ...(x.positionIds ? { positionIds: t(x.positionIds) } : {}),
          outputHiddenStates: x.hiddenStates,
          outputAttentions: x.attentions,
        }),
      );
      const outputs: ForwardOutputs = { logits: out.logits };
      if (out.hiddenStates) outputs['hidden_states'] = out.hiddenStates;
      if (out.attentions) outputs['attentions'] = out.attentions;
      return { architecture: 'GPT2LMHeadModel', vocabSize: loaded.config.vocab_size, outputs };
    },
  },
  bert: bertRunner,
  roberta: bertRunner,
  distilbert: bertRunner,
  marian: seq2seqRunner,
  t5: seq2seqRunner,
};

function checkIds(rows: number[][], limit: number, what = 'token id'): void {
  for (const [r, row] of rows.entries()) {
    const bad = row.find((id) => id >= limit);
    if (bad !== undefined) throw new UsageError(`${what} ${bad} (row ${r + 1}) is out of range: the model has ${limit}`);
  }
}

/** "1,2,3;4,5,6" → [[1,2,3],[4,5,6]]; rows of equal length, non-negative integers. */
export function parseRows(flag: string, s: string): number[][] {
  const rows = s.split(';').map((row) =>
    row.split(',').map((x) => {
      const n = Number(x.trim());
      if (x.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`--${flag} must be comma-separated non-negative integers with rows separated by ";", got '${s}'`);
      return n;
    }),
  );
  if (rows.some((r) => r.length !== rows[0]!.length)) {
    throw new UsageError(`--${flag}: rows have different lengths (${rows.map((r) => r.length).join(', ')}); pad them to one length and mark the padding with --attention-mask`);
  }
  return rows;
}

function rowsFlag(v: ParsedValues, flag: string, like?: number[][]): number[][] | undefined {
  const s = str(v, flag);
  if (s === undefined) return undefined;
  const rows = parseRows(flag, s);
  if (like && (rows.length !== like.length || rows[0]!.length !== like[0]!.length)) {
    throw new UsageError(`--${flag} is ${rows.length}×${rows[0]!.length} but --input-ids is ${like.length}×${like[0]!.length}`);
  }
  return rows;
}

export async function forwardCommand(argv: string[]): Promise<number> {
  const p = parseCommand(FORWARD, argv);
  if (!p) return 0;
  const v = p.values;
  const dir = str(v, 'model');
  if (!dir) throw new UsageError('--model DIR is required (see `attn forward --help`)');
  const inputIds = rowsFlag(v, 'input-ids');
  if (!inputIds) throw new UsageError('--input-ids is required, e.g. --input-ids "101,7592,102"');
  const dtype = dtypeFlag(str(v, 'dtype'));
  const x: ForwardInputs = { inputIds, hiddenStates: v['hidden-states'] === true, attentions: v['attentions'] === true, quant: dtype !== undefined ? { dtype } : {} };
  const mask = rowsFlag(v, 'attention-mask', inputIds);
  if (mask) x.attentionMask = mask;
  const types = rowsFlag(v, 'token-type-ids', inputIds);
  if (types) x.tokenTypeIds = types;
  const pos = rowsFlag(v, 'position-ids', inputIds);
  if (pos) x.positionIds = pos;
  const dec = rowsFlag(v, 'decoder-input-ids');
  if (dec) x.decoderInputIds = dec;

  await import('../src/platform/node.js');
  const { setBackend } = await import('../src/backend/index.js');
  const { num } = await import('./args.js');
  const threads = num(v, 'threads', { int: true, min: 1 });
  if (threads !== undefined) setBackend('wasm', { threads });
  const { readModelType } = await import('../src/models/pretrained.js');
  const type = readModelType(dir);
  const runner = RUNNERS[type];
  if (!runner) throw new UsageError(`${dir}: attn forward does not know model_type "${type}"; it runs: ${Object.keys(RUNNERS).join(', ')}`);
  if (dec && !runner.decoderInputs) throw new UsageError(`--decoder-input-ids is for encoder-decoder models; ${dir} is a "${type}" model, which has no decoder inputs`);
  if (!dec && runner.decoderInputs) throw new UsageError(`${dir} is an encoder-decoder "${type}" model: give --decoder-input-ids too`);
  const { architecture, outputs } = await runner.run(dir, x);

  if (v['json']) {
    const json: Record<string, unknown> = { model_type: type, architecture, shapes: {} as Record<string, unknown> };
    for (const [name, o] of Object.entries(outputs)) {
      (json['shapes'] as Record<string, unknown>)[name] = Array.isArray(o) ? o.map((t) => t.shape) : o.shape;
      json[name] = Array.isArray(o) ? o.map(nested) : nested(o);
    }
    console.log(JSON.stringify(json));
    return 0;
  }
  console.log(`${dir}: ${architecture} (${type})`);
  for (const [name, o] of Object.entries(outputs)) {
    if (Array.isArray(o)) console.log(`${name}: ${o.length} × [${o[0]?.shape.join(', ')}]`);
    else {
      console.log(`${name} [${o.shape.join(', ')}]`);
      const d = o.shape[o.ndim - 1]!;
      const rows = o.toFloat32Array();
      for (let r = 0; r < Math.min(rows.length / d, 8); r++) {
        const row = Array.from(rows.subarray(r * d, (r + 1) * d));
        const shown = row.slice(0, 6).map((z) => z.toFixed(4)).join(', ');
        console.log(`  row ${r}: [${shown}${d > 6 ? `, … ${d - 6} more` : ''}]${d > 2 ? ` argmax ${row.indexOf(Math.max(...row))}` : ''}`);
      }
    }
  }
  return 0;
}

/** A tensor as nested JavaScript arrays; 9 significant digits give back the exact float32. */
function nested(t: Tensor): unknown {
  const data = Array.from(t.toFloat32Array(), (x) => Number(x.toPrecision(9)));
  const build = (dim: number, offset: number): unknown => {
    if (dim === t.ndim) return data[offset];
    const stride = t.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: t.shape[dim]! }, (_, i) => build(dim + 1, offset + i * stride));
  };
  return build(0, 0);
}
