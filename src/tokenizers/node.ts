// Node-only helpers for tokenizers: load from and save to files, and train from files.
//
// The tokenizer core (index.ts and everything it imports) never touches the file system, so it runs in a
// browser. Everything that needs node:fs lives here and in node_files.ts. Import this file only in Node:
//
//   import { loadTokenizer, saveTokenizer, trainTokenizerFromFiles } from 'attn/dist/src/tokenizers/node.js';
//
//   const tok = await loadTokenizer('bert/tokenizer.json');   // or a folder, a vocab.txt, or 'gpt2'
//   await saveTokenizer(tok, 'out/tokenizer.json');           // written to a temp file, then renamed

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readTextChunks, type FileReadReport } from './node_files.js';
import { ByteLevelBPE } from './bpe.js';
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

/**
 * Load a tokenizer from:
 *   - 'gpt2'                       the built-in GPT-2 tokenizer;
 *   - a tokenizer.json file        (Hugging Face format; any file ending in .json with a "model" section);
 *   - a vocab.txt file             a BERT WordPiece vocabulary (uncased BERT pipeline);
 *   - a folder                     holding tokenizer.json, or vocab.txt, or vocab.json + merges.txt (GPT-2 files).
 * Errors name the path and say what was expected.
 * Example: `const tok = await loadTokenizer('models/bert-base-uncased')`.
 */
export async function loadTokenizer(pathOrName: string): Promise<Tokenizer> {
  if (pathOrName === 'gpt2') return Tokenizer.gpt2();
  let info;
  try {
    info = await stat(pathOrName);
  } catch {
    throw new Error(`loadTokenizer: ${pathOrName} does not exist; give a tokenizer.json, a vocab.txt, a model folder, or 'gpt2'`);
  }
  if (info.isDirectory()) {
    const dir = pathOrName;
    if (await exists(join(dir, 'tokenizer.json'))) return Tokenizer.fromJSON(await readText(join(dir, 'tokenizer.json'), 'loadTokenizer'));
    if (await exists(join(dir, 'vocab.txt'))) return Tokenizer.fromWordPieceVocab(await readText(join(dir, 'vocab.txt'), 'loadTokenizer'));
    if ((await exists(join(dir, 'vocab.json'))) && (await exists(join(dir, 'merges.txt')))) {
      const bpe = ByteLevelBPE.fromVocabMerges(
        await readText(join(dir, 'vocab.json'), 'loadTokenizer'),
        await readText(join(dir, 'merges.txt'), 'loadTokenizer'),
      );
      return Tokenizer.fromByteLevelBPE(bpe);
    }
    throw new Error(`loadTokenizer: the folder ${dir} has no tokenizer.json, vocab.txt, or vocab.json + merges.txt`);
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
