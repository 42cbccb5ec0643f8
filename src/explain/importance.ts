// Head importance (Michel, Levy & Neubig 2019, "Are Sixteen Heads Really Better than One?", section 4.1).
//
// Put a gate ξ_h on every head's output — Att_h(x) becomes ξ_h · Att_h(x) — and ask how much the loss would
// change if the gate closed. To first order that is the gradient at ξ = 1:
//
//   I_h = E_x | ∂L(x) / ∂ξ_h |
//
// The gate is Hugging Face's head_mask, which the attention op differentiates (src/tensor/attention.ts), so one
// backward pass gives every head's ∂L/∂ξ. Each example gets its own gates ((B, H) masks), so the absolute value
// is taken per example, as the expectation says, not of a batch's sum (where opposite signs would cancel).
// Scores are then normalised per layer by their ℓ2 norm (the paper, after Molchanov et al. 2017), so layers
// whose gradients are larger overall do not hold all of the top places.
//
// What a model family supplies is a HeadObjective: batches with a differentiable loss under given gates, and
// a quality metric (bits per byte, accuracy) under a given mask, which the pruning experiment (prune.ts) uses.
import { fromStorage, type Tensor } from '../tensor/index.js';
import type { AttentionKind, HeadId, HeadLayout, HeadMask } from './explainable.js';

export interface QualityMetric {
  /** 'bits per byte', 'accuracy', ... */
  name: string;
  higherIsBetter: boolean;
}

/** The data and loss head importance and the pruning experiment run on. */
export interface HeadObjective {
  readonly metric: QualityMetric;
  /** Number of batches importance is accumulated over. */
  readonly batches: number;
  /** Rows (examples) of batch i: each gets its own gate per head. */
  rows(i: number): number;
  /** Loss of batch i with the gates given per group and layer, each (rows, H) (differentiable in them). */
  loss(i: number, gates: HeadMask): Tensor;
  /** The quality metric on the evaluation data, with `mask` applied (no mask: the whole model). */
  quality(mask?: HeadMask): number;
}

/** Importance per head, by original index, in group/layer/head order, and the per-layer norms used. */
export interface HeadImportance {
  heads: Array<HeadId & { raw: number; score: number }>;
  /** ℓ2 norm of the raw scores of each group's layer. */
  layerNorms: Partial<Record<AttentionKind, number[]>>;
  examples: number;
}

export interface ImportanceOptions {
  /**
   * Gates already closed while measuring (iterative pruning): those heads keep ξ = 0, and their score is then
   * the gradient at 0 (what reopening them would change), which the pruning experiment ignores.
   */
  mask?: HeadMask;
  /** Normalise per layer by the ℓ2 norm (default true, as the paper). */
  normalizeLayers?: boolean;
  /** Called after each batch. */
  onBatch?: (done: number, total: number) => void;
}

/**
 * Accumulate |∂L/∂ξ_h| over the objective's batches, per example. Example:
 * `headImportance(adapter.heads(), gptLanguageModelObjective(adapter, stream)).heads`.
 * Does not handle models whose heads cannot be masked (layouts empty): that is an error.
 */
export function headImportance(layouts: readonly HeadLayout[], objective: HeadObjective, opts: ImportanceOptions = {}): HeadImportance {
  if (layouts.length === 0) throw new Error('headImportance: this model has no maskable heads');
  if (objective.batches < 1) throw new Error('headImportance: the objective has no batches; give it more data');
  const raw = new Map<AttentionKind, Float64Array[]>(layouts.map((l) => [l.group, l.layers.map((h) => new Float64Array(h.length))]));
  let examples = 0;
  for (let i = 0; i < objective.batches; i++) {
    const B = objective.rows(i);
    const gates: HeadMask = {};
    const leaves: Array<[AttentionKind, number, Tensor]> = [];
    for (const l of layouts) {
      const given = opts.mask?.[l.group];
      gates[l.group] = l.layers.map((heads, layer) => {
        // ξ = 1 for live heads, the given mask value (0) for heads already removed: (B, H), one gate per example.
        const g = new Float32Array(B * heads.length).fill(1);
        const m = given?.[layer];
        if (m) {
          const mv = m instanceof Float32Array ? m : m.toFloat32Array();
          for (let b = 0; b < B; b++) for (let h = 0; h < heads.length; h++) g[b * heads.length + h] = mv.length === heads.length ? mv[h]! : mv[b * heads.length + h]!;
        }
        const t = fromStorage(g, [B, heads.length], { requiresGrad: true });
        leaves.push([l.group, layer, t]);
        return t;
      });
    }
    const loss = objective.loss(i, gates);
    loss.backward();
    for (const [group, layer, t] of leaves) {
      const acc = raw.get(group)![layer]!;
      const g = t.grad?.toFloat32Array();
      if (!g) continue; // a layer the loss does not reach (cannot happen for a model whose every layer feeds the output)
      const H = acc.length;
      for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) acc[h]! += Math.abs(g[b * H + h]!);
    }
    examples += B;
    opts.onBatch?.(i + 1, objective.batches);
  }
  const heads: HeadImportance['heads'] = [];
  const layerNorms: HeadImportance['layerNorms'] = {};
  const normalize = opts.normalizeLayers ?? true;
  for (const l of layouts) {
    const norms: number[] = [];
    l.layers.forEach((ids, layer) => {
      const acc = raw.get(l.group)![layer]!;
      const norm = Math.sqrt(acc.reduce((s, v) => s + v * v, 0));
      norms.push(norm);
      ids.forEach((head, i) => heads.push({ group: l.group, layer, head, raw: acc[i]!, score: normalize ? acc[i]! / (norm + 1e-20) : acc[i]! }));
    });
    layerNorms[l.group] = norms;
  }
  return { heads, layerNorms, examples };
}

/** Heads sorted from least to most important (ties: the earlier head first). */
export function byImportance(imp: HeadImportance): Array<HeadId & { raw: number; score: number }> {
  return imp.heads.map((h, i) => ({ h, i })).sort((a, b) => a.h.score - b.h.score || a.i - b.i).map((x) => x.h);
}
