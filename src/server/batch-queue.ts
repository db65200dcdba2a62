/**
 * The queue that batches across requests, one per model (TEI's queue + batching task).
 * Requests arrive already tokenized, so the queue knows every pair's length and cuts batches
 * by a token budget, not by request count. One batch runs at a time: ONNX Runtime already
 * uses every thread it was given for one batch, and running them one by one lets pairs that
 * arrive meanwhile join the next batch.
 *
 * Which pairs go together: the head-of-line pair (the oldest request's longest waiting
 * pair) always runs next, so no request starves; it is joined by the waiting pairs nearest
 * to it in length, from any queued request, as many as the token budget allows while padding
 * stays small. Every row is padded to the longest in its batch, and a padded token costs as
 * much as a real one: batching gains only where lengths match, so that is where it batches.
 */
import type { EncodedPair } from '../rerank/index.js';

export interface BatchLimits {
  /** Most padded tokens (rows × longest row) in one batch; one longer pair still runs alone. */
  readonly maxBatchTokens: number;
  /** Most pairs in one batch. */
  readonly maxBatchSize: number;
  /** Most requests sharing one batch: 1 turns cross-request batching off. */
  readonly maxBatchRequests: number;
}

/** Logits for exactly these pairs, run as one batch. */
export type RunBatch = (pairs: readonly EncodedPair[]) => Promise<Float32Array>;

export interface BatchReport {
  readonly pairs: number;
  readonly requests: number;
  /** Rows × longest row: what the model computes. */
  readonly paddedTokens: number;
  /** Tokens of the pairs themselves. */
  readonly realTokens: number;
  readonly seconds: number;
}

export interface QueueEvents {
  onBatch?(report: BatchReport): void;
  /** Pairs dropped from the queue unscored, because their request was cancelled. */
  onCancelled?(pairs: number): void;
}

/** What the batch planner needs from a queued request. */
export interface Waiting {
  readonly pairs: readonly EncodedPair[];
  /** Indices of pairs not yet batched, longest first. */
  readonly waiting: readonly number[];
}

interface Entry extends Waiting {
  waiting: number[];
  readonly logits: Float32Array;
  /** Pairs not yet scored: waiting, or in the running batch. */
  unscored: number;
  settled: boolean;
  readonly resolve: (logits: Float32Array) => void;
  readonly reject: (reason: unknown) => void;
}

/** A batch handed to the model, and how it ended (never rejects). */
interface RunningBatch {
  readonly batch: readonly [Entry, number][];
  readonly pairs: readonly EncodedPair[];
  readonly outcome: Promise<BatchOutcome>;
}

type BatchOutcome = { readonly logits: Float32Array; readonly seconds: number } | { readonly error: unknown };

/** Candidates considered per batch, as a multiple of the batch size. */
const LOOKAHEAD_BATCHES = 2;

/**
 * Most padding a batch may carry, as a fraction of its padded tokens. A padded token costs as
 * much as a real one, while on CPU a full batch of equal-length pairs runs about twice as fast
 * per pair as pairs one at a time (docs/BENCHMARKS.md): past this much padding a bigger batch
 * loses more than it gains.
 */
export const MAX_PADDING = 0.15;

/**
 * The next batch, as [request position, pair index] pairs. The window holds at most
 * LOOKAHEAD_BATCHES batches' worth of waiting pairs, oldest requests first. Sorted by length,
 * the batch is the longest run of neighbours around the head of line (the oldest request's
 * longest waiting pair) that fits the pair and token limits with at most MAX_PADDING padding.
 */
export function selectBatch(queue: readonly Waiting[], limits: BatchLimits): [number, number][] {
  const window = lookaheadWindow(queue, limits);
  if (window.length === 0) return [];
  const length = (k: number): number => queue[window[k]![0]]!.pairs[window[k]![1]]!.length;
  // Longest first; equal lengths keep window order, so the head of line comes first among them.
  const order = window.map((_, k) => k).sort((a, b) => length(b) - length(a) || a - b);
  const sorted = order.map(length);
  const [start, end] = bestRunAround(sorted, order.indexOf(0), limits);
  return order.slice(start, end + 1).map((k) => window[k]!);
}

function lookaheadWindow(queue: readonly Waiting[], limits: BatchLimits): [number, number][] {
  const lookahead = limits.maxBatchSize * LOOKAHEAD_BATCHES;
  const window: [number, number][] = [];
  const requests = Math.min(queue.length, limits.maxBatchRequests);
  for (let r = 0; r < requests && window.length < lookahead; r++) {
    for (const index of queue[r]!.waiting) {
      window.push([r, index]);
      if (window.length >= lookahead) break;
    }
  }
  return window;
}

/**
 * [start, end] of the longest run of `lengths` (sorted, longest first) that contains `head`
 * and fits the limits. Every start left of the head is tried (a longer first row widens the
 * batch); for each, the run extends right while the next, shorter pair still fits.
 */
function bestRunAround(lengths: readonly number[], head: number, limits: BatchLimits): [number, number] {
  let best: [number, number] = [head, head];
  for (let start = head; start >= 0; start--) {
    const width = lengths[start]!;
    let real = 0;
    for (let k = start; k <= head; k++) real += lengths[k]!;
    if (!fits(head - start + 1, width, real, limits)) break;
    let end = head;
    while (end + 1 < lengths.length && fits(end - start + 2, width, real + lengths[end + 1]!, limits)) real += lengths[++end]!;
    if (end - start > best[1] - best[0]) best = [start, end];
  }
  return best;
}

