// `attn generate --model DIR --prompt TEXT`: text from any GPT-2-family folder (trained by attn or downloaded
// from the Hugging Face Hub), with every generation option of transformers' generate() as a flag.
import { parseCommand, num, str, list, UsageError, type CommandSpec, type ParsedValues } from './args.js';
import { DTYPE_OPTION, dtypeFlag } from './quantize.js';

export const GENERATE: CommandSpec = {
  name: 'generate',
  summary: 'Generate text (greedy, sampling or beam search) from a GPT-2-family model folder.',
  usage: 'attn generate --model DIR (--prompt TEXT | --input-ids 1,2,3) [options]',
  options: {
    model: { type: 'string', value: 'DIR', help: 'model folder: config.json, model.safetensors, tokenizer.json (or vocab.json + merges.txt)' },
    prompt: { type: 'string', value: 'TEXT', help: 'the text to continue (repeat --prompt for a left-padded batch)', multiple: true },
    'input-ids': { type: 'string', value: 'IDS', help: 'token ids instead of a prompt, e.g. 464,3290 (repeat for a batch)', multiple: true },
    tokenizer: { type: 'string', value: 'PATH|gpt2', help: 'tokenizer when the folder has none' },
    'max-new-tokens': { type: 'string', value: 'N', help: 'tokens to generate at most', default: '100' },
    'min-new-tokens': { type: 'string', value: 'N', help: 'no end-of-sequence before N new tokens' },
    'do-sample': { type: 'boolean', help: 'sample instead of greedy/beam (implied by --temperature, --top-k, --top-p, --min-p)' },
    temperature: { type: 'string', value: 'T', help: 'sampling temperature' },
    'top-k': { type: 'string', value: 'K', help: 'sample among the K most likely tokens (0 = off; default 50 when sampling, as transformers)' },
    'top-p': { type: 'string', value: 'P', help: 'nucleus sampling: the smallest set with probability ≥ P' },
    'min-p': { type: 'string', value: 'P', help: 'drop tokens less likely than P × the most likely one' },
    'typical-p': { type: 'string', value: 'P', help: 'locally typical sampling' },
    'repetition-penalty': { type: 'string', value: 'R', help: 'penalise tokens already present (1 = off)' },
    'no-repeat-ngram-size': { type: 'string', value: 'N', help: 'never repeat an n-gram of this size' },
    'num-beams': { type: 'string', value: 'N', help: 'beam search with N beams' },
    'num-return-sequences': { type: 'string', value: 'N', help: 'sequences to return per prompt' },
    'length-penalty': { type: 'string', value: 'L', help: 'beam score = log p / length^L' },
    'early-stopping': { type: 'string', value: 'true|false|never', help: 'when beam search stops' },
    'eos-token-id': { type: 'string', value: 'IDS', help: 'end-of-sequence id(s), comma separated (default: from the model)' },
    'pad-token-id': { type: 'string', value: 'ID', help: 'padding id for batches (default: from the model, else eos)' },
    stop: { type: 'string', value: 'TEXT', help: 'stop when this text appears (repeatable)', multiple: true },
    seed: { type: 'string', value: 'N', help: 'random seed for sampling' },
    stream: { type: 'boolean', help: 'print text as it is generated' },
    json: { type: 'boolean', help: 'print JSON: sequences (prompt + generated ids), texts, scores' },
    logprobs: { type: 'boolean', help: 'with --json: per-token log-probabilities' },
    'no-cache': { type: 'boolean', help: 'recompute the whole sequence every step (slow; for checking the KV cache)' },
    threads: { type: 'string', value: 'N', help: 'worker threads (default: all cores)' },
    dtype: DTYPE_OPTION,
  },
  epilog: [
    'Examples:',
    '  attn generate --model runs/shakespeare --prompt "To be, or not" --max-new-tokens 60',
    '  attn generate --model runs/shakespeare --prompt "KING." --temperature 0.8 --top-p 0.9 --seed 1 --stream',
    '  attn generate --model models/gpt2 --prompt "Hello" --num-beams 4 --num-return-sequences 2 --json',
  ],
};

