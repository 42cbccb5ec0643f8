// The explain adapter for the encoder-decoders (src/models/transformer.ts: the 2017 Transformer / Marian;
// src/models/t5.ts: T5): three groups of maps for one source and target,
//
//   'encoder'   the encoder's self-attention           source × source, bidirectional
//   'decoder'   the decoder's causal self-attention    target × target
//   'cross'     decoder queries reading the encoder    target × source (which source tokens each output reads)
//
// head masks on all three (Hugging Face's head_mask, decoder_head_mask, cross_attn_head_mask), and the
// teacher-forced objective (cross-entropy for head importance, next-token accuracy for quality) that Michel et
// al. ran on the WMT Transformer. The target rows are the decoder's INPUTS, as transformers returns the maps:
// the start token, then the target shifted right (row t reads y_{t−1} and predicts y_t). Without a target the
// model's own greedy output is explained.
//
// Not prunable: transformers implements no head pruning for Marian (BART's family), and T5's prune_heads keeps
// the relative position bias table at its full head count, so there are no working Hugging Face semantics to
// follow for a folder; head masks compute what pruning would.
//
// Shapes: S source tokens, T target (decoder) tokens, H heads, L layers.
import { noGrad, tensor, type Tensor } from '../../tensor/index.js';
import type { Transformer } from '../../models/transformer.js';
import type { T5 } from '../../models/t5.js';
import type { HeadMaskOption } from '../../models/encoder_decoder.js';
import type { Tokenizer } from '../../tokenizers/index.js';
import { windowOf, type AttentionGroup, type AttentionKind, type Encoded, type Explainable, type ExplainInput, type HeadLayout, type HeadMask, type TokenView, type WindowOptions } from '../explainable.js';
import type { HeadObjective } from '../importance.js';
import { idViews, tokenViews } from '../tokens.js';

export type Seq2SeqModel = Transformer | T5;

export interface Seq2SeqEncoded extends Encoded {
  /** (S) source ids (the window), and (T) decoder inputs: the start token, then the target shifted right. */
  sourceIds: Int32Array;
  decoderIds: Int32Array;
  /** Row labels of the decoder and cross groups. */
  targetTokens: TokenView[];
  start: number;
  total: number;
}

export interface Seq2SeqExplainerOptions {
  /** 'marian' or 't5' (config.json's model_type). */
  family: 'marian' | 't5';
  /** Longest greedy output explained when no target is given (default 64). */
  maxNewTokens?: number;
}

/**
 * `new Seq2SeqExplainer(model, tokenizer, { family: 'marian' })`: encoder, decoder and cross-attention maps and
 * head masks of an encoder-decoder. Puts the model in eval mode. Does not handle two-vocabulary models (one
 * tokenizer reads the source and the target).
 */
export class Seq2SeqExplainer implements Explainable<Seq2SeqEncoded> {
  readonly model: Seq2SeqModel;
  readonly tokenizer: Tokenizer;
  readonly family: 'marian' | 't5';
  readonly maxNewTokens: number;

  constructor(model: Seq2SeqModel, tokenizer: Tokenizer, opts: Seq2SeqExplainerOptions) {
    this.model = model.train(false);
    this.tokenizer = tokenizer;
    this.family = opts.family;
    this.maxNewTokens = opts.maxNewTokens ?? 64;
  }

  /** Marian's sinusoid table has max_position_embeddings rows; T5's relative positions have no limit, 512 is its tokenizers'. */
  get maxTokens(): number {
    return 'max_position_embeddings' in this.model.config ? this.model.config.max_position_embeddings : 512;
  }

  private sizes(): { enc: [number, number]; dec: [number, number] } {
    const c = this.model.config;
    if ('d_kv' in c) return { enc: [c.num_layers, c.num_heads], dec: [(this.model as T5).decoder.block.length, c.num_heads] };
    return { enc: [c.encoder_layers, c.encoder_attention_heads], dec: [c.decoder_layers, c.decoder_attention_heads] };
  }

  heads(): HeadLayout[] {
    const { enc, dec } = this.sizes();
    const layout = (group: AttentionKind, [L, H]: [number, number]): HeadLayout => ({ group, nHead: H, layers: Array.from({ length: L }, () => Array.from({ length: H }, (_, h) => h)) });
    return [layout('encoder', enc), layout('decoder', dec), layout('cross', dec)];
  }

