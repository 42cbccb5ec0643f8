// 16-bit floats: IEEE 754 half precision (F16) and Google's bfloat16 (BF16), to and from float32.
//
// Checkpoints are often stored in 16 bits to halve their size; the engine computes in float32, so the file
// layer widens on load and (when asked) narrows on save. Both formats are a sign bit, an exponent and a
// fraction, like float32, with fewer bits:
//
//   float32  s eeeeeeee fffffffffffffffffffffff   (1, 8, 23)  bias 127
//   float16  s eeeee ffffffffff                   (1, 5, 10)  bias 15
//   bfloat16 s eeeeeeee fffffff                   (1, 8, 7)   bias 127   = the top 16 bits of a float32
//
// Value of a float16 with exponent bits e and fraction bits f:
//   e = 0        subnormal   (-1)^s · f/1024 · 2^-14          (smallest: 0x0001 = 2^-24 ≈ 5.96e-8)
//   0 < e < 31   normal      (-1)^s · (1 + f/1024) · 2^(e-15)  (largest: 0x7BFF = 65504)
//   e = 31       f = 0: ±Infinity, f ≠ 0: NaN
// Every float16 and every bfloat16 is exactly representable as a float32, so widening is exact. Narrowing
// rounds to the nearest representable value, ties to even (what PyTorch's `.half()` / `.bfloat16()` do).
//
// Does not handle: the 8-bit float formats (F8_E4M3, F8_E5M2); the file layer rejects them by name.

/** Value of one float16 given its 16 bits. Example: `f16BitsToNumber(0x3c00) === 1`. */
export function f16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f; // 5 bits
  const fraction = bits & 0x3ff; // 10 bits
  if (exponent === 0) return sign * fraction * 2 ** -24; // subnormal (or ±0): f/1024 · 2^-14
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

// All 65 536 float16 values, computed once on first use (256 KiB). Widening a tensor is then one table lookup
// per element, which is as fast as bit tricks and easier to check.
let f16Table: Float32Array | null = null;
function f16ToF32Table(): Float32Array {
  if (f16Table === null) {
    f16Table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) f16Table[bits] = f16BitsToNumber(bits);
  }
  return f16Table;
}

/** Widen float16 bit patterns to float32 values (exact). `out` must have the same length as `bits`. */
export function f16ToF32(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  const table = f16ToF32Table();
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

/** Widen bfloat16 bit patterns to float32 (exact): a bfloat16 is the top half of a float32, so shift left 16. */
export function bf16ToF32(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  const outBits = new Uint32Array(out.buffer, out.byteOffset, out.length); // same memory, seen as raw bits
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}

/** Value of one bfloat16 given its 16 bits. Example: `bf16BitsToNumber(0x3f80) === 1`. */
export function bf16BitsToNumber(bits: number): number {
  return bf16ToF32(Uint16Array.of(bits))[0]!;
}

/** Round half to even: 2.5 → 2, 3.5 → 4, 2.4 → 2. `x` must be non-negative. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor; // exact: x is a float32 scaled by a power of two
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The float16 bits nearest to `x` (ties to even; too large → ±Infinity; too small → subnormal or ±0; NaN →
 * 0x7e00 with the sign kept). Example: `numberToF16Bits(1) === 0x3c00`, `numberToF16Bits(1e6) === 0x7c00`.
 * `x` is first rounded to float32 (as when a Float32Array is saved), so the result matches PyTorch's
 * `tensor.float().half()`.
 */
export function numberToF16Bits(x: number): number {
  x = Math.fround(x);
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  if (Number.isNaN(x)) return 0x7e00; // canonical quiet NaN (the sign of a NaN carries no meaning)
  const a = Math.abs(x);
  // 65504 is the largest float16; the next step would be 65536, so the halfway point 65520 and above round to
  // infinity (65520 is a tie, and 65504's last fraction bit is 1 (odd), so the tie goes up).
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) {
    // Subnormal range: the value is m · 2^-24 with m an integer in 0..1024. m = 1024 is the smallest normal,
    // whose bit pattern 0x0400 is exactly what `sign | m` gives, so no special case is needed.
    return sign | roundHalfEven(a * 2 ** 24);
  }
  // Normal range: a = (1 + f/1024) · 2^e with -14 ≤ e ≤ 15. Find e exactly (log2 can be off by one near
  // powers of two, so correct it by comparison).
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  let f = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (f === 1024) {
    // Rounded up to the next power of two.
    f = 0;
    e++;
  }
  return sign | ((e + 15) << 10) | f;
}

/** Narrow float32 values to float16 bits (see numberToF16Bits). */
export function f32ToF16(values: Float32Array, out: Uint16Array = new Uint16Array(values.length)): Uint16Array {
  for (let i = 0; i < values.length; i++) out[i] = numberToF16Bits(values[i]!);
  return out;
}

/**
 * Narrow float32 values to bfloat16 bits, rounding to nearest, ties to even, on the raw bits: add 0x7fff plus
 * the lowest kept bit, then drop the low 16 bits (a carry into the exponent is the correct rounding, and
 * overflowing the largest finite value gives infinity). NaN stays NaN (quiet bit set so the truncated fraction
 * can never become zero, which would turn it into infinity). Example: 1.0 (0x3f800000) → 0x3f80.
 */
export function f32ToBf16(values: Float32Array, out: Uint16Array = new Uint16Array(values.length)): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i]!;
    if ((b & 0x7fffffff) > 0x7f800000) {
      out[i] = (b >>> 16) | 0x0040; // NaN
    } else {
      const lowestKeptBit = (b >>> 16) & 1;
      out[i] = (b + 0x7fff + lowestKeptBit) >>> 16; // JS numbers: no 32-bit wrap-around; b + 0x8000 < 2^32 for non-NaN
    }
  }
  return out;
}

/** The bfloat16 bits nearest to `x` (ties to even). Example: `numberToBf16Bits(1) === 0x3f80`. */
export function numberToBf16Bits(x: number): number {
  return f32ToBf16(Float32Array.of(x))[0]!;
}
