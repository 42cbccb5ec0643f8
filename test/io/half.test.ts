// float16 / bfloat16 conversion against bit patterns computed by hand from IEEE 754 (and the bfloat16
// definition: the top 16 bits of a float32), plus exhaustive and randomized checks of the rounding rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16BitsToNumber, bf16ToF32, f16BitsToNumber, f16ToF32, f32ToBf16, f32ToF16, numberToBf16Bits, numberToF16Bits } from '../../src/io/half.js';
import { rng } from './helpers.js';

test('float16 bit patterns decode to the IEEE 754 values', () => {
  const cases: [number, number][] = [
    [0x0000, 0],
    [0x3c00, 1], // sign 0, exponent 15 (bias 15), fraction 0
    [0xbc00, -1],
    [0x4000, 2],
    [0x3c01, 1 + 2 ** -10], // next float16 after 1
    [0x3555, 0.333251953125], // 1.0101010101b × 2^-2
    [0x7bff, 65504], // largest finite: (2 - 2^-10) × 2^15
    [0x0400, 2 ** -14], // smallest normal
    [0x03ff, 1023 * 2 ** -24], // largest subnormal
    [0x0001, 2 ** -24], // smallest subnormal
    [0x8001, -(2 ** -24)],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x2e66, 0.0999755859375], // float16 nearest to 0.1
  ];
  for (const [bits, value] of cases) {
    assert.equal(f16BitsToNumber(bits), value, `0x${bits.toString(16)}`);
    assert.equal(f16ToF32(Uint16Array.of(bits))[0], value, `table path 0x${bits.toString(16)}`);
  }
  assert.ok(Object.is(f16BitsToNumber(0x8000), -0), '0x8000 is negative zero');
  for (const nan of [0x7e00, 0x7c01, 0xfe00, 0x7fff]) assert.ok(Number.isNaN(f16ToF32(Uint16Array.of(nan))[0]), `0x${nan.toString(16)} is NaN`);
});

test('bfloat16 bit patterns decode as the top half of a float32', () => {
  const cases: [number, number][] = [
    [0x3f80, 1],
    [0xbf80, -1],
    [0x4049, 3.140625], // 1.1001001b × 2
    [0xc0a0, -5],
    [0x7f7f, (2 - 2 ** -7) * 2 ** 127], // largest finite
    [0x0080, 2 ** -126], // smallest normal
    [0x0001, 2 ** -133], // smallest subnormal: 2^-126 × 2^-7
    [0x7f80, Infinity],
    [0xff80, -Infinity],
  ];
  for (const [bits, value] of cases) {
    assert.equal(bf16BitsToNumber(bits), value, `0x${bits.toString(16)}`);
  }
  assert.ok(Object.is(bf16BitsToNumber(0x8000), -0));
  assert.ok(Number.isNaN(bf16BitsToNumber(0x7fc0)));
  assert.ok(Number.isNaN(bf16BitsToNumber(0xff81)));
});

test('float32 → float16 rounds to nearest, ties to even, with overflow and subnormals', () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65519, 0x7bff], // below the halfway point 65520
    [65520, 0x7c00], // halfway to 65536: tie goes to the even side, which overflows to infinity
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000], // exactly half the smallest subnormal: tie to even (0)
    [1.5 * 2 ** -25, 0x0001], // above half: rounds up
    [3 * 2 ** -25, 0x0002], // 1.5 subnormal steps: tie between 1 and 2, even is 2
    [1023.5 * 2 ** -24, 0x0400], // tie between largest subnormal (odd) and smallest normal (even)
    [1 + 2 ** -11, 0x3c00], // tie between 1 (fraction 0, even) and 1 + 2^-10
    [1 + 3 * 2 ** -11, 0x3c02], // tie between fraction 1 (odd) and 2 (even)
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
    [0.1, 0x2e66],
    [0, 0x0000],
    [-0, 0x8000],
    [1e-10, 0x0000],
    [-1e-10, 0x8000],
  ];
  for (const [x, bits] of cases) {
    assert.equal(numberToF16Bits(x), bits, `${x} → 0x${bits.toString(16)}, got 0x${numberToF16Bits(x).toString(16)}`);
  }
  assert.equal(numberToF16Bits(NaN), 0x7e00);
  assert.deepEqual([...f32ToF16(Float32Array.of(1, -2, 65520))], [0x3c00, 0xc000, 0x7c00]);
});

