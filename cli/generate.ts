// `attn generate --model DIR --prompt TEXT`: text from any GPT-2-family folder (trained by attn or downloaded
// from the Hugging Face Hub), with every generation option of transformers' generate() as a flag.
// `attn generate --model DIR --source TEXT`: the same for encoder-decoder folders (model_type marian or t5):
// the source is encoded once and the decoder writes from its start token (src/generate/seq2seq.ts).
import { parseCommand, num, str, list, UsageError, type CommandSpec, type ParsedValues } from './args.js';
import { DTYPE_OPTION, dtypeFlag } from './quantize.js';

export const GENERATE: CommandSpec = {
  name: 'generate',
  summary: 'Generate text (greedy, sampling or beam search) from a GPT-2-family or encoder-decoder (Marian, T5) model folder.',
  usage: 'attn generate --model DIR (--prompt TEXT | --source TEXT | --input-ids 1,2;3,4 [--attention-mask 1,1;1,0]) [options]',
  options: {
    model: { type: 'string', value: 'DIR', help: 'model folder: config.json, model.safetensors, tokenizer.json (or vocab.json + merges.txt)' },
    prompt: { type: 'string', value: 'TEXT', help: 'the text to continue (repeat --prompt for a left-padded batch)', multiple: true },
    source: { type: 'string', value: 'TEXT', help: 'encoder-decoder models: the text to translate / summarize (repeat for a batch)', multiple: true },
    'input-ids': { type: 'string', value: 'IDS', help: 'token ids instead of a prompt or source, e.g. 464,3290; rows of a batch separated by ; (or repeat the flag)', multiple: true },
    'attention-mask': { type: 'string', value: 'MASK', help: 'with --input-ids: 0/1 per id, rows separated by ;, e.g. 1,1;1,0 (padded sources)' },
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
    'bad-words-ids': { type: 'string', value: 'IDS', help: 'token sequences never to generate, ; between sequences: 616;3,4 (opus-mt bans its pad id)' },
    'forced-bos-token-id': { type: 'string', value: 'ID', help: 'force this token first (multilingual target language)' },
    'forced-eos-token-id': { type: 'string', value: 'ID', help: 'force this token when max length is reached (default: from the model)' },
    'decoder-start-token-id': { type: 'string', value: 'ID', help: 'encoder-decoder: the decoder\'s first token (default: from the model)' },
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
    '  attn generate --model models/opus-mt-en-de --source "The house is wonderful." --num-beams 4',
    '  attn generate --model runs/g2p --input-ids 9,12,4,2;7,5,2,0 --attention-mask 1,1,1,1;1,1,1,0 --json',
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
  setNum('forced-bos-token-id', 'forced_bos_token_id', { int: true, min: 0 });
  setNum('forced-eos-token-id', 'forced_eos_token_id', { int: true, min: 0 });
  const bad = str(v, 'bad-words-ids');
  if (bad !== undefined) o['bad_words_ids'] = parseIdRows(bad, '--bad-words-ids');
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

/** `1,2;3,4` → [[1, 2], [3, 4]]: rows separated by ';', ids by ','. */
export function parseIdRows(s: string, flag: string): number[][] {
  return s.split(';').map((row) => {
    const ids = row.split(',').map((x) => (x.trim() === '' ? NaN : Number(x.trim())));
    if (ids.some((n) => !Number.isInteger(n) || n < 0)) throw new UsageError(`${flag} must be comma-separated non-negative integers, rows separated by ';', got '${s}'`);
    return ids;
  });
}

export async function generateCommand(argv: string[]): Promise<number> {
  const p = parseCommand(GENERATE, argv);
  if (!p) return 0;
  const v = p.values;
  const dir = str(v, 'model');
  if (!dir) throw new UsageError('--model DIR is required (see `attn generate --help`)');
  const prompts = list(v, 'prompt');
  const sources = list(v, 'source');
  const idLists = list(v, 'input-ids').flatMap((s) => parseIdRows(s, '--input-ids'));
  if (prompts.length === 0 && idLists.length === 0 && sources.length === 0) throw new UsageError('give --prompt TEXT (or --source TEXT for an encoder-decoder) or --input-ids 1,2,3');
  if ([prompts.length, sources.length, idLists.length].filter((n) => n > 0).length > 1) throw new UsageError('give one of --prompt, --source or --input-ids');
  const mask = str(v, 'attention-mask');
  if (mask !== undefined && idLists.length === 0) throw new UsageError('--attention-mask goes with --input-ids (a batch of padded sources)');

  await import('../src/platform/node.js');
  const { setBackend } = await import('../src/backend/index.js');
  const threads = num(v, 'threads', { int: true, min: 1 });
  if (threads !== undefined) setBackend('wasm', { threads });
  const { readModelType, SEQ2SEQ_MODEL_TYPES } = await import('../src/models/seq2seq_pretrained.js');
  if ((SEQ2SEQ_MODEL_TYPES as readonly string[]).includes(readModelType(dir))) {
    return generateSeq2SeqCommand(v, dir, sources, idLists, mask === undefined ? null : parseIdRows(mask, '--attention-mask'));
  }
  if (sources.length > 0) throw new UsageError(`--source is for encoder-decoder models (marian, t5); ${dir} is a decoder-only model: use --prompt`);
  if (mask !== undefined) throw new UsageError('--attention-mask is for encoder-decoder sources; a decoder-only batch of --input-ids is left-padded for you');
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

/** `attn generate` for an encoder-decoder folder: sources (text or ids) → decoder sequences from the start token. */
async function generateSeq2SeqCommand(v: ParsedValues, dir: string, sources: string[], idLists: number[][], mask: number[][] | null): Promise<number> {
  const { fromPretrainedSeq2Seq } = await import('../src/models/seq2seq_pretrained.js');
  const { generateSeq2Seq, seq2seqStepper, padSources } = await import('../src/generate/seq2seq.js');
  const { streamText } = await import('../src/generate/index.js');
  const { Tokenizer } = await import('../src/tokenizers/index.js');
  const { loadTokenizerFromFolder } = await import('../src/tokenizers/node.js');
  const { existsSync, readFileSync } = await import('node:fs');

  const dtype = dtypeFlag(str(v, 'dtype'));
  const loaded = fromPretrainedSeq2Seq(dir, dtype !== undefined ? { dtype } : {}); // --dtype: quantise while loading
  const V = loaded.model.config.vocab_size;
  const override = str(v, 'tokenizer');
  let tokenizer: InstanceType<typeof Tokenizer> | null = null;
  let tokenizerFile = override ?? `${dir}/tokenizer.json`;
  if (override) {
    if (!existsSync(override)) throw new UsageError(`tokenizer not found: ${override}`);
    tokenizer = Tokenizer.fromJSON(readFileSync(override, 'utf8'));
  } else if (loaded.tokenizerJson !== null) {
    tokenizer = Tokenizer.fromJSON(loaded.tokenizerJson);
  } else if (sources.length > 0) {
    tokenizer = await loadTokenizerFromFolder(dir); // spiece.model (T5) and the other files older folders ship
    tokenizerFile = dir;
  }
  if (tokenizer && tokenizer.vocabSize > V) {
    throw new UsageError(`the tokenizer (${tokenizerFile}) has ${tokenizer.vocabSize} tokens but the model in ${dir} has vocab_size ${V}: they do not belong together`);
  }
  const inputIds = sources.length > 0 ? sources.map((t) => tokenizer!.encode(t).ids) : idLists;
  inputIds.forEach((ids, i) => {
    if (ids.length === 0) throw new UsageError(`source ${i + 1} is empty: give at least one token`);
    const bad = ids.find((id) => id >= V);
    if (bad !== undefined) throw new UsageError(`token id ${bad} in source ${i + 1} is out of range: the model's vocabulary has ${V} tokens`);
  });
  const options = generationOptionsFromFlags(v);
  const cfg = loaded.model.config;
  // The default of 100 new tokens is cut to what the decoder's position table allows (a tiny model may have 64).
  const flagDefault = v['max-new-tokens'] === GENERATE.options['max-new-tokens']!.default;
  const room = 'max_position_embeddings' in cfg ? cfg.max_position_embeddings - 1 : Infinity;
  const maxNew = flagDefault ? Math.min(100, room) : ((options['max_new_tokens'] as number | undefined) ?? 100);
  options['max_new_tokens'] = maxNew;
  if ('max_position_embeddings' in cfg) {
    const longest = Math.max(...inputIds.map((r) => r.length));
    if (longest > cfg.max_position_embeddings) throw new UsageError(`the source has ${longest} tokens; the model reads at most ${cfg.max_position_embeddings} (max_position_embeddings)`);
    if (1 + maxNew > cfg.max_position_embeddings) throw new UsageError(`--max-new-tokens ${maxNew} exceeds the decoder's ${cfg.max_position_embeddings} positions (start token included); lower it`);
  }
  const start = num(v, 'decoder-start-token-id', { int: true, min: 0 });
  const decode = tokenizer ? (ids: ArrayLike<number>) => tokenizer.decode(ids, { skipSpecialTokens: true }) : undefined;
  const common = {
    ...options,
    generation_config: loaded.generationConfig,
    use_cache: v['no-cache'] !== true,
    ...(start !== undefined ? { decoder_start_token_id: start } : {}),
    ...(mask ? { attention_mask: mask } : {}),
    ...(v['logprobs'] ? { output_logprobs: true } : {}),
    ...(decode ? { decode } : {}),
  };
  if (v['stream'] && !v['json']) {
    if (!decode) throw new UsageError('--stream needs a tokenizer to print text');
    if (inputIds.length > 1) throw new UsageError('--stream prints one source at a time; give a single --source');
    const { generation_config, use_cache, decoder_start_token_id, attention_mask, ...rest } = common as typeof common & { decoder_start_token_id?: number; attention_mask?: number[][] };
    const stepper = seq2seqStepper(loaded.model, padSources(inputIds, cfg.pad_token_id, attention_mask), { useCache: use_cache, generationConfig: generation_config });
    const first = decoder_start_token_id ?? (generation_config['decoder_start_token_id'] as number | undefined) ?? cfg.decoder_start_token_id;
    const it = streamText(stepper, [[first]], { ...rest, attention_mask: [[1]] });
    for (let r = await it.next(); !r.done; r = await it.next()) process.stdout.write(r.value.text);
    process.stdout.write('\n');
    return 0;
  }
  const out = generateSeq2Seq(loaded.model, inputIds, common);
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
  out.sequences.forEach((s, i) => {
    const head = out.sequences.length > 1 ? `--- ${i + 1}${out.sequences_scores ? ` (score ${out.sequences_scores[i]!.toFixed(4)})` : ''}\n` : '';
    console.log(`${head}${texts[i] ?? Array.from(s).join(',')}`);
  });
  return 0;
}
