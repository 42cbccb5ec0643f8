// The machine's multiply-add peak as WebAssembly sees it, for bench/matmul.ts to put GEMM figures in context.
// Ten independent accumulator chains and no memory traffic: the loop is bound only by how many f32x4
// multiply-adds the core retires per cycle (fused on the relaxed build, mul + add on the baseline one).

import { madd } from './simd';

/** n iterations of 10 four-lane multiply-adds (80 flops each); returns a value so nothing is optimized away. */
export function fma_peak(n: i32): f32 {
  let a0 = f32x4.splat(1), a1 = f32x4.splat(2), a2 = f32x4.splat(3), a3 = f32x4.splat(4), a4 = f32x4.splat(5);
  let a5 = f32x4.splat(6), a6 = f32x4.splat(7), a7 = f32x4.splat(8), a8 = f32x4.splat(9), a9 = f32x4.splat(10);
  const x = f32x4.splat(0.999999);
  const y = f32x4.splat(0.000001);
  for (let i = 0; i < n; i++) {
    a0 = madd(a0, x, y);
    a1 = madd(a1, x, y);
    a2 = madd(a2, x, y);
    a3 = madd(a3, x, y);
    a4 = madd(a4, x, y);
    a5 = madd(a5, x, y);
    a6 = madd(a6, x, y);
    a7 = madd(a7, x, y);
    a8 = madd(a8, x, y);
    a9 = madd(a9, x, y);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(f32x4.add(a6, a7), f32x4.add(a8, a9))));
  return f32x4.extract_lane(s, 0);
}
