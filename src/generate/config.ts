// Generation settings, named exactly as in Hugging Face's GenerationConfig (snake_case), so a model folder's
// generation_config.json is used as it is and a user's habits from transformers / transformers.js carry over.
// This file also builds the list of logits processors from a config, in the order transformers 4.36.2 uses.
//
// What is not here (transformers features attn does not implement): beam sampling (do_sample with
// num_beams > 1), group/diverse beam search, constrained beams, contrastive search, assisted decoding,
// epsilon/eta sampling, guidance, watermarking. Asking for them is an error that says so.

import {
  ForcedBOSTokenLogitsProcessor,
  ForcedEOSTokenLogitsProcessor,
  LogitNormalization,
  MinLengthLogitsProcessor,
  MinNewTokensLengthLogitsProcessor,
  MinPLogitsWarper,
  NoBadWordsLogitsProcessor,
  NoRepeatNGramLogitsProcessor,
  RepetitionPenaltyLogitsProcessor,
  SequenceBiasLogitsProcessor,
  SuppressTokensAtBeginLogitsProcessor,
  SuppressTokensLogitsProcessor,
  TemperatureLogitsWarper,
  TopKLogitsWarper,
  TopPLogitsWarper,
  TypicalLogitsWarper,
  type LogitsProcessor,
} from './processors.js';

export interface GenerationConfig {
  // length
  /** Total length (prompt + new tokens) to stop at; overridden by max_new_tokens. Default 20, as transformers. */
  max_length: number;
  /** New tokens to generate at most; sets max_length = prompt length + max_new_tokens. */
  max_new_tokens: number | null;
  /** EOS is forbidden while the row (prompt included) is shorter than this. */
  min_length: number;
  /** EOS is forbidden until this many tokens were generated. */
  min_new_tokens: number | null;
  // strategy
  do_sample: boolean;
  num_beams: number;
  num_return_sequences: number;
  // sampling (warpers)
  temperature: number;
  /** Default 50, as transformers (sampling only); 0 turns top-k off. */
  top_k: number;
  top_p: number;
  /** attn extension (transformers >= 4.39 has it): keep tokens with p >= min_p · p_max. null = off. */
  min_p: number | null;
  typical_p: number;
  // processors
  repetition_penalty: number;
  no_repeat_ngram_size: number;
  bad_words_ids: number[][] | null;
  /** [[token ids], bias] pairs (transformers takes a dict keyed by tuples; JSON cannot, so pairs). */
  sequence_bias: Array<[number[], number]> | null;
  suppress_tokens: number[] | null;
  begin_suppress_tokens: number[] | null;
  forced_bos_token_id: number | null;
  forced_eos_token_id: number | number[] | null;
  renormalize_logits: boolean;
  // beam search
  /** Exponent on the generated length when normalising beam scores: score = Σ log p / length^length_penalty. */
  length_penalty: number;
  /** true: stop a prompt's search once num_beams hypotheses are finished; false: a heuristic; "never": exact. */
  early_stopping: boolean | 'never';
  // special tokens
  bos_token_id: number | null;
  eos_token_id: number | number[] | null;
  /** Fills finished rows and shorter beam hypotheses; defaults to the (first) eos_token_id. */
  pad_token_id: number | null;
  // outputs and attn extensions
  /** Return the processed scores of every step (rows, V) — memory heavy for big vocabularies. */
  output_scores: boolean;
  /** attn extension: return the log-probability of every generated token (greedy/sampling). */
  output_logprobs: boolean;
  /** Stop a row once its generated text contains one of these (needs a `decode` function). Greedy/sampling. */
  stop_strings: string[] | null;
  /** Seed of the sampling RNG; a random seed when null (the output reports the seed used). */
  seed: number | null;
}