/** The generation options of transformers' generate() from CLI flags (only the flags that were given). */
export function generationOptionsFromFlags(v: ParsedValues): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const setNum = (flag: string, key: string, spec: { int?: boolean; min?: number; max?: number } = {}) => {
    const n = num(v, flag, spec);
    if (n !== undefined) o[key] = n;
  };
  setNum('max-new-tokens', 'max_new_tokens', { int: true, min: 0 });
  setNum('min-new-tokens', 'min_new_tokens', { int: true, min: 0 });
  setNum('temperature', 'temperature', { min: 0 });
  setNum('top-k', 'top_k', { int: true, min: 0 });
  setNum('top-p', 'top_p', { min: 0, max: 1 });
  setNum('min-p', 'min_p', { min: 0, max: 1 });
  setNum('typical-p', 'typical_p', { min: 0, max: 1 });
  setNum('repetition-penalty', 'repetition_penalty', { min: 0 });
  setNum('no-repeat-ngram-size', 'no_repeat_ngram_size', { int: true, min: 0 });
  setNum('num-beams', 'num_beams', { int: true, min: 1 });
  setNum('num-return-sequences', 'num_return_sequences', { int: true, min: 1 });
  setNum('length-penalty', 'length_penalty');
  setNum('pad-token-id', 'pad_token_id', { int: true, min: 0 });
  setNum('seed', 'seed', { int: true });
  const es = str(v, 'early-stopping');
  if (es !== undefined) {
    if (!['true', 'false', 'never'].includes(es)) throw new UsageError(`--early-stopping must be true, false or never, got '${es}'`);
    o['early_stopping'] = es === 'never' ? 'never' : es === 'true';
  }
  const eos = str(v, 'eos-token-id');
  if (eos !== undefined) {
    const ids = eos.split(',').map((s) => Number(s.trim()));
    if (ids.some((n) => !Number.isInteger(n) || n < 0)) throw new UsageError(`--eos-token-id must be comma-separated token ids, got '${eos}'`);
    o['eos_token_id'] = ids.length === 1 ? ids[0] : ids;
  }
  const sampling = v['do-sample'] === true || ['temperature', 'top-k', 'top-p', 'min-p', 'typical-p'].some((f) => v[f] !== undefined);
  if (sampling) o['do_sample'] = true;
  const stops = list(v, 'stop');
  if (stops.length) o['stop_strings'] = stops;
  return o;
}

function parseIds(s: string): number[] {
  const ids = s.split(',').map((x) => Number(x.trim()));
  if (ids.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 0)) throw new UsageError(`--input-ids must be comma-separated non-negative integers, got '${s}'`);
  return ids;
}

