// One entry point to train any kind of tokenizer from text, returning a ready Tokenizer.
//
//   const tok = await trainTokenizer(lines, { type: 'wordpiece', vocabSize: 8000 });
//   const gpt = await trainTokenizer(lines, { type: 'bpe', vocabSize: 8000, specialTokens: ['<|endoftext|>'] });
//   const t5 = await trainTokenizer(lines, { type: 'unigram', vocabSize: 8000, specialTokens: ['<pad>', '</s>', '<unk>'] });
//
// 'bpe' is byte-level BPE (GPT-2 style; bpe_trainer.ts), wrapped in GPT-2's pipeline. 'wordpiece' is BERT style
// (wordpiece_trainer.ts) with BERT's normalizer, pre-tokenizer and [CLS] A [SEP] template. 'unigram' is
// SentencePiece style (unigram_trainer.ts): Nmt + NFKC, Metaspace "▁" word marks, a Unigram model. All reach
// vocabSize exactly or throw an error that says what the corpus allows. Browser-safe; node.ts adds training
// from files.

import { BPETrainer } from './bpe_trainer.js';
import { Tokenizer } from './tokenizer.js';
import { UnigramTrainer } from './unigram_trainer.js';
import { WordPieceTrainer } from './wordpiece_trainer.js';

/** Options shared by both trainers (each trainer's own file lists its extra options). */
export interface TrainTokenizerOptions {
  /** 'bpe' (byte-level, GPT-2 style; default), 'wordpiece' (BERT style) or 'unigram' (SentencePiece style). */
  type?: 'bpe' | 'wordpiece' | 'unigram';
  /** Exact size of the vocabulary, special tokens included. */
  vocabSize: number;
  /** BPE and WordPiece: a pair must occur at least this often to be merged. Default 2. */
  minFrequency?: number;
  /**
   * Special tokens, given the first ids. Defaults: none for 'bpe';
   * [PAD] [UNK] [CLS] [SEP] [MASK] for 'wordpiece' (which always needs its [UNK]); <unk> for 'unigram'.
   */
  specialTokens?: readonly string[];
  /** WordPiece only: lowercase and strip accents (BERT "uncased"). Default true. */
  lowercase?: boolean;
  /** WordPiece only: 'frequency' (default) or 'likelihood'; see wordpiece_trainer.ts. */
  criterion?: 'frequency' | 'likelihood';
  /** WordPiece only: keep only the N most frequent characters in the alphabet. */
  limitAlphabet?: number;
  /** Progress: 'count' while reading (done = characters so far) and 'merge' (done of total merges; EM rounds for unigram). */
  onProgress?: (p: { phase: 'count' | 'merge'; done: number; total: number }) => void;
}

/** Something that consumes texts and produces a Tokenizer: both trainers, behind one shape. */
export interface TextTrainer {
  feed(text: string): void;
  finish(): Tokenizer;
}

/** A trainer object for `options` (use it to stream texts in yourself). */
export function createTrainer(options: TrainTokenizerOptions): TextTrainer {
  const type = options.type ?? 'bpe';
  if (type === 'wordpiece') {
    return new WordPieceTrainer({
      vocabSize: options.vocabSize,
      minFrequency: options.minFrequency,
      specialTokens: options.specialTokens,
      lowercase: options.lowercase,
      criterion: options.criterion,
      limitAlphabet: options.limitAlphabet,
      onProgress: options.onProgress,
    });
  }
  if (type === 'unigram') {
    if (options.minFrequency !== undefined) {
      throw new Error('trainTokenizer: minFrequency is a BPE/WordPiece option; a Unigram vocabulary is pruned by likelihood, not by counts');
    }
    if (options.limitAlphabet !== undefined) {
      throw new Error('trainTokenizer: limitAlphabet is a WordPiece option; a Unigram vocabulary keeps every character of the corpus');
    }
    return new UnigramTrainer({ vocabSize: options.vocabSize, specialTokens: options.specialTokens, onProgress: options.onProgress });
  }
  if (options.limitAlphabet !== undefined) {
    throw new Error('trainTokenizer: limitAlphabet is a WordPiece option; byte-level BPE always has the 256 bytes as its alphabet');
  }
  if (type !== 'bpe') throw new Error(`trainTokenizer: type must be 'bpe', 'wordpiece' or 'unigram', got ${JSON.stringify(type)}`);
  const bpe = new BPETrainer({
    vocabSize: options.vocabSize,
    minFrequency: options.minFrequency,
    specialTokens: options.specialTokens,
    onProgress: options.onProgress,
  });
  return {
    feed: (text) => bpe.feed(text),
    finish: () => Tokenizer.fromByteLevelBPE(bpe.finish()),
  };
}

/**
 * Train a tokenizer from texts (an array, or any iterable / async iterable of strings such as lines).
 * Example: `await trainTokenizer(['hello world', 'hello there'], { type: 'wordpiece', vocabSize: 40, minFrequency: 1 })`.
 */
export async function trainTokenizer(input: Iterable<string> | AsyncIterable<string>, options: TrainTokenizerOptions): Promise<Tokenizer> {
  const trainer = createTrainer(options);
  for await (const text of input) trainer.feed(text);
  return trainer.finish();
}
