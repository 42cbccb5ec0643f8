// Helper process for atomic.test.ts (not a test itself): rewrites a folder and a file over and over, each time
// as a new "version", until the test kills it with SIGKILL at a random moment.
// Usage: node atomic_child.js DIR FILE FIRST_VERSION
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeDirAtomic, writeFileAtomic } from '../../src/io/atomic.js';
import { versionFiles } from './helpers.js';

const [dir, file, first] = process.argv.slice(2);
if (dir === undefined || file === undefined || first === undefined) {
  console.error('usage: node atomic_child.js DIR FILE FIRST_VERSION');
  process.exit(2);
}
process.stdout.write('ready\n'); // the test starts its random countdown from here, not from process start
for (let v = Number(first); ; v++) {
  writeDirAtomic(dir, (tmp) => {
    for (const [name, content] of Object.entries(versionFiles(v))) writeFileSync(join(tmp, name), content);
  });
  writeFileAtomic(file, versionFiles(v)['a.bin'] as Uint8Array);
}
