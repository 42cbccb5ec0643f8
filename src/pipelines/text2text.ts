// The task-level API for encoder-decoder models (Marian, T5 and models trained by attn), shaped like
// transformers' and transformers.js' pipelines so habits carry over:
//
//   const translate = await translationPipeline('models/opus-mt-en-de');
//   translate('The house is wonderful.', { num_beams: 4 })        // [{ translation_text: 'Das Haus ist wunderbar.' }]
//   const summarize = await summarizationPipeline('models/t5-small');
//   summarize(article, { max_new_tokens: 60 })                     // [{ summary_text: '...' }]
//   const t2t = await text2textPipeline('models/flan-t5-small');
//   t2t('Answer: what is the capital of France?')                   // [{ generated_text: 'Paris' }]
//
//   const lm = await AutoModelForSeq2SeqLM.fromPretrained('models/opus-mt-en-de');
//   lm.generate([[196, 6, 0]], { num_beams: 4 })                     // sequences starting with the decoder start token
//
// As in transformers, T5 folders' config.json `task_specific_params` supply the prefix and generation defaults
// of a task ("summarize: ", "translate English to German: "); `translation_en_to_de` style task names pick
// theirs. Several inputs give one result list per input when num_return_sequences > 1, else one result each.
// This layer only wires the model folder (seq2seq_pretrained.ts), generation (generate/seq2seq.ts) and the
// tokenizer together. Node-only (reads folders). Factories are async (tokenizers from spiece.model load so);
// the returned pipelines are synchronous.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { QuantizeOnLoad } from '../quant/load.js';
import { fromPretrainedSeq2Seq, seq2seqForward, type PretrainedSeq2Seq, type Seq2SeqForwardResult, type Seq2SeqModel } from '../models/seq2seq_pretrained.js';
import { generateSeq2Seq, type Seq2SeqGenerateOptions } from '../generate/seq2seq.js';
import type { GenerateOutput } from '../generate/index.js';
import { Tokenizer } from '../tokenizers/index.js';
import { loadTokenizerFromFolder } from '../tokenizers/node.js';
import { readJsonFile } from '../io/atomic.js';

/** Generation options of a pipeline call (transformers' names), plus source truncation. */
export type Text2TextOptions = Omit<Seq2SeqGenerateOptions, 'generation_config' | 'attention_mask' | 'decode'> & {
  /** Cut sources to the model's longest input instead of refusing them. Default false. */
  truncation?: boolean;
};

/** A loaded encoder-decoder with its tokenizer and generation defaults. */
export class Seq2SeqLM {
  readonly model: Seq2SeqModel;
  readonly modelType: 'marian' | 't5';
  readonly tokenizer: Tokenizer | null;
  readonly generationConfig: Record<string, unknown>;
  /** config.json's task_specific_params (T5: prefixes and generation settings per task), or {}. */
  readonly taskParams: Record<string, Record<string, unknown>>;
  readonly dir: string;

  constructor(loaded: PretrainedSeq2Seq, tokenizer: Tokenizer | null, taskParams: Record<string, Record<string, unknown>>) {
    this.model = loaded.model;
    this.modelType = loaded.modelType;
    this.tokenizer = tokenizer;
    this.generationConfig = loaded.generationConfig;
    this.taskParams = taskParams;
    this.dir = loaded.dir;
    if (tokenizer && tokenizer.vocabSize > loaded.model.config.vocab_size) {
      throw new Error(`${loaded.dir}: the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${loaded.model.config.vocab_size}; they do not belong together`);
    }
  }

  /** Teacher-forced logits and (optionally) hidden states / attentions, as plain arrays. */
  forward(inputIds: number[][], decoderInputIds: number[][], opts: { attentionMask?: number[][]; hiddenStates?: boolean; attentions?: boolean } = {}): Seq2SeqForwardResult {
    return seq2seqForward(this.model, inputIds, opts.attentionMask ?? null, decoderInputIds, opts);
  }

  /** transformers' generate() for source ids: sequences begin with the decoder start token. */
  generate(sources: readonly ArrayLike<number>[], options: Seq2SeqGenerateOptions = {}): GenerateOutput {
    return generateSeq2Seq(this.model, sources, { generation_config: this.generationConfig, ...options });
  }

  /** Source text → ids with the tokenizer's special tokens (Marian and T5 append </s>). */
  encode(text: string, truncation = false): number[] {
    const ids = this.requireTokenizer().encode(text).ids;
    const max = 'max_position_embeddings' in this.model.config ? this.model.config.max_position_embeddings : Infinity;
    if (ids.length > max) {
      if (!truncation) throw new Error(`the input has ${ids.length} tokens but ${this.dir} reads at most ${max}; shorten it or pass { truncation: true }`);
      return [...ids.slice(0, max - 1), ids[ids.length - 1]!]; // keep the final </s>
    }
    return ids;
  }

  /** Texts in, generated texts out (one list per input: num_return_sequences of them). */
  generateTexts(texts: readonly string[], options: Text2TextOptions = {}): string[][] {
    const tok = this.requireTokenizer();
    const { truncation, ...gen } = options;
    const out = this.generate(texts.map((t) => this.encode(t, truncation ?? false)), gen);
    const per = out.sequences.length / texts.length;
    return texts.map((_, i) => out.sequences.slice(i * per, (i + 1) * per).map((s) => tok.decode(s.subarray(out.prompt_length), { skipSpecialTokens: true }).trim()));
  }

