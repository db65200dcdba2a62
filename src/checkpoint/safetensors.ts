/**
 * model.safetensors, read and written.
 *
 * Layout: an 8-byte little-endian u64 N, N bytes of JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`, then the
 * data buffer; offsets are relative to the start of the data buffer, which the tensors must cover
 * exactly, without gaps or overlaps (Hugging Face's loader refuses anything else, and so do we).
 *
 * `read` takes the file into one Buffer: F32 tensors come back as zero-copy views into it, F16/BF16
 * tensors as float32 copies. `open` reads only the header and each tensor when asked for it, so a
 * checkpoint whose F32 weights ONNX Runtime reads itself (see `location`) never holds them in
 * JavaScript memory.
 */
import os from 'node:os';
import { SafetensorsError } from '../errors.js';
import { readFileBytes, readFileRange, writeFileAtomic } from './files.js';
import { bf16BytesToFloat32, f16BytesToFloat32, numberToBf16, numberToF16 } from './float16.js';

/** Bytes per element of every dtype the format defines; the header of any of them parses. */
export const DTYPE_SIZES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
} as const;

export type Dtype = keyof typeof DTYPE_SIZES;

/** The dtypes model weights may have: read as float32, and written by writeSafetensors. */
export type FloatDtype = 'F32' | 'F16' | 'BF16';
export const FLOAT_DTYPES: readonly FloatDtype[] = ['F32', 'F16', 'BF16'];

export interface TensorInfo {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Absolute offset of the first byte in the file. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** Headers larger than this are corruption, not models (real ones are a few hundred KB). */
export const MAX_HEADER_BYTES = 100_000_000;

const TRUNCATED_HINT = 'the file looks truncated: re-download it';
const CORRUPT_HINT =
  'the file is corrupted or was written by a broken tool: re-download it, or re-save it with the `safetensors` library';
const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';

/** Where a tensor's bytes lie: `length` bytes from `offset` of `file`. */
export interface TensorLocation {
  /** The safetensors file, as it was opened. */
  readonly file: string;
  readonly offset: number;
  readonly length: number;
}

/** A tensor's bytes by absolute file offset and length: a view of the file in memory, or a read from disk. */
type ByteSource = (byteOffset: number, byteLength: number) => Buffer;

export class SafetensorsFile {
  private constructor(
    /** The file this was read from, for messages. */
    readonly path: string,
    private readonly bytesAt: ByteSource,
    private readonly entries: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
    private readonly aliases: ReadonlyMap<string, string>,
  ) {}

  /** Reads and validates a safetensors file. Throws FileError / SafetensorsError naming the problem. */
  static read(file: string): SafetensorsFile {
    return SafetensorsFile.parse(readFileBytes(file), file);
  }

  /** Validates safetensors bytes already in memory; `file` names them in errors. */
  static parse(buffer: Buffer, file: string): SafetensorsFile {
    return SafetensorsFile.fromHeader(buffer, buffer.length, file, (offset, length) => buffer.subarray(offset, offset + length));
  }

  /**
   * Reads and validates the header only; tensors are read from disk when asked for. The file must
   * stay as it is while this object is in use.
   */
  static open(file: string): SafetensorsFile {
    const { bytes: lengthField, fileSize } = readFileRange(file, 0, 8);
    const declared = lengthField.length === 8 ? lengthField.readBigUInt64LE(0) : 0n;
    const headerBytes = declared > 0n && declared <= BigInt(MAX_HEADER_BYTES) && 8 + Number(declared) <= fileSize ? Number(declared) : 0;
    // parseHeader reports a short, oversized or truncated header from these bytes and the file size.
    const head = headerBytes > 0 ? Buffer.concat([lengthField, readFileRange(file, 8, headerBytes).bytes]) : lengthField;
    return SafetensorsFile.fromHeader(head, fileSize, file, (offset, length) => readFileRange(file, offset, length).bytes);
  }

