// text-classification (alias sentiment-analysis): labels and scores for texts or text pairs, as transformers'
// TextClassificationPipeline.
//
//   const classifier = pipeline('text-classification', 'runs/sst2');
//   classifier('a gripping film')                          // [{ label: 'pos', score: 0.98 }]
//   classifier('a gripping film', { top_k: null })         // every label, best first
//   classifier(['good', 'bad'])                            // one { label, score } per text
//   classifier({ text: 'A man sleeps.', text_pair: 'Nobody is awake.' })   // sentence pairs (NLI)
//
// Scores: softmax over the labels, or a sigmoid per label for multi-label models (problem_type
// "multi_label_classification") and single-output models; `function_to_apply` overrides ('softmax', 'sigmoid',
// 'none'). The shapes follow transformers 4.36: one text without top_k → a list holding its best label; with
// top_k → that many labels (null: all) per text; a list of texts → one entry per text.

import { softmaxRow, inBatches, modelMaxLength, type EncoderModel } from './encoder.js';
import { encodedInput } from '../data/batch.js';

export type TextClassificationInput = string | { text: string; text_pair?: string };

export interface TextClassificationOptions {
  /** Labels per text, best first; null = all. Default: the best one (transformers' legacy shape). */
  top_k?: number | null;
  /** How logits become scores. Default: softmax, or sigmoid for multi-label and single-output models. */
  function_to_apply?: 'softmax' | 'sigmoid' | 'none';
  /** Texts per forward pass. Default 8. */
  batch_size?: number;
}

export interface LabelScore {
  label: string;
  score: number;
}

export type TextClassificationPipeline = {
  (input: TextClassificationInput, options?: TextClassificationOptions): LabelScore[];
  (inputs: TextClassificationInput[], options?: TextClassificationOptions): Array<LabelScore | LabelScore[]>;
};

/** The pipeline over a loaded sequence classifier (see pipeline() in index.ts). */
export function textClassificationPipeline(em: EncoderModel): TextClassificationPipeline {
  const tok = em.requireTokenizer();
  const labels = em.config.id2label;
  const run = (input: TextClassificationInput | TextClassificationInput[], options: TextClassificationOptions = {}) => {
    const list = Array.isArray(input) ? input : [input];
    const fn = options.function_to_apply ?? (em.config.problem_type === 'multi_label_classification' || labels.length === 1 ? 'sigmoid' : 'softmax');
    if (!['softmax', 'sigmoid', 'none'].includes(fn)) throw new Error(`text-classification: function_to_apply must be softmax, sigmoid or none, got ${JSON.stringify(fn)}`);
    const legacy = !('top_k' in options);
    const topK = options.top_k ?? labels.length;
    if (!Number.isInteger(topK) || topK < 1) throw new Error(`text-classification: top_k must be a positive integer or null, got ${topK}`);
    const encodings = list.map((x, i) => {
      const [text, pair] = typeof x === 'string' ? [x, undefined] : [x.text, x.text_pair];
      if (typeof text !== 'string') throw new Error(`text-classification: input ${i} must be a string or { text, text_pair }, got ${JSON.stringify(x)?.slice(0, 80)}`);
      return encodedInput(tok.encode(text, pair, { maxLength: modelMaxLength(em.config), truncation: true, padding: false }));
    });
    const perText: LabelScore[][] = [];
    inBatches(em, encodings, options.batch_size ?? 8, (batch, out) => {
      const L = labels.length;
      const logits = out.logits.toFloat32Array(); // (B, L)
      for (let b = 0; b < batch.size; b++) {
        const row = logits.subarray(b * L, (b + 1) * L);
        const scores = fn === 'softmax' ? softmaxRow(row) : fn === 'sigmoid' ? Array.from(row, (v) => 1 / (1 + Math.exp(-v))) : Array.from(row);
        const ranked = scores.map((score, k) => ({ label: labels[k]!, score })).sort((a, c) => c.score - a.score);
        perText.push(ranked.slice(0, legacy ? 1 : topK));
      }
    });
    if (legacy) return Array.isArray(input) ? perText.map((r) => r[0]!) : perText[0]!;
    return Array.isArray(input) ? perText : perText[0]!;
  };
  return run as TextClassificationPipeline;
}
