// The readers of src/data: CSV (RFC 4180 cases worked by hand), JSON Lines, text classification, CoNLL and
// {tokens, tags}, SQuAD v1.1/v2.0 and seq2seq rows, and the errors that name file, line and field.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  buildLabelMap,
  DataError,
  labelId,
  labelMapFromExamples,
  parseConll,
  parseCsv,
  parseJsonl,
  readSeq2Seq,
  readSquad,
  readTextClassification,
  readTokenTagsJsonl,
} from '../../src/data/index.js';
import { loadSquad, loadTextClassification, loadTokenClassification, readDataFile } from '../../src/data/node.js';

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'data');

/** assert.throws with a DataError whose message is exactly `message`. */
function throwsData(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataError, `expected a DataError, got ${String(err)}`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('parseCsv (RFC 4180)', () => {
  const cases: Array<{ name: string; text: string; rows: string[][]; lines: number[] }> = [
    { name: 'plain', text: 'a,b\n1,2\n', rows: [['a', 'b'], ['1', '2']], lines: [1, 2] },
    { name: 'no final line break', text: 'a,b\n1,2', rows: [['a', 'b'], ['1', '2']], lines: [1, 2] },
    { name: 'CRLF', text: 'a,b\r\n1,2\r\n', rows: [['a', 'b'], ['1', '2']], lines: [1, 2] },
    { name: 'quoted comma', text: 'a,b\n"x, y",2\n', rows: [['a', 'b'], ['x, y', '2']], lines: [1, 2] },
    { name: 'doubled quote', text: 'a\n"say ""hi"""\n', rows: [['a'], ['say "hi"']], lines: [1, 2] },
    { name: 'line break in quotes', text: 'a,b\n"one\ntwo",3\nz,4\n', rows: [['a', 'b'], ['one\ntwo', '3'], ['z', '4']], lines: [1, 2, 4] },
    { name: 'CRLF kept inside quotes', text: 'a\n"x\r\ny"\n', rows: [['a'], ['x\r\ny']], lines: [1, 2] },
    { name: 'empty fields', text: 'a,b,c\n,,\n"",x,\n', rows: [['a', 'b', 'c'], ['', '', ''], ['', 'x', '']], lines: [1, 2, 3] },
    { name: 'blank lines skipped', text: 'a\n\n1\n\n\n2\n', rows: [['a'], ['1'], ['2']], lines: [1, 3, 6] },
    { name: 'byte order mark', text: '\ufeffa,b\n1,2\n', rows: [['a', 'b'], ['1', '2']], lines: [1, 2] },
    { name: 'quote inside an unquoted field is a character', text: 'h\n5\'11"\n', rows: [['h'], ['5\'11"']], lines: [1, 2] },
    { name: 'spaces are data', text: 'a,b\n x , y \n', rows: [['a', 'b'], [' x ', ' y ']], lines: [1, 2] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = parseCsv(c.text);
      assert.deepEqual(got.map((r) => r.fields), c.rows);
      assert.deepEqual(got.map((r) => r.line), c.lines);
    });
  }
  it('tabs as the delimiter', () => {
    assert.deepEqual(parseCsv('a\tb\n"x\ty"\t2\n', { delimiter: '\t' }).map((r) => r.fields), [['a', 'b'], ['x\ty', '2']]);
  });
  it('errors name the file and line', () => {
    throwsData(() => parseCsv('a,b\n1,2\n3\n', { source: 'dev.csv' }), 'dev.csv line 3: expected 2 fields (a,b), got 1');
    throwsData(() => parseCsv('a,b\n1,2,3\n', { source: 'dev.csv' }), /^dev\.csv line 2: expected 2 fields \(a,b\), got 3; a field with the delimiter in it must be quoted$/);
    throwsData(() => parseCsv('a\nok\n"never\nclosed\n', { source: 'x.csv' }), 'x.csv line 3: a quoted field (field 1) is never closed; the file ends inside it');
    throwsData(() => parseCsv('a,b\n"abc"def,1\n', { source: 'x.csv' }), /^x\.csv line 2: text after the closing quote of field 1 \("def,1\\n"\)/);
  });
});

