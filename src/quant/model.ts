// Quantise a whole model for inference: every Linear layer's weight (and, by default, every Embedding's table,
// which is also the LM head when the head is tied, as GPT-2's is) becomes a QuantizedTensor in place.
//
//   const report = quantizeModel(model, { bits: 8 });           // int8, one scale per output channel
//   quantizeModel(model, { bits: 4, groupSize: 64 });            // int4, one scale per 64 inputs
//
// It walks the modules, so it works for every model built from src/nn layers (GPT, BERT, the encoder-decoders,
// the RNN models' projections) with nothing model-specific but one list, READ_AS_FLOAT. Weights that are not
// Linear or Embedding weights (LayerNorm, biases, an LSTM's or GRU's gate matrices, Embedding tables when
// embeddings: false) stay float32.
// The model becomes inference-only: every parameter stops requiring gradients, and it is put in eval mode.

import { Embedding, Linear, type Module } from '../nn/index.js';
import type { Tensor } from '../tensor/index.js';
import { checkQuantSpec, groupSizeFor, type QuantBits } from './format.js';
import { asQuantized } from './ops.js';
import { QuantizedTensor } from './tensor.js';

export interface QuantizeOptions {
  bits: QuantBits;
  /** Inputs per scale: default K (one per output channel) for int8, 32 for int4 (see format.ts). */
  groupSize?: number;
  /**
   * Also quantise Embedding tables (and so a tied LM head): default true. An LM head is the largest matrix of a
   * small model (GPT-2 124M: 38.6M of 124M weights) and decoding reads all of it every token.
   */
  embeddings?: boolean;
}

/**
 * Weights of a Linear or Embedding that a model file hands to an op other than linear() or embedding() (the two
 * ops that read quantised weights), by parameter name: they stay float32. One entry today — the scoring vector v
 * of additive (Bahdanau) attention, which src/models/rnn_attention.ts passes to additiveScores(keys, query, v).
 * A model that reads a quantised weight elsewhere fails with an error naming it (QuantizedTensor), so a missing
 * entry shows up in its first forward.
 */
export const READ_AS_FLOAT: readonly RegExp[] = [/(^|\.)attn_v\.weight$/];

/** What quantizeModel did, by parameter name. */
export interface QuantizeReport {
  quantized: { name: string; shape: number[]; bits: QuantBits; groupSize: number }[];
  /** Weights that could be quantised but were not (e.g. int4 needs K a multiple of 32), and why. */
  skipped: { name: string; why: string }[];
  /** Bytes of the weights that were replaced, as float32, and as quantised values + scales. */
  floatBytes: number;
  quantizedBytes: number;
}

/** One weight that a Linear or Embedding holds: how it is laid out and who holds it. */
export interface QuantizableWeight {
  name: string;
  /** 'out_in' (N, K) — nn.Linear, embedding tables — or 'in_out' (K, N), GPT-2's Conv1D. */
  layout: 'out_in' | 'in_out';
  kind: 'linear' | 'embedding';
  /** Outputs (rows of the quantised matrix) and inputs. */
  n: number;
  k: number;
  /** The modules whose `weight` field holds this tensor (more than one when tied). */
  holders: (Linear | Embedding)[];
}

/**
 * The weights of `model` that quantisation applies to, by parameter name (as namedParameters names them), each
 * tensor once even when tied. Example: `quantizableWeights(gpt).get('h.0.attn.c_attn.weight')!.layout` → 'in_out'.
 */
export function quantizableWeights(model: Module): Map<string, QuantizableWeight> {
  const nameOf = new Map<Tensor, string>(model.namedParameters().map(([n, t]) => [t, n] as const));
  const byTensor = new Map<Tensor, QuantizableWeight>();
  for (const [, m] of model.namedModules()) {
    if (!(m instanceof Linear) && !(m instanceof Embedding)) continue;
    const w = m.weight;
    const name = nameOf.get(w);
    if (name === undefined || READ_AS_FLOAT.some((re) => re.test(name))) continue;
    const known = byTensor.get(w);
    if (known) {
      known.holders.push(m);
      if (m instanceof Linear) known.kind = 'linear'; // a Linear using an embedding's table: quantised with the Linears
      continue;
    }
    const layout = m instanceof Linear ? m.layout : 'out_in';
    const [n, k] = layout === 'out_in' ? [w.shape[0]!, w.shape[1]!] : [w.shape[1]!, w.shape[0]!];
    byTensor.set(w, { name, layout, kind: m instanceof Linear ? 'linear' : 'embedding', n, k, holders: [m] });
  }
  return new Map([...byTensor.values()].map((q) => [q.name, q] as const));
}

/**
 * Quantise `model`'s Linear weights (and Embedding tables unless `embeddings: false`) in place; returns what was
 * done. Errors, before anything is changed: bits other than 8 or 4, a group size that does not divide some
 * layer's input size (naming the layer), a model that is already quantised.
 * Does not handle: training afterwards (quantised weights have no gradient), LSTM/GRU gate matrices.
 */
export function quantizeModel(model: Module, opts: QuantizeOptions): QuantizeReport {
  checkQuantSpec(opts, 'quantizeModel');
  const { bits } = opts;
  const embeddings = opts.embeddings ?? true;
  const weights = [...quantizableWeights(model).values()].filter((q) => q.kind === 'linear' || embeddings);
  const already = weights.find((q) => asQuantized(q.holders[0]!.weight));
  if (already) throw new Error(`quantizeModel: the model is already quantised (${String(asQuantized(already.holders[0]!.weight))}); quantise its float version`);

  // Every layer's group size first, so a bad request fails before any weight has changed.
  const plan: { q: QuantizableWeight; groupSize: number }[] = [];
  const skipped: QuantizeReport['skipped'] = [];
  for (const q of weights) {
    const g = groupSizeFor(opts, q.k);
    if ('groupSize' in g) plan.push({ q, groupSize: g.groupSize });
    else if (opts.groupSize !== undefined) throw new RangeError(`quantizeModel: cannot quantise ${q.name} (${q.n} outputs × ${q.k} inputs): ${g.why}`);
    else skipped.push({ name: q.name, why: g.why });
  }

  const report: QuantizeReport = { quantized: [], skipped, floatBytes: 0, quantizedBytes: 0 };
  for (const { q, groupSize } of plan) {
    const w = q.holders[0]!.weight;
    const qt = QuantizedTensor.fromFloat(w, { bits, groupSize }, q.layout, q.name);
    for (const h of q.holders) h.weight = qt; // the float tensor is dropped (its memory goes back when collected)
    report.quantized.push({ name: q.name, shape: [...w.shape], bits, groupSize });
    report.floatBytes += 4 * w.size;
    report.quantizedBytes += qt.quantized.byteLength;
  }
  freezeForInference(model);
  return report;
}

/** Every parameter stops requiring gradients and the model goes to eval mode: a quantised model is for inference. */
export function freezeForInference(model: Module): void {
  for (const p of model.parameters()) if (!asQuantized(p)) p.requiresGrad = false;
  model.eval();
}