  private static fromHeader(head: Buffer, fileSize: number, file: string, bytesAt: ByteSource): SafetensorsFile {
    const header = parseHeader(head, file, fileSize);
    const dataStart = 8 + header.length;
    const dataLength = fileSize - dataStart;
    const entries = new Map<string, TensorInfo>();
    let metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(header.json)) {
      if (name === '__metadata__') metadata = parseMetadata(value, file);
      else entries.set(name, parseEntry(name, value, dataStart, dataLength, file));
    }
    checkCoverage([...entries.values()], dataStart, fileSize, file);
    return new SafetensorsFile(file, bytesAt, entries, Object.freeze(metadata), new Map());
  }

  /**
   * The same file, where each key of `aliases` also finds the tensor stored under its value
   * (e.g. `LayerNorm.weight` → `LayerNorm.gamma` in old checkpoints).
   */
  withAliases(aliases: ReadonlyMap<string, string>): SafetensorsFile {
    return new SafetensorsFile(this.path, this.bytesAt, this.entries, this.metadata, new Map([...this.aliases, ...aliases]));
  }

  /**
   * Where a tensor's bytes lie in the file, for readers that take them as they are (ONNX Runtime's
   * external data): F32 tensors on a little-endian host. Undefined for other dtypes, which need
   * converting to float32 first.
   */
  location(name: string): TensorLocation | undefined {
    const t = this.info(name);
    if (t.dtype !== 'F32' || !LITTLE_ENDIAN_HOST) return undefined;
    return { file: this.path, offset: t.byteOffset, length: t.byteLength };
  }

  /** Tensor names as stored, in header order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  tensors(): TensorInfo[] {
    return [...this.entries.values()];
  }

  has(name: string): boolean {
    return this.lookup(name) !== undefined;
  }

  shape(name: string): readonly number[] | undefined {
    return this.lookup(name)?.shape;
  }

  info(name: string): TensorInfo {
    const info = this.lookup(name);
    if (!info) {
      const some = this.names().slice(0, 3).join(', ');
      const holds = some ? `it holds ${this.entries.size} tensors, e.g. ${some}` : 'it holds no tensors';
      throw new SafetensorsError(this.path, `has no tensor "${name}" (${holds})`);
    }
    return info;
  }

  /** The raw bytes of a tensor: without copying from a file in memory, read from disk otherwise. */
  bytes(name: string): Uint8Array {
    const t = this.info(name);
    return this.bytesAt(t.byteOffset, t.byteLength);
  }

  /**
   * A tensor's values as float32, row-major. F32 on a little-endian host at a 4-byte aligned
   * offset comes back as a view into the file buffer (do not write to it); F16/BF16 are widened copies.
   */
  float32(name: string): Float32Array {
    const t = this.info(name);
    const count = t.byteLength / DTYPE_SIZES[t.dtype];
    switch (t.dtype) {
      case 'F32':
        return this.f32(t, count);
      case 'F16':
        return f16BytesToFloat32(this.bytesAt(t.byteOffset, t.byteLength), 0, count);
      case 'BF16':
        return bf16BytesToFloat32(this.bytesAt(t.byteOffset, t.byteLength), 0, count);
      default:
        throw new SafetensorsError(
          this.path,
          `tensor "${t.name}" has dtype ${t.dtype}; only F32, F16 and BF16 tensors can be read as float32`,
        );
    }
  }

  private lookup(name: string): TensorInfo | undefined {
    return this.entries.get(this.aliases.get(name) ?? name);
  }

  private f32(t: TensorInfo, count: number): Float32Array {
    const bytes = this.bytesAt(t.byteOffset, t.byteLength);
    if (LITTLE_ENDIAN_HOST && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    // A header length that is not a multiple of 4 misaligns the data (the format allows it): copy the bits.
    const out = new Float32Array(count);
    const outBits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) outBits[i] = bytes.readUInt32LE(4 * i);
    return out;
  }
}

/** Reads and validates a safetensors file (same as SafetensorsFile.read). */
export function readSafetensors(file: string): SafetensorsFile {
  return SafetensorsFile.read(file);
}

// ---------------------------------------------------------------------------------------------
// Header validation

interface Header {
  readonly length: number;
  readonly json: Record<string, unknown>;
}

