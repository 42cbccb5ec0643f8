// The task-level API for encoder models (BERT, RoBERTa, DistilBERT), named after transformers so habits carry
// over:
//
//   const m = AutoModelForSequenceClassification.fromPretrained('runs/sst2');
//   m.forward([[101, 7592, 102]]).logits                                 // (B, L), no gradients
//   m.encode(['a gripping film', 'a dull one'])                          // padded ids + masks for forward
//   AutoModelForSequenceClassification.fromPretrained('runs/mlm', { id2label: ['neg', 'pos'] })   // a new head
//
// Every AutoModelFor… returns an EncoderModel: the model (src/models/bert.ts), its config, its tokenizer and what
// loading reported. The pipelines (fill_mask.ts, text_classification.ts, …) sit on top of it and only wire
// tokenizer → batches → model → numbers → result objects. Node-only (reads folders).

import { tensor, noGrad, type Tensor } from '../tensor/index.js';
import type { BertAnyModel, BertConfig, BertHead, BertHeadOutput, BertProblemType, QuestionAnsweringOutput } from '../models/bert.js';
import { fromPretrainedBert, saveBertPretrained, type BertLoadReport } from '../models/bert_pretrained.js';
import type { QuantizeOnLoad } from '../quant/load.js';
import { collateInputs, encodedInput, type EncodedBatch, type EncodedInput } from '../data/batch.js';
import type { Tokenizer, Encoding } from '../tokenizers/index.js';

export interface EncoderForwardOptions {
  /** (B, T) 1 = token, 0 = padding; number[][] or a tensor. */
  attentionMask?: number[][] | Tensor;
  /** (B, T) segment ids (0 = first text, 1 = second). */
  tokenTypeIds?: number[][] | Tensor;
  /** (B, T) positions (default: the model's own rule). */
  positionIds?: number[][] | Tensor;
  /** (H) or (num_layers, H) head mask. */
  headMask?: Tensor | Float32Array;
  outputAttentions?: boolean;
  outputHiddenStates?: boolean;
}

function toIds(x: number[][] | Tensor, what: string): Tensor {
  if (!Array.isArray(x)) return x;
  if (x.length === 0 || x.some((r) => r.length !== x[0]!.length)) throw new Error(`${what} must be a non-empty (B, T) array with rows of equal length (pad the rows and give an attention mask)`);
  return tensor(Int32Array.from(x.flat()), [x.length, x[0]!.length], { dtype: 'int32' });
}

/** The longest input the model takes, in tokens (RoBERTa's positions start after the padding id). */
export function modelMaxLength(config: BertConfig): number {
  return config.model_type === 'roberta' ? config.max_position_embeddings - config.pad_token_id - 1 : config.max_position_embeddings;
}

/** A loaded encoder with its head, config and tokenizer. */
export class EncoderModel {
  readonly model: BertAnyModel;
  readonly config: BertConfig;
  readonly head: BertHead;
  readonly tokenizer: Tokenizer | null;
  /** Head weights made fresh and checkpoint tensors left unused while loading (see fromPretrainedBert). */
  readonly report: BertLoadReport;
  readonly dir: string;

  constructor(loaded: { model: BertAnyModel; config: BertConfig; head: BertHead; tokenizer: Tokenizer | null; report: BertLoadReport; dir: string }) {
    this.model = loaded.model;
    this.config = loaded.config;
    this.head = loaded.head;
    this.tokenizer = loaded.tokenizer;
    this.report = loaded.report;
    this.dir = loaded.dir;
  }

  /** Class names by id. */
  get id2label(): string[] {
    return this.config.id2label;
  }

  /**
   * The head's outputs for input ids (B, T), plus attentions / hidden states when asked. No gradients.
   * For question answering the output also has startLogits and endLogits (B, T).
   */
  forward(inputIds: number[][] | Tensor, opts: EncoderForwardOptions = {}): BertHeadOutput & Partial<QuestionAnsweringOutput> {
    return noGrad(() =>
      this.model.forward(toIds(inputIds, 'inputIds'), {
        ...(opts.attentionMask ? { attentionMask: toIds(opts.attentionMask, 'attentionMask') } : {}),
        ...(opts.tokenTypeIds ? { tokenTypeIds: toIds(opts.tokenTypeIds, 'tokenTypeIds') } : {}),
        ...(opts.positionIds ? { positionIds: toIds(opts.positionIds, 'positionIds') } : {}),
        ...(opts.headMask ? { headMask: opts.headMask } : {}),
        outputAttentions: opts.outputAttentions ?? false,
        outputHiddenStates: opts.outputHiddenStates ?? false,
      }),
    );
  }

  /** The folder's tokenizer, or an error saying the folder has none. */
  requireTokenizer(): Tokenizer {
    if (!this.tokenizer) throw new Error(`${this.dir} has no tokenizer (tokenizer.json, vocab.txt, or vocab.json + merges.txt); give token ids to forward() instead`);
    return this.tokenizer;
  }

