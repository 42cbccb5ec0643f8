// What every encoder-decoder model in attn shares (the 2017 Transformer / Marian in transformer.ts, T5 in
// t5.ts): the shape of their outputs, the right shift that turns labels into decoder inputs, and the
// conversion of a 0/1 attention mask into the bytes the attention op takes. The models themselves share no
// code beyond this and src/nn.
//
//   source ids (B, S) ──encoder──▶ encoder states (B, S, C)
//                                          │ cross-attention (keys/values, once per source)
//   decoder ids (B, T) ──decoder (causal)──┴──▶ logits (B, T, V)
//
// Shapes: B batch, S source positions, T decoder positions, C model width, H heads, V vocabulary.

import { crossEntropy, reshape, slice, tensor, Tensor, type Rng } from '../tensor/index.js';
import { Packing, type KVCache } from '../nn/index.js';

/** What the encoder returns (Hugging Face's BaseModelOutput). */
export interface EncoderOutput {
  /** (B, S, C) the encoder's last layer (after the final norm, where the model has one); (N_S, C) when packed. */
  lastHiddenState: Tensor;
  /** layers + 1 tensors (B, S, C): the embeddings, then each layer's output (the last after the final norm). */
  hiddenStates?: Tensor[];
  /** layers tensors (B, H, S, S) of self-attention probabilities. */
  attentions?: Tensor[];
}

/** What the decoder returns for the new positions of one call. */
export interface DecoderOutput {
  /** (B, T, V), or (B, logitsToKeep, V); (N, V) with packed `rows`. */
  logits: Tensor;
  /** layers + 1 tensors (B, T, C), as EncoderOutput.hiddenStates. */
  hiddenStates?: Tensor[];
  /** layers tensors (B, H, T, P + T) of causal self-attention probabilities. */
  attentions?: Tensor[];
  /** layers tensors (B, H, T, S) of cross-attention probabilities: which source positions each output position reads. */
  crossAttentions?: Tensor[];
}

/** A full teacher-forced forward (Hugging Face's Seq2SeqLMOutput). */
export interface Seq2SeqOutput {
  logits: Tensor; // (B, T, V); with paddingFree (N, V), the target positions that were computed, row by row
  /** Mean cross-entropy over labels that are not -100 (when labels were given). */
  loss?: Tensor;
  encoderLastHiddenState: Tensor; // (B, S, C); with paddingFree (N_S, C) where the source had padding
  encoderHiddenStates?: Tensor[];
  encoderAttentions?: Tensor[];
  decoderHiddenStates?: Tensor[];
  decoderAttentions?: Tensor[];
  crossAttentions?: Tensor[];
}

/**
 * A head mask (Hugging Face's head_mask, decoder_head_mask, cross_attn_head_mask): a factor per head on its
 * attention probabilities, and so on its output; 0 removes the head. (H) for every layer, (layers, H) one row
 * per layer, or one entry per layer ((H) or (B, H), null = none). A Tensor that requires grad gets ∂L/∂mask.
 */
export type HeadMaskOption = Tensor | Float32Array | ReadonlyArray<Tensor | Float32Array | null>;

export interface DecodeOptions {
  /** (B, S) source mask: 1 for real source tokens, 0 for padding (hidden from cross-attention). */
  encoderAttentionMask?: Tensor | Uint8Array;
  /** The decoder self-attention's head mask (HF's decoder_head_mask). */
  headMask?: HeadMaskOption;
  /** The cross-attention's head mask (HF's cross_attn_head_mask). */
  crossAttentionHeadMask?: HeadMaskOption;
  /** Self-attention keys/values of earlier decoder positions and the source's cross-attention keys/values. */
  cache?: KVCache;
  outputAttentions?: boolean;
  outputHiddenStates?: boolean;
  /** Logits for only the last N positions (generation needs one). 0 = all. */
  logitsToKeep?: number;
  /** Padding-free (src/nn/packing.ts): compute only these positions of the (B, T) decoder inputs; the layers work on (N, C). */
  rows?: Packing;
  /** The packing of encoder states given packed (N_S, C), as EncodeOptions.rows made them. */
  encoderRows?: Packing;
}

/** The encoder's options, the same for every encoder-decoder. */
export interface EncodeOptions {
  /** (B, S) source mask: 1 for real tokens, 0 for padding. */
  attentionMask?: Tensor;
  headMask?: HeadMaskOption;
  outputAttentions?: boolean;
  outputHiddenStates?: boolean;
  /** Padding-free: compute only these positions; lastHiddenState (and hidden states) come back packed (N_S, C). */
  rows?: Packing;
  /** Random numbers for dropout (training only). */
  rng?: Rng;
}

