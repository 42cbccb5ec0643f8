// The report and figures: the maps embedded in report.html decode to the model's attentions (to 1/65535), the
// page references nothing outside itself, figures render as SVG and as PNG pixels of the heatmap colours, and
// the output folder is only ever a report folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromPretrained } from '../../src/models/pretrained.js';
import { Tokenizer } from '../../src/tokenizers/index.js';
import { GPTExplainer, type GPTEncoded } from '../../src/explain/adapters/gpt.js';
import { decodeWeights, encodeWeights, type ReportData } from '../../src/explain/report_data.js';
import { reportData, reportHtml } from '../../src/explain/report.js';
import { readViewerScript, writeReportFolder } from '../../src/explain/node.js';
import { figureRaster, figureSvg, heatColor } from '../../src/explain/figure.js';
import { gridFigure, layerFigure } from '../../src/explain/figures.js';

const FIX = new URL('../../../test/fixtures/', import.meta.url).pathname;
const IDS = [547, 635, 425, 964, 561, 416, 967, 255];

function tinyGroups() {
  const x = new GPTExplainer(fromPretrained(join(FIX, 'gpt2-tiny')).model, Tokenizer.gpt2());
  const e: GPTEncoded = { ids: Int32Array.from(IDS), tokens: IDS.map((id) => ({ id, text: `<${id}>`, special: false, punct: false })), notes: [], start: 0, total: IDS.length };
  return { x, groups: x.attentions(e) };
}

test('weights travel as uint16: exact to 1/65535', () => {
  const w = Float32Array.from({ length: 1000 }, (_, i) => (i * 0.6180339) % 1);
  const back = decodeWeights(encodeWeights(w));
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(back[i]! - w[i]!) <= 0.5 / 65535 + 1e-7, `${i}: ${back[i]} vs ${w[i]}`);
  assert.deepEqual([...decodeWeights(encodeWeights(Float32Array.of(0, 1, -0.5, 2)))], [0, 1, 0, 1]);
});

test('report.html: self-contained, and its maps are the model attentions', () => {
  const { groups } = tinyGroups();
  const html = reportHtml(reportData('tiny <gpt> & co', groups, ['a note']), readViewerScript(), {});
  assert.ok(!/<link\b|\bsrc\s*=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i.test(html), 'the report must not reference anything outside itself');
  assert.ok(!/sourceMappingURL/.test(html));
  assert.match(html, /<title>tiny &lt;gpt&gt; &amp; co<\/title>/);
  const json = /<script type="application\/json" id="explain-data">(.*?)<\/script>/s.exec(html)![1]!;
  const data = JSON.parse(json) as ReportData;
  assert.equal(data.groups.length, 1);
  data.groups[0]!.layers.forEach((l, i) => {
    const maps = decodeWeights(l.maps);
    const want = groups[0]!.layers[i]!.data;
    assert.equal(maps.length, want.length);
    for (let k = 0; k < want.length; k++) assert.ok(Math.abs(maps[k]! - want[k]!) <= 0.5 / 65535 + 1e-7);
  });
  assert.equal(data.groups[0]!.rollout!.length, 2);
  assert.deepEqual(data.groups[0]!.queries.map((t) => t.text), IDS.map((id) => `<${id}>`));
});

test('figures: SVG documents, and PNG pixels in the heatmap colours', () => {
  assert.deepEqual(heatColor(0), [255, 255, 255]);
  assert.deepEqual(heatColor(1), [40, 75, 195]);
  assert.deepEqual(heatColor(0.25), [148, 165, 225]); // √0.25 = 0.5: 255 − 107.5, 255 − 90, 255 − 30
  const { groups } = tinyGroups();
  for (const f of [layerFigure(groups[0]!, 1), gridFigure(groups[0]!)]) {
    const svg = figureSvg(f);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>$/);
    assert.match(svg, /data:image\/png;base64,iVBORw0KGgo/); // the maps are embedded PNGs
  }
  assert.throws(() => layerFigure(groups[0]!, 2), /layer 2 is not in the 'self' group \(layers 0..1\)/);
});

