// The 128-bit SIMD limit the benches state their figures against: the f32x4 multiply-add peak of one core as
// WebAssembly sees it (kernels/peak.ts: ten independent multiply-add chains, so latency never stalls it).
// A GEMM-bound figure's share of the limit = its FLOP/s ÷ (threads × this peak).
import type { KernelVariant } from '../src/backend/wasm/index.js';
import { nodePlatform } from '../src/platform/node.js';

/**
 * GFLOP/s of kernels/peak.ts's fma_peak on this thread: 80 flops per iteration, the best of 5 runs of
 * 2·10⁷ iterations (~30 ms each). Example: `fmaPeak('relaxed')` → 23.4 on this machine.
 */
export function fmaPeak(variant: KernelVariant): number {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const exports = new WebAssembly.Instance(nodePlatform.loadKernels(variant), { env: { memory } }).exports;
  const fn = exports['fma_peak'];
  if (typeof fn !== 'function') throw new Error('the kernel module has no fma_peak export; rebuild with `npm run build`');
  const iters = 2e7;
  fn(1e5); // compile and warm up
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    fn(iters);
    best = Math.min(best, performance.now() - t);
  }
  return (iters * 80) / (best * 1e6);
}
