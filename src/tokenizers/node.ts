// Node-only helpers for tokenizers: load from and save to files, and train from files.
//
// The tokenizer core (index.ts and everything it imports) never touches the file system, so it runs in a
// browser. Everything that needs node:fs lives here and in node_files.ts. Import this file only in Node:
//
//   import { loadTokenizer, saveTokenizer, trainTokenizerFromFiles } from 'attn/dist/src/tokenizers/node.js';
//
//   const tok = await loadTokenizer('bert/tokenizer.json');   // or a folder, a vocab.txt, a .model, or 'gpt2'
//   const t5 = await loadTokenizerFromFolder('models/t5-small'); // tokenizer.json, else the older files
//   const mt = await loadTokenizerFromFolder('models/opus-mt-en-de'); // source.spm + target.spm + vocab.json
//   await saveTokenizer(tok, 'out/tokenizer.json');           // written to a temp file, then renamed

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readTextChunks, type FileReadReport } from './node_files.js';
import { addTokensFromJSON, bertFromVocabTxt, byteLevelFromVocabMerges, type TokenizerConfig } from './legacy_files.js';
import { marianTokenizer } from './marian.js';
import { tokenizerFromSentencePiece } from './sentencepiece_model.js';
import { Tokenizer } from './tokenizer.js';
import { createTrainer, type TrainTokenizerOptions } from './train.js';

export type { FileReadReport } from './node_files.js';

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${what}: file not found: ${path}`);
    throw new Error(`${what}: cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Read and parse a JSON file of a model folder, or undefined when the folder does not have it. */
async function readJsonIfThere(path: string): Promise<TokenizerConfig | undefined> {
  if (!(await exists(path))) return undefined;
  const text = await readText(path, 'loadTokenizerFromFolder');
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as TokenizerConfig;
  } catch (e) {
    throw new Error(`loadTokenizerFromFolder: ${path} is not a valid JSON object: ${(e as Error).message}`);
  }
}

/** SentencePiece model files, in the order we look for them (T5, XLM-R / mBART, Llama). */
const SENTENCEPIECE_FILES = ['spiece.model', 'sentencepiece.bpe.model', 'tokenizer.model'];

/**
 * Load the tokenizer of a model folder. tokenizer.json wins when present; otherwise the files older models
 * ship, read as transformers' converters read them:
 *   - vocab.json + merges.txt      GPT-2 or RoBERTa byte-level BPE (see legacy_files.ts);
 *   - vocab.txt                    BERT WordPiece;
 *   - spiece.model, sentencepiece.bpe.model or tokenizer.model   a SentencePiece unigram model (T5 gets its
 *                                  "</s>" after the text when tokenizer_config.json names T5Tokenizer);
 *   - source.spm + target.spm + vocab.json   a Marian (opus-mt) folder: source.spm's pieces numbered by
 *                                  vocab.json, as transformers' MarianTokenizer does (marian.ts);
 * with tokenizer_config.json / special_tokens_map.json (lowercasing, prefix space, special tokens) and
 * added_tokens.json applied.
 * Example: `const tok = await loadTokenizerFromFolder('models/bert-base-cased')`.
 */
export async function loadTokenizerFromFolder(dir: string): Promise<Tokenizer> {
  const file = (name: string): string => join(dir, name);
  if (await exists(file('tokenizer.json'))) {
    try {
      return Tokenizer.fromJSON(await readText(file('tokenizer.json'), 'loadTokenizerFromFolder'));
    } catch (e) {
      throw new Error(`loadTokenizerFromFolder: ${file('tokenizer.json')}: ${(e as Error).message}`);
    }
  }
  const config: TokenizerConfig = {
    ...((await readJsonIfThere(file('tokenizer_config.json'))) ?? {}),
    ...((await readJsonIfThere(file('special_tokens_map.json'))) ?? {}),
  };
  const where = `${file('tokenizer_config.json')}`;
  const added = (await exists(file('added_tokens.json'))) ? await readText(file('added_tokens.json'), 'loadTokenizerFromFolder') : undefined;
  const finish = (tok: Tokenizer): Tokenizer => {
    addTokensFromJSON(tok, added, config, file('added_tokens.json'));
    return tok;
  };
  try {
    if ((await exists(file('vocab.json'))) && (await exists(file('merges.txt')))) {
      const [vocab, merges] = await Promise.all([readText(file('vocab.json'), 'loadTokenizerFromFolder'), readText(file('merges.txt'), 'loadTokenizerFromFolder')]);
      return finish(byteLevelFromVocabMerges(vocab, merges, config, where));
    }
    if (await exists(file('vocab.txt'))) return finish(bertFromVocabTxt(await readText(file('vocab.txt'), 'loadTokenizerFromFolder'), config, where));
    if (await exists(file('source.spm'))) {
      // A Marian (opus-mt) folder: source.spm splits, vocab.json numbers, target.spm joins (marian.ts).
      for (const name of ['vocab.json', 'target.spm']) {
        if (!(await exists(file(name)))) throw new Error(`a Marian folder (source.spm, target.spm, vocab.json) without ${name}: ${file(name)} is missing`);
      }
      const [sourceSpm, targetSpm, vocab] = await Promise.all([readFile(file('source.spm')), readFile(file('target.spm')), readText(file('vocab.json'), 'loadTokenizerFromFolder')]);
      const names = { sourceSpm: file('source.spm'), targetSpm: file('target.spm'), vocab: file('vocab.json'), config: where };
      return finish(marianTokenizer({ sourceSpm: new Uint8Array(sourceSpm), targetSpm: new Uint8Array(targetSpm), vocab, config, names }));
    }
    for (const name of SENTENCEPIECE_FILES) {
      if (!(await exists(file(name)))) continue;
      const bytes = new Uint8Array(await readFile(file(name)));
      const t5 = typeof config.tokenizer_class === 'string' && /^(T5|MT5|UMT5)/i.test(config.tokenizer_class);
      return finish(tokenizerFromSentencePiece(bytes, { addEos: t5, what: file(name) }));
    }
  } catch (e) {
    throw new Error(`loadTokenizerFromFolder: ${dir}: ${(e as Error).message}`);
  }
  throw new Error(
    `loadTokenizerFromFolder: the folder ${dir} has no tokenizer.json, vocab.json + merges.txt, vocab.txt or SentencePiece model (${SENTENCEPIECE_FILES.join(', ')}, or Marian's source.spm + target.spm + vocab.json)`,
  );
}

