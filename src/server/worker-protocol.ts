/**
 * Messages between the server's event loop and its model workers. Token ids travel as flat
 * Int32Arrays whose buffers are transferred, not copied, so a 1000-document request costs the
 * event loop a few allocations instead of cloning a thousand arrays.
 */
import type { EncodedPair, RerankerInfo } from '../rerank/index.js';
import type { TruncationDirection } from '../tokenizer/pair-tokenizer.js';

export type WorkerRole = 'tokenizer' | 'inference';

export interface WorkerSetup {
  readonly role: WorkerRole;
  /** Directory, .onnx file or hub name; undefined: the shipped default model. */
  readonly source: string | undefined;
  readonly threads: number | undefined;
  readonly maxLength: number | undefined;
  readonly precision: 'fp32' | 'int8' | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Pairs laid end to end: pair i is ids[offset_i, offset_i + lengths[i]). */
export interface PackedPairs {
  readonly ids: Int32Array;
  readonly typeIds: Int32Array;
  readonly lengths: Int32Array;
}

export type HostMessage =
  | {
    readonly type: 'encode'; readonly id: number; readonly query: string; readonly documents: readonly string[]; readonly maxLength: number;
    readonly direction: TruncationDirection;
  }
  | { readonly type: 'score'; readonly id: number; readonly pairs: PackedPairs }
  | { readonly type: 'close'; readonly id: number };

/** A failure, with its class name, since Error subclasses do not survive the thread boundary. */
export interface WorkerFailure {
  readonly name: string;
  readonly message: string;
}

export type WorkerMessage =
  | { readonly type: 'ready'; readonly info: RerankerInfo | undefined }
  | { readonly type: 'load-failed'; readonly error: WorkerFailure }
  | { readonly type: 'encoded'; readonly id: number; readonly pairs: PackedPairs }
  | { readonly type: 'scored'; readonly id: number; readonly logits: Float32Array }
  | { readonly type: 'closed'; readonly id: number }
  | { readonly type: 'failed'; readonly id: number; readonly error: WorkerFailure };

export function packPairs(pairs: readonly EncodedPair[]): PackedPairs {
  const lengths = Int32Array.from(pairs, (p) => p.length);
  const total = lengths.reduce((sum, n) => sum + n, 0);
  const ids = new Int32Array(total);
  const typeIds = new Int32Array(total);
  let offset = 0;
  for (const pair of pairs) {
    ids.set(pair.ids, offset);
    typeIds.set(pair.typeIds, offset);
    offset += pair.length;
  }
  return { ids, typeIds, lengths };
}

/** Views into the packed arrays, no copies. */
export function unpackPairs(packed: PackedPairs): EncodedPair[] {
  const pairs: EncodedPair[] = [];
  let offset = 0;
  for (const length of packed.lengths) {
    pairs.push({ ids: packed.ids.subarray(offset, offset + length), typeIds: packed.typeIds.subarray(offset, offset + length), length });
    offset += length;
  }
  return pairs;
}

export function transferList(pairs: PackedPairs): ArrayBuffer[] {
  return [pairs.ids.buffer as ArrayBuffer, pairs.typeIds.buffer as ArrayBuffer, pairs.lengths.buffer as ArrayBuffer];
}

export function describeFailure(err: unknown): WorkerFailure {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
}
