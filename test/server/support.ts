/**
 * Real servers on loopback for the server tests: in-process (`startTestServer`) or as the
 * `turborank serve` CLI in a child process (`spawnServe`). Callers close them in `after` or
 * `finally`, so they go away even when an assertion fails.
 */
import assert from 'node:assert/strict';
import { DEFAULT_SERVER_OPTIONS, startServer, type RunningServer, type ServerLimits, type ServerOptions } from '../../src/server/index.js';
import type { BatchLimits } from '../../src/server/batch-queue.js';
import { fixtureDir } from '../helpers.js';

export const TINY = fixtureDir('jinabert-tiny-golden');
export const MINILM = fixtureDir('bert-minilm-golden');

export type LogLine = Record<string, unknown> & { event: string };

export interface TestServer extends RunningServer {
  /** Every log line the server wrote, parsed. */
  readonly logs: LogLine[];
}

export interface TestServerOptions extends Partial<Omit<ServerOptions, 'limits' | 'batching'>> {
  readonly limits?: Partial<ServerLimits>;
  readonly batching?: Partial<BatchLimits>;
}

/** A server on a free loopback port serving the tiny JinaBERT fixture as "tiny" unless told otherwise. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const logs: LogLine[] = [];
  const server = await startServer({
    ...DEFAULT_SERVER_OPTIONS,
    models: [{ name: 'tiny', source: TINY }],
    threads: 1,
    ...options,
    host: '127.0.0.1',
    port: 0,
    limits: { ...DEFAULT_SERVER_OPTIONS.limits, ...options.limits },
    batching: { ...DEFAULT_SERVER_OPTIONS.batching, ...options.batching },
    logSink: (line) => logs.push(JSON.parse(line) as LogLine),
  });
  return Object.assign(server, { logs });
}

export interface HttpResult<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
  readonly text: string;
}

/** POSTs JSON (or raw bytes/text as given) and reads the answer, JSON-parsed when it is JSON. */
export async function post<T = unknown>(url: string, body: unknown, init: { headers?: Record<string, string>; raw?: boolean; signal?: AbortSignal } = {}): Promise<HttpResult<T>> {
  const payload = !init.raw ? JSON.stringify(body) : typeof body === 'string' ? body : new Blob([body as Uint8Array<ArrayBuffer>]);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...init.headers }, body: payload, signal: init.signal });
  return read<T>(res);
}

export async function get<T = unknown>(url: string, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
  return read<T>(await fetch(url, { headers }));
}

async function read<T>(res: Response): Promise<HttpResult<T>> {
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: body as T, text };
}

export interface ErrorJson {
  error: string;
  error_type: string;
  message: string;
  detail: string;
  field?: string;
  allowed?: string;
  models?: string[];
}

/** A handled error: the status, JSON with the message under every client's key, matching each pattern. */
export function assertError(r: HttpResult, status: number, ...patterns: RegExp[]): ErrorJson {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 500)}`);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  const body = r.body as ErrorJson;
  assert.equal(typeof body.error, 'string', r.text);
  assert.equal(body.message, body.error);
  assert.equal(body.detail, body.error);
  for (const p of patterns) assert.match(body.error, p, r.text);
  return body;
}

/** The value of one Prometheus sample, e.g. metric('turborank_requests_total', { route: '/v1/rerank', status: '200' }). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const labelText = line.slice(name.length).match(/^\{([^}]*)\}/)?.[1] ?? '';
    const has = Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`));
    if (has) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** `turborank serve …args` in a child process, resolved once it logs "ready" (see src/bench/serve-load.ts). */
export { startServeProcess as spawnServe, type ServeProcess } from '../../src/bench/serve-load.js';

/** `count` distinct sentences of about `words` words, for requests that take a while to score. */
export function longDocuments(count: number, words: number): string[] {
  const vocabulary = ['rerankers', 'score', 'each', 'document', 'against', 'the', 'query', 'paris', 'capital', 'france', 'attention', 'tokens', 'batch', 'model', 'linear', 'bias'];
  return Array.from({ length: count }, (_, d) => Array.from({ length: words }, (_, w) => vocabulary[(d * 7 + w * 3 + (w % 5)) % vocabulary.length]).join(' '));
}

/** Polls `condition` every 10 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
