// Test folders for the pipelines: the tiny transformers checkpoints of test/fixtures/bert-family with a
// WordPiece vocab.txt that spells their ids as words, so a text turns into exactly the ids the fixtures used:
//   0 [PAD], 1–99 [unused…], 100 [UNK], 101 [CLS], 102 [SEP], 103 [MASK], 104–949 "w104"…"w949",
//   950–999 "##950"…"##999" (continuation pieces: "w544950" is w544 + ##950).
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIX = new URL('../../../test/fixtures/bert-family/', import.meta.url).pathname;

/** The vocabulary entry of id i. */
export function tokenOf(i: number): string {
  if (i === 0) return '[PAD]';
  if (i < 100) return `[unused${i}]`;
  if (i === 100) return '[UNK]';
  if (i === 101) return '[CLS]';
  if (i === 102) return '[SEP]';
  if (i === 103) return '[MASK]';
  return i < 950 ? `w${i}` : `##${i}`;
}

export function vocabTxt(): string {
  return Array.from({ length: 1000 }, (_, i) => tokenOf(i)).join('\n') + '\n';
}

/** Text whose WordPiece ids are `ids` (ids 104–949 only, plus 103 for [MASK]). */
export function textOf(ids: number[]): string {
  return ids.map((i) => (i === 103 ? '[MASK]' : `w${i}`)).join(' ');
}

/** A scratch copy of fixture `name` with the vocab.txt above; call cleanup() when done. */
export function folderWithVocab(name: string): { dir: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'attn-pipe-'));
  const dir = join(root, name);
  cpSync(join(FIX, name), dir, { recursive: true });
  writeFileSync(join(dir, 'vocab.txt'), vocabTxt());
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true }));
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
