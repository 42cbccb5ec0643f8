// Crash-safe file and folder writes, and JSON reads with errors that say where (Node only).
//
// A checkpoint that is half written is worse than none: the next `attn train --resume` or fromPretrained
// reads garbage. So nothing here ever writes into the final path. A file is written to a temporary sibling,
// flushed to disk (fsync) and renamed over the target: rename within one directory is atomic on POSIX file
// systems, so any reader sees either the old file or the new one, whole. A folder (config.json +
// model.safetensors + tokenizer.json) cannot be renamed *over* an existing folder, so it is written to a
// sibling DIR.tmp-ID, then swapped in with two renames (see writeDirAtomic for the exact guarantee).
//
// Guarantee against a process crash or kill -9 at any instant: exact, as described on each function.
// Against power loss: as good as the file system's fsync (we fsync files, then the directory entries).
// Does not handle: two processes writing the same path at once (the last rename wins; for folders, run one
// writer per folder); network file systems where rename is not atomic.

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { parseJson } from './json.js';

/** A short random suffix for temporary names, unique enough that two writers never collide. */
function uniqueId(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException | undefined)?.code ?? '';
}

/** Write all of `bytes` to `fd` at the current position (writeSync may write fewer bytes than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    const chunk = Math.min(bytes.length - done, 1 << 30); // stay well under the 2 GiB per-call limit
    done += writeSync(fd, bytes, done, chunk);
  }
}

/**
 * Flush a directory's entries (the result of a rename) to disk. Some platforms cannot open or fsync a
 * directory (Windows); there the rename is still atomic against crashes, only not yet against power loss.
 */
function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // EINVAL/EPERM on file systems without directory fsync: nothing more we can do.
  } finally {
    closeSync(fd);
  }
}

/**
 * Create or replace the file at `path` atomically, letting `write` stream into it: `write(fd)` writes the
 * content to a temporary sibling, which is fsynced and renamed over `path`. If `write` throws or the process
 * dies, `path` still holds its previous content (or does not exist) and the temporary is removed (after a
 * kill -9 a `PATH.tmp-*` file may remain; it is never read).
 * Example: `writeFileAtomicWith('model.safetensors', (fd) => { writeAll(fd, header); writeAll(fd, data); })`.
 */