/** `buffer` holds at least the length field and, when it fits the file, the header; `fileSize` is the whole file's. */
function parseHeader(buffer: Buffer, file: string, fileSize: number): Header {
  if (fileSize < 8) {
    throw new SafetensorsError(file, `is ${fileSize} bytes long, too short to hold the 8-byte header length`, TRUNCATED_HINT);
  }
  const declared = buffer.readBigUInt64LE(0);
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      file,
      `declares a ${declared}-byte JSON header, over the ${MAX_HEADER_BYTES}-byte limit: this is not a safetensors file`,
      CORRUPT_HINT,
    );
  }
  const length = Number(declared);
  if (8 + length > fileSize) {
    throw new SafetensorsError(
      file,
      `declares a ${length}-byte JSON header but the file has only ${fileSize - 8} bytes after the length field`,
      TRUNCATED_HINT,
    );
  }
  const text = decodeHeaderText(buffer.subarray(8, 8 + length), file);
  return { length, json: parseHeaderJson(text, file) };
}

function decodeHeaderText(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SafetensorsError(file, 'JSON header is not valid UTF-8', CORRUPT_HINT);
  }
}

function parseHeaderJson(text: string, file: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SafetensorsError(file, `JSON header does not parse (${reason})`, CORRUPT_HINT);
  }
  if (!isPlainObject(json)) throw new SafetensorsError(file, 'JSON header is not an object of tensors', CORRUPT_HINT);
  const duplicate = firstDuplicate(topLevelKeys(text));
  if (duplicate !== undefined) {
    throw new SafetensorsError(file, `tensor "${duplicate}" appears twice in the JSON header`, CORRUPT_HINT);
  }
  return json;
}

function parseMetadata(value: unknown, file: string): Record<string, string> {
  const ok = isPlainObject(value) && Object.values(value).every((v) => typeof v === 'string');
  if (!ok) throw new SafetensorsError(file, '"__metadata__" must be an object of string values', CORRUPT_HINT);
  return { ...(value as Record<string, string>) };
}

function parseEntry(name: string, raw: unknown, dataStart: number, dataLength: number, file: string): TensorInfo {
  const fail = (problem: string, hint = CORRUPT_HINT): never => {
    throw new SafetensorsError(file, `tensor "${name}": ${problem}`, hint);
  };
  if (!isPlainObject(raw)) return fail('its header entry is not an object');
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_SIZES, dtype)) {
    return fail(`unknown dtype ${JSON.stringify(dtype)}`, `known dtypes: ${Object.keys(DTYPE_SIZES).join(', ')}`);
  }
  if (!isCountList(shape)) return fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  if (!isCountList(offsets) || offsets.length !== 2) {
    return fail(`data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) return fail(`data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) {
    return fail(`data_offsets [${begin}, ${end}] run past the end of the ${dataLength}-byte data buffer`, TRUNCATED_HINT);
  }
  const size = DTYPE_SIZES[dtype as Dtype];
  const needed = shape.reduce((a, b) => a * b, 1) * size;
  if (needed !== end - begin) {
    return fail(`data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape ${formatShape(shape)} of ${dtype} needs ${needed}`);
  }
  return { name, dtype: dtype as Dtype, shape: Object.freeze([...shape]), byteOffset: dataStart + begin, byteLength: end - begin };
}

/** The tensors must tile the data buffer exactly: no overlaps, no unused bytes between or after them. */
function checkCoverage(tensors: TensorInfo[], dataStart: number, fileLength: number, file: string): void {
  const relative = (t: TensorInfo): string => `[${t.byteOffset - dataStart}, ${t.byteOffset - dataStart + t.byteLength}]`;
  const sorted = [...tensors].sort((a, b) => a.byteOffset - b.byteOffset || a.byteLength - b.byteLength);
  let cursor = dataStart;
  let previous: TensorInfo | undefined;
  for (const t of sorted) {
    if (t.byteOffset < cursor && previous) {
      throw new SafetensorsError(
        file,
        `tensors "${previous.name}" ${relative(previous)} and "${t.name}" ${relative(t)} overlap`,
        CORRUPT_HINT,
      );
    }
    if (t.byteOffset > cursor) {
      const after = previous ? `after tensor "${previous.name}" ` : 'at the start of the data buffer ';
      throw new SafetensorsError(
        file,
        `${t.byteOffset - cursor} unused bytes ${after}before tensor "${t.name}" ${relative(t)}: the data buffer must be fully covered`,
        CORRUPT_HINT,
      );
    }
    cursor = t.byteOffset + t.byteLength;
    previous = t;
  }
  if (cursor < fileLength) {
    const after = previous ? `after the last tensor "${previous.name}" ${relative(previous)}` : 'and no tensors';
    throw new SafetensorsError(file, `${fileLength - cursor} unused bytes at the end of the data buffer ${after}`, CORRUPT_HINT);
  }
}

