// The road to attention: an RNN encoder-decoder, with the decoder reading the source through a fixed summary
// (no attention: the bottleneck of Cho et al. 2014 and Sutskever et al. 2014), through Bahdanau's additive
// attention (Bahdanau, Cho & Bengio 2015), or through Luong's global attention (Luong, Pham & Manning 2015:
// dot, general and concat scores, optional input feeding). Read top to bottom.
//
//   source ids ─src_embed─▶ bidirectional GRU/LSTM encoder ─▶ memory h_1..h_S (each [h→_j; h←_j], 2H)
//                                                             summary m = [h→_S; h←_1] (the final states)
//   decoder state s_0 = tanh(bridge(m))
//   for each target step t (input token y_{t−1}, embedded e_t):
//     none      x_t = [e_t; m]                  s_t = RNN(x_t, s_{t−1})   o_t = tanh(combine[s_t; m; e_t])
//     bahdanau  c_t = attend(s_{t−1})            x_t = [e_t; c_t]           s_t = RNN(x_t, s_{t−1})
//                                                                          o_t = tanh(combine[s_t; c_t; e_t])
//     luong     x_t = [e_t; õ_{t−1}] (input feeding; e_t alone without it)   s_t = RNN(x_t, s_{t−1})
//               c_t = attend(s_t)                o_t = h̃_t = tanh(combine[c_t; s_t])   (õ_t = o_t is fed next)
//     logits_t = generator(o_t)
//   attend(s) = Σ_j α_j h_j,  α = softmax_j(score(s, h_j)) over the real (unpadded) source positions, with
//     bahdanau, luong-concat (additive)   score = vᵀ tanh(W s + U h_j)
//     luong-general                       score = sᵀ W_a h_j
//     luong-dot                           score = sᵀ h_j
// The no-attention decoder sees exactly what Cho et al.'s does — the summary m at every step — so it and the
// Bahdanau decoder have the same inputs and nearly the same parameters: they differ only in whether the
// vector they read is fixed (m) or recomputed for every output step from all of h_1..h_S (c_t).
//
// All scores go through the one attention op (src/tensor/attention.ts), which masks padded source positions,
// takes the softmax, forms Σ_j α_j h_j, returns α for inspection and differentiates all of it:
//   - dot and general ARE dot products: q = s (one query per step), keys h_j (dot) or W_a h_j (general,
//     computed once per source), values h_j, scale 1;
//   - additive scores vᵀ tanh(W s + U h_j) are not a dot product of a query and a key (the tanh sits between
//     s and h_j), so they are composed from ops (U h_j once per source, W s per step, broadcast add, tanh, v)
//     by one fused op (additiveScores in src/tensor/ops_additive.ts; U h_j once per source, W s per step) and
//     handed to the attention op as its additive `bias`, with the dot-product term switched off (scale 0):
//     softmax(0 + e + mask)·v is exactly the masked softmax and weighted sum additive attention needs.
//
// Shapes: B batch, S source length, T target length, E embedding size, H encoder hidden size per direction
// (the memory is 2H wide), Hd decoder hidden size, A additive-attention size, V target vocabulary,
// L decoder layers.
//
// Generation (greedy, beam search) goes through src/generate with the stepper in src/generate/rnn_seq2seq.ts,
// which calls encode() once per source and step() once per generated token.
//
// What this file does not do: subword vocabularies (the tasks here are characters and phonemes), coverage or
// local (windowed) attention, pretrained checkpoints (there is no Hugging Face format for these models).

import { additiveScores, attention, cat, crossEntropy, dropout, embedding, indexSelect, Rng, scatterRows, stack, tanh, tensor, zeros, type Tensor } from '../tensor/index.js';
import { Embedding, GRU, LSTM, Linear, Module, labelEnds } from '../nn/index.js';

// -----------------------------------------------------------------------------------------------------------
// Config

export type AttentionKind = 'none' | 'bahdanau' | 'luong-dot' | 'luong-general' | 'luong-concat';
export const ATTENTION_KINDS: readonly AttentionKind[] = ['none', 'bahdanau', 'luong-dot', 'luong-general', 'luong-concat'];

