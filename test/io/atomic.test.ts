// Atomic writes: replacement semantics, clean failure, recovery from every interrupted state, and a real
// kill -9 test: a child process rewrites a folder and a file in a loop and is killed at random moments; after
// each kill the folder must be a complete old or new version (and after recovery always at DIR).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDirConsistent, readJsonFile, readableDir, recoverDirAtomic, writeDirAtomic, writeFileAtomic, writeFileAtomicWith, writeJsonFileAtomic } from '../../src/io/atomic.js';
import { JsonSyntaxError } from '../../src/io/json.js';
import { errorOf, randInt, rng, versionFiles } from './helpers.js';

function withTempDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'attn-atomic-'));
  return Promise.resolve(fn(dir)).finally(() => rmSync(dir, { recursive: true, force: true }));
}

function writeVersion(dir: string, v: number): void {
  for (const [name, content] of Object.entries(versionFiles(v))) writeFileSync(join(dir, name), content);
}

/** The version a folder holds, after checking that it is complete and consistent (fails the test otherwise). */
function folderVersion(dir: string): number {
  assert.deepEqual(readdirSync(dir).sort(), ['a.bin', 'b.json', 'c.txt'], `${dir} has the wrong files`);
  const v = (JSON.parse(readFileSync(join(dir, 'b.json'), 'utf8')) as { version: number }).version;
  assert.equal(readFileSync(join(dir, 'c.txt'), 'utf8'), String(v), `${dir}: c.txt disagrees with b.json`);
  const bin = readFileSync(join(dir, 'a.bin'));
  assert.equal(bin.length, 256 * 1024, `${dir}: a.bin is ${bin.length} bytes`);
  assert.ok(bin.every((b) => b === v % 251), `${dir}: a.bin is not all ${v % 251}`);
  return v;
}

test('writeFileAtomic creates and replaces files and leaves nothing else behind', () =>
  withTempDir((dir) => {
    const path = join(dir, 'config.json');
    writeFileAtomic(path, 'first');
    writeFileAtomic(path, Uint8Array.of(104, 105));
    assert.equal(readFileSync(path, 'utf8'), 'hi');
    writeJsonFileAtomic(path, { b: [1, 2], a: 'x' });
    assert.equal(readFileSync(path, 'utf8'), '{\n  "b": [\n    1,\n    2\n  ],\n  "a": "x"\n}\n');
    assert.deepEqual(readdirSync(dir), ['config.json']);
  }));

test('when the writer throws, the old file stays and the temporary is removed', () =>
  withTempDir((dir) => {
    const path = join(dir, 'model.bin');
    writeFileAtomic(path, 'old');
    assert.throws(
      () =>
        writeFileAtomicWith(path, () => {
          throw new Error('disk full (simulated)');
        }),
      /disk full \(simulated\)/,
    );
    assert.equal(readFileSync(path, 'utf8'), 'old');
    assert.deepEqual(readdirSync(dir), ['model.bin']);
  }));

test('writeDirAtomic creates a folder, then swaps in a whole new one (no mixing of old and new files)', () =>
  withTempDir((root) => {
    const dir = join(root, 'deep', 'ckpt');
    writeDirAtomic(dir, (tmp) => {
      writeVersion(tmp, 1);
      writeFileSync(join(tmp, 'only-in-v1.txt'), 'x');
    });
    assert.ok(existsSync(join(dir, 'only-in-v1.txt')));
    writeDirAtomic(dir, (tmp) => writeVersion(tmp, 2));
    assert.equal(folderVersion(dir), 2); // also checks that only-in-v1.txt is gone
    assert.deepEqual(readdirSync(join(root, 'deep')), ['ckpt']);
  }));

test('writeDirAtomic: a failing fill leaves the old folder and removes the temporary one; a file in the way is an error', () =>
  withTempDir((root) => {
    const dir = join(root, 'ckpt');
    writeDirAtomic(dir, (tmp) => writeVersion(tmp, 5));
    assert.throws(
      () =>
        writeDirAtomic(dir, (tmp) => {
          writeFileSync(join(tmp, 'a.bin'), 'partial');
          throw new Error('tokenizer missing (simulated)');
        }),
      /tokenizer missing \(simulated\)/,
    );
    assert.equal(folderVersion(dir), 5);
    assert.deepEqual(readdirSync(root), ['ckpt']);
    const file = join(root, 'plain');
    writeFileSync(file, 'x');
    assert.equal(errorOf(() => writeDirAtomic(file, () => {})).message, `cannot write folder ${file}: a file (not a folder) already exists at that path`);
  }));