test('every float16 survives float16 → float32 → float16 unchanged (all 65 536 patterns)', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const widened = f16ToF32(all);
  const back = f32ToF16(widened);
  for (let bits = 0; bits < 65536; bits++) {
    const isNaN16 = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
    if (isNaN16) assert.ok(Number.isNaN(widened[bits]!));
    else if (back[bits] !== bits) assert.fail(`0x${bits.toString(16)} → ${widened[bits]} → 0x${back[bits]!.toString(16)}`);
  }
});

test('float32 → float16 picks the nearest float16 (random floats, checked against both neighbours)', () => {
  const r = rng(16);
  for (let i = 0; i < 20000; i++) {
    // Magnitudes spread over the float16 range, subnormals included.
    const x = Math.fround((r() < 0.5 ? -1 : 1) * 2 ** (r() * 42 - 26));
    const bits = numberToF16Bits(x);
    const v = f16BitsToNumber(bits);
    const err = Math.abs(x - v);
    if (Math.abs(x) >= 65520) {
      assert.equal(Math.abs(v), Infinity);
      continue;
    }
    // The neighbours one step either way (same sign) must not be strictly closer.
    for (const nb of [bits - 1, bits + 1]) {
      if ((nb & 0x7fff) > 0x7bff || (nb & 0x8000) !== (bits & 0x8000) || nb < 0) continue;
      const e2 = Math.abs(x - f16BitsToNumber(nb));
      assert.ok(err <= e2, `${x}: chose ${v} (error ${err}) but ${f16BitsToNumber(nb)} is closer (${e2})`);
      if (err === e2) assert.equal(bits & 1, 0, `${x}: tie must go to the even pattern`);
    }
  }
});

test('float32 → bfloat16 rounds to nearest even on the bits', () => {
  const cases: [number, number][] = [
    [1, 0x3f80],
    [-5, 0xc0a0],
    [3.140625, 0x4049],
    [Math.PI, 0x4049], // 0x40490fdb: the dropped half 0x0fdb is below 0x8000
    [1 + 2 ** -8, 0x3f80], // 0x3f808000: exact tie, keep even 0x3f80
    [1 + 3 * 2 ** -8, 0x3f82], // 0x3f818000: tie, 0x3f81 is odd so round up
    [1 + 2 ** -8 + 2 ** -20, 0x3f81], // just above the tie
    [3.4028234663852886e38, 0x7f80], // float32 max rounds up past the largest bfloat16: infinity
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [2 ** -133, 0x0001],
    [-0, 0x8000],
  ];
  for (const [x, bits] of cases) {
    assert.equal(numberToBf16Bits(x), bits, `${x} → 0x${bits.toString(16)}, got 0x${numberToBf16Bits(x).toString(16)}`);
  }
  const nan = numberToBf16Bits(NaN);
  assert.ok(Number.isNaN(bf16BitsToNumber(nan)), 'NaN stays NaN');
  // A NaN whose payload sits only in the low 16 bits must not truncate to infinity.
  const lowPayloadNaN = new Float32Array(new Uint32Array([0x7f800001]).buffer);
  assert.ok(Number.isNaN(bf16BitsToNumber(f32ToBf16(lowPayloadNaN)[0]!)));
});

test('every bfloat16 survives bfloat16 → float32 → bfloat16 unchanged', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = f32ToBf16(bf16ToF32(all));
  for (let bits = 0; bits < 65536; bits++) {
    const isNaN16 = (bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0;
    if (!isNaN16 && back[bits] !== bits) assert.fail(`0x${bits.toString(16)} came back as 0x${back[bits]!.toString(16)}`);
  }
});
