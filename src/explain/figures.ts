// The explain figures, laid out once as shapes (figure.ts draws them as SVG and PNG):
//
//   layerFigure     every head of one layer, a heatmap each, token labels on the axes when they fit
//   gridFigure      the layer × head grid of one group, small heatmaps (the report's overview)
//   mapFigure       one labelled heatmap (attention rollout, one head at full size)
//   rolesFigure     the layer × head grid coloured by the role each head plays (stats.ts)
//   pruneFigure     quality against the share of heads removed, least important first (prune.ts)
import { niceTicks } from '../train/plot.js';
import type { AttentionGroup, HeadLayout, TokenView } from './explainable.js';
import type { Figure, Shape } from './figure.js';
import type { PruneCurve } from './prune.js';
import type { HeadRole, HeadStats } from './stats.js';

/** Labels are drawn when a map has at most this many rows or columns. */
const MAX_LABELS = 64;

/** Side of a map drawn for T tokens: about 6 px per token when labelled, at most 512. */
function side(T: number): number {
  return T <= MAX_LABELS ? Math.max(60, T * Math.min(14, Math.max(6, Math.floor(420 / T)))) : Math.min(512, Math.max(256, T));
}

/** Token text shortened for an axis label. */
function label(t: TokenView): string {
  return t.text.length > 12 ? `${t.text.slice(0, 11)}…` : t.text;
}

/** A heatmap with its axis labels (or index ticks when there are too many tokens). */
function labelledMap(shapes: Shape[], x: number, y: number, w: number, h: number, values: Float32Array, offset: number, queries: TokenView[], keys: TokenView[], labels: boolean): void {
  const Tq = queries.length;
  const Tk = keys.length;
  shapes.push({ kind: 'heatmap', x, y, w, h, rows: Tq, cols: Tk, values, offset });
  if (!labels) return;
  if (Tq <= MAX_LABELS) queries.forEach((t, i) => shapes.push({ kind: 'text', x: x - 4, y: y + ((i + 0.5) * h) / Tq, text: label(t), anchor: 'end', size: Math.min(11, (h / Tq) * 0.9) }));
  if (Tk <= MAX_LABELS) keys.forEach((t, j) => shapes.push({ kind: 'text', x: x + ((j + 0.5) * w) / Tk, y: y - 4, text: label(t), anchor: 'start', rotate: -60, size: Math.min(11, (w / Tk) * 0.9) }));
  if (Tq > MAX_LABELS) for (const i of niceTicks(0, Tq - 1, 6)) shapes.push({ kind: 'text', x: x - 4, y: y + ((i + 0.5) * h) / Tq, text: String(i), anchor: 'end', size: 9 });
  if (Tk > MAX_LABELS) for (const j of niceTicks(0, Tk - 1, 6)) shapes.push({ kind: 'text', x: x + ((j + 0.5) * w) / Tk, y: y - 6, text: String(j), anchor: 'middle', size: 9 });
}

/** Room for labels on the left and on top of a labelled map. */
function margins(g: { queries: TokenView[]; keys: TokenView[] }): { left: number; top: number } {
  const longest = (ts: TokenView[]) => Math.max(1, ...ts.map((t) => label(t).length));
  return {
    left: g.queries.length <= MAX_LABELS ? 14 + 6.5 * longest(g.queries) : 32,
    top: g.keys.length <= MAX_LABELS ? 24 + 5.6 * longest(g.keys) : 24,
  };
}

/**
 * Every head of layer `layer` of a group, side by side (wrapping after `perRow` heads).
 * Example: `figureSvg(layerFigure(groups[0], 0))`.
 */
export function layerFigure(g: AttentionGroup, layer: number, opts: { perRow?: number; title?: string } = {}): Figure {
  const L = g.layers[layer];
  if (!L) throw new Error(`layer ${layer} is not in the '${g.kind}' group (layers 0..${g.layers.length - 1})`);
  const Tq = g.queries.length;
  const Tk = g.keys.length;
  const s = side(Math.max(Tq, Tk));
  const w = Tk >= Tq ? s : (s * Tk) / Tq;
  const h = Tq >= Tk ? s : (s * Tq) / Tk;
  const { left, top } = margins(g);
  const perRow = Math.min(L.heads, opts.perRow ?? 4);
  const cellW = left + w + 16;
  const cellH = top + h + 28;
  const shapes: Shape[] = [];
  shapes.push({ kind: 'text', x: 10, y: 14, text: opts.title ?? `${g.kind} attention · layer ${layer}`, size: 14, bold: true });
  for (let p = 0; p < L.heads; p++) {
    const x = (p % perRow) * cellW + left;
    const y = 28 + Math.floor(p / perRow) * cellH + top;
    shapes.push({ kind: 'text', x, y: y + h + 14, text: `head ${L.headIds[p]}`, size: 12 });
    labelledMap(shapes, x, y, w, h, L.data, p * Tq * Tk, g.queries, g.keys, true);
  }
  return { width: perRow * cellW + 10, height: 28 + Math.ceil(L.heads / perRow) * cellH, shapes };
}

