// The explain viewer: the interactive part of `attn explain`'s report, and the playground's head view.
//
//   renderExplainReport(root, data)   the report page: one tab per attention group (self / encoder / decoder /
//                                     cross / alignments) with the layer × head grid, one head at full size,
//                                     the head view and attention rollout
//   renderHeadView(box, view)         bertviz-style: tokens in two columns, a line from each query to each key
//                                     it attends to, as opaque as the weight; hover a token to see only its lines
//
// The report inlines this file's compiled JavaScript (no network), so it imports nothing at run time: the
// import below is types only. The playground's Attention tab (web/app.ts) bundles it and calls
// renderExplainReport on the data its engine worker builds. Either page may draw again into the same root, so
// the viewer replaces what it drew and keeps one tooltip and one copy of its styles per document. Its styles
// live here (scoped to .explain) so both pages look the same; colours are white → deep blue through √w.
import type { ReportData, ReportGroup } from '../src/explain/report_data.js';

const VIEWER_CSS = `
.explain [hidden] { display: none; }
.explain .hint { color: #666; }
.explain .tabs button { font: inherit; padding: 4px 12px; margin-right: 4px; border: 1px solid #aaa; background: #f4f4f4; cursor: pointer; }
.explain .tabs button.on { background: #08519c; color: white; border-color: #08519c; }
.explain .grid { display: grid; gap: 6px; align-items: center; justify-content: start; overflow: auto; max-height: 70vh; }
.explain .lmap { display: grid; grid-template-columns: auto auto; justify-content: start; }
.explain .qlabels div { text-align: right; padding-right: 4px; white-space: pre; }
.explain .klabels { display: flex; align-items: flex-end; height: 7em; } .explain .klabels div { position: relative; height: 100%; }
.explain .klabels span { position: absolute; bottom: 2px; left: 50%; transform-origin: 0 50%; transform: rotate(-60deg); white-space: pre; }
.explain .grid .hd { font-size: 12px; color: #555; text-align: center; }
.explain .grid .pruned { font-size: 11px; color: #aaa; text-align: center; }
.explain canvas.heat { image-rendering: pixelated; border: 1px solid #999; cursor: pointer; }
.explain canvas.heat.sel { outline: 3px solid #e6550d; }
.explain .scroll { overflow: auto; max-width: 100%; max-height: 80vh; }
.explain-tip { position: absolute; z-index: 10; background: #222; color: #fff; padding: 3px 6px; font: 12px monospace; border-radius: 3px; pointer-events: none; white-space: pre; }
.explain .hv-controls label { margin-right: 12px; } .explain .hv-svg { overflow: auto; max-height: 80vh; }
.explain svg.headview text { font: 13px monospace; cursor: default; } .explain svg.headview text:hover { font-weight: bold; }
`;

const HEAD_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

