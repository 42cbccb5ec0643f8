// The loss curve: training loss (light, raw; dark, smoothed) and validation loss (points) against the step.
// Two outputs from one layout: an SVG string (crisp, small) and an RGBA raster that cli/png.ts encodes as PNG
// (for viewers that do not show SVG). The layout — axes, ticks, scales — is computed once by `layout`.

export interface LossSeries {
  train: Array<[number, number]>; // [step, loss]
  val: Array<[number, number]>; // [step, loss]
}

interface Layout {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  x: (step: number) => number;
  y: (loss: number) => number;
  xTicks: number[];
  yTicks: number[];
  smooth: Array<[number, number]>;
}

/** "Nice" tick values (1, 2, 5 × 10^k) covering [lo, hi] with about `count` ticks. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toFixed(10)));
  return ticks;
}

/** Exponential moving average with bias correction (as TensorBoard's smoothing). */
export function smoothSeries(points: Array<[number, number]>, alpha = 0.9): Array<[number, number]> {
  let m = 0;
  return points.map(([s, v], i) => {
    m = alpha * m + (1 - alpha) * v;
    return [s, m / (1 - alpha ** (i + 1))];
  });
}

function layout(series: LossSeries, width: number, height: number): Layout {
  const all = [...series.train, ...series.val];
  const steps = all.map((p) => p[0]);
  const losses = all.map((p) => p[1]).filter(Number.isFinite);
  const xMax = Math.max(1, ...steps);
  // Start the y axis at the lowest loss seen (not 0) so the interesting part of the curve fills the plot,
  // and cap it at the 98th percentile so the first few huge losses do not flatten everything else.
  const sorted = [...losses].sort((a, b) => a - b);
  const yLo = sorted.length ? sorted[0]! : 0;
  const yHi = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.98))]! : 1;
  const yTicks = niceTicks(Math.floor(yLo * 10) / 10, yHi > yLo ? yHi : yLo + 1, 6);
  const xTicks = niceTicks(0, xMax, 6);
  const y0 = Math.min(yLo, yTicks[0]!);
  const y1 = Math.max(yHi, yTicks[yTicks.length - 1]!);
  const left = 56;
  const right = 16;
  const top = 28;
  const bottom = 40;
  return {
    width,
    height,
    left,
    right,
    top,
    bottom,
    x: (s) => left + (s / xMax) * (width - left - right),
    y: (l) => top + (1 - (Math.min(Math.max(l, y0), y1) - y0) / (y1 - y0 || 1)) * (height - top - bottom),
    xTicks,
    yTicks,
    smooth: smoothSeries(series.train),
  };
}

const COLORS = { raw: '#9ecae1', smooth: '#08519c', val: '#d94801', axis: '#444444', grid: '#e5e5e5' };

