// The pruning experiment of Michel et al. 2019 ("Are Sixteen Heads Really Better than One?", section 4): remove
// heads in order of importance, least important first, and watch the quality. Removing is done with head masks
// (the heads' outputs are multiplied by 0), which computes exactly what the physically pruned model computes
// (tested: pruned = masked) but needs no new weights per step. The paper's finding, for BERT and the WMT
// Transformer: a large share of heads can go at test time with little loss; quality falls only at the end.
//
//   importance once (default)   rank every head by I_h on the full model, then remove in that order
//   iterative                   after each step recompute I_h with the removed heads masked, rank the rest
//
// What it reports: the curve (heads removed → quality) and how many heads go before the quality is worse than
// the full model's by more than `tolerance` (1 %), relative.
import { allHeads, maskWithout, type HeadId, type HeadLayout } from './explainable.js';
import { byImportance, headImportance, type HeadImportance, type HeadObjective, type QualityMetric } from './importance.js';

export interface PruneCurvePoint {
  /** Heads removed so far, and the share of all heads kept. */
  removed: number;
  fractionKept: number;
  quality: number;
  /**
   * Change against the full model, signed so that positive = worse: relative to |baseline|, or absolute when
   * the baseline is 0 (an untrained model's accuracy), where a relative change has no meaning.
   */
  worse: number;
  /** The heads removed at this step. */
  heads: HeadId[];
}

export interface PruneCurve {
  metric: QualityMetric;
  totalHeads: number;
  baseline: number;
  tolerance: number;
  points: PruneCurvePoint[];
  /** Most heads removed with every point up to there within tolerance of the baseline. */
  removableWithinTolerance: number;
  /** Importance on the full model (the ranking, unless iterative). */
  importance: HeadImportance;
  iterative: boolean;
}

export interface PruneCurveOptions {
  /** Heads removed per step (default: 1 up to 64 heads, else 5 % of them). */
  step?: number;
  /** Recompute importance after every step (default false). */
  iterative?: boolean;
  /** Relative quality loss that counts as a drop (default 0.01). */
  tolerance?: number;
  /** Called after every point. */
  onPoint?: (p: PruneCurvePoint, total: number) => void;
}

/**
 * Quality against heads removed, least important first. Example:
 * `pruningCurve(adapter.heads(), gptLanguageModelObjective(adapter, data)).removableWithinTolerance`.
 * Removes down to zero heads (a layer may lose all of its heads: its attention then adds only the output
 * projection's bias, as a masked layer in the paper does).
 */
export function pruningCurve(layouts: readonly HeadLayout[], objective: HeadObjective, opts: PruneCurveOptions = {}): PruneCurve {
  const all = allHeads(layouts);
  const N = all.length;
  if (N === 0) throw new Error('pruningCurve: this model has no maskable heads');
  const step = opts.step ?? (N <= 64 ? 1 : Math.max(1, Math.round(N * 0.05)));
  if (!Number.isInteger(step) || step < 1) throw new Error(`pruningCurve: step must be a positive integer, got ${step}`);
  const tolerance = opts.tolerance ?? 0.01;
  if (!(tolerance >= 0)) throw new Error(`pruningCurve: tolerance must be ≥ 0, got ${tolerance}`);
  const higher = objective.metric.higherIsBetter;
  const baseline = objective.quality();
  const scale = baseline !== 0 ? Math.abs(baseline) : 1;
  const worse = (q: number) => (higher ? baseline - q : q - baseline) / scale;
  const importance = headImportance(layouts, objective);
  const key = (h: HeadId) => `${h.group}:${h.layer}:${h.head}`;
  const removed: HeadId[] = [];
  const gone = new Set<string>();
  const points: PruneCurvePoint[] = [{ removed: 0, fractionKept: 1, quality: baseline, worse: 0, heads: [] }];
  opts.onPoint?.(points[0]!, N);
  let ranking = byImportance(importance);
  while (removed.length < N) {
    if (opts.iterative && removed.length > 0) ranking = byImportance(headImportance(layouts, objective, { mask: maskWithout(layouts, removed) }));
    const next = ranking.filter((h) => !gone.has(key(h))).slice(0, step).map(({ group, layer, head }) => ({ group, layer, head }));
    for (const h of next) gone.add(key(h));
    removed.push(...next);
    const q = objective.quality(maskWithout(layouts, removed));
    const p: PruneCurvePoint = { removed: removed.length, fractionKept: (N - removed.length) / N, quality: q, worse: worse(q), heads: next };
    points.push(p);
    opts.onPoint?.(p, N);
  }
  let removable = 0;
  for (const p of points) {
    if (p.worse > tolerance) break;
    removable = p.removed;
  }
  return { metric: objective.metric, totalHeads: N, baseline, tolerance, points, removableWithinTolerance: removable, importance, iterative: opts.iterative ?? false };
}

/**
 * The `count` least important heads that can be pruned physically: every layer keeps at least one head (a
 * layer without heads would need empty q/k/v projections), so a layer's last head is skipped.
 * Example: `headsToPrune(adapter.heads(), importance, 8)`.
 */
export function headsToPrune(layouts: readonly HeadLayout[], importance: HeadImportance, count: number): HeadId[] {
  const left = new Map<string, number>(layouts.flatMap((l) => l.layers.map((h, layer) => [`${l.group}:${layer}`, h.length] as const)));
  const out: HeadId[] = [];
  for (const h of byImportance(importance)) {
    if (out.length >= count) break;
    const k = `${h.group}:${h.layer}`;
    if ((left.get(k) ?? 0) <= 1) continue;
    left.set(k, left.get(k)! - 1);
    out.push({ group: h.group, layer: h.layer, head: h.head });
  }
  return out;
}
