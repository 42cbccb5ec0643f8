// The data an explain report's page is drawn from: plain JSON, embedded in the self-contained HTML file
// (report.ts) and read by the viewer (web/explain_view.ts, which imports only these types). The playground's
// engine worker builds it too (reportData below), so this file imports nothing that needs Node.
//
// Maps travel as base64 of little-endian uint16 values round(w · 65535), (H, Tq, Tk) per layer: a third of the
// size of decimal JSON, exact to 1/65535 (0.0000153), far below what a colour shows.

import type { AttentionGroup } from './explainable.js';
import { rollout } from './rollout.js';

export interface ReportToken {
  text: string;
  id: number;
  special: boolean;
}

export interface ReportLayer {
  heads: number;
  headIds: number[];
  /** base64 of (H, Tq, Tk) uint16 weights. */
  maps: string;
}

export interface ReportGroup {
  kind: string;
  causal: boolean;
  queries: ReportToken[];
  keys: ReportToken[];
  layers: ReportLayer[];
  /** Attention rollout after each layer, base64 of (Tq, Tk) uint16 (self-attention groups only). */
  rollout?: string[];
}

export interface ReportData {
  title: string;
  /** Said above the maps: windows, truncation, the model. */
  notes: string[];
  groups: ReportGroup[];
}

/** Weights in [0, 1] → base64 of uint16 round(w · 65535), little-endian. */
export function encodeWeights(w: Float32Array): string {
  const bytes = new Uint8Array(w.length * 2);
  for (let i = 0; i < w.length; i++) {
    const q = Math.round(Math.max(0, Math.min(1, w[i]!)) * 65535);
    bytes[2 * i] = q & 0xff;
    bytes[2 * i + 1] = q >> 8;
  }
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** The inverse of encodeWeights (also what the viewer does). */
export function decodeWeights(b64: string): Float32Array {
  const bin = atob(b64);
  const out = new Float32Array(bin.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8)) / 65535;
  return out;
}

/** The embedded data of a report for these groups (with rollout for self-attention groups). */
export function reportData(title: string, groups: readonly AttentionGroup[], notes: string[] = []): ReportData {
  return {
    title,
    notes,
    groups: groups.map((g) => {
      const square = g.kind !== 'cross' && g.kind !== 'alignments' && g.queries.length === g.keys.length;
      const tok = (t: AttentionGroup['queries'][number]) => ({ text: t.text, id: t.id, special: t.special });
      return {
        kind: g.kind,
        causal: g.causal,
        queries: g.queries.map(tok),
        keys: g.keys.map(tok),
        layers: g.layers.map((l) => ({ heads: l.heads, headIds: l.headIds, maps: encodeWeights(l.data) })),
        ...(square ? { rollout: rollout(g).map(encodeWeights) } : {}),
      };
    }),
  };
}