export interface RNNSeq2SeqConfig {
  src_vocab_size: number;
  tgt_vocab_size: number; // V
  cell: 'gru' | 'lstm';
  embedding_size: number; // E, source and target embeddings
  encoder_hidden_size: number; // H per direction
  encoder_layers: number;
  decoder_hidden_size: number; // Hd
  decoder_layers: number; // L
  attention: AttentionKind;
  attention_size: number; // A: the width of W s + U h in additive scores
  input_feeding: boolean; // Luong: feed the previous attentional state h̃ into the next step's input
  dropout: number; // on embeddings, between RNN layers, and before the generator (training only)
  pad_token_id: number; // source and target padding (a source is padded on the right, see `lengths`)
  bos_token_id: number; // the decoder's first input token
  eos_token_id: number;
}

export const RNN_SEQ2SEQ_DEFAULTS: RNNSeq2SeqConfig = {
  src_vocab_size: 32,
  tgt_vocab_size: 32,
  cell: 'gru',
  embedding_size: 64,
  encoder_hidden_size: 128,
  encoder_layers: 1,
  decoder_hidden_size: 256,
  decoder_layers: 1,
  attention: 'bahdanau',
  attention_size: 128,
  input_feeding: true,
  dropout: 0,
  pad_token_id: 0,
  bos_token_id: 1,
  eos_token_id: 2,
};

/** Named sizes (vocabularies come from the task). */
export const RNN_SEQ2SEQ_PRESETS = {
  // tests: 5.4k parameters with 31 → 43 symbols
  tiny: { embedding_size: 8, encoder_hidden_size: 8, decoder_hidden_size: 16, attention_size: 8 },
  // grapheme-to-phoneme at the size of bench/rnn.ts: 0.89M parameters (GRU, Bahdanau, 31 → 43 symbols)
  g2p: { embedding_size: 64, encoder_hidden_size: 128, decoder_hidden_size: 256, attention_size: 128, dropout: 0.1 },
} satisfies Record<string, Partial<RNNSeq2SeqConfig>>;
export type RNNSeq2SeqPresetName = keyof typeof RNN_SEQ2SEQ_PRESETS;

/**
 * A full config from defaults + a preset + overrides; unknown keys and impossible combinations are errors.
 * Example: `rnnSeq2SeqConfig({ preset: 'tiny', src_vocab_size: 30, tgt_vocab_size: 45, attention: 'luong-dot' })`.
 */
