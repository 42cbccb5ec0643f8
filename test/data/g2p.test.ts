// G2P data: grouping of CMUdict's variants, stress removal, the word-level split, vocabularies, pairs and
// the any-pronunciation scoring, on hand-worked examples and on the real dictionary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmudictEntries, splitG2P, g2pVocabs, g2pPairs, scoreG2P, wordHash, G2PVocab, G2P_PHONEMES, type G2PEntry } from '../../src/data/g2p.js';
import { loadCmudict } from '../../src/data/g2p_node.js';

test('cmudictEntries groups WORD(n) variants, strips stress, drops non-letter words', () => {
  const e = cmudictEntries({ READ: 'R IY1 D', 'READ(1)': 'R EH1 D', 'READ(2)': 'R IY0 D', "AARON'S": 'EH1 R AH0 N Z', 'A.': 'EY1', A42128: 'EY1', 'FOO-BAR': 'F UW1' });
  assert.deepEqual(e, [
    { word: "aaron's", graphemes: ['a', 'a', 'r', 'o', 'n', "'", 's'], pronunciations: [['EH', 'R', 'AH', 'N', 'Z']] },
    // READ(2) equals READ once stress is gone: kept once.
    { word: 'read', graphemes: ['r', 'e', 'a', 'd'], pronunciations: [['R', 'IY', 'D'], ['R', 'EH', 'D']] },
  ]);
  const s = cmudictEntries({ READ: 'R IY1 D', 'READ(1)': 'R IY0 D' }, { keepStress: true });
  assert.deepEqual(s[0]!.pronunciations, [['R', 'IY1', 'D'], ['R', 'IY0', 'D']]);
  assert.throws(() => cmudictEntries({ X: 'R XX1 D' }), /"X" has the phoneme "XX", which is not ARPAbet/);
});

test('splitG2P: by word, exact sizes, independent of input order, seed-dependent', () => {
  const entries: G2PEntry[] = Array.from({ length: 1000 }, (_, i) => ({ word: `w${i}`, graphemes: ['w'], pronunciations: [['W']] }));
  const a = splitG2P(entries);
  assert.equal(a.test.length, 50);
  assert.equal(a.valid.length, 50);
  assert.equal(a.train.length, 900);
  const words = new Set([...a.train, ...a.valid, ...a.test].map((e) => e.word));
  assert.equal(words.size, 1000);
  const b = splitG2P([...entries].reverse());
  assert.deepEqual(b.test.map((e) => e.word), a.test.map((e) => e.word));
  const c = splitG2P(entries, { seed: 7 });
  assert.notDeepEqual(c.test.map((e) => e.word), a.test.map((e) => e.word));
  assert.throws(() => splitG2P([entries[0]!, entries[0]!]), /appears twice/);
  // The hash is a fixed function (values from an independent Python transcription of FNV-1a + murmur3's
  // finalizer): they guard the shared split against accidental changes.
  assert.equal(wordHash('phoneme', 1234), 3391675841);
  assert.equal(wordHash('read', 1234), 1631907850);
  assert.equal(wordHash('a', 0), 444641715);
});

test('vocabularies, pairs and decoding', () => {
  const v = g2pVocabs();
  assert.equal(v.graphemes.size, 4 + 27);
  assert.equal(v.phonemes.size, 4 + 39);
  assert.equal(g2pVocabs({ keepStress: true }).phonemes.size, 4 + 69);
  const [entry] = cmudictEntries({ READ: 'R IY1 D', 'READ(1)': 'R EH1 D' });
  const pairs = g2pPairs([entry!], v);
  assert.equal(pairs.length, 2);
  assert.deepEqual([...pairs[0]!.source], [v.graphemes.id('r'), v.graphemes.id('e'), v.graphemes.id('a'), v.graphemes.id('d'), G2PVocab.EOS]);
  assert.deepEqual(v.phonemes.decode(pairs[1]!.target), ['R', 'EH', 'D']);
  assert.equal(g2pPairs([entry!], v, { pronunciations: 'first' }).length, 1);
  assert.deepEqual(v.phonemes.decode([G2PVocab.BOS, v.phonemes.id('K')!, G2PVocab.EOS, v.phonemes.id('T')!]), ['K']);
  assert.equal(G2P_PHONEMES.length, 39);
});

test('scoreG2P counts a word right if it matches any pronunciation; PER against the closest one', () => {
  const [read] = cmudictEntries({ READ: 'R IY1 D', 'READ(1)': 'R EH1 D' });
  const [cat] = cmudictEntries({ CAT: 'K AE1 T' });
  // read → R EH D (the second pronunciation): right. cat → K AH T D: 1 substitution + 1 insertion over 3.
  const s = scoreG2P([['R', 'EH', 'D'], ['K', 'AH', 'T', 'D']], [read!, cat!]);
  assert.equal(s.wer, 0.5);
  assert.equal(s.phonemeErrors, 2);
  assert.equal(s.referencePhonemes, 6);
  assert.equal(s.per, 2 / 6);
});

test('the real dictionary: 123 874 words, 8 000+ with several pronunciations, the fixed 90/5/5 split', () => {
  const entries = loadCmudict();
  assert.equal(entries.length, 123874);
  assert.ok(entries.filter((e) => e.pronunciations.length > 1).length > 7000);
  const { train, valid, test: held } = splitG2P(entries);
  assert.equal(held.length, 6194);
  assert.equal(valid.length, 6194);
  assert.equal(train.length, 123874 - 2 * 6194);
  const trainWords = new Set(train.map((e) => e.word));
  assert.ok(held.every((e) => !trainWords.has(e.word)));
});
