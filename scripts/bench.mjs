// `npm run bench -- <name> [--json] [...]`: run dist/bench/<name>.js with the Node flags attn needs.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFlags } from './node-flags.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(root, 'dist', 'bench');
const [name, ...rest] = process.argv.slice(2);
const available = existsSync(benchDir)
  ? readdirSync(benchDir).filter((f) => f.endsWith('.js') && !f.startsWith('_')).map((f) => f.slice(0, -3))
  : [];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name> [--json]\n  benches: ${available.join(', ') || '(none built; run npm install)'}`);
  process.exit(name ? 1 : 0);
}
const r = spawnSync(process.execPath, [...nodeFlags(), join(benchDir, `${name}.js`), ...rest], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
