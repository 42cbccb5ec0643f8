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

/** First byte after the module's static data; the JS allocator starts above it. */
export function heap_base(): usize {
  return __heap_base;
}
