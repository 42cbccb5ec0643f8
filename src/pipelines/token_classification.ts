// token-classification (alias ner): a label per token, or entities grouped from them, as transformers'
// TokenClassificationPipeline (4.36), with character offsets into the text.
//
//   const ner = pipeline('token-classification', 'runs/conll');
//   ner('My name is Wolfgang and I live in Berlin')
//   // aggregation 'none' (default): one entry per token that is not "O"
//   //   [{ entity: 'B-PER', score: 0.99, index: 4, word: 'wolfgang', start: 11, end: 19 }, ...]
//   ner(text, { aggregation_strategy: 'simple' })
//   //   [{ entity_group: 'PER', score: 0.99, word: 'wolfgang', start: 11, end: 19 }, { entity_group: 'LOC', ... }]
//
// The steps (transformers' names):
//   1. pre-entities: every token that is not special, with its softmax scores, its text span, and whether it
//      continues the word before it (is_subword). WordPiece marks that itself: a "##son" piece is longer than
//      the text "son" it covers. Other tokenizers get transformers' heuristic: a token is a sub-word when no
//      space precedes it in the text. An unknown token ([UNK]) shows its text and always starts a word.
//   2. 'none' and 'simple': each token takes its best label. 'first', 'average', 'max': tokens are first
//      gathered into words and each word takes one label: its first token's ('first'), the best of the mean
//      scores ('average'), or the label of its single most confident token ('max').
//   3. 'simple', 'first', 'average', 'max' then group neighbours into entities: a token (or word) joins the
//      current group when it has the same type and is not a B- tag; a group's score is the mean of its members'
//      scores, its word the decoded tokens, its span from the first member's start to the last one's end.
//   4. Entries whose label (or group) is in ignore_labels (default ["O"]) are dropped.
// Texts longer than the model are cut to its length (the tokens past it get no label).

import { inBatches, softmaxRow, modelMaxLength, type EncoderModel } from './encoder.js';
import { encodedInput } from '../data/batch.js';
import type { Encoding, Tokenizer } from '../tokenizers/index.js';

export type AggregationStrategy = 'none' | 'simple' | 'first' | 'average' | 'max';

export interface TokenClassificationOptions {
  aggregation_strategy?: AggregationStrategy;
  /** Labels (or entity groups) left out of the result. Default ["O"]. */
  ignore_labels?: string[];
  /** Texts per forward pass. Default 8. */
  batch_size?: number;
}

/** One token (aggregation 'none'). */
export interface TokenEntity {
  entity: string;
  score: number;
  /** Position of the token in the model's input ([CLS] is 0). */
  index: number;
  word: string;
  start: number;
  end: number;
}

/** One entity (any other aggregation). */
export interface GroupedEntity {
  entity_group: string;
  score: number;
  word: string;
  start: number;
  end: number;
}

export type TokenClassificationResult = TokenEntity | GroupedEntity;

export type TokenClassificationPipeline = {
  (text: string, options?: TokenClassificationOptions): TokenClassificationResult[];
  (texts: string[], options?: TokenClassificationOptions): TokenClassificationResult[][];
};

/** A token before labels are chosen (transformers' "pre_entity"). */
export interface PreEntity {
  word: string; // the token as the vocabulary spells it ("##son", "Ġthe")
  id: number;
  scores: number[]; // softmax over the labels
  start: number;
  end: number;
  index: number;
  isSubword: boolean;
}

/** A token or word with its chosen label, before grouping. */
interface Labelled {
  entity: string;
  score: number;
  ids: number[]; // the tokens it covers (for decoding its text)
  start: number;
  end: number;
  index?: number;
}

/** The pipeline over a loaded token classifier (see pipeline() in index.ts). */
export function tokenClassificationPipeline(em: EncoderModel): TokenClassificationPipeline {
  const tok = em.requireTokenizer();
  const run = (input: string | string[], options: TokenClassificationOptions = {}) => {
    const texts = typeof input === 'string' ? [input] : input;
    const strategy = options.aggregation_strategy ?? 'none';
    if (!['none', 'simple', 'first', 'average', 'max'].includes(strategy)) {
      throw new Error(`token-classification: aggregation_strategy must be none, simple, first, average or max, got ${JSON.stringify(strategy)}`);
    }
    const ignore = new Set(options.ignore_labels ?? ['O']);
    const encodings = texts.map((t) => tok.encode(t, undefined, { maxLength: modelMaxLength(em.config), truncation: true, padding: false }));
    const results: TokenClassificationResult[][] = [];
    inBatches(em, encodings.map((e) => encodedInput(e)), options.batch_size ?? 8, (batch, out, first) => {
      const L = em.config.id2label.length;
      const logits = out.logits.toFloat32Array(); // (B, T, L)
      for (let b = 0; b < batch.size; b++) {
        const enc = encodings[first + b]!;
        const rowScores = (t: number) => softmaxRow(logits.subarray((b * batch.length + t) * L, (b * batch.length + t + 1) * L));
        const pre = preEntities(tok, texts[first + b]!, enc, rowScores);
        results.push(aggregateEntities(pre, strategy, em.config.id2label, tok).filter((e) => !ignore.has('entity' in e ? e.entity : e.entity_group)));
      }
    });
    return typeof input === 'string' ? results[0]! : results;
  };
  return run as TokenClassificationPipeline;
}

