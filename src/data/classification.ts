// Text classification data: read rows of text (and an optional second text) with a label, then encode them
// for a BERT-style classifier.
//
//   train.jsonl   {"text": "a gripping film", "label": "pos"}
//                 {"text": "The cat sat.", "text_pair": "A cat was sitting.", "label": "entailment"}
//   train.csv     text,label
//                 "a gripping film",pos
//   multi-label   {"text": "...", "labels": ["sports", "politics"]}   or a CSV cell "sports|politics"
//
// → examples  { text, textPair?, labels: ['pos'], line }
// → label map built from the training examples (sorted; labels.ts), or given (a fine-tuned model's id2label)
// → features  { inputIds, typeIds, attentionMask, label: 1 }   ([CLS] text [SEP] pair [SEP], cut to maxLength)
//
// Multi-label examples get a multi-hot target (`multiHot[k] = 1` for each label k) for a sigmoid/BCE head, as
// Hugging Face's problem_type "multi_label_classification" expects.

import type { Tokenizer } from '../tokenizers/index.js';
import { encodedInput, type EncodedInput } from './batch.js';
import { DataError, describeValue } from './errors.js';
import { buildLabelMap, labelId, type LabelMap } from './labels.js';
import { fieldHint, lookup, readRecords, stringField, type RecordFormat } from './records.js';

/** One classification example. `labels` has exactly one entry for single-label data (none when unlabeled). */
export interface TextClassificationExample {
  text: string;
  textPair?: string;
  labels: string[];
  /** 1-based line in the source file (for error messages further along). */
  line: number;
}

export interface ReadTextClassificationOptions {
  /** File name for error messages. Default '<input>'. */
  source?: string;
  /** 'jsonl' (default), 'csv' or 'tsv'. */
  format?: RecordFormat;
  /** Field of the text. Default 'text'. */
  textField?: string;
  /** Field of the second text of a pair. Default 'text_pair', read when a row has it; naming it makes it required. */
  textPairField?: string;
  /** Field of the label (or labels). Default 'label'. */
  labelField?: string;
  /** Each row has a list of labels: a JSON array, or a string split at `labelSeparator`. Default false. */
  multiLabel?: boolean;
  /** Separator of labels in one string (multi-label). Default '|'. */
  labelSeparator?: string;
  /** Rows without a label are an error. Default true; false reads unlabeled data (for prediction). */
  requireLabel?: boolean;
}

/**
 * Read text classification rows. Example:
 * `readTextClassification(text, { source: 'train.jsonl' })` → `[{ text: 'a gripping film', labels: ['pos'], line: 1 }, ...]`.
 * Labels may be strings or numbers (1 and "1" are the same label). Does not handle: more than two texts per row.
 */
export function readTextClassification(text: string, options: ReadTextClassificationOptions = {}): TextClassificationExample[] {
  const source = options.source ?? '<input>';
  const textField = options.textField ?? 'text';
  const pairField = options.textPairField ?? 'text_pair';
  const pairRequired = options.textPairField !== undefined;
  const labelField = options.labelField ?? 'label';
  const separator = options.labelSeparator ?? '|';
  const requireLabel = options.requireLabel ?? true;
  return readRecords(text, { source, format: options.format }).map((row) => {
    const example: TextClassificationExample = {
      text: stringField(row, textField, source) as string,
      labels: [],
      line: row.line,
    };
    const pair = stringField(row, pairField, source, !pairRequired);
    // An empty optional pair (a blank CSV cell) means "no second text".
    if (pair !== undefined && (pair !== '' || pairRequired)) example.textPair = pair;

    const raw = lookup(row.record, labelField);
    const absent = raw === undefined || raw === null || (raw === '' && !options.multiLabel);
    if (absent) {
      if (requireLabel) {
        const why = raw === '' ? 'is empty' : 'is missing';
        throw new DataError(source, row.line, `field ${JSON.stringify(labelField)} ${why}${raw === undefined ? fieldHint(row.record) : ''}`);
      }
      return example;
    }
    example.labels = options.multiLabel ? parseLabelList(raw, separator, labelField, source, row.line) : [parseOneLabel(raw, labelField, source, row.line)];
    return example;
  });
}

function parseOneLabel(value: unknown, field: string, source: string, line: number): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  const hint = Array.isArray(value) ? ' (a list of labels needs multiLabel: true)' : '';
  throw new DataError(source, line, `field ${JSON.stringify(field)} must be a string or a number, got ${describeValue(value)}${hint}`);
}

function parseLabelList(value: unknown, separator: string, field: string, source: string, line: number): string[] {
  let parts: string[];
  if (Array.isArray(value)) parts = value.map((v) => parseOneLabel(v, field, source, line));
  else if (typeof value === 'string') parts = value.split(separator).map((s) => s.trim()).filter((s) => s !== '');
  else if (typeof value === 'number') parts = [parseOneLabel(value, field, source, line)];
  else throw new DataError(source, line, `field ${JSON.stringify(field)} must be a list of labels or a "${separator}"-separated string, got ${describeValue(value)}`);
  return [...new Set(parts)];
}

/** The label map of a training set: every label that occurs, sorted (see labels.ts). */
export function labelMapFromExamples(examples: ReadonlyArray<{ labels: readonly string[] }>): LabelMap {
  return buildLabelMap(examples.flatMap((e) => e.labels));
}

/** One encoded example. */
export interface TextClassificationFeature extends EncodedInput {
  /** Class id (single-label); -100 when the example has no label or the data is multi-label. */
  label: number;
  /** Multi-label target: 1 for each of the example's labels, 0 elsewhere, length = number of labels; else null. */
  multiHot: Float32Array | null;
  line: number;
}

export interface EncodeTextClassificationOptions {
  /** Longest encoding, special tokens included; longer texts are cut ('longest_first' for pairs). */
  maxLength: number;
  /** Label ↔ id (from labelMapFromExamples on the training set, or a model's id2label). */
  labels: LabelMap;
  /** Multi-hot targets instead of one class id. Default false. */
  multiLabel?: boolean;
  /** File name for the unknown-label error. Default '<input>'. */
  source?: string;
}

/**
 * Tokenize examples and turn labels into ids. An example whose label is not in `labels` is an error naming the
 * file, line, label and the known labels. Example:
 * `encodeTextClassification(examples, tok, { maxLength: 128, labels: labelMapFromExamples(train) })`.
 * Does not pad (collateInputs in batch.ts pads a batch to its longest row).
 */
export function encodeTextClassification(
  examples: readonly TextClassificationExample[],
  tokenizer: Tokenizer,
  options: EncodeTextClassificationOptions,
): TextClassificationFeature[] {
  const source = options.source ?? '<input>';
  const numLabels = options.labels.id2label.length;
  if (!options.multiLabel && numLabels < 1) throw new Error('encodeTextClassification: the label map is empty');
  return examples.map((ex) => {
    const enc = tokenizer.encode(ex.text, ex.textPair, { maxLength: options.maxLength, truncation: true, padding: false });
    const feature: TextClassificationFeature = { ...encodedInput(enc), label: -100, multiHot: null, line: ex.line };
    if (options.multiLabel) {
      feature.multiHot = new Float32Array(numLabels);
      for (const l of ex.labels) feature.multiHot[labelId(options.labels, l, source, ex.line)] = 1;
    } else if (ex.labels.length > 0) {
      if (ex.labels.length > 1) throw new DataError(source, ex.line, `has ${ex.labels.length} labels (${ex.labels.join(', ')}); single-label data needs exactly one`);
      feature.label = labelId(options.labels, ex.labels[0], source, ex.line);
    }
    return feature;
  });
}