export function rnnSeq2SeqConfig(opts: Partial<RNNSeq2SeqConfig> & { preset?: RNNSeq2SeqPresetName } = {}): RNNSeq2SeqConfig {
  const { preset, ...overrides } = opts;
  for (const key of Object.keys(overrides)) {
    if (!(key in RNN_SEQ2SEQ_DEFAULTS)) throw new Error(`unknown RNN seq2seq config key '${key}'; known keys: ${Object.keys(RNN_SEQ2SEQ_DEFAULTS).join(', ')}`);
  }
  if (preset !== undefined && !(preset in RNN_SEQ2SEQ_PRESETS)) {
    throw new Error(`unknown RNN seq2seq preset '${String(preset)}'; presets: ${Object.keys(RNN_SEQ2SEQ_PRESETS).join(', ')}`);
  }
  const cfg: RNNSeq2SeqConfig = { ...RNN_SEQ2SEQ_DEFAULTS, ...(preset ? RNN_SEQ2SEQ_PRESETS[preset] : {}), ...overrides };
  for (const k of ['src_vocab_size', 'tgt_vocab_size', 'embedding_size', 'encoder_hidden_size', 'encoder_layers', 'decoder_hidden_size', 'decoder_layers', 'attention_size'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] <= 0) throw new Error(`RNN seq2seq config ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (cfg.cell !== 'gru' && cfg.cell !== 'lstm') throw new Error(`RNN seq2seq config cell must be 'gru' or 'lstm', got '${String(cfg.cell)}'`);
  if (!ATTENTION_KINDS.includes(cfg.attention)) throw new Error(`RNN seq2seq config attention must be one of ${ATTENTION_KINDS.join(', ')}; got '${String(cfg.attention)}'`);
  if ((cfg.attention === 'luong-dot' || cfg.attention === 'luong-general') && cfg.decoder_hidden_size !== 2 * cfg.encoder_hidden_size) {
    // dot: sᵀh needs s and h of one size; general: keys W_a h (Hd) and values h (2H) must share the attention op's head size.
    throw new Error(`attention '${cfg.attention}' needs decoder_hidden_size = 2·encoder_hidden_size (the memory is [h→; h←]), got ${cfg.decoder_hidden_size} and ${cfg.encoder_hidden_size}`);
  }
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw new Error(`RNN seq2seq config dropout must be in [0, 1), got ${cfg.dropout}`);
  return cfg;
}

// -----------------------------------------------------------------------------------------------------------
// What flows between the parts

/** The encoder's results for a batch of sources: everything the decoder reads, computed once per source. */
export interface EncodedSource {
  /**
   * (B, S, 1, 2H) h_j = [h→_j; h←_j] for every source position (0 at padding), in the attention op's layout
   * (one head), so it is the op's values (and dot's keys) as it is.
   */
  memory: Tensor;
  /** (B, S) 1 for real source positions, 0 for padding. */
  keyMask: Uint8Array;
  /**
   * The source side of the scores, computed once per source: U h_j (B, S, 1, A) for additive scores,
   * W_a h_j (B, S, 1, Hd) for general, the memory itself for dot; null without attention.
   */
  keys: Tensor | null;
  /** (B, 2H) m = [h→ after each source's last real position; h← after position 0]: the fixed summary. */
  summary: Tensor;
}

/** The decoder's recurrent state between steps. */
export interface DecoderState {
  /** (L, B, Hd) hidden state of every decoder layer. */
  h: Tensor;
  /** (L, B, Hd) cell state (LSTM), else null. */
  c: Tensor | null;
  /** (B, Hd) Luong's previous attentional state h̃ (input feeding), else null. */
  feed: Tensor | null;
}

/** One decoder step's results. */
export interface DecoderStep {
  /** (B, Hd) o_t, what the generator reads. */
  output: Tensor;
  state: DecoderState;
  /** (B, S) attention weights α of this step (null without attention). */
  weights: Tensor | null;
}

export interface RNNSeq2SeqForwardOptions {
  /** (B, T) int32 next-token targets (−100 = ignore); adds `loss`, the mean cross-entropy. */
  targets?: Tensor;
  /**
   * Probability that a step's input is the reference token (teacher forcing); otherwise it is the model's own
   * greedy prediction from the step before (scheduled sampling). Default 1. Drawn once per step for the batch.
   */
  teacherForcing?: number;
  /** Random numbers for dropout and the teacher-forcing draws. */
  rng?: Rng;
  /**
   * Skip the padding (with targets, Bahdanau attention and full teacher forcing): a row stops taking decoder
   * steps after its last target, so each step runs on the rows still going. The loss and the logits of every
   * real position are the padded forward's; logits and attention weights past a target's end are 0.
   */
  paddingFree?: boolean;
}

export interface RNNSeq2SeqOutput {
  /** (B, T, V) */
  logits: Tensor;
  loss?: Tensor;
  /** (B, T, S) attention weights of every target step (no gradient); absent without attention. */
  attentions?: Tensor;
}

// -----------------------------------------------------------------------------------------------------------
// The model

export class RNNSeq2Seq extends Module {
  readonly config: RNNSeq2SeqConfig;
  src_embed: Embedding; // (src V, E)
  encoder: GRU | LSTM; // bidirectional, E → 2H
  bridge: Linear; // 2H → L·Hd: s_0 = tanh(bridge(m))
  bridge_c: Linear | null; // LSTM: the initial cell state the same way
  tgt_embed: Embedding; // (V, E)
  decoder: GRU | LSTM; // unidirectional, L layers
  attn_W: Linear | null; // additive: W s (Hd → A)
  attn_U: Linear | null; // additive: U h (2H → A), with bias;  general: W_a h (2H → Hd)
  attn_v: Linear | null; // additive: v (A → 1)
  combine: Linear; // the features of o_t → Hd
  generator: Linear; // Hd → V

  /** `new RNNSeq2Seq(rnnSeq2SeqConfig({ preset: 'tiny', attention: 'bahdanau' }), new Rng(1))` */
  constructor(config: RNNSeq2SeqConfig, rng: Rng = new Rng(1234)) {
    super();
    this.config = config;
    const { embedding_size: E, encoder_hidden_size: H, decoder_hidden_size: Hd, attention_size: A, attention: kind } = config;
    const RNN = config.cell === 'gru' ? GRU : LSTM;
    this.src_embed = new Embedding(config.src_vocab_size, E, { rng });
    this.encoder = new RNN({ inputSize: E, hiddenSize: H, numLayers: config.encoder_layers, bidirectional: true, dropout: config.dropout, rng });
    this.bridge = new Linear(2 * H, config.decoder_layers * Hd, { rng });
    this.bridge_c = config.cell === 'lstm' ? new Linear(2 * H, config.decoder_layers * Hd, { rng }) : null;
    this.tgt_embed = new Embedding(config.tgt_vocab_size, E, { rng });
    this.decoder = new RNN({ inputSize: E + this.contextSize(), hiddenSize: Hd, numLayers: config.decoder_layers, dropout: config.dropout, rng });
    const additive = kind === 'bahdanau' || kind === 'luong-concat';
    this.attn_W = additive ? new Linear(Hd, A, { bias: false, rng }) : null;
    this.attn_U = additive ? new Linear(2 * H, A, { rng }) : kind === 'luong-general' ? new Linear(2 * H, Hd, { bias: false, rng }) : null;
    this.attn_v = additive ? new Linear(A, 1, { bias: false, rng }) : null;
    const features = kind === 'none' || kind === 'bahdanau' ? Hd + 2 * H + E : 2 * H + Hd;
    this.combine = new Linear(features, Hd, { rng });
    this.generator = new Linear(Hd, config.tgt_vocab_size, { rng });
  }

  /** Width of what the decoder reads besides the embedding: m or c_t (2H), Luong's fed h̃ (Hd), or nothing. */
  private contextSize(): number {
    const c = this.config;
    if (c.attention === 'none' || c.attention === 'bahdanau') return 2 * c.encoder_hidden_size;
    return c.input_feeding ? c.decoder_hidden_size : 0;
  }

  /**
   * Encode a batch of right-padded sources: ids (B, S) int32, lengths (B) the real length of each (1..S).
   * `const enc = model.encode(ids, Int32Array.of(5, 3))`.
   */
  encode(ids: Tensor, lengths: Int32Array | readonly number[]): EncodedSource {
    if (ids.ndim !== 2 || ids.dtype !== 'int32') throw new Error(`RNNSeq2Seq.encode: source ids must be an int32 (B, S) tensor, got ${ids.dtype} [${ids.shape.join(', ')}]`);
    const [B, S] = ids.shape as [number, number];
    if (lengths.length !== B) throw new Error(`RNNSeq2Seq.encode: ${lengths.length} lengths for ${B} sources`);
    const H = this.config.encoder_hidden_size;
    let x = embedding(this.src_embed.weight, ids.transpose(0, 1).contiguous()); // (S, B, E) time-major
    x = this.drop(x);
    const r = this.encoder.forward(x, { lengths }); // output (S, B, 2H), h_n (2·layers, B, H)
    const memory = r.output.transpose(0, 1).unsqueeze(2).contiguous(); // (B, S, 1, 2H)
    const top = 2 * (this.config.encoder_layers - 1);
    const summary = cat([r.h_n.slice(0, top, top + 1).reshape([B, H]), r.h_n.slice(0, top + 1, top + 2).reshape([B, H])], 1); // (B, 2H)
    const keyMask = new Uint8Array(B * S);
    for (let b = 0; b < B; b++) keyMask.fill(1, b * S, b * S + lengths[b]!);
    const kind = this.config.attention;
    const keys = kind === 'none' ? null : kind === 'luong-dot' ? memory : this.attn_U!.forward(memory); // (B, S, 1, A | Hd | 2H)
    return { memory, keyMask, keys, summary };
  }

  /** The decoder's state before the first step: s_0 = tanh(bridge(m)) for every layer (and c_0 likewise). */
  initialState(enc: EncodedSource): DecoderState {
    const { decoder_layers: L, decoder_hidden_size: Hd } = this.config;
    const B = enc.summary.shape[0]!;
    const fromSummary = (lin: Linear): Tensor => tanh(lin.forward(enc.summary)).reshape([B, L, Hd]).transpose(0, 1).contiguous(); // (L, B, Hd)
    const feed = this.config.attention.startsWith('luong') && this.config.input_feeding ? zeros([B, Hd]) : null;
    return { h: fromSummary(this.bridge), c: this.bridge_c ? fromSummary(this.bridge_c) : null, feed };
  }

  /**
   * Attention of one query per batch entry: s (B, Hd) → context (B, 2H) and weights (B, S). See the file
   * comment for why additive scores reach the attention op as a bias with scale 0.
   */
  private attend(enc: EncodedSource, s: Tensor): { context: Tensor; weights: Tensor } {
    const [B, S, , M] = enc.memory.shape as [number, number, number, number];
    const v = enc.memory; // values: (B, S, heads 1, 2H)
    let r;
    if (this.attn_v) {
      const e = additiveScores(enc.keys!.reshape([B, S, -1]), this.attn_W!.forward(s), this.attn_v.weight); // vᵀ tanh(W s + U h_j): (B, S)
      // No query and no keys: the dot-product term is off (scale 0), the scores arrive as the bias.
      const none = zeros([1, 1, 1, M]);
      r = attention(none.expand([B, 1, 1, M]), none.expand([B, S, 1, M]), v, { scale: 0, bias: e.reshape([B, 1, 1, S]), keyMask: enc.keyMask, returnWeights: true });
    } else {
      // keys h_j (dot) or W_a h_j (general), computed once per source
      r = attention(s.reshape([B, 1, 1, M]), enc.keys!, v, { scale: 1, keyMask: enc.keyMask, returnWeights: true });
    }
    return { context: r.out.reshape([B, M]), weights: r.weights!.reshape([B, S]) };
  }

  /**
   * One decoder step for every row: the previous tokens (B) int32 → o_t, the new state and α.
   * `let st = model.initialState(enc); const { output, state } = model.step(enc, st, tensor([1, 1], [2], { dtype: 'int32' }))`.
   */
  step(enc: EncodedSource, state: DecoderState, tokens: Tensor): DecoderStep {
    const kind = this.config.attention;
    const B = tokens.shape[0]!;
    const e = this.drop(embedding(this.tgt_embed.weight, tokens)); // (B, E)
    const top = (st: DecoderState): Tensor => st.h.slice(0, st.h.shape[0]! - 1).reshape([B, -1]); // (B, Hd) top layer
    let weights: Tensor | null = null;
    let x: Tensor; // the decoder input x_t
    let context: Tensor | null = null; // c_t (bahdanau) for the output features
    if (kind === 'none') x = cat([e, enc.summary], 1);
    else if (kind === 'bahdanau') {
      const a = this.attend(enc, top(state)); // reads s_{t−1}
      context = a.context;
      weights = a.weights;
      x = cat([e, context], 1);
    } else x = state.feed ? cat([e, state.feed], 1) : e;
    const r = this.runDecoder(x.reshape([1, B, -1]), state);
    const s = r.output.reshape([B, -1]); // (B, Hd) s_t
    let o: Tensor;
    if (kind === 'none') o = tanh(this.combine.forward(cat([s, enc.summary, e], 1)));
    else if (kind === 'bahdanau') o = tanh(this.combine.forward(cat([s, context!, e], 1)));
    else {
      const a = this.attend(enc, s); // Luong reads s_t
      weights = a.weights;
      o = tanh(this.combine.forward(cat([a.context, s], 1))); // h̃_t
    }
    const feed = state.feed ? o : null;
    return { output: o, state: { h: r.h, c: r.c, feed }, weights };
  }

  /** The decoder RNN on x (T, B, I) from a state; returns its output (T, B, Hd) and final state. */
  private runDecoder(x: Tensor, state: DecoderState): { output: Tensor; h: Tensor; c: Tensor | null } {
    if (this.decoder instanceof LSTM) {
      const r = this.decoder.forward(x, { h0: state.h, c0: state.c });
      return { output: r.output, h: r.h_n, c: r.c_n };
    }
    const r = this.decoder.forward(x, { h0: state.h });
    return { output: r.output, h: r.h_n, c: null };
  }

  /** Next-token logits from o_t: (…, Hd) → (…, V). */
  logits(output: Tensor): Tensor {
    return this.generator.forward(this.drop(output));
  }

  /**
   * Training and scoring: sources (B, S) with lengths, decoder inputs (B, T) = [bos, y_1, …, y_{T−1}] →
   * logits (B, T, V), the loss when targets are given, and the attention weights of every step.
   * With full teacher forcing and a decoder whose inputs do not depend on its own outputs (no attention, or
   * Luong dot/general without input feeding) all T steps run as one RNN call and one attention call;
   * otherwise step by step.
   * Does not handle sources or targets longer than memory allows (no truncation).
   */
  forward(src: Tensor, srcLengths: Int32Array | readonly number[], decoderInput: Tensor, opts: RNNSeq2SeqForwardOptions = {}): RNNSeq2SeqOutput {
    if (decoderInput.ndim !== 2 || decoderInput.dtype !== 'int32') {
      throw new Error(`RNNSeq2Seq.forward: decoder input must be an int32 (B, T) tensor, got ${decoderInput.dtype} [${decoderInput.shape.join(', ')}]`);
    }
    const [B, T] = decoderInput.shape as [number, number];
    if (src.shape[0] !== B) throw new Error(`RNNSeq2Seq.forward: ${src.shape[0]} sources but ${B} target rows`);
    const tf = opts.teacherForcing ?? 1;
    if (!(tf >= 0 && tf <= 1)) throw new Error(`RNNSeq2Seq.forward: teacherForcing must be in [0, 1], got ${tf}`);
    const enc = this.encode(src, srcLengths);
    const kind = this.config.attention;
    const parallel = tf === 1 && (kind === 'none' || ((kind === 'luong-dot' || kind === 'luong-general') && !this.config.input_feeding));
    const out = parallel
      ? this.decodeParallel(enc, decoderInput)
      : tf === 1 && kind === 'bahdanau'
        ? opts.paddingFree && opts.targets ? this.decodeBahdanauPacked(enc, decoderInput, labelEnds(opts.targets.toInt32Array(), B, T)) : this.decodeBahdanau(enc, decoderInput)
        : this.decodeSteps(enc, decoderInput, tf, opts.rng);
    const res: RNNSeq2SeqOutput = { logits: out.logits };
    if (out.attentions) res.attentions = out.attentions;
    if (opts.targets) {
      res.loss = crossEntropy(out.logits.reshape([B * T, -1]), opts.targets.reshape([B * T]), { ignoreIndex: -100 });
    }
    return res;
  }

  /** Step by step: o_t for t = 0..T−1, the input of step t the reference token or (scheduled sampling) the last prediction. */
  private decodeSteps(enc: EncodedSource, decoderInput: Tensor, tf: number, rng: Rng | undefined): { logits: Tensor; attentions?: Tensor } {
    const [B, T] = decoderInput.shape as [number, number];
    const ids = decoderInput.toInt32Array();
    let state = this.initialState(enc);
    const logits: Tensor[] = [];
    const weights: Tensor[] = [];
    let prev: Int32Array | null = null;
    for (let t = 0; t < T; t++) {
      const teacher = t === 0 || prev === null || tf === 1 || (rng ?? defaultRng).uniform() < tf;
      const tok = new Int32Array(B);
      for (let b = 0; b < B; b++) tok[b] = teacher ? ids[b * T + t]! : prev![b]!;
      const r = this.step(enc, state, tensor(tok, [B], { dtype: 'int32' }));
      state = r.state;
      const l = this.logits(r.output); // (B, V)
      logits.push(l);
      if (r.weights) weights.push(r.weights.detach());
      if (tf < 1) prev = argmaxRows(l);
    }
    const out: { logits: Tensor; attentions?: Tensor } = { logits: stack(logits, 1) }; // (B, T, V)
    if (weights.length) out.attentions = stack(weights, 1); // (B, T, S)
    return out;
  }

  /**
   * Bahdanau attention with teacher forcing: the recurrence is step by step (the context c_t is computed from
   * s_{t−1}), but what does not feed back into it runs once for all T steps: the embeddings before the loop,
   * and o_t = tanh(combine([s_t; c_t; e_t])) and the logits after it, as single products over T·B rows instead
   * of T small ones (and one weight gradient each instead of T summed). Same numbers as decodeSteps.
   */
  private decodeBahdanau(enc: EncodedSource, decoderInput: Tensor): { logits: Tensor; attentions: Tensor } {
    const [B, T] = decoderInput.shape as [number, number];
    const e = this.drop(embedding(this.tgt_embed.weight, decoderInput.transpose(0, 1).contiguous())); // (T, B, E)
    let state = this.initialState(enc);
    const states: Tensor[] = [];
    const contexts: Tensor[] = [];
    const weights: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const et = e.slice(0, t, t + 1).reshape([B, -1]); // (B, E)
      const a = this.attend(enc, state.h.slice(0, state.h.shape[0]! - 1).reshape([B, -1])); // reads s_{t−1} (top layer)
      const r = this.runDecoder(cat([et, a.context], 1).reshape([1, B, -1]), state);
      state = { h: r.h, c: r.c, feed: null };
      states.push(r.output.reshape([B, -1])); // s_t (B, Hd)
      contexts.push(a.context); // c_t (B, 2H)
      weights.push(a.weights.detach());
    }
    const o = tanh(this.combine.forward(cat([stack(states, 1), stack(contexts, 1), e.transpose(0, 1)], 2))); // (B, T, Hd)
    return { logits: this.logits(o), attentions: stack(weights, 1) }; // (B, T, V), (B, T, S)
  }

  /**
   * decodeBahdanau without the padding: only rows whose target is still running take step t. With the rows
   * sorted by target length, longest first, those are the first n_t rows, and n_t only shrinks — so each step
   * runs on views of a prefix of the batch, and a finished row's state is simply left behind (rows never
   * interact). The steps' outputs are packed (N = Σ n_t rows) for the output layer, then put back in (B, T) order.
   */
  private decodeBahdanauPacked(enc: EncodedSource, decoderInput: Tensor, lengths: Int32Array): { logits: Tensor; attentions: Tensor } {
    const [B, T] = decoderInput.shape as [number, number];
    const S = enc.memory.shape[1]!;
    const order = Int32Array.from({ length: B }, (_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b); // longest first
    if (lengths[order[0]!]! === 0) return this.decodeBahdanau(enc, decoderInput); // no target at all
    const sorted = selectSourceRows(enc, order);
    const ids = indexSelect(decoderInput, 0, tensor(order, [B], { dtype: 'int32' })); // (B, T), sorted rows
    const e = this.drop(embedding(this.tgt_embed.weight, ids.transpose(0, 1).contiguous())); // (T, B, E)
    let state = this.initialState(sorted);
    const [states, contexts, inputs, weights]: Tensor[][] = [[], [], [], []];
    const where: number[] = []; // for each packed row, its place b·T + t in the (B, T) output
    for (let t = 0; t < T; t++) {
      let n = 0;
      while (n < B && lengths[order[n]!]! > t) n++; // the rows still running: a prefix
      if (n === 0) break;
      const rows = n === B ? sorted : firstSourceRows(sorted, n);
      const h = state.h.slice(1, 0, n); // (L, n, Hd)
      const et = e.slice(0, t, t + 1).reshape([B, -1]).slice(0, 0, n); // (n, E)
      const a = this.attend(rows, h.slice(0, h.shape[0]! - 1).reshape([n, -1])); // reads s_{t−1} (top layer)
      const r = this.runDecoder(cat([et, a.context], 1).reshape([1, n, -1]), { h, c: state.c ? state.c.slice(1, 0, n) : null, feed: null });
      state = { h: r.h, c: r.c, feed: null };
      states.push(r.output.reshape([n, -1])); // s_t (n, Hd)
      contexts.push(a.context); // c_t (n, 2H)
      inputs.push(et);
      weights.push(a.weights.detach()); // (n, S)
      for (let i = 0; i < n; i++) where.push(order[i]! * T + t);
    }
    const o = tanh(this.combine.forward(cat([cat(states, 0), cat(contexts, 0), cat(inputs, 0)], 1))); // (N, Hd)
    const place = tensor(Int32Array.from(where), [where.length], { dtype: 'int32' });
    const logits = scatterRows(this.logits(o), place, B * T).reshape([B, T, -1]); // (B, T, V), 0 past each end
    return { logits, attentions: scatterRows(cat(weights, 0), place, B * T).reshape([B, T, S]) }; // (B, T, S)
  }

  /** All T steps at once (teacher forcing; the decoder's inputs are known in advance). Same numbers as decodeSteps. */
  private decodeParallel(enc: EncodedSource, decoderInput: Tensor): { logits: Tensor; attentions?: Tensor } {
    const [B, T] = decoderInput.shape as [number, number];
    const [, S, , M] = enc.memory.shape as [number, number, number, number];
    const e = this.drop(embedding(this.tgt_embed.weight, decoderInput.transpose(0, 1).contiguous())); // (T, B, E)
    const m = enc.summary.reshape([1, B, M]).expand([T, B, M]); // (T, B, 2H)
    const x = this.config.attention === 'none' ? cat([e, m], 2) : e;
    const s = this.runDecoder(x, this.initialState(enc)).output; // (T, B, Hd)
    let o: Tensor;
    let attentions: Tensor | undefined;
    if (this.config.attention === 'none') {
      o = tanh(this.combine.forward(cat([s, m, e], 2))).transpose(0, 1); // (B, T, Hd)
    } else {
      // Luong dot/general without input feeding: T queries per source in one attention call.
      const q = s.transpose(0, 1).contiguous(); // (B, T, Hd)
      const r = attention(q.reshape([B, T, 1, M]), enc.keys!, enc.memory, { scale: 1, keyMask: enc.keyMask, returnWeights: true });
      o = tanh(this.combine.forward(cat([r.out.reshape([B, T, M]), q], 2))); // (B, T, Hd)
      attentions = r.weights!.reshape([B, T, S]);
    }
    const logits = this.logits(o.contiguous()); // (B, T, V)
    return attentions ? { logits, attentions } : { logits };
  }

  /** Dropout while training, identity otherwise. */
  private drop(x: Tensor): Tensor {
    return this.training && this.config.dropout > 0 ? dropout(x, this.config.dropout, { training: true }) : x;
  }
}

const defaultRng = new Rng(0);

/** Row-wise argmax of (B, V) logits. */
function argmaxRows(logits: Tensor): Int32Array {
  const [B, V] = logits.shape as [number, number];
  const l = logits.toFloat32Array();
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (l[b * V + v]! > l[b * V + best]!) best = v;
    out[b] = best;
  }
  return out;
}

// -----------------------------------------------------------------------------------------------------------
// Beam search keeps, reorders and copies rows (src/generate calls reorderCache): both the encoded sources and
// the decoder state follow.

/** New row i = old row rows[i] of an encoded source batch: `selectSourceRows(enc, Int32Array.of(0, 0, 1))`. */
export function selectSourceRows(enc: EncodedSource, rows: Int32Array): EncodedSource {
  const idx = tensor(rows, [rows.length], { dtype: 'int32' });
  const S = enc.memory.shape[1]!;
  const keyMask = new Uint8Array(rows.length * S);
  for (let i = 0; i < rows.length; i++) keyMask.set(enc.keyMask.subarray(rows[i]! * S, (rows[i]! + 1) * S), i * S);
  const memory = indexSelect(enc.memory, 0, idx);
  const keys = enc.keys === null ? null : enc.keys === enc.memory ? memory : indexSelect(enc.keys, 0, idx);
  return { memory, keyMask, keys, summary: indexSelect(enc.summary, 0, idx) };
}

/** The first n rows of an encoded source batch, as views (no copy). */
function firstSourceRows(enc: EncodedSource, n: number): EncodedSource {
  const S = enc.memory.shape[1]!;
  const memory = enc.memory.slice(0, 0, n);
  const keys = enc.keys === null ? null : enc.keys === enc.memory ? memory : enc.keys.slice(0, 0, n);
  return { memory, keyMask: enc.keyMask.subarray(0, n * S), keys, summary: enc.summary.slice(0, 0, n) };
}

/** New row i = old row rows[i] of a decoder state: `selectStateRows(state, Int32Array.of(1, 0))`. */
export function selectStateRows(state: DecoderState, rows: Int32Array): DecoderState {
  const idx = tensor(rows, [rows.length], { dtype: 'int32' });
  return {
    h: indexSelect(state.h, 1, idx),
    c: state.c ? indexSelect(state.c, 1, idx) : null,
    feed: state.feed ? indexSelect(state.feed, 0, idx) : null,
  };
}