  /** The source (a window when longer than the model takes) and the target, or the model's greedy output. */
  encode(input: ExplainInput, window: WindowOptions = {}): Seq2SeqEncoded {
    const src = this.tokenizer.encode(input.text);
    const e = windowOf(src.ids.length, this.maxTokens, window, (start, end) => ({
      sourceIds: Int32Array.from(src.ids.slice(start, end)),
      tokens: tokenViews(this.tokenizer, src).slice(start, end),
    }));
    const startId = this.model.config.decoder_start_token_id;
    let target: number[];
    if (input.pair !== undefined) target = this.tokenizer.encode(input.pair).ids;
    else {
      target = this.greedy(e.sourceIds);
      e.notes.push(`no target given (--pair): the maps are of the model's own greedy output, "${this.tokenizer.decode(target, { skipSpecialTokens: true })}"`);
    }
    if (target.length > this.maxTokens) {
      e.notes.push(`the target has ${target.length} tokens; explaining its first ${this.maxTokens} (the model's context)`);
      target = target.slice(0, this.maxTokens);
    }
    if (target.length === 0) throw new Error('the target has no tokens');
    const decoderIds = Int32Array.from([startId, ...target.slice(0, -1)]); // HF's shift right: y_{t−1} at row t
    return { ...e, decoderIds, targetTokens: idViews(this.tokenizer, decoderIds) };
  }

  /** Greedy decoding without a cache (the outputs explained are short): ids up to and including EOS. */
  private greedy(source: Int32Array): number[] {
    const m = this.model;
    const eos = m.config.eos_token_id;
    const src = tensor(source, [1, source.length], { dtype: 'int32' });
    return noGrad(() => {
      const enc = m.encode(src).lastHiddenState; // (1, S, C)
      const out: number[] = [];
      while (out.length < Math.min(this.maxNewTokens, this.maxTokens)) {
        const dec = Int32Array.from([m.config.decoder_start_token_id, ...out]);
        const logits = m.decode(tensor(dec, [1, dec.length], { dtype: 'int32' }), enc, { logitsToKeep: 1 }).logits.toFloat32Array(); // (1, 1, V)
        let best = 0;
        for (let v = 1; v < logits.length; v++) if (logits[v]! > logits[best]!) best = v;
        out.push(best);
        if (best === eos) break;
      }
      return out;
    });
  }

  attentions(e: Seq2SeqEncoded, opts: { headMask?: HeadMask } = {}): AttentionGroup[] {
    const S = e.sourceIds.length;
    const T = e.decoderIds.length;
    const masks = opts.headMask ? seq2seqMasks(opts.headMask) : {};
    const out = noGrad(() =>
      this.model.forward(tensor(e.sourceIds, [1, S], { dtype: 'int32' }), { decoderInputIds: tensor(e.decoderIds, [1, T], { dtype: 'int32' }), outputAttentions: true, ...masks }),
    );
    const layers = (ws: Tensor[]) => ws.map((w) => ({ data: w.toFloat32Array(), heads: w.shape[1]!, headIds: Array.from({ length: w.shape[1]! }, (_, h) => h) })); // (1, H, Tq, Tk) → (H, Tq, Tk)
    return [
      { kind: 'encoder', queries: e.tokens, keys: e.tokens, causal: false, layers: layers(out.encoderAttentions!) },
      { kind: 'decoder', queries: e.targetTokens, keys: e.targetTokens, causal: true, layers: layers(out.decoderAttentions!) },
      { kind: 'cross', queries: e.targetTokens, keys: e.tokens, causal: false, layers: layers(out.crossAttentions!) },
    ];
  }
}

/** A HeadMask's groups as the models' three head-mask options; other groups are an error. */
function seq2seqMasks(m: HeadMask): { headMask?: HeadMaskOption; decoderHeadMask?: HeadMaskOption; crossAttentionHeadMask?: HeadMaskOption } {
  const other = Object.keys(m).filter((k) => k !== 'encoder' && k !== 'decoder' && k !== 'cross');
  if (other.length) throw new Error(`an encoder-decoder has 'encoder', 'decoder' and 'cross' attention heads; the head mask names ${other.join(', ')}`);
  return { ...(m.encoder ? { headMask: m.encoder } : {}), ...(m.decoder ? { decoderHeadMask: m.decoder } : {}), ...(m.cross ? { crossAttentionHeadMask: m.cross } : {}) };
}

