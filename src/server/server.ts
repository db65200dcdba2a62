/**
 * `startServer`: loads every model, then listens; `close` drains in-flight requests first.
 *
 *   const server = await startServer({ ...DEFAULT_SERVER_OPTIONS, models: [{ name: 'turbo', source: 'jinaai/jina-reranker-v1-turbo-en' }] });
 *   // … POST server.url + '/v1/rerank'
 *   await server.close();
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { TurborankError } from '../errors.js';
import { ApiKeys } from './auth.js';
import type { BatchLimits } from './batch-queue.js';
import { Logger, stdoutSink, type LogSink } from './logging.js';
import { ServerMetrics } from './metrics.js';
import { ModelRegistry, type ModelArgument } from './models.js';
import { openApiDocument } from './openapi.js';
import { RerankService, type ServiceLimits } from './rerank-service.js';
import { buildRouter } from './router.js';
import { requestSchemas, type RequestLimits } from './schemas.js';

export const SERVER_VERSION = '0.1.0';

export interface ServerLimits extends RequestLimits, ServiceLimits {
  /** Largest request body accepted, in bytes; larger ones get 413 before they are read. */
  readonly maxBodyBytes: number;
}

export interface ServerOptions {
  /** Models to serve; none: the shipped default model. */
  readonly models: readonly ModelArgument[];
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** ONNX Runtime threads per model (default: all cores). */
  readonly threads?: number;
  /** Tokens per (query, document) pair (default: the model's). */
  readonly maxLength?: number;
  /** Arithmetic of the models' weight products (default fp32). */
  readonly precision?: 'fp32' | 'int8';
  readonly batching: BatchLimits;
  readonly limits: ServerLimits;
  /** Empty: no authentication. */
  readonly apiKeys: readonly string[];
  /** Origins allowed by CORS, or ['*']; empty: CORS off. */
  readonly corsOrigins: readonly string[];
  readonly logSink?: LogSink;
  /** One log line per request (default true); start-up, shutdown and errors are always logged. */
  readonly logRequests?: boolean;
  /** For Hugging Face cache lookup (HF_HOME, HF_HUB_CACHE). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Batches of at most 32 pairs and 8192 padded tokens, as Reranker.score cuts them: on CPU the
 * cost of a batch grows with its tokens, and ONNX Runtime already reaches 86% of its matmul
 * rate at 4096 tokens (docs/BENCHMARKS.md), so larger batches (TEI's GPU default is 16384
 * tokens) would only make requests wait longer. TEI's 512 concurrent requests; Cohere's 1000
 * documents; 8 MiB of body (TEI's 2 MB is tight for 1000 documents of a few KB).
 */
export const DEFAULT_SERVER_OPTIONS: ServerOptions = {
  models: [],
  host: '127.0.0.1',
  port: 8080,
  batching: { maxBatchTokens: 8192, maxBatchSize: 32, maxBatchRequests: Number.POSITIVE_INFINITY },
  limits: { maxDocuments: 1000, maxBodyBytes: 8 * 1024 * 1024, maxConcurrentRequests: 512, requestTimeoutMs: 30_000 },
  apiKeys: [],
  corsOrigins: [],
};

export interface RunningServer {
  /** http://host:port, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  readonly models: readonly string[];
  /**
   * Stops accepting requests, lets those in flight finish (up to the request timeout),
   * then closes every connection and model. Safe to call twice.
   */
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const logger = new Logger(options.logSink ?? stdoutSink);
  const started = performance.now();
  const metrics = new ServerMetrics();
  const registry = await ModelRegistry.load(options.models.length > 0 ? options.models : [{ name: undefined, source: undefined }], {
    threads: options.threads, maxLength: options.maxLength, precision: options.precision, batching: options.batching,
    queueEvents: (name) => metrics.queueEvents(name), env: options.env,
  });
  for (const m of registry.models) {
    logger.info('model loaded', { model: m.name, aliases: m.aliases, format: m.host.info.format, max_length: m.host.info.maxLength, test_model: m.host.info.isTestModel });
  }
  const service = new RerankService(registry, options.limits);
  metrics.watch(() => new Map(registry.models.map((m) => [m.name, m.queue.depth])), () => service.activeRequests);
  const apiKeys = new ApiKeys(options.apiKeys);
  const schemas = requestSchemas(options.limits);
  const app = buildRouter({
    registry, service, schemas, metrics, logger, apiKeys, corsOrigins: options.corsOrigins, maxBodyBytes: options.limits.maxBodyBytes,
    logRequests: options.logRequests ?? true, info: infoBody(registry, options), openApi: openApiDocument(schemas, SERVER_VERSION, apiKeys.enabled),
  });
  const http = createAdaptorServer({ fetch: app.fetch, hostname: options.host }) as Server;
  const responses = countOpenResponses(http);
  try {
    await listen(http, options.host, options.port);
  } catch (err) {
    await registry.close();
    throw err;
  }
  const port = (http.address() as AddressInfo).port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  logger.info('ready', { url, models: registry.names, startup_ms: Math.round(performance.now() - started), auth: apiKeys.enabled });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= shutDown(http, responses, service, registry, logger, options.limits.requestTimeoutMs));
  return { url, port, models: registry.names, close };
}