/** Step 1: the non-special tokens of one text with their scores, spans and sub-word flags. */
export function preEntities(tok: Tokenizer, text: string, enc: Encoding, scoresAt: (t: number) => number[]): PreEntity[] {
  const wordAware = tok.model.type === 'WordPiece';
  const unk = tok.tokenToId('[UNK]') ?? tok.tokenToId('<unk>');
  const out: PreEntity[] = [];
  for (let t = 0; t < enc.ids.length; t++) {
    if (enc.specialTokensMask[t] === 1) continue;
    const id = enc.ids[t]!;
    let word = tok.idToToken(id) ?? '';
    const [start, end] = enc.offsets[t]!;
    const ref = text.slice(start, end);
    let isSubword = wordAware ? word.length !== ref.length : start > 0 && !text.slice(start - 1, start + 1).includes(' ');
    if (id === unk) {
      word = ref;
      isSubword = false;
    }
    out.push({ word, id, scores: scoresAt(t), start, end, index: t, isSubword });
  }
  return out;
}

/** Steps 2 and 3 for one text. */
export function aggregateEntities(pre: readonly PreEntity[], strategy: AggregationStrategy, id2label: readonly string[], tok: Tokenizer): TokenClassificationResult[] {
  const best = (scores: readonly number[]): number => scores.reduce((bi, v, i) => (v > scores[bi]! ? i : bi), 0);
  if (strategy === 'none' || strategy === 'simple') {
    const tokens: Labelled[] = pre.map((p) => {
      const k = best(p.scores);
      return { entity: id2label[k]!, score: p.scores[k]!, ids: [p.id], start: p.start, end: p.end, index: p.index };
    });
    if (strategy === 'none') return tokens.map((e, i) => ({ entity: e.entity, score: e.score, index: e.index!, word: pre[i]!.word, start: e.start, end: e.end }));
    return groupEntities(tokens, tok);
  }
  // 'first' | 'average' | 'max': words first.
  const words: PreEntity[][] = [];
  for (const p of pre) {
    if (words.length > 0 && p.isSubword) words[words.length - 1]!.push(p);
    else words.push([p]);
  }
  const labelled = words.map((w): Labelled => {
    let scores: readonly number[];
    if (strategy === 'first') scores = w[0]!.scores;
    else if (strategy === 'max') scores = w.reduce((m, p) => (Math.max(...p.scores) > Math.max(...m.scores) ? p : m), w[0]!).scores;
    else scores = w[0]!.scores.map((_, k) => w.reduce((s, p) => s + p.scores[k]!, 0) / w.length);
    const k = best(scores);
    return { entity: id2label[k]!, score: scores[k]!, ids: w.map((p) => p.id), start: w[0]!.start, end: w[w.length - 1]!.end };
  });
  return groupEntities(labelled, tok);
}

/** B-X → ['B', 'X'], I-X → ['I', 'X'], anything else (O, PER) → ['I', itself]: transformers' get_tag. */
function tagOf(entity: string): [string, string] {
  if (entity.startsWith('B-')) return ['B', entity.slice(2)];
  if (entity.startsWith('I-')) return ['I', entity.slice(2)];
  return ['I', entity];
}

/** Step 3: neighbours of one type merge unless the newcomer is a B- tag. */
function groupEntities(items: readonly Labelled[], tok: Tokenizer): GroupedEntity[] {
  const groups: GroupedEntity[] = [];
  let current: Labelled[] = [];
  const close = () => {
    if (current.length === 0) return;
    const first = current[0]!;
    groups.push({
      entity_group: first.entity.includes('-') ? first.entity.slice(first.entity.indexOf('-') + 1) : first.entity, // B-PER → PER
      score: current.reduce((s, e) => s + e.score, 0) / current.length,
      word: tok.decode(current.flatMap((e) => e.ids)),
      start: first.start,
      end: current[current.length - 1]!.end,
    });
  };
  for (const e of items) {
    if (current.length > 0) {
      const [bi, tag] = tagOf(e.entity);
      const [, lastTag] = tagOf(current[current.length - 1]!.entity);
      if (!(tag === lastTag && bi !== 'B')) {
        close();
        current = [];
      }
    }
    current.push(e);
  }
  close();
  return groups;
}
