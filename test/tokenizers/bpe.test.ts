// Byte-level BPE building blocks, each against an outside reference: GPT-2's published byte→unicode table,
// the GPT-2 regex itself (run by the JS regex engine) for the hand-written scanner, hand-computed merges for a
// tiny vocabulary, tiktoken for special-token semantics, and Hugging Face's native tokenizers for the
// tokenizer.json model section we write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { bytesToUnicode, unicodeToBytes, bytesToByteLevel, byteLevelToBytes } from '../../src/tokenizers/byte_level.js';
import { GPT2_PATTERN, gpt2PieceEnd, splitGPT2, splitWithRegex } from '../../src/tokenizers/gpt2_pretokenize.js';
import { ByteLevelBPE, mergeWordHeap, mergeWordLinear } from '../../src/tokenizers/bpe.js';
import { PairMap } from '../../src/tokenizers/pair_map.js';
import { StreamDecoder } from '../../src/tokenizers/stream_decoder.js';
import { gpt2 } from '../../src/tokenizers/gpt2.js';

const require = createRequire(import.meta.url);

/** Deterministic PRNG (mulberry32) so that every "random" test is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("byte_level: GPT-2's table (encoder.py bytes_to_unicode) — printable bytes map to themselves, others from U+0100", () => {
  const t = bytesToUnicode();
  assert.equal(t.length, 256);
  assert.equal(new Set(t).size, 256);
  // Values from GPT-2's vocab.json: space is "Ġ", newline "Ċ", tab "ĉ", NUL "Ā", DEL "ġ", NBSP "ł", soft hyphen "Ń".
  assert.equal(t[0x20], 'Ġ');
  assert.equal(t[0x0a], 'Ċ');
  assert.equal(t[0x09], 'ĉ');
  assert.equal(t[0x00], 'Ā');
  assert.equal(t[0x7f], 'ġ');
  assert.equal(t[0xa0], 'ł');
  assert.equal(t[0xad], 'Ń');
  assert.equal(t[0x41], 'A');
  assert.equal(t[0xe9], 'é');
  const back = unicodeToBytes();
  for (let b = 0; b < 256; b++) assert.equal(back.get(t[b]!), b);
  // "—" is E2 80 94 → "âĢĶ" (as in GPT-2's vocab.json, token 960 "âĢĶ")
  assert.equal(bytesToByteLevel(new TextEncoder().encode('—')), 'âĢĶ');
  assert.deepEqual([...byteLevelToBytes('Ġthe')!], [0x20, 0x74, 0x68, 0x65]);
  assert.equal(byteLevelToBytes('a b'), undefined); // a real space is not in the alphabet
});

test('pre-tokenizer: documented examples and the regex alternatives one by one', () => {
  assert.deepEqual(splitGPT2("I'm here  now"), ['I', "'m", ' here', ' ', ' now']);
  assert.deepEqual(splitGPT2("they'll've 'S"), ['they', "'ll", "'ve", " '", 'S']); // contractions are lowercase only
  assert.deepEqual(splitGPT2('a\n\nb'), ['a', '\n', '\n', 'b']);
  assert.deepEqual(splitGPT2('end.   '), ['end', '.', '   ']); // trailing whitespace run is one piece
  assert.deepEqual(splitGPT2('x \t\ty'), ['x', ' \t', '\t', 'y']);
  assert.deepEqual(splitGPT2(' 2024!? 🙂🙂'), [' 2024', '!?', ' 🙂🙂']);
  assert.deepEqual(splitGPT2('ab12cd'), ['ab', '12', 'cd']);
  assert.deepEqual(splitGPT2(''), []);
});

test('pre-tokenizer: the hand-written scanner equals GPT2_PATTERN on 3000 random strings of tricky characters', () => {
  const pool = [
    'a', 'Z', 'é', 'ß', 'ж', '中', ' ', ' ', '\t', '\n', '\r', '\u000b', '\u0085', '\u00a0', '\u2028', '\u3000', '\ufeff',
    '1', '٣', '½', '²', '.', ',', "'", 's', 't', 'l', 'r', 'e', 'v', 'd', 'm', '😀', '👍🏽', '\u0301', '\u200d', '\ud800', '\udc00',
    '\u0000', '\u001f', '𝐀', '𝟙', '-',
  ];
  const rand = rng(42);
  for (let i = 0; i < 3000; i++) {
    let s = '';
    const n = 1 + Math.floor(rand() * 12);
    for (let k = 0; k < n; k++) s += pool[Math.floor(rand() * pool.length)];
    const viaRegex = [...s.matchAll(GPT2_PATTERN)].map((m) => m[0]);
    assert.deepEqual(splitGPT2(s), viaRegex, `input ${JSON.stringify(s)}`);
  }
});

test('pre-tokenizer: a piece never extends past `end` (segments between special tokens)', () => {
  const s = 'hello world';
  assert.equal(gpt2PieceEnd(s, 0, 3), 3);
  assert.equal(gpt2PieceEnd(s, 5, 8), 8);
  assert.equal(gpt2PieceEnd('a  ', 1, 2), 2); // a lone trailing space at the segment end is whole
});

test('splitWithRegex keeps the text between matches (nothing is dropped)', () => {
  assert.deepEqual(splitWithRegex('ab, cd', /\p{L}+/gu), [[0, 2], [2, 4], [4, 6]]);
});

/** A tiny vocabulary, small enough to apply the merges by hand. */
function tinyBPE(): ByteLevelBPE {
  const alphabet = bytesToUnicode();
  const vocab = new Map<string, number>();
  for (let b = 0; b < 256; b++) vocab.set(alphabet[b]!, b); // ids = byte values here
  const merges: Array<[string, string]> = [
    ['l', 'o'], // rank 0 → "lo" 256
    ['lo', 'w'], // rank 1 → "low" 257
    ['e', 'r'], // rank 2 → "er" 258
    ['Ġ', 'low'], // rank 3 → "Ġlow" 259
    ['low', 'er'], // rank 4 → "lower" 260
    ['a', 'a'], // rank 5 → "aa" 261
  ];
  let id = 256;
  for (const [a, b] of merges) vocab.set(a + b, id++);
  vocab.set('<|end|>', id);
  return new ByteLevelBPE({ vocab, merges, specialTokens: new Map([['<|end|>', id]]) });
}

