// Figures as a list of shapes, drawn two ways from the one layout (as src/train/plot.ts does for the loss curve):
// an SVG document (with text) and an RGBA raster that src/io/png.ts encodes as PNG, its labels in the 5×7 pixel
// font of the attention experiment's figures (src/experiments/plots.ts): capitals only, a box for any character
// the font lacks, and no labels smaller than the font (a map's token labels when there are many tokens).
//
// A heatmap is a shape of its own: rows × cols values in [0, 1], white (0) to deep blue (1) through a square
// root, so small weights stay visible without hiding the large ones (the playground's colours). In the SVG it is
// an embedded PNG of one pixel per cell, scaled with pixelated rendering, so a 512 × 512 map is a few KB
// instead of a quarter of a million rectangles. In the raster a pixel covering several cells shows their
// maximum, so a sharp attention peak survives downscaling.
//
// Node only (PNG encoding uses node:zlib).
import { encodePng } from '../io/png.js';
import { BOX, FONT } from '../experiments/plots.js';

export type Shape =
  | { kind: 'rect'; x: number; y: number; w: number; h: number; fill: string; stroke?: string; title?: string }
  | { kind: 'heatmap'; x: number; y: number; w: number; h: number; rows: number; cols: number; values: Float32Array; offset?: number }
  | { kind: 'line'; points: Array<[number, number]>; stroke: string; width?: number; dash?: string }
  | { kind: 'circle'; x: number; y: number; r: number; fill: string }
  | { kind: 'text'; x: number; y: number; text: string; size?: number; anchor?: 'start' | 'middle' | 'end'; rotate?: number; fill?: string; bold?: boolean };

export interface Figure {
  width: number;
  height: number;
  shapes: Shape[];
}

/** The heatmap colour of a weight w in [0, 1]: white → deep blue, through √w. */
export function heatColor(w: number): [number, number, number] {
  const t = Math.sqrt(Math.max(0, Math.min(1, w)));
  return [Math.round(255 - 215 * t), Math.round(255 - 180 * t), Math.round(255 - 60 * t)];
}

