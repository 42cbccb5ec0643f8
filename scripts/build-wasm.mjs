// Compile the AssemblyScript kernels (kernels/*.ts) into two WebAssembly modules, run by scripts/build.mjs
// (and so by `npm install` / `npm run build`):
//
//   dist/kernels/attn-relaxed.wasm   relaxed SIMD: f32x4.relaxed_madd, a fused multiply-add
//   dist/kernels/attn-baseline.wasm  baseline SIMD: multiply, then add (runs wherever SIMD does)
//
// src/backend/wasm picks one at run time by feature detection. Both import one shared, growable memory
// (up to 4 GiB) so that every worker thread runs the same kernels on the same bytes. The .wasm files are
// build outputs (dist/ is gitignored) and are never committed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
if (!existsSync(asc)) {
  console.error('build-wasm: AssemblyScript is not installed (node_modules/assemblyscript); run `npm install` first.');
  process.exit(1);
}
const outDir = join(root, 'dist', 'kernels');
mkdirSync(outDir, { recursive: true });

const common = [
  join(root, 'kernels', 'index.ts'),
  '-O3', // optimize for speed
  '--noAssert', // no bounds assertions: the JS side validates every shape before calling a kernel
  '--runtime', 'stub', // no garbage collector: the kernels never allocate
  '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536', // 64 KiB pages: 4 GiB
  '--enable', 'simd', '--enable', 'threads',
];

for (const [name, extra] of [
  ['attn-relaxed', ['--enable', 'relaxed-simd']],
  ['attn-baseline', []],
]) {
  const final = join(outDir, `${name}.wasm`);
  const tmp = `${final}.tmp-${process.pid}`;
  // Written to a temp name and renamed, so a process loading the kernels never sees half a file.
  const r = spawnSync(process.execPath, [asc, ...common, ...extra, '-o', tmp], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build-wasm: asc failed for ${name} (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  renameSync(tmp, final);
}
console.log(`build-wasm: wrote ${join('dist', 'kernels')}/attn-relaxed.wasm and attn-baseline.wasm`);