test('ByteLevelBPE on a hand-made vocabulary: merges applied lowest rank first, leftmost first', () => {
  const bpe = tinyBPE();
  // "lower": l o w e r → (l,o) rank 0 → lo w e r → (lo,w) rank 1 → low e r → (e,r) rank 2 → low er → rank 4 → lower
  assert.deepEqual(bpe.encode('lower'), [260]);
  // " lowest": Ġ l o w e s t → lo → low → (Ġ,low) rank 3 → Ġlow e s t; (e,s) has no merge
  assert.deepEqual(bpe.encode(' lowest'), [259, 0x65, 0x73, 0x74]);
  // "aaa": (a,a) twice, overlapping: the leftmost merges first → "aa" + "a"
  assert.deepEqual(bpe.encode('aaa'), [261, 0x61]);
  assert.deepEqual(bpe.encode('aaaa'), [261, 261]);
  assert.equal(bpe.vocabSize, 263);
  assert.equal(bpe.decode([259, 0x65, 0x73, 0x74]), ' lowest');
  assert.equal(bpe.tokenToId('Ġlow'), 259);
  assert.equal(bpe.idToToken(259), 'Ġlow');
  assert.equal(bpe.idToToken(262), '<|end|>');
});

test('mergeWordLinear and mergeWordHeap agree on random words, including long ones', () => {
  // Random merges over a 4-letter alphabet: merge r joins two existing ids into 4 + r.
  const rand = rng(7);
  const ranks = new PairMap();
  const nMerges = 60;
  const mergedId = new Int32Array(nMerges);
  for (let r = 0; r < nMerges; r++) {
    let a: number;
    let b: number;
    do {
      a = Math.floor(rand() * (4 + r));
      b = Math.floor(rand() * (4 + r));
    } while (ranks.get(a, b) >= 0);
    ranks.set(a, b, r);
    mergedId[r] = 4 + r;
  }
  for (let i = 0; i < 500; i++) {
    const n = 1 + Math.floor(rand() * (i < 400 ? 20 : 400));
    const word = Int32Array.from({ length: n }, () => Math.floor(rand() * 4));
    const a = word.slice();
    const b = word.slice();
    const na = mergeWordLinear(a, n, ranks, mergedId);
    const nb = mergeWordHeap(b, n, ranks, mergedId);
    assert.deepEqual([...b.subarray(0, nb)], [...a.subarray(0, na)], `word ${[...word].join(',')}`);
  }
});

