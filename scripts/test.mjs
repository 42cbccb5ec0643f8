// `npm test`: run every compiled test file (dist/test/**/*.test.js) with Node's built-in test runner.
// Arguments filter the files by substring: `npm test -- tensor` runs only files whose path contains "tensor".
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFlags } from './node-flags.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const testDir = join(root, 'dist', 'test');
if (!existsSync(testDir)) {
  console.error('attn test: dist/test is missing; run `npm install` (or `npm run build`) first.');
  process.exit(1);
}
function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = walk(testDir).filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)));
if (files.length === 0) {
  console.error(`attn test: no test files matched ${JSON.stringify(filters)}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, [...nodeFlags(), '--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
