// Normalizers and pre-tokenizers, compared with Hugging Face's native tokenizers: the normalized text, and the
// ORIGINAL-text offsets of every character after normalization (the alignment that NER and QA depend on).
// Precompiled runs two real SentencePiece tables: T5's nmt_nfkc and a small one of our own (spm-rules).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  NormalizedString,
  normalizerFromJSON,
  preTokenizerFromJSON,
  Tokenizer,
  type NormalizerJSON,
  type PreTokenizerJSON,
} from '../../src/tokenizers/index.js';
import { wordText } from '../../src/tokenizers/pre_tokenizers.js';
import { fromNative, fromOurs, hf, toUtf16, unigramFixture } from './_oracle.js';

/** The nmt_nfkc charsmap of the T5 fixture and the small table of spm-rules, as tokenizer.json base64. */
const NMT_NFKC = ((JSON.parse(unigramFixture('t5-mini.tokenizer.json.gz')) as { normalizer: { normalizers: Array<{ precompiled_charsmap: string }> } })
  .normalizer.normalizers[0]!.precompiled_charsmap);
const RULES = (JSON.parse(unigramFixture('spm-expected.json')) as Record<string, { normalizer: { precompiled_charsmap: string } }>)['spm-rules']!
  .normalizer.precompiled_charsmap;

const TEXTS: readonly string[] = [
  'Héllo WÖRLD',
  'e\u0301 a\u0301\u0323 o\u0308\u0304 decomposed',
  'ﬁne ﬂow Ǆ ㎏ ①②',
  '한국어 \u1100\u1161\u11a8 jamo',
  '  padded  ',
  'İstanbul ΣΑΣ Straße',
  'ｆｕｌｌｗｉｄｔｈ ＡＢＣ',
  'emoji 😀 and 𝒜 math',
  'a\u302f\u0325b mixed classes',
  '``quoted\'\' text``',
  'tab\tnew\nline\r\nCR \u200b\u200d\ufeff\u2581 \u0001\u007f',
  'ｅ\u0301 ™\u001eg \u001eabc e\u0301 a\u0300 o\u0308 ﬁ ﬂ \u2019\u201c\u201d',
  'เขาไม่ได้พูดสักคำ ड़ी दुख \u0627\u0653',
  'a  b   c \u3000\u3000 ㍿ ①',
  '👨‍👩‍👧 🇫🇷 1️⃣',
];

const NORMALIZERS: ReadonlyArray<NormalizerJSON> = [
  { type: 'Lowercase' },
  { type: 'NFD' },
  { type: 'NFKD' },
  { type: 'NFC' },
  { type: 'NFKC' },
  { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' }] },
  { type: 'Strip', strip_left: true, strip_right: true },
  { type: 'Replace', pattern: { String: '``' }, content: '"' },
  { type: 'Prepend', prepend: '▁' },
  { type: 'Replace', pattern: { Regex: ' {2,}' }, content: '▁' },
  { type: 'Replace', pattern: { Regex: '[\\u200b-\\u200d]|e\u0301' }, content: '' },
  { type: 'Nmt' },
  { type: 'Precompiled', precompiled_charsmap: NMT_NFKC },
  { type: 'Precompiled', precompiled_charsmap: RULES },
  {
    type: 'Sequence',
    normalizers: [
      { type: 'Precompiled', precompiled_charsmap: NMT_NFKC },
      { type: 'Strip', strip_left: false, strip_right: true },
      { type: 'Replace', pattern: { Regex: ' {2,}' }, content: '▁' },
    ],
  },
  { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false },
  { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: true, lowercase: false },
];

/** The normalized text our normalizer produces. */
function normalize(json: NormalizerJSON, text: string): string {
  const ns = new NormalizedString(text);
  normalizerFromJSON(json).normalize(ns);
  return ns.normalized;
}

/**
 * A tokenizer whose model turns every character into its own token (a WordPiece vocabulary of all characters),
 * so the offsets of its tokens are the alignment of every normalized character.
 */
function charTokenizerJSON(normalizer: NormalizerJSON): string {
  const chars = new Set<string>();
  for (const t of TEXTS) for (const ch of normalize(normalizer, t)) chars.add(ch);
  const vocab: Record<string, number> = { '[UNK]': 0 };
  for (const ch of chars) {
    vocab[ch] ??= Object.keys(vocab).length;
    vocab['##' + ch] ??= Object.keys(vocab).length;
  }
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer,
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  });
}

