/**
 * Between the routes and the queues (TEI's "infer" layer): admission, deadlines, tokenization
 * with the token limits, and ranking. It knows RerankJobs, not HTTP shapes.
 */
import { InputError } from '../errors.js';
import { sigmoid, type EncodedPair } from '../rerank/index.js';
import { ApiError, ClientGoneError } from './errors.js';
import type { ModelRegistry, ServedModel } from './models.js';
import type { RerankJob } from './schemas.js';

export interface ServiceLimits {
  /** Rerank requests admitted at once (tokenizing, queued or scoring); more get 429. */
  readonly maxConcurrentRequests: number;
  /** From arrival to answer; past it the request's queued work is dropped and it gets 503. */
  readonly requestTimeoutMs: number;
}

export interface RankedDocument {
  readonly index: number;
  readonly logit: number;
  /** sigmoid(logit), Jina's and Cohere's relevance_score. */
  readonly score: number;
}

export interface RerankOutcome {
  readonly model: ServedModel;
  /** Best first, cut to topN. */
  readonly results: readonly RankedDocument[];
  /** Tokens scored, special tokens included, after truncation. */
  readonly tokens: number;
}

/** Seconds a 429 asks clients to wait: one batch cycle is usually well under it. */
const RETRY_AFTER_SECONDS = 1;

export class RerankService {
  private inFlight = 0;
  private draining = false;

  constructor(
    private readonly registry: ModelRegistry,
    private readonly limits: ServiceLimits,
  ) {}

  get activeRequests(): number {
    return this.inFlight;
  }

  /** From now on new requests get 503; those admitted before (body read or not) finish. */
  startDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Admits a rerank request as it arrives, before its body is read, and runs `work` (read the
   * body, validate, `rerank`) under its deadline: --request-timeout counts from arrival, so a
   * slow upload uses up the same budget as a long queue, and a request admitted before
   * draining starts is still answered while its body arrives. `work`'s signal aborts at the
   * deadline or when the client disconnects; those become 503 and ClientGoneError.
   */
  async admitted<T>(clientSignal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.admit();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException('request deadline passed', 'TimeoutError')), this.limits.requestTimeoutMs);
    try {
      return await work(AbortSignal.any([clientSignal, deadline.signal]));
    } catch (err) {
      throw this.explain(err, deadline.signal, clientSignal);
    } finally {
      clearTimeout(timer);
      this.inFlight--;
    }
  }

  /** Scores an admitted request's job; aborting `signal` drops its queued work. */
  async rerank(job: RerankJob, documentsField: string, signal: AbortSignal): Promise<RerankOutcome> {
    const model = this.registry.resolve(job.model);
    // Tokenizing a large request takes a while; the answer must not wait for it past the deadline.
    const encoded = await untilAborted(this.encode(model, job, documentsField), signal);
    const logits = await model.queue.submit(encoded, signal);
    return { model, results: rank(logits, job.topN), tokens: encoded.reduce((sum, pair) => sum + pair.length, 0) };
  }

  private admit(): void {
    if (this.draining) {
      throw new ApiError(503, 'unavailable', 'the server is shutting down: retry on another instance', { retryAfterSeconds: RETRY_AFTER_SECONDS });
    }
    if (this.inFlight >= this.limits.maxConcurrentRequests) {
      throw new ApiError(429, 'overloaded', `the server is at its limit of ${this.limits.maxConcurrentRequests} concurrent requests (--max-concurrent-requests): retry after ${RETRY_AFTER_SECONDS} s`, {
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
    }
    this.inFlight++;
  }

  /**
   * Tokenizes every pair under the model's per-pair limit (or Cohere's max_tokens_per_doc).
   * With truncate: false, pairs are counted one token past the limit, so one that does not
   * fit is refused rather than silently cut.
   */
  private async encode(model: ServedModel, job: RerankJob, documentsField: string): Promise<EncodedPair[]> {
    const limit = await this.pairLimit(model, job);
    if (job.truncate) return model.host.encode(job.query, job.texts, limit, job.truncationDirection);
    const encoded = await model.host.encode(job.query, job.texts, limit + 1, job.truncationDirection);
    const over = encoded.findIndex((pair) => pair.length > limit);
    if (over >= 0) {
      throw new ApiError(413, 'payload_too_large',
        `${documentsField}[${over}]: the query and this document take more than ${limit} tokens, the limit per (query, document) pair for ${model.name}; ` +
          'shorten it, or leave truncate at its default (true) to cut it to fit', { field: `${documentsField}[${over}]`, allowed: `at most ${limit} tokens with the query` });
    }
    return encoded;
  }

  /** Cohere's max_tokens_per_doc counts document tokens only: the query's are added to it. */
  private async pairLimit(model: ServedModel, job: RerankJob): Promise<number> {
    const limit = model.host.info.maxLength;
    if (job.maxTokensPerDoc === undefined) return limit;
    const [queryOnly] = await model.host.encode(job.query, [''], limit);
    return Math.min(limit, queryOnly!.length + job.maxTokensPerDoc);
  }

  private explain(err: unknown, deadline: AbortSignal, clientSignal: AbortSignal): unknown {
    if (deadline.aborted && !(err instanceof ApiError)) {
      const seconds = this.limits.requestTimeoutMs / 1000;
      return new ApiError(503, 'timeout', `the request did not finish within its deadline of ${seconds} s (--request-timeout): the server is busy; retry later or send fewer documents`, {
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
    }
    if (clientSignal.aborted && !(err instanceof ApiError)) return new ClientGoneError();
    if (err instanceof InputError) return new ApiError(422, 'validation', err.message);
    return err;
  }
}

/**
 * `work`'s result, or a rejection with the signal's reason as soon as it aborts. The work
 * itself goes on (a worker's tokenization cannot be interrupted); its result is dropped.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Best first; equal logits keep input order (Array.prototype.sort is stable). */
function rank(logits: Float32Array, topN: number | undefined): RankedDocument[] {
  const results = Array.from(logits, (logit, index) => ({ index, logit, score: sigmoid(logit) }));
  results.sort((a, b) => b.logit - a.logit);
  return topN === undefined ? results : results.slice(0, topN);
}