/**
 * Labels → decoder inputs, as transformers' shift_tokens_right: the decoder reads [start, y0, y1, ...] and is
 * trained to write [y0, y1, y2, ...]; -100 (ignored label) becomes the pad token.
 * Example: `shiftTokensRight([[5, 6, 1]], 0, 0)` → `[[0, 5, 6]]`.
 */
export function shiftTokensRight(labels: Int32Array, rows: number, length: number, padTokenId: number, decoderStartTokenId: number): Int32Array {
  if (labels.length !== rows * length) throw new RangeError(`shiftTokensRight: ${labels.length} labels for ${rows} rows × ${length}`);
  const out = new Int32Array(rows * length);
  for (let r = 0; r < rows; r++) {
    out[r * length] = decoderStartTokenId;
    for (let t = 1; t < length; t++) {
      const y = labels[r * length + t - 1]!;
      out[r * length + t] = y === -100 ? padTokenId : y;
    }
  }
  return out;
}

/** shiftTokensRight on an int32 (B, T) labels tensor. */
export function decoderInputsFromLabels(labels: Tensor, padTokenId: number, decoderStartTokenId: number): Tensor {
  if (labels.ndim !== 2 || labels.dtype !== 'int32') throw new Error(`labels must be an int32 (B, T) tensor, got ${labels.dtype} [${labels.shape.join(', ')}]`);
  const [B, T] = labels.shape as [number, number];
  return tensor(shiftTokensRight(labels.contiguous().data as Int32Array, B, T, padTokenId, decoderStartTokenId), [B, T], { dtype: 'int32' });
}

/** (B, S) 0/1 mask (a Tensor of any dtype, or bytes) → the Uint8Array the attention op takes; undefined when all ones. */
export function maskBytes(mask: Tensor | Uint8Array | undefined, B: number, S: number, who: string): Uint8Array | undefined {
  if (mask === undefined) return undefined;
  let bytes: Uint8Array;
  if (mask instanceof Uint8Array) {
    if (mask.length !== B * S) throw new Error(`${who}: the attention mask has ${mask.length} entries, expected (B, S) = ${B} × ${S}`);
    bytes = mask;
  } else {
    if (mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== S) {
      throw new Error(`${who}: the attention mask must be (B, S) = [${B}, ${S}], got [${mask.shape.join(', ')}]`);
    }
    const src = mask.toArray();
    bytes = new Uint8Array(B * S);
    for (let i = 0; i < src.length; i++) bytes[i] = src[i] !== 0 ? 1 : 0;
  }
  return bytes.every((m) => m === 1) ? undefined : bytes;
}

/** Checks that a packing was made for a (B, T) batch: `who` names the caller and `what` the sequence. */
export function checkRows(rows: Packing | undefined, B: number, T: number, who: string, what: string): void {
  if (rows && (rows.batch !== B || rows.length !== T)) throw new Error(`${who}: the packing of the ${what} is for (B, T) = (${rows.batch}, ${rows.length}), the ${what} are (${B}, ${T})`);
}

/** Checks ids are an int32 (B, T) tensor, T ≥ 1, of ids below V; the error names the row and position. */
export function checkTokenIds(ids: Tensor, what: string, V: number): void {
  if (ids.ndim !== 2 || ids.dtype !== 'int32') throw new Error(`${what} must be an int32 (B, T) tensor, got ${ids.dtype} [${ids.shape.join(', ')}]`);
  const T = ids.shape[1]!;
  if (T === 0) throw new Error(`${what} are empty (length 0)`);
  const data = ids.contiguous().data as Int32Array;
  for (let i = 0; i < data.length; i++) {
    const id = data[i]!;
    if (id < 0 || id >= V) throw new Error(`${what}: token id ${id} at row ${Math.floor(i / T)}, position ${i % T} is outside the vocabulary of size ${V} (is the tokenizer the model's?)`);
  }
}

/**
 * S, the source length the decoder attends to: from the encoder's states (B, S, C) (or packed (N_S, C) with
 * their packing), or — when generation passes null because the cache already holds every layer's
 * cross-attention keys and values — from the cache.
 */
