// Token classification data (named entities, part of speech): sentences as lists of words with one tag per
// word, read from CoNLL columns or JSON Lines, then aligned to the sub-word tokens a model sees.
//
//   train.conll   -DOCSTART- -X- -X- O       (skipped)
//                                            (blank line: sentence boundary)
//                 EU NNP B-NP B-ORG          token in the first column, tag in the last
//                 rejects VBZ B-VP O
//   train.jsonl   {"tokens": ["EU", "rejects"], "tags": ["B-ORG", "O"]}
//
// Alignment (Hugging Face's run_ner.py `tokenize_and_align_labels`): the words are joined with spaces and
// tokenized; each token is mapped back to its word through its character offsets. The first piece of a word
// carries the word's label, the other pieces -100 (ignored by the loss), as do special tokens:
//
//   words    Johanson      lives   in   Ramat-Gan
//   tags     B-PER         O       O    B-LOC
//   tokens   [CLS] johan ##son lives in ram ##at - gan [SEP]
//   labels   -100  B-PER -100  O     O  B-LOC -100 -100 -100 -100
//
// With labelAllTokens every piece gets its word's label, except that a continuation piece of a B-X word gets
// I-X (when I-X is a known label), so each entity still has exactly one B- token.
//
// Does not handle: byte-level BPE without a prefix space gives the first word no leading "Ġ" (HF's
// is_split_into_words adds one with add_prefix_space=True); words containing line breaks.

import type { Tokenizer } from '../tokenizers/index.js';
import { encodedInput, type EncodedInput } from './batch.js';
import { DataError, describeValue } from './errors.js';
import { buildLabelMap, labelId, type LabelMap } from './labels.js';
import { fieldHint, lookup, readRecords } from './records.js';

/** One sentence: its words and their tags (tags is empty for unlabeled data). */
export interface TokenClassificationExample {
  tokens: string[];
  tags: string[];
  /** 1-based line of the sentence's first word (CoNLL) or of its row (JSONL). */
  line: number;
}

export interface ReadConllOptions {
  /** File name for error messages. Default '<input>'. */
  source?: string;
  /** Every word line has a tag column (at least two columns). Default true; false reads words alone. */
  requireTags?: boolean;
}

/**
 * Read CoNLL-style columns: one word per line, columns separated by spaces or tabs, the word first and the tag
 * last; a blank line ends a sentence; `-DOCSTART-` lines are skipped. Every word line must have as many
 * columns as the first one. Example: `parseConll('EU B-ORG\nrejects O\n\nGerman B-MISC\n')` → two sentences.
 * Does not handle: words that contain spaces; comment lines (`# ...` as in CoNLL-U).
 */
export function parseConll(text: string, options: ReadConllOptions = {}): TokenClassificationExample[] {
  const source = options.source ?? '<input>';
  const requireTags = options.requireTags ?? true;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: TokenClassificationExample[] = [];
  let current: TokenClassificationExample | null = null;
  let columns = 0; // columns of the first word line: every word line must match
  let columnsLine = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const cells = lines[i].trim().split(/\s+/);
    if (cells[0] === '') {
      if (current) out.push(current);
      current = null;
      continue;
    }
    if (cells[0] === '-DOCSTART-') {
      if (current) out.push(current);
      current = null;
      continue;
    }
    if (columns === 0) {
      columns = cells.length;
      columnsLine = lineNo;
      if (requireTags && columns < 2) {
        throw new DataError(source, lineNo, `expected a word and a tag (at least 2 columns), got 1 column: ${JSON.stringify(lines[i].trim())}`);
      }
    } else if (cells.length !== columns) {
      throw new DataError(source, lineNo, `expected ${columns} columns as on line ${columnsLine}, got ${cells.length}: ${JSON.stringify(lines[i].trim())}`);
    }
    current ??= { tokens: [], tags: [], line: lineNo };
    current.tokens.push(cells[0]);
    if (columns >= 2) current.tags.push(cells[cells.length - 1]);
  }
  if (current) out.push(current);
  return out;
}