/**
 * The keys of a JSON object text's outermost object, in order and with repeats: JSON.parse keeps
 * only the last of two equal keys, and a duplicated tensor name must not pass silently.
 * `text` must already be known to be valid JSON.
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = endOfString(text, i);
      if (depth === 1 && nextNonSpace(text, end) === ':') keys.push(JSON.parse(text.slice(i, end)) as string);
      i = end - 1;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

/** Index just past the closing quote of the JSON string that opens at `start`. */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

function nextNonSpace(text: string, from: number): string | undefined {
  let i = from;
  while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  return text[i];
}

function firstDuplicate(names: string[]): string | undefined {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCountList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => Number.isSafeInteger(v) && (v as number) >= 0);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface TensorToWrite {
  readonly name: string;
  readonly dtype: FloatDtype;
  readonly shape: readonly number[];
  /** Row-major values; converted to `dtype` (round to nearest even) when that is F16 or BF16. */
  readonly data: Float32Array | readonly number[];
}

/**
 * Writes tensors as a safetensors file, atomically (a temporary file in the same folder, fsynced,
 * then renamed), so a crash mid-write never leaves a half-written checkpoint behind.
 */
export function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata?: Readonly<Record<string, string>>): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata, file));
}

/** The bytes of a safetensors file holding `tensors` in the given order. `file` names it in errors. */
export function encodeSafetensors(
  tensors: readonly TensorToWrite[],
  metadata?: Readonly<Record<string, string>>,
  file = 'safetensors output',
): Buffer {
  const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>; // a tensor may be called "__proto__"
  if (metadata) header['__metadata__'] = parseMetadata(metadata, file);
  let offset = 0;
  for (const t of tensors) {
    checkTensorToWrite(t, header, file);
    const byteLength = t.data.length * DTYPE_SIZES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + byteLength] };
    offset += byteLength;
  }
  const headerBytes = paddedHeader(JSON.stringify(header));
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let position = 8 + headerBytes.length;
  for (const t of tensors) position = encodeTensor(t, out, position);
  return out;
}

function checkTensorToWrite(t: TensorToWrite, header: Record<string, unknown>, file: string): void {
  const fail = (problem: string): never => {
    throw new SafetensorsError(file, `cannot write tensor "${t.name}": ${problem}`);
  };
  if (t.name === '' || t.name === '__metadata__') fail('that name is reserved');
  if (Object.hasOwn(header, t.name)) fail('two tensors have that name');
  if (!FLOAT_DTYPES.includes(t.dtype)) fail(`dtype ${JSON.stringify(t.dtype)} is not one of ${FLOAT_DTYPES.join(', ')}`);
  if (!isCountList(t.shape)) fail(`shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`);
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (count !== t.data.length) fail(`shape ${formatShape(t.shape)} has ${count} elements but data has ${t.data.length}`);
}

/** The header padded with spaces so the data buffer starts 8-byte aligned, as the reference writer does. */
function paddedHeader(json: string): Buffer {
  const length = Buffer.byteLength(json, 'utf8');
  return Buffer.from(json + ' '.repeat((8 - (length % 8)) % 8), 'utf8');
}

function encodeTensor(t: TensorToWrite, out: Buffer, position: number): number {
  const { data } = t;
  if (t.dtype === 'F32') {
    if (data instanceof Float32Array && LITTLE_ENDIAN_HOST) {
      Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, position); // keeps every bit
    } else {
      for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i]!, position + 4 * i);
    }
    return position + 4 * data.length;
  }
  const toBits = t.dtype === 'F16' ? numberToF16 : numberToBf16;
  for (let i = 0; i < data.length; i++) out.writeUInt16LE(toBits(data[i]!), position + 2 * i);
  return position + 2 * data.length;
}
