// `attn/metrics` must load without the tensor engine and without node: modules (browsers, bundlers): walk every
// import reachable from src/metrics/index.ts and check where it goes. Mirrors the check for attn/tokenizers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

describe('attn/metrics is browser-safe', () => {
  it('nothing reachable from src/metrics/index.ts imports node: modules, packages or the rest of attn', () => {
    const here = dirname(fileURLToPath(import.meta.url)); // dist/test/metrics
    const metricsDir = resolve(here, '../../src/metrics');
    const start = join(metricsDir, 'index.js');
    const seen = new Set<string>();
    const stack = [start];
    while (stack.length > 0) {
      const file = stack.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      const specs = [
        ...src.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+['"]([^'"]+)['"]/gm),
        ...src.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
        ...src.matchAll(/^[^/\n]*\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm),
      ].map((m) => m[1]);
      for (const spec of specs) {
        assert.ok(spec.startsWith('.'), `${file} imports the package or built-in ${spec}`);
        const target = join(dirname(file), spec);
        assert.ok(target.startsWith(metricsDir), `${file} reaches outside src/metrics: ${spec}`);
        stack.push(target);
      }
    }
    assert.ok(seen.size >= 10, `walked ${seen.size} modules`);
  });

  it('the package exports ./metrics', () => {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { exports: Record<string, { default: string }> };
    assert.equal(pkg.exports['./metrics']?.default, './dist/src/metrics/index.js');
  });
});
