// fill-mask: the most likely tokens for each [MASK] (or <mask>) of a text, as transformers' FillMaskPipeline.
//
//   const unmasker = pipeline('fill-mask', 'models/bert-base-uncased');
//   unmasker('Paris is the [MASK] of France.')
//   // [{ score: 0.97, token: 3007, token_str: 'capital', sequence: 'paris is the capital of france.' }, ...]
//   unmasker('… [MASK] …', { top_k: 3, targets: ['capital', 'city'] })   // only these candidates
//
// One mask gives a list of candidates; several masks give one list per mask (in text order; each mask is
// predicted from the same single forward pass, so they are independent guesses). A list of texts gives one
// result per text. `sequence` is the text with the candidate put in (special tokens and padding removed; with
// several masks the other masks are kept, as transformers does).

import { softmaxRow, inBatches, modelMaxLength, type EncoderModel } from './encoder.js';
import { encodedInput } from '../data/batch.js';

export interface FillMaskOptions {
  /** Candidates per mask. Default 5. */
  top_k?: number;
  /** Only score these tokens (a target not in the vocabulary is tokenized and its first token used). */
  targets?: string | string[];
  /** Texts per forward pass. Default 8. */
  batch_size?: number;
}

export interface FillMaskResult {
  score: number;
  token: number;
  token_str: string;
  sequence: string;
}

export type FillMaskPipeline = {
  (text: string, options?: FillMaskOptions): FillMaskResult[] | FillMaskResult[][];
  (texts: string[], options?: FillMaskOptions): Array<FillMaskResult[] | FillMaskResult[][]>;
};

/** The pipeline over a loaded masked-LM (see pipeline() in index.ts). */
export function fillMaskPipeline(em: EncoderModel): FillMaskPipeline {
  const tok = em.requireTokenizer();
  const maskToken = tok.tokenToId('[MASK]') !== undefined ? '[MASK]' : '<mask>';
  const maskId = tok.tokenToId(maskToken);
  if (maskId === undefined) throw new Error(`fill-mask: the tokenizer of ${em.dir} has no [MASK] or <mask> token`);
  const padId = em.config.pad_token_id;
  const run = (input: string | string[], options: FillMaskOptions = {}) => {
    const texts = typeof input === 'string' ? [input] : input;
    const targetIds = options.targets === undefined ? null : targetIdsOf(options.targets);
    let topK = options.top_k ?? 5;
    if (!Number.isInteger(topK) || topK < 1) throw new Error(`fill-mask: top_k must be a positive integer, got ${topK}`);
    if (targetIds && targetIds.length < topK) topK = targetIds.length;
    const encodings = texts.map((t) => tok.encode(t, undefined, { maxLength: modelMaxLength(em.config), truncation: true, padding: false }));
    encodings.forEach((e, i) => {
      if (!e.ids.includes(maskId)) throw new Error(`fill-mask: no mask token (${maskToken}) found in input ${i}: ${JSON.stringify(texts[i]!.slice(0, 80))}`);
    });
    const V = em.config.vocab_size;
    const results: Array<FillMaskResult[] | FillMaskResult[][]> = [];
    inBatches(em, encodings.map((e) => encodedInput(e)), options.batch_size ?? 8, (batch, out, first) => {
      const logits = out.logits.toFloat32Array(); // (B, T, V)
      for (let b = 0; b < batch.size; b++) {
        const ids = encodings[first + b]!.ids;
        const at = ids.flatMap((id, t) => (id === maskId ? [t] : []));
        const single = at.length === 1;
        const perMask = at.map((t) => {
          const o = (b * batch.length + t) * V;
          let probs = softmaxRow(logits.subarray(o, o + V));
          let idOf = (k: number) => k;
          if (targetIds) {
            probs = targetIds.map((id) => probs[id]!);
            idOf = (k) => targetIds[k]!;
          }
          return topIndices(probs, topK).map((k) => {
            const token = idOf(k);
            const filled = ids.map((id, i) => (i === t ? token : id)).filter((id) => id !== padId);
            return { score: probs[k]!, token, token_str: tok.decode([token]), sequence: tok.decode(filled, { skipSpecialTokens: single }) };
          });
        });
        results.push(single ? perMask[0]! : perMask);
      }
    });
    return typeof input === 'string' ? results[0]! : results;
  };

  /** transformers' get_target_ids: a vocabulary entry, else the first token of the target's encoding; duplicates dropped. */
  function targetIdsOf(targets: string | string[]): number[] {
    const list = typeof targets === 'string' ? [targets] : targets;
    const ids = new Set<number>();
    for (const t of list) {
      const id = tok.tokenToId(t) ?? tok.encode(t, undefined, { addSpecialTokens: false }).ids[0];
      if (id !== undefined) ids.add(id);
    }
    if (ids.size === 0) throw new Error(`fill-mask: none of the targets ${JSON.stringify(list)} gives a token`);
    return [...ids];
  }
  return run as FillMaskPipeline;
}

/** Indices of the k largest values, largest first (ties: lower index first, as a stable sort). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => values[b]! - values[a]! || a - b);
  return idx.slice(0, k);
}