// -----------------------------------------------------------------------------------------------------------
// The teacher-forced objective: mean cross-entropy of the target tokens (importance) and the share of target
// tokens the model predicts right given the reference prefix (quality), on source/target pairs.

export interface Seq2SeqObjectiveData {
  importance: ReadonlyArray<{ source: string; target: string }>;
  evaluation: ReadonlyArray<{ source: string; target: string }>;
}

/**
 * `seq2seqObjective(adapter, { importance: pairs, evaluation: heldOut }, { batchSize: 16 })`: head importance
 * and next-token accuracy of an encoder-decoder under head masks. Sources and targets longer than the model's
 * context are cut. Does not score generated text (BLEU): teacher forcing is one forward pass per point.
 */
export function seq2seqObjective(x: Seq2SeqExplainer, data: Seq2SeqObjectiveData, opts: { batchSize?: number; importanceExamples?: number } = {}): HeadObjective {
  const B = opts.batchSize ?? 16;
  const max = x.maxTokens;
  const pad = x.model.config.pad_token_id;
  const encode = (xs: Seq2SeqObjectiveData['importance'], what: string) => {
    if (xs.length === 0) throw new Error(`the ${what} data has no source/target pairs`);
    return xs.map((p) => ({
      src: x.tokenizer.encode(p.source, undefined, { maxLength: max, truncation: true, padding: false }).ids,
      tgt: x.tokenizer.encode(p.target, undefined, { maxLength: max, truncation: true, padding: false }).ids,
    }));
  };
  const n = opts.importanceExamples ?? 1024;
  const batches = (pairs: ReturnType<typeof encode>) =>
    Array.from({ length: Math.ceil(pairs.length / B) }, (_, i) => {
      const rows = pairs.slice(i * B, (i + 1) * B);
      const S = Math.max(...rows.map((r) => r.src.length));
      const T = Math.max(...rows.map((r) => r.tgt.length));
      const ids = new Int32Array(rows.length * S).fill(pad);
      const mask = new Int32Array(rows.length * S);
      const labels = new Int32Array(rows.length * T).fill(-100); // padding positions are ignored
      rows.forEach((r, b) => {
        ids.set(r.src, b * S);
        mask.fill(1, b * S, b * S + r.src.length);
        labels.set(r.tgt, b * T);
      });
      return {
        rows: rows.length,
        ids: tensor(ids, [rows.length, S], { dtype: 'int32' }),
        attentionMask: tensor(mask, [rows.length, S], { dtype: 'int32' }),
        labels: tensor(labels, [rows.length, T], { dtype: 'int32' }),
      };
    });
  const imp = batches(encode(n > 0 ? data.importance.slice(0, n) : data.importance, 'importance'));
  const ev = batches(encode(data.evaluation, 'evaluation'));
  return {
    metric: { name: 'token accuracy', higherIsBetter: true },
    batches: imp.length,
    rows: (i) => imp[i]!.rows,
    loss: (i, gates) => {
      const b = imp[i]!;
      return x.model.forward(b.ids, { attentionMask: b.attentionMask, labels: b.labels, ...seq2seqMasks(gates) }).loss!;
    },
    quality: (mask) =>
      noGrad(() => {
        let right = 0;
        let count = 0;
        for (const b of ev) {
          const logits = x.model.forward(b.ids, { attentionMask: b.attentionMask, labels: b.labels, ...(mask ? seq2seqMasks(mask) : {}) }).logits.toFloat32Array(); // (B, T, V)
          const y = b.labels.toArray();
          const V = logits.length / y.length;
          for (let i = 0; i < y.length; i++) {
            if (y[i] === -100) continue;
            let best = 0;
            for (let v = 1; v < V; v++) if (logits[i * V + v]! > logits[i * V + best]!) best = v;
            if (best === y[i]) right++;
            count++;
          }
        }
        return right / count;
      }),
  };
}