export interface ReadTokenTagsOptions {
  /** File name for error messages. Default '<input>'. */
  source?: string;
  /** Field of the word list. Default 'tokens'. */
  tokensField?: string;
  /** Field of the tag list. Default 'tags' (Hugging Face's conll2003 calls it 'ner_tags'). */
  tagsField?: string;
  /** Names of numeric tags: tag k is tagNames[k] (a dataset's `features['ner_tags'].names`). */
  tagNames?: readonly string[];
  /** Rows without tags are an error. Default true. */
  requireTags?: boolean;
}

/**
 * Read JSON Lines of `{tokens: [...], tags: [...]}`; both lists must have the same length. Tags may be
 * strings, or numbers (turned into names with `tagNames`, else kept as "3").
 * Example: `readTokenTagsJsonl('{"tokens":["EU"],"tags":["B-ORG"]}')` → `[{ tokens: ['EU'], tags: ['B-ORG'], line: 1 }]`.
 */
export function readTokenTagsJsonl(text: string, options: ReadTokenTagsOptions = {}): TokenClassificationExample[] {
  const source = options.source ?? '<input>';
  const tokensField = options.tokensField ?? 'tokens';
  const tagsField = options.tagsField ?? 'tags';
  const requireTags = options.requireTags ?? true;
  return readRecords(text, { source, format: 'jsonl' }).map((row) => {
    const tokens = lookup(row.record, tokensField);
    if (tokens === undefined) throw new DataError(source, row.line, `field ${JSON.stringify(tokensField)} is missing${fieldHint(row.record)}`);
    if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) {
      throw new DataError(source, row.line, `field ${JSON.stringify(tokensField)} must be a list of strings, got ${describeValue(tokens)}`);
    }
    const rawTags = lookup(row.record, tagsField);
    if (rawTags === undefined || rawTags === null) {
      if (requireTags) throw new DataError(source, row.line, `field ${JSON.stringify(tagsField)} is missing${fieldHint(row.record)}`);
      return { tokens: tokens as string[], tags: [], line: row.line };
    }
    if (!Array.isArray(rawTags)) throw new DataError(source, row.line, `field ${JSON.stringify(tagsField)} must be a list, got ${describeValue(rawTags)}`);
    if (rawTags.length !== tokens.length) {
      throw new DataError(source, row.line, `field ${JSON.stringify(tokensField)} has ${tokens.length} words but ${JSON.stringify(tagsField)} has ${rawTags.length} tags`);
    }
    const tags = rawTags.map((t, k) => {
      if (typeof t === 'string') return t;
      if (typeof t === 'number' && Number.isInteger(t)) {
        if (!options.tagNames) return String(t);
        const name = options.tagNames[t];
        if (name === undefined) throw new DataError(source, row.line, `tag ${t} (word ${k + 1}) has no name: tagNames has ${options.tagNames.length} entries`);
        return name;
      }
      throw new DataError(source, row.line, `tag ${k + 1} in ${JSON.stringify(tagsField)} must be a string or an integer, got ${describeValue(t)}`);
    });
    return { tokens: tokens as string[], tags, line: row.line };
  });
}

/** The tag map of a training set: every tag that occurs, sorted (see labels.ts). */
export function tagMapFromExamples(examples: ReadonlyArray<{ tags: readonly string[] }>): LabelMap {
  return buildLabelMap(examples.flatMap((e) => e.tags));
}

/** One encoded sentence. */
export interface TokenClassificationFeature extends EncodedInput {
  /** (T,) tag id per token, -100 where the loss should not look (special tokens, continuation pieces). */
  labels: Int32Array;
  /** (T,) the word each token came from (index into the example's tokens), -1 for special tokens. */
  wordIds: Int32Array;
  line: number;
}

