import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16BitsToF32Bits, f16BitsToF32Bits, f32BitsToBf16Bits, f32BitsToF16Bits } from '../../src/checkpoint/float16.js';

const isF16NaN = (h: number): boolean => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const isBf16NaN = (b: number): boolean => (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;

test('a float32 NaN whose payload sits only in the low bits stays NaN, not Inf, when narrowed', () => {
  for (const bits of [0x7f800001, 0xff800001, 0x7f801fff]) {
    assert.ok(isF16NaN(f32BitsToF16Bits(bits)), `F16 of 0x${bits.toString(16)}`);
    assert.ok(isBf16NaN(f32BitsToBf16Bits(bits)), `BF16 of 0x${bits.toString(16)}`);
  }
});

test('narrowing keeps the sign of zero, infinity and NaN', () => {
  assert.equal(f32BitsToF16Bits(0x80000000), 0x8000);
  assert.equal(f32BitsToF16Bits(0xff800000), 0xfc00);
  assert.equal(f32BitsToF16Bits(0xffc00000) & 0x8000, 0x8000);
  assert.equal(f32BitsToBf16Bits(0x80000000), 0x8000);
  assert.equal(f32BitsToBf16Bits(0xff800000), 0xff80);
});

test('widening known bit patterns', () => {
  assert.equal(f16BitsToF32Bits(0x0001), 0x33800000); // 2^-24
  assert.equal(f16BitsToF32Bits(0x03ff), 0x387fc000); // largest subnormal
  assert.equal(f16BitsToF32Bits(0x3c00), 0x3f800000); // 1
  assert.equal(f16BitsToF32Bits(0xfc00), 0xff800000); // -Inf
  assert.equal(f16BitsToF32Bits(0x7e01), 0x7fc02000); // NaN payload kept
  assert.equal(bf16BitsToF32Bits(0x0001), 0x00010000); // bf16 subnormal
  assert.equal(bf16BitsToF32Bits(0xbf80), 0xbf800000); // -1
});

test('float32 subnormals narrow to ±0 in F16 and stay subnormal in BF16', () => {
  assert.equal(f32BitsToF16Bits(0x00000001), 0x0000);
  assert.equal(f32BitsToF16Bits(0x80400000), 0x8000);
  assert.equal(f32BitsToBf16Bits(0x00400000), 0x0040);
  assert.equal(f32BitsToBf16Bits(0x00008000), 0x0000); // tie to even
  assert.equal(f32BitsToBf16Bits(0x00018000), 0x0002); // tie to even, upward
});
