// The attention experiment at a small size: `attn experiment attention` trains two models for two steps on
// both tasks (G2P on CMUdict, reversal), writes the tables, the length figures and the heatmaps (SVG and a
// PNG that decodes), and takes the Transformer's row from --transformer-results; the error-rate bookkeeping
// (per length bucket, WER/PER against every pronunciation) is checked on hand-made predictions; bad options
// are one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { runAttentionExperiment } from '../../src/experiments/attention.js';
import { heatmapRaster, heatmapSvg, linePlotRaster, linePlotSvg } from '../../src/experiments/plots.js';
import type { G2PEntry } from '../../src/data/g2p.js';

const CLI = new URL('../../cli/main.js', import.meta.url).pathname;

/** Width, height and RGBA pixels of a PNG written by cli/png.ts (filter 0 scanlines). */
function readPng(bytes: Buffer): { width: number; height: number; rgba: Uint8Array } {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  let o = 8;
  const idat: Buffer[] = [];
  while (o < bytes.length) {
    const len = bytes.readUInt32BE(o);
    const type = bytes.toString('latin1', o + 4, o + 8);
    if (type === 'IDAT') idat.push(bytes.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  assert.equal(raw.length, height * (1 + 4 * width));
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) rgba.set(raw.subarray(y * (1 + 4 * width) + 1, (y + 1) * (1 + 4 * width)), y * 4 * width);
  return { width, height, rgba };
}

test('attn experiment attention at a small size writes tables, length figures and heatmaps (with the Transformer row)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-exp-'));
  try {
    const tr = join(dir, 'transformer.json');
    writeFileSync(tr, JSON.stringify({ model: 'Transformer (test)', wer: 0.25, per: 0.061, parameters: 1234567, by_length: [{ length: 4, wer: 0.1 }, { length: 8, wer: 0.3 }] }));
    const out = join(dir, 'out');
    const r = spawnSync(process.execPath, [CLI, 'experiment', 'attention', '--steps', '2', '--batch-size', '4', '--eval-words', '12', '--per-length', '1', '--models', 'none,bahdanau', '--transformer-results', tr, '--out', out, '--quiet', '--threads', '1'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    assert.match(md, /\| no attention \| [\d.]+[kM] \| 2 \|/);
    assert.match(md, /\| Bahdanau \| [\d.]+[kM] \| 2 \|/);
    assert.match(md, /\| Transformer \(test\) \(encoder-decoder experiment, same split\) \| 1\.23M \| – \| – \| – \| 25\.0 % \| 6\.1 % \|/);
    assert.match(md, /## Reversing sequences of 5–60 symbols/);
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { tasks: { task: string; evalItems: number; models: { byLength: { length: number; count: number }[] }[] }[] };
    assert.deepEqual(json.tasks.map((t) => t.task), ['g2p', 'reverse']);
    assert.equal(json.tasks[0]!.evalItems, 12);
    assert.equal(json.tasks[1]!.evalItems, 12); // lengths 5, 10, ..., 60, one each
    assert.deepEqual(json.tasks[1]!.models[0]!.byLength.map((p) => p.length), [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]);
    for (const f of ['g2p-length.svg', 'g2p-length.png', 'reverse-length.svg', 'reverse-length.png']) assert.ok(existsSync(join(out, f)), f);
    assert.match(readFileSync(join(out, 'g2p-length.svg'), 'utf8'), /Transformer \(test\)/); // its by_length line
    const maps = readdirSync(join(out, 'heatmaps')).sort();
    // Bahdanau only (no weights without attention): 4 G2P words and 2 reversal sequences, SVG and PNG each.
    assert.equal(maps.length, 12, maps.join(', '));
    assert.ok(maps.includes('g2p-bahdanau-1.svg') && maps.includes('reverse-bahdanau-2.png'));
    const png = readPng(readFileSync(join(out, 'heatmaps', 'g2p-bahdanau-1.png')));
    assert.ok(png.width > 100 && png.height > 60);
    assert.ok(png.rgba.some((v, i) => i % 4 !== 3 && v < 128), 'the heatmap PNG is blank');
    // Every trained model is a folder attn explain reads.
    assert.deepEqual(readdirSync(join(out, 'models')).sort(), ['g2p-bahdanau', 'g2p-none', 'reverse-bahdanau', 'reverse-none']);
    const ex = spawnSync(process.execPath, [CLI, 'explain', '--model', join(out, 'models', 'g2p-bahdanau'), '--text', 'knight', '--out', join(dir, 'explain'), '--json'], { encoding: 'utf8' });
    assert.equal(ex.status, 0, ex.stderr);
    assert.ok(existsSync(join(dir, 'explain', 'report.html')));
    // --replot redraws from results.json without training, here with another Transformer row.
    writeFileSync(tr, JSON.stringify({ model: 'Transformer (2)', wer: 0.5, per: 0.125 }));
    const again = spawnSync(process.execPath, [CLI, 'experiment', 'attention', '--replot', '--out', out, '--transformer-results', tr], { encoding: 'utf8' });
    assert.equal(again.status, 0, again.stderr);
    const md2 = readFileSync(join(out, 'results.md'), 'utf8');
    assert.match(md2, /\| Transformer \(2\) \(encoder-decoder experiment, same split\) \| – \| – \| – \| – \| 50\.0 % \| 12\.5 % \|/);
    assert.equal(md2.replace(/\| Transformer.*\n/, ''), md.replace(/\| Transformer.*\n/, ''), 'the rest of the tables is unchanged');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad experiment options are one-line errors', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'experiment', ...args], { encoding: 'utf8' });
  let r = run('attention', '--models', 'none,cosine');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^attn: --models: unknown attention 'cosine'; choose from none, bahdanau/);
  r = run('transformers');
  assert.match(r.stderr, /the experiment to run is 'attention'/);
  const dir = mkdtempSync(join(tmpdir(), 'attn-exp-'));
  try {
    writeFileSync(join(dir, 'bad.json'), '{"wer": 25}');
    r = run('attention', '--transformer-results', join(dir, 'bad.json'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.json: expected an object with "wer" and "per" as fractions in \[0, 1\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a tiny G2P run scores against every pronunciation and splits error rates by word length', () => {
  // 400 made-up words of lengths 2..9 ('ab', 'abc', ...) spelled out as phonemes; half have two pronunciations.
  const letters = 'abcdefghij';
  const entries: G2PEntry[] = [];
  for (let i = 0; i < 400; i++) {
    const len = 2 + (i % 8);
    const word = Array.from({ length: len }, (_, k) => letters[(i * 7 + k * 3) % 10]!).join('') + String.fromCharCode(97 + (i % 26)) + String.fromCharCode(97 + Math.floor(i / 26));
    const pron = word.split('').map((c) => ['AA', 'B', 'CH', 'D', 'EH', 'F', 'G', 'HH', 'IH', 'JH', 'K', 'L', 'M', 'N', 'OW', 'P', 'R', 'S', 'T', 'UW', 'V', 'W', 'Y', 'Z', 'ZH', 'SH'][c.charCodeAt(0) - 97]!);
    entries.push({ word, graphemes: word.split(''), pronunciations: i % 2 ? [pron, [...pron, 'S']] : [pron] });
  }
  const r = runAttentionExperiment({ task: 'g2p', g2pEntries: entries, models: ['luong-dot'], steps: 3, batchSize: 8, sizes: { embedding_size: 8, encoder_hidden_size: 8, decoder_hidden_size: 16, attention_size: 8 } });
  assert.equal(r.models.length, 1);
  const m = r.models[0]!;
  assert.equal(r.evalItems, 20); // 5 % of 400 words
  assert.equal(m.byLength.reduce((s, p) => s + p.count, 0), 20);
  // After 3 steps the model is random: the overall rates are the count-weighted mix of the buckets' WER.
  const mixed = m.byLength.reduce((s, p) => s + p.count * p.errorRate, 0) / 20;
  assert.ok(Math.abs(mixed - m.errorRate) < 1e-9);
  assert.ok(m.errorRate > 0.9 && m.tokenErrorRate > 0.5);
  assert.equal(m.alignments.length, 4);
  for (const a of m.alignments) assert.equal(a.weights.length, a.source.length * a.output.length);
});

test('plots: line plot and heatmap in SVG and raster, errors for mismatched sizes', () => {
  const plot = { title: 'WER by length', xLabel: 'letters', yLabel: 'WER (%)', series: [{ name: 'a', points: [[3, 10], [4, NaN], [5, 30]] as [number, number][] }, { name: 'b <&>', points: [[3, 5], [5, 6]] as [number, number][] }] };
  const svg = linePlotSvg(plot);
  assert.match(svg, /<svg xmlns/);
  assert.match(svg, /b &lt;&amp;&gt;/);
  assert.equal((svg.match(/<path /g) ?? []).length, 3); // series a breaks at the NaN: two runs
  const r = linePlotRaster(plot, 300, 200);
  assert.equal(r.rgba.length, 300 * 200 * 4);
  const h = { title: 'attention', rows: ['AH', 'T'], cols: ['a', 't', '</s>'], values: Float32Array.of(1, 0, 0, 0, 0.5, 0.5) };
  assert.equal((heatmapSvg(h).match(/<rect x=/g) ?? []).length, 6 + 1);
  const hr = heatmapRaster(h, 20);
  assert.ok(hr.width > 3 * 20 && hr.height > 2 * 20);
  assert.throws(() => heatmapSvg({ ...h, values: new Float32Array(5) }), /5 values for 2 rows × 3 columns/);
});
