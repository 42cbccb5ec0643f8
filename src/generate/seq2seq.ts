// Generation for encoder-decoder models (the 2017 Transformer / Marian, T5): the seq2seq stepper beside the
// causal one (from_model.ts), driving the same generation loop (generate.ts) — greedy, sampling, beam search
// and every logits processor work unchanged.
//
//   sources (B, S) ──encoder, once──▶ states (B, S, C)
//   decoder prompt: [decoder_start_token_id] per source ──loop──▶ [start, y1, y2, ..., eos]
//
// What the stepper adds to a causal one:
//   - the encoder runs once per generate call, on the B source rows (padded on the right, with a mask);
//   - at the first decoder step every layer computes the source's cross-attention keys/values and keeps them in
//     the cache (KVCache's cross slots): later steps read them instead of the encoder states;
//   - beam search and num_return_sequences copy/reorder rows (B → B·num_beams, then by parent beam): the cache
//     (self and cross), the source mask and, without a cache, the encoder states follow the same rows.
// Without the cache the decoder re-runs over all its tokens every step (the encoder still runs once): the
// reference the cached path must agree with token for token.
//
// Sequences come back as transformers returns them: starting with the decoder start token, then the generated
// tokens (max_length counts the start token, so max_new_tokens n gives at most 1 + n tokens per row).
//
// Shapes: B sources, S source length, rows = B (prefill) or B·e (e = beams or returned sequences), L decoder
// tokens so far, P = L − 1 cached, V vocabulary.

import { KVCache } from '../nn/attention.js';
import { noGrad, tensor, trainingStep, type Tensor } from '../tensor/index.js';
import { generate, type GenerateOptions, type GenerateOutput } from './generate.js';
import { generationConfigFromJson, type GenerationConfig } from './config.js';
import { sliceColumns, type CausalLMStepper, type StepBatch } from './model.js';
import { decodeInStepMemory, type RowSelectableCache } from './from_model.js';

/**
 * What an encoder-decoder model must offer (Transformer in src/models/transformer.ts and T5 in t5.ts have it).
 * decode takes the new decoder ids (rows, T), the encoder states (rows, S, C) — or null once the cache holds
 * the cross-attention keys/values — and the source mask (rows · S bytes).
 */
export interface Seq2SeqLMModule<C extends RowSelectableCache = RowSelectableCache> {
  readonly config: {
    readonly vocab_size: number;
    readonly decoder_start_token_id: number;
    readonly pad_token_id: number;
    readonly eos_token_id?: number | readonly number[] | null;
    readonly bos_token_id?: number | null;
    readonly forced_eos_token_id?: number | null;
  };
  readonly training: boolean;
  train(on?: boolean): unknown;
  encode(inputIds: Tensor, opts: { attentionMask?: Tensor }): { lastHiddenState: Tensor };
  decode(decoderInputIds: Tensor, encoderHiddenStates: Tensor | null, opts: { encoderAttentionMask?: Uint8Array; cache?: C; logitsToKeep?: number }): { logits: Tensor };
  newCache(): C;
}

/** A batch of source rows, right-padded: ids and mask (rows, S) row-major. */
export interface Seq2SeqSources {
  inputIds: Int32Array;
  attentionMask: Uint8Array;
  rows: number;
  length: number;
}

/**
 * Sources of different lengths → one right-padded (B, S) batch (encoders read the whole source at once, so
 * padding goes at the end, as tokenizers pad for Marian and T5). With `attentionMask` the rows are taken as
 * given (they must then all have the same length). Example: `padSources([[5, 6, 0], [7, 0]], 499)` → ids
 * `[5, 6, 0, 7, 0, 499]`, mask `[1, 1, 1, 1, 1, 0]`.
 */
