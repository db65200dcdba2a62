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
  /**
   * What one more batch costs, in padded tokens' worth of work (ONNX Runtime's per-run overhead:
   * launching kernels, smaller matrix products). Default DEFAULT_BATCH_OVERHEAD_TOKENS.
   */
  readonly batchOverheadTokens?: number;
}

export const DEFAULT_BATCH_PLAN: BatchPlanOptions = { maxBatchSize: 32, maxBatchTokens: 8192 };

/**
 * The default price of a batch. On the BEIR-like mix of the race's 100-document requests (median
 * 196 tokens per pair) cutting batches greedily from the longest pair, as many as fit, padded
 * 17-20% of the computed tokens; pricing a batch at 128 tokens pads 4.6% with 12 batches per
 * request instead of 4.5-6 (256: 6.7% with 9; 64: 3.0% with 16). src/bench/peers.ts reports it.
 */
export const DEFAULT_BATCH_OVERHEAD_TOKENS = 128;

/**
 * Indices into `pairs`, grouped into batches of similar length, longest first. Pairs are sorted
 * by length and cut into consecutive runs; the cuts minimise padded tokens plus
 * `batchOverheadTokens` per batch (dynamic programming over the sorted lengths: for a padding
 * cost that is the longest row times the rows, the best grouping is always of consecutive pairs).
 */
export function planBatches(pairs: readonly EncodedPair[], options: BatchPlanOptions = DEFAULT_BATCH_PLAN): number[][] {
  const order = pairs.map((_, i) => i).sort((a, b) => pairs[b]!.length - pairs[a]!.length || a - b);
  const n = order.length;
  const overhead = options.batchOverheadTokens ?? DEFAULT_BATCH_OVERHEAD_TOKENS;
  // best[i]: least cost of batching order[i..n); cut[i]: where the first batch of that ends.
  const best = new Float64Array(n + 1);
  const cut = new Int32Array(n + 1);
  for (let i = n - 1; i >= 0; i--) {
    const width = pairs[order[i]!]!.length; // the longest of order[i..j), sorted descending
    best[i] = Infinity;
    for (let j = i + 1; j <= n && j - i <= options.maxBatchSize; j++) {
      if (j - i > 1 && width * (j - i) > options.maxBatchTokens) break;
      const cost = width * (j - i) + overhead + best[j]!;
      if (cost < best[i]!) {
        best[i] = cost;
        cut[i] = j;
      }
    }
  }
  const batches: number[][] = [];
  for (let i = 0; i < n; i = cut[i]!) batches.push(order.slice(i, cut[i]!));
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