function listen(http: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const hint = err.code === 'EADDRINUSE' ? `pick another with --port (or TURBORANK_PORT)` : err.code === 'EACCES' ? 'ports below 1024 need privileges: use a higher --port' : undefined;
      reject(new TurborankError(`cannot listen on ${host}:${port}: ${err.message}`, hint, { cause: err }));
    };
    http.once('error', onError);
    http.listen(port, host, () => {
      http.off('error', onError);
      resolve();
    });
  });
}

/** Responses not yet fully sent, counted where Node sends them (after the router is done). */
function countOpenResponses(http: Server): () => number {
  let open = 0;
  http.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    open++;
    response.once('close', () => open--);
  });
  return () => open;
}

async function shutDown(http: Server, openResponses: () => number, service: RerankService, registry: ModelRegistry, logger: Logger, timeoutMs: number): Promise<void> {
  logger.info('draining', { in_flight: openResponses() });
  service.startDraining();
  const closed = new Promise<void>((resolve) => http.close(() => resolve()));
  http.closeIdleConnections();
  const deadline = performance.now() + timeoutMs + 1000;
  while (openResponses() > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  // Every answer is sent; keep-alive connections would otherwise hold close() open.
  http.closeAllConnections();
  await closed;
  await registry.close();
  logger.info('stopped', {});
}

function infoBody(registry: ModelRegistry, options: ServerOptions): object {
  const first = registry.models[0]!.host.info;
  const batchRequests = options.batching.maxBatchRequests;
  return {
    // TEI's /info fields, for the first model.
    model_id: registry.models[0]!.name,
    model_sha: null,
    model_dtype: 'float32',
    model_type: { reranker: { id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } } },
    max_concurrent_requests: options.limits.maxConcurrentRequests,
    max_input_length: first.maxLength,
    max_batch_tokens: options.batching.maxBatchTokens,
    max_batch_requests: Number.isFinite(batchRequests) ? batchRequests : null,
    max_client_batch_size: options.limits.maxDocuments,
    auto_truncate: true,
    version: SERVER_VERSION,
    // Every model, for clients that pick one (and the playground).
    models: registry.models.map((m) => ({
      name: m.name, aliases: m.aliases, format: m.host.info.format, architecture: m.host.info.spec?.architecture ?? null,
      tokenizer: m.host.info.tokenizerKind, max_input_length: m.host.info.maxLength, model_max_length: m.host.info.modelMaxLength,
      test_model: m.host.info.isTestModel,
    })),
    limits: { max_documents: options.limits.maxDocuments, max_body_bytes: options.limits.maxBodyBytes, request_timeout_ms: options.limits.requestTimeoutMs },
  };
}