export const GENERATION_DEFAULTS: GenerationConfig = {
  max_length: 20,
  max_new_tokens: null,
  min_length: 0,
  min_new_tokens: null,
  do_sample: false,
  num_beams: 1,
  num_return_sequences: 1,
  temperature: 1.0,
  top_k: 50,
  top_p: 1.0,
  min_p: null,
  typical_p: 1.0,
  repetition_penalty: 1.0,
  no_repeat_ngram_size: 0,
  bad_words_ids: null,
  sequence_bias: null,
  suppress_tokens: null,
  begin_suppress_tokens: null,
  forced_bos_token_id: null,
  forced_eos_token_id: null,
  renormalize_logits: false,
  length_penalty: 1.0,
  early_stopping: false,
  bos_token_id: null,
  eos_token_id: null,
  pad_token_id: null,
  output_scores: false,
  output_logprobs: false,
  stop_strings: null,
  seed: null,
};

/**
 * generation_config.json keys that transformers writes but that change nothing here (bookkeeping, or
 * features that are off at these values). Reading a file ignores them; other unknown keys are an error.
 */
const IGNORED_JSON_KEYS = new Set(['transformers_version', 'use_cache', 'decoder_start_token_id', 'is_encoder_decoder', 'return_dict_in_generate', 'output_attentions', 'output_hidden_states', 'max_time', 'num_beam_groups', 'diversity_penalty', 'penalty_alpha', 'epsilon_cutoff', 'eta_cutoff', 'encoder_repetition_penalty', 'encoder_no_repeat_ngram_size', 'remove_invalid_values', 'exponential_decay_length_penalty', 'forced_decoder_ids', 'guidance_scale', 'low_memory', 'num_assistant_tokens', 'num_assistant_tokens_schedule', 'constraints', 'force_words_ids']);

/** Values of ignored keys that would change the output if they were honoured: then refuse. */
function unsupportedSetting(key: string, value: unknown): string | null {
  if (key === 'num_beam_groups' && value !== 1 && value !== null) return 'group beam search (num_beam_groups > 1)';
  if (key === 'diversity_penalty' && value !== 0 && value !== 0.0 && value !== null) return 'diverse beam search (diversity_penalty)';
  if (key === 'penalty_alpha' && value !== null) return 'contrastive search (penalty_alpha)';
  if ((key === 'epsilon_cutoff' || key === 'eta_cutoff') && value !== 0 && value !== null) return `${key} sampling`;
  if (key === 'encoder_repetition_penalty' && value !== 1 && value !== null) return 'encoder_repetition_penalty';
  if (key === 'encoder_no_repeat_ngram_size' && value !== 0 && value !== null) return 'encoder_no_repeat_ngram_size';
  if (key === 'exponential_decay_length_penalty' && value !== null) return 'exponential_decay_length_penalty';
  if (key === 'forced_decoder_ids' && value !== null) return 'forced_decoder_ids';
  if (key === 'guidance_scale' && value !== null && value !== 1) return 'classifier-free guidance (guidance_scale)';
  if ((key === 'constraints' || key === 'force_words_ids') && value !== null) return 'constrained beam search';
  return null;
}

/**
 * Reads the keys of a generation_config.json (already parsed). Bookkeeping keys are ignored, keys starting
 * with "_" too; settings attn does not implement are an error naming them.
 * Example: `generationConfigFromJson(JSON.parse(readFileSync('gpt2/generation_config.json', 'utf8')))`.
 */
export function generationConfigFromJson(json: Record<string, unknown>, source = 'generation_config.json'): Partial<GenerationConfig> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (key.startsWith('_')) continue;
    if (key in GENERATION_DEFAULTS) {
      out[key] = value;
      continue;
    }
    if (IGNORED_JSON_KEYS.has(key)) {
      const what = unsupportedSetting(key, value);
      if (what) throw new Error(`${source}: ${key} = ${JSON.stringify(value)} asks for ${what}, which attn does not implement`);
      continue;
    }
    throw new Error(`${source}: unknown generation setting '${key}'`);
  }
  return out as Partial<GenerationConfig>;
}