/** One layer's maps for the head view: (H, Tq, Tk) row-major. */
export interface HeadViewData {
  queries: string[];
  keys: string[];
  heads: number;
  headIds?: number[];
  map: Float32Array;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function svgEl(tag: string, attrs: Record<string, string | number>): SVGElement {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function decode(b64: string): Float32Array {
  const bin = atob(b64);
  const out = new Float32Array(bin.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8)) / 65535;
  return out;
}

function color(w: number): [number, number, number] {
  const t = Math.sqrt(Math.max(0, Math.min(1, w)));
  return [Math.round(255 - 215 * t), Math.round(255 - 180 * t), Math.round(255 - 60 * t)];
}

/** A (rows × cols) map drawn one pixel per cell and scaled up without smoothing, so any size stays cheap. */
function heatmapCanvas(values: Float32Array, offset: number, rows: number, cols: number, cell: number): HTMLCanvasElement {
  const c = el('canvas', { class: 'heat' });
  c.width = cols;
  c.height = rows;
  c.style.width = `${cols * cell}px`;
  c.style.height = `${rows * cell}px`;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const [r, g, b] = color(values[offset + i]!);
    img.data[4 * i] = r;
    img.data[4 * i + 1] = g;
    img.data[4 * i + 2] = b;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

/**
 * A map with its token labels (queries down the left, keys along the top) when rows are tall enough to read,
 * else the bare map; the tooltip names the cell under the mouse either way.
 */
function labelledHeatmap(values: Float32Array, offset: number, rows: string[], cols: string[], cell: number, tip: HTMLElement): HTMLElement {
  const c = heatmapCanvas(values, offset, rows.length, cols.length, cell);
  hoverCells(c, rows, cols, values, offset, tip);
  if (cell < 10) return el('div', { class: 'scroll' }, c);
  const font = `${Math.min(12, cell - 2)}px monospace`;
  const left = el('div', { class: 'qlabels', style: `font:${font}` }, ...rows.map((t) => el('div', { style: `height:${cell}px;line-height:${cell}px` }, t)));
  const top = el('div', { class: 'klabels', style: `font:${font}` }, ...cols.map((t) => el('div', { style: `width:${cell}px` }, el('span', {}, t))));
  return el('div', { class: 'scroll' }, el('div', { class: 'lmap' }, el('div', {}), top, left, c));
}

/** Tooltip for a map: which query, which key, what weight, under the mouse. */
function hoverCells(c: HTMLCanvasElement, rows: string[], cols: string[], values: Float32Array, offset: number, tip: HTMLElement): void {
  c.addEventListener('mousemove', (e) => {
    const r = c.getBoundingClientRect();
    const k = Math.floor(((e.clientX - r.left) / r.width) * cols.length);
    const q = Math.floor(((e.clientY - r.top) / r.height) * rows.length);
    if (q < 0 || q >= rows.length || k < 0 || k >= cols.length) return void (tip.hidden = true);
    tip.hidden = false;
    tip.textContent = `${q}: ${JSON.stringify(rows[q])} → ${k}: ${JSON.stringify(cols[k])}   ${values[offset + q * cols.length + k]!.toFixed(4)}`;
    tip.style.left = `${e.pageX + 12}px`;
    tip.style.top = `${e.pageY + 12}px`;
  });
  c.addEventListener('mouseleave', () => (tip.hidden = true));
}

/**
 * The head view of one layer into `box` (replacing its content). Long inputs show a window of `windowSize`
 * tokens per side, moved with sliders.
 */
export function renderHeadView(box: HTMLElement, view: HeadViewData, opts: { windowSize?: number } = {}): void {
  box.replaceChildren();
  const Tq = view.queries.length;
  const Tk = view.keys.length;
  if (view.map.length !== view.heads * Tq * Tk) throw new Error(`head view: ${view.map.length} weights, expected ${view.heads} × ${Tq} × ${Tk}`);
  const W = opts.windowSize ?? 48;
  const on = new Array<boolean>(view.heads).fill(true);
  let q0 = 0;
  let k0 = 0;
  const controls = el('div', { class: 'hv-controls' });
  for (let h = 0; h < view.heads; h++) {
    const cb = el('input', { type: 'checkbox', checked: '' });
    cb.addEventListener('change', () => {
      on[h] = cb.checked;
      draw();
    });
    const name = `head ${view.headIds?.[h] ?? h}`;
    controls.append(el('label', { style: `color:${HEAD_COLORS[h % HEAD_COLORS.length]}` }, cb, name));
  }
  const slider = (n: number, set: (v: number) => void, what: string): void => {
    if (n <= W) return;
    const s = el('input', { type: 'range', min: '0', max: String(n - W), value: '0' });
    s.addEventListener('input', () => {
      set(Number(s.value));
      draw();
    });
    controls.append(el('label', {}, `${what} from `, s));
  };
  slider(Tq, (v) => (q0 = v), 'queries');
  if (view.keys !== view.queries) slider(Tk, (v) => (k0 = v), 'keys');
  else if (Tk > W) k0 = -1; // self-attention: keys follow the query window
  const svgBox = el('div', { class: 'hv-svg' });
  box.append(controls, svgBox);

  function draw(): void {
    const keyStart = k0 < 0 ? q0 : k0;
    const qs = Array.from({ length: Math.min(W, Tq - q0) }, (_, i) => q0 + i);
    const ks = Array.from({ length: Math.min(W, Tk - keyStart) }, (_, i) => keyStart + i);
    const rowH = 18;
    const colW = 150;
    const gap = 160;
    const height = Math.max(qs.length, ks.length) * rowH + 10;
    const svg = svgEl('svg', { width: 2 * colW + gap, height, class: 'headview' });
    const lines = svgEl('g', {});
    svg.append(lines);
    const qText = qs.map((q, i) => {
      const t = svgEl('text', { x: colW - 6, y: i * rowH + 14, 'text-anchor': 'end' });
      t.textContent = view.queries[q]!;
      svg.append(t);
      return t;
    });
    const kText = ks.map((k, j) => {
      const t = svgEl('text', { x: colW + gap + 6, y: j * rowH + 14 });
      t.textContent = view.keys[k]!;
      svg.append(t);
      return t;
    });
    const show = (onlyQ: number | null, onlyK: number | null): void => {
      lines.replaceChildren();
      for (let h = 0; h < view.heads; h++) {
        if (!on[h]) continue;
        for (let i = 0; i < qs.length; i++) {
          if (onlyQ !== null && onlyQ !== i) continue;
          for (let j = 0; j < ks.length; j++) {
            if (onlyK !== null && onlyK !== j) continue;
            const w = view.map[(h * Tq + qs[i]!) * Tk + ks[j]!]!;
            if (w < 0.01) continue;
            const scale = onlyQ === null && onlyK === null ? 0.5 : 1;
            lines.append(svgEl('line', { x1: colW, y1: i * rowH + 10, x2: colW + gap, y2: j * rowH + 10, stroke: HEAD_COLORS[h % HEAD_COLORS.length]!, 'stroke-width': 2, 'stroke-opacity': (w * scale).toFixed(3) }));
          }
        }
      }
    };
    qText.forEach((t, i) => {
      t.addEventListener('mouseenter', () => show(i, null));
      t.addEventListener('mouseleave', () => show(null, null));
    });
    kText.forEach((t, j) => {
      t.addEventListener('mouseenter', () => show(null, j));
      t.addEventListener('mouseleave', () => show(null, null));
    });
    show(null, null);
    svgBox.replaceChildren(svg);
  }
  draw();
}

/** The viewer's styles and its one tooltip, added to the document on first use. */
function pageParts(): HTMLElement {
  if (!document.getElementById('explain-view-style')) document.head.append(el('style', { id: 'explain-view-style' }, VIEWER_CSS));
  let tip = document.querySelector<HTMLElement>('body > .explain-tip');
  if (!tip) {
    tip = el('div', { class: 'explain-tip' });
    tip.hidden = true;
    document.body.append(tip);
  }
  return tip;
}

/** The report's maps into `root` (replacing what was there), from the embedded data. */
export function renderExplainReport(root: HTMLElement, data: ReportData): void {
  const tip = pageParts();
  root.classList.add('explain');
  const tabs = el('nav', { class: 'tabs' });
  const panel = el('div', {});
  root.replaceChildren(tabs, panel);
  const buttons = data.groups.map((g, i) => {
    const b = el('button', {}, `${g.kind} attention`);
    b.addEventListener('click', () => {
      buttons.forEach((x) => x.classList.remove('on'));
      b.classList.add('on');
      showGroup(data.groups[i]!);
    });
    tabs.append(b);
    return b;
  });
  if (data.groups.length === 1) tabs.hidden = true;
  buttons[0]?.click();

  function showGroup(g: ReportGroup): void {
    const maps = g.layers.map((l) => decode(l.maps));
    const Tq = g.queries.length;
    const Tk = g.keys.length;
    const qs = g.queries.map((t) => t.text);
    const ks = g.keys.map((t) => t.text);
    let layer = 0;
    let head = 0;

    // The layer × head grid: click a map to see it at full size below.
    const grid = el('div', { class: 'grid' });
    const cell = Math.max(0.25, Math.min(4, 96 / Math.max(Tq, Tk)));
    const nHead = Math.max(...g.layers.map((l) => Math.max(...l.headIds) + 1));
    grid.style.gridTemplateColumns = `3em repeat(${nHead}, auto)`;
    grid.append(el('span', {}));
    for (let h = 0; h < nHead; h++) grid.append(el('span', { class: 'hd' }, `head ${h}`));
    const thumbs: HTMLCanvasElement[][] = [];
    g.layers.forEach((L, l) => {
      grid.append(el('span', { class: 'hd' }, `L${l}`));
      thumbs.push([]);
      for (let h = 0; h < nHead; h++) {
        const p = L.headIds.indexOf(h);
        if (p < 0) {
          grid.append(el('span', { class: 'pruned' }, 'pruned'));
          continue;
        }
        const c = heatmapCanvas(maps[l]!, p * Tq * Tk, Tq, Tk, cell);
        c.title = `layer ${l}, head ${h}`;
        c.addEventListener('click', () => {
          layer = l;
          head = p;
          showDetail();
          showHeads();
        });
        thumbs[l]!.push(c);
        grid.append(c);
      }
    });

    const detail = el('div', { class: 'detail' });
    const detailTitle = el('h3', {});
    const heads = el('div', { class: 'hv' });
    const headsTitle = el('h3', {});
    panel.replaceChildren(
      el('h2', {}, 'Every head'),
      el('p', { class: 'hint' }, `Rows are queries (${Tq} tokens), columns keys (${Tk}); darker is more attention. Click a map to open it.`),
      grid,
      detailTitle,
      detail,
      headsTitle,
      el('p', { class: 'hint' }, 'Hover a token to see where it looks (left) or what looks at it (right); tick heads on and off.'),
      heads,
    );

    function showDetail(): void {
      const L = g.layers[layer]!;
      detailTitle.textContent = `Layer ${layer}, head ${L.headIds[head]}`;
      const big = Math.max(1, Math.min(16, Math.floor(640 / Math.max(Tq, Tk))));
      detail.replaceChildren(labelledHeatmap(maps[layer]!, head * Tq * Tk, qs, ks, big, tip));
      thumbs.flat().forEach((t) => t.classList.remove('sel'));
      thumbs[layer]?.[head]?.classList.add('sel');
    }
    function showHeads(): void {
      const L = g.layers[layer]!;
      headsTitle.textContent = `Head view, layer ${layer}`;
      renderHeadView(heads, { queries: qs, keys: Tq === Tk && g.kind !== 'cross' ? qs : ks, heads: L.heads, headIds: L.headIds, map: maps[layer]! });
    }
    showDetail();
    showHeads();

    if (g.rollout && g.rollout.length) {
      const roll = g.rollout.map(decode);
      const box = el('div', {});
      const s = el('input', { type: 'range', min: '0', max: String(roll.length - 1), value: String(roll.length - 1) });
      const label = el('span', {});
      const draw = (): void => {
        const l = Number(s.value);
        label.textContent = ` after layer ${l}`;
        box.replaceChildren(labelledHeatmap(roll[l]!, 0, qs, qs, Math.max(1, Math.min(16, Math.floor(640 / Tq))), tip));
      };
      s.addEventListener('input', draw);
      panel.append(
        el('h2', {}, 'Attention rollout'),
        el('p', { class: 'hint' }, 'How much of each input token (column) reaches each position (row), following attention and the residual path through the layers (Abnar & Zuidema 2020).'),
        el('label', {}, s, label),
        box,
      );
      draw();
    }
  }
}