describe('JSON Lines', () => {
  it('one object per non-blank line, with line numbers', () => {
    assert.deepEqual(parseJsonl('{"a":1}\r\n\n  \n{"a":[2]}'), [
      { record: { a: 1 }, line: 1 },
      { record: { a: [2] }, line: 4 },
    ]);
  });
  it('errors name the line', () => {
    throwsData(() => parseJsonl('{"a":1}\n{"a":}\n', 'train.jsonl'), /^train\.jsonl line 2: not valid JSON: .* at column 6$/);
    throwsData(() => parseJsonl('{"a":1}\n[1,2]\n', 'train.jsonl'), 'train.jsonl line 2: expected a JSON object ({"field": value, ...}), got an array of 2');
  });
});

describe('text classification rows', () => {
  it('JSONL: strings and numbers as labels, optional pairs, dotted field names', () => {
    const text = ['{"text": "good", "label": "pos"}', '{"text": "a", "text_pair": "b", "label": 1}', '{"x": {"t": "nested"}, "y": 2.5}'].join('\n');
    const rows = readTextClassification(text.split('\n').slice(0, 2).join('\n'));
    assert.deepEqual(rows, [
      { text: 'good', labels: ['pos'], line: 1 },
      { text: 'a', textPair: 'b', labels: ['1'], line: 2 },
    ]);
    assert.deepEqual(readTextClassification(text.split('\n')[2], { textField: 'x.t', labelField: 'y' }), [{ text: 'nested', labels: ['2.5'], line: 1 }]);
  });
  it('CSV with RFC 4180 quoting (fixture)', () => {
    const rows = loadTextClassification(join(FIXTURES, 'classify.csv'));
    assert.deepEqual(
      rows.map((r) => [r.text, r.textPair, r.labels, r.line]),
      [
        ['Hello, world', undefined, ['positive'], 2],
        ['She said "hi"', 'A reply', ['negative'], 3],
        ['two\nlines', undefined, ['positive'], 4],
        ['plain', 'x', ['neutral'], 6],
      ],
    );
  });
  it('multi-label: lists and "|"-separated strings', () => {
    const rows = readTextClassification('{"text":"a","label":["x","y",3]}\n{"text":"b","label":"y | z"}\n{"text":"c","label":[]}', { multiLabel: true });
    assert.deepEqual(rows.map((r) => r.labels), [['x', 'y', '3'], ['y', 'z'], []]);
    const csv = readTextClassification('text,tags\nq,a;b\nr,\n', { format: 'csv', labelField: 'tags', multiLabel: true, labelSeparator: ';' });
    assert.deepEqual(csv.map((r) => r.labels), [['a', 'b'], []]);
  });
  it('errors name file, line and field', () => {
    const lines = Array.from({ length: 16 }, (_, i) => JSON.stringify({ text: `t${i}`, label: 'a' }));
    lines.push('{"text": "no label here"}');
    throwsData(() => readTextClassification(lines.join('\n'), { source: 'train.jsonl' }), 'train.jsonl line 17: field "label" is missing (this row has "text")');
    throwsData(() => readTextClassification('{"txt": "x", "label": 1}', { source: 'a.jsonl' }), 'a.jsonl line 1: field "text" is missing (this row has "txt", "label")');
    throwsData(() => readTextClassification('{"text": 5, "label": 1}', { source: 'a.jsonl' }), 'a.jsonl line 1: field "text" must be a string, got number 5');
    throwsData(() => readTextClassification('{"text": "x", "label": ["a"]}', { source: 'a.jsonl' }), 'a.jsonl line 1: field "label" must be a string or a number, got an array of 1 (a list of labels needs multiLabel: true)');
    throwsData(() => readTextClassification('text,label\nx,\n', { source: 'a.csv', format: 'csv' }), 'a.csv line 2: field "label" is empty');
    throwsData(() => readTextClassification('{"text":"a","label":1}', { source: 'a.jsonl', textPairField: 'premise' }), /^a\.jsonl line 1: field "premise" is missing/);
  });
  it('unlabeled data when labels are not required', () => {
    assert.deepEqual(readTextClassification('{"text":"x"}', { requireLabel: false }), [{ text: 'x', labels: [], line: 1 }]);
  });
});