export function writeFileAtomicWith(path: string, write: (fd: number) => void): void {
  const tmp = `${path}.tmp-${uniqueId()}`;
  let fd: number;
  try {
    fd = openSync(tmp, 'wx'); // 'x': fail rather than reuse an existing file
  } catch (e) {
    const hint = errorCode(e) === 'ENOENT' ? ` (does the folder ${dirname(resolve(path))} exist?)` : '';
    throw new Error(`cannot write ${path}: cannot create the temporary file ${tmp}: ${(e as Error).message}${hint}`, { cause: e });
  }
  try {
    write(fd);
    fsyncSync(fd); // the bytes are on disk before the name points at them
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path); // the atomic step
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot write ${path}: renaming the finished temporary file ${tmp} failed: ${(e as Error).message}`, { cause: e });
  }
  fsyncDir(dirname(resolve(path))); // make the rename itself durable
}

/**
 * Create or replace a file atomically with `data` (bytes, or a string written as UTF-8).
 * Example: `writeFileAtomic('out/config.json', JSON.stringify(config, null, 2) + '\n')`.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  writeFileAtomicWith(path, (fd) => writeAll(fd, bytes));
}

/** Write `value` as indented JSON (2 spaces, trailing newline, as Hugging Face writes config.json), atomically. */
export function writeJsonFileAtomic(path: string, value: unknown): void {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new Error(`cannot write ${path}: the value (${typeof value}) has no JSON form`);
  writeFileAtomic(path, text + '\n');
}

/** fsync every file and folder under `dir` (the folder itself last), so its content is durable before it is renamed. */
function syncTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      syncTree(p);
    } else if (entry.isFile()) {
      const fd = openSync(p, 'r+'); // writable handle: Windows refuses to flush a read-only one
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }
  fsyncDir(dir);
}

/** What recoverDirAtomic found and did. */
export interface DirRecovery {
  action: 'none' | 'completed-swap' | 'restored-backup';
  removed: string[]; // leftover DIR.tmp-* / DIR.old-* folders that were deleted
}

/**
 * Where a reader finds the complete folder `dir` right now, changing nothing: DIR itself; or, while a writer
 * is between the two renames of writeDirAtomic (or was killed there), the new folder DIR.tmp-ID whose backup
 * DIR.old-ID exists (the new folder was complete and fsynced before the first rename), else the backup
 * DIR.old-ID. null when there is no folder at all. A DIR.tmp-ID without its DIR.old-ID may still be being
 * filled and is never returned.
 */
export function readableDir(dir: string): string | null {
  const target = resolve(dir);
  if (existsSync(target)) return target;
  const parent = dirname(target);
  const base = basename(target);
  let siblings: string[];
  try {
    siblings = readdirSync(parent);
  } catch {
    return null;
  }
  const olds = siblings.filter((s) => s.startsWith(`${base}.old-`));
  const withNew = olds.find((o) => siblings.includes(`${base}.tmp-${o.slice(base.length + 5)}`));
  if (withNew !== undefined) return join(parent, `${base}.tmp-${withNew.slice(base.length + 5)}`);
  return olds.length > 0 ? join(parent, olds[0]!) : null;
}

/**
 * Read a folder that a writer may be replacing at this moment, so that every file comes from one version
 * and the reader never changes anything (only the writer tidies up after itself: see recoverDirAtomic).
 * `read(path)` reads the folder at `path` (readableDir's choice); if the folder was swapped meanwhile — it is
 * no longer the one to read, or is another folder under the same name — the whole read is repeated. An
 * error that happens while the folder stays put is the folder's own problem and is thrown as it is.
 * Example: `const config = readDirConsistent('ckpt', (d) => readJsonFile(join(d, 'config.json'), 'config'))`.
 */
export function readDirConsistent<T>(dir: string, read: (path: string) => T, attempts = 50): T {
  for (let i = 0; ; i++) {
    const path = readableDir(dir) ?? resolve(dir); // none at all: let read() report the missing folder
    const before = identity(path);
    // The read counts only if, afterwards, the same folder is still the one to read. A writer deletes its
    // backup DIR.old-ID file by file only after DIR is back, so a backup that loses files while we read it is
    // caught by DIR being the one to read again.
    const unchanged = () => before !== null && identity(path) === before && (readableDir(dir) ?? resolve(dir)) === path;
    let result: T;
    try {
      result = read(path);
    } catch (e) {
      if (i + 1 < attempts && !unchanged()) continue; // swapped or deleted under us: read the new version
      throw e; // the folder stayed put: the error is its own
    }
    if (unchanged()) return result;
    if (i + 1 >= attempts) throw new Error(`cannot read ${dir}: it was replaced ${attempts} times while being read`);
  }
}

/**
 * Who a path is right now, or null when it does not exist: its inode number plus its birth and change times.
 * The inode alone is not enough: ext4 hands a deleted folder's inode number to the next folder made, so after
 * two swaps DIR can carry its old number again. A renamed or refilled folder gets a new change time.
 */
function identity(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.ino}:${st.birthtimeNs}:${st.ctimeNs}`;
  } catch {
    return null;
  }
}

/**
 * Finish or undo a writeDirAtomic that was interrupted (crash, kill -9), then delete its leftovers. Only the
 * writer of a folder calls this (writeDirAtomic does, first): a reader that renamed or deleted things could
 * destroy a checkpoint another process is writing at that moment. Readers use readableDir/readDirConsistent.
 *   - DIR exists: it is complete (old or new); DIR.tmp-* (an unfinished or unswapped new folder) and
 *     DIR.old-* (a backup not yet deleted) are removed.
 *   - DIR is missing but DIR.old-ID exists: the writer died between its two renames. DIR.tmp-ID was complete
 *     and fsynced before the first rename, so it becomes DIR ('completed-swap'); if it is gone too, the backup
 *     DIR.old-ID is put back ('restored-backup').
 * Safe to call when no other writer is active; writeDirAtomic calls it first.
 * Example: `recoverDirAtomic('checkpoints/step-1000')`.
 */