export function encoderLength(enc: Tensor | null, cache: KVCache | undefined, B: number, who: string, encoderRows?: Packing): number {
  if (enc && encoderRows) {
    if (enc.ndim !== 2 || enc.shape[0] !== encoderRows.count || encoderRows.batch !== B) {
      throw new Error(`${who}: packed encoder states must be (N_S, C) with N_S = ${encoderRows.count} for ${encoderRows.batch} rows (decoder: ${B}), got [${enc.shape.join(', ')}]`);
    }
    return encoderRows.length;
  }
  if (enc) {
    if (enc.ndim !== 3 || enc.shape[0] !== B) throw new Error(`${who}: encoder states must be (B, S, C) with B = ${B} decoder rows, got [${enc.shape.join(', ')}]`);
    return enc.shape[1]!;
  }
  const k = cache?.cross[0]?.k;
  if (!k) throw new Error(`${who}: no encoder states given and the cache holds no cross-attention keys yet (pass the encoder's output on the first step)`);
  if (k.shape[0] !== B) throw new Error(`${who}: the cache holds ${k.shape[0]} rows, the decoder got ${B}`);
  return k.shape[1]!;
}

/**
 * A HeadMaskOption as one mask per layer (HF's get_head_mask), each checked against the H heads of a layer.
 * Example: `headMaskPerLayer(Float32Array.of(1, 0, 1, 1), 6, 4, 'encoder')` gives the same mask for 6 layers.
 */
export function headMaskPerLayer(m: HeadMaskOption, layers: number, H: number, what: string): Array<Tensor | Float32Array | null> {
  const size = (x: Tensor | Float32Array): number => (x instanceof Tensor ? x.size : x.length);
  const fmt = (x: Tensor | Float32Array): string => (x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : `${x.length} values`);
  if (Array.isArray(m)) {
    const list = m as ReadonlyArray<Tensor | Float32Array | null>;
    if (list.length !== layers) throw new Error(`${what} head mask has ${list.length} entries, expected one per layer (${layers})`);
    list.forEach((x, i) => {
      if (x !== null && size(x) !== H && !(x instanceof Tensor && x.ndim === 2 && x.shape[1] === H)) {
        throw new Error(`${what} head mask for layer ${i} must be (${H}) or (B, ${H}), got ${fmt(x)}`);
      }
    });
    return [...list];
  }
  const one = m as Tensor | Float32Array;
  if (size(one) === H && (!(one instanceof Tensor) || one.ndim === 1)) return Array.from({ length: layers }, () => one);
  if (size(one) !== layers * H || (one instanceof Tensor && one.ndim !== 2)) {
    throw new Error(`${what} head mask must be (H) = [${H}] or (layers, H) = [${layers}, ${H}], got ${fmt(one)}`);
  }
  return Array.from({ length: layers }, (_, i) => (one instanceof Tensor ? reshape(slice(one, 0, i, i + 1), [H]) : one.subarray(i * H, (i + 1) * H)));
}

/** The options of a teacher-forced forward, the same for every encoder-decoder (Hugging Face's names). */
export interface Seq2SeqForwardOptions {
  /** (B, S) source mask: 1 for real tokens, 0 for padding. */
  attentionMask?: Tensor;
  /** (B, T) decoder inputs; derived from labels (shifted right) when absent. */
  decoderInputIds?: Tensor;
  /** (B, T) targets; adds `loss`, the mean cross-entropy over labels that are not -100. */
  labels?: Tensor;
  /** Label smoothing ε of the loss: the target distribution is (1 − ε)·one-hot + ε/V. */
  labelSmoothing?: number;
  /** A precomputed encoder output (the encoder is then skipped). */
  encoderOutputs?: EncoderOutput;
  cache?: KVCache;
  /** Head masks (HeadMaskOption): the encoder's self-attention (HF's head_mask), */
  headMask?: HeadMaskOption;
  /** the decoder's self-attention (decoder_head_mask) and its cross-attention (cross_attn_head_mask). */
  decoderHeadMask?: HeadMaskOption;
  crossAttentionHeadMask?: HeadMaskOption;
  outputAttentions?: boolean;
  outputHiddenStates?: boolean;
  logitsToKeep?: number;
  /** Random numbers for dropout (training only). */
  rng?: Rng;
  /**
   * Skip the padding (src/nn/packing.ts): the layers compute only real source positions (attentionMask) and
   * target positions up to each row's last label; the loss is the same as without, `logits` holds only the
   * computed target positions (N, V) and encoderLastHiddenState (N_S, C). Needs labels; not with a cache.
   */
  paddingFree?: boolean;
}

