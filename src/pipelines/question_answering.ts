// question-answering: the span of a context that answers a question, as transformers' QuestionAnsweringPipeline
// (4.36), contexts longer than the model included.
//
//   const qa = pipeline('question-answering', 'runs/squad');
//   qa({ question: 'Where do I live?', context: 'My name is Wolfgang and I live in Berlin.' })
//   // { score: 0.97, start: 34, end: 40, answer: 'Berlin' }
//   qa(question, context, { top_k: 3, handle_impossible_answer: true })   // a list, best first
//
// How (transformers' steps):
//   1. The question and context become windows [CLS] question [SEP] context-piece [SEP] of max_seq_len tokens,
//      consecutive pieces sharing doc_stride tokens, so every part of a long context is read whole somewhere.
//   2. Per window, start and end logits become probabilities: a softmax over the context tokens and [CLS]
//      (question, separators and padding are set to −10000 first). P(no answer) = p_start[CLS] · p_end[CLS],
//      the smallest over the windows; then [CLS] is set to 0.
//   3. A span (s, e) scores p_start[s] · p_end[e], for s ≤ e < s + max_answer_len; the top_k spans of the
//      window are kept if both ends are context tokens.
//   4. Spans widen to whole words (the words of the tokens at s and e) and become character offsets into the
//      context; answers of all windows are sorted by score (with "" at the no-answer score when
//      handle_impossible_answer), and the top_k returned: one object when top_k is 1, else a list.

import { inBatches, softmaxRow, modelMaxLength, type EncoderModel } from './encoder.js';
import { encodedInput } from '../data/batch.js';
import type { Encoding } from '../tokenizers/index.js';

export interface QuestionAnsweringInput {
  question: string;
  context: string;
}

export interface QuestionAnsweringOptions {
  /** Answers to return, best first. Default 1 (then one object instead of a list). */
  top_k?: number;
  /** Tokens shared by consecutive windows of a long context. Default min(max_seq_len / 2, 128). */
  doc_stride?: number;
  /** Longest answer, in tokens. Default 15. */
  max_answer_len?: number;
  /** Tokens per window (question and specials included). Default min(model length, 384). */
  max_seq_len?: number;
  /** Offer "" (no answer) with the probability of [CLS] as start and end. Default false. */
  handle_impossible_answer?: boolean;
  /** Windows per forward pass. Default 8. */
  batch_size?: number;
}

export interface QuestionAnsweringResult {
  score: number;
  start: number;
  end: number;
  answer: string;
}

export type QuestionAnsweringPipeline = {
  (input: QuestionAnsweringInput, options?: QuestionAnsweringOptions): QuestionAnsweringResult | QuestionAnsweringResult[];
  (question: string, context: string, options?: QuestionAnsweringOptions): QuestionAnsweringResult | QuestionAnsweringResult[];
  (inputs: QuestionAnsweringInput[], options?: QuestionAnsweringOptions): Array<QuestionAnsweringResult | QuestionAnsweringResult[]>;
};

