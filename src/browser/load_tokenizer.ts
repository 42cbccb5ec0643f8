// A tokenizer from a URL or picked files, for the browser (Node reads folders with src/tokenizers/node.ts).
// Kept apart from load.ts so the tokenizers-only bundle does not pull in the tensor engine.

import { Tokenizer } from '../tokenizers/index.js';
import { ByteLevelBPE } from '../tokenizers/bpe.js';
import { openFolder, type FolderOptions, type FolderSource } from './folder.js';

/**
 * A folder's tokenizer: tokenizer.json, else GPT-2's vocab.json + merges.txt.
 * Example: `const tok = await loadTokenizer('/models/shakespeare/')`.
 * Does not handle: vocab.txt (WordPiece) and spiece.model folders (load those on Node, or pass tokenizer.json).
 */
export async function loadTokenizer(source: FolderSource, opts: FolderOptions = {}): Promise<Tokenizer> {
  const folder = openFolder(source, opts);
  const text = await folder.text('tokenizer.json');
  if (text !== null) {
    try {
      return Tokenizer.fromJSON(text);
    } catch (e) {
      throw new Error(`${folder.where}tokenizer.json: ${(e as Error).message}`);
    }
  }
  const [vocab, merges] = await Promise.all([folder.text('vocab.json'), folder.text('merges.txt')]);
  if (vocab !== null && merges !== null) return Tokenizer.fromByteLevelBPE(ByteLevelBPE.fromVocabMerges(vocab, merges));
  throw new Error(`${folder.where}: no tokenizer.json (nor vocab.json + merges.txt)`);
}
