// Small SIMD helpers shared by the kernels (AssemblyScript, compiled to WebAssembly by scripts/build-wasm.mjs).
//
// A v128 holds four f32 lanes. The build compiles every kernel twice: once with relaxed SIMD, where
// `madd` is the fused multiply-add f32x4.relaxed_madd (one instruction, one rounding), and once with
// baseline SIMD, where it is a multiply then an add (two roundings). ASC_FEATURE_RELAXED_SIMD is a
// compile-time constant, so each build keeps only one branch.

/** a·b + c on four lanes. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  else return f32x4.add(f32x4.mul(a, b), c);
}

/** [Σa, Σb, Σc, Σd]: four horizontal sums at once (6 shuffles + 3 adds instead of 4 × 3 of each). */
// @ts-ignore: decorator
@inline export function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  // [a0+a2, b0+b2, a1+a3, b1+b3]
  const ab = f32x4.add(f32x4.shuffle(a, b, 0, 4, 1, 5), f32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(f32x4.shuffle(c, d, 0, 4, 1, 5), f32x4.shuffle(c, d, 2, 6, 3, 7));
  // [a0+a2+a1+a3, b.., c.., d..]
  return f32x4.add(f32x4.shuffle(ab, cd, 0, 1, 4, 5), f32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/**
 * exp(x) on four lanes, relative error about 2e-7 (a few float32 ulps), the Cephes expf method:
 *   n = round(x·log2 e),  r = x − n·ln 2  (so |r| ≤ ln2/2),  exp(x) = 2ⁿ · exp(r)
 * exp(r) is a degree-6 polynomial, and 2ⁿ is built directly in the exponent bits of a float.
 * x below −87.3 (including −Infinity, a masked score) gives exactly 0; x above 88.3 is clamped (softmax
 * inputs are ≤ 0 after subtracting the max, so that never happens here).
 *
 * Two choices keep this cheap on x86, where it runs once per key and 4 query rows:
 *   - clamping uses pmin/pmax ("b < a ? b : a"), one instruction each; the IEEE min/max of wasm need a
 *     longer sequence to order NaNs and −0, which cannot occur here;
 *   - n is rounded with the "magic number" trick instead of nearest + float→int conversion: adding
 *     1.5·2²³ pushes the fraction bits out, so t = x·log2e + 1.5·2²³ is a float whose low mantissa bits hold
 *     the integer n, and (bits(t) + 127) << 23 is exactly the float 2ⁿ (the magic's own bits shift out).
 */
// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  const underflow = f32x4.lt(x, f32x4.splat(-87.3));
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(88.3)), f32x4.splat(-87.3));
  const magic = f32x4.splat(12582912.0); // 1.5·2²³
  const t = madd(x, f32x4.splat(1.44269504088896341), magic);
  const n = f32x4.sub(t, magic); // round(x·log2 e) as a float
  // r = x − n·ln2, with ln2 split in a high part exact in float32 and a small correction.
  let r = madd(n, f32x4.splat(-0.693359375), x);
  r = madd(n, f32x4.splat(2.12194440e-4), r);
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(p, r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  const r2 = f32x4.mul(r, r);
  p = f32x4.add(madd(p, r2, r), f32x4.splat(1.0)); // 1 + r + r²·(…)
  const pow2n = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23); // 2ⁿ
  const y = f32x4.mul(p, pow2n);
  return v128.andnot(y, underflow); // lanes that underflowed become +0
}

/**
 * Natural log of a positive, normal float (the softmax sum l ≥ 1 here). Written out instead of Mathf.log,
 * whose lookup table would be a data segment that every thread re-writes into the shared memory when it
 * instantiates the module. x = 2^e · m with m in [√½, √2], and ln m = 2·atanh(z), z = (m − 1)/(m + 1):
 *   ln m = 2 (z + z³/3 + z⁵/5 + z⁷/7 + z⁹/9 + …),  |z| ≤ 0.172, so the next term is below 4e-10.
 */
export function lnPositive(x: f32): f32 {
  const bits = reinterpret<i32>(x);
  let e = (bits >> 23) - 127;
  let m = <f64>reinterpret<f32>((bits & 0x007fffff) | 0x3f800000); // in [1, 2)
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e += 1;
  }
  const z = (m - 1) / (m + 1);
  const z2 = z * z;
  const series = z * (1 + z2 * (1.0 / 3 + z2 * (1.0 / 5 + z2 * (1.0 / 7 + z2 * (1.0 / 9)))));
  return <f32>(<f64>e * 0.6931471805599453 + 2 * series);
}
