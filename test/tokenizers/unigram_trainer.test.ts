// The Unigram (SentencePiece) trainer: its parts against hand-worked values (digamma, suffix order), exact
// vocabulary sizes, and against Hugging Face: its library loads what we save and encodes identically, and
// our vocabulary compresses text as well as one trained by Hugging Face's UnigramTrainer of the same size.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { trainTokenizer, trainUnigram, UnigramTrainer, type Tokenizer } from '../../src/tokenizers/index.js';
import { digamma, suffixOrder } from '../../src/tokenizers/unigram_trainer.js';
import { ADVERSARIAL_SPM, firstMismatch, gutenbergFile, gutenbergSlices, hf } from './_oracle.js';

const dir = mkdtempSync(join(tmpdir(), 'attn-unigram-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ALICE = readFileSync(gutenbergFile('carroll-alice.txt'), 'utf8');
const LINES = ALICE.split('\n').map((l) => l + '\n');

/** Vocabulary in id order. */
function vocabList(tok: Tokenizer): string[] {
  return [...tok.getVocab().entries()].sort((a, b) => a[1] - b[1]).map(([t]) => t);
}

describe('Unigram trainer: the parts', () => {
  it('digamma matches its closed forms: ψ(1) = -γ, ψ(1/2) = -γ - 2 ln 2, ψ(x + 1) = ψ(x) + 1/x', () => {
    const gamma = 0.5772156649015329;
    // SentencePiece's series is accurate to about 1e-10 (the asymptotic expansion is cut after x^-8).
    assert.ok(Math.abs(digamma(1) + gamma) < 1e-9);
    assert.ok(Math.abs(digamma(0.5) - (-gamma - 2 * Math.LN2)) < 1e-9);
    for (const x of [0.3, 2.5, 10, 1234.5]) assert.ok(Math.abs(digamma(x + 1) - digamma(x) - 1 / x) < 1e-9, String(x));
  });

  it('suffix order equals sorting the suffixes by their first `depth` characters', () => {
    const texts = ['abracadabra', 'mississippi\0missouri\0', 'aaaaaaaaaaaaaaaaaaaa', '▁the\0▁then\0▁there\0▁other\0'];
    for (const s of texts) {
      const cps = Int32Array.from([...s].map((c) => c.codePointAt(0)!));
      for (const depth of [1, 3, 17]) {
        const order = [...suffixOrder(cps, depth)];
        const key = (i: number): number[] => [...cps.subarray(i, i + depth)];
        for (let k = 1; k < order.length; k++) {
          const a = key(order[k - 1]!);
          const b = key(order[k]!);
          let cmp = 0;
          for (let j = 0; j < Math.min(a.length, b.length) && cmp === 0; j++) cmp = a[j]! - b[j]!;
          if (cmp === 0) cmp = a.length - b.length;
          assert.ok(cmp <= 0, `${JSON.stringify(s)} depth ${depth} at ${k}`);
        }
        assert.deepEqual([...order].sort((x, y) => x - y), [...cps.keys()]);
      }
    }
  });
});

describe('Unigram trainer: exact vocabulary size', () => {
  it('reaches 300, 1000 and 1777 tokens exactly, special tokens first, no duplicates', async () => {
    for (const vocabSize of [300, 1000, 1777]) {
      const tok = await trainUnigram(LINES, { vocabSize, specialTokens: ['<pad>', '</s>', '<unk>'] });
      const v = vocabList(tok);
      assert.equal(tok.vocabSize, vocabSize);
      assert.equal(v.length, vocabSize);
      assert.deepEqual(v.slice(0, 3), ['<pad>', '</s>', '<unk>']);
      assert.equal(new Set(v).size, v.length);
      assert.equal(tok.toJSON().model.type, 'Unigram');
      assert.equal((tok.toJSON().model as { unk_id: number }).unk_id, 2);
    }
  });

  it('the minimum is specials + characters; below it, the error says the minimum; at it, every character is a piece', async () => {
    const chars = new Set<string>();
    // The characters the default pipeline (Nmt, NFKC, Metaspace) leaves: Nmt turns the newline into a space.
    for (const ch of ALICE.normalize('NFKC').replace(/\n/g, ' ')) chars.add(ch === ' ' ? '▁' : ch);
    chars.add('▁');
    const minimum = 1 + chars.size;
    await assert.rejects(trainUnigram(LINES, { vocabSize: minimum - 1 }), new RegExp(`vocabSize ${minimum - 1} is too small; the minimum for this corpus is ${minimum}`));
    const tok = await trainUnigram(LINES, { vocabSize: minimum });
    assert.equal(tok.vocabSize, minimum);
    assert.deepEqual(new Set(vocabList(tok).slice(1)), chars);
    assert.ok(!tok.encode(ALICE.slice(0, 5000)).ids.includes(0), 'no <unk>');
  });

  it('a corpus too small for the size: the error says how many tokens it supports; allowSmallerVocab accepts it', async () => {
    // Two distinct words: 9 characters (with ▁) and the repeated substrings "▁" + ... ; nowhere near 500.
    await assert.rejects(trainUnigram(['hello hello world world'], { vocabSize: 500 }), /the corpus supports only (\d+) tokens .*use a vocabSize of at most \1/);
    const tok = await trainUnigram(['hello hello world world'], { vocabSize: 500, allowSmallerVocab: true });
    assert.ok(tok.vocabSize < 500 && tok.vocabSize >= 9, String(tok.vocabSize));
    assert.equal(tok.decode(tok.encode('hello world').ids), 'hello world');
  });

  it('when EM leaves too few pieces, the pieces dropped last fill the vocabulary to the exact size', async () => {
    // 300 lines of Alice have N - 1 characters and repeated substrings (the error says N); EM keeps far fewer
    // of them as pieces, yet N is reached exactly.
    const lines = LINES.slice(0, 300);
    const err = await trainUnigram(lines, { vocabSize: 100_000 }).then(
      () => '',
      (e: Error) => e.message,
    );
    const n = Number(/supports only (\d+) tokens/.exec(err)?.[1]);
    assert.ok(n > 1000, err);
    assert.equal((await trainUnigram(lines, { vocabSize: n })).vocabSize, n);
    await assert.rejects(trainUnigram(lines, { vocabSize: n + 1 }), new RegExp(`supports only ${n} tokens`));
  });

  it('special tokens are not learned from, are matched whole, and keep their ids; training is deterministic', async () => {
    const lines = LINES.slice(0, 1500).map((l, i) => (i % 3 === 0 ? `<sep>${l}` : l));
    const a = await trainUnigram(lines, { vocabSize: 700, specialTokens: ['<unk>', '<sep>'] });
    const b = await trainUnigram(lines, { vocabSize: 700, specialTokens: ['<unk>', '<sep>'] });
    assert.equal(a.toString(), b.toString());
    assert.ok(!vocabList(a).some((t) => t !== '<sep>' && t.includes('sep>')), 'no piece of "<sep>" learned');
    assert.deepEqual(a.encode('<sep>Alice').tokens.slice(0, 1), ['<sep>']);
    assert.equal(a.tokenToId('<sep>'), 1);
  });

  it('trainTokenizer({ type: "unigram" }) gives the same; minFrequency is refused with a reason', async () => {
    const a = await trainTokenizer(LINES.slice(0, 800), { type: 'unigram', vocabSize: 400 });
    const b = await trainUnigram(LINES.slice(0, 800), { vocabSize: 400 });
    assert.equal(a.toString(), b.toString());
    await assert.rejects(trainTokenizer(LINES, { type: 'unigram', vocabSize: 400, minFrequency: 2 }), /minFrequency is a BPE\/WordPiece option/);
  });

  it('reports EM progress', () => {
    const seen: Array<{ phase: string; done: number; total: number }> = [];
    const t = new UnigramTrainer({ vocabSize: 500, onProgress: (p) => seen.push(p) });
    for (const line of LINES) t.feed(line);
    t.finish();
    const rounds = seen.filter((p) => p.phase === 'merge');
    assert.ok(rounds.length > 0);
    assert.equal(rounds[rounds.length - 1]!.done, rounds[rounds.length - 1]!.total);
  });
});

describe('Unigram trainer: against Hugging Face', () => {
  it('Hugging Face loads the tokenizer.json we write and encodes exactly as we do', async () => {
    const tok = await trainUnigram(gutenbergSlices(30_000), { vocabSize: 2000, specialTokens: ['<pad>', '</s>', '<unk>'] });
    const native = hf.Tokenizer.fromString(tok.toString());
    assert.equal(native.getVocabSize(true), 2000);
    const mismatch = await firstMismatch(tok, native, [...ADVERSARIAL_SPM, ...gutenbergSlices(3_000, 0.6)]);
    assert.equal(mismatch, null, mismatch ?? '');
  });

  it("compresses text within 2% of Hugging Face's UnigramTrainer at the same vocabulary size", async () => {
    // Hugging Face's Node trainer runs with its defaults (vocab 8000, no special tokens); Alice in Wonderland
    // has fewer pieces to give, so it stops smaller. We train to that size plus our <unk>, same pipeline.
    const pipeline = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Nmt' }, { type: 'NFKC' }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] },
      pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
      post_processor: null,
      decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
      model: { type: 'Unigram', unk_id: 0, vocab: [['<unk>', 0]], byte_fallback: false },
    };
    const native = hf.Tokenizer.fromString(JSON.stringify(pipeline));
    native.train([gutenbergFile('carroll-alice.txt')]);
    const path = join(dir, 'hf.json');
    native.save(path, false);
    const trained = JSON.parse(readFileSync(path, 'utf8')) as { model: { vocab: Array<[string, number]>; unk_id: number | null } };
    trained.model.vocab.unshift(['<unk>', 0]);
    trained.model.unk_id = 0;
    const theirs = hf.Tokenizer.fromString(JSON.stringify(trained));
    const size = trained.model.vocab.length;
    assert.ok(size > 2000 && size < 8000, `Hugging Face's vocabulary has ${size} pieces`);

    const ours = await trainUnigram(LINES, { vocabSize: size });
    assert.equal(ours.vocabSize, size);
    for (const [name, texts] of [['Alice', ALICE.split('\n')], ['other books', gutenbergSlices(8_000, 0.3)]] as const) {
      let chars = 0;
      let a = 0;
      let b = 0;
      for (const t of texts) {
        chars += t.length;
        a += ours.encode(t).ids.length;
        b += (await theirs.encode(t)).getIds().length;
      }
      const ratio = a / b;
      assert.ok(ratio < 1.02, `${name}: ${(a / chars).toFixed(4)} tokens per character, Hugging Face ${(b / chars).toFixed(4)} (ratio ${ratio.toFixed(4)})`);
    }
  });
});
