// The tokenizer that belongs to a model folder: its tokenizer.json; or GPT-2's built-in one when the folder
// ships GPT-2's vocab.json + merges.txt; or the one named by --tokenizer (a path or "gpt2").
import { existsSync, readFileSync } from 'node:fs';
import { Tokenizer } from '../src/tokenizers/index.js';
import { ByteLevelBPE } from '../src/tokenizers/bpe.js';
import type { PretrainedGPT } from '../src/models/pretrained.js';
import { UsageError } from './args.js';

export function loadTokenizerFor(loaded: PretrainedGPT, override?: string): Tokenizer | null {
  if (override === 'gpt2') return Tokenizer.gpt2();
  if (override) {
    if (!existsSync(override)) throw new UsageError(`tokenizer not found: ${override}`);
    return Tokenizer.fromJSON(readFileSync(override, 'utf8'));
  }
  if (loaded.tokenizerJson !== null) return Tokenizer.fromJSON(loaded.tokenizerJson);
  if (loaded.vocabMerges !== null) {
    return Tokenizer.fromByteLevelBPE(ByteLevelBPE.fromVocabMerges(loaded.vocabMerges.vocab, loaded.vocabMerges.merges));
  }
  return null;
}
