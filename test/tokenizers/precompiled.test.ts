// The Precompiled normalizer's parts: the charsmap reader (against the expectations of Hugging Face's
// spm_precompiled crate, whose tests pin these values for the nmt_nfkc table), the grapheme cutting (against
// ICU's Intl.Segmenter on random mixes of the characters that make clusters), and base64.
// Whole-pipeline agreement with Hugging Face is in normalizers.test.ts and unigram.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NormalizedString } from '../../src/tokenizers/index.js';
import { base64Decode, base64Encode, forEachGrapheme, Precompiled } from '../../src/tokenizers/precompiled.js';
import { hf, unigramFixture } from './_oracle.js';

const NMT_NFKC = (JSON.parse(unigramFixture('t5-mini.tokenizer.json.gz')) as { normalizer: { normalizers: Array<{ precompiled_charsmap: string }> } }).normalizer
  .normalizers[0]!.precompiled_charsmap;

function normalize(p: Precompiled, text: string): string {
  const ns = new NormalizedString(text);
  p.normalize(ns);
  return ns.normalized;
}

describe('Precompiled: the nmt_nfkc table', () => {
  const p = Precompiled.fromBase64(NMT_NFKC);
  it("single characters, as spm_precompiled's tests expect", () => {
    assert.equal(p.charsMap.transform('\ufb01'), 'fi');
    assert.equal(p.charsMap.transform('𝔾'), 'G');
    assert.equal(p.charsMap.transform('𝕠'), 'o');
    // (spm_precompiled's own copy of the table maps U+200D to a space; the one SentencePiece 0.1.97 compiles,
    // ours, keeps the zero-width joiner, which emoji sequences need.)
    assert.equal(p.charsMap.transform('\u200d'), null);
    assert.equal(p.charsMap.transform(' '), null);
    assert.equal(p.charsMap.transform('a'), null);
  });
  it("clusters: whole-cluster lookups and their oddities, as spm_precompiled's tests expect", () => {
    // Thai: each cluster under 6 bytes has no entry, its characters are looked up one by one.
    assert.equal(normalize(p, 'เขาไม่ได้พูดสักคำ'), 'เขาไม\u0e48ได\u0e49พ\u0e39ดส\u0e31กค\u0e4dา');
    assert.equal(normalize(p, 'ड़ी दुख'), 'ड\u093cी द\u0941ख');
    // Alef + madda above (2 characters, 4 bytes) has an entry as a whole: it becomes one character.
    assert.equal(normalize(p, '\u0627\u0653'), 'آ');
  });
  it("agrees with Hugging Face's precompiled normalizer on the table's own entries", () => {
    const native = hf.precompiled([...base64Decode(NMT_NFKC)]);
    const samples = ['\u200d', '👨\u200d👩', 'ｆｕｌｌ', '①②③', '㍿㌀', '\t\n\r\u000b\u001e\u0085', 'ﾊﾟﾝ', 'Å Ω K ㎏', '\u2028\u2029\u3000', 'ǅ Ǆ ǆ'];
    for (const s of samples) assert.equal(normalize(p, s), native.normalizeString(s), JSON.stringify(s));
  });
  it('writes back the same base64', () => {
    assert.equal(p.toJSON().precompiled_charsmap, NMT_NFKC);
  });
});

describe('grapheme clusters: the shortcut cuts exactly where Intl.Segmenter does', () => {
  // Characters that build clusters: marks, viramas, spacing marks, Hangul jamo and syllables, regional
  // indicators, emoji with skin tones / ZWJ / VS16 / keycaps / tags, prepended characters, CR LF, plain text.
  const POOL = [
    'a', 'Z', ' ', '\r', '\n', '.', '\u0301', '\u0323', '\u093c', '\u094d', '\u0915', '\u0937', '\u0e01', '\u0e33', '\u0e48',
    '\u1100', '\u1161', '\u11a8', '\uac00', '\uac01', '\ud83c\uddeb', '\ud83c\uddf7', '😀', '👍', '\ud83c\udffd', '\u200d', '\u200c', '\u0600', '\u0d4e',
    '\ufe0f', '\u20e3', '#', '中', 'Ａ', '\udb40\udc67', '\u0627', '\u0653', '\u1f00',
  ];
  it('on 3000 random strings', () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    for (let t = 0; t < 3000; t++) {
      let s = '';
      const n = 1 + random(12);
      for (let k = 0; k < n; k++) s += POOL[random(POOL.length)];
      const ours: string[] = [];
      forEachGrapheme(s, (a, b) => ours.push(s.slice(a, b)));
      const theirs = [...segmenter.segment(s)].map((g) => g.segment);
      assert.deepEqual(ours, theirs, JSON.stringify(s));
    }
  });
});

describe('base64', () => {
  it('round-trips every length and matches Buffer', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      const text = base64Encode(bytes);
      assert.equal(text, Buffer.from(bytes).toString('base64'));
      assert.deepEqual(base64Decode(text), bytes);
      assert.deepEqual(base64Decode(text.replace(/=+$/, '')), bytes, 'without padding');
    }
    assert.throws(() => base64Decode('ab$d', 'charsmap'), /charsmap: not valid base64 \(character "\$" at 2\)/);
  });
});