test('fromVocabMerges reads vocab.json + merges.txt (with the #version line); bad lines are named', () => {
  const bpe = tinyBPE();
  const vocabJson = JSON.stringify(Object.fromEntries(bpe.vocab));
  const mergesTxt = '#version: 0.2\n' + bpe.merges.map(([a, b]) => `${a} ${b}`).join('\n') + '\n';
  const again = ByteLevelBPE.fromVocabMerges(vocabJson, mergesTxt, ['<|end|>']);
  assert.deepEqual(again.encode('lower lowest<|end|>', { allowedSpecial: 'all' }), bpe.encode('lower lowest<|end|>', { allowedSpecial: 'all' }));
  assert.throws(() => ByteLevelBPE.fromVocabMerges(vocabJson, '#version: 0.2\nl o w\n'), /merges\.txt line 2 is "l o w"/);
  assert.throws(() => ByteLevelBPE.fromVocabMerges(vocabJson, 'q z\n'), /merge #0 \("q" "z"\) uses "qz", which is not in the vocab/);
});

test('fromModelJSON accepts merges as "a b" strings and as pairs; toModelJSON writes pairs', () => {
  const bpe = tinyBPE();
  const json = bpe.toModelJSON();
  assert.equal(json.type, 'BPE');
  assert.deepEqual(json.merges[3], ['Ġ', 'low']);
  const asStrings = { ...json, merges: json.merges.map(([a, b]) => `${a} ${b}`) };
  for (const model of [json, asStrings]) {
    const back = ByteLevelBPE.fromModelJSON(JSON.parse(JSON.stringify(model)), { specialTokens: ['<|end|>'] });
    assert.deepEqual(back.encode(' lower aaa<|end|>', { allowedSpecial: 'all' }), [259, 258, 0x20, 261, 0x61, 262]);
  }
  assert.throws(() => ByteLevelBPE.fromModelJSON({ ...json, type: 'WordPiece' }), /model type is "WordPiece"; expected "BPE"/);
  assert.throws(() => ByteLevelBPE.fromModelJSON({ ...json, merges: [['a']] }), /merges\[0\] is \["a"\]/);
});

test("Hugging Face's native tokenizers loads gpt2().toModelJSON() and encodes like attn", async () => {
  const { Tokenizer } = require('tokenizers') as typeof import('tokenizers');
  const bpe = gpt2();
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: bpe.toModelJSON(),
  };
  const hf = Tokenizer.fromString(JSON.stringify(tokenizerJson));
  const samples = [
    "Hello world! It's 2024, isn't it?  Spaces\tand\nnewlines\r\n",
    '日本語のテキスト 😀👍🏽 café naïve — “quotes”',
    'x'.repeat(300) + ' ' + '1234567890'.repeat(5),
    'end of one<|endoftext|>start of next',
  ];
  for (const s of samples) {
    const enc = await hf.encode(s);
    assert.deepEqual(bpe.encode(s, { allowedSpecial: 'all' }), enc.getIds(), JSON.stringify(s));
  }
  // Oniguruma's \s (Hugging Face) is Unicode White_Space like Rust's (tiktoken): U+0085 in, U+FEFF out.
  const pool = ['a', ' ', '  ', '\t', '\n', '\u0085', '\ufeff', '\u00a0', '\u3000', '1', '.', "'s", 'é', '😀', '\u0000'];
  const rand = rng(99);
  for (let i = 0; i < 300; i++) {
    let s = '';
    for (let k = 1 + Math.floor(rand() * 10); k > 0; k--) s += pool[Math.floor(rand() * pool.length)];
    assert.deepEqual(bpe.encodeOrdinary(s), (await hf.encode(s)).getIds(), JSON.stringify(s));
  }
});

