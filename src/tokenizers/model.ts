// The model step of a tokenizer pipeline: one pre-tokenized word in, its tokens out.
//
// Three models are supported, behind one small interface so that the Tokenizer class does not care which:
//   - WordPiece (BERT), in wordpiece.ts;
//   - byte-level BPE (GPT-2 family), in bpe.ts, wrapped here by ByteLevelBPEModel;
//   - Unigram (SentencePiece: T5, Marian, ALBERT, ...), in unigram.ts.
// All report, per token, its [start, end) inside the word in UTF-16 code units.

import { ByteLevelBPE, type BPEModelJSON } from './bpe.js';
import type { UnigramModelJSON } from './unigram.js';
import type { ModelToken, WordPieceModelJSON } from './wordpiece.js';

export type { ModelToken } from './wordpiece.js';

/** What the Tokenizer needs from a model. */
export interface TokenizerModel {
  readonly type: 'WordPiece' | 'BPE' | 'Unigram';
  /** Tokens of one word; offsets are UTF-16 positions inside `word`. */
  tokenize(word: string): readonly ModelToken[];
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Number of distinct tokens in the model's vocabulary. */
  readonly vocabSize: number;
  getVocab(): Map<string, number>;
  toJSON(): WordPieceModelJSON | BPEModelJSON | UnigramModelJSON;
}

const NO_SPECIALS = { disallowedSpecial: new Set<string>() };

/**
 * Byte-level BPE as a pipeline model. The word is given as real text (" hello"), and ByteLevelBPE does the
 * byte mapping and merges. Special tokens never reach it: the Tokenizer splits them off first, so any
 * "<|endoftext|>" that arrives here is plain text.
 * Example: `new ByteLevelBPEModel(gpt2()).tokenize(' world')` gives one token "Ġworld" (0..6).
 */
export class ByteLevelBPEModel implements TokenizerModel {
  readonly type = 'BPE' as const;
  readonly vocabSize: number;
  constructor(readonly bpe: ByteLevelBPE) {
    this.vocabSize = this.getVocab().size;
  }

  tokenize(word: string): ModelToken[] {
    const { ids, offsets } = this.bpe.encodeWithOffsets(word, NO_SPECIALS);
    return ids.map((id, i) => ({ id, value: this.bpe.idToToken(id) as string, start: offsets[i][0], end: offsets[i][1] }));
  }
  tokenToId(token: string): number | undefined {
    return this.bpe.tokenToId(token);
  }
  idToToken(id: number): string | undefined {
    return this.bpe.idToToken(id);
  }
  getVocab(): Map<string, number> {
    const v = new Map(this.bpe.vocab);
    for (const [token, id] of this.bpe.specialTokens) if (!v.has(token)) v.set(token, id);
    return v;
  }
  toJSON(): BPEModelJSON {
    return this.bpe.toModelJSON();
  }
}
