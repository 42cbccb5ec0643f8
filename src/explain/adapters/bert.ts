// The explain adapter for BERT, RoBERTa and DistilBERT (src/models/bert.ts): one group of bidirectional
// self-attention maps (a text, or a pair as [CLS] A [SEP] B [SEP]), head masks through the encoder's headMask,
// physical pruning with Hugging Face's prune_heads semantics, and the sequence-classification objective
// (cross-entropy for head importance, accuracy for quality) the pruning experiment runs on a fine-tuned model.
//
// Hugging Face's BertAttention.prune_heads (RobertaAttention's and DistilBERT's MultiHeadSelfAttention's are
// the same) removes, for the heads' dimensions `index` (src/explain/hf_prune.ts):
//   self.query, self.key, self.value   weight rows `index` (nn.Linear stores (out, in)) and bias entries `index`
//   output.dense                       weight columns `index`; its bias stays whole
// and records the heads in config.pruned_heads, from which from_pretrained rebuilds the smaller layers.
//
// Shapes: L layers, H heads of a layer (num_attention_heads less its pruned heads), T tokens, C hidden_size,
// D head size (C / num_attention_heads), A = H·D the layer's attention width.
import { noGrad, tensor, type Tensor } from '../../tensor/index.js';
import { bertConfig, createBertModel, type BertAnyModel, type BertForSequenceClassification } from '../../models/bert.js';
import { saveBertPretrained } from '../../models/bert_pretrained.js';
import { collateInputs } from '../../data/batch.js';
import { encodeTextClassification, type TextClassificationExample } from '../../data/classification.js';
import { labelMapFromList } from '../../data/labels.js';
import type { Tokenizer } from '../../tokenizers/index.js';
import { windowOf, type AttentionGroup, type Encoded, type ExplainInput, type HeadId, type HeadLayout, type HeadMask, type Prunable, type WindowOptions } from '../explainable.js';
import { pruneableHeadsAndIndices, selectColumns, selectRows } from '../hf_prune.js';
import type { HeadObjective } from '../importance.js';
import { tokenViews } from '../tokens.js';

export interface BertEncoded extends Encoded {
  /** (T) the window's token ids and segment ids (0 = sentence A, 1 = sentence B). */
  ids: Int32Array;
  typeIds: Int32Array;
  /** Where the window starts in the whole encoding, and how many tokens the whole encoding has. */
  start: number;
  total: number;
}

/**
 * `new BertExplainer(model, tokenizer)`: maps, masks and pruning for any BERT-family model with any head. Puts
 * the model in eval mode (no dropout). Does not handle padded batches (one input at a time).
 */
export class BertExplainer implements Prunable<BertEncoded> {
  readonly model: BertAnyModel;
  readonly tokenizer: Tokenizer;

  constructor(model: BertAnyModel, tokenizer: Tokenizer) {
    this.model = model.train(false);
    this.tokenizer = tokenizer;
  }

  get family(): string {
    return this.model.config.model_type;
  }

  /** Positions the model has: max_position_embeddings (RoBERTa's start after the padding id: 514 → 512 tokens). */
  get maxTokens(): number {
    const c = this.model.config;
    return c.model_type === 'roberta' ? c.max_position_embeddings - c.pad_token_id - 1 : c.max_position_embeddings;
  }

  heads(): HeadLayout[] {
    const cfg = this.model.config;
    const layers = Array.from({ length: cfg.num_hidden_layers }, (_, i) => {
      const gone = new Set(cfg.pruned_heads[String(i)] ?? []);
      return Array.from({ length: cfg.num_attention_heads }, (_, h) => h).filter((h) => !gone.has(h));
    });
    return [{ group: 'self', nHead: cfg.num_attention_heads, layers }];
  }

  /** [CLS] text [SEP] (pair [SEP]) as the tokenizer's post-processor builds it; a window when it is too long. */
  encode(input: ExplainInput, window: WindowOptions = {}): BertEncoded {
    const enc = this.tokenizer.encode(input.text, input.pair);
    return windowOf(enc.ids.length, this.maxTokens, window, (start, end) => ({
      ids: Int32Array.from(enc.ids.slice(start, end)),
      typeIds: Int32Array.from(enc.typeIds.slice(start, end)),
      tokens: tokenViews(this.tokenizer, enc).slice(start, end),
    }));
  }

