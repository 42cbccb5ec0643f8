// The figures of the attention experiment: line plots (error rate against input length, one line per model)
// and attention heatmaps (output symbols × input symbols). Each figure comes two ways from one layout: an SVG
// document (crisp, with text) and an RGBA raster for cli/png.ts (with text too, drawn in a 5×7 pixel font, so
// the PNG of a heatmap still says which letter is which). Same spirit as src/train/plot.ts (loss curves),
// whose tick rule this reuses.
import { niceTicks } from '../train/plot.js';

export interface Raster {
  width: number;
  height: number;
  rgba: Uint8Array;
}

// -----------------------------------------------------------------------------------------------------------
// A tiny raster canvas: filled rectangles, anti-aliased lines, and text in a 5×7 font.

type RGB = [number, number, number];

function hex(c: string): RGB {
  return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
}

/**
 * 5×7 glyphs (one number per row, 5 bits, high bit = leftmost pixel), the classic LCD character shapes.
 * Lower-case letters are drawn as capitals; anything not here is a hollow box. (src/explain/figure.ts draws its
 * PNG labels with these too.)
 */
export const FONT: Record<string, number[]> = {
  A: [14, 17, 17, 31, 17, 17, 17], B: [30, 17, 17, 30, 17, 17, 30], C: [14, 17, 16, 16, 16, 17, 14], D: [28, 18, 17, 17, 17, 18, 28],
  E: [31, 16, 16, 30, 16, 16, 31], F: [31, 16, 16, 30, 16, 16, 16], G: [14, 17, 16, 23, 17, 17, 15], H: [17, 17, 17, 31, 17, 17, 17],
  I: [14, 4, 4, 4, 4, 4, 14], J: [7, 2, 2, 2, 2, 18, 12], K: [17, 18, 20, 24, 20, 18, 17], L: [16, 16, 16, 16, 16, 16, 31],
  M: [17, 27, 21, 21, 17, 17, 17], N: [17, 17, 25, 21, 19, 17, 17], O: [14, 17, 17, 17, 17, 17, 14], P: [30, 17, 17, 30, 16, 16, 16],
  Q: [14, 17, 17, 17, 21, 18, 13], R: [30, 17, 17, 30, 20, 18, 17], S: [15, 16, 16, 14, 1, 1, 30], T: [31, 4, 4, 4, 4, 4, 4],
  U: [17, 17, 17, 17, 17, 17, 14], V: [17, 17, 17, 17, 17, 10, 4], W: [17, 17, 17, 21, 21, 21, 10], X: [17, 17, 10, 4, 10, 17, 17],
  Y: [17, 17, 17, 10, 4, 4, 4], Z: [31, 1, 2, 4, 8, 16, 31],
  '0': [14, 17, 19, 21, 25, 17, 14], '1': [4, 12, 4, 4, 4, 4, 14], '2': [14, 17, 1, 2, 4, 8, 31], '3': [31, 2, 4, 2, 1, 17, 14],
  '4': [2, 6, 10, 18, 31, 2, 2], '5': [31, 16, 30, 1, 1, 17, 14], '6': [6, 8, 16, 30, 17, 17, 14], '7': [31, 1, 2, 4, 8, 8, 8],
  '8': [14, 17, 17, 14, 17, 17, 14], '9': [14, 17, 17, 15, 1, 2, 12],
  ' ': [0, 0, 0, 0, 0, 0, 0], "'": [4, 4, 8, 0, 0, 0, 0], '.': [0, 0, 0, 0, 0, 12, 12], ',': [0, 0, 0, 0, 12, 4, 8],
  '-': [0, 0, 0, 31, 0, 0, 0], '+': [0, 4, 4, 31, 4, 4, 0], '%': [24, 25, 2, 4, 8, 19, 3], '(': [2, 4, 8, 8, 8, 4, 2],
  ')': [8, 4, 2, 2, 2, 4, 8], '/': [0, 1, 2, 4, 8, 16, 0], ':': [0, 12, 12, 0, 12, 12, 0], '<': [2, 4, 8, 16, 8, 4, 2],
  '>': [8, 4, 2, 1, 2, 4, 8], '_': [0, 0, 0, 0, 0, 0, 31], '=': [0, 0, 31, 0, 31, 0, 0], '·': [0, 0, 0, 12, 12, 0, 0],
  '$': [4, 15, 20, 14, 5, 30, 4], '#': [10, 10, 31, 10, 31, 10, 10],
};
export const BOX = [31, 17, 17, 17, 17, 17, 31];