describe('label maps', () => {
  it('sorted, independent of row order: numbers numerically, names by code unit', () => {
    assert.deepEqual(buildLabelMap(['pos', 'neg', 'neutral', 'neg']).id2label, ['neg', 'neutral', 'pos']);
    assert.deepEqual(buildLabelMap(['10', '2', '1', '0']).id2label, ['0', '1', '2', '10']);
    assert.deepEqual(buildLabelMap(['O', 'I-PER', 'B-PER', 'B-LOC']).id2label, ['B-LOC', 'B-PER', 'I-PER', 'O']);
    const a = labelMapFromExamples([{ labels: ['b'] }, { labels: ['a', 'c'] }]);
    const b = labelMapFromExamples([{ labels: ['a', 'c'] }, { labels: ['b'] }]);
    assert.deepEqual(a, b);
    assert.equal(a.label2id.get('c'), 2);
  });
  it('an unknown label names file, line, label and the known labels', () => {
    const map = buildLabelMap(['neg', 'pos']);
    throwsData(() => labelId(map, 'neutral', 'dev.jsonl', 4), 'dev.jsonl line 4: label "neutral" is not one of the known labels: "neg", "pos"');
  });
});

describe('token classification readers', () => {
  it('CoNLL: token first, tag last, -DOCSTART- skipped, blank lines split sentences', () => {
    const got = loadTokenClassification(join(FIXTURES, 'ner.conll'));
    assert.deepEqual(got, [
      { tokens: ['EU', 'rejects', 'German', 'call', '.'], tags: ['B-ORG', 'O', 'B-MISC', 'O', 'O'], line: 3 },
      { tokens: ['Peter', 'Blackburn'], tags: ['B-PER', 'I-PER'], line: 9 },
      { tokens: ['BRUSSELS'], tags: ['B-LOC'], line: 14 },
    ]);
  });
  it('CoNLL: tabs, CRLF, two columns', () => {
    assert.deepEqual(parseConll('a\tB-X\r\nb\tO\r\n\r\nc\tO'), [
      { tokens: ['a', 'b'], tags: ['B-X', 'O'], line: 1 },
      { tokens: ['c'], tags: ['O'], line: 4 },
    ]);
  });
  it('CoNLL: a wrong column count names the line', () => {
    throwsData(() => parseConll('EU NNP B-ORG\nrejects O\n', { source: 'train.conll' }), 'train.conll line 2: expected 3 columns as on line 1, got 2: "rejects O"');
    throwsData(() => parseConll('\n\nEU\n', { source: 'train.conll' }), 'train.conll line 3: expected a word and a tag (at least 2 columns), got 1 column: "EU"');
    assert.deepEqual(parseConll('EU\nrejects\n', { requireTags: false }), [{ tokens: ['EU', 'rejects'], tags: [], line: 1 }]);
  });
  it('JSONL {tokens, tags}: names for numeric tags, length mismatch is an error', () => {
    assert.deepEqual(readTokenTagsJsonl('{"tokens":["EU","rejects"],"ner_tags":[3,0]}', { tagsField: 'ner_tags', tagNames: ['O', 'B-PER', 'I-PER', 'B-ORG'] }), [
      { tokens: ['EU', 'rejects'], tags: ['B-ORG', 'O'], line: 1 },
    ]);
    throwsData(() => readTokenTagsJsonl('{"tokens":["a"],"tags":["O"]}\n{"tokens":["a","b"],"tags":["O"]}', { source: 'n.jsonl' }), 'n.jsonl line 2: field "tokens" has 2 words but "tags" has 1 tags');
    throwsData(() => readTokenTagsJsonl('{"tokens":"a b","tags":["O"]}', { source: 'n.jsonl' }), 'n.jsonl line 1: field "tokens" must be a list of strings, got string "a b"');
  });
});