export function recoverDirAtomic(dir: string): DirRecovery {
  const target = resolve(dir);
  const parent = dirname(target);
  const base = basename(target);
  let siblings: string[];
  try {
    siblings = readdirSync(parent);
  } catch {
    return { action: 'none', removed: [] }; // no parent folder, so nothing was ever written here
  }
  const tmpPrefix = `${base}.tmp-`;
  const oldPrefix = `${base}.old-`;
  let action: DirRecovery['action'] = 'none';
  if (!existsSync(target)) {
    const olds = siblings.filter((s) => s.startsWith(oldPrefix));
    // Prefer a backup whose new folder (same ID) survived: roll forward to the new content.
    const withNew = olds.find((o) => siblings.includes(tmpPrefix + o.slice(oldPrefix.length)));
    if (withNew !== undefined) {
      renameSync(join(parent, tmpPrefix + withNew.slice(oldPrefix.length)), target);
      action = 'completed-swap';
    } else if (olds.length > 0) {
      renameSync(join(parent, olds[0]!), target);
      action = 'restored-backup';
    }
    if (action !== 'none') fsyncDir(parent);
  }
  const removed: string[] = [];
  for (const s of readdirSync(parent)) {
    if (s.startsWith(tmpPrefix) || s.startsWith(oldPrefix)) {
      rmSync(join(parent, s), { recursive: true, force: true });
      removed.push(join(parent, s));
    }
  }
  return { action, removed };
}

/**
 * Create or replace the folder `dir` as a whole: `fill(tmpDir)` writes the files into an empty temporary
 * sibling folder `DIR.tmp-ID`; everything is fsynced; then
 *   1. rename DIR → DIR.old-ID   (only if DIR exists)
 *   2. rename DIR.tmp-ID → DIR
 *   3. delete DIR.old-ID
 * Exact guarantee if the process dies at any instant (kill -9): before step 1, DIR is the old complete folder;
 * after step 2, DIR is the new complete folder; between 1 and 2, DIR is briefly missing while both complete
 * folders exist side by side: a reader (readDirConsistent) then reads the new one where it is, and the next
 * writeDirAtomic renames it into place (recoverDirAtomic). A folder with some old and some new files is never
 * visible at DIR, and readDirConsistent never returns files from two versions.
 * If `fill` throws, DIR is untouched and the temporary folder is deleted.
 * Example: `writeDirAtomic('ckpt', (tmp) => { writeFileSync(join(tmp, 'config.json'), text); saveSafetensorsFile(join(tmp, 'model.safetensors'), weights); })`.
 */
export function writeDirAtomic(dir: string, fill: (tmpDir: string) => void): void {
  const target = resolve(dir);
  if (existsSync(target) && !statSync(target).isDirectory()) {
    throw new Error(`cannot write folder ${dir}: a file (not a folder) already exists at that path`);
  }
  mkdirSync(dirname(target), { recursive: true });
  recoverDirAtomic(target);
  const id = uniqueId();
  const tmp = `${target}.tmp-${id}`;
  const old = `${target}.old-${id}`;
  mkdirSync(tmp);
  try {
    fill(tmp);
    syncTree(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (!existsSync(target)) {
    renameSync(tmp, target);
    fsyncDir(dirname(target));
    return;
  }
  renameSync(target, old); // step 1
  try {
    renameSync(tmp, target); // step 2
  } catch (e) {
    renameSync(old, target); // put the old folder back; the new one stays at tmp for inspection
    throw new Error(`cannot write folder ${dir}: moving the new folder ${tmp} into place failed: ${(e as Error).message}`, { cause: e });
  }
  fsyncDir(dirname(target));
  rmSync(old, { recursive: true, force: true }); // step 3
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Read and parse a JSON file, with errors that name the file and say what and where:
 *   `model config not found: /m/config.json`
 *   `model config /m/config.json is not valid JSON: expected ',' or '}' after a value but found '"' at line 3, column 5 (character 27)`
 * A UTF-8 byte-order mark is skipped. Duplicate keys are allowed (the last wins, as in Python's json).
 * Returns `unknown`: the caller checks the fields it needs.
 */
export function readJsonFile(path: string, what: string): unknown {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = errorCode(e);
    if (code === 'ENOENT') throw new Error(`${what} not found: ${path}`, { cause: e });
    if (code === 'EISDIR') throw new Error(`${what} ${path} is a folder, expected a JSON file`, { cause: e });
    throw new Error(`cannot read ${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes); // also drops a leading BOM
  } catch (e) {
    throw new Error(`${what} ${path} is not valid UTF-8 text`, { cause: e });
  }
  return parseJson(text, `${what} ${path}`);
}