describe('normalizers: same text and same offsets as Hugging Face', () => {
  for (const json of NORMALIZERS) {
    it(JSON.stringify(json), async () => {
      const doc = charTokenizerJSON(json);
      const native = hf.Tokenizer.fromString(doc);
      const mine = Tokenizer.fromJSON(doc);
      const theirNormalizer = native.getNormalizer();
      assert.ok(theirNormalizer, 'native normalizer');
      for (const text of TEXTS) {
        assert.equal(normalize(json, text), theirNormalizer.normalizeString(text), `normalized ${JSON.stringify(text)}`);
        assert.deepEqual(fromOurs(mine.encode(text)), fromNative(await native.encode(text), text), `offsets ${JSON.stringify(text)}`);
      }
    });
  }

  it('NFD keeps alignment while reordering marks (U+302F before U+0325 swaps)', () => {
    const ns = new NormalizedString('a\u302f\u0325');
    normalizerFromJSON({ type: 'NFD' }).normalize(ns);
    assert.equal(ns.normalized, 'a\u0325\u302f');
    // Positions keep their alignment; the characters move (Hugging Face's convention).
    assert.deepEqual([...ns.alignStart], [0, 1, 2]);
  });

  it('unknown normalizer type: error names it and lists the supported ones', () => {
    assert.throws(() => normalizerFromJSON({ type: 'ByteLevel' }), /normalizer: type "ByteLevel" is not supported; supported normalizers: BertNormalizer, .*NFKC.*Precompiled/);
    assert.throws(() => normalizerFromJSON({ type: 'Precompiled', precompiled_charsmap: null }), /"precompiled_charsmap" must be the base64 text .* re-convert it/);
    assert.throws(() => normalizerFromJSON({ type: 'Precompiled', precompiled_charsmap: 'AQ' }), /too short to hold the trie size/);
    assert.throws(() => normalizerFromJSON({ type: 'Precompiled', precompiled_charsmap: 'AAEAAA==' }), /the trie claims 256 bytes but only 0 follow/);
    assert.throws(() => normalizerFromJSON({ type: 'Replace', pattern: { Regex: '(' }, content: '' }), /cannot compile the regex "\("/);
  });
});

