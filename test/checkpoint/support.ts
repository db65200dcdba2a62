/** Helpers shared by the checkpoint tests: temp copies of fixtures and hand-built safetensors bytes. */
import fs from 'node:fs';
import path from 'node:path';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/checkpoint/safetensors.js';
import { fixtureDir, tempDir, type GoldenFixture } from '../helpers.js';

/** A fresh copy of a fixture folder that a test may edit. */
export function copyFixture(name: GoldenFixture): string {
  const dir = path.join(tempDir('turborank-checkpoint-'), name);
  fs.cpSync(fixtureDir(name), dir, { recursive: true });
  return dir;
}

export interface RawTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** Safetensors bytes built by hand (not by the code under test), tensors laid out back to back. */
export function buildSafetensors(tensors: readonly RawTensor[]): Buffer {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  return rawSafetensors(JSON.stringify(header), Buffer.concat(tensors.map((t) => t.bytes)));
}

/** An 8-byte length, the header text and the data, exactly as given (declared length overridable). */
export function rawSafetensors(headerText: string, data: Uint8Array, declaredLength?: bigint): Buffer {
  const header = Buffer.from(headerText, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(declaredLength ?? BigInt(header.length));
  return Buffer.concat([length, header, data]);
}

export function f32Bytes(values: readonly number[]): Buffer {
  const out = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => out.writeFloatLE(v, 4 * i));
  return out;
}

/** Writes `bytes` to a new file in a temp folder and returns its path. */
export function writeTemp(bytes: Uint8Array, name = 'model.safetensors'): string {
  const file = path.join(tempDir('turborank-st-'), name);
  fs.writeFileSync(file, bytes);
  return file;
}

/**
 * Rewrites a checkpoint's model.safetensors, all tensors as float32, after `edit` (which may
 * rename, drop, reshape or add tensors).
 */
export function rewriteWeights(dir: string, edit: (tensors: TensorToWrite[]) => TensorToWrite[]): void {
  const file = path.join(dir, 'model.safetensors');
  const weights = SafetensorsFile.read(file);
  const tensors = weights.tensors().map((t) => ({
    name: t.name,
    dtype: 'F32' as const,
    shape: t.shape,
    data: Float32Array.from(weights.float32(t.name)),
  }));
  writeSafetensors(file, edit(tensors));
}

export function editConfig(dir: string, edit: (config: Record<string, unknown>) => void): void {
  const file = path.join(dir, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(config);
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
}