export function padSources(sources: readonly ArrayLike<number>[], padTokenId: number, attentionMask?: readonly ArrayLike<number>[]): Seq2SeqSources {
  if (!Array.isArray(sources) || sources.length === 0) throw new Error('generateSeq2Seq: give at least one source (an array of token ids)');
  const rows = sources.length;
  let length = 0;
  for (const s of sources) length = Math.max(length, s.length);
  if (length === 0) throw new Error('generateSeq2Seq: every source is empty; give at least one token');
  if (attentionMask && (attentionMask.length !== rows || attentionMask.some((m, r) => m.length !== sources[r]!.length || m.length !== length))) {
    throw new Error(`generateSeq2Seq: attention mask rows of lengths [${attentionMask.map((m) => m.length).join(', ')}] do not match source rows of lengths [${sources.map((s) => s.length).join(', ')}] (all rows must have one length when a mask is given)`);
  }
  const inputIds = new Int32Array(rows * length).fill(padTokenId);
  const mask = new Uint8Array(rows * length);
  for (let r = 0; r < rows; r++) {
    const s = sources[r]!;
    let real = 0;
    for (let t = 0; t < s.length; t++) {
      inputIds[r * length + t] = s[t]!;
      mask[r * length + t] = attentionMask ? (attentionMask[r]![t] ? 1 : 0) : 1;
      real += mask[r * length + t]!;
    }
    if (real === 0) throw new Error(`generateSeq2Seq: source ${r} has no real token (empty, or its attention mask is all 0)`);
  }
  return { inputIds, attentionMask: mask, rows, length };
}

export interface Seq2SeqStepperOptions {
  /** Keep the decoder's self-attention KV cache and the cross-attention keys/values (default true). */
  useCache?: boolean;
  /** Generation defaults, e.g. the model folder's parsed generation_config.json. */
  generationConfig?: Record<string, unknown>;
}

/** Rows `from` of a (rows, ...) tensor as a new contiguous tensor. */
function selectRows(t: Tensor, from: Int32Array): Tensor {
  const c = t.contiguous();
  const per = c.size / c.shape[0]!;
  const src = c.data as Float32Array;
  const out = new Float32Array(from.length * per);
  from.forEach((r, i) => out.set(src.subarray(c.offset + r * per, c.offset + (r + 1) * per), i * per));
  return tensor(out, [from.length, ...c.shape.slice(1)]);
}

/**
 * A CausalLMStepper over an encoder-decoder model and fixed sources: generate() then sees the decoder as a
 * language model whose prompt is the start token. Example:
 * `generate(seq2seqStepper(model, padSources(srcs, pad)), srcs.map(() => [start]), { attention_mask: srcs.map(() => [1]), max_new_tokens: 20 })`
 * — or simply generateSeq2Seq, which does exactly that.
 */
export function seq2seqStepper<C extends RowSelectableCache>(model: Seq2SeqLMModule<C>, sources: Seq2SeqSources, opts: Seq2SeqStepperOptions = {}): CausalLMStepper {
  const useCache = opts.useCache ?? true;
  const V = model.config.vocab_size;
  const S = sources.length;
  const defaults: Partial<GenerationConfig> | undefined = opts.generationConfig ? generationConfigFromJson(opts.generationConfig) : undefined;
  let encoded: Tensor | null = null; // (B, S, C), once per generate call
  let enc: Tensor | null = null; // (rows, S, C): the encoder states of the current rows (no-cache path only)
  let mask = sources.attentionMask; // (rows · S)
  let rowsFrom: Int32Array | null = null; // current row → source row, for the no-cache path's encoder states
  let cache: C | null = null;
  const anyPadding = sources.attentionMask.some((m) => m === 0);

  const run = (b: StepBatch): Float32Array => {
    if (!encoded) {
      const src = tensor(sources.inputIds, [sources.rows, S], { dtype: 'int32' });
      const srcMask = anyPadding ? tensor(Int32Array.from(sources.attentionMask), [sources.rows, S], { dtype: 'int32' }) : undefined;
      encoded = model.encode(src, srcMask ? { attentionMask: srcMask } : {}).lastHiddenState; // (B, S, C)
    }
    const from = useCache ? b.pastLength : 0;
    if (useCache && b.pastLength === 0) cache = model.newCache();
    const T = b.length - from;
    const ids = tensor(sliceColumns(b.inputIds, b.rows, b.length, from), [b.rows, T], { dtype: 'int32' }); // (rows, T)
    // With the cache, only the first call needs the encoder states (the cross-attention keys/values are then
    // cached); without it every call does, for the current rows.
    let states: Tensor | null = null;
    if (!useCache || b.pastLength === 0) {
      if (!enc) enc = rowsFrom ? selectRows(encoded, rowsFrom) : encoded;
      states = enc;
    }
    const step = (): Float32Array => {
      const { logits } = model.decode(ids, states, { ...(anyPadding ? { encoderAttentionMask: mask } : {}), ...(useCache ? { cache: cache! } : {}), logitsToKeep: 1 }); // (rows, 1, V)
      return logits.toFloat32Array().slice(); // an ordinary array (the step's memory is reused)
    };
    // Steps after the first run in step memory, as in stepperFromModel: the encoder states and the
    // cross-attention keys/values, which every step reads, are made by the first call, outside it.
    return decodeInStepMemory(cache, useCache, b.pastLength) ? trainingStep(step) : step();
  };

  const stepper: CausalLMStepper = {
    vocabSize: V,
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
      // New row i continues old row rows[i]: the cache, the source mask and the map to source rows follow.
      if (cache) cache.selectRows(rows);
      const nextMask = new Uint8Array(rows.length * S);
      rows.forEach((r, i) => nextMask.set(mask.subarray(r * S, (r + 1) * S), i * S));
      mask = nextMask;
      rowsFrom = rows.map((r) => (rowsFrom ? rowsFrom[r]! : r));
      enc = null; // rebuilt from rowsFrom when the no-cache path needs it
    },
    reset(): void {
      cache = null;
      enc = null;
      rowsFrom = null;
      mask = sources.attentionMask;
    },
    finish(): void {
      if (cache instanceof KVCache) cache.release(); // only this stepper holds it
      cache = null;
    },

  };
  return defaults ? { ...stepper, generationConfig: defaults } : stepper;
}

