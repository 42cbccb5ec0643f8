// The contract between a language model and the generation loop: a "stepper" turns the tokens of a batch
// into next-token logits, one step at a time.
//
// Generation (greedy, sampling, beam search) only needs, at every step, the logits of the *last* position of
// every row. It never touches tensors: logits arrive as a Float32Array (rows, V). That keeps src/generate
// independent of the tensor engine and lets us test it with tiny hand-made "models" (a bigram table).
//
// Every call hands the stepper the whole batch so far — all token ids, the attention mask and the position
// ids, shape (rows, S) — together with `pastLength` P: how many of those S positions the generator has
// already shown it. So one interface fits both kinds of model:
//   - a model WITH a KV cache reads only the new columns P..S-1 (the whole prompt at prefill, then one token
//     per step) and keeps the keys/values of earlier positions itself;
//   - a model WITHOUT a cache ignores P and simply re-runs the full (rows, S) sequence every step.
// Both must produce the same logits, which is exactly what the cache-equality test checks.
//
// Beam search (and `num_return_sequences`) changes which rows exist: after every step each new row continues
// some old row. The generator says so with `reorderCache(rows)`: new row i = old row rows[i]. The number of
// rows may change (prefill runs once per prompt, then every prompt is copied to its num_beams beams). A
// no-cache model has nothing to reorder (the next call brings the reordered ids anyway).
//
// Shapes: rows = batch × beams (or × num_return_sequences), S = tokens per row so far (padded prompt +
// generated), P = pastLength, V = vocabulary.
//
// Example: a no-cache stepper around any function that maps (rows, S) ids to (rows, S, V) logits.
//
//   const stepper: CausalLMStepper = {
//     vocabSize: 1000,
//     forward(b) {
//       const all = myModel(b.inputIds, b.attentionMask, b.positionIds, b.rows, b.length); // (rows, S, V)
//       return lastPositionLogits(all, b.rows, b.length, 1000);                           // (rows, V)
//     },
//     reorderCache() {}, // nothing cached
//   };
//   const out = generate(stepper, [[5, 6, 7]], { max_new_tokens: 10 });
//
// With a KV cache (stepperFromModel in src/generate/from_model.ts does this for the GPT model):
//
//   forward(b) {
//     const newIds = sliceColumns(b.inputIds, b.rows, b.length, b.pastLength);   // (rows, S - P)
//     const newPos = sliceColumns(b.positionIds, b.rows, b.length, b.pastLength); // (rows, S - P)
//     return model.step(newIds, newPos, b.attentionMask /* (rows, S) */, cache);  // (rows, V)
//   },
//   reorderCache(rows) { cache.selectRows(rows); },
//   reset() { cache = model.newCache(); },
//   finish() { cache.release(); }, // optional: the generation is over, its memory can go back now

import type { GenerationConfig } from './config.js';

/** One call's worth of input: everything the generator knows about the batch, row-major (rows, S). */
export interface StepBatch {
  /** Number of rows (prompts × beams or × num_return_sequences; at prefill: the prompts only). */
  readonly rows: number;
  /** S: tokens per row so far (the padded prompt plus the tokens generated). */
  readonly length: number;
  /** P: how many leading positions the stepper has already seen (0 at prefill, then S - 1). */
  readonly pastLength: number;
  /** (rows, S) token ids; left padding (if any) holds the pad token. */
  readonly inputIds: Int32Array;
  /** (rows, S) 1 for real tokens, 0 for padding. Generated tokens are always 1. */
  readonly attentionMask: Uint8Array;
  /** (rows, S) position ids derived from the mask: cumsum(mask) - 1, and 1 at padded positions. */
  readonly positionIds: Int32Array;
}

/**
 * A language model as the generation loop sees it. See the file comment for a cached and a no-cache example.
 * `forward` returns the logits of the last position of every row, (rows, V) row-major. It may return a
 * Promise (then use `generateAsync` / `streamText`; the synchronous `generate` refuses it).
 */
