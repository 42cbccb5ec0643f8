// The compiled WebAssembly kernels, embedded in the browser bundle as bytes (about 24 KB each), so the
// bundle needs no second request and no server configuration for .wasm files. The paths are those of the
// compiled file (dist/src/browser/kernel_bytes.js → dist/kernels/*.wasm, built by scripts/build-wasm.mjs);
// scripts/build-browser.mjs bundles them with esbuild's "binary" loader. This module only works bundled.
import relaxed from '../../kernels/attn-relaxed.wasm';
import baseline from '../../kernels/attn-baseline.wasm';

export const KERNEL_BYTES = { relaxed, baseline } as const;