export async function generateCommand(argv: string[]): Promise<number> {
  const p = parseCommand(GENERATE, argv);
  if (!p) return 0;
  const v = p.values;
  const dir = str(v, 'model');
  if (!dir) throw new UsageError('--model DIR is required (see `attn generate --help`)');
  const prompts = list(v, 'prompt');
  const idLists = list(v, 'input-ids').map(parseIds);
  if (prompts.length === 0 && idLists.length === 0) throw new UsageError('give --prompt TEXT or --input-ids 1,2,3');
  if (prompts.length > 0 && idLists.length > 0) throw new UsageError('give --prompt or --input-ids, not both');

  await import('../src/platform/node.js');
  const { setBackend } = await import('../src/backend/index.js');
  const threads = num(v, 'threads', { int: true, min: 1 });
  if (threads !== undefined) setBackend('wasm', { threads });
  const { fromPretrained } = await import('../src/models/pretrained.js');
  const { stepperFromModel } = await import('../src/generate/from_model.js');
  const { generate, streamText } = await import('../src/generate/index.js');
  const { loadTokenizerFor } = await import('./model_tokenizer.js');

  const loaded = fromPretrained(dir, { dtype: dtypeFlag(str(v, 'dtype')) });
  const tokenizer = loadTokenizerFor(loaded, str(v, 'tokenizer'));
  if (prompts.length > 0 && !tokenizer) throw new UsageError(`${dir} has no tokenizer (tokenizer.json or vocab.json + merges.txt); pass --tokenizer PATH|gpt2, or use --input-ids`);
  const inputIds = prompts.length > 0 ? prompts.map((t) => tokenizer!.encode(t, undefined, { addSpecialTokens: false }).ids) : idLists;
  for (const [i, ids] of inputIds.entries()) {
    if (ids.length === 0) throw new UsageError(`prompt ${i + 1} is empty: give at least one token of text`);
    const bad = ids.find((id) => id >= loaded.config.vocab_size);
    if (bad !== undefined) throw new UsageError(`token id ${bad} is out of range: the model's vocabulary has ${loaded.config.vocab_size} tokens`);
  }
  const options = generationOptionsFromFlags(v);
  const maxNew = (options['max_new_tokens'] as number | undefined) ?? 100;
  const longest = Math.max(...inputIds.map((r) => r.length));
  if (longest + maxNew > loaded.config.n_positions) {
    throw new UsageError(`prompt (${longest} tokens) + --max-new-tokens ${maxNew} exceeds the model's context of ${loaded.config.n_positions} tokens; lower --max-new-tokens`);
  }
  options['max_new_tokens'] = maxNew;
  if (v['logprobs']) options['output_logprobs'] = true;
  const decode = tokenizer ? (ids: ArrayLike<number>) => tokenizer.decode(ids, { skipSpecialTokens: true }) : undefined;
  const stepper = stepperFromModel(loaded.model, { useCache: v['no-cache'] !== true, generationConfig: loaded.generationConfig as Record<string, unknown> });

  if (v['stream'] && !v['json']) {
    if (!decode) throw new UsageError('--stream needs a tokenizer to print text');
    if (inputIds.length > 1) throw new UsageError('--stream prints one prompt at a time; give a single --prompt');
    process.stdout.write(prompts[0] ?? '');
    const it = streamText(stepper, inputIds, { ...options, decode });
    for (let r = await it.next(); !r.done; r = await it.next()) process.stdout.write(r.value.text);
    process.stdout.write('\n');
    return 0;
  }
  const out = generate(stepper, inputIds, { ...options, ...(decode ? { decode } : {}) });
  const texts = out.sequences.map((s) => (decode ? decode(s.subarray(out.prompt_length)) : null));
  if (v['json']) {
    console.log(
      JSON.stringify({
        sequences: out.sequences.map((s) => Array.from(s)),
        prompt_length: out.prompt_length,
        text: texts,
        ...(out.sequences_scores ? { sequences_scores: Array.from(out.sequences_scores) } : {}),
        ...(out.finish_reasons ? { finish_reasons: out.finish_reasons } : {}),
        ...(out.logprobs ? { logprobs: out.logprobs.map((l) => Array.from(l)) } : {}),
        ...(out.seed !== undefined ? { seed: out.seed } : {}),
      }),
    );
    return 0;
  }
  const perPrompt = out.sequences.length / inputIds.length;
  out.sequences.forEach((s, i) => {
    const prompt = prompts[Math.floor(i / perPrompt)];
    const head = out.sequences.length > 1 ? `--- ${i + 1}${out.sequences_scores ? ` (score ${out.sequences_scores[i]!.toFixed(4)})` : ''}\n` : '';
    if (texts[i] !== null) console.log(`${head}${prompt ?? ''}${texts[i]}`);
    else console.log(`${head}${Array.from(s).join(',')}`);
  });
  return 0;
}

