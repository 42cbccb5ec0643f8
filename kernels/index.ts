// Entry point of the attn WebAssembly kernels: everything exported here becomes an export of the .wasm.
// Built by scripts/build-wasm.mjs into dist/kernels/attn-relaxed.wasm (fused multiply-add) and
// dist/kernels/attn-baseline.wasm (multiply then add). The memory is imported: one shared
// WebAssembly.Memory for every thread. The JS side (src/backend/wasm) owns all allocation, so the kernels
// only ever see byte addresses handed to them, and every exported *_task function computes one task of a
// job: (task index, thread index, the job's arguments...).

export * from './gemm';
export * from './attention';
export * from './elementwise';
export * from './rnn';
export * from './peak';
export * from './optim';
export * from './quant';

/**
 * Zero `bytes` bytes at `p` (WebAssembly's memory.fill, a native memset). The JS side calls this rather than
 * TypedArray.fill(0) on views of this memory: on a SharedArrayBuffer V8's fill is element by element, ~14 GB/s
 * against ~90 here for a 256 KB array (what a training step's fresh activations and gradients are).
 */
export function zero_bytes(p: usize, bytes: usize): void {
  memory.fill(p, 0, bytes);
}

/**
 * Copy `bytes` bytes from `src` to `dst` (WebAssembly's memory.copy, a native memmove: the ranges may
 * overlap). Step memory moves the arrays a layer returns down over the layer's dead intermediates with it.
 */
export function copy_bytes(dst: usize, src: usize, bytes: usize): void {
  memory.copy(dst, src, bytes);
}

/** First byte after the module's static data; the JS allocator starts above it. */
export function heap_base(): usize {
  return __heap_base;
}
