// Sequence-to-sequence data (translation, summarization): pairs of a source text and the target text the
// model should write.
//
//   train.jsonl   {"source": "Das Haus ist wunderbar.", "target": "The house is wonderful."}
//                 {"translation": {"de": "...", "en": "..."}}    with sourceField 'translation.de', targetField 'translation.en'
//
// → examples { source, target, line } → features { inputIds, labels } (run_translation.py /
// run_summarization.py's preprocess_function: both sides tokenized with their special tokens and cut to
// their maximum lengths; the decoder's input is the labels shifted right, which is the model's job).

import type { Tokenizer } from '../tokenizers/index.js';
import { readRecords, stringField, type RecordFormat } from './records.js';

/** One source/target pair (target is undefined for unlabeled data). */
export interface Seq2SeqExample {
  source: string;
  target?: string;
  line: number;
}

export interface ReadSeq2SeqOptions {
  /** File name for error messages. Default '<input>'. */
  source?: string;
  /** 'jsonl' (default), 'csv' or 'tsv'. */
  format?: RecordFormat;
  /** Field of the source text (a dotted path is allowed). Default 'source'. */
  sourceField?: string;
  /** Field of the target text. Default 'target'. */
  targetField?: string;
  /** Rows without a target are an error. Default true. */
  requireTarget?: boolean;
  /** Text put before every source, as T5 expects ("translate English to German: "). Default ''. */
  prefix?: string;
}

/**
 * Read source/target rows. Example: `readSeq2Seq(text, { source: 'train.jsonl' })` → `[{ source: 'Das Haus…', target: 'The house…', line: 1 }]`.
 * Does not handle: several references per source (keep one row per reference).
 */
export function readSeq2Seq(text: string, options: ReadSeq2SeqOptions = {}): Seq2SeqExample[] {
  const file = options.source ?? '<input>';
  const sourceField = options.sourceField ?? 'source';
  const targetField = options.targetField ?? 'target';
  const prefix = options.prefix ?? '';
  return readRecords(text, { source: file, format: options.format }).map((row) => {
    const example: Seq2SeqExample = { source: prefix + (stringField(row, sourceField, file) as string), line: row.line };
    const target = stringField(row, targetField, file, !(options.requireTarget ?? true));
    if (target !== undefined) example.target = target;
    return example;
  });
}

/** One encoded pair: the encoder's ids and the decoder's target ids (empty when the example has no target). */
export interface Seq2SeqFeature {
  inputIds: Int32Array; // (S,) source tokens, e.g. "... </s>" for T5
  labels: Int32Array; // (L,) target tokens
  line: number;
}

export interface EncodeSeq2SeqOptions {
  /** Longest source, special tokens included. Default 1024. */
  maxSourceLength?: number;
  /** Longest target, special tokens included. Default 128. */
  maxTargetLength?: number;
  /** Tokenizer of the targets when it differs from the source's (two-vocabulary translation models). */
  targetTokenizer?: Tokenizer;
}

/**
 * Tokenize pairs (run_translation.py's preprocess_function). Example:
 * `encodeSeq2Seq(readSeq2Seq(text), tok, { maxSourceLength: 512, maxTargetLength: 128 })`.
 * Does not pad: pad inputs with the pad id and labels with -100 (padRows in batch.ts).
 */
export function encodeSeq2Seq(examples: readonly Seq2SeqExample[], tokenizer: Tokenizer, options: EncodeSeq2SeqOptions = {}): Seq2SeqFeature[] {
  const targetTok = options.targetTokenizer ?? tokenizer;
  const maxSource = options.maxSourceLength ?? 1024;
  const maxTarget = options.maxTargetLength ?? 128;
  return examples.map((ex) => ({
    inputIds: Int32Array.from(tokenizer.encode(ex.source, undefined, { maxLength: maxSource, truncation: true, padding: false }).ids),
    labels: ex.target === undefined ? new Int32Array(0) : Int32Array.from(targetTok.encode(ex.target, undefined, { maxLength: maxTarget, truncation: true, padding: false }).ids),
    line: ex.line,
  }));
}