export interface EncodeTokenClassificationOptions {
  /** Tag ↔ id (tagMapFromExamples on the training set, or a model's id2label). */
  labels: LabelMap;
  /** Longest encoding (special tokens included); words past it are cut off. Default: no limit. */
  maxLength?: number;
  /** Label every piece of a word (continuations of B-X get I-X). Default false: first piece only. */
  labelAllTokens?: boolean;
  /** File name for the unknown-tag error. Default '<input>'. */
  source?: string;
}

/**
 * Tokenize sentences and align word tags to sub-word tokens (see the top of this file).
 * Example: `encodeTokenClassification(sentences, tok, { labels: tagMapFromExamples(train), maxLength: 128 })`.
 * Unlabeled sentences (tags = []) get labels -100 everywhere but still carry wordIds for prediction.
 */
export function encodeTokenClassification(
  examples: readonly TokenClassificationExample[],
  tokenizer: Tokenizer,
  options: EncodeTokenClassificationOptions,
): TokenClassificationFeature[] {
  const source = options.source ?? '<input>';
  const bToI = beginToInside(options.labels);
  return examples.map((ex) => {
    // The words joined by single spaces; word w covers characters [starts[w], ends[w]).
    const starts: number[] = [];
    const ends: number[] = [];
    let text = '';
    ex.tokens.forEach((word, w) => {
      if (w > 0) text += ' ';
      starts.push(text.length);
      text += word;
      ends.push(text.length);
    });
    const tagIds = ex.tags.map((t) => labelId(options.labels, t, source, ex.line));
    const enc = tokenizer.encode(text, undefined, {
      maxLength: options.maxLength,
      truncation: options.maxLength !== undefined,
      padding: false,
    });
    const T = enc.ids.length;
    const labels = new Int32Array(T).fill(-100);
    const wordIds = new Int32Array(T).fill(-1);
    let previous = -1;
    for (let i = 0; i < T; i++) {
      if (enc.specialTokensMask[i] === 1 || enc.sequenceIds[i] === null) continue;
      const w = wordOfSpan(starts, ends, enc.offsets[i][0], enc.offsets[i][1]);
      if (w < 0) continue;
      wordIds[i] = w;
      if (tagIds.length > 0) {
        if (w !== previous) labels[i] = tagIds[w];
        else if (options.labelAllTokens) labels[i] = bToI[tagIds[w]];
      }
      previous = w;
    }
    return { ...encodedInput(enc), labels, wordIds, line: ex.line };
  });
}

/**
 * The word whose characters [starts[w], ends[w]) overlap the token's [s, e) (an empty token span counts when it
 * sits inside the word); -1 when none does. Binary search: words are in order and do not overlap.
 */
function wordOfSpan(starts: readonly number[], ends: readonly number[], s: number, e: number): number {
  let lo = 0;
  let hi = ends.length; // first word with ends[w] > s
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ends[mid] > s) hi = mid;
    else lo = mid + 1;
  }
  if (lo === ends.length) return -1;
  const overlaps = e > s ? starts[lo] < e : starts[lo] <= s;
  return overlaps ? lo : -1;
}

/** id → id: B-X maps to I-X when I-X is a label, every other label to itself (run_ner.py's b_to_i_label). */
export function beginToInside(labels: LabelMap): Int32Array {
  const out = new Int32Array(labels.id2label.length);
  labels.id2label.forEach((name, id) => {
    const inside = name.startsWith('B-') ? labels.label2id.get('I-' + name.slice(2)) : undefined;
    out[id] = inside ?? id;
  });
  return out;
}

/**
 * Per-word predictions from per-token ones: each word takes the prediction of its first token; words cut off by
 * truncation get -1. Example: `wordPredictions(feature, argmaxPerToken, sentence.tokens.length)`.
 */
export function wordPredictions(feature: Pick<TokenClassificationFeature, 'wordIds'>, tokenPredictions: ArrayLike<number>, numWords: number): Int32Array {
  const out = new Int32Array(numWords).fill(-1);
  for (let i = 0; i < feature.wordIds.length; i++) {
    const w = feature.wordIds[i];
    if (w >= 0 && out[w] === -1) out[w] = tokenPredictions[i];
  }
  return out;
}
