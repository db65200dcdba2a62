/**
 * Packing encoded pairs into the dense, right-padded int64 tensors ONNX Runtime takes.
 * ONNX BERT-style graphs declare input_ids / attention_mask / token_type_ids as int64,
 * hence BigInt64Array rather than Int32Array.
 */

/** One (query, document) pair after tokenization: special tokens included, no padding. */
export interface EncodedPair {
  /** Token ids, `length` of them. */
  readonly ids: Int32Array | readonly number[];
  /** Segment ids (0 = query side, 1 = document side for BERT; all 0 for RoBERTa-style). */
  readonly typeIds: Int32Array | readonly number[];
  /** Number of real tokens (= ids.length). */
  readonly length: number;
}

/** A batch of pairs as row-major [batchSize, seqLen] tensors, right-padded. */
export interface TokenBatch {
  batchSize: number;
  /** Width of every row: the longest pair in the batch. */
  seqLen: number;
  /** [batchSize, seqLen]; padding positions hold the tokenizer's pad id. */
  inputIds: BigInt64Array;
  /** [batchSize, seqLen]; 1 for real tokens, 0 for padding. */
  attentionMask: BigInt64Array;
  /** [batchSize, seqLen]; 0 at padding positions. */
  tokenTypeIds: BigInt64Array;
  /** [batchSize]; real tokens per row, so callers can drop padding again. */
  lengths: Int32Array;
}

/**
 * Right-pads every pair to the longest in the batch. Padding only to the batch's own
 * longest member (not to a fixed max length) keeps attention cost proportional to the
 * real text; the runtime groups pairs of similar length to make this pay off.
 */
export function packBatch(encoded: readonly EncodedPair[], padId: number): TokenBatch {
  const batchSize = encoded.length;
  const seqLen = encoded.reduce((longest, pair) => Math.max(longest, pair.length), 0);
  const size = batchSize * seqLen;
  const inputIds = new BigInt64Array(size).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(size); // zero-filled: padding is masked out
  const tokenTypeIds = new BigInt64Array(size); // zero-filled: padding has type 0
  const lengths = new Int32Array(batchSize);
  encoded.forEach((pair, row) => {
    writeRow(pair, row * seqLen, inputIds, attentionMask, tokenTypeIds);
    lengths[row] = pair.length;
  });
  return { batchSize, seqLen, inputIds, attentionMask, tokenTypeIds, lengths };
}

function writeRow(
  pair: EncodedPair,
  offset: number,
  inputIds: BigInt64Array,
  attentionMask: BigInt64Array,
  tokenTypeIds: BigInt64Array,
): void {
  for (let i = 0; i < pair.length; i++) {
    inputIds[offset + i] = BigInt(pair.ids[i] ?? 0);
    attentionMask[offset + i] = 1n;
    tokenTypeIds[offset + i] = BigInt(pair.typeIds[i] ?? 0);
  }
}