  private requireTokenizer(): Tokenizer {
    if (!this.tokenizer) throw new Error(`${this.dir} has no tokenizer (tokenizer.json, spiece.model, ...); use generate() with token ids`);
    return this.tokenizer;
  }
}

export const AutoModelForSeq2SeqLM = {
  /**
   * Load a Marian or T5 folder with its tokenizer (tokenizer.json, else spiece.model, Marian's source.spm +
   * vocab.json, ...). `opts.dtype` 'int8' | 'int4' quantises a float folder while loading; a quantised folder
   * loads as it is.
   */
  async fromPretrained(dir: string, opts: QuantizeOnLoad = {}): Promise<Seq2SeqLM> {
    const loaded = fromPretrainedSeq2Seq(dir, opts);
    let tokenizer: Tokenizer | null = null;
    if (loaded.tokenizerJson !== null) tokenizer = Tokenizer.fromJSON(loaded.tokenizerJson);
    else if (['spiece.model', 'sentencepiece.bpe.model', 'tokenizer.model', 'source.spm', 'vocab.txt', 'vocab.json'].some((f) => existsSync(join(dir, f)))) tokenizer = await loadTokenizerFromFolder(dir);
    const raw = readJsonFile(join(dir, 'config.json'), 'model config') as { task_specific_params?: unknown };
    const tsp = raw.task_specific_params;
    const taskParams = typeof tsp === 'object' && tsp !== null && !Array.isArray(tsp) ? (tsp as Record<string, Record<string, unknown>>) : {};
    return new Seq2SeqLM(loaded, tokenizer, taskParams);
  },
};

/** The generation keys task_specific_params may hold (anything else there, like prefix, is not a generation option). */
const TASK_GENERATION_KEYS = ['max_length', 'min_length', 'num_beams', 'length_penalty', 'no_repeat_ngram_size', 'early_stopping', 'max_new_tokens'];

type Text2TextResult<K extends string> = Array<Record<K, string>>;
export type Text2TextPipeline<K extends string> = {
  (text: string, options?: Text2TextOptions): Text2TextResult<K>;
  (texts: readonly string[], options?: Text2TextOptions): Text2TextResult<K> | Text2TextResult<K>[];
};

function makePipeline<K extends string>(lm: Seq2SeqLM, key: K, task: string, prefixOverride?: string): Text2TextPipeline<K> {
  const params = lm.taskParams[task] ?? {};
  const prefix = prefixOverride ?? (typeof params['prefix'] === 'string' ? params['prefix'] : '');
  const defaults: Record<string, unknown> = {};
  for (const k of TASK_GENERATION_KEYS) if (params[k] !== undefined) defaults[k] = params[k];
  const run = (input: string | readonly string[], options: Text2TextOptions = {}): Text2TextResult<K> | Text2TextResult<K>[] => {
    const texts = typeof input === 'string' ? [input] : [...input];
    if (texts.length === 0) throw new Error(`${task}: no input text`);
    const outs = lm.generateTexts(texts.map((t) => prefix + t), { ...(defaults as Text2TextOptions), ...options });
    const rows = outs.map((list) => list.map((t) => ({ [key]: t }) as Record<K, string>));
    if (typeof input === 'string') return rows[0]!;
    return rows.every((r) => r.length === 1) ? rows.map((r) => r[0]!) : rows;
  };
  return run as Text2TextPipeline<K>;
}

/**
 * `await translationPipeline(dir)` → `translate(text | texts, options)` → `[{ translation_text }]`.
 * `task` may name languages as transformers does ('translation_en_to_de': T5's prefix comes from config.json).
 */
export async function translationPipeline(dir: string, opts: { task?: string; prefix?: string } & QuantizeOnLoad = {}): Promise<Text2TextPipeline<'translation_text'>> {
  const task = opts.task ?? 'translation';
  if (!/^translation(_[a-z]+_to_[a-z]+)?$/.test(task)) throw new Error(`translation pipeline: task '${task}' must be translation or translation_xx_to_yy`);
  const lm = await AutoModelForSeq2SeqLM.fromPretrained(dir, opts);
  let t = task;
  if (t === 'translation' && lm.modelType === 't5') {
    // T5 without languages: the first translation task of its config, as transformers would need one.
    t = Object.keys(lm.taskParams).find((k) => k.startsWith('translation_')) ?? t;
  }
  return makePipeline(lm, 'translation_text', t, opts.prefix);
}

/** `await summarizationPipeline(dir)` → `summarize(text | texts, options)` → `[{ summary_text }]`. */
export async function summarizationPipeline(dir: string, opts: { prefix?: string } & QuantizeOnLoad = {}): Promise<Text2TextPipeline<'summary_text'>> {
  return makePipeline(await AutoModelForSeq2SeqLM.fromPretrained(dir, opts), 'summary_text', 'summarization', opts.prefix);
}

/** `await text2textPipeline(dir)` → `t2t(text | texts, options)` → `[{ generated_text }]` (no prefix added). */
export async function text2textPipeline(dir: string, opts: { prefix?: string } & QuantizeOnLoad = {}): Promise<Text2TextPipeline<'generated_text'>> {
  return makePipeline(await AutoModelForSeq2SeqLM.fromPretrained(dir, opts), 'generated_text', 'text2text-generation', opts.prefix);
}

/** The tasks this file serves, for a pipeline() dispatcher: name → factory. */
export const TEXT2TEXT_TASKS = {
  translation: (dir: string) => translationPipeline(dir),
  summarization: (dir: string) => summarizationPipeline(dir),
  'text2text-generation': (dir: string) => text2textPipeline(dir),
} as const;