/** The plot as a standalone SVG document. */
export function lossCurveSvg(series: LossSeries, title = 'loss', width = 720, height = 420): string {
  const L = layout(series, width, height);
  const path = (pts: Array<[number, number]>) => pts.map(([s, v], i) => `${i ? 'L' : 'M'}${L.x(s).toFixed(1)},${L.y(v).toFixed(1)}`).join('');
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  for (const t of L.yTicks) {
    const y = L.y(t).toFixed(1);
    out.push(`<line x1="${L.left}" x2="${width - L.right}" y1="${y}" y2="${y}" stroke="${COLORS.grid}"/>`);
    out.push(`<text x="${L.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="${COLORS.axis}">${t}</text>`);
  }
  for (const t of L.xTicks) {
    const x = L.x(t).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${L.top}" y2="${height - L.bottom}" stroke="${COLORS.grid}"/>`);
    out.push(`<text x="${x}" y="${height - L.bottom + 16}" text-anchor="middle" fill="${COLORS.axis}">${t}</text>`);
  }
  out.push(`<rect x="${L.left}" y="${L.top}" width="${width - L.left - L.right}" height="${height - L.top - L.bottom}" fill="none" stroke="${COLORS.axis}"/>`);
  if (series.train.length) {
    out.push(`<path d="${path(series.train)}" fill="none" stroke="${COLORS.raw}" stroke-width="1"/>`);
    out.push(`<path d="${path(L.smooth)}" fill="none" stroke="${COLORS.smooth}" stroke-width="2"/>`);
  }
  if (series.val.length) {
    out.push(`<path d="${path(series.val)}" fill="none" stroke="${COLORS.val}" stroke-width="1.5" stroke-dasharray="4 3"/>`);
    for (const [s, v] of series.val) out.push(`<circle cx="${L.x(s).toFixed(1)}" cy="${L.y(v).toFixed(1)}" r="3.5" fill="${COLORS.val}"/>`);
  }
  out.push(`<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`);
  out.push(`<text x="${width / 2}" y="${height - 6}" text-anchor="middle" fill="${COLORS.axis}">step</text>`);
  out.push(`<text x="${width - L.right - 4}" y="${L.top + 16}" text-anchor="end" fill="${COLORS.smooth}">train (smoothed)</text>`);
  out.push(`<text x="${width - L.right - 4}" y="${L.top + 32}" text-anchor="end" fill="${COLORS.val}">validation</text>`);
  out.push('</svg>');
  return out.join('\n');
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/**
 * The same plot as an RGBA raster (no text: PNG viewers get the curves, grid and points; the SVG has labels).
 * Lines are drawn with Xiaolin Wu-style coverage so they are not jagged.
 */
export function lossCurveRaster(series: LossSeries, width = 720, height = 420): { width: number; height: number; rgba: Uint8Array } {
  const L = layout(series, width, height);
  const rgba = new Uint8Array(width * height * 4).fill(255);
  const hex = (c: string): [number, number, number] => [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
  const plot = (x: number, y: number, color: [number, number, number], a: number) => {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= width || yi >= height || a <= 0) return;
    const o = (yi * width + xi) * 4;
    for (let c = 0; c < 3; c++) rgba[o + c] = Math.round(rgba[o + c]! * (1 - a) + color[c]! * a);
  };
  const line = (x0: number, y0: number, x1: number, y1: number, color: [number, number, number], thick = 1) => {
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) * 2));
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n;
      const y = y0 + ((y1 - y0) * i) / n;
      for (let dy = -thick + 1; dy < thick; dy++) {
        const fy = y + dy * 0.5;
        const frac = fy - Math.floor(fy);
        plot(x, Math.floor(fy), color, (1 - frac) * 0.9);
        plot(x, Math.floor(fy) + 1, color, frac * 0.9);
      }
    }
  };
  const poly = (pts: Array<[number, number]>, color: string, thick: number) => {
    for (let i = 1; i < pts.length; i++) line(L.x(pts[i - 1]![0]), L.y(pts[i - 1]![1]), L.x(pts[i]![0]), L.y(pts[i]![1]), hex(color), thick);
  };
  for (const t of L.yTicks) line(L.left, L.y(t), width - L.right, L.y(t), hex(COLORS.grid));
  for (const t of L.xTicks) line(L.x(t), L.top, L.x(t), height - L.bottom, hex(COLORS.grid));
  const [x0, x1, y0, y1] = [L.left, width - L.right, L.top, height - L.bottom];
  for (const [a, b, c, d] of [[x0, y0, x1, y0], [x0, y1, x1, y1], [x0, y0, x0, y1], [x1, y0, x1, y1]] as const) line(a, b, c, d, hex(COLORS.axis));
  poly(series.train, COLORS.raw, 1);
  poly(L.smooth, COLORS.smooth, 2);
  poly(series.val, COLORS.val, 2);
  for (const [s, v] of series.val) {
    for (let dy = -3; dy <= 3; dy++) for (let dx = -3; dx <= 3; dx++) if (dx * dx + dy * dy <= 10) plot(L.x(s) + dx, L.y(v) + dy, hex(COLORS.val), 1);
  }
  return { width, height, rgba };
}