describe('SQuAD', () => {
  it('v1.1: questions, answers, and code point offsets turned into UTF-16', () => {
    const ex = loadSquad(join(FIXTURES, 'squad_v1.json'));
    assert.equal(ex.length, 3);
    assert.equal(ex[0].id, '56be4db0acb8001400a502ec');
    assert.equal(ex[0].title, 'Super_Bowl_50');
    assert.deepEqual(ex[0].answers, [
      { text: 'Denver Broncos', start: 177 },
      { text: 'Denver Broncos', start: 177 },
    ]);
    assert.equal(ex[0].isImpossible, false);
    // "The 😀 face came first; the 🚀 rocket came in 2010 from Japan.": code point 54 = UTF-16 56.
    assert.deepEqual(ex[2].answers, [{ text: 'Japan', start: 56 }]);
    assert.equal(ex[2].context.slice(56, 61), 'Japan');
  });
  it('v2.0: unanswerable questions and plausible answers', () => {
    const ex = loadSquad(join(FIXTURES, 'squad_v2.json'));
    assert.deepEqual(ex.map((e) => [e.id, e.isImpossible, e.answers.length, e.plausibleAnswers]), [
      ['n1', false, 1, []],
      ['n2', true, 0, [{ text: 'The Normans', start: 0 }]],
    ]);
  });
  const squad = (qa: object, context = 'Denver Broncos beat the Carolina Panthers.'): string =>
    JSON.stringify({ data: [{ title: 't', paragraphs: [{ context, qas: [qa] }] }] });
  it('an answer that is not at its answer_start names the question id and both strings', () => {
    throwsData(
      () => readSquad(squad({ id: 'q7', question: 'who lost?', answers: [{ text: 'Carolina Panthers', answer_start: 20 }] }), { source: 'dev.json' }),
      'dev.json: question "q7": answer "Carolina Panthers" is not at answer_start 20 (the context there reads "the Carolina Pant")',
    );
    throwsData(
      () => readSquad(squad({ id: 'q8', question: '?', answers: [{ text: 'x', answer_start: 99 }] }), { source: 'dev.json' }),
      'dev.json: question "q8": answer "x" has answer_start 99, outside the context (42 characters)',
    );
    throwsData(() => readSquad(squad({ id: 'q9', question: '?', answers: [] }), { source: 'd.json' }), 'd.json: question "q9": has no answers and is_impossible is not true');
    throwsData(() => readSquad(squad({ question: '?', answers: [] }), { source: 'd.json' }), 'd.json: data[0].paragraphs[0].qas[0]: field "id" must be a string');
    throwsData(() => readSquad('{"version": 1}', { source: 'd.json' }), 'd.json: top level: expected {"data": [...]} (SQuAD v1.1/v2.0 layout)');
    assert.throws(() => readSquad('{"data": [', { source: 'd.json' }), /^JsonSyntaxError: d\.json is not valid JSON: .* at line 1, column 11/);
  });
  it('UTF-16 offsets when asked (files written by JavaScript)', () => {
    const text = squad({ id: 'e', question: '?', answers: [{ text: 'b', answer_start: 3 }] }, '😀 b');
    assert.deepEqual(readSquad(text, { offsets: 'utf16' })[0].answers, [{ text: 'b', start: 3 }]);
    assert.deepEqual(readSquad(text.replace('"answer_start":3', '"answer_start":2'))[0].answers, [{ text: 'b', start: 3 }]);
  });
});

describe('seq2seq rows', () => {
  it('source/target, Hugging Face translation layout, prefix', () => {
    assert.deepEqual(readSeq2Seq('{"source":"Das Haus","target":"The house"}'), [{ source: 'Das Haus', target: 'The house', line: 1 }]);
    assert.deepEqual(readSeq2Seq('{"translation":{"de":"Haus","en":"house"}}', { sourceField: 'translation.de', targetField: 'translation.en', prefix: 'translate German to English: ' }), [
      { source: 'translate German to English: Haus', target: 'house', line: 1 },
    ]);
    throwsData(() => readSeq2Seq('{"source":"a"}', { source: 's.jsonl' }), 's.jsonl line 1: field "target" is missing (this row has "source")');
    assert.deepEqual(readSeq2Seq('{"source":"a"}', { requireTarget: false }), [{ source: 'a', line: 1 }]);
  });
});

describe('files (node.ts)', () => {
  it('missing files and invalid UTF-8 are DataErrors naming the file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'attn-data-'));
    try {
      const bad = join(dir, 'latin1.csv');
      writeFileSync(bad, Buffer.concat([Buffer.from('text,label\nok,1\ncaf'), Buffer.from([0xe9]), Buffer.from(',2\n')]));
      throwsData(() => readDataFile(bad), `${bad} line 3: is not valid UTF-8 (byte 0xe9); save the file as UTF-8`);
      throwsData(() => readDataFile(join(dir, 'nope.jsonl')), `${join(dir, 'nope.jsonl')}: file not found`);
      const odd = join(dir, 'data.xml');
      writeFileSync(odd, 'x');
      throwsData(() => loadTextClassification(odd), `${odd}: cannot tell the format from the extension ".xml"; use .jsonl, .csv or .tsv`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
