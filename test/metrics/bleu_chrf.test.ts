// BLEU and chrF on cases worked by hand from sacreBLEU's definitions (bleu.ts and chrf.ts headers). The same
// numbers come out of sacreBLEU 2.6.0 itself; golden.test.ts checks ~80 more generated cases against it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bleuSignature, corpusBleu, corpusChrf, formatBleu, sentenceBleu, sentenceChrf, tokenize13a, tokenizeChar, tokenizeIntl, chrfSignature } from '../../src/metrics/index.js';

const close = (a: number, b: number, what = ''): void => assert.ok(Math.abs(a - b) < 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('13a tokenisation: punctuation split off, numbers with separators kept, entities unescaped', () => {
  // Rule 1 spaces out ASCII symbols except ' , - . ($ here). Periods and commas are split off unless they sit
  // between digits: "3.14" and "1,000" stay, "3.14," loses its comma, "i.e." splits, the final "." splits.
  assert.equal(tokenize13a('It costs $3.14, i.e. 1,000 euros.'), 'It costs $ 3.14 , i . e . 1,000 euros .');
  // A period after digits at the very end still splits, thanks to the spaces 13a puts around the line.
  assert.equal(tokenize13a('in 2019.'), 'in 2019 .');
  // &amp; → & (then split as a symbol); a dash after a digit splits; <skipped> vanishes.
  assert.equal(tokenize13a('A &amp; B 7-8 <skipped>x'), 'A & B 7 - 8 x');
  assert.equal(tokenize13a("don't co-op"), "don't co-op"); // ' and - between letters stay
});

test('intl and char tokenisation', () => {
  // Unicode punctuation (« » ! are \p{P}) splits unless it is between digits; symbols (\p{S}: €) always split.
  assert.equal(tokenizeIntl('«Bonjour»! 3,5€'), '« Bonjour » ! 3,5 €');
  assert.equal(tokenizeChar('ab 😀'), 'a b   😀'); // one token per code point; the space becomes an empty gap
});

test('corpus BLEU, worked by hand: the cat sat on the mat / the cat is on the mat', () => {
  // hyp: the cat sat on the mat (6 tokens)     ref: the cat is on the mat (6 tokens)
  // 1-grams: the×2 cat on mat match, sat does not        correct 5 of 6
  // 2-grams: the cat, on the, the mat match              correct 3 of 5
  // 3-grams: on the mat                                   correct 1 of 4
  // 4-grams: none                                         correct 0 of 3 → exp smoothing: 100 / (2·3)
  // p = 83.33, 60, 25, 16.67; c = r = 6 → BP = 1
  // BLEU = (100⁴ · 5/6 · 3/5 · 1/4 · 1/6)^(1/4) = 100 · (1/48)^(1/4) = 37.9918
  const s = corpusBleu(['the cat sat on the mat'], [['the cat is on the mat']]);
  assert.deepEqual(s.counts, [5, 3, 1, 0]);
  assert.deepEqual(s.totals, [6, 5, 4, 3]);
  close(s.precisions[3], 100 / 6, 'p4');
  assert.equal(s.bp, 1);
  close(s.score, 100 * 48 ** -0.25, 'BLEU');
  assert.equal(s.signature, 'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0');
  assert.equal(formatBleu(s), 'BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 38.0 83.3/60.0/25.0/16.7 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)');
});

test('brevity penalty, effective order, clipping and the closest reference length', () => {
  // hyp "the cat" vs "the cat sat on the mat": c = 2, r = 6, BP = e^(1 − 6/2) = e^−2. There are no 3-grams in
  // the hypothesis, so corpus BLEU (all four orders) is 0; sentence BLEU averages orders 1–2 only:
  // p1 = p2 = 100 → BLEU = 100 · e^−2 = 13.5335.
  assert.equal(corpusBleu(['the cat'], [['the cat sat on the mat']]).score, 0);
  const s = sentenceBleu('the cat', ['the cat sat on the mat']);
  close(s.bp, Math.exp(-2), 'BP');
  close(s.score, 100 * Math.exp(-2), 'sentence BLEU');
  assert.ok(s.signature.includes('eff:yes'));
  // Clipping: "the" occurs 4 times but at most once in the reference → p1 = 1/4. Then exp smoothing halves the
  // credit each time an order has no match: p2 = 100/(2·3), p3 = 100/(4·2), p4 = 100/(8·1).
  const c = corpusBleu(['the the the the'], [['the cat']]);
  assert.deepEqual(c.counts, [1, 0, 0, 0]);
  [25, 100 / 6, 12.5, 12.5].forEach((p, i) => close(c.precisions[i], p, `p${i + 1}`));
  close(c.score, (25 * (100 / 6) * 12.5 * 12.5) ** 0.25, 'smoothed BLEU');
  // Closest reference length: hypothesis of 5 tokens, references of 4 and 6 are equally close → the shorter, 4.
  const m = corpusBleu(['a b c d e'], [['a b c d'], ['a b c d e f']]);
  assert.equal(m.refLen, 4);
  assert.equal(m.bp, 1);
  assert.ok(m.signature.startsWith('nrefs:2|'));
});

test('smoothing variants, lowercase, and their signatures', () => {
  // Without smoothing an order with no match makes BLEU 0; floor gives it 100·0.1/total.
  assert.equal(corpusBleu(['the the the the'], [['the cat']], { smooth: 'none' }).score, 0);
  const f = corpusBleu(['the the the the'], [['the cat']], { smooth: 'floor' });
  [25, 10 / 3, 5, 10].forEach((p, i) => close(f.precisions[i], p, `floor p${i + 1}`));
  // add-k (k = 1) adds one to correct and total for n > 1: p2 = 100·1/4, p3 = 100·1/3, p4 = 100·1/2.
  const k = corpusBleu(['the the the the'], [['the cat']], { smooth: 'add-k' });
  assert.deepEqual(k.counts, [1, 1, 1, 1]);
  assert.deepEqual(k.totals, [4, 4, 3, 2]);
  assert.equal(bleuSignature('1', { smooth: 'floor' }), 'nrefs:1|case:mixed|eff:no|tok:13a|smooth:floor[0.10]|version:2.6.0');
  assert.equal(bleuSignature('var', { smooth: 'add-k', lowercase: true, tokenize: 'intl' }), 'nrefs:var|case:lc|eff:no|tok:intl|smooth:add-k[1.00]|version:2.6.0');
  close(corpusBleu(['The Cat'], [['the cat']], { lowercase: true, effectiveOrder: true }).score, 100, 'lowercase');
  // A null reference lets a segment have fewer references: the signature then says nrefs:var.
  assert.ok(corpusBleu(['a b', 'c d'], [['a b', 'c d'], ['a b', null]]).signature.startsWith('nrefs:var|'));
});

test('BLEU input errors name what is wrong', () => {
  assert.throws(() => corpusBleu(['a', 'b'], [['a']]), /reference stream 1 has 1 segments but there are 2 hypotheses/);
  assert.throws(() => corpusBleu([], [[]]), /no hypotheses/);
  assert.throws(() => corpusBleu(['a'], [['a']], { tokenize: 'zh' as never }), /unknown BLEU tokenizer 'zh'/);
  assert.throws(() => corpusBleu(['a'], [['a']], { smooth: 'add-one' as never }), /unknown BLEU smoothing/);
});

test('chrF, worked by hand', () => {
  // hyp "abc", ref "abd" (character n-grams, n = 1..6):
  //   n=1: hyp a b c, ref a b d → match 2 of 3 and 3;   n=2: ab bc / ab bd → 1 of 2;   n=3: abc / abd → 0 of 1
  //   n ≥ 4: neither has n-grams, so those orders do not count (effective order 3).
  //   P = mean(2/3, 1/2, 0) = 7/18 = R, and with P = R, F_β = P → chrF = 100 · 7/18 = 38.889
  close(corpusChrf(['abc'], [['abd']]).score, 700 / 18, 'abc/abd');
  // hyp "ab", ref "abc": n=1: 2 of 2 hyp, 2 of 3 ref; n=2: 1 of 1, 1 of 2; n=3: the hypothesis has none → skipped.
  //   P = mean(1, 1) = 1, R = mean(2/3, 1/2) = 7/12, chrF2 = 100 · 5·P·R / (4P + R) = 100 · (35/12)/(55/12) = 700/11
  close(sentenceChrf('ab', ['abc']).score, 700 / 11, 'ab/abc');
  // Whitespace is removed before counting, so spacing does not matter; case does.
  assert.equal(corpusChrf(['a b c'], [['abc']]).score, 100);
  assert.ok(corpusChrf(['ABC'], [['abc']]).score < 1);
  assert.equal(corpusChrf(['ABC'], [['abc']], { lowercase: true }).score, 100);
  const s = corpusChrf(['ab'], [['ab']], { wordOrder: 2 });
  assert.equal(s.name, 'chrF2++');
  assert.equal(chrfSignature('1'), 'nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0');
  assert.equal(s.signature, 'nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0');
  assert.throws(() => corpusChrf(['a'], [['a']], { charOrder: 0, wordOrder: 0 }), /charOrder \+ wordOrder must be at least 1/);
});

test('chrF with several references keeps the best one per segment', () => {
  // Against "abd" the hypothesis scores 38.9 (above); against "abc" 100. The better reference counts.
  assert.equal(corpusChrf(['abc'], [['abd'], ['abc']]).score, 100);
});
