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
// tokenizer together. Node-only (reads folders); factories are async (tokenizers from spiece.model load so), the
// returned pipelines are synchronous. Seq2SeqLM and the pipelines over a loaded model are text2text_model.ts,
// re-exported here, which the browser entry shares.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { QuantizeOnLoad } from '../quant/load.js';
import { fromPretrainedSeq2Seq } from '../models/seq2seq_pretrained.js';
import { Tokenizer } from '../tokenizers/index.js';
import { loadTokenizerFromFolder } from '../tokenizers/node.js';
import { readJsonFile } from '../io/atomic.js';
import { Seq2SeqLM, checkTranslationTask, summarizationFromModel, text2textFromModel, translationFromModel, type Text2TextPipeline } from './text2text_model.js';

export * from './text2text_model.js';

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


/**
 * `await translationPipeline(dir)` → `translate(text | texts, options)` → `[{ translation_text }]`.
 * `task` may name languages as transformers does ('translation_en_to_de': T5's prefix comes from config.json).
 */
export async function translationPipeline(dir: string, opts: { task?: string; prefix?: string } & QuantizeOnLoad = {}): Promise<Text2TextPipeline<'translation_text'>> {
  checkTranslationTask(opts.task ?? 'translation'); // before the folder is read
  return translationFromModel(await AutoModelForSeq2SeqLM.fromPretrained(dir, opts), opts);
}

/** `await summarizationPipeline(dir)` → `summarize(text | texts, options)` → `[{ summary_text }]`. */
export async function summarizationPipeline(dir: string, opts: { prefix?: string } & QuantizeOnLoad = {}): Promise<Text2TextPipeline<'summary_text'>> {
  return summarizationFromModel(await AutoModelForSeq2SeqLM.fromPretrained(dir, opts), opts);
}

/** `await text2textPipeline(dir)` → `t2t(text | texts, options)` → `[{ generated_text }]` (no prefix added). */
export async function text2textPipeline(dir: string, opts: { prefix?: string } & QuantizeOnLoad = {}): Promise<Text2TextPipeline<'generated_text'>> {
  return text2textFromModel(await AutoModelForSeq2SeqLM.fromPretrained(dir, opts), opts);
}

/** The tasks this file serves, for a pipeline() dispatcher: name → factory. */
export const TEXT2TEXT_TASKS = {
  translation: (dir: string) => translationPipeline(dir),
  summarization: (dir: string) => summarizationPipeline(dir),
  'text2text-generation': (dir: string) => text2textPipeline(dir),
} as const;