test('a heatmap cell larger than a pixel fills its pixels; a pixel over many cells shows their maximum', () => {
  const big = figureRaster({ width: 10, height: 10, shapes: [{ kind: 'heatmap', x: 0, y: 0, w: 10, h: 10, rows: 2, cols: 2, values: Float32Array.of(1, 0, 0, 0) }] });
  const at = (x: number, y: number) => [...big.rgba.subarray((y * 10 + x) * 4, (y * 10 + x) * 4 + 3)];
  assert.deepEqual(at(2, 2), heatColor(1));
  assert.deepEqual(at(7, 2), heatColor(0));
  assert.deepEqual(at(7, 7), heatColor(0));
  const small = figureRaster({ width: 3, height: 3, shapes: [{ kind: 'heatmap', x: 0, y: 0, w: 3, h: 3, rows: 6, cols: 6, values: Float32Array.from({ length: 36 }, (_, i) => (i === 14 ? 0.25 : 0)) }] });
  assert.deepEqual([...small.rgba.subarray((1 * 3 + 1) * 4, (1 * 3 + 1) * 4 + 3)], heatColor(0.25)); // cell (2, 2) lies under pixel (1, 1)
});

test('PNG labels: the 5×7 glyph of "I" (rows 01110, 00100, …, 01110) centred on y; 2× from font-size 14', () => {
  const px = (r: { width: number; rgba: Uint8Array }, x: number, y: number) => r.rgba[(y * r.width + x) * 4 + 1]!; // green: 0 black or red, 255 white
  const one = figureRaster({ width: 30, height: 30, shapes: [{ kind: 'text', x: 10, y: 10, text: 'I' }] });
  // Glyph row r sits at y − 3.5 + r (rounded: 7 + r); column c at x + c.
  assert.deepEqual([9, 10, 11, 12, 13, 14, 15].map((x) => px(one, x, 7)), [255, 255, 0, 0, 0, 255, 255]);
  assert.deepEqual([10, 11, 12, 13, 14].map((x) => px(one, x, 8)), [255, 255, 0, 255, 255]);
  assert.deepEqual([10, 11, 12, 13, 14].map((x) => px(one, x, 13)), [255, 0, 0, 0, 255]);
  assert.equal(px(one, 12, 14), 255);
  const big = figureRaster({ width: 40, height: 40, shapes: [{ kind: 'text', x: 10, y: 20, text: 'I', size: 14, fill: '#ff0000' }] });
  // Scale 2: row 0 covers y = 20 − 7 + 0..1, columns 2..7 of x + 0..9; drawn in the fill colour.
  assert.deepEqual([11, 12, 17, 18].map((x) => px(big, x, 13)), [255, 0, 0, 255]);
  assert.deepEqual([11, 12, 17, 18].map((x) => px(big, x, 14)), [255, 0, 0, 255]);
  assert.equal(big.rgba[(13 * 40 + 12) * 4], 255); // red 255 (and green 0): the fill, not black
  const tiny = figureRaster({ width: 30, height: 30, shapes: [{ kind: 'text', x: 10, y: 10, text: 'I', size: 5 }] });
  assert.ok(tiny.rgba.every((v) => v === 255), 'labels smaller than the font are left to the SVG');
});

test('writeReportFolder writes the files and never replaces a folder that is not a report', () => {
  const { x, groups } = tinyGroups();
  const dir = mkdtempSync(join(tmpdir(), 'attn-report-'));
  try {
    const out = join(dir, 'r');
    const files = writeReportFolder(out, { title: 't', groups, layouts: x.heads(), json: { 'maps.json': { ok: 1 } } });
    for (const f of ['report.html', 'maps/self-grid.svg', 'maps/self-grid.png', 'maps/self-layer0.svg', 'maps/self-layer1.png', 'maps/self-rollout.svg', 'maps.json']) {
      assert.ok(existsSync(join(out, f)), f);
      assert.ok(files.includes(join(out, f)));
    }
    assert.deepEqual([...readFileSync(join(out, 'maps/self-grid.png')).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    writeReportFolder(out, { title: 't2', groups, layouts: x.heads() }); // an earlier report is replaced
    assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /<title>t2<\/title>/);
    const other = join(dir, 'notes');
    mkdirSync(other);
    writeFileSync(join(other, 'thesis.txt'), 'precious');
    assert.throws(() => writeReportFolder(other, { title: 't', groups, layouts: x.heads() }), /is a folder with other files in it/);
    assert.equal(readFileSync(join(other, 'thesis.txt'), 'utf8'), 'precious');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
