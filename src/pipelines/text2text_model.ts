// The encoder-decoder tasks over a model already loaded: Seq2SeqLM (a Marian or T5 model with its tokenizer and
// generation defaults) and the translation / summarization / text2text pipelines built on it, shaped like
// transformers' and transformers.js' pipelines. It reads no files: Node's factories (text2text.ts, which
// re-exports all of this) and the browser's (src/browser/load_models.ts) load the folder and call these.
//
//   const translate = translationFromModel(lm, { task: 'translation_en_to_de' });
//   translate('The house is wonderful.', { num_beams: 4 })        // [{ translation_text: 'Das Haus ist wunderbar.' }]
//
// As in transformers, T5 folders' config.json `task_specific_params` supply the prefix and generation defaults
// of a task ("summarize: ", "translate English to German: "); `translation_en_to_de` style task names pick
// theirs. Several inputs give one result list per input when num_return_sequences > 1, else one result each.

import { seq2seqForward, type PretrainedSeq2Seq, type Seq2SeqForwardResult, type Seq2SeqModel } from '../models/seq2seq_hf.js';
import { generateSeq2Seq, type Seq2SeqGenerateOptions } from '../generate/seq2seq.js';
import type { GenerateOutput } from '../generate/index.js';
import type { Tokenizer } from '../tokenizers/index.js';

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

/** A translation task name: 'translation', or 'translation_xx_to_yy' as transformers names languages. */
export function checkTranslationTask(task: string): void {
  if (!/^translation(_[a-z]+_to_[a-z]+)?$/.test(task)) throw new Error(`translation pipeline: task '${task}' must be translation or translation_xx_to_yy`);
}

/**
 * The translation pipeline over a model already loaded (Node's AutoModelForSeq2SeqLM, or a page's loader).
 * `translationFromModel(lm, { task: 'translation_en_to_de' })('The house.')` → `[{ translation_text }]`.
 */
export function translationFromModel(lm: Seq2SeqLM, opts: { task?: string; prefix?: string } = {}): Text2TextPipeline<'translation_text'> {
  let t = opts.task ?? 'translation';
  checkTranslationTask(t);
  if (t === 'translation' && lm.modelType === 't5') {
    // T5 without languages: the first translation task of its config, as transformers would need one.
    t = Object.keys(lm.taskParams).find((k) => k.startsWith('translation_')) ?? t;
  }
  return makePipeline(lm, 'translation_text', t, opts.prefix);
}

/** The summarization pipeline over a model already loaded: `summarizationFromModel(lm)(text)` → `[{ summary_text }]`. */
export function summarizationFromModel(lm: Seq2SeqLM, opts: { prefix?: string } = {}): Text2TextPipeline<'summary_text'> {
  return makePipeline(lm, 'summary_text', 'summarization', opts.prefix);
}

/** The text2text-generation pipeline over a model already loaded: `text2textFromModel(lm)(text)` → `[{ generated_text }]`. */
export function text2textFromModel(lm: Seq2SeqLM, opts: { prefix?: string } = {}): Text2TextPipeline<'generated_text'> {
  return makePipeline(lm, 'generated_text', 'text2text-generation', opts.prefix);
}