/** The layer × head overview of a group: one small map per head (blank where a head was pruned). */
export function gridFigure(g: AttentionGroup, layouts?: HeadLayout, opts: { cell?: number; title?: string } = {}): Figure {
  const c = opts.cell ?? 96;
  const Tq = g.queries.length;
  const Tk = g.keys.length;
  const w = Tk >= Tq ? c : (c * Tk) / Tq;
  const h = Tq >= Tk ? c : (c * Tq) / Tk;
  const nHead = layouts?.nHead ?? Math.max(...g.layers.map((l) => Math.max(...l.headIds) + 1));
  const left = 44;
  const top = 44;
  const shapes: Shape[] = [{ kind: 'text', x: 10, y: 14, text: opts.title ?? `${g.kind} attention: layers × heads`, size: 14, bold: true }];
  for (let hd = 0; hd < nHead; hd++) shapes.push({ kind: 'text', x: left + hd * (c + 8) + w / 2, y: top - 10, text: `head ${hd}`, anchor: 'middle' });
  g.layers.forEach((L, l) => {
    const y = top + l * (c + 8);
    shapes.push({ kind: 'text', x: left - 6, y: y + h / 2, text: `L${l}`, anchor: 'end' });
    L.headIds.forEach((id, p) => shapes.push({ kind: 'heatmap', x: left + id * (c + 8), y, w, h, rows: Tq, cols: Tk, values: L.data, offset: p * Tq * Tk }));
  });
  return { width: left + nHead * (c + 8) + 8, height: top + g.layers.length * (c + 8) + 8, shapes };
}

/** One labelled (Tq, Tk) map, e.g. attention rollout. */
export function mapFigure(values: Float32Array, queries: TokenView[], keys: TokenView[], title: string): Figure {
  const Tq = queries.length;
  const Tk = keys.length;
  const s = side(Math.max(Tq, Tk));
  const w = Tk >= Tq ? s : (s * Tk) / Tq;
  const h = Tq >= Tk ? s : (s * Tq) / Tk;
  const { left, top } = margins({ queries, keys });
  const shapes: Shape[] = [{ kind: 'text', x: 10, y: 14, text: title, size: 14, bold: true }];
  labelledMap(shapes, left, 28 + top, w, h, values, 0, queries, keys, true);
  return { width: left + w + 16, height: 28 + top + h + 16, shapes };
}

export const ROLE_COLORS: Record<HeadRole | 'none', string> = {
  'previous-token': '#e6550d',
  'next-token': '#fd8d3c',
  'rare-token': '#31a354',
  'no-op': '#bdbdbd',
  none: '#f7f7f7',
};

const ROLE_SHORT: Record<HeadRole, string> = { 'previous-token': 'prev', 'next-token': 'next', 'rare-token': 'rare', 'no-op': 'no-op' };

/**
 * The roles of every head: layers down, heads across, coloured by the first role found, with the head's
 * numbers (previous-token share, no-op mass, entropy) written in.
 */
export function rolesFigure(stats: readonly HeadStats[], layouts: readonly HeadLayout[], title = 'What each head does'): Figure {
  const cw = 104; // wide enough for the PNG's pixel font too
  const ch = 54;
  const shapes: Shape[] = [{ kind: 'text', x: 10, y: 14, text: title, size: 14, bold: true }];
  let y = 34;
  let width = 0;
  for (const lay of layouts) {
    const mine = stats.filter((s) => s.group === lay.group);
    if (mine.length === 0) continue;
    shapes.push({ kind: 'text', x: 10, y: y + 6, text: `${lay.group} attention`, size: 12, bold: true });
    y += 22;
    const left = 44;
    for (let h = 0; h < lay.nHead; h++) shapes.push({ kind: 'text', x: left + h * cw + cw / 2, y, text: `head ${h}`, anchor: 'middle' });
    y += 12;
    lay.layers.forEach((_, l) => {
      shapes.push({ kind: 'text', x: left - 6, y: y + ch / 2, text: `L${l}`, anchor: 'end' });
      for (let h = 0; h < lay.nHead; h++) {
        const s = mine.find((m) => m.layer === l && m.head === h);
        const x = left + h * cw;
        if (!s) {
          shapes.push({ kind: 'rect', x, y, w: cw - 4, h: ch - 4, fill: '#ffffff', stroke: '#dddddd', title: 'pruned' });
          continue;
        }
        const role = s.roles[0] ?? 'none';
        shapes.push({ kind: 'rect', x, y, w: cw - 4, h: ch - 4, fill: ROLE_COLORS[role], stroke: '#888888', title: `layer ${l} head ${h}: ${s.roles.join(', ') || 'no role found'}` });
        shapes.push({ kind: 'text', x: x + 4, y: y + 10, text: s.roles.map((r) => ROLE_SHORT[r]).join('+') || '—', size: 11, bold: true });
        const pos = s.previousToken !== null ? `prev ${pct(s.previousToken)}` : s.rareToken !== null ? `rare ${pct(s.rareToken)}` : '';
        shapes.push({ kind: 'text', x: x + 4, y: y + 24, text: pos, size: 10 });
        shapes.push({ kind: 'text', x: x + 4, y: y + 37, text: `sink ${pct(s.noop)} · H ${s.entropy.toFixed(1)}`, size: 10 });
      }
      y += ch;
    });
    width = Math.max(width, left + lay.nHead * cw + 10);
    y += 10;
  }
  // Legend
  let lx = 10;
  for (const [role, color] of Object.entries(ROLE_COLORS)) {
    shapes.push({ kind: 'rect', x: lx, y: y + 4, w: 12, h: 12, fill: color, stroke: '#888888' });
    shapes.push({ kind: 'text', x: lx + 16, y: y + 10, text: role === 'none' ? 'no role' : role });
    lx += 24 + 7 * (role === 'none' ? 7 : role.length);
  }
  return { width: Math.max(width, lx + 10), height: y + 26, shapes };
}

