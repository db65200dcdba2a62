import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FileError, SafetensorsError } from '../../src/errors.js';
import { MAX_HEADER_BYTES, SafetensorsFile, encodeSafetensors, writeSafetensors } from '../../src/checkpoint/safetensors.js';
import { GOLDEN_FIXTURES, fixtureDir, tempDir } from '../helpers.js';
import { buildSafetensors, f32Bytes, rawSafetensors, writeTemp } from './support.js';

interface IndependentEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The header read without the code under test. */
function readHeaderIndependently(file: string): { dataStart: number; entries: Record<string, IndependentEntry> } {
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const json = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, IndependentEntry>;
  delete json['__metadata__'];
  return { dataStart: 8 + n, entries: json };
}

for (const name of GOLDEN_FIXTURES) {
  test(`${name}: every tensor's dtype, shape and absolute offsets match the header`, () => {
    const file = path.join(fixtureDir(name), 'model.safetensors');
    const { dataStart, entries } = readHeaderIndependently(file);
    const weights = SafetensorsFile.read(file);
    assert.deepEqual(weights.names().sort(), Object.keys(entries).sort());
    for (const [tensor, e] of Object.entries(entries)) {
      const info = weights.info(tensor);
      assert.equal(info.dtype, e.dtype);
      assert.deepEqual(info.shape, e.shape);
      assert.equal(info.byteOffset, dataStart + e.data_offsets[0]);
      assert.equal(info.byteLength, e.data_offsets[1] - e.data_offsets[0]);
    }
    assert.deepEqual(weights.metadata, { format: 'pt' });
  });
}

test('float32 of an F32 tensor is a zero-copy view holding the values in the file', () => {
  const file = path.join(fixtureDir('jinabert-tiny-golden'), 'model.safetensors');
  const bytes = fs.readFileSync(file);
  const { dataStart, entries } = readHeaderIndependently(file);
  const weights = SafetensorsFile.read(file);
  for (const [tensor, e] of Object.entries(entries)) {
    const values = weights.float32(tensor);
    assert.equal(values.buffer, weights.bytes(tensor).buffer, `${tensor} should share the file's memory`);
    assert.equal(values.length, e.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i += 97) {
      assert.equal(values[i], bytes.readFloatLE(dataStart + e.data_offsets[0] + 4 * i), `${tensor}[${i}]`);
    }
  }
});

for (const name of GOLDEN_FIXTURES) {
  test(`${name}: opened header-first, every tensor reads from disk as it does from the whole file`, () => {
    const file = path.join(fixtureDir(name), 'model.safetensors');
    const whole = SafetensorsFile.read(file);
    const opened = SafetensorsFile.open(file);
    assert.deepEqual(opened.tensors(), whole.tensors());
    assert.deepEqual(opened.metadata, whole.metadata);
    for (const t of whole.tensors()) {
      assert.deepEqual(opened.float32(t.name), whole.float32(t.name), t.name);
      const where = opened.location(t.name)!;
      assert.deepEqual(fs.readFileSync(file).subarray(where.offset, where.offset + where.length), Buffer.from(whole.bytes(t.name)), `${t.name} location`);
    }
  });
}

test('float32 of an F32 tensor at a misaligned offset is a correct copy', () => {
  let text = JSON.stringify({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } });
  while ((8 + text.length) % 4 !== 2) text += ' '; // data starts 2 bytes past a 4-byte boundary
  const weights = SafetensorsFile.parse(rawSafetensors(text, f32Bytes([1.5, -2, 3.25])), 'x.safetensors');
  assert.deepEqual([...weights.float32('a')], [1.5, -2, 3.25]);
});

test('headers of integer and bool tensors parse; float32() refuses them naming the tensor', () => {
  const bytes = buildSafetensors([
    { name: 'position_ids', dtype: 'I64', shape: [1, 2], bytes: new Uint8Array(16) },
    { name: 'mask', dtype: 'BOOL', shape: [3], bytes: new Uint8Array(3) },
    { name: 'ids', dtype: 'I32', shape: [1], bytes: new Uint8Array(4) },
    { name: 'u', dtype: 'U8', shape: [0], bytes: new Uint8Array(0) },
  ]);
  const weights = SafetensorsFile.parse(bytes, 'ints.safetensors');
  assert.deepEqual(weights.info('position_ids').shape, [1, 2]);
  assert.equal(weights.info('mask').dtype, 'BOOL');
  assert.equal(weights.bytes('mask').length, 3);
  assert.throws(() => weights.float32('position_ids'), (e: unknown) => e instanceof SafetensorsError && /position_ids.*I64/.test(e.message));
});

