// Build everything `npm install` needs: the WASM kernels (if their build script exists) and the TypeScript.
// Each step is a plain child process so a failure prints the tool's own message and stops the install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const node = process.execPath;

function run(label, args) {
  const t0 = Date.now();
  const r = spawnSync(node, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`attn build: ${label} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  console.log(`attn build: ${label} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  console.error('attn build: TypeScript is not installed; run `npm install` in the project folder.');
  process.exit(1);
}
for (const step of ['build-wasm.mjs', 'build-data.mjs']) {
  if (existsSync(join(root, 'scripts', step))) run(step, [join(root, 'scripts', step)]);
}
run('tsc', [tsc, '-p', join(root, 'tsconfig.json')]);
// The browser bundles and the playground (after tsc: they are bundled from its output).
if (existsSync(join(root, 'scripts', 'build-browser.mjs'))) run('build-browser.mjs', [join(root, 'scripts', 'build-browser.mjs')]);
