/**
 * Length-bucketed batching: sort pairs by length, cut batches under a count and a token
 * budget (rows × padded width), so short pairs never pay for a long one's padding.
 * Results are returned in input order.
 */
import type { EncodedPair } from '../tokenizer/batch.js';

export interface BatchPlanOptions {
  /** Most pairs in one batch. */
  readonly maxBatchSize: number;
  /** Most padded tokens (rows × longest row) in one batch; a single longer pair still runs alone. */
  readonly maxBatchTokens: number;
}

export const DEFAULT_BATCH_PLAN: BatchPlanOptions = { maxBatchSize: 32, maxBatchTokens: 8192 };

/** Indices into `pairs`, grouped into batches of similar length, longest first. */
export function planBatches(pairs: readonly EncodedPair[], options: BatchPlanOptions = DEFAULT_BATCH_PLAN): number[][] {
  const order = pairs.map((_, i) => i).sort((a, b) => pairs[b]!.length - pairs[a]!.length || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  let width = 0;
  for (const index of order) {
    const len = pairs[index]!.length;
    const newWidth = Math.max(width, len);
    const fits = current.length < options.maxBatchSize && newWidth * (current.length + 1) <= options.maxBatchTokens;
    if (current.length > 0 && !fits) {
      batches.push(current);
      current = [];
    }
    width = current.length === 0 ? len : newWidth;
    current.push(index);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Fraction of computed token slots that are padding, for a plan. */
export function paddingFraction(pairs: readonly EncodedPair[], batches: readonly number[][]): number {
  let real = 0;
  let computed = 0;
  for (const batch of batches) {
    const width = Math.max(...batch.map((i) => pairs[i]!.length));
    computed += width * batch.length;
    for (const i of batch) real += pairs[i]!.length;
  }
  return computed === 0 ? 0 : 1 - real / computed;
}
