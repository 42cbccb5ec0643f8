// feature-extraction: vectors for texts from an encoder's last hidden state, for search and clustering.
//
//   const embed = pipeline('feature-extraction', 'models/all-MiniLM-L6-v2');
//   const [a, b] = embed(['A man is eating.', 'Someone eats.'], { pooling: 'mean', normalize: true }) as number[][];
//   cosineSimilarity(a, b)                                   // 0.8…
//   embed('hello')                                           // pooling 'none': one vector per token (T × C)
//
// Pooling (as transformers.js and sentence-transformers): 'none' keeps every token's vector (transformers'
// FeatureExtractionPipeline), 'mean' averages the vectors of the real tokens (special tokens included, padding
// not), 'cls' takes the first token's. `normalize` scales each vector to length 1, so a dot product is the
// cosine similarity. Texts longer than the model are cut to its length.

import { modelMaxLength, type EncoderModel } from './encoder.js';
import { collateInputs, encodedInput } from '../data/batch.js';

export interface FeatureExtractionOptions {
  /** 'none' (default): one vector per token; 'mean' or 'cls': one vector per text. */
  pooling?: 'none' | 'mean' | 'cls';
  /** Scale each vector to unit length. Default false. */
  normalize?: boolean;
  /** Texts per forward pass. Default 8. */
  batch_size?: number;
}

export type FeatureExtractionPipeline = {
  (text: string, options?: FeatureExtractionOptions): number[] | number[][];
  (texts: string[], options?: FeatureExtractionOptions): Array<number[] | number[][]>;
};

/** The pipeline over a loaded encoder (any head: its encoder's last hidden state is read). */
export function featureExtractionPipeline(em: EncoderModel): FeatureExtractionPipeline {
  const tok = em.requireTokenizer();
  const run = (input: string | string[], options: FeatureExtractionOptions = {}) => {
    const texts = typeof input === 'string' ? [input] : input;
    const pooling = options.pooling ?? 'none';
    if (!['none', 'mean', 'cls'].includes(pooling)) throw new Error(`feature-extraction: pooling must be none, mean or cls, got ${JSON.stringify(pooling)}`);
    const inputs = texts.map((t) => encodedInput(tok.encode(t, undefined, { maxLength: modelMaxLength(em.config), truncation: true, padding: false })));
    const C = em.config.hidden_size;
    const out: Array<number[] | number[][]> = [];
    const size = options.batch_size ?? 8;
    if (!Number.isInteger(size) || size < 1) throw new Error(`batch_size must be a positive integer, got ${size}`);
    for (let first = 0; first < inputs.length; first += size) {
      const batch = collateInputs(inputs.slice(first, first + size), em.config.pad_token_id);
      const hidden = em.lastHiddenStateBatch(batch).toFloat32Array(); // (B, T, C): the encoder's output, whatever the head
      for (let b = 0; b < batch.size; b++) {
        const len = inputs[first + b]!.inputIds.length;
        const vec = (t: number) => Array.from(hidden.subarray((b * batch.length + t) * C, (b * batch.length + t + 1) * C));
        if (pooling === 'none') {
          const rows = Array.from({ length: len }, (_, t) => vec(t));
          out.push(options.normalize ? rows.map(unit) : rows);
          continue;
        }
        let v: number[];
        if (pooling === 'cls') v = vec(0);
        else {
          v = new Array<number>(C).fill(0);
          for (let t = 0; t < len; t++) vec(t).forEach((x, c) => (v[c]! += x / len));
        }
        out.push(options.normalize ? unit(v) : v);
      }
    }
    return typeof input === 'string' ? out[0]! : out;
  };
  return run as FeatureExtractionPipeline;
}

/** v / ‖v‖ (a zero vector stays zero). */
function unit(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return n === 0 ? v : v.map((x) => x / n);
}

/**
 * Cosine similarity a·b / (‖a‖‖b‖), in [−1, 1]: `cosineSimilarity(embed(x, { pooling: 'mean' }), …)`.
 * Vectors of different lengths are an error; a zero vector gives 0.
 */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosineSimilarity: vectors of ${a.length} and ${b.length} values`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
