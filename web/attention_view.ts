// The attention explorer's view: one heatmap per head of one layer, rows = query tokens, columns = key
// tokens, darker = more attention (each row sums to 1; a causal model's upper triangle is 0). A component on
// its own so other views (the explain feature's attribution maps, an encoder's bidirectional maps, a
// decoder's cross-attention) can reuse it with their own labels: it takes plain arrays, not a model.
//
//   renderAttention(container, { queries: tokens, keys: tokens, heads: H, map: layerWeights }, tooltip)

export interface AttentionData {
  /** Row labels (query tokens), T_q of them. */
  queries: string[];
  /** Column labels (key tokens), T_k of them. */
  keys: string[];
  heads: number;
  /** (H, T_q, T_k) row-major weights of one layer (a batch of one). */
  map: Float32Array;
  /** Heading of each head's map (default "head h"). */
  title?: (head: number) => string;
}

export type Tooltip = (text: string | null, x?: number, y?: number) => void;

/** Draw every head of one layer into `container` (replacing what was there). */
export function renderAttention(container: HTMLElement, data: AttentionData, tooltip: Tooltip): void {
  container.replaceChildren();
  const Tq = data.queries.length;
  const Tk = data.keys.length;
  if (data.map.length !== data.heads * Tq * Tk) throw new Error(`attention map has ${data.map.length} values, expected heads ${data.heads} × ${Tq} × ${Tk}`);
  const cell = Math.max(6, Math.min(22, Math.floor(360 / Math.max(Tq, Tk))));
  for (let h = 0; h < data.heads; h++) {
    const box = document.createElement('div');
    box.className = 'head';
    const title = document.createElement('h3');
    title.textContent = data.title?.(h) ?? `head ${h}`;
    const canvas = document.createElement('canvas');
    canvas.width = Tk * cell;
    canvas.height = Tq * cell;
    canvas.dataset['head'] = String(h);
    const ctx = canvas.getContext('2d')!;
    const base = h * Tq * Tk;
    for (let q = 0; q < Tq; q++) {
      for (let k = 0; k < Tk; k++) {
        const w = data.map[base + q * Tk + k]!;
        // white (0) → deep blue (1); sqrt makes small weights visible without hiding the large ones
        const t = Math.sqrt(Math.max(0, Math.min(1, w)));
        ctx.fillStyle = `rgb(${Math.round(255 - 215 * t)}, ${Math.round(255 - 180 * t)}, ${Math.round(255 - 60 * t)})`;
        ctx.fillRect(k * cell, q * cell, cell, cell);
      }
    }
    canvas.addEventListener('mousemove', (e) => {
      const k = Math.floor(e.offsetX / cell);
      const q = Math.floor(e.offsetY / cell);
      if (q < 0 || q >= Tq || k < 0 || k >= Tk) return tooltip(null);
      const w = data.map[base + q * Tk + k]!;
      tooltip(`head ${h}: ${JSON.stringify(data.queries[q])} → ${JSON.stringify(data.keys[k])}\nweight ${w.toFixed(4)}`, e.clientX, e.clientY);
    });
    canvas.addEventListener('mouseleave', () => tooltip(null));
    box.append(title, canvas);
    container.append(box);
  }
}
