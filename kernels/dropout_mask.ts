// The dropout mask every kernel uses (dropout_task and add_layernorm in kernels/elementwise.ts, attention's
// dropout in kernels/attention.ts): one hash, so each backward rebuilds its forward's mask from the seed and
// nothing is stored. A helper module, not re-exported from kernels/index.ts (v128 values cannot cross into
// JavaScript).

/**
 * Dropout's keep mask on four lanes: lane i is keepScale (1/(1 − p)) when the element whose flat index plus
 * hash(seed) is lane i of idx is kept, else 0. Kept when lowbias32(idx) ≥ threshold (unsigned): dropKeeps
 * in src/backend/backend.ts, four lanes at a time with the same 32-bit integer arithmetic, so
 * backward rebuilds the mask from the seed instead of storing it.
 */
// @ts-ignore: decorator
@inline export function dropKeep4(idx: v128, threshold: v128, keepScale: v128): v128 {
  let x = v128.xor(idx, i32x4.shr_u(idx, 16));
  x = i32x4.mul(x, i32x4.splat(0x7feb352d));
  x = v128.xor(x, i32x4.shr_u(x, 15));
  x = i32x4.mul(x, i32x4.splat(<i32>0x846ca68b));
  x = v128.xor(x, i32x4.shr_u(x, 16));
  return v128.and(i32x4.ge_u(x, threshold), keepScale);
}
