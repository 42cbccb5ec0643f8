// The explain report: one self-contained HTML file (styles, data and the viewer's script inline; it loads
// nothing from the network) with the interactive maps (web/explain_view.ts) and, when computed, the head
// statistics, head importance and the pruning curve as tables and inline SVG figures.
import type { HeadLayout } from './explainable.js';
import { esc, figureSvg } from './figure.js';
import { pruneFigure, rolesFigure } from './figures.js';
import type { HeadImportance } from './importance.js';
import type { PruneCurve } from './prune.js';
import type { ReportData } from './report_data.js';
import type { HeadStats } from './stats.js';

// reportData lives in report_data.ts, which a browser can bundle (this file cannot: figure.ts needs Node).
export { reportData } from './report_data.js';

export interface ReportSections {
  stats?: { heads: HeadStats[]; layouts: HeadLayout[]; inputs: number; thresholds: { positional: number; rare: number; noop: number } };
  importance?: HeadImportance;
  curve?: PruneCurve;
}

/** The statistics table (HTML). */
export function statsTable(stats: readonly HeadStats[], multiGroup: boolean): string {
  const f = (v: number | null, pct = true) => (v === null ? '—' : pct ? `${(v * 100).toFixed(1)}%` : v.toFixed(2));
  const rows = stats.map(
    (s) =>
      `<tr><td>${multiGroup ? `${s.group} ` : ''}${s.layer}</td><td>${s.head}</td><td>${esc(s.roles.join(', ') || '—')}</td><td>${f(s.previousToken)}</td><td>${f(s.nextToken)}</td><td>${f(s.rareToken)}</td><td>${f(s.noop)}</td><td>${f(s.distance, false)}</td><td>${f(s.entropy, false)}</td></tr>`,
  );
  return `<table class="stats"><thead><tr><th>layer</th><th>head</th><th>roles</th><th>argmax at −1</th><th>argmax at +1</th><th>argmax at rarest</th><th>mass on sinks</th><th>mean distance</th><th>entropy (bits)</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The importance table (HTML), least important first. */
export function importanceTable(imp: HeadImportance, multiGroup: boolean): string {
  const sorted = [...imp.heads].sort((a, b) => a.score - b.score);
  const rows = sorted.map((h, i) => `<tr><td>${i + 1}</td><td>${multiGroup ? `${h.group} ` : ''}${h.layer}</td><td>${h.head}</td><td>${h.score.toFixed(4)}</td><td>${h.raw.toExponential(3)}</td></tr>`);
  return `<table class="stats"><thead><tr><th>rank</th><th>layer</th><th>head</th><th>importance (per-layer normalised)</th><th>Σ|∂L/∂ξ|</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1400px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; } h3 { font-size: 15px; }
.notes li { color: #8a4b00; } .hint { color: #666; }
/* The maps' own styles come with the viewer (web/explain_view.ts), which the playground shares. */
table.stats { border-collapse: collapse; font-size: 13px; } table.stats td, table.stats th { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
table.stats td:nth-child(3) { text-align: left; }
.figure { overflow: auto; }
`;

/**
 * The report as one HTML document. `viewerScript` is the viewer's compiled JavaScript (report_node.ts reads it);
 * `sections` adds the statistics, importance and pruning results. Example:
 * `reportHtml(reportData('gpt', groups), readViewerScript(), {})`.
 */
export function reportHtml(data: ReportData, viewerScript: string, sections: ReportSections = {}): string {
  const parts: string[] = [];
  const multi = (sections.stats?.layouts.length ?? 1) > 1;
  if (sections.stats) {
    const s = sections.stats;
    const t = s.thresholds;
    parts.push(
      `<h2>What each head does</h2><p class="hint">Over ${s.inputs} input(s). Roles: previous-/next-token when the head's strongest attention is on the token at offset −1/+1 in ≥ ${t.positional * 100}% of positions; rare-token when it is on the input's least frequent token in ≥ ${t.rare * 100}%; no-op when ≥ ${t.noop * 100}% of its attention sits on special tokens, punctuation or (causal models) the first token (Voita et al. 2019; Clark et al. 2019).</p>`,
      `<div class="figure">${figureSvg(rolesFigure(s.heads, s.layouts))}</div>`,
      statsTable(s.heads, multi),
    );
  }
  if (sections.importance) {
    parts.push(`<h2>Head importance</h2><p class="hint">I_h = Σ over ${sections.importance.examples} examples of |∂L/∂ξ_h|, the gradient of the loss with respect to a gate on the head (Michel et al. 2019), normalised per layer by the ℓ2 norm.</p>`, importanceTable(sections.importance, multi));
  }
  if (sections.curve) {
    const c = sections.curve;
    parts.push(
      `<h2>Pruning heads</h2><p>Removing heads least important first, ${c.removableWithinTolerance} of ${c.totalHeads} heads (${((100 * c.removableWithinTolerance) / c.totalHeads).toFixed(0)}%) go before ${esc(c.metric.name)} is worse than the full model's (${c.baseline.toFixed(4)}) by more than ${(c.tolerance * 100).toFixed(1)}%.</p>`,
      `<div class="figure">${figureSvg(pruneFigure(c))}</div>`,
    );
  }
  // The data goes into a <script> element: "<" is escaped so no "</script>" can end it early.
  const json = JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  const script = viewerScript.replace(/\/\/# sourceMappingURL=.*$/gm, '').replace(/<\/script/gi, '<\\/script');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(data.title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${esc(data.title)}</h1>
${data.notes.length ? `<ul class="notes">${data.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
<div id="maps"></div>
${parts.join('\n')}
<script type="application/json" id="explain-data">${json}</script>
<script type="module">
${script}
renderExplainReport(document.getElementById('maps'), JSON.parse(document.getElementById('explain-data').textContent));
</script>
</body>
</html>
`;
}
