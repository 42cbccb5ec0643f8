// BERT's character classes (control, whitespace, non-spacing mark, punctuation, CJK) and the NFD step of
// "strip accents", compared with Hugging Face's native tokenizers character by character: the whole Basic
// Multilingual Plane, every 29th code point above it, and every code point of the correction lists in
// src/tokenizers/unicode_classes.ts (where JavaScript's Unicode tables and HF's older ones disagree).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BertNormalizer, BertPreTokenizer, NormalizedString, StripAccents } from '../../src/tokenizers/index.js';
import { hf } from './_oracle.js';

function codePoints(): number[] {
  const out: number[] = [];
  for (let cp = 0; cp < 0x10000; cp++) out.push(cp);
  for (let cp = 0x10000; cp <= 0x10ffff; cp += 29) out.push(cp);
  // Every code point where JavaScript and HF disagree before correction (the lists' ranges), and around them.
  const extra = [
    [0x890, 0x8e2], [0x110c0, 0x110d0], [0x13430, 0x13460], [0x105c0, 0x105f0], [0x11380, 0x113e5], [0x11930, 0x11946],
    [0x16100, 0x1612f], [0x16d40, 0x16d7f], [0x1734, 0x1734], [0x1171e, 0x1171e], [0x10d24, 0x10d6f], [0x1e000, 0x1e0ff],
    [0x1cf00, 0x1cf46], [0x1cf0, 0x1cf9], [0x1e944, 0x1e95f], [0x1ccd6, 0x1ccf9], [0x1fbf0, 0x1fbf9], [0x10780, 0x107ba], [0x11f00, 0x11f5a],
  ];
  for (const [a, b] of extra) for (let cp = a; cp <= b; cp++) out.push(cp);
  return out.filter((cp) => cp < 0xd800 || cp > 0xdfff);
}

function ours(normalizer: BertNormalizer, s: string): string {
  const ns = new NormalizedString(s);
  normalizer.normalize(ns);
  return ns.normalized;
}

describe('BERT character classes match Hugging Face code point by code point', () => {
  const cps = codePoints();

  it('clean text (controls dropped, whitespace -> space)', () => {
    const theirs = hf.bertNormalizer({ cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false });
    const mine = new BertNormalizer({ clean_text: true, handle_chinese_chars: false, strip_accents: false, lowercase: false });
    for (const cp of cps) {
      const s = 'a' + String.fromCodePoint(cp) + 'b';
      assert.equal(ours(mine, s), theirs.normalizeString(s), `U+${cp.toString(16)}`);
    }
  });

  it('strip accents (NFD, then drop non-spacing marks)', () => {
    const theirs = hf.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false });
    const mine = new BertNormalizer({ clean_text: false, handle_chinese_chars: false, strip_accents: true, lowercase: false });
    for (const cp of cps) {
      const s = 'a' + String.fromCodePoint(cp);
      assert.equal(ours(mine, s), theirs.normalizeString(s), `U+${cp.toString(16)}`);
    }
  });

  it('lowercase and CJK spacing', () => {
    const theirs = hf.bertNormalizer({ cleanText: false, handleChineseChars: true, stripAccents: false, lowercase: true });
    const mine = new BertNormalizer({ clean_text: false, handle_chinese_chars: true, strip_accents: false, lowercase: true });
    for (const cp of cps) {
      const s = String.fromCodePoint(cp);
      assert.equal(ours(mine, s), theirs.normalizeString(s), `U+${cp.toString(16)}`);
    }
  });

  it('the standalone StripAccents normalizer (every combining mark, not only Mn)', () => {
    const theirs = hf.stripAccentsNormalizer();
    const mine = new StripAccents();
    for (const cp of cps) {
      const ns = new NormalizedString('a' + String.fromCodePoint(cp));
      mine.normalize(ns);
      assert.equal(ns.normalized, theirs.normalizeString('a' + String.fromCodePoint(cp)), `U+${cp.toString(16)}`);
    }
  });

  it('punctuation and whitespace splits of the BERT pre-tokenizer', () => {
    const theirs = hf.bertPreTokenizer();
    const mine = new BertPreTokenizer();
    for (const cp of cps) {
      const s = 'a' + String.fromCodePoint(cp) + 'b';
      const want = theirs.preTokenizeString(s).map(([w]) => w);
      const got = mine.preTokenize(s, [{ start: 0, end: s.length }]).map((w) => s.slice(w.start, w.end));
      assert.deepEqual(got, want, `U+${cp.toString(16)}`);
    }
  });
});
