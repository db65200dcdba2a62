/**
 * Half-precision conversions (IEEE 754 binary16 "F16" and bfloat16 "BF16") to and from float32,
 * done on bit patterns so that subnormals, ±0, ±Inf and NaN come out exactly.
 * Checkpoints on the Hub are mostly stored in one of these two formats.
 */

// One scratch word to move between a float32 and its bits.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The bits of `x` rounded to float32. */
export function float32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0]!;
}

/** The float32 whose bits are `bits`. */
export function float32FromBits(bits: number): number {
  scratchU32[0] = bits >>> 0;
  return scratchF32[0]!;
}

/** float32 bit pattern of a binary16 bit pattern (exact: every half is a float). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  let mantissa = h & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0; // Inf, NaN (payload kept)
  if (exponent !== 0) return (sign | ((exponent - 15 + 127) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0; // ±0
  // Subnormal half: shift the mantissa up until its leading 1 becomes float32's implicit bit.
  let e = -14;
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    e -= 1;
  }
  return (sign | ((e + 127) << 23) | ((mantissa & 0x3ff) << 13)) >>> 0;
}

/** binary16 bit pattern nearest to the float32 with bits `f` (round to nearest, ties to even). */
export function f32BitsToF16Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exponent = (f >>> 23) & 0xff;
  const mantissa = f & 0x7fffff;
  if (exponent === 0xff) {
    // Inf stays Inf; NaN stays NaN (quiet bit set so a payload living in the low bits is not lost to Inf).
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  }
  const e = exponent - 127 + 15; // the half's biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // too large: Inf
  if (e <= 0) return sign | roundToHalfSubnormal(mantissa, e);
  const h = sign | (e << 10) | (mantissa >>> 13);
  return h + roundingIncrement(mantissa, 13, h); // a carry rolls correctly into the exponent (65520 → Inf)
}

/** Mantissa of the half subnormal (or smallest normal, after rounding up) nearest to a tiny float32. */
function roundToHalfSubnormal(mantissa: number, e: number): number {
  if (e < -10) return 0; // below half of the smallest subnormal 2^-24: rounds to ±0
  const full = mantissa | 0x800000; // the implicit leading 1 (float32 subnormals never get here: e < -10)
  const shift = 14 - e; // 14..24
  const h = full >>> shift;
  return h + roundingIncrement(full, shift, h);
}

/** 1 when the `shift` bits dropped from `value` round the kept value `kept` up (ties to even), else 0. */
function roundingIncrement(value: number, shift: number, kept: number): number {
  const dropped = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return dropped > half || (dropped === half && (kept & 1) === 1) ? 1 : 0;
}

/** bfloat16 is the top half of a float32, so widening is a shift. */
export function bf16BitsToF32Bits(b: number): number {
  return ((b & 0xffff) << 16) >>> 0;
}

/** bfloat16 bit pattern nearest to the float32 with bits `f` (round to nearest, ties to even). */
export function f32BitsToBf16Bits(f: number): number {
  f >>>= 0;
  if ((f & 0x7fffffff) > 0x7f800000) return (f >>> 16) | 0x40; // NaN: keep it NaN after truncation
  return ((f + 0x7fff + ((f >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The number a binary16 bit pattern stands for. */
export function f16ToNumber(h: number): number {
  return float32FromBits(f16BitsToF32Bits(h));
}

/** The number a bfloat16 bit pattern stands for. */
export function bf16ToNumber(b: number): number {
  return float32FromBits(bf16BitsToF32Bits(b));
}

/** binary16 bits nearest to `x` (first rounded to float32, as PyTorch's `.half()` on a float32 tensor). */
export function numberToF16(x: number): number {
  return f32BitsToF16Bits(float32Bits(x));
}

/** bfloat16 bits nearest to `x` (first rounded to float32). */
export function numberToBf16(x: number): number {
  return f32BitsToBf16Bits(float32Bits(x));
}

// Every half maps to one float32, so a 65,536-entry table (256 KiB, built on first use) makes
// widening a whole tensor one lookup per element.
let f16Table: Uint32Array | undefined;
function f16ToF32Table(): Uint32Array {
  if (!f16Table) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h);
  }
  return f16Table;
}

/** Widens `count` little-endian binary16 values starting at `bytes[offset]` into a new Float32Array. */
export function f16BytesToFloat32(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const table = f16ToF32Table();
  const out = new Float32Array(count);
  const outBits = new Uint32Array(out.buffer); // write bits, so NaN payloads survive
  for (let i = 0, p = offset; i < count; i++, p += 2) outBits[i] = table[bytes[p]! | (bytes[p + 1]! << 8)]!;
  return out;
}

/** Widens `count` little-endian bfloat16 values starting at `bytes[offset]` into a new Float32Array. */
export function bf16BytesToFloat32(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0, p = offset; i < count; i++, p += 2) outBits[i] = ((bytes[p]! << 16) | (bytes[p + 1]! << 24)) >>> 0;
  return out;
}
