// SQuAD question answering files (v1.1 and v2.0): questions about a paragraph, answered by a span of it.
//
//   {"version": "v2.0", "data": [{"title": "Super_Bowl_50", "paragraphs": [{
//      "context": "Super Bowl 50 was an American football game ...",
//      "qas": [{"id": "56be4db0acb8001400a502ec", "question": "Which NFL team represented the AFC?",
//               "answers": [{"text": "Denver Broncos", "answer_start": 177}]},
//              {"id": "5a...", "question": "...", "answers": [], "is_impossible": true,
//               "plausible_answers": [{"text": "...", "answer_start": 12}]}]}]}]}
//
// → one QAExample per question, answers as {text, start}. v2.0 adds unanswerable questions (is_impossible,
// with no answers and, in the training set, "plausible" spans a careless reader might pick).
//
// Character positions: SQuAD's answer_start counts Unicode code points (Python string indices); JavaScript
// strings index UTF-16 code units, which differ after characters outside the Basic Multilingual Plane. The
// reader converts, so `example.context.slice(a.start, a.start + a.text.length) === a.text` always holds, and
// the tokenizer's offsets (UTF-16) line up with it. A file whose answer text is not at its answer_start is
// an error naming the question id and both strings: training on such spans teaches the model garbage.

import { DataError } from './errors.js';
import { parseJson } from '../io/json.js';

/** An answer: its text and where it starts in the context (UTF-16 index). */
export interface QAAnswer {
  text: string;
  start: number;
}

/** One question about one context. */
export interface QAExample {
  id: string;
  title: string;
  question: string;
  context: string;
  /** The gold answers (several in dev sets, one in training sets); empty for unanswerable questions. */
  answers: QAAnswer[];
  /** SQuAD v2.0: the question has no answer in the context. */
  isImpossible: boolean;
  /** SQuAD v2.0 training data: wrong-but-plausible spans of an unanswerable question. */
  plausibleAnswers: QAAnswer[];
}

export interface ReadSquadOptions {
  /** File name for error messages. Default '<input>'. */
  source?: string;
  /** How answer_start counts: 'code-points' (SQuAD, Python; default) or 'utf16' (files written by JavaScript). */
  offsets?: 'code-points' | 'utf16';
}

/**
 * Read a SQuAD v1.1 or v2.0 JSON text. Example: `readSquad(readFileSync('dev-v2.0.json', 'utf8'), { source: 'dev-v2.0.json' })`.
 * Does not handle: the Hugging Face datasets layout ({answers: {text: [...], answer_start: [...]}}) — map it to
 * QAExample yourself; other QA formats (Natural Questions, TriviaQA).
 */
export function readSquad(text: string, options: ReadSquadOptions = {}): QAExample[] {
  const source = options.source ?? '<input>';
  const codePoints = (options.offsets ?? 'code-points') === 'code-points';
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const doc = parseJson(text, source);
  const fail = (path: string, detail: string): never => {
    throw new DataError(source, 0, `${path}: ${detail}`);
  };
  if (!isObject(doc) || !Array.isArray(doc.data)) fail('top level', 'expected {"data": [...]} (SQuAD v1.1/v2.0 layout)');
  const out: QAExample[] = [];
  const seen = new Map<string, string>();
  (doc as { data: unknown[] }).data.forEach((article, a) => {
    const ap = `data[${a}]`;
    if (!isObject(article)) fail(ap, 'expected an object with "paragraphs"');
    const art = article as Record<string, unknown>;
    const title = typeof art.title === 'string' ? art.title : '';
    if (!Array.isArray(art.paragraphs)) fail(ap, 'field "paragraphs" must be a list');
    (art.paragraphs as unknown[]).forEach((paragraph, p) => {
      const pp = `${ap}.paragraphs[${p}]`;
      if (!isObject(paragraph)) fail(pp, 'expected an object with "context" and "qas"');
      const par = paragraph as Record<string, unknown>;
      if (typeof par.context !== 'string') fail(pp, 'field "context" must be a string');
      if (!Array.isArray(par.qas)) fail(pp, 'field "qas" must be a list');
      const context = par.context as string;
      const toUtf16 = codePoints ? codePointToUtf16(context) : null;
      (par.qas as unknown[]).forEach((qa, q) => {
        const qp = `${pp}.qas[${q}]`;
        if (!isObject(qa)) fail(qp, 'expected an object with "id", "question" and "answers"');
        const rec = qa as Record<string, unknown>;
        if (typeof rec.id !== 'string' && typeof rec.id !== 'number') fail(qp, 'field "id" must be a string');
        const id = String(rec.id);
        const where = `question ${JSON.stringify(id)}`;
        if (seen.has(id)) fail(where, `the id is used twice (${seen.get(id)} and ${qp})`);
        seen.set(id, qp);
        if (typeof rec.question !== 'string') fail(where, 'field "question" must be a string');
        const isImpossible = rec.is_impossible === true;
        const answers = readAnswers(rec.answers, 'answers', context, toUtf16, where, fail);
        const plausibleAnswers = rec.plausible_answers === undefined ? [] : readAnswers(rec.plausible_answers, 'plausible_answers', context, toUtf16, where, fail);
        if (isImpossible && answers.length > 0) fail(where, `is_impossible is true but it has ${answers.length} answer(s)`);
        if (!isImpossible && answers.length === 0) fail(where, 'has no answers and is_impossible is not true');
        out.push({ id, title, question: rec.question as string, context, answers, isImpossible, plausibleAnswers });
      });
    });
  });
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function readAnswers(
  value: unknown,
  field: string,
  context: string,
  toUtf16: Int32Array | null,
  where: string,
  fail: (path: string, detail: string) => never,
): QAAnswer[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return fail(where, `field "${field}" must be a list`);
  return value.map((ans, k) => {
    if (!isObject(ans) || typeof ans.text !== 'string' || typeof ans.answer_start !== 'number' || !Number.isInteger(ans.answer_start)) {
      return fail(where, `${field}[${k}] must be {"text": string, "answer_start": integer}`);
    }
    const raw = ans.answer_start;
    const points = toUtf16 ? toUtf16.length - 1 : context.length;
    if (raw < 0 || raw > points) return fail(where, `answer ${JSON.stringify(ans.text)} has answer_start ${raw}, outside the context (${points} characters)`);
    const start = toUtf16 ? toUtf16[raw] : raw;
    const found = context.slice(start, start + ans.text.length);
    if (found !== ans.text) {
      return fail(where, `answer ${JSON.stringify(ans.text)} is not at answer_start ${raw} (the context there reads ${JSON.stringify(found)})`);
    }
    return { text: ans.text, start };
  });
}

/**
 * Code point index → UTF-16 index for `text` (length = code points + 1, the last entry is text.length), or
 * null when the text has no surrogate pairs and the two indices agree.
 */
function codePointToUtf16(text: string): Int32Array | null {
  if (!/[\uD800-\uDBFF][\uDC00-\uDFFF]/.test(text)) return null;
  const at: number[] = [];
  let u = 0;
  for (const ch of text) {
    at.push(u);
    u += ch.length;
  }
  at.push(u);
  return Int32Array.from(at);
}