const PRE_TOKENIZERS: ReadonlyArray<{ json: PreTokenizerJSON; native: () => InstanceType<typeof hf.PreTokenizer> }> = [
  { json: { type: 'BertPreTokenizer' }, native: () => hf.bertPreTokenizer() },
  { json: { type: 'Whitespace' }, native: () => hf.whitespacePreTokenizer() },
  { json: { type: 'WhitespaceSplit' }, native: () => hf.whitespaceSplitPreTokenizer() },
  { json: { type: 'Punctuation', behavior: 'Isolated' }, native: () => hf.punctuationPreTokenizer('isolated') },
  { json: { type: 'Punctuation', behavior: 'Removed' }, native: () => hf.punctuationPreTokenizer('removed') },
  { json: { type: 'Punctuation', behavior: 'MergedWithPrevious' }, native: () => hf.punctuationPreTokenizer('mergedWithPrevious') },
  { json: { type: 'Punctuation', behavior: 'MergedWithNext' }, native: () => hf.punctuationPreTokenizer('mergedWithNext') },
  { json: { type: 'Punctuation', behavior: 'Contiguous' }, native: () => hf.punctuationPreTokenizer('contiguous') },
  { json: { type: 'Digits', individual_digits: false }, native: () => hf.digitsPreTokenizer(false) },
  { json: { type: 'Digits', individual_digits: true }, native: () => hf.digitsPreTokenizer(true) },
  { json: { type: 'Split', pattern: { String: '--' }, behavior: 'Contiguous', invert: false }, native: () => hf.splitPreTokenizer('--', 'contiguous') },
  { json: { type: 'Split', pattern: { String: '-' }, behavior: 'MergedWithNext', invert: false }, native: () => hf.splitPreTokenizer('-', 'mergedWithNext') },
  { json: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }, native: () => hf.metaspacePreTokenizer('▁', 'always', true) },
  { json: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true }, native: () => hf.metaspacePreTokenizer('▁', 'first', true) },
  { json: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: true }, native: () => hf.metaspacePreTokenizer('▁', 'never', true) },
  { json: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false }, native: () => hf.metaspacePreTokenizer('▁', 'always', false) },
  { json: { type: 'Metaspace', replacement: '_', prepend_scheme: 'always', split: true }, native: () => hf.metaspacePreTokenizer('_', 'always', true) },
  { json: { type: 'Metaspace', replacement: '😀', prepend_scheme: 'always', split: true }, native: () => hf.metaspacePreTokenizer('😀', 'always', true) },
  {
    json: { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true }] },
    native: () => hf.sequencePreTokenizer([hf.whitespaceSplitPreTokenizer(), hf.metaspacePreTokenizer('▁', 'first', true)]),
  },
  {
    json: { type: 'Sequence', pretokenizers: [{ type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false }, { type: 'Punctuation', behavior: 'Isolated' }] },
    native: () => hf.sequencePreTokenizer([hf.metaspacePreTokenizer('▁', 'always', false), hf.punctuationPreTokenizer('isolated')]),
  },
];

const PRE_TEXTS: readonly string[] = [
  'Hey friend!     How are you?!?',
  'the-final--countdown ---x-',
  'a123b4 ١٢٣ 3.14',
  "ça_va? l'été — «oui» 😀!",
  '  leading and trailing  ',
  '',
  '▁already▁marked _under_score',
  'x  y\u2581 😀z',
];

describe('pre-tokenizers: same words and offsets as Hugging Face', () => {
  for (const { json, native } of PRE_TOKENIZERS) {
    it(JSON.stringify(json), () => {
      const mine = preTokenizerFromJSON(json);
      const theirs = native();
      for (const text of PRE_TEXTS) {
        const want = theirs.preTokenizeString(text);
        const wantOffsets = toUtf16(
          text,
          want.map(([, o]) => o),
        );
        const got = mine.preTokenize(text, [{ start: 0, end: text.length }], (u) => u);
        assert.deepEqual(
          got.map((w) => [wordText(text, w), [w.start, w.end]]),
          want.map(([w], i) => [w, wantOffsets[i]]),
          JSON.stringify(text),
        );
      }
    });
  }

  it('unknown pre-tokenizer type: error names it and lists the supported ones', () => {
    assert.throws(() => preTokenizerFromJSON({ type: 'UnicodeScripts' }), /pre_tokenizer: type "UnicodeScripts" is not supported; supported pre-tokenizers: BertPreTokenizer.*Metaspace/);
    assert.throws(
      () => preTokenizerFromJSON({ type: 'Metaspace', replacement: '▁', add_prefix_space: false, prepend_scheme: 'always' }),
      /"add_prefix_space": false contradicts "prepend_scheme": "always"/,
    );
    assert.throws(() => preTokenizerFromJSON({ type: 'Metaspace', replacement: 'ab' }), /"replacement" must be one character/);
    assert.throws(
      () => preTokenizerFromJSON({ type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Removed' }),
      /only literal patterns \{"String": "..."\} are supported/,
    );
  });
});