test('special tokens follow tiktoken: disallowed by default (error names token and index), allowed on request', async () => {
  const { get_encoding } = require('tiktoken') as typeof import('tiktoken');
  const tk = get_encoding('r50k_base');
  const bpe = gpt2();
  const text = 'Hello<|endoftext|> world';
  assert.throws(() => bpe.encode(text), /special token "<\|endoftext\|>" at index 5/);
  assert.throws(() => tk.encode(text)); // tiktoken refuses too
  assert.deepEqual(bpe.encode(text, { allowedSpecial: 'all' }), [...tk.encode(text, 'all')]);
  assert.deepEqual(bpe.encode(text, { allowedSpecial: new Set(['<|endoftext|>']) }), [...tk.encode(text, ['<|endoftext|>'])]);
  assert.deepEqual(bpe.encode(text, { disallowedSpecial: new Set() }), [...tk.encode(text, [], [])]);
  assert.deepEqual(bpe.encodeOrdinary(text), [...tk.encode_ordinary(text)]);
  assert.ok(bpe.encode(text, { allowedSpecial: 'all' }).includes(50256));
  assert.ok(!bpe.encodeOrdinary(text).includes(50256));
  assert.throws(() => bpe.encode('x', { allowedSpecial: new Set(['<|nope|>']) }), /allowedSpecial names "<\|nope\|>", which is not a special token/);
  tk.free();
});

test('encodeWithOffsets: UTF-16 spans; a token holding part of a character gets the whole character', () => {
  const bpe = gpt2();
  const text = 'Hi 😀 日本<|endoftext|>!';
  const { ids, offsets } = bpe.encodeWithOffsets(text, { allowedSpecial: 'all' });
  assert.deepEqual(ids, bpe.encode(text, { allowedSpecial: 'all' }));
  assert.equal(offsets.length, ids.length);
  // Every token's bytes are inside its span: decoding the span's text contains the token's bytes run.
  const spans = offsets.map(([a, b]) => text.slice(a, b));
  assert.equal(spans[0], 'Hi');
  assert.ok(spans.includes('<|endoftext|>'));
  assert.equal(spans[spans.length - 1], '!');
  // 😀 is F0 9F 98 80: GPT-2 splits " 😀" into ' \xf0\x9f\x98' and '\x80' — both spans cover the emoji.
  const emojiTokens = offsets.map((o, i) => [o, ids[i]] as const).filter(([[a, b]]) => text.slice(a, b).includes('😀'));
  assert.ok(emojiTokens.length >= 2);
  for (const [[a, b]] of emojiTokens) assert.ok(text.slice(a, b) === '😀' || text.slice(a, b) === ' 😀');
  // By hand for 'Hi 😀 日本' (tokens "Hi" " \xf0\x9f\x98" "\x80" " \xe6" "\x97" "\xa5" "\xe6\x9c" "\xac"):
  // a token gets the span of every character it touches, so byte pieces of 😀 (3..5) and 日 (6..7) share spans.
  assert.deepEqual(bpe.encodeWithOffsets('Hi 😀 日本').offsets, [[0, 2], [2, 5], [3, 5], [5, 7], [6, 7], [6, 7], [7, 8], [7, 8]]);
  // Spans are in order and within the text.
  for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i]![0] >= offsets[i - 1]![0]);
  for (const [a, b] of offsets) assert.ok(0 <= a && a < b && b <= text.length);
});