/** The pipeline over a loaded QA model (see pipeline() in index.ts). */
export function questionAnsweringPipeline(em: EncoderModel): QuestionAnsweringPipeline {
  const tok = em.requireTokenizer();
  const clsId = tok.tokenToId('[CLS]') ?? tok.tokenToId('<s>');
  const run = (a: QuestionAnsweringInput | QuestionAnsweringInput[] | string, b?: string | QuestionAnsweringOptions, c?: QuestionAnsweringOptions) => {
    let inputs: QuestionAnsweringInput[];
    let options: QuestionAnsweringOptions;
    if (typeof a === 'string') {
      if (typeof b !== 'string') throw new Error('question-answering: give (question, context) or { question, context }');
      inputs = [{ question: a, context: b }];
      options = c ?? {};
    } else {
      inputs = Array.isArray(a) ? a : [a];
      options = (b as QuestionAnsweringOptions | undefined) ?? {};
    }
    inputs.forEach((x, i) => {
      if (typeof x?.question !== 'string' || typeof x?.context !== 'string' || x.context === '') {
        throw new Error(`question-answering: input ${i} must be { question: string, context: non-empty string }, got ${JSON.stringify(x)?.slice(0, 80)}`);
      }
    });
    const topK = options.top_k ?? 1;
    const maxSeqLen = options.max_seq_len ?? Math.min(modelMaxLength(em.config), 384);
    const stride = options.doc_stride ?? Math.min(Math.floor(maxSeqLen / 2), 128);
    const maxAnswerLen = options.max_answer_len ?? 15;
    for (const [name, v] of [['top_k', topK], ['max_answer_len', maxAnswerLen], ['max_seq_len', maxSeqLen]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`question-answering: ${name} must be a positive integer, got ${v}`);
    }
    if (maxSeqLen > modelMaxLength(em.config)) throw new Error(`question-answering: max_seq_len ${maxSeqLen} is longer than the model's ${modelMaxLength(em.config)} tokens`);
    if (stride >= maxSeqLen) throw new Error(`question-answering: doc_stride (${stride}) must be smaller than max_seq_len (${maxSeqLen})`);

    // 1. windows
    const windows: Array<{ example: number; enc: Encoding }> = [];
    inputs.forEach((x, example) => {
      const enc = tok.encode(x.question.trimStart(), x.context, { maxLength: maxSeqLen, truncation: 'only_second', stride, returnOverflowing: true, padding: false });
      for (const w of [enc, ...enc.overflowing]) windows.push({ example, enc: w });
    });
    // 2–4 per window, collected per example
    const answers: QuestionAnsweringResult[][] = inputs.map(() => []);
    const minNull = inputs.map(() => 1_000_000);
    inBatches(em, windows.map((w) => encodedInput(w.enc)), options.batch_size ?? 8, (batch, out, first) => {
      const starts = out.startLogits!.toFloat32Array(); // (B, T)
      const ends = out.endLogits!.toFloat32Array();
      for (let r = 0; r < batch.size; r++) {
        const { example, enc } = windows[first + r]!;
        const T = enc.ids.length;
        const wanted = enc.sequenceIds.map((s, t) => s === 1 || enc.ids[t] === clsId); // context tokens and [CLS]
        const masked = (x: Float32Array) => Array.from(x.subarray(r * batch.length, r * batch.length + T), (v, t) => (wanted[t] ? v : -10000));
        const ps = softmaxRow(masked(starts));
        const pe = softmaxRow(masked(ends));
        const cls = enc.ids.indexOf(clsId ?? -1);
        if (options.handle_impossible_answer && cls >= 0) minNull[example] = Math.min(minNull[example]!, ps[cls]! * pe[cls]!);
        if (cls >= 0) ps[cls] = pe[cls] = 0;
        for (const [s, e, score] of bestSpans(ps, pe, topK, maxAnswerLen)) {
          if (!wanted[s] || !wanted[e]) continue;
          const [startChar, endChar] = wordSpan(enc, s, e);
          answers[example]!.push({ score, start: startChar, end: endChar, answer: inputs[example]!.context.slice(startChar, endChar) });
        }
      }
    });
    const results = answers.map((list, i) => {
      if (options.handle_impossible_answer) list.push({ score: minNull[i]!, start: 0, end: 0, answer: '' });
      const top = list.sort((x, y) => y.score - x.score).slice(0, topK);
      return top.length === 1 ? top[0]! : top;
    });
    return typeof a === 'string' || !Array.isArray(a) ? results[0]! : results;
  };
  return run as QuestionAnsweringPipeline;
}

/**
 * The top k spans (s, e, p_start[s]·p_end[e]) with s ≤ e < s + maxLen, best first (transformers' decode_spans;
 * ties: the earlier start, then the earlier end, as a row-major scan).
 */
export function bestSpans(ps: readonly number[], pe: readonly number[], k: number, maxLen: number): Array<[number, number, number]> {
  const spans: Array<[number, number, number]> = [];
  const T = ps.length;
  for (let s = 0; s < T; s++) for (let e = s; e < Math.min(T, s + maxLen); e++) spans.push([s, e, ps[s]! * pe[e]!]);
  // Spans outside the band score 0 in transformers' matrix, and could fill a top_k larger than the band.
  spans.sort((x, y) => y[2] - x[2] || x[0] - y[0] || x[1] - y[1]);
  return spans.slice(0, k);
}

/** Character span of the whole words holding tokens s and e (word_to_chars over the context, sequence 1). */
function wordSpan(enc: Encoding, s: number, e: number): [number, number] {
  const span = (t: number): [number, number] => {
    const w = enc.wordIds[t];
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < enc.ids.length; i++) {
      if (enc.sequenceIds[i] !== 1 || enc.wordIds[i] !== w) continue;
      lo = Math.min(lo, enc.offsets[i]![0]);
      hi = Math.max(hi, enc.offsets[i]![1]);
    }
    return w === null || lo === Infinity ? enc.offsets[t]! : [lo, hi];
  };
  return [span(s)[0], span(e)[1]];
}