test('recoverDirAtomic handles each state a killed writer can leave', () =>
  withTempDir((root) => {
    const dir = join(root, 'ckpt');
    const make = (name: string, v: number) => {
      mkdirSync(join(root, name));
      writeVersion(join(root, name), v);
    };
    // Killed between the two renames: the backup and the finished new folder exist, DIR does not. Roll forward.
    make('ckpt.old-1-aa', 1);
    make('ckpt.tmp-1-aa', 2);
    let r = recoverDirAtomic(dir);
    assert.equal(r.action, 'completed-swap');
    assert.equal(folderVersion(dir), 2);
    assert.deepEqual(readdirSync(root), ['ckpt']);
    // Only the backup survived (someone removed the new folder): put the old one back.
    rmSync(dir, { recursive: true });
    make('ckpt.old-2-bb', 3);
    r = recoverDirAtomic(dir);
    assert.equal(r.action, 'restored-backup');
    assert.equal(folderVersion(dir), 3);
    // Killed while filling (an unfinished tmp) or before deleting the backup: DIR is complete; leftovers go.
    make('ckpt.tmp-3-cc', 4);
    writeFileSync(join(root, 'ckpt.tmp-3-cc', 'a.bin'), 'half');
    make('ckpt.old-4-dd', 1);
    r = recoverDirAtomic(dir);
    assert.equal(r.action, 'none');
    assert.equal(r.removed.length, 2);
    assert.equal(folderVersion(dir), 3);
    assert.deepEqual(readdirSync(root), ['ckpt']);
    // Nothing to do.
    assert.deepEqual(recoverDirAtomic(join(root, 'never', 'written')), { action: 'none', removed: [] });
  }));

test('a reader finds a complete folder in every state a killed writer can leave, and changes nothing', () =>
  withTempDir((root) => {
    const dir = join(root, 'ckpt');
    const make = (name: string, v: number) => {
      mkdirSync(join(root, name));
      writeVersion(join(root, name), v);
    };
    const listing = () => readdirSync(root).sort();
    assert.equal(readableDir(dir), null, 'nothing written yet');
    // Killed between the two renames: the new folder (tmp with its backup) is the one to read.
    make('ckpt.old-1-aa', 1);
    make('ckpt.tmp-1-aa', 2);
    make('ckpt.tmp-9-zz', 7); // a tmp without a backup may be half written: never read
    let before = listing();
    assert.equal(readDirConsistent(dir, folderVersion), 2);
    assert.deepEqual(listing(), before, 'the reader renamed or deleted something');
    // Only the backup left.
    rmSync(join(root, 'ckpt.tmp-1-aa'), { recursive: true });
    assert.equal(readDirConsistent(dir, folderVersion), 1);
    // DIR complete, with leftovers around it: DIR wins.
    make('ckpt', 5);
    before = listing();
    assert.equal(readDirConsistent(dir, folderVersion), 5);
    assert.deepEqual(listing(), before);
    // A folder that is not there at all: read() reports it.
    assert.throws(() => readDirConsistent(join(root, 'nope'), folderVersion), /ENOENT|no such file/);
  }));