/** The figure as a standalone SVG document. */
export function figureSvg(fig: Figure): string {
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${fig.width}" height="${fig.height}" viewBox="0 0 ${fig.width} ${fig.height}" font-family="sans-serif" font-size="11">`);
  out.push('<rect width="100%" height="100%" fill="white"/>');
  for (const s of fig.shapes) {
    switch (s.kind) {
      case 'rect':
        out.push(`<rect x="${r1(s.x)}" y="${r1(s.y)}" width="${r1(s.w)}" height="${r1(s.h)}" fill="${s.fill}"${s.stroke ? ` stroke="${s.stroke}"` : ''}>${s.title ? `<title>${esc(s.title)}</title>` : ''}</rect>`);
        break;
      case 'heatmap': {
        const png = Buffer.from(encodePng(s.cols, s.rows, heatmapPixels(s.values, s.offset ?? 0, s.rows, s.cols))).toString('base64');
        out.push(`<image x="${r1(s.x)}" y="${r1(s.y)}" width="${r1(s.w)}" height="${r1(s.h)}" preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,${png}"/>`);
        out.push(`<rect x="${r1(s.x)}" y="${r1(s.y)}" width="${r1(s.w)}" height="${r1(s.h)}" fill="none" stroke="#999"/>`);
        break;
      }
      case 'line':
        out.push(`<polyline points="${s.points.map(([x, y]) => `${r1(x)},${r1(y)}`).join(' ')}" fill="none" stroke="${s.stroke}" stroke-width="${s.width ?? 1}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
        break;
      case 'circle':
        out.push(`<circle cx="${r1(s.x)}" cy="${r1(s.y)}" r="${s.r}" fill="${s.fill}"/>`);
        break;
      case 'text': {
        const rot = s.rotate ? ` transform="rotate(${s.rotate} ${r1(s.x)} ${r1(s.y)})"` : '';
        out.push(`<text x="${r1(s.x)}" y="${r1(s.y)}"${s.size ? ` font-size="${s.size}"` : ''}${s.anchor ? ` text-anchor="${s.anchor}"` : ''}${s.fill ? ` fill="${s.fill}"` : ''}${s.bold ? ' font-weight="bold"' : ''} dominant-baseline="middle"${rot} xml:space="preserve">${esc(s.text)}</text>`);
        break;
      }
    }
  }
  out.push('</svg>');
  return out.join('\n');
}

/** The figure as RGBA pixels, text in the pixel font. */
export function figureRaster(fig: Figure): { width: number; height: number; rgba: Uint8Array } {
  const W = Math.ceil(fig.width);
  const H = Math.ceil(fig.height);
  const rgba = new Uint8Array(W * H * 4).fill(255);
  const put = (x: number, y: number, [r, g, b]: [number, number, number], a = 1): void => {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    const o = (y * W + x) * 4;
    rgba[o] = Math.round(rgba[o]! * (1 - a) + r * a);
    rgba[o + 1] = Math.round(rgba[o + 1]! * (1 - a) + g * a);
    rgba[o + 2] = Math.round(rgba[o + 2]! * (1 - a) + b * a);
  };
  const fillRect = (x0: number, y0: number, w: number, h: number, c: [number, number, number]): void => {
    for (let y = Math.round(y0); y < Math.round(y0 + h); y++) for (let x = Math.round(x0); x < Math.round(x0 + w); x++) put(x, y, c);
  };
  const segment = (x0: number, y0: number, x1: number, y1: number, c: [number, number, number], width: number): void => {
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) * 2));
    const half = Math.max(0, (width - 1) / 2);
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n;
      const y = y0 + ((y1 - y0) * i) / n;
      for (let dy = -half; dy <= half; dy += 0.5) put(Math.round(x), Math.round(y + dy), c, 0.9);
    }
  };
  for (const s of fig.shapes) {
    if (s.kind === 'rect') {
      if (s.fill !== 'none') fillRect(s.x, s.y, s.w, s.h, hex(s.fill));
      if (s.stroke) outline(s.x, s.y, s.w, s.h, hex(s.stroke));
    } else if (s.kind === 'heatmap') {
      const x0 = Math.round(s.x);
      const y0 = Math.round(s.y);
      const w = Math.max(1, Math.round(s.w));
      const h = Math.max(1, Math.round(s.h));
      const off = s.offset ?? 0;
      for (let py = 0; py < h; py++) {
        // The cells this pixel covers (at least one): show their maximum.
        const q0 = Math.floor((py * s.rows) / h);
        const q1 = Math.max(q0 + 1, Math.floor(((py + 1) * s.rows) / h));
        for (let px = 0; px < w; px++) {
          const k0 = Math.floor((px * s.cols) / w);
          const k1 = Math.max(k0 + 1, Math.floor(((px + 1) * s.cols) / w));
          let m = 0;
          for (let q = q0; q < q1; q++) for (let k = k0; k < k1; k++) m = Math.max(m, s.values[off + q * s.cols + k]!);
          put(x0 + px, y0 + py, heatColor(m));
        }
      }
      outline(s.x, s.y, s.w, s.h, [153, 153, 153]);
    } else if (s.kind === 'line') {
      for (let i = 1; i < s.points.length; i++) segment(s.points[i - 1]![0], s.points[i - 1]![1], s.points[i]![0], s.points[i]![1], hex(s.stroke), s.width ?? 1);
    } else if (s.kind === 'circle') {
      for (let dy = -s.r; dy <= s.r; dy++) for (let dx = -s.r; dx <= s.r; dx++) if (dx * dx + dy * dy <= s.r * s.r) put(Math.round(s.x + dx), Math.round(s.y + dy), hex(s.fill));
    } else if (s.kind === 'text') {
      text(s);
    }
  }
  return { width: W, height: H, rgba };

  /**
   * A label in the 5×7 font, 1 pixel per font pixel up to font-size 13 and 2 from 14, placed as the SVG places
   * it: anchored at x (start, middle, end), centred on y, turned by `rotate` degrees about (x, y).
   */
  function text(s: Extract<Shape, { kind: 'text' }>): void {
    const size = s.size ?? 11;
    if (size < 6) return; // smaller than the font: the SVG has it
    const k = size >= 14 ? 2 : 1;
    const chars = [...s.text.replace(/␣/g, '_').replace(/[—–]/g, '-')];
    const width = (chars.length * 6 - 1) * k;
    const left = s.anchor === 'middle' ? -width / 2 : s.anchor === 'end' ? -width : 0;
    const a = ((s.rotate ?? 0) * Math.PI) / 180;
    const [cos, sin] = [Math.cos(a), Math.sin(a)];
    const color = s.fill ? hex(s.fill) : ([0, 0, 0] as [number, number, number]);
    chars.forEach((ch, i) => {
      const g = FONT[ch] ?? FONT[ch.toUpperCase()] ?? BOX;
      for (let r = 0; r < 7; r++) {
        for (let c = 0; c < 5; c++) {
          if (!((g[r]! >> (4 - c)) & 1)) continue;
          for (let dy = 0; dy < k; dy++) {
            for (let dx = 0; dx < k; dx++) {
              const lx = left + (i * 6 + c) * k + dx; // along the text
              const ly = r * k + dy - 3.5 * k; // across it, centred
              put(Math.round(s.x + lx * cos - ly * sin), Math.round(s.y + lx * sin + ly * cos), color);
            }
          }
        }
      }
    });
  }

  function outline(x: number, y: number, w: number, h: number, c: [number, number, number]): void {
    const [x0, y0, x1, y1] = [Math.round(x), Math.round(y), Math.round(x + w) - 1, Math.round(y + h) - 1];
    for (let xx = x0; xx <= x1; xx++) {
      put(xx, y0, c);
      put(xx, y1, c);
    }
    for (let yy = y0; yy <= y1; yy++) {
      put(x0, yy, c);
      put(x1, yy, c);
    }
  }
}

/** PNG bytes of a figure (its raster). */
export function figurePng(fig: Figure): Uint8Array {
  const r = figureRaster(fig);
  return encodePng(r.width, r.height, r.rgba);
}

/** One pixel per cell: RGBA of a rows × cols map. */
function heatmapPixels(values: Float32Array, offset: number, rows: number, cols: number): Uint8Array {
  const px = new Uint8Array(rows * cols * 4);
  for (let i = 0; i < rows * cols; i++) {
    const [r, g, b] = heatColor(values[offset + i]!);
    px.set([r, g, b, 255], i * 4);
  }
  return px;
}

function hex(c: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c);
  if (!m) throw new Error(`figure colours are #rrggbb, got '${c}'`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

const r1 = (v: number): string => (Math.round(v * 10) / 10).toString();

export function esc(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
}
