// The bridge from the RNN encoder-decoders of src/models/rnn_attention.ts to the generation loop: a
// CausalLMStepper, so greedy search and beam search are src/generate's own (no second beam search).
//
// As for every encoder-decoder (see src/generate/generate.ts), the prompt of each row is the decoder's start,
// [[bos]] per source, and the stepper holds what belongs to the source side:
//   with the cache (default): the encoded sources (memory, the precomputed attention keys U·h or W_a·h, the
//     summary) computed once at the prefill, and the decoder state after the last step; each call runs one
//     decoder step per new column. Beam search's reorderCache selects rows of both.
//   without it: every call encodes the sources again and runs the decoder from its first step over all S
//     columns — the slow reference the cached stepper must agree with, token for token.
// Either way the attention weights of every step are kept per row (and follow the rows through reorders), so
// after generate() `alignments()` gives, for each returned row, one (source length) row of weights per
// generated token: the alignment heatmap.
//
// Shapes: rows = sources × beams (the sources alone at the prefill), S = decoder tokens so far, P = columns
// already seen, V = target vocabulary, Ss = padded source length.

import { noGrad, tensor } from '../tensor/index.js';
import { selectSourceRows, selectStateRows, type DecoderState, type EncodedSource, type RNNSeq2Seq } from '../models/rnn_attention.js';
import type { CausalLMStepper, StepBatch } from './model.js';

export interface RNNSeq2SeqStepperOptions {
  /** Keep the encoded sources and the decoder state between calls (default true). */
  useCache?: boolean;
}

/** A stepper that also reports the attention weights of every generated step. */
export interface RNNSeq2SeqStepper extends CausalLMStepper {
  /**
   * For every current row, the attention weights of each decoder step so far: alignments()[row][step] is a
   * Float32Array over the padded source positions (zeros at padding). Empty lists without attention.
   */
  alignments(): Float32Array[][];
}

/**
 * A CausalLMStepper for an RNNSeq2Seq model translating `sources` (token ids, any lengths; padded here).
 * Example: `const st = stepperFromRNNSeq2Seq(model, [[5, 6, 7], [8, 9]]);
 *           const out = generate(st, [[bos], [bos]], { num_beams: 4, max_new_tokens: 20 });`
 * The prompts must be one row per source, all of one length (normally just [bos]); it does not handle
 * left-padded decoder prompts.
 */
export function stepperFromRNNSeq2Seq(model: RNNSeq2Seq, sources: readonly ArrayLike<number>[], opts: RNNSeq2SeqStepperOptions = {}): RNNSeq2SeqStepper {
  const useCache = opts.useCache ?? true;
  const cfg = model.config;
  if (sources.length === 0) throw new Error('stepperFromRNNSeq2Seq: no sources given');
  // The sources as one right-padded batch.
  const Ss = Math.max(...sources.map((s) => s.length));
  const srcIds = new Int32Array(sources.length * Ss).fill(cfg.pad_token_id);
  const srcLengths = new Int32Array(sources.length);
  sources.forEach((s, i) => {
    if (s.length === 0) throw new Error(`stepperFromRNNSeq2Seq: source ${i} is empty`);
    for (let j = 0; j < s.length; j++) {
      const id = s[j]!;
      if (!Number.isInteger(id) || id < 0 || id >= cfg.src_vocab_size) throw new Error(`stepperFromRNNSeq2Seq: source ${i} has token ${id} at position ${j}, outside the source vocabulary (${cfg.src_vocab_size})`);
      srcIds[i * Ss + j] = id;
    }
    srcLengths[i] = s.length;
  });

  let srcRow = identity(sources.length); // which source each current row translates
  let enc: EncodedSource | null = null;
  let state: DecoderState | null = null;
  let weights: Float32Array[][] = [];

  /** Encode the sources of the current rows. */
  const encodeRows = (rows: Int32Array): EncodedSource => {
    const ids = new Int32Array(rows.length * Ss);
    const lengths = new Int32Array(rows.length);
    rows.forEach((r, i) => {
      ids.set(srcIds.subarray(r * Ss, (r + 1) * Ss), i * Ss);
      lengths[i] = srcLengths[r]!;
    });
    return model.encode(tensor(ids, [rows.length, Ss], { dtype: 'int32' }), lengths);
  };

  /** Decoder steps for columns from..S−1 of the batch; returns the last step's logits (rows, V). */
  const runColumns = (b: StepBatch, from: number): Float32Array => {
    let logits: Float32Array | null = null;
    for (let t = from; t < b.length; t++) {
      const tok = new Int32Array(b.rows);
      for (let r = 0; r < b.rows; r++) {
        if (b.attentionMask[r * b.length + t] === 0) throw new Error('stepperFromRNNSeq2Seq: decoder prompts must all have the same length (no padding)');
        tok[r] = b.inputIds[r * b.length + t]!;
      }
      const r = model.step(enc!, state!, tensor(tok, [b.rows], { dtype: 'int32' }));
      state = r.state;
      if (r.weights) {
        const w = r.weights.toFloat32Array();
        for (let i = 0; i < b.rows; i++) weights[i]!.push(w.slice(i * Ss, (i + 1) * Ss));
      }
      logits = model.logits(r.output).toFloat32Array(); // (rows, V)
    }
    if (!logits) throw new Error('stepperFromRNNSeq2Seq: called with no new decoder tokens');
    return logits;
  };

  const run = (b: StepBatch): Float32Array => {
    if (b.pastLength === 0 && b.rows !== sources.length) {
      throw new Error(`stepperFromRNNSeq2Seq: ${b.rows} decoder prompts for ${sources.length} sources (give one prompt, e.g. [bos], per source)`);
    }
    if (useCache && b.pastLength > 0) return runColumns(b, b.pastLength);
    // Prefill, or no cache: encode, start the decoder, run every column.
    enc = encodeRows(srcRow);
    state = model.initialState(enc);
    weights = Array.from({ length: b.rows }, () => []);
    return runColumns(b, 0);
  };

  const stepper: RNNSeq2SeqStepper = {
    vocabSize: cfg.tgt_vocab_size,
    generationConfig: { bos_token_id: cfg.bos_token_id, eos_token_id: cfg.eos_token_id, pad_token_id: cfg.pad_token_id },
    forward(b: StepBatch): Float32Array {
      const wasTraining = model.training;
      if (wasTraining) model.train(false);
      try {
        return noGrad(() => run(b));
      } finally {
        if (wasTraining) model.train(true);
      }
    },
    reorderCache(rows: Int32Array): void {
      srcRow = Int32Array.from(rows, (r) => srcRow[r]!);
      weights = Array.from(rows, (r) => [...weights[r]!]);
      if (useCache && enc && state) {
        const e = enc;
        const s = state;
        [enc, state] = noGrad(() => [selectSourceRows(e, rows), selectStateRows(s, rows)]);
      }
    },
    reset(): void {
      srcRow = identity(sources.length);
      enc = null;
      state = null;
      weights = [];
    },
    alignments(): Float32Array[][] {
      return weights.map((w) => [...w]);
    },
  };
  return stepper;
}

function identity(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}
