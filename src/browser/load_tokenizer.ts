// A tokenizer from a URL or picked files, for the browser (Node reads folders with src/tokenizers/node.ts).
// Kept apart from load.ts so the tokenizers-only bundle does not pull in the tensor engine.
//
// The files are those Node's loadTokenizerFromFolder reads, in its order: tokenizer.json; else vocab.json +
// merges.txt (GPT-2 / RoBERTa) or vocab.txt (BERT) with tokenizer_config.json, special_tokens_map.json and
// added_tokens.json; else a SentencePiece model (spiece.model, sentencepiece.bpe.model, tokenizer.model).
// A file the folder lacks is one 404, remembered in the Cache API like any download.

import { Tokenizer } from '../tokenizers/index.js';
import { TOKENIZER_FOLDER_FILES, tokenizerFromFolderFiles } from '../tokenizers/legacy_files.js';
import { tokenizerFromSentencePiece } from '../tokenizers/sentencepiece_model.js';
import { parseJson } from '../io/json.js';
import { openFolder, type Folder, type FolderOptions, type FolderSource } from './folder.js';

/** SentencePiece model files, in the order Node looks for them (T5, XLM-R / mBART, Llama). */
const SENTENCEPIECE_FILES = ['spiece.model', 'sentencepiece.bpe.model', 'tokenizer.model'];

/**
 * The tokenizer of an open folder, or null when it has none of the files above. Errors name the file.
 * Example: `const tok = await folderTokenizer(openFolder('/models/bert/'))`.
 */
export async function folderTokenizer(folder: Folder): Promise<Tokenizer | null> {
  const tokenizerJson = await folder.text('tokenizer.json');
  if (tokenizerJson !== null) {
    try {
      return Tokenizer.fromJSON(tokenizerJson);
    } catch (e) {
      throw new Error(`${folder.where}tokenizer.json: ${(e as Error).message}`);
    }
  }
  const names = TOKENIZER_FOLDER_FILES.filter((n) => n !== 'tokenizer.json');
  const texts = new Map<string, string | null>(await Promise.all(names.map(async (n) => [n, await folder.text(n)] as const)));
  const path = (name: string): string => `${folder.where}${name}`;
  const fromFiles = tokenizerFromFolderFiles({
    text: (name) => texts.get(name) ?? null,
    json: (name) => {
      const text = texts.get(name) ?? null;
      return text === null ? null : parseJson(text, `${path(name)} (tokenizer config)`);
    },
    path,
  });
  if (fromFiles) return fromFiles;
  for (const name of SENTENCEPIECE_FILES) {
    const bytes = await folder.bytes(name);
    if (bytes === null) continue;
    const config = texts.get('tokenizer_config.json');
    const cls = config ? (parseJson(config, path('tokenizer_config.json')) as { tokenizer_class?: unknown }).tokenizer_class : undefined;
    const t5 = typeof cls === 'string' && /^(T5|MT5|UMT5)/i.test(cls); // T5 puts </s> after the text
    return tokenizerFromSentencePiece(bytes, { addEos: t5, what: path(name) });
  }
  return null;
}

/**
 * A folder's tokenizer (see the top of this file). Example: `const tok = await loadTokenizer('/models/shakespeare/')`.
 * Does not handle: Marian's source.spm + vocab.json (convert the folder to tokenizer.json with transformers).
 */
export async function loadTokenizer(source: FolderSource, opts: FolderOptions = {}): Promise<Tokenizer> {
  const folder = openFolder(source, opts);
  const tok = await folderTokenizer(folder);
  if (tok === null) {
    throw new Error(`${folder.where}: no tokenizer.json (nor vocab.json + merges.txt, vocab.txt, or a SentencePiece model: ${SENTENCEPIECE_FILES.join(', ')})`);
  }
  return tok;
}