  attentions(e: BertEncoded, opts: { headMask?: HeadMask } = {}): AttentionGroup[] {
    const T = e.ids.length;
    const headMask = opts.headMask ? selfMask(opts.headMask, this.family) : undefined;
    const types = this.model.config.type_vocab_size > 0 ? { tokenTypeIds: tensor(e.typeIds, [1, T], { dtype: 'int32' }) } : {};
    const out = noGrad(() => this.model.bert.forward(tensor(e.ids, [1, T], { dtype: 'int32' }), { ...types, outputAttentions: true, ...(headMask ? { headMask } : {}) }));
    const layouts = this.heads()[0]!.layers;
    const layers = out.attentions!.map((w, i) => ({ data: w.toFloat32Array(), heads: w.shape[1]!, headIds: layouts[i]! })); // (1, H, T, T) → (H, T, T)
    return [{ kind: 'self', queries: e.tokens, keys: e.tokens, causal: false, layers }];
  }

  prune(heads: readonly HeadId[]): BertExplainer {
    const byLayer: Record<number, number[]> = {};
    for (const h of heads) {
      if (h.group !== 'self') throw new Error(`a ${this.family} model has only 'self' attention heads, not '${h.group}'`);
      (byLayer[h.layer] ??= []).push(h.head);
    }
    return new BertExplainer(pruneBert(this.model, byLayer), this.tokenizer);
  }

  save(dir: string): void {
    saveBertPretrained(this.model, dir, { tokenizer: this.tokenizer });
  }
}

/** The 'self' entry of a HeadMask as BertModel.forward's per-layer headMask; other groups are an error. */
function selfMask(m: HeadMask, family: string): Array<Tensor | Float32Array | null> {
  const other = Object.keys(m).filter((k) => k !== 'self');
  if (other.length) throw new Error(`a ${family} model has only 'self' attention heads; the head mask names ${other.join(', ')}`);
  return m.self ?? [];
}

// -----------------------------------------------------------------------------------------------------------
// Pruning (Hugging Face's BertAttention.prune_heads), on a copy of the model.

/**
 * A copy of `model` (same head) without the given heads ({layer: [original head indices]}); heads already
 * pruned are skipped. `pruneBert(model, { 0: [1], 3: [0, 2] })`. The copy computes exactly what `model`
 * computes with those heads masked to 0. Does not handle removing every head of a layer (config validation
 * refuses it, as a layer without heads would have empty projections).
 */
export function pruneBert<M extends BertAnyModel>(model: M, heads: Readonly<Record<number, readonly number[]>>): M {
  const cfg = model.config;
  const H0 = cfg.num_attention_heads;
  const D = cfg.hidden_size / H0;
  const C = cfg.hidden_size;
  for (const key of Object.keys(heads)) {
    if (!(Number(key) >= 0 && Number(key) < cfg.num_hidden_layers)) throw new Error(`pruneBert: layer ${key} is not in 0..${cfg.num_hidden_layers - 1}`);
  }
  const pruned: Record<string, number[]> = {};
  const indices = new Map<number, Int32Array>(); // layer → kept dimensions of its current attention width
  for (let layer = 0; layer < cfg.num_hidden_layers; layer++) {
    const before = cfg.pruned_heads[String(layer)] ?? [];
    const asked = heads[layer] ?? [];
    for (const h of asked) if (!Number.isInteger(h) || h < 0 || h >= H0) throw new Error(`pruneBert: layer ${layer} has heads 0..${H0 - 1}, not ${h}`);
    const r = pruneableHeadsAndIndices(asked, H0 - before.length, D, new Set(before));
    if (r.heads.size > 0) indices.set(layer, r.index);
    const all = [...before, ...r.heads];
    if (all.length > 0) pruned[String(layer)] = all;
  }
  const next = createBertModel(bertConfig({ ...cfg, pruned_heads: pruned }), model.head, { init: false }) as M;
  const old = new Map(model.namedParameters());
  next.initParameters((name, data, shape) => {
    const src = old.get(name)!.toFloat32Array();
    const m = /^bert\.encoder\.layer\.(\d+)\.attention\.(self\.query|self\.key|self\.value|output\.dense)\.(weight|bias)$/.exec(name);
    const index = m ? indices.get(Number(m[1])) : undefined;
    if (!m || !index) return data.set(src);
    const A = model.bert.encoder.layer[Number(m[1])]!.attention.self.heads * D; // the layer's attention width before this pruning
    if (m[2] !== 'output.dense') data.set(m[3] === 'weight' ? selectRows(src, C, index) : selectRows(src, 1, index)); // (A', C) / (A')
    else data.set(m[3] === 'weight' ? selectColumns(src, C, A, index) : src); // (C, A'); the bias stays whole
    if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`pruneBert: ${name} came out with ${data.length} values for shape [${shape.join(', ')}]`);
  });
  return next.train(model.training) as M;
}