  /**
   * Tokenize texts (or [text, pair] tuples) the way the model reads them: special tokens, truncation to the
   * model's length, padding to the longest. `m.encode(['a', ['q?', 'context']])`.
   */
  encode(texts: ReadonlyArray<string | readonly [string, string]>, opts: { maxLength?: number } = {}): { batch: EncodedBatch; encodings: Encoding[] } {
    const tok = this.requireTokenizer();
    const maxLength = Math.min(opts.maxLength ?? Infinity, modelMaxLength(this.config));
    const encodings = texts.map((t) => (typeof t === 'string' ? tok.encode(t, undefined, { maxLength, truncation: true, padding: false }) : tok.encode(t[0], t[1], { maxLength, truncation: true, padding: false })));
    return { batch: collateInputs(encodings.map((e) => encodedInput(e)), this.config.pad_token_id), encodings };
  }

  /** Run the model on a padded batch (what the pipelines do, batch by batch). */
  forwardBatch(batch: EncodedBatch): BertHeadOutput & Partial<QuestionAnsweringOutput> {
    const { ids, opts } = this.batchTensors(batch);
    // Padding-free: only the real tokens go through the layers (the pipelines never read padded positions).
    return noGrad(() => this.model.forward(ids, { ...opts, paddingFree: true }));
  }

  /** The encoder's last hidden state (B, T, C) for a padded batch, whatever head sits on top. */
  lastHiddenStateBatch(batch: EncodedBatch): Tensor {
    const { ids, opts } = this.batchTensors(batch);
    return noGrad(() => this.model.bert.forward(ids, { ...opts, paddingFree: true }).lastHiddenState);
  }

  private batchTensors(batch: EncodedBatch): { ids: Tensor; opts: { attentionMask: Tensor; tokenTypeIds?: Tensor } } {
    const shape = [batch.size, batch.length];
    const opts: { attentionMask: Tensor; tokenTypeIds?: Tensor } = { attentionMask: tensor(Int32Array.from(batch.attentionMask), shape, { dtype: 'int32' }) };
    if (this.config.type_vocab_size > 0) opts.tokenTypeIds = tensor(batch.typeIds, shape, { dtype: 'int32' });
    return { ids: tensor(batch.inputIds, shape, { dtype: 'int32' }), opts };
  }

  /** Write the model (and its tokenizer) as a Hugging Face folder, atomically. */
  savePretrained(dir: string): void {
    saveBertPretrained(this.model, dir, this.tokenizer ? { tokenizer: this.tokenizer } : {});
  }
}

/**
 * Run `inputs` through the model in padded batches of `batchSize`, calling `each(batch, output, first)` with the
 * index of the batch's first input. Rows are padded on the right, so row b's real tokens are positions
 * 0..len−1 of its output, whatever the batch.
 */
export function inBatches(em: EncoderModel, inputs: readonly EncodedInput[], batchSize: number, each: (batch: EncodedBatch, out: BertHeadOutput & Partial<QuestionAnsweringOutput>, first: number) => void): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch_size must be a positive integer, got ${batchSize}`);
  for (let i = 0; i < inputs.length; i += batchSize) {
    const batch = collateInputs(inputs.slice(i, i + batchSize), em.config.pad_token_id);
    each(batch, em.forwardBatch(batch), i);
  }
}

/** Softmax of a row of scores (float64 sums, as numpy). */
export function softmaxRow(x: ArrayLike<number>): number[] {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]!);
  const e = Array.from(x, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** `dtype: 'int8' | 'int4'` quantises a float folder while loading (own head only); quantised folders load as they are. */
export interface AutoLoadOptions extends QuantizeOnLoad {
  /** Labels of a new classification head (replaces the folder's head when they differ). */
  id2label?: string[];
  /** Labels LABEL_0 … LABEL_{n−1} for a new head, when id2label is not given. */
  numLabels?: number;
  problemType?: BertProblemType | null;
}

function autoFor(head: BertHead) {
  return {
    /** Load `dir` with this head (a new, initialised head if the folder has another; see `report`). */
    fromPretrained(dir: string, opts: AutoLoadOptions = {}): EncoderModel {
      const id2label = opts.id2label ?? (opts.numLabels !== undefined ? Array.from({ length: opts.numLabels }, (_, i) => `LABEL_${i}`) : undefined);
      const quant = { ...(opts.dtype ? { dtype: opts.dtype } : {}), ...(opts.groupSize !== undefined ? { groupSize: opts.groupSize } : {}), ...(opts.quantizeEmbeddings !== undefined ? { quantizeEmbeddings: opts.quantizeEmbeddings } : {}) };
      return new EncoderModel(fromPretrainedBert(dir, { head, ...quant, ...(id2label ? { id2label } : {}), ...(opts.problemType !== undefined ? { problemType: opts.problemType } : {}) }));
    },
  };
}

/** The encoder alone (hidden states; BERT also has the pooler output). */
export const AutoModel = autoFor('base');
export const AutoModelForMaskedLM = autoFor('masked-lm');
export const AutoModelForSequenceClassification = autoFor('sequence-classification');
export const AutoModelForTokenClassification = autoFor('token-classification');
export const AutoModelForQuestionAnswering = autoFor('question-answering');