test('a reader running while a writer replaces the folder over and over always gets one whole version', { timeout: 60_000 }, (t) =>
  withTempDir(async (root) => {
    const child = join(dirname(fileURLToPath(import.meta.url)), 'atomic_child.js');
    const dir = join(root, 'ckpt');
    writeDirAtomic(dir, (tmp) => writeVersion(tmp, 0));
    const proc = spawn(process.execPath, [child, dir, join(root, 'weights.bin'), '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(proc.stdout, 'data');
    let reads = 0;
    let last = 0;
    const versions = new Set<number>();
    const until = Date.now() + 1500;
    try {
      while (Date.now() < until) {
        // folderVersion fails the test if the files come from two versions or one is missing.
        const v = readDirConsistent(dir, folderVersion);
        assert.ok(v >= last, `version went back from ${last} to ${v}`);
        last = v;
        versions.add(v);
        reads++;
        await new Promise((resolve) => setImmediate(resolve)); // let the child's writes interleave
      }
    } finally {
      proc.kill('SIGKILL');
      await once(proc, 'exit');
    }
    assert.ok(versions.size > 3, `the reader saw ${versions.size} versions in ${reads} reads; the writer should have replaced the folder several times`);
    t.diagnostic(`${reads} consistent reads of ${versions.size} versions while the writer rewrote the folder`);
  }));

test('kill -9 at random moments: the folder is always a complete old or new version', { timeout: 60_000 }, (t) =>
  withTempDir(async (root) => {
    const child = join(dirname(fileURLToPath(import.meta.url)), 'atomic_child.js');
    const dir = join(root, 'ckpt');
    const file = join(root, 'weights.bin');
    writeDirAtomic(dir, (tmp) => writeVersion(tmp, 0));
    writeFileAtomic(file, versionFiles(0)['a.bin'] as Uint8Array);
    const r = rng(4242);
    let last = 0;
    let windowHits = 0;
    for (let round = 0; round < 10; round++) {
      const proc = spawn(process.execPath, [child, dir, file, String(last + 1)], { stdio: ['ignore', 'pipe', 'inherit'] });
      await once(proc.stdout, 'data'); // "ready": the child is about to start writing
      await new Promise((resolve) => setTimeout(resolve, randInt(r, 0, 150)));
      proc.kill('SIGKILL');
      await once(proc, 'exit');

      // Before any recovery: DIR is complete, or (killed between the renames) both complete folders exist.
      if (existsSync(dir)) {
        folderVersion(dir);
      } else {
        windowHits++;
        const olds = readdirSync(root).filter((s) => s.startsWith('ckpt.old-'));
        assert.equal(olds.length, 1, 'DIR is missing, so exactly one backup must exist');
        const id = olds[0]!.slice('ckpt.old-'.length);
        assert.ok(folderVersion(join(root, `ckpt.tmp-${id}`)) > folderVersion(join(root, olds[0]!)));
      }
      // The single file is always one whole version (all bytes equal, full length).
      const bin = readFileSync(file);
      assert.equal(bin.length, 256 * 1024);
      assert.ok(bin.every((b) => b === bin[0]), 'weights.bin mixes two versions');

      recoverDirAtomic(dir);
      const v = folderVersion(dir);
      assert.ok(v >= last, `version went back from ${last} to ${v}`);
      last = v;
      const leftovers = readdirSync(root).filter((s) => s.startsWith('ckpt.'));
      assert.deepEqual(leftovers, [], 'recovery removes every DIR.tmp-* and DIR.old-*');
    }
    assert.ok(last > 0, 'the child completed at least one rewrite during the test');
    // windowHits (kills between the two renames) is usually 0: the window is a few microseconds wide. The
    // recoverDirAtomic test above builds that state by hand.
    t.diagnostic(`reached version ${last} over 10 kills; ${windowHits} kills landed between the two renames`);
  }));

test('readJsonFile: values, and errors that name the path and the position', () =>
  withTempDir((dir) => {
    const path = join(dir, 'config.json');
    writeFileSync(path, '\uFEFF{"n_embd": 768}'); // a UTF-8 byte-order mark is accepted
    assert.deepEqual(readJsonFile(path, 'model config'), { n_embd: 768 });

    const missing = join(dir, 'nope.json');
    assert.equal(errorOf(() => readJsonFile(missing, 'model config')).message, `model config not found: ${missing}`);
    assert.equal(errorOf(() => readJsonFile(dir, 'model config')).message, `model config ${dir} is a folder, expected a JSON file`);

    writeFileSync(path, '{\n  "n_embd": 768\n  "n_head": 12\n}\n');
    const bad = errorOf(() => readJsonFile(path, 'model config'));
    assert.ok(bad instanceof JsonSyntaxError);
    assert.equal(bad.message, `model config ${path} is not valid JSON: expected ',' or '}' after a value but found '"' at line 3, column 3 (character 20)`);

    writeFileSync(path, Uint8Array.of(0x7b, 0xff, 0x7d));
    assert.equal(errorOf(() => readJsonFile(path, 'tokenizer')).message, `tokenizer ${path} is not valid UTF-8 text`);
  }));