test('asking for a tensor that is not there names the file and the tensor', () => {
  const weights = SafetensorsFile.read(path.join(fixtureDir('bert-minilm-golden'), 'model.safetensors'));
  assert.equal(weights.has('nope.weight'), false);
  assert.throws(() => weights.float32('nope.weight'), /bert-minilm-golden.*model\.safetensors.*"nope\.weight"/s);
});

// --- writing ---------------------------------------------------------------------------------

const SPECIALS = [0, -0, 1, -2.5, 0.1, Infinity, -Infinity, NaN];

function roundTrip(dtype: 'F32' | 'F16' | 'BF16', values: number[]): Float32Array {
  const file = path.join(tempDir(), 'rt.safetensors');
  writeSafetensors(file, [{ name: 't', dtype, shape: [values.length], data: values }]);
  const weights = SafetensorsFile.read(file);
  assert.equal(weights.info('t').dtype, dtype);
  return weights.float32('t');
}

/** assert.equal that tells -0 from 0 and accepts NaN for NaN. */
function assertSameValues(actual: ArrayLike<number>, expected: readonly number[]): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Object.is(actual[i], expected[i]), `[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

test('F32 round trip through writeSafetensors keeps every value exactly', () => {
  const values = [...SPECIALS, 1e-45, 3.4028234663852886e38, Math.PI];
  assertSameValues(roundTrip('F32', values), values.map(Math.fround));
});

test('F16 round trip: specials, subnormals, overflow and round-to-nearest-even', () => {
  const input = [
    ...SPECIALS,
    2 ** -24, // smallest subnormal
    1023 * 2 ** -24, // largest subnormal
    2 ** -14, // smallest normal
    2 ** -25, // exactly half the smallest subnormal: ties to even → 0
    3 * 2 ** -25, // 1.5 subnormal steps: ties to even → 2 steps
    1e-8, // far below: 0
    -1e-8, // far below: -0
    65504, // largest half
    65519, // rounds down to 65504
    65520, // tie at the top: rounds to even → Inf
    1 + 2 ** -11, // tie: → 1
    1 + 3 * 2 ** -11, // tie: → 1 + 2^-9
  ];
  const expected = [0, -0, 1, -2.5, 0.0999755859375, Infinity, -Infinity, NaN, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 0, 2 * 2 ** -24, 0, -0, 65504, 65504, Infinity, 1, 1 + 2 ** -9];
  assertSameValues(roundTrip('F16', input), expected);
});

test('BF16 round trip: specials, subnormals and round-to-nearest-even', () => {
  const input = [
    ...SPECIALS,
    2 ** -133, // smallest bf16 subnormal
    2 ** -126, // smallest normal
    1 + 2 ** -8, // tie: → 1
    1 + 3 * 2 ** -8, // tie: → 1 + 2^-6
    3.3895313892515355e38, // largest bf16
    3.4028234663852886e38, // largest float32: rounds up to Inf
  ];
  const expected = [0, -0, 1, -2.5, 0.10009765625, Infinity, -Infinity, NaN, 2 ** -133, 2 ** -126, 1, 1 + 2 ** -6, 3.3895313892515355e38, Infinity];
  assertSameValues(roundTrip('BF16', input), expected);
});

test('every F16 and every BF16 value survives float32 and back bit for bit', () => {
  for (const dtype of ['F16', 'BF16'] as const) {
    const raw = new Uint8Array(2 * 65536);
    for (let h = 0; h < 65536; h++) {
      raw[2 * h] = h & 0xff;
      raw[2 * h + 1] = h >> 8;
    }
    const file = buildSafetensors([{ name: 'all', dtype, shape: [65536], bytes: raw }]);
    const widened = SafetensorsFile.parse(file, 'all.safetensors').float32('all');
    const back = SafetensorsFile.parse(encodeSafetensors([{ name: 'all', dtype, shape: [65536], data: widened }]), 'back').bytes('all');
    const nanBits = dtype === 'F16' ? { exponent: 0x7c00, mantissa: 0x3ff } : { exponent: 0x7f80, mantissa: 0x7f };
    for (let h = 0; h < 65536; h++) {
      const bits = back[2 * h]! | (back[2 * h + 1]! << 8);
      const isNaN = (b: number): boolean => (b & nanBits.exponent) === nanBits.exponent && (b & nanBits.mantissa) !== 0;
      if (isNaN(h)) assert.ok(Number.isNaN(widened[h]) && isNaN(bits), `${dtype} NaN 0x${h.toString(16)} → 0x${bits.toString(16)}`);
      else assert.equal(bits, h, `${dtype} bits 0x${h.toString(16)} came back as 0x${bits.toString(16)}`);
    }
  }
});

test('writeSafetensors keeps metadata, 8-aligns the data and leaves no temporary file behind', () => {
  const dir = tempDir();
  const file = path.join(dir, 'model.safetensors');
  fs.writeFileSync(file, 'old contents');
  writeSafetensors(
    file,
    [
      { name: 'a', dtype: 'F16', shape: [3], data: [1, 2, 3] },
      { name: 'b', dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
    ],
    { format: 'pt', note: 'ünïcode' },
  );
  assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
  const weights = SafetensorsFile.read(file);
  assert.deepEqual(weights.metadata, { format: 'pt', note: 'ünïcode' });
  assert.equal(weights.info('a').byteOffset % 8, 0);
  assert.deepEqual([...weights.float32('b')], [1, 2, 3, 4]);
});

test('writeSafetensors refuses data that does not fill the shape, and duplicate names', () => {
  const file = path.join(tempDir(), 'bad.safetensors');
  assert.throws(() => writeSafetensors(file, [{ name: 'w', dtype: 'F32', shape: [2, 3], data: [1, 2] }]), /"w".*\[2,3\] has 6 elements but data has 2/);
  assert.throws(
    () =>
      writeSafetensors(file, [
        { name: 'w', dtype: 'F32', shape: [1], data: [1] },
        { name: 'w', dtype: 'F32', shape: [1], data: [1] },
      ]),
    /"w".*two tensors/,
  );
  assert.equal(fs.existsSync(file), false);
});

// --- malformed files -------------------------------------------------------------------------

/**
 * Asserts that the bytes are refused with a SafetensorsError naming the file and each of `mentions`,
 * both when read whole and when opened header-first.
 */
function assertRefused(bytes: Uint8Array, mentions: readonly (string | RegExp)[]): void {
  const file = writeTemp(bytes);
  for (const load of [SafetensorsFile.read, SafetensorsFile.open]) {
    assert.throws(
      () => load(file),
      (error: unknown) => {
        assert.ok(error instanceof SafetensorsError, `${load.name}: expected a SafetensorsError, got ${String(error)}`);
        assert.ok(error.message.startsWith(file + ':'), `message should start with the file: ${error.message}`);
        for (const m of mentions) assert.match(error.message, typeof m === 'string' ? new RegExp(escape(m)) : m);
        return true;
      },
    );
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const header = (entries: Record<string, unknown>): string => JSON.stringify(entries);
const f32 = (shape: number[], begin: number, end: number): unknown => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

test('a truncated file is refused naming the tensor that runs off the end and suggesting a re-download', () => {
  const whole = fs.readFileSync(path.join(fixtureDir('jinabert-tiny-golden'), 'model.safetensors'));
  assertRefused(whole.subarray(0, whole.length - 100), ['"classifier.weight"', 'past the end', 're-download']);
});

test('a file shorter than the length field is refused', () => {
  assertRefused(Buffer.from([1, 2, 3]), ['3 bytes long', 'truncated']);
});

test('a header length past the end of the file is refused', () => {
  assertRefused(rawSafetensors('{}', new Uint8Array(0), 5000n), ['5000-byte JSON header', 'truncated']);
});

test('an absurd header length is refused without allocating it', () => {
  assertRefused(rawSafetensors('{}', new Uint8Array(0), BigInt(MAX_HEADER_BYTES) + 1n), ['limit']);
  assertRefused(rawSafetensors('{}', new Uint8Array(0), 2n ** 63n), ['limit']);
});

test('a header that is not JSON is refused', () => {
  assertRefused(rawSafetensors('{"a": {"dtype": "F32",', new Uint8Array(0)), ['does not parse']);
  assertRefused(rawSafetensors('[1, 2]', new Uint8Array(0)), ['not an object']);
});

test('data_offsets outside the data buffer are refused naming the tensor', () => {
  assertRefused(rawSafetensors(header({ w: f32([4], 0, 16) }), f32Bytes([1, 2])), ['"w"', '[0, 16]', 'past the end of the 8-byte data buffer']);
});

test('overlapping tensors are refused naming both', () => {
  const text = header({ a: f32([4], 0, 16), b: f32([4], 8, 24) });
  assertRefused(rawSafetensors(text, new Uint8Array(24)), ['"a" [0, 16]', '"b" [8, 24]', 'overlap']);
});

test('a byte size that does not match shape × dtype is refused', () => {
  assertRefused(rawSafetensors(header({ w: f32([3], 0, 16) }), new Uint8Array(16)), ['"w"', 'hold 16 bytes', '[3] of F32 needs 12']);
});

test('an unknown dtype is refused naming the tensor and the dtype', () => {
  const text = header({ w: { dtype: 'F17', shape: [1], data_offsets: [0, 4] } });
  assertRefused(rawSafetensors(text, new Uint8Array(4)), ['"w"', 'unknown dtype "F17"']);
});

test('unused bytes between tensors are refused naming the tensors around the gap', () => {
  const text = header({ a: f32([2], 0, 8), b: f32([2], 16, 24) });
  assertRefused(rawSafetensors(text, new Uint8Array(24)), ['8 unused bytes after tensor "a"', 'before tensor "b"']);
});

test('unused bytes after the last tensor are refused', () => {
  assertRefused(rawSafetensors(header({ a: f32([2], 0, 8) }), new Uint8Array(12)), ['4 unused bytes', '"a"']);
});

test('a tensor name given twice is refused', () => {
  const entry = JSON.stringify(f32([1], 0, 4));
  assertRefused(rawSafetensors(`{"w": ${entry}, "w" : ${entry}}`, new Uint8Array(4)), ['"w" appears twice']);
});

test('malformed shapes and offsets are refused naming the tensor', () => {
  const bad = (entry: unknown): Buffer => rawSafetensors(header({ w: entry }), new Uint8Array(4));
  assertRefused(bad({ dtype: 'F32', shape: [-1], data_offsets: [0, 4] }), ['"w"', 'shape [-1]']);
  assertRefused(bad({ dtype: 'F32', shape: [1.5], data_offsets: [0, 4] }), ['"w"', 'shape [1.5]']);
  assertRefused(bad({ dtype: 'F32', shape: [1], data_offsets: [4, 0] }), ['"w"', 'end before they begin']);
  assertRefused(bad({ dtype: 'F32', shape: [1], data_offsets: [0] }), ['"w"', 'data_offsets [0]']);
  assertRefused(bad({ dtype: 'F32', data_offsets: [0, 4] }), ['"w"', 'shape undefined']);
  assertRefused(bad('F32'), ['"w"', 'not an object']);
});

test('__metadata__ that is not a map of strings is refused', () => {
  assertRefused(rawSafetensors(header({ __metadata__: { format: 1 } }), new Uint8Array(0)), ['__metadata__']);
});

test('empty tensors and an empty file of tensors are valid', () => {
  const weights = SafetensorsFile.parse(rawSafetensors(header({ e: f32([0, 4], 0, 0) }), new Uint8Array(0)), 'e.safetensors');
  assert.equal(weights.float32('e').length, 0);
  assert.equal(SafetensorsFile.parse(rawSafetensors('{}', new Uint8Array(0)), 'none').names().length, 0);
});

test('names that are also Object properties are ordinary tensor names and dtypes are not', () => {
  const text = header({ constructor: f32([1], 0, 4), __proto__x: f32([1], 4, 8) }).replace('__proto__x', '__proto__');
  const weights = SafetensorsFile.parse(rawSafetensors(text, f32Bytes([1, 2])), 'proto.safetensors');
  assert.deepEqual([...weights.float32('__proto__')], [2]);
  assert.deepEqual([...weights.float32('constructor')], [1]);
  const written = encodeSafetensors([{ name: '__proto__', dtype: 'F32', shape: [1], data: [5] }]);
  assert.deepEqual([...SafetensorsFile.parse(written, 'w').float32('__proto__')], [5]);
  assertRefused(rawSafetensors(header({ w: { dtype: 'toString', shape: [1], data_offsets: [0, 4] } }), new Uint8Array(4)), ['unknown dtype "toString"']);
});

test('a missing file or a folder is a FileError naming the path', () => {
  const dir = tempDir();
  assert.throws(() => SafetensorsFile.read(path.join(dir, 'none.safetensors')), (e: unknown) => e instanceof FileError && /none\.safetensors: does not exist/.test(e.message));
  assert.throws(() => SafetensorsFile.read(dir), (e: unknown) => e instanceof FileError && e.message.startsWith(`${dir}: is a directory`));
});
