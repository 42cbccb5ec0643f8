// `attn example authorship` at its tiny scale (4 authors, a tiny model, a few steps): the whole pipeline runs,
// the split is by position (no test passage in the training data or the pretraining text, every test passage
// after every training passage of its book), and the majority-class baseline is what its definition gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { passagesOf, windowsOf, spread, gutenbergDir } from '../../cli/example.js';
import { decodeUtf8Lossy } from '../../src/train/corpus.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

test('passagesOf drops the title line and cuts whole words; spread picks evenly', () => {
  assert.deepEqual(passagesOf('[Emma by Jane Austen 1816]\nOne two  three\nfour five six seven', 3), ['One two three', 'four five six']);
  assert.deepEqual(spread([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5), [0, 2, 4, 6, 8]);
  assert.deepEqual(spread([1, 2], 5), [1, 2]);
  assert.deepEqual(windowsOf(['a', 'b', 'c', 'd', 'e'], 2, 2), [{ text: 'a b', start: 0 }, { text: 'c d', start: 2 }]);
  assert.deepEqual(windowsOf(['a', 'b', 'c'], 2, 1).map((w) => w.start), [0, 1]);
});

test('attn example authorship --scale tiny: end to end, split by position, majority baseline by definition', () => {
  const out = mkdtempSync(join(tmpdir(), 'attn-example-'));
  try {
    const r = spawnSync(process.execPath, [MAIN, 'example', 'authorship', '--scale', 'tiny', '--out', out, '--json', '--quiet'], { encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 180_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout) as {
      authors: string[];
      passages: { train: number; test: number };
      perAuthor: Array<{ author: string; test: number; f1: number; baselineF1: number }>;
      model: { accuracy: number; macroF1: number };
      baseline: { label: string; accuracy: number; macroF1: number };
    };
    assert.deepEqual(res.authors, ['austen', 'carroll', 'melville', 'shakespeare']);
    for (const f of ['train.jsonl', 'validation.jsonl', 'test.jsonl', 'results.json', 'bert-mlm/config.json', 'classifier/config.json']) assert.ok(existsSync(join(out, f)), f);
    const read = (f: string) => readFileSync(join(out, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: string; book: string; start: number });
    const train = read('train.jsonl');
    const testSet = read('test.jsonl');
    assert.equal(train.length, res.passages.train);
    assert.equal(testSet.length, res.passages.test);
    // No test passage was seen in training or pretraining, and each comes after the training passages of its book.
    const pretrain = readdirSync(join(out, 'pretrain')).filter((f) => f.endsWith('.txt')).map((f) => readFileSync(join(out, 'pretrain', f), 'utf8')).join('\n');
    const trainTexts = new Set(train.map((p) => p.text));
    // Each passage is the book's words at its `start` (the book split here by whitespace, after the title line).
    const bookWords = new Map<string, string[]>();
    for (const p of [...train, ...testSet]) {
      if (!bookWords.has(p.book)) {
        const text = decodeUtf8Lossy(readFileSync(join(gutenbergDir(), p.book))).text;
        bookWords.set(p.book, text.slice(text.indexOf('\n') + 1).split(/\s+/).filter((w) => w !== ''));
      }
      assert.equal(p.text, bookWords.get(p.book)!.slice(p.start, p.start + 32).join(' '), `${p.book}@${p.start}`);
    }
    for (const p of testSet) {
      assert.ok(!trainTexts.has(p.text) && !pretrain.includes(p.text), 'a test passage leaked into training');
      const lastTrainEnd = Math.max(...train.filter((t) => t.book === p.book).map((t) => t.start + 32));
      assert.ok(p.start >= lastTrainEnd, `${p.book}: a test passage overlaps or comes before a training passage`);
    }
    // Every author has the same number of training passages (windows overlap for an author with little text).
    const perAuthor = new Map<string, number>();
    for (const p of train) perAuthor.set(p.label, (perAuthor.get(p.label) ?? 0) + 1);
    assert.deepEqual([...perAuthor.values()], [24, 24, 24, 24]);
    // Majority class: the most frequent training label; its accuracy is its share of the test set, and its
    // macro-F1 is its own F1 (precision = share, recall 1) over the number of authors.
    const counts = new Map<string, number>();
    for (const p of train) counts.set(p.label, (counts.get(p.label) ?? 0) + 1);
    const top = Math.max(...counts.values());
    assert.equal(counts.get(res.baseline.label), top);
    const share = testSet.filter((p) => p.label === res.baseline.label).length / testSet.length;
    assert.ok(Math.abs(res.baseline.accuracy - share) < 1e-12);
    assert.ok(Math.abs(res.baseline.macroF1 - (2 * share) / (1 + share) / 4) < 1e-12);
    assert.ok(res.model.accuracy >= 0 && res.model.accuracy <= 1 && res.model.macroF1 >= 0 && res.model.macroF1 <= 1);
    assert.equal(res.perAuthor.reduce((s, a) => s + a.test, 0), testSet.length);
    // The table prints.
    const t = spawnSync(process.execPath, [MAIN, 'example', 'nothing'], { encoding: 'utf8' });
    assert.equal(t.status, 2);
    assert.match(t.stderr, /give an example: attn example authorship/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