/** Options of generateSeq2Seq: transformers' generation settings, plus the source-side inputs. */
export interface Seq2SeqGenerateOptions extends Omit<GenerateOptions, 'attention_mask'> {
  /** (B, S) source mask for sources of one length that hold padding (`--attention-mask 1,1;1,0`). */
  attention_mask?: readonly ArrayLike<number>[];
  /** The decoder's first token; default: the generation config's, else the model config's. */
  decoder_start_token_id?: number;
  /** Default true; false re-runs the decoder over all its tokens each step (the encoder still runs once). */
  use_cache?: boolean;
  /** The model folder's generation defaults (generation_config.json, or config.json's generation keys). */
  generation_config?: Record<string, unknown>;
}

/**
 * Translate / summarize / transcribe token ids: encoder once, then the decoder from the start token.
 * `generateSeq2Seq(model, [[196, 6, 413, 0]], { num_beams: 4, max_new_tokens: 64, generation_config })`
 * → `{ sequences: [Int32Array [start, ..., eos]], prompt_length: 1, sequences_scores }`.
 * Sources of different lengths are right-padded with pad_token_id. Does not handle: decoder prompts longer
 * than the start token (forced_decoder_ids), encoder_no_repeat_ngram_size.
 */
export function generateSeq2Seq<C extends RowSelectableCache>(model: Seq2SeqLMModule<C>, sources: readonly ArrayLike<number>[], options: Seq2SeqGenerateOptions = {}): GenerateOutput {
  const { attention_mask, decoder_start_token_id, use_cache, generation_config, ...rest } = options;
  const V = model.config.vocab_size;
  sources.forEach((s, r) => {
    for (let t = 0; t < s.length; t++) {
      const id = s[t]!;
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`generateSeq2Seq: source ${r} has token id ${id} at position ${t}, outside the vocabulary of size ${V} (is the tokenizer the model's?)`);
    }
  });
  const start = decoder_start_token_id ?? (generation_config?.['decoder_start_token_id'] as number | undefined) ?? model.config.decoder_start_token_id;
  if (!Number.isInteger(start) || start < 0 || start >= V) throw new Error(`generateSeq2Seq: decoder_start_token_id ${start} is not a token id of a vocabulary of size ${V}`);
  const padded = padSources(sources, model.config.pad_token_id, attention_mask);
  // Without a folder's generation config, the model config's special tokens, as transformers' generate() falls
  // back to GenerationConfig.from_model_config: above all EOS, without which no beam ever finishes (beams
  // then run to max_length and are ranked by scores that include tokens after their end).
  const defaults = generation_config ?? specialTokens(model.config);
  const stepper = seq2seqStepper(model, padded, { useCache: use_cache ?? true, generationConfig: defaults });
  const prompts = sources.map(() => [start]);
  // The start token is often the pad token (Marian, T5): say explicitly that it is a real token.
  return generate(stepper, prompts, { ...rest, attention_mask: prompts.map(() => [1]) });
}

/** The generation-related token ids of a model config (those it has), as a generation config. */
function specialTokens(config: Seq2SeqLMModule['config']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['eos_token_id', 'bos_token_id', 'pad_token_id', 'decoder_start_token_id', 'forced_eos_token_id'] as const) {
    const v = config[key];
    if (v !== undefined && v !== null) out[key] = v;
  }
  return out;
}