function fits(rows: number, width: number, realTokens: number, limits: BatchLimits): boolean {
  if (rows === 1) return true; // one pair always runs, however long
  const padded = rows * width;
  return rows <= limits.maxBatchSize && padded <= limits.maxBatchTokens && 1 - realTokens / padded <= MAX_PADDING;
}

export class BatchQueue {
  private readonly entries: Entry[] = [];
  private waitingPairs = 0;
  private busy = false;

  constructor(
    private readonly run: RunBatch,
    private readonly limits: BatchLimits,
    private readonly events: QueueEvents = {},
  ) {}

  /** Pairs waiting for a batch (not counting the one running). */
  get depth(): number {
    return this.waitingPairs;
  }

  /**
   * Logits for `pairs`, in their order. Aborting `signal` drops the pairs still waiting and
   * rejects with the signal's reason; pairs already in the running batch finish unread.
   */
  submit(pairs: readonly EncodedPair[], signal?: AbortSignal): Promise<Float32Array> {
    if (signal?.aborted) {
      this.events.onCancelled?.(pairs.length);
      return Promise.reject(signal.reason);
    }
    if (pairs.length === 0) return Promise.resolve(new Float32Array(0));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => this.fail(entry, signal!.reason, true);
      const entry: Entry = {
        pairs,
        waiting: pairs.map((_, i) => i).sort((a, b) => pairs[b]!.length - pairs[a]!.length || a - b),
        logits: new Float32Array(pairs.length),
        unscored: pairs.length,
        settled: false,
        resolve: (logits) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(logits);
        },
        reject: (reason) => {
          signal?.removeEventListener('abort', onAbort);
          reject(reason);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.entries.push(entry);
      this.waitingPairs += pairs.length;
      void this.pump();
    });
  }

  /**
   * Runs batches while pairs wait. The next batch goes to the model as soon as the last one
   * returns, before that one's requests are answered: answering (ranking, JSON, writing) runs
   * on this thread while the model works, instead of leaving the model idle meanwhile, which
   * matters most when a batch completes many requests at once.
   */
  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      let running = this.entries.length > 0 ? this.startBatch() : undefined;
      while (running) {
        const outcome = await running.outcome;
        const next = this.entries.length > 0 ? this.startBatch() : undefined;
        this.settleBatch(running, outcome);
        running = next ?? (this.entries.length > 0 ? this.startBatch() : undefined);
      }
    } catch (err) {
      // Only a bug gets here (batch errors are handed to their requests): fail what waits
      // rather than leave it hanging or crash the process with an unhandled rejection.
      for (const entry of [...this.entries]) this.fail(entry, err, false);
    } finally {
      this.busy = false;
    }
  }

  /** Takes the next batch off the queue and hands it to the model. */
  private startBatch(): RunningBatch {
    const batch = this.takeBatch();
    const pairs = batch.map(([entry, index]) => entry.pairs[index]!);
    const started = performance.now();
    let running: Promise<Float32Array>;
    try {
      running = this.run(pairs);
    } catch (err) {
      running = Promise.reject(err);
    }
    const outcome = running.then(
      (logits): BatchOutcome => ({ logits, seconds: (performance.now() - started) / 1000 }),
      (error: unknown): BatchOutcome => ({ error }),
    );
    return { batch, pairs, outcome };
  }

  /** Hands each request its logits (or the batch's error) and reports the batch. */
  private settleBatch({ batch, pairs }: RunningBatch, outcome: BatchOutcome): void {
    if ('error' in outcome) {
      for (const entry of new Set(batch.map(([e]) => e))) this.fail(entry, outcome.error, false);
      return;
    }
    const { logits } = outcome;
    batch.forEach(([entry, index], row) => {
      if (entry.settled) return;
      entry.logits[index] = logits[row]!;
      if (--entry.unscored === 0) this.finish(entry);
    });
    const width = pairs.reduce((w, p) => Math.max(w, p.length), 0);
    this.events.onBatch?.({
      pairs: pairs.length, requests: new Set(batch.map(([e]) => e)).size, paddedTokens: width * pairs.length,
      realTokens: pairs.reduce((sum, p) => sum + p.length, 0), seconds: outcome.seconds,
    });
  }

  /** Removes the next batch's pairs from their requests' waiting lists. */
  private takeBatch(): [Entry, number][] {
    const batch = selectBatch(this.entries, this.limits).map(([r, index]): [Entry, number] => [this.entries[r]!, index]);
    const taken = new Map<Entry, Set<number>>();
    for (const [entry, index] of batch) taken.set(entry, (taken.get(entry) ?? new Set()).add(index));
    for (const [entry, indices] of taken) entry.waiting = entry.waiting.filter((i) => !indices.has(i));
    this.waitingPairs -= batch.length;
    this.removeFinishedWaiting();
    return batch;
  }

  private removeFinishedWaiting(): void {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.waiting.length === 0) this.entries.splice(i, 1);
  }

  private finish(entry: Entry): void {
    if (entry.settled) return;
    entry.settled = true;
    entry.resolve(entry.logits);
  }

  /** Rejects an entry once, dropping whatever of it still waits. */
  private fail(entry: Entry, reason: unknown, cancelled: boolean): void {
    if (entry.settled) return;
    entry.settled = true;
    const dropped = entry.waiting.length;
    if (dropped > 0) {
      entry.waiting = [];
      this.waitingPairs -= dropped;
      this.removeFinishedWaiting();
      if (cancelled) this.events.onCancelled?.(dropped);
    }
    entry.reject(reason);
  }
}
