// `attn metric ...` as a user runs it: a child process per call, checked on exit code, output and the one-line
// errors for missing files, mismatched lengths and malformed JSON. Expected figures are the hand-worked ones of
// the library tests (bleu_chrf, rouge, classification, seqeval, squad).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'attn-metric-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function attn(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, 'metric', ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** A failure: non-zero exit, nothing on stdout, exactly one line on stderr matching `pattern`. */
function fails(r: { code: number; out: string; err: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `expected a failure, got exit 0 with ${r.out}`);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1, `one line of error expected, got:\n${r.err}`);
  assert.match(lines[0], /^attn: /);
  assert.match(lines[0], pattern);
}

const close = (a: number, b: number, what = ''): void => assert.ok(Math.abs(a - b) < 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('attn metric bleu and chrf: sacreBLEU figures, JSON and text, several references', () => {
  const hyp = file('hyp.txt', 'the cat sat on the mat\nabc\n');
  const ref = file('ref.txt', 'the cat is on the mat\r\nabd\r\n'); // CRLF reads like LF
  const sent = attn('bleu', '--hyp', hyp, '--ref', ref, '--sentence-level', '--json');
  assert.equal(sent.code, 0, sent.err);
  const lines = sent.out.trim().split('\n').map((l) => JSON.parse(l) as { score: number; eff: string });
  // Segment 1 is the hand-worked example: 100 · 48^(−1/4) (effective order does not change it: all 4 orders present).
  close(lines[0].score, 100 * 48 ** -0.25, 'sentence BLEU');
  assert.equal(lines[0].eff, 'yes');
  const j = attn('bleu', '--hyp', hyp, '--ref', ref, '--json');
  assert.equal(j.code, 0, j.err);
  const b = JSON.parse(j.out) as Record<string, unknown>;
  assert.equal(b.name, 'BLEU');
  assert.equal(b.signature, 'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0');
  assert.equal(b.tok, '13a');
  // Corpus: segment 2 adds 1-grams abc/abd (0 of 1) → counts 5,3,1,0 of totals 7,5,4,3.
  assert.deepEqual(b.counts, [5, 3, 1, 0]);
  assert.deepEqual(b.totals, [7, 5, 4, 3]);
  const t = attn('bleu', '--hyp', hyp, '--ref', ref, '--ref', hyp);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /^BLEU\|nrefs:2\|case:mixed\|eff:no\|tok:13a\|smooth:exp\|version:2\.6\.0 = 100\.0 100\.0\/100\.0\/100\.0\/100\.0 \(BP = 1\.000/);

  // chrF: "abc" vs "abd" is 700/18 (worked in bleu_chrf.test.ts).
  const c = attn('chrf', '--hyp', file('h2.txt', 'abc\n'), '--ref', file('r2.txt', 'abd\n'), '--json');
  assert.equal(c.code, 0, c.err);
  const cj = JSON.parse(c.out) as { name: string; score: number; signature: string };
  assert.equal(cj.name, 'chrF2');
  close(cj.score, 700 / 18, 'chrF');
  assert.equal(cj.signature, 'nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0');
});

test('attn metric rouge: mean over lines, stemming, newline token for rougeLsum', () => {
  const hyp = file('sum.txt', 'the cat sat\nc d<n>a b\n');
  const ref = file('gold.txt', 'the cat sat down\na b<n>c d\n');
  const r = attn('rouge', '--hyp', hyp, '--ref', ref, '--json', '--newline-token', '<n>');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as Record<string, { precision: number; recall: number; fmeasure: number }>;
  // rouge1 F: line 1 6/7, line 2 1 → mean (6/7 + 1)/2. rougeL line 2 = 1/2 (LCS 2 of 4); rougeLsum line 2 = 1.
  close(j.rouge1.fmeasure, (6 / 7 + 1) / 2, 'rouge1');
  close(j.rougeL.fmeasure, (6 / 7 + 0.5) / 2, 'rougeL');
  close(j.rougeLsum.fmeasure, (6 / 7 + 1) / 2, 'rougeLsum');
  const s = attn('rouge', '--hyp', file('s2.txt', 'The cats were running\n'), '--ref', file('g2.txt', 'the cat runs\n'), '--stem', '--types', 'rouge1', '--json');
  close((JSON.parse(s.out) as Record<string, { fmeasure: number }>).rouge1.fmeasure, 6 / 7, 'stemmed');
  const text = attn('rouge', '--hyp', hyp, '--ref', ref);
  assert.match(text.out, /rougeLsum/);
  fails(attn('rouge', '--hyp', hyp, '--ref', ref, '--types', 'rouge1,rougeW'), /unknown ROUGE type 'rougeW'/);
});

test('attn metric classification: scikit-learn figures and the confusion matrix', () => {
  const gold = file('gold.labels', 'a\na\na\nb\nb\nc\n');
  const pred = file('pred.labels', 'a\nb\na\nb\nc\nc'); // no final newline: still 6 labels
  const r = attn('classification', '--gold', gold, '--pred', pred, '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { accuracy: number; macro: { f1: number }; weighted: { f1: number }; per_label: Record<string, { recall: number }>; confusion_matrix: number[][] };
  close(j.accuracy, 2 / 3);
  close(j.macro.f1, 59 / 90);
  close(j.weighted.f1, 61 / 90);
  close(j.per_label.a.recall, 2 / 3);
  assert.deepEqual(j.confusion_matrix, [[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
  const text = attn('classification', '--gold', gold, '--pred', pred);
  assert.match(text.out, /^accuracy 0\.6667 \(4 of 6\)/);
  assert.match(text.out, /macro avg\s+0\.6667\s+0\.7222\s+0\.6556\s+6/);
});

test('attn metric seqeval: CoNLL files, default and strict mode', () => {
  const gold = file('gold.conll', '-DOCSTART- -X- O\n\nEU B-ORG\nrejects O\nGerman B-MISC\n\nPeter B-PER\nBlackburn I-PER\n');
  const pred = file('pred.conll', 'EU B-ORG\nrejects O\nGerman I-MISC\n\nPeter B-PER\nBlackburn O\n');
  // Default: ORG right, MISC (I-MISC after O starts an entity) right, PER [0,1) ≠ [0,2) → 2 of 3 each way.
  const d = attn('seqeval', '--gold', gold, '--pred', pred, '--json');
  assert.equal(d.code, 0, d.err);
  const dj = JSON.parse(d.out) as { f1: number; precision: number; per_type: Record<string, { f1: number; support: number }>; accuracy: number };
  close(dj.f1, 2 / 3);
  assert.deepEqual(Object.keys(dj.per_type), ['MISC', 'ORG', 'PER']);
  close(dj.accuracy, 3 / 5);
  // Strict IOB2: I-MISC after O is no entity → 1 correct of 2 predicted, 3 gold: P 1/2, R 1/3, F 2/5.
  const s = attn('seqeval', '--gold', gold, '--pred', pred, '--mode', 'strict', '--scheme', 'iob2', '--json');
  assert.equal(s.code, 0, s.err);
  const sj = JSON.parse(s.out) as { f1: number; precision: number; recall: number; scheme: string };
  assert.deepEqual([sj.precision, sj.scheme], [0.5, 'IOB2']);
  close(sj.f1, 0.4);
  const text = attn('seqeval', '--gold', gold, '--pred', pred);
  assert.match(text.out, /2 of 3 predicted entities correct, 3 gold entities/);
  fails(attn('seqeval', '--gold', gold, '--pred', pred, '--mode', 'strict', '--scheme', 'IOE2'), /gold\.conll line 3: tag 'B-ORG' does not fit IOE2/);
  fails(attn('seqeval', '--gold', gold, '--pred', file('short.conll', 'EU B-ORG\n\nPeter B-PER\nBlackburn O\n')), /sentence 1 has 3 tokens in --gold .* but 1 in --pred/);
  fails(attn('seqeval', '--gold', gold, '--pred', file('other.conll', 'EU B-ORG\nrejects O\nBritish O\n\nPeter B-PER\nBlackburn O\n')), /'German' at --gold .*line 5 but 'British' at --pred .*line 3/);
  fails(attn('seqeval', '--gold', gold, '--pred', pred, '--mode', 'lenient'), /--mode must be one of default, strict/);
});

test('attn metric squad: v1.1, v2.0, and no-answer probabilities read in file order', () => {
  const v1 = file('v1.json', JSON.stringify({ version: '1.1', data: [{ paragraphs: [{ qas: [{ id: 'q1', answers: [{ text: 'Denver Broncos' }, { text: 'Broncos' }] }, { id: 'q2', answers: [{ text: '1889' }] }] }] }] }));
  const r1 = attn('squad', '--data', v1, '--predictions', file('p1.json', '{"q1": "the Broncos"}'), '--json');
  assert.equal(r1.code, 0, r1.err);
  assert.deepEqual(JSON.parse(r1.out), { exact_match: 50, f1: 50 });
  assert.match(r1.err, /Unanswered question q2 will receive score 0\./);

  // Ids "2" (has an answer, predicted right) and "1" (no answer, wrongly answered), tied at p = 0.5. The na-prob
  // file lists "2" first; JSON.parse would put "1" first and give best_exact 50 instead of 100.
  const v2 = file('v2.json', JSON.stringify({ version: 'v2.0', data: [{ paragraphs: [{ qas: [{ id: '2', answers: [{ text: 'x' }] }, { id: '1', answers: [] }] }] }] }));
  const preds = file('p2.json', '{"2": "x", "1": "y"}');
  const na = file('na.json', '{"2": 0.5, "1": 0.5}');
  const r2 = attn('squad', '--data', v2, '--predictions', preds, '--v2', '--na-prob', na, '--json');
  assert.equal(r2.code, 0, r2.err);
  const j = JSON.parse(r2.out) as Record<string, number>;
  assert.deepEqual([j.exact, j.HasAns_exact, j.NoAns_exact, j.best_exact, j.best_exact_thresh], [50, 100, 0, 100, 0.5]);
  // Threshold 0.4: both are taken as "no answer" → "2" scores 0, "1" scores 1.
  const r3 = attn('squad', '--data', v2, '--predictions', preds, '--v2', '--na-prob', na, '--na-prob-thresh', '0.4', '--json');
  assert.deepEqual([(JSON.parse(r3.out) as Record<string, number>).HasAns_exact, (JSON.parse(r3.out) as Record<string, number>).NoAns_exact], [0, 100]);
  const text = attn('squad', '--data', v2, '--predictions', preds, '--v2');
  assert.match(text.out, /^exact\s+50\.00\nf1\s+50\.00\ntotal\s+2\n/);

  fails(attn('squad', '--data', v2, '--predictions', file('bad.json', '{"2": "x",\n "1": }')), /bad\.json is not valid JSON: .*line 2, column 7/);
  fails(attn('squad', '--data', v2, '--predictions', file('p3.json', '{"2": "x"}'), '--v2'), /1 question\(s\) have no prediction \(1\)/);
  fails(attn('squad', '--data', file('notsquad.json', '[1, 2]'), '--predictions', preds), /must be a SQuAD file/);
  fails(attn('squad', '--data', v1, '--predictions', preds, '--na-prob', na), /need --v2/);
});

test('bad input: missing files, mismatched line counts, empty files, bad options — one line, non-zero exit', () => {
  const hyp = file('h.txt', 'a b\nc d\n');
  fails(attn('bleu', '--hyp', join(dir, 'nope.txt'), '--ref', hyp), /metric bleu: cannot read --hyp .*nope\.txt: file not found/);
  fails(attn('chrf', '--hyp', hyp, '--ref', file('r1.txt', 'a b\n')), /--ref .*r1\.txt has 1 lines but --hyp .*h\.txt has 2/);
  fails(attn('rouge', '--hyp', hyp, '--ref', hyp, '--ref', file('r3.txt', 'x\ny\nz\n')), /r3\.txt has 3 lines but --hyp .*h\.txt has 2/);
  fails(attn('bleu', '--hyp', file('empty.txt', ''), '--ref', hyp), /empty\.txt is empty/);
  fails(attn('bleu', '--hyp', hyp), /give at least one --ref FILE/);
  fails(attn('bleu', '--hyp', hyp, '--ref', hyp, '--tokenize', 'zh'), /--tokenize must be one of 13a, intl, char, none, got 'zh'/);
  fails(attn('classification', '--gold', file('g.txt', 'a\nb\n'), '--pred', file('p.txt', 'a\n')), /--gold .*g\.txt has 2 labels but --pred .*p\.txt has 1/);
  fails(attn('classification', '--gold', file('g2.txt', 'a\n\nb\n'), '--pred', file('p2.txt', 'a\nb\nb\n')), /g2\.txt line 2 is empty/);
  fails(attn('classification', '--gold', file('bin.txt', new Uint8Array([0x61, 0xff, 0x0a])), '--pred', hyp), /--gold .*bin\.txt is not valid UTF-8 text/);
  fails(attn('seqeval', '--gold', join(dir, 'missing.conll'), '--pred', hyp), /cannot read --gold .*missing\.conll: file not found/);
  fails(attn('squad', '--data', join(dir, 'missing.json'), '--predictions', hyp), /cannot read --data .*missing\.json: file not found/);
  fails(attn('bleu', '--hyp', hyp, '--ref', hyp, '--frobnicate'), /Unknown option '--frobnicate'/);
  fails(attn('nosuch'), /unknown metric 'attn metric nosuch'/);
  const help = attn('--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /seqeval\s+entity-level/);
  assert.match(attn('squad', '--help').out, /--na-prob-thresh X/);
});
