/**
 * Prometheus metrics, on a registry of the server's own (so two servers in one process, as in
 * tests, never share counters). Route labels are route patterns, never raw paths, so a
 * client probing random URLs cannot blow up the label set.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatchReport, QueueEvents } from './batch-queue.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
const TOKEN_BUCKETS = [64, 256, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({ name: 'turborank_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers: [this.registry] });
  private readonly latency = new Histogram({ name: 'turborank_request_duration_seconds', help: 'HTTP request latency by route', labelNames: ['route'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly batchPairs = new Histogram({ name: 'turborank_batch_size', help: 'Pairs per inference batch', labelNames: ['model'], buckets: SIZE_BUCKETS, registers: [this.registry] });
  private readonly batchRequests = new Histogram({ name: 'turborank_batch_requests', help: 'Requests sharing one inference batch', labelNames: ['model'], buckets: SIZE_BUCKETS, registers: [this.registry] });
  private readonly batchTokens = new Histogram({ name: 'turborank_batch_padded_tokens', help: 'Padded tokens (rows × longest row) per inference batch', labelNames: ['model'], buckets: TOKEN_BUCKETS, registers: [this.registry] });
  private readonly inference = new Histogram({ name: 'turborank_inference_duration_seconds', help: 'Time to run one batch', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly tokens = new Counter({ name: 'turborank_tokens_total', help: 'Tokens scored (special tokens included, after truncation)', labelNames: ['model'], registers: [this.registry] });
  private readonly pairs = new Counter({ name: 'turborank_documents_total', help: 'Documents scored', labelNames: ['model'], registers: [this.registry] });
  private readonly cancelled = new Counter({ name: 'turborank_cancelled_documents_total', help: 'Queued documents dropped unscored: the client went away or the deadline passed', labelNames: ['model'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'turborank_' });
  }

  /** Gauges read at scrape time: documents waiting per model, rerank requests in flight. */
  watch(queueDepths: () => ReadonlyMap<string, number>, inFlight: () => number): void {
    new Gauge({
      name: 'turborank_queue_depth', help: 'Documents waiting for an inference batch', labelNames: ['model'], registers: [this.registry],
      collect() {
        for (const [model, depth] of queueDepths()) this.set({ model }, depth);
      },
    });
    new Gauge({
      name: 'turborank_requests_in_flight', help: 'Rerank requests admitted and not yet answered', registers: [this.registry],
      collect() {
        this.set(inFlight());
      },
    });
  }

  observeRequest(route: string, status: number, seconds: number): void {
    this.requests.inc({ route, status: String(status) });
    this.latency.observe({ route }, seconds);
  }

  queueEvents(model: string): QueueEvents {
    return {
      onBatch: (report: BatchReport) => {
        this.batchPairs.observe({ model }, report.pairs);
        this.batchRequests.observe({ model }, report.requests);
        this.batchTokens.observe({ model }, report.paddedTokens);
        this.inference.observe({ model }, report.seconds);
        this.tokens.inc({ model }, report.realTokens);
        this.pairs.inc({ model }, report.pairs);
      },
      onCancelled: (pairs: number) => this.cancelled.inc({ model }, pairs),
    };
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