class Canvas {
  readonly rgba: Uint8Array;
  constructor(readonly width: number, readonly height: number) {
    this.rgba = new Uint8Array(width * height * 4).fill(255);
  }

  /** Blend `color` into pixel (x, y) with opacity a. */
  plot(x: number, y: number, color: RGB, a = 1): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height || a <= 0) return;
    const o = (yi * this.width + xi) * 4;
    for (let c = 0; c < 3; c++) this.rgba[o + c] = Math.round(this.rgba[o + c]! * (1 - a) + color[c]! * a);
  }

  rect(x: number, y: number, w: number, h: number, color: RGB): void {
    for (let yy = Math.round(y); yy < Math.round(y + h); yy++) for (let xx = Math.round(x); xx < Math.round(x + w); xx++) this.plot(xx, yy, color);
  }

  /** A line of the given thickness, sampled twice per pixel with vertical coverage (smooth enough for plots). */
  line(x0: number, y0: number, x1: number, y1: number, color: RGB, thick = 1): void {
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) * 2));
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n;
      const y = y0 + ((y1 - y0) * i) / n;
      for (let d = -thick + 1; d < thick; d++) {
        const fy = y + d * 0.5;
        const frac = fy - Math.floor(fy);
        this.plot(x, Math.floor(fy), color, (1 - frac) * 0.9);
        this.plot(x, Math.floor(fy) + 1, color, frac * 0.9);
      }
    }
  }

  /** Text in the 5×7 font scaled by `scale`; anchor 'start' | 'middle' | 'end' at x, baseline-free: y is the top. */
  text(s: string, x: number, y: number, color: RGB, scale = 1, anchor: 'start' | 'middle' | 'end' = 'start'): void {
    const w = textWidth(s, scale);
    let cx = anchor === 'start' ? x : anchor === 'middle' ? x - w / 2 : x - w;
    for (const ch of s) {
      const g = FONT[ch] ?? FONT[ch.toUpperCase()] ?? BOX;
      for (let r = 0; r < 7; r++) {
        for (let c = 0; c < 5; c++) if ((g[r]! >> (4 - c)) & 1) this.rect(cx + c * scale, y + r * scale, scale, scale, color);
      }
      cx += 6 * scale;
    }
  }

  raster(): Raster {
    return { width: this.width, height: this.height, rgba: this.rgba };
  }
}

/** Width in pixels of a string in the 5×7 font (6 px per character with its gap). */
function textWidth(s: string, scale: number): number {
  return Math.max(0, [...s].length * 6 - 1) * scale;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
}

// -----------------------------------------------------------------------------------------------------------
// Line plots

export interface LineSeries {
  name: string;
  /** [x, y] points; y NaN = no data at that x (the line breaks there). */
  points: Array<[number, number]>;
}

export interface LinePlot {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** y axis range; default [0, the largest y rounded up to a tick]. */
  yMax?: number;
  /** Format of the y tick labels (default: the number). */
  yFormat?: (y: number) => string;
}

const PALETTE = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
const AXIS = '#444444';
const GRID = '#e5e5e5';

interface PlotLayout {
  left: number;
  right: number;
  top: number;
  bottom: number;
  x: (v: number) => number;
  y: (v: number) => number;
  xTicks: number[];
  yTicks: number[];
}

function plotLayout(p: LinePlot, width: number, height: number): PlotLayout {
  const xs = p.series.flatMap((s) => s.points.map((q) => q[0]));
  const ys = p.series.flatMap((s) => s.points.map((q) => q[1])).filter(Number.isFinite);
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const yTop = p.yMax ?? (ys.length ? Math.max(...ys) : 1);
  const yTicks = niceTicks(0, yTop > 0 ? yTop : 1, 5);
  const y1 = Math.max(yTop, yTicks[yTicks.length - 1]!);
  const xTicks = niceTicks(xMin, xMax > xMin ? xMax : xMin + 1, 8);
  const left = 64;
  const right = 170; // room for the legend
  const top = 36;
  const bottom = 48;
  const span = xMax > xMin ? xMax - xMin : 1;
  return {
    left, right, top, bottom, xTicks, yTicks,
    x: (v) => left + ((v - xMin) / span) * (width - left - right),
    y: (v) => top + (1 - Math.min(Math.max(v, 0), y1) / (y1 || 1)) * (height - top - bottom),
  };
}

