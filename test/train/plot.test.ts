// The PNG encoder against the standard CRC-32 check value and a decode by zlib; the SVG is well-formed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { crc32, encodePng } from '../../cli/png.js';
import { lossCurveRaster, lossCurveSvg, niceTicks } from '../../src/train/plot.js';

test('crc32 matches the standard check value of "123456789"', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});

test('PNG: signature, IHDR fields, and IDAT inflates back to the filtered scanlines', () => {
  const w = 3;
  const h = 2;
  const rgba = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i * 37) % 256);
  const png = encodePng(w, h, rgba);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.toString('latin1', 12, 16), 'IHDR');
  assert.equal(png.readUInt32BE(16), w);
  assert.equal(png.readUInt32BE(20), h);
  const idatLen = png.readUInt32BE(33);
  assert.equal(png.toString('latin1', 37, 41), 'IDAT');
  const raw = inflateSync(png.subarray(41, 41 + idatLen));
  assert.equal(raw.length, h * (1 + w * 4));
  assert.equal(raw[0], 0);
  assert.deepEqual([...raw.subarray(1, 1 + w * 4)], [...rgba.subarray(0, w * 4)]);
  assert.equal(png.toString('latin1', png.length - 8, png.length - 4), 'IEND');
});

test('loss curve: ticks are nice numbers, the SVG has both series and the raster is drawn', () => {
  assert.deepEqual(niceTicks(0, 1000, 5), [0, 200, 400, 600, 800, 1000]);
  const series = { train: Array.from({ length: 50 }, (_, i) => [i + 1, 5 - i / 20] as [number, number]), val: [[25, 4], [50, 3.1]] as Array<[number, number]> };
  const svg = lossCurveSvg(series, 'test');
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<circle /g) ?? []).length, 2);
  assert.match(svg, /<\/svg>$/);
  const r = lossCurveRaster(series, 200, 120);
  const nonWhite = r.rgba.reduce((n, v, i) => n + (i % 4 !== 3 && v !== 255 ? 1 : 0), 0);
  assert.ok(nonWhite > 500, `expected drawn pixels, got ${nonWhite}`);
});