test('decode/decodeBytes: exact bytes; unknown ids are an error that names the id', () => {
  const bpe = gpt2();
  const ids = bpe.encodeOrdinary('naïve 🙂');
  assert.deepEqual([...bpe.decodeBytes(ids)], [...new TextEncoder().encode('naïve 🙂')]);
  assert.equal(bpe.decode(ids), 'naïve 🙂');
  assert.equal(bpe.decode(bpe.encodeOrdinary('\ufeffBOM kept')), '\ufeffBOM kept');
  assert.throws(() => bpe.decode([1, 50257]), /id 50257 at position 1 is not a token id \(vocab size 50257\)/);
});

test('StreamDecoder holds back incomplete UTF-8 and never emits a partial character', () => {
  const bpe = gpt2();
  const text = 'Stream 😀👍🏽 日本語 ok';
  const ids = bpe.encodeOrdinary(text);
  const dec = new StreamDecoder(bpe);
  const pieces = ids.map((id) => dec.push(id));
  pieces.push(dec.flush());
  assert.equal(pieces.join(''), text);
  for (const p of pieces) assert.ok(!p.includes('\uFFFD'), `piece ${JSON.stringify(p)}`);
  // The emoji needs several tokens: the first of them returns '' (held back).
  assert.ok(pieces.some((p) => p === ''));
  // An unfinished character at the end becomes U+FFFD on flush.
  const partial = new StreamDecoder(bpe);
  const first = bpe.encodeOrdinary('😀')[0]!;
  assert.equal(partial.push(first), '');
  assert.equal(partial.flush(), '\uFFFD');
});

test('special tokens that overlap: the longer one wins where both match', () => {
  const alphabet = bytesToUnicode();
  const vocab = new Map<string, number>(alphabet.map((ch, b) => [ch, b] as [string, number]));
  const bpe = new ByteLevelBPE({ vocab, merges: [], specialTokens: new Map([['<|x|>', 256], ['<|x|>!', 257]]) });
  assert.deepEqual(bpe.encode('a<|x|>!<|x|>', { allowedSpecial: 'all' }), [0x61, 257, 256]);
  assert.deepEqual(bpe.encode('a<|x|>!', { allowedSpecial: new Set(['<|x|>']), disallowedSpecial: new Set() }), [0x61, 256, 0x21]);
});

test("ignoreMerges (tokenizer.json ignore_merges, Llama 3) emits a whole-piece vocab token, like Hugging Face's", async () => {
  const { Tokenizer } = require('tokenizers') as typeof import('tokenizers');
  const alphabet = bytesToUnicode();
  const vocab = new Map<string, number>(alphabet.map((ch, b) => [ch, b] as [string, number]));
  vocab.set('ab', 256);
  vocab.set('abc', 257); // no merge produces it: only ignore_merges can reach it
  const merges: Array<[string, string]> = [['a', 'b']];
  for (const ignoreMerges of [false, true]) {
    const bpe = new ByteLevelBPE({ vocab, merges, ignoreMerges });
    const json = {
      version: '1.0',
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: null,
      model: bpe.toModelJSON(),
    };
    const hf = Tokenizer.fromString(JSON.stringify(json));
    for (const s of ['abc', 'abcd abc', 'xabc']) assert.deepEqual(bpe.encode(s), (await hf.encode(s)).getIds(), `${s} ignoreMerges=${ignoreMerges}`);
  }
  assert.deepEqual(new ByteLevelBPE({ vocab, merges, ignoreMerges: true }).encode('abc'), [257]);
  assert.deepEqual(new ByteLevelBPE({ vocab, merges }).encode('abc'), [256, 0x63]);
});