/** What teacherForced needs of a model: its encoder, its decoder and its special tokens. */
export interface EncoderDecoderParts {
  readonly config: { pad_token_id: number; decoder_start_token_id: number };
  encode(inputIds: Tensor, opts: EncodeOptions): EncoderOutput;
  decode(decoderInputIds: Tensor, encoderHiddenStates: Tensor | null, opts: DecodeOptions & { rng?: Rng }): DecoderOutput;
}

/**
 * The teacher-forced forward every encoder-decoder shares: encode the source (unless given), decode the target
 * inputs (the labels shifted right when absent) against it, and add the loss with labels.
 * Example: `teacherForced(model, src, { attentionMask, labels }, 'T5.forward')`.
 */
export function teacherForced(model: EncoderDecoderParts, inputIds: Tensor, opts: Seq2SeqForwardOptions, who: string): Seq2SeqOutput {
  let dec = opts.decoderInputIds;
  if (!dec) {
    if (!opts.labels) throw new Error(`${who}: give decoderInputIds or labels (the decoder needs its inputs)`);
    dec = decoderInputsFromLabels(opts.labels, model.config.pad_token_id, model.config.decoder_start_token_id);
  }
  // Padding-free: which positions to compute on each side (none packed where there is no padding).
  let srcRows: Packing | undefined;
  let tgtRows: Packing | undefined;
  if (opts.paddingFree) {
    if (!opts.labels) throw new Error(`${who}: paddingFree needs labels (it computes the positions the loss reads)`);
    if (opts.cache) throw new Error(`${who}: paddingFree cannot be used with a cache`);
    const [B, S] = inputIds.shape as [number, number];
    const [Bt, T] = dec.shape as [number, number];
    if (opts.labels.dtype !== 'int32' || opts.labels.ndim !== 2 || opts.labels.shape[0] !== Bt || opts.labels.shape[1] !== T) {
      throw new Error(`${who}: labels must be int32 (B, T) = [${Bt}, ${T}] like the decoder inputs, got ${opts.labels.dtype} [${opts.labels.shape.join(', ')}]`);
    }
    if (!opts.encoderOutputs) srcRows = Packing.fromMask(maskBytes(opts.attentionMask, B, S, who), B, S);
    tgtRows = Packing.upToLastLabel(opts.labels.contiguous().data as Int32Array, Bt, T);
  }
  const enc = opts.encoderOutputs ?? model.encode(inputIds, { attentionMask: opts.attentionMask, headMask: opts.headMask, outputAttentions: opts.outputAttentions, outputHiddenStates: opts.outputHiddenStates, rows: srcRows, rng: opts.rng });
  const d = model.decode(dec, enc.lastHiddenState, {
    rows: tgtRows,
    encoderRows: srcRows,
    encoderAttentionMask: opts.attentionMask,
    headMask: opts.decoderHeadMask,
    crossAttentionHeadMask: opts.crossAttentionHeadMask,
    cache: opts.cache,
    outputAttentions: opts.outputAttentions,
    outputHiddenStates: opts.outputHiddenStates,
    logitsToKeep: opts.labels ? 0 : opts.logitsToKeep,
    rng: opts.rng,
  });
  const out: Seq2SeqOutput = { logits: d.logits, encoderLastHiddenState: enc.lastHiddenState };
  if (opts.labels && tgtRows) {
    out.loss = crossEntropy(d.logits, tgtRows.pack(opts.labels), { ignoreIndex: -100, labelSmoothing: opts.labelSmoothing ?? 0 }); // (N, V) against (N)
  } else if (opts.labels) out.loss = seq2seqLoss(d.logits, opts.labels, opts.labelSmoothing ?? 0);
  if (enc.hiddenStates) out.encoderHiddenStates = enc.hiddenStates;
  if (enc.attentions) out.encoderAttentions = enc.attentions;
  if (d.hiddenStates) out.decoderHiddenStates = d.hiddenStates;
  if (d.attentions) out.decoderAttentions = d.attentions;
  if (d.crossAttentions) out.crossAttentions = d.crossAttentions;
  return out;
}

/** Mean (label-smoothed) cross-entropy of logits (B, T, V) against labels (B, T), skipping -100. */
export function seq2seqLoss(logits: Tensor, labels: Tensor, labelSmoothing = 0): Tensor {
  const [B, T, V] = logits.shape as [number, number, number];
  if (labels.shape[0] !== B || labels.shape[1] !== T) throw new Error(`labels [${labels.shape.join(', ')}] do not match the logits [${B}, ${T}, ${V}]`);
  return crossEntropy(logits.reshape(B * T, V), labels.reshape(B * T), { ignoreIndex: -100, labelSmoothing });
}