/** Runs of consecutive finite points (a NaN breaks the line). */
function runs(points: Array<[number, number]>): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = [];
  let cur: Array<[number, number]> = [];
  for (const q of points) {
    if (Number.isFinite(q[1])) cur.push(q);
    else if (cur.length) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The plot as a standalone SVG document. `linePlotSvg({ title, xLabel, yLabel, series })`. */
export function linePlotSvg(p: LinePlot, width = 760, height = 440): string {
  const L = plotLayout(p, width, height);
  const fmt = p.yFormat ?? ((v: number) => String(v));
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  o.push('<rect width="100%" height="100%" fill="white"/>');
  for (const t of L.yTicks) {
    const y = L.y(t).toFixed(1);
    o.push(`<line x1="${L.left}" x2="${width - L.right}" y1="${y}" y2="${y}" stroke="${GRID}"/>`);
    o.push(`<text x="${L.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="${AXIS}">${escapeXml(fmt(t))}</text>`);
  }
  for (const t of L.xTicks) {
    const x = L.x(t).toFixed(1);
    o.push(`<line x1="${x}" x2="${x}" y1="${L.top}" y2="${height - L.bottom}" stroke="${GRID}"/>`);
    o.push(`<text x="${x}" y="${height - L.bottom + 16}" text-anchor="middle" fill="${AXIS}">${t}</text>`);
  }
  o.push(`<rect x="${L.left}" y="${L.top}" width="${width - L.left - L.right}" height="${height - L.top - L.bottom}" fill="none" stroke="${AXIS}"/>`);
  p.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    for (const run of runs(s.points)) {
      const d = run.map(([x, y], k) => `${k ? 'L' : 'M'}${L.x(x).toFixed(1)},${L.y(y).toFixed(1)}`).join('');
      o.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
      for (const [x, y] of run) o.push(`<circle cx="${L.x(x).toFixed(1)}" cy="${L.y(y).toFixed(1)}" r="3" fill="${color}"/>`);
    }
    const ly = L.top + 8 + i * 20;
    o.push(`<line x1="${width - L.right + 14}" x2="${width - L.right + 38}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    o.push(`<text x="${width - L.right + 44}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  o.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(p.title)}</text>`);
  o.push(`<text x="${(L.left + width - L.right) / 2}" y="${height - 10}" text-anchor="middle" fill="${AXIS}">${escapeXml(p.xLabel)}</text>`);
  o.push(`<text transform="translate(16 ${(L.top + height - L.bottom) / 2}) rotate(-90)" text-anchor="middle" fill="${AXIS}">${escapeXml(p.yLabel)}</text>`);
  o.push('</svg>');
  return o.join('\n');
}

/** The same plot as an RGBA raster (for PNG): `const { width, height, rgba } = linePlotRaster(plot)`. */
export function linePlotRaster(p: LinePlot, width = 760, height = 440): Raster {
  const L = plotLayout(p, width, height);
  const fmt = p.yFormat ?? ((v: number) => String(v));
  const cv = new Canvas(width, height);
  const axis = hex(AXIS);
  for (const t of L.yTicks) {
    cv.line(L.left, L.y(t), width - L.right, L.y(t), hex(GRID));
    cv.text(fmt(t), L.left - 6, L.y(t) - 3, axis, 1, 'end');
  }
  for (const t of L.xTicks) {
    cv.line(L.x(t), L.top, L.x(t), height - L.bottom, hex(GRID));
    cv.text(String(t), L.x(t), height - L.bottom + 8, axis, 1, 'middle');
  }
  const [x0, x1, y0, y1] = [L.left, width - L.right, L.top, height - L.bottom];
  for (const [a, b, c, d] of [[x0, y0, x1, y0], [x0, y1, x1, y1], [x0, y0, x0, y1], [x1, y0, x1, y1]] as const) cv.line(a, b, c, d, axis);
  p.series.forEach((s, i) => {
    const color = hex(PALETTE[i % PALETTE.length]!);
    for (const run of runs(s.points)) {
      for (let k = 1; k < run.length; k++) cv.line(L.x(run[k - 1]![0]), L.y(run[k - 1]![1]), L.x(run[k]![0]), L.y(run[k]![1]), color, 2);
      for (const [x, y] of run) cv.rect(L.x(x) - 2, L.y(y) - 2, 5, 5, color);
    }
    const ly = L.top + 8 + i * 20;
    cv.line(width - L.right + 14, ly, width - L.right + 38, ly, color, 2);
    cv.text(s.name, width - L.right + 44, ly - 3, [0, 0, 0]);
  });
  const big = textWidth(p.title, 2) <= width - 16 ? 2 : 1; // the title at double size when it fits
  cv.text(p.title, width / 2, big === 2 ? 6 : 10, [0, 0, 0], big, 'middle');
  cv.text(p.xLabel, (L.left + width - L.right) / 2, height - 18, axis, 1, 'middle');
  cv.text(p.yLabel, 4, L.top - 12, axis);
  return cv.raster();
}

// -----------------------------------------------------------------------------------------------------------
// Heatmaps

export interface Heatmap {
  title: string;
  /** Labels of the rows, top to bottom (the output symbols). */
  rows: string[];
  /** Labels of the columns, left to right (the input symbols). */
  cols: string[];
  /** rows × cols values in [0, 1] (attention weights), row-major. */
  values: Float32Array;
}

/** White (0) to dark blue (1). */
function shade(v: number): RGB {
  const t = Math.min(1, Math.max(0, v));
  return [Math.round(255 - t * (255 - 8)), Math.round(255 - t * (255 - 48)), Math.round(255 - t * (255 - 107))];
}

function heatLayout(h: Heatmap, cell: number): { left: number; top: number; width: number; height: number } {
  if (h.values.length !== h.rows.length * h.cols.length) {
    throw new Error(`heatmap '${h.title}': ${h.values.length} values for ${h.rows.length} rows × ${h.cols.length} columns`);
  }
  const rowLabel = Math.max(4, ...h.rows.map((r) => r.length));
  const left = 16 + rowLabel * 8;
  const top = 56;
  return { left, top, width: Math.max(left + h.cols.length * cell + 16, textWidth(h.title, 2) + 32), height: top + h.rows.length * cell + 16 };
}

/**
 * An attention heatmap as SVG: one square per (output, input) pair, darker = more weight.
 * `heatmapSvg({ title: 'knight', rows: ['N', 'AY', 'T'], cols: [...'knight'], values })`. Values outside [0, 1]
 * are clamped.
 */
export function heatmapSvg(h: Heatmap, cell = 24): string {
  const L = heatLayout(h, cell);
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}" viewBox="0 0 ${L.width} ${L.height}" font-family="monospace" font-size="13">`);
  o.push('<rect width="100%" height="100%" fill="white"/>');
  o.push(`<text x="${L.width / 2}" y="20" text-anchor="middle" font-family="sans-serif" font-size="14">${escapeXml(h.title)}</text>`);
  h.cols.forEach((c, j) => o.push(`<text x="${L.left + j * cell + cell / 2}" y="${L.top - 8}" text-anchor="middle">${escapeXml(c)}</text>`));
  h.rows.forEach((r, i) => {
    o.push(`<text x="${L.left - 6}" y="${L.top + i * cell + cell / 2}" text-anchor="end" dominant-baseline="middle">${escapeXml(r)}</text>`);
    h.cols.forEach((_, j) => {
      const [R, G, B] = shade(h.values[i * h.cols.length + j]!);
      o.push(`<rect x="${L.left + j * cell}" y="${L.top + i * cell}" width="${cell}" height="${cell}" fill="rgb(${R},${G},${B})"/>`);
    });
  });
  o.push(`<rect x="${L.left}" y="${L.top}" width="${h.cols.length * cell}" height="${h.rows.length * cell}" fill="none" stroke="${AXIS}"/>`);
  o.push('</svg>');
  return o.join('\n');
}

/** The same heatmap as an RGBA raster (for PNG), labels in the pixel font: `heatmapRaster(h, 24)`. */
export function heatmapRaster(h: Heatmap, cell = 24): Raster {
  const L = heatLayout(h, cell);
  const cv = new Canvas(L.width, L.height);
  cv.text(h.title, L.width / 2, 8, [0, 0, 0], 2, 'middle');
  h.cols.forEach((c, j) => cv.text(c, L.left + j * cell + cell / 2, L.top - 18, [0, 0, 0], 2, 'middle'));
  h.rows.forEach((r, i) => {
    cv.text(r, L.left - 6, L.top + i * cell + cell / 2 - 7, [0, 0, 0], 2, 'end');
    h.cols.forEach((_, j) => cv.rect(L.left + j * cell, L.top + i * cell, cell, cell, shade(h.values[i * h.cols.length + j]!)));
  });
  const [x0, x1, y0, y1] = [L.left, L.left + h.cols.length * cell, L.top, L.top + h.rows.length * cell];
  for (const [a, b, c, d] of [[x0, y0, x1, y0], [x0, y1, x1, y1], [x0, y0, x0, y1], [x1, y0, x1, y1]] as const) cv.line(a, b, c, d, hex(AXIS));
  return cv.raster();
}
