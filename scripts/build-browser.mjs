// Build the browser side (run by scripts/build.mjs after the Node build, so by `npm install` / `npm run build`):
//
//   1. tsc -p tsconfig.browser.json   the browser entry points, the playground (web/) and the in-page test
//                                     code, compiled with the DOM library into dist/ like everything else;
//   2. esbuild bundles, from that JavaScript:
//        dist/browser/attn.js             the library: engine, WASM kernels (embedded), models, generation,
//                                         training, tokenizers, loading by URL, saving           (ES module)
//        dist/browser/attn-worker.js      the thread pool's worker script (must sit beside attn.js)
//        dist/browser/attn-tokenizers.js  the tokenizers alone, no engine
//        dist/playground/                 the playground served by `attn serve` (index.html, app.js, ...)
//        dist/test/browser/bundles/       what the browser tests load into the page
//      The playground and test bundles import the library as the separate file /attn/attn.js (the same file
//      users get), not a copy of it.
//
// Node built-ins: a few modules the browser entry reaches also hold Node-only functions (pretrained.ts has
// fromPretrained(dir) beside the config mapping the browser needs). Their `node:` imports are replaced by
// functions that throw "… is not available in a browser"; unused ones are tree-shaken away. The build lists
// which built-ins each bundle still references, so a new one shows up in review.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

const t = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.browser.json')], { cwd: root, stdio: 'inherit' });
if (t.status !== 0) {
  console.error(`build-browser: tsc -p tsconfig.browser.json failed (exit ${t.status ?? t.signal})`);
  process.exit(1);
}

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('build-browser: esbuild is not installed (a dev dependency); run `npm install` first.');
  process.exit(1);
}

/** `node:x` imports → a module of functions that throw when called (see the file comment). */
const nodeBuiltins = {
  name: 'attn-node-builtins',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-builtin' }));
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, async (args) => {
      const names = Object.keys(await import(args.path)).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
      const lines = [
        'const unavailable = (name) => () => {',
        `  throw new Error(name + ' (${args.path}) is not available in a browser; this part of attn needs Node');`,
        '};',
        ...names.map((n) => `export const ${n} = /* @__PURE__ */ unavailable(${JSON.stringify(n)});`),
        'export default {};',
      ];
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

/** Imports of the library entry become the external file /attn/attn.js (playground and test pages). */
const libraryAsFile = {
  name: 'attn-library-as-file',
  setup(build) {
    build.onResolve({ filter: /src\/browser\/index\.js$/ }, () => ({ path: '/attn/attn.js', external: true }));
  },
};

/**
 * For the in-page test bundles: the engine's own test files run in the page unchanged, with their Node-only
 * imports pointed at the page stand-ins in test/browser/page (_node_test, _assert, _platform_standin).
 */
const pageStandIns = {
  name: 'attn-page-stand-ins',
  setup(build) {
    const page = join(dist, 'test', 'browser', 'page');
    build.onResolve({ filter: /^node:test$/ }, () => ({ path: join(page, '_node_test.js') }));
    build.onResolve({ filter: /^node:assert(\/strict)?$/ }, () => ({ path: join(page, '_assert.js') }));
    build.onResolve({ filter: /src\/platform\/node\.js$/ }, () => ({ path: join(page, '_platform_standin.js') }));
  },
};

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: !process.env.ATTN_NO_MINIFY, // ATTN_NO_MINIFY=1: readable function names in a browser CPU profile
  sourcemap: 'linked',
  legalComments: 'none',
  loader: { '.wasm': 'binary' },
  metafile: true,
  logLevel: 'warning',
};

async function bundle(entry, outfile, plugins = [nodeBuiltins]) {
  const result = await esbuild.build({ ...common, entryPoints: [join(dist, entry)], outfile: join(dist, outfile), plugins });
  const builtins = Object.keys(result.metafile.inputs).filter((p) => p.startsWith('node-builtin:')).map((p) => p.slice('node-builtin:'.length));
  return { outfile, builtins };
}

const bundles = [
  await bundle('src/browser/index.js', 'browser/attn.js'),
  await bundle('src/platform/browser_worker_entry.js', 'browser/attn-worker.js'),
  await bundle('src/browser/tokenizers.js', 'browser/attn-tokenizers.js'),
  await bundle('web/app.js', 'playground/app.js', [libraryAsFile, nodeBuiltins]),
  await bundle('web/engine_worker.js', 'playground/engine-worker.js', [libraryAsFile, nodeBuiltins]),
];
for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'web', f), join(dist, 'playground', f));

// The in-page test code: one bundle per test/browser/page/*.ts entry (files not starting with '_').
const pageDir = join(dist, 'test', 'browser', 'page');
if (existsSync(pageDir)) {
  mkdirSync(join(dist, 'test', 'browser', 'bundles'), { recursive: true });
  for (const f of readdirSync(pageDir).filter((n) => n.endsWith('.js') && !n.startsWith('_'))) {
    bundles.push(await bundle(`test/browser/page/${f}`, `test/browser/bundles/${f}`, [libraryAsFile, pageStandIns, nodeBuiltins]));
  }
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const report = {};
for (const b of bundles) {
  const bytes = readFileSync(join(dist, b.outfile));
  const gz = gzipSync(bytes, { level: 9 }).length;
  report[b.outfile] = { bytes: bytes.length, gzip: gz, nodeBuiltinsShimmed: b.builtins };
  if (!b.outfile.startsWith('test/')) {
    console.log(`build-browser: ${relative(root, join(dist, b.outfile))} ${kb(bytes.length)} (gzip ${kb(gz)})${b.builtins.length ? `; Node built-ins shimmed: ${b.builtins.join(', ')}` : ''}`);
  }
}
// Sizes for bench/browser.ts and the README.
writeFileSync(join(dist, 'browser', 'sizes.json'), JSON.stringify(report, null, 2) + '\n');