// -----------------------------------------------------------------------------------------------------------
// The sequence-classification objective: cross-entropy on labelled examples (importance), accuracy on held-out
// ones (quality), as `attn finetune` scores a classifier.

export interface ClassificationObjectiveData {
  /** Examples head importance is measured on, and the held-out examples accuracy is scored on. */
  importance: readonly TextClassificationExample[];
  evaluation: readonly TextClassificationExample[];
}

export interface ClassificationObjectiveOptions {
  /** Tokens per example, special tokens included (default 128, at most the model's). */
  maxLength?: number;
  /** Examples per batch (default 16). */
  batchSize?: number;
  /** Examples of `importance` used (default 1024; 0 = all). */
  importanceExamples?: number;
}

/**
 * `bertClassificationObjective(adapter, { importance: train, evaluation: dev })`: a fine-tuned classifier's
 * loss and accuracy under head masks; the labels must be among the model's id2label. Does not handle
 * multi-label classifiers (accuracy is argmax against one label).
 */
export function bertClassificationObjective(x: BertExplainer, data: ClassificationObjectiveData, opts: ClassificationObjectiveOptions = {}): HeadObjective {
  const model = x.model;
  if (model.head !== 'sequence-classification') throw new Error(`a classification objective needs a sequence classifier; this ${x.family} model's head is ${model.head}`);
  const cls = model as BertForSequenceClassification;
  const maxLength = Math.min(opts.maxLength ?? 128, x.maxTokens);
  const B = opts.batchSize ?? 16;
  const labels = labelMapFromList(cls.config.id2label);
  const encode = (xs: readonly TextClassificationExample[], what: string) => {
    if (xs.length === 0) throw new Error(`the ${what} data has no examples`);
    return encodeTextClassification(xs, x.tokenizer, { maxLength, labels, source: what });
  };
  const n = opts.importanceExamples ?? 1024;
  const imp = encode(n > 0 ? data.importance.slice(0, n) : data.importance, 'importance');
  const evalSet = encode(data.evaluation, 'evaluation');
  const types = cls.config.type_vocab_size > 0;
  const batch = (fs: typeof imp, from: number) => {
    const rows = fs.slice(from, from + B);
    const b = collateInputs(rows, cls.config.pad_token_id);
    const shape = [b.size, b.length];
    return {
      ids: tensor(b.inputIds, shape, { dtype: 'int32' }),
      opts: { attentionMask: tensor(Int32Array.from(b.attentionMask), shape, { dtype: 'int32' }), ...(types ? { tokenTypeIds: tensor(b.typeIds, shape, { dtype: 'int32' }) } : {}) },
      labels: tensor(Int32Array.from(rows, (f) => f.label), [rows.length], { dtype: 'int32' }),
      rows: rows.length,
    };
  };
  const impBatches = Array.from({ length: Math.ceil(imp.length / B) }, (_, i) => batch(imp, i * B));
  const evalBatches = Array.from({ length: Math.ceil(evalSet.length / B) }, (_, i) => batch(evalSet, i * B));
  const L = cls.config.id2label.length;
  return {
    metric: { name: 'accuracy', higherIsBetter: true },
    batches: impBatches.length,
    rows: (i) => impBatches[i]!.rows,
    loss: (i, gates) => {
      const b = impBatches[i]!;
      return cls.forward(b.ids, { ...b.opts, labels: b.labels, headMask: selfMask(gates, x.family) }).loss!;
    },
    quality: (mask) =>
      noGrad(() => {
        let right = 0;
        for (const b of evalBatches) {
          const logits = cls.forward(b.ids, { ...b.opts, ...(mask ? { headMask: selfMask(mask, x.family) } : {}) }).logits.toFloat32Array(); // (B, L)
          const gold = b.labels.toArray();
          for (let r = 0; r < b.rows; r++) {
            let arg = 0;
            for (let k = 1; k < L; k++) if (logits[r * L + k]! > logits[r * L + arg]!) arg = k;
            if (arg === gold[r]) right++;
          }
        }
        return right / evalSet.length;
      }),
  };
}