/** A config with every field settled for one call: lengths resolved against the prompt, eos as a list. */
export interface ResolvedGenerationConfig extends GenerationConfig {
  /** The padded prompt length S0 (for encoder-decoder models: the decoder prompt, usually 1). */
  prompt_length: number;
  /** eos_token_id as a list (empty: none). */
  eos: number[];
}

function checkInt(name: string, v: unknown, min: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`generate: ${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
}

/**
 * Merges config layers (later wins: defaults < model's generation_config < call options), checks every value
 * and resolves lengths for a prompt of `promptLength` tokens. Unknown keys are an error naming the key.
 */
export function resolveGenerationConfig(layers: readonly Partial<GenerationConfig>[], promptLength: number, vocabSize: number): ResolvedGenerationConfig {
  const merged: Record<string, unknown> = { ...GENERATION_DEFAULTS };
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (!(key in GENERATION_DEFAULTS)) {
        throw new Error(`generate: unknown option '${key}'; known options: ${Object.keys(GENERATION_DEFAULTS).join(', ')}`);
      }
      if (value !== undefined) merged[key] = value;
    }
  }
  const cfg = merged as unknown as GenerationConfig;

  checkInt('num_beams', cfg.num_beams, 1);
  checkInt('num_return_sequences', cfg.num_return_sequences, 1);
  checkInt('min_length', cfg.min_length, 0);
  checkInt('no_repeat_ngram_size', cfg.no_repeat_ngram_size, 0);
  checkInt('top_k', cfg.top_k, 0);
  if (cfg.max_new_tokens !== null) checkInt('max_new_tokens', cfg.max_new_tokens, 1);
  if (cfg.min_new_tokens !== null) checkInt('min_new_tokens', cfg.min_new_tokens, 0);
  checkInt('max_length', cfg.max_length, 1);
  if (!(cfg.length_penalty === cfg.length_penalty && Number.isFinite(cfg.length_penalty))) throw new Error(`generate: length_penalty must be a finite number, got ${cfg.length_penalty}`);
  if (cfg.early_stopping !== true && cfg.early_stopping !== false && cfg.early_stopping !== 'never') {
    throw new Error(`generate: early_stopping must be true, false or "never", got ${JSON.stringify(cfg.early_stopping)}`);
  }
  if (cfg.do_sample && cfg.num_beams > 1) {
    throw new Error(`generate: beam sampling (do_sample with num_beams = ${cfg.num_beams}) is not implemented; use num_beams: 1 to sample or do_sample: false for beam search`);
  }
  if (cfg.num_beams === 1 && !cfg.do_sample && cfg.num_return_sequences > 1) {
    throw new Error(`generate: greedy search returns one sequence per prompt, got num_return_sequences = ${cfg.num_return_sequences}; use do_sample: true or num_beams >= ${cfg.num_return_sequences}`);
  }
  if (cfg.num_beams > 1 && cfg.num_return_sequences > cfg.num_beams) {
    throw new Error(`generate: num_return_sequences (${cfg.num_return_sequences}) must be <= num_beams (${cfg.num_beams})`);
  }
  if (cfg.num_beams > 1 && cfg.stop_strings && cfg.stop_strings.length > 0) {
    throw new Error('generate: stop_strings work with greedy search and sampling, not with beam search (use eos_token_id)');
  }

  const eos = cfg.eos_token_id === null ? [] : typeof cfg.eos_token_id === 'number' ? [cfg.eos_token_id] : [...cfg.eos_token_id];
  for (const e of eos) {
    if (!Number.isInteger(e) || e < 0 || e >= vocabSize) throw new Error(`generate: eos_token_id ${e} is not a token id of a vocabulary of size ${vocabSize}`);
  }
  // transformers: "Setting pad_token_id to eos_token_id for open-end generation."
  const pad = cfg.pad_token_id ?? (eos.length > 0 ? eos[0]! : null);
  if (pad !== null && (!Number.isInteger(pad) || pad < 0)) throw new Error(`generate: pad_token_id must be a non-negative integer, got ${pad}`);

  const maxLength = cfg.max_new_tokens !== null ? promptLength + cfg.max_new_tokens : cfg.max_length;
  if (maxLength <= promptLength) {
    throw new Error(`generate: the prompt already has ${promptLength} tokens and max_length is ${maxLength}; set max_new_tokens (e.g. 20) to say how many tokens to add`);
  }
  return { ...cfg, max_length: maxLength, pad_token_id: pad, prompt_length: promptLength, eos };
}

/**
 * The processors transformers 4.36.2 builds for this config, in its order (GenerationMixin._get_logits_processor):
 * SequenceBias, RepetitionPenalty, NoRepeatNGram, NoBadWords, MinLength, MinNewTokensLength, ForcedBOS,
 * ForcedEOS, SuppressTokens, SuppressTokensAtBegin, then the caller's own processors (`extra`), then
 * LogitNormalization last.
 */
export function buildLogitsProcessors(cfg: ResolvedGenerationConfig, extra: readonly LogitsProcessor[] = []): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  if (cfg.sequence_bias !== null) list.push(new SequenceBiasLogitsProcessor(cfg.sequence_bias));
  if (cfg.repetition_penalty !== 1.0) list.push(new RepetitionPenaltyLogitsProcessor(cfg.repetition_penalty));
  if (cfg.no_repeat_ngram_size > 0) list.push(new NoRepeatNGramLogitsProcessor(cfg.no_repeat_ngram_size));
  if (cfg.bad_words_ids !== null) list.push(new NoBadWordsLogitsProcessor(cfg.bad_words_ids, cfg.eos));
  if (cfg.min_length > 0 && cfg.eos.length > 0) list.push(new MinLengthLogitsProcessor(cfg.min_length, cfg.eos));
  if (cfg.min_new_tokens !== null && cfg.min_new_tokens > 0 && cfg.eos.length > 0) {
    list.push(new MinNewTokensLengthLogitsProcessor(cfg.prompt_length, cfg.min_new_tokens, cfg.eos));
  }
  if (cfg.forced_bos_token_id !== null) list.push(new ForcedBOSTokenLogitsProcessor(cfg.forced_bos_token_id));
  if (cfg.forced_eos_token_id !== null) list.push(new ForcedEOSTokenLogitsProcessor(cfg.max_length, cfg.forced_eos_token_id));
  if (cfg.suppress_tokens !== null) list.push(new SuppressTokensLogitsProcessor(cfg.suppress_tokens));
  if (cfg.begin_suppress_tokens !== null) {
    // transformers: the first generated position, one later when a forced BOS takes a one-token prompt's first step.
    const begin = cfg.prompt_length > 1 || cfg.forced_bos_token_id === null ? cfg.prompt_length : cfg.prompt_length + 1;
    list.push(new SuppressTokensAtBeginLogitsProcessor(cfg.begin_suppress_tokens, begin));
  }
  list.push(...extra);
  if (cfg.renormalize_logits) list.push(new LogitNormalization());
  return list;
}

/**
 * The sampling warpers, in transformers' order: Temperature → TopK → TopP → MinP → Typical (MinP as in
 * transformers >= 4.39). Only used when do_sample is true. With beams transformers keeps at least 2 tokens;
 * attn has no beam sampling, so min_tokens_to_keep is 1.
 */
export function buildLogitsWarpers(cfg: ResolvedGenerationConfig): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  if (cfg.temperature !== 1.0) list.push(new TemperatureLogitsWarper(cfg.temperature));
  if (cfg.top_k !== 0) list.push(new TopKLogitsWarper(cfg.top_k, 1));
  if (cfg.top_p < 1.0) list.push(new TopPLogitsWarper(cfg.top_p, 1));
  if (cfg.min_p !== null) list.push(new MinPLogitsWarper(cfg.min_p, 1));
  if (cfg.typical_p < 1.0) list.push(new TypicalLogitsWarper(cfg.typical_p, 1));
  if (cfg.renormalize_logits) list.push(new LogitNormalization());
  return list;
}