/**
 * Load a tokenizer from:
 *   - 'gpt2'                       the built-in GPT-2 tokenizer;
 *   - a tokenizer.json file        (Hugging Face format; any file ending in .json with a "model" section);
 *   - a vocab.txt file             a BERT WordPiece vocabulary (uncased BERT pipeline);
 *   - a .model or .spm file        a SentencePiece unigram model (T5's spiece.model, ...);
 *   - a folder                     see loadTokenizerFromFolder.
 * Errors name the path and say what was expected.
 * Example: `const tok = await loadTokenizer('models/bert-base-uncased')`.
 */
export async function loadTokenizer(pathOrName: string): Promise<Tokenizer> {
  if (pathOrName === 'gpt2') return Tokenizer.gpt2();
  let info;
  try {
    info = await stat(pathOrName);
  } catch {
    throw new Error(`loadTokenizer: ${pathOrName} does not exist; give a tokenizer.json, a vocab.txt, a .model, a model folder, or 'gpt2'`);
  }
  if (info.isDirectory()) return loadTokenizerFromFolder(pathOrName);
  if (pathOrName.endsWith('.model') || pathOrName.endsWith('.spm')) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(pathOrName));
    } catch (e) {
      throw new Error(`loadTokenizer: cannot read ${pathOrName}: ${(e as Error).message}`);
    }
    return tokenizerFromSentencePiece(bytes, { what: pathOrName });
  }
  const text = await readText(pathOrName, 'loadTokenizer');
  if (pathOrName.endsWith('.txt')) return Tokenizer.fromWordPieceVocab(text);
  try {
    return Tokenizer.fromJSON(text);
  } catch (e) {
    throw new Error(`loadTokenizer: ${pathOrName}: ${(e as Error).message}`);
  }
}

/**
 * Write `data` to `path` atomically: a temporary file in the same folder, then a rename, so a crash or a full
 * disk never leaves a half-written file where a good one was.
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data, 'utf8');
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new Error(`cannot write ${path}: ${(e as Error).message}`);
  }
}

/**
 * Save as a Hugging Face tokenizer.json (atomically). A folder path gets `tokenizer.json` inside it.
 * Example: `await saveTokenizer(tok, 'my-model')` writes my-model/tokenizer.json.
 */
export async function saveTokenizer(tokenizer: Tokenizer, path: string): Promise<string> {
  let target = path;
  if (!path.endsWith('.json')) target = join(path, 'tokenizer.json');
  await writeFileAtomic(target, tokenizer.toString() + '\n');
  return target;
}

/**
 * Train a tokenizer ('bpe' or 'wordpiece') on text files of any size: the files are streamed, only word
 * counts are kept. Invalid UTF-8 never stops training: each bad sequence becomes U+FFFD and is counted in the
 * per-file report. Progress: 'count' reports bytes read of the total, then 'merge'.
 * Example: `const { tokenizer, files } = await trainTokenizerFromFiles(['a.txt'], { type: 'wordpiece', vocabSize: 8000 })`.
 */
export async function trainTokenizerFromFiles(
  paths: readonly string[],
  options: TrainTokenizerOptions,
): Promise<{ tokenizer: Tokenizer; files: FileReadReport[] }> {
  if (paths.length === 0) throw new Error('trainTokenizerFromFiles: no input files given');
  let totalBytes = 0;
  for (const path of paths) {
    try {
      const s = await stat(path);
      if (s.isDirectory()) throw new Error('it is a folder, not a text file');
      totalBytes += s.size;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(`trainTokenizerFromFiles: cannot read ${path}: ${code === 'ENOENT' ? 'file not found' : (e as Error).message}`);
    }
  }
  const { onProgress } = options;
  const trainer = createTrainer({ ...options, onProgress: onProgress && ((p) => p.phase === 'merge' && onProgress(p)) });
  const files: FileReadReport[] = [];
  const chunks = readTextChunks(paths, {
    onFile: (r) => files.push(r),
    onBytes: onProgress && ((done) => onProgress({ phase: 'count', done, total: totalBytes })),
  });
  for await (const chunk of chunks) trainer.feed(chunk);
  return { tokenizer: trainer.finish(), files };
}

// The other Node-only tokenizer helpers, so that Node users have one import for all of them.
export { readTextChunks, trainBPEFromFiles } from './node_files.js';
export { ParallelEncoder } from './node_parallel.js';
export { bertFromVocabTxt, byteLevelFromVocabMerges, addTokensFromJSON, type TokenizerConfig } from './legacy_files.js';