const pct = (v: number): string => `${Math.round(v * 100)}%`;

/** Quality against the share of heads removed (least important first), with the full model's ±tolerance band. */
export function pruneFigure(curve: PruneCurve, title = 'Pruning heads, least important first'): Figure {
  const width = 640;
  const height = 400;
  const [left, right, top, bottom] = [64, 20, 36, 48];
  const qs = curve.points.map((p) => p.quality).filter(Number.isFinite);
  const band = Math.abs(curve.baseline) * curve.tolerance;
  const lo = Math.min(...qs, curve.baseline - band);
  const hi = Math.max(...qs, curve.baseline + band);
  const yTicks = niceTicks(lo, hi, 6);
  const y0 = Math.min(lo, yTicks[0]!);
  const y1 = Math.max(hi, yTicks[yTicks.length - 1]!);
  const X = (f: number) => left + f * (width - left - right); // f = share removed
  const Y = (q: number) => top + (1 - (q - y0) / (y1 - y0 || 1)) * (height - top - bottom);
  const shapes: Shape[] = [{ kind: 'text', x: width / 2, y: 16, text: title, anchor: 'middle', size: 14, bold: true }];
  for (const t of yTicks) {
    shapes.push({ kind: 'line', points: [[left, Y(t)], [width - right, Y(t)]], stroke: '#e5e5e5' });
    shapes.push({ kind: 'text', x: left - 6, y: Y(t), text: String(t), anchor: 'end' });
  }
  for (const t of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    shapes.push({ kind: 'line', points: [[X(t), top], [X(t), height - bottom]], stroke: '#e5e5e5' });
    shapes.push({ kind: 'text', x: X(t), y: height - bottom + 14, text: `${Math.round(t * 100)}%`, anchor: 'middle' });
  }
  shapes.push({ kind: 'rect', x: left, y: top, w: width - left - right, h: height - top - bottom, fill: 'none', stroke: '#444444' });
  shapes.push({ kind: 'rect', x: left + 1, y: Y(curve.baseline + band), w: width - left - right - 2, h: Math.max(1, Y(curve.baseline - band) - Y(curve.baseline + band)), fill: '#fdeadb' });
  shapes.push({ kind: 'line', points: [[left, Y(curve.baseline)], [width - right, Y(curve.baseline)]], stroke: '#d94801', dash: '4 3' });
  const pts = curve.points.map((p) => [X(p.removed / curve.totalHeads), Y(p.quality)] as [number, number]);
  shapes.push({ kind: 'line', points: pts, stroke: '#08519c', width: 2 });
  for (const [x, y] of pts) shapes.push({ kind: 'circle', x, y, r: 2.5, fill: '#08519c' });
  const r = curve.removableWithinTolerance;
  shapes.push({ kind: 'line', points: [[X(r / curve.totalHeads), top], [X(r / curve.totalHeads), height - bottom]], stroke: '#31a354', dash: '2 2' });
  shapes.push({ kind: 'text', x: width / 2, y: height - 12, text: `share of heads removed (${curve.totalHeads} heads${curve.iterative ? ', importance recomputed each step' : ''})`, anchor: 'middle' });
  shapes.push({ kind: 'text', x: 14, y: (top + height - bottom) / 2, text: curve.metric.name, anchor: 'middle', rotate: -90 });
  shapes.push({ kind: 'text', x: width - right - 6, y: top + 12, text: `${r} of ${curve.totalHeads} heads removed within ${Math.round(curve.tolerance * 1000) / 10}% of the full model`, anchor: 'end', fill: '#31a354' });
  return { width, height, shapes };
}