export interface CausalLMStepper {
  readonly vocabSize: number;
  /** Defaults read from the model's generation_config.json (eos_token_id, pad_token_id, ...), if any. */
  readonly generationConfig?: Partial<GenerationConfig>;
  forward(batch: StepBatch): Float32Array | Promise<Float32Array>;
  /** New row i continues old row rows[i]; rows.length may differ from the current number of rows. */
  reorderCache(rows: Int32Array): void;
  /** Forget any cached state: called once before a new generation starts. */
  reset?(): void;
  /**
   * The generation has ended (or failed): cached state will not be read again, and the stepper may give its
   * memory back now (attn's steppers release their KV cache, see LayerKVCache.release).
   */
  finish?(): void;
}

/**
 * Position ids for a (rows, S) attention mask, as Hugging Face's generate computes them for GPT-2:
 * position = cumsum(mask) - 1 along each row, and 1 wherever the mask is 0. So a left-padded row
 * `[0, 0, 1, 1, 1]` gets positions `[1, 1, 0, 1, 2]`: its first real token sits at position 0, exactly as
 * if there were no padding. (The 1 at padded positions is arbitrary — those positions are masked out.)
 *
 * Example: `positionIdsFromMask(Uint8Array.of(0, 1, 1, 1, 1, 1), 2, 3)` → `[1, 0, 1, 0, 1, 2]`.
 */
export function positionIdsFromMask(mask: ArrayLike<number>, rows: number, length: number): Int32Array {
  if (mask.length !== rows * length) {
    throw new Error(`positionIdsFromMask: mask has ${mask.length} entries, expected rows × length = ${rows} × ${length} = ${rows * length}`);
  }
  const pos = new Int32Array(rows * length);
  for (let r = 0; r < rows; r++) {
    let seen = 0; // running cumsum(mask)
    for (let t = 0; t < length; t++) {
      const i = r * length + t;
      if (mask[i] !== 0) {
        seen++;
        pos[i] = seen - 1;
      } else {
        pos[i] = 1;
      }
    }
  }
  return pos;
}

/**
 * Left-pads prompts of different lengths into one (rows, S) batch, the way decoder-only models must be
 * padded for generation (new tokens are appended on the right, so the real tokens of every row have to end
 * at the same column). Returns the ids, the mask (1 = real token) and S.
 *
 * Example: `leftPad([[5, 6, 7], [8]], 0)` → ids `[5, 6, 7, 0, 0, 8]`, mask `[1, 1, 1, 0, 0, 1]`, length 3.
 * It does not truncate: the longest prompt sets S.
 */
export function leftPad(prompts: readonly ArrayLike<number>[], padTokenId: number): { inputIds: Int32Array; attentionMask: Uint8Array; rows: number; length: number } {
  if (prompts.length === 0) throw new Error('leftPad: no prompts given (expected at least one row of token ids)');
  let length = 0;
  for (const p of prompts) length = Math.max(length, p.length);
  const rows = prompts.length;
  const inputIds = new Int32Array(rows * length).fill(padTokenId);
  const attentionMask = new Uint8Array(rows * length);
  for (let r = 0; r < rows; r++) {
    const p = prompts[r]!;
    const offset = length - p.length; // number of pad tokens in front of this row
    for (let t = 0; t < p.length; t++) {
      inputIds[r * length + offset + t] = p[t]!;
      attentionMask[r * length + offset + t] = 1;
    }
  }
  return { inputIds, attentionMask, rows, length };
}

/** Columns P..S-1 of a (rows, S) array: the tokens a cached model has not seen yet, (rows, S - P). */
export function sliceColumns<A extends Int32Array | Uint8Array | Float32Array>(data: A, rows: number, length: number, from: number): A {
  const width = length - from;
  const out = new (data.constructor as { new (n: number): A })(rows * width);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * length + from, (r + 1) * length) as ArrayLike<number>, r * width);
  return out;
}

/** The last position of (rows, T, V) logits: (rows, V). A no-cache model's forward returns every position. */
export function lastPositionLogits(logits: Float32Array, rows: number, T: number, V: number): Float32Array {
  if (logits.length !== rows * T * V) {
    throw new Error(`lastPositionLogits: got ${logits.length} values, expected rows × T × V = ${rows} × ${T} × ${V} = ${rows * T * V}`);
  }
  const out = new Float32Array(rows * V);
  for (let r = 0; r < rows; r++) out.set(logits.subarray((r * T + T - 1) * V, (r * T + T) * V), r * V);
  return out;
}
