// Entity-level scores on cases worked by hand from seqeval's definitions (seqeval.ts header): default
// (conlleval-compatible) mode, strict mode per scheme, scheme detection, and CoNLL reading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectScheme, entitiesDefault, entitiesStrict, parseConll, seqevalScores } from '../../src/metrics/index.js';

const close = (a: number, b: number, what = ''): void => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);
const spans = (es: Array<{ type: string; start: number; end: number }>): string[] => es.map((e) => `${e.type}[${e.start},${e.end})`);

test("seqeval's documented example, worked by hand", () => {
  const gold = [['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  const pred = [['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  // gold: MISC [3,6), PER [0,2) of sentence 2.   pred: MISC [2,6) (starts one token early), PER [0,2).
  // MISC: tp 0 of 1 predicted, 1 gold → 0, 0, 0.   PER: 1 of 1 → 1, 1, 1.
  // micro: 1 correct of 2 predicted and 2 gold → P = R = F = 1/2. macro = mean(0, 1) = 1/2.
  // Token accuracy: 10 tokens, 2 differ (positions 2 and 3 of sentence 1) → 8/10.
  const r = seqevalScores(gold, pred);
  close(r.precision, 0.5);
  close(r.recall, 0.5);
  close(r.f1, 0.5);
  close(r.macro.f1, 0.5);
  close(r.accuracy, 0.8);
  assert.deepEqual(r.perType.map((t) => [t.type, t.f1, t.support]), [['MISC', 0, 1], ['PER', 1, 1]]);
  assert.equal(r.scheme, null);
});

test('default mode reads IOB1, IOB2, IOE and IOBES leniently', () => {
  // IOB1: I starts an entity after O; B only separates two adjacent entities of one type.
  assert.deepEqual(spans(entitiesDefault([['I-PER', 'I-PER', 'B-PER', 'O']])), ['PER[0,2)', 'PER[2,3)']);
  // A type change ends an entity even without B.
  assert.deepEqual(spans(entitiesDefault([['B-PER', 'I-LOC']])), ['PER[0,1)', 'LOC[1,2)']);
  // IOE: E ends an entity; IOBES: S is a one-token entity.
  assert.deepEqual(spans(entitiesDefault([['I-ORG', 'E-ORG', 'E-ORG', 'O']])), ['ORG[0,2)', 'ORG[2,3)']);
  assert.deepEqual(spans(entitiesDefault([['B-PER', 'E-PER', 'S-LOC', 'B-ORG', 'O']])), ['PER[0,2)', 'LOC[2,3)', 'ORG[3,4)']);
  // An entity never runs from one sentence into the next.
  assert.deepEqual(entitiesDefault([['B-PER'], ['I-PER']]).map((e) => e.sentence), [0, 1]);
});

test('strict mode keeps only what the scheme allows', () => {
  // IOB2: I-PER after O starts nothing, so the prediction below has no entity: P = 0/0 = 0, R = 0, F = 0,
  // while default mode accepts I-PER I-PER as PER [0,2) and scores it 1.
  const gold = [['B-PER', 'I-PER', 'O']];
  const pred = [['I-PER', 'I-PER', 'O']];
  assert.equal(seqevalScores(gold, pred).f1, 1);
  const strict = seqevalScores(gold, pred, { mode: 'strict', scheme: 'IOB2' });
  assert.equal(strict.f1, 0);
  assert.equal(strict.predEntities, 0);
  // IOB2: B-PER I-LOC — PER [0,1) ends where the type changes; I-LOC cannot start an entity.
  assert.deepEqual(spans(entitiesStrict(['B-PER', 'I-LOC'], 'IOB2')), ['PER[0,1)']);
  // IOBES: an entity must close with E or S; B-ORG followed by O is dropped (default mode keeps it).
  assert.deepEqual(spans(entitiesStrict(['B-PER', 'I-PER', 'E-PER', 'S-LOC', 'B-ORG', 'O'], 'IOBES')), ['PER[0,3)', 'LOC[3,4)']);
  // IOB1 in strict mode agrees with the lenient reading on well-formed IOB1.
  assert.deepEqual(spans(entitiesStrict(['I-PER', 'I-PER', 'B-PER', 'O'], 'IOB1')), ['PER[0,2)', 'PER[2,3)']);
  // BILOU: U is a unit entity, L the last token.
  assert.deepEqual(spans(entitiesStrict(['U-X', 'B-Y', 'I-Y', 'L-Y'], 'BILOU')), ['X[0,1)', 'Y[1,4)']);
  assert.throws(() => entitiesStrict(['B-PER', 'E-PER'], 'IOB2'), /tag 'E-PER' has prefix E, which IOB2 does not use/);
  assert.throws(() => entitiesStrict(['PER'], 'IOB2'), /tag 'PER' does not start with a prefix/);
});

test('scheme detection from the gold prefixes (seqeval auto_detect)', () => {
  assert.equal(detectScheme([['B-X', 'I-X', 'O']]), 'IOB2');
  assert.equal(detectScheme([['I-X', 'E-X'], ['O']]), 'IOE2');
  assert.equal(detectScheme([['B-PER', 'E-PER', 'S-LOC']]), 'IOBES');
  assert.equal(detectScheme([['U-X', 'O', 'B-Y', 'L-Y']]), 'BILOU');
  assert.throws(() => detectScheme([['B-X', 'E-X', 'U-Y']]), /cannot detect the tagging scheme/);
  // With mode strict and no scheme, seqevalScores detects it.
  assert.equal(seqevalScores([['S-X']], [['S-X']], { mode: 'strict' }).scheme, 'IOBES');
});

test('weighted average and mismatched input', () => {
  // gold: PER ×2, LOC ×1. pred finds one PER (correct) and one LOC (correct) and a wrong ORG.
  // PER: P 1, R 1/2, F 2/3 (support 2). LOC: 1, 1, 1 (support 1). ORG: P 0, R 0/0 = 0, F 0 (support 0).
  // weighted F = (2·2/3 + 1·1 + 0·0)/3 = 7/9; macro F = (2/3 + 1 + 0)/3 = 5/9; micro: 2 of 3 and 2 of 3 → 2/3.
  const gold = [['B-PER', 'O', 'B-PER', 'B-LOC', 'O']];
  const pred = [['B-PER', 'O', 'O', 'B-LOC', 'B-ORG']];
  const r = seqevalScores(gold, pred);
  close(r.weighted.f1, 7 / 9);
  close(r.macro.f1, 5 / 9);
  close(r.f1, 2 / 3);
  assert.throws(() => seqevalScores([['O']], [['O'], ['O']]), /1 gold sentences but 2 predicted/);
  assert.throws(() => seqevalScores([['O', 'O']], [['O']]), /sentence 1 has 2 gold tags but 1 predicted/);
  // No entities anywhere: every figure is 0 (seqeval's macro would be nan).
  assert.deepEqual([seqevalScores([['O']], [['O']]).f1, seqevalScores([['O']], [['O']]).macro.f1], [0, 0]);
});

test('CoNLL reading: last column, blank lines, -DOCSTART-, CRLF', () => {
  const text = '-DOCSTART- -X- O O\n\nEU NNP B-ORG\r\nrejects VBZ O\n\n\n  \nPeter\tB-PER\nBlackburn\tI-PER\n';
  const c = parseConll(text);
  assert.deepEqual(c.tags, [['B-ORG', 'O'], ['B-PER', 'I-PER']]);
  assert.deepEqual(c.tokens, [['EU', 'rejects'], ['Peter', 'Blackburn']]);
  assert.deepEqual(c.lines, [[3, 4], [8, 9]]);
  assert.deepEqual(parseConll('O\nB-X').tokens, [[null, null]]); // a tags-only file
});
