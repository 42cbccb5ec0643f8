// Normalizers and pre-tokenizers, compared with Hugging Face's native tokenizers: the normalized text, and the
// ORIGINAL-text offsets of every character after normalization (the alignment that NER and QA depend on).
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
import { fromNative, fromOurs, hf, toUtf16 } from './_oracle.js';

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
    assert.throws(() => normalizerFromJSON({ type: 'Precompiled' }), /normalizer: type "Precompiled" is not supported; supported normalizers: BertNormalizer, .*NFKC/);
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
];

const PRE_TEXTS: readonly string[] = [
  'Hey friend!     How are you?!?',
  'the-final--countdown ---x-',
  'a123b4 ١٢٣ 3.14',
  "ça_va? l'été — «oui» 😀!",
  '  leading and trailing  ',
  '',
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
        const got = mine.preTokenize(text, [{ start: 0, end: text.length }]);
        assert.deepEqual(
          got.map((w) => [text.slice(w.start, w.end), [w.start, w.end]]),
          want.map(([w], i) => [w, wantOffsets[i]]),
          JSON.stringify(text),
        );
      }
    });
  }

  it('unknown pre-tokenizer type: error names it and lists the supported ones', () => {
    assert.throws(() => preTokenizerFromJSON({ type: 'Metaspace' }), /pre_tokenizer: type "Metaspace" is not supported; supported pre-tokenizers: BertPreTokenizer/);
    assert.throws(
      () => preTokenizerFromJSON({ type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Removed' }),
      /only literal patterns \{"String": "..."\} are supported/,
    );
  });
});
