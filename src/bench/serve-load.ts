/**
 * `npm run bench:serve`: drives `turborank serve` on loopback with a bounded load generator
 * (autocannon, a fixed number of requests per level) and reports throughput, p50/p95/p99
 * latency and errors at several concurrencies, once with cross-request batching and once
 * with one request per batch (--max-batch-requests 1), the same workload for both.
 *
 *   npm run bench:serve -- --shape turbo --concurrency 1,4,16,64 --requests 96
 *   npm run bench:serve -- --shape tiny --documents 1 --words 8 --concurrency 1,4,16,64 --requests 128 --repeat 3
 *
 * Options: --shape turbo|tiny|base (or --model M), --concurrency list, --requests per level,
 * --documents per request, --words per document (±50%), --threads per server, --repeat N
 * (rounds per level; the modes alternate within each round and swap order between rounds,
 * the best round of each mode is kept), --json.
 *
 * The server runs as its own process, as in production; the model is a random-weight one
 * with a real reranker's shapes (speed depends on shapes, not weights), or --model M.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { expectedTensors, writeSafetensors } from '../checkpoint/index.js';
import { testModelPath } from '../rerank/index.js';
import { REFERENCE_SHAPES, mulberry32, randomWeights, type ShapeName } from './random-model.js';
import { machineDescription } from './throughput.js';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'turborank.js');

export type ServeLogLine = Record<string, unknown> & { event?: string };

export interface ServeProcess {
  readonly child: ChildProcess;
  /** From the server's "ready" line: the address it actually bound. */
  readonly url: string;
  /** Its stdout lines, parsed (JSON logs). */
  readonly logs: ServeLogLine[];
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (the server drains), then the exit status. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running: for cleanup after a failure. */
  kill(): void;
}

/** Runs `turborank serve …args` and resolves once it logs "ready"; rejects with its stderr if it exits first. */
export function startServeProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<ServeProcess> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.NODE_TEST_CONTEXT; // set by `node --test` for its own children, not for ours
  delete childEnv.NODE_OPTIONS;
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { cwd: os.tmpdir(), env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: ServeLogLine[] = [];
  let stderr = '';
  let partial = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const kill = (): void => {
    if (running()) child.kill('SIGKILL');
  };
  const stop = async (): Promise<{ code: number | null; signal: NodeJS.Signals | null }> => {
    if (running()) child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`turborank serve ${args.join(' ')}: not ready within ${timeoutMs} ms\nstderr: ${stderr}`));
    }, timeoutMs);
    child.stdout!.on('data', (b: Buffer) => {
      partial += b.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const parsed = parseLogLine(line);
        logs.push(parsed);
        if (parsed.event !== 'ready') continue;
        clearTimeout(timer);
        resolve({ child, url: String(parsed.url), logs, stderr: () => stderr, exited, stop, kill });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`turborank serve ${args.join(' ')} exited (${code ?? signal}) before it was ready\nstderr: ${stderr}`));
    });
  });
}

function parseLogLine(line: string): ServeLogLine {
  try {
    return JSON.parse(line) as ServeLogLine;
  } catch {
    return { event: 'not-json', line };
  }
}

const WORDS = ('rerankers score each document against the query with full attention between them so a small model ' +
  'reads both texts at once paris is the capital of france marathon runners cover forty two kilometres ' +
  'linear attention biases grow with distance tokens batch padding latency throughput server queue').split(' ');

/** `count` /v1/rerank bodies of `documents` documents of about `words` words each; seeded. */
export function syntheticBodies(count: number, documents: number, words: number, seed = 7): string[] {
  const next = mulberry32(seed);
  const text = (n: number): string => Array.from({ length: n }, () => WORDS[Math.floor(next() * WORDS.length)]).join(' ');
  return Array.from({ length: count }, () => JSON.stringify({
    query: text(8),
    // Lengths vary ±50%, as retrieved passages do.
    documents: Array.from({ length: documents }, () => text(Math.max(1, Math.round(words * (0.5 + next()))))),
    return_documents: false,
  }));
}

/**
 * A model directory with a real reranker's shapes and random weights: config.json with the
 * shape's sizes, seeded weights, and the bundled test model's tokenizer (its small vocabulary
 * fits any embedding table; speed depends on the token count, not on which tokens).
 */
export function writeShapedModel(shape: ShapeName, dir: string): string {
  const spec = { ...REFERENCE_SHAPES[shape], vocabSize: 699 };
  if (spec.architecture !== 'jinabert') throw new Error(`--shape ${shape}: only JinaBERT shapes are written (turbo, tiny, base)`);
  fs.mkdirSync(dir, { recursive: true });
  const bundled = testModelPath();
  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt']) {
    fs.copyFileSync(path.join(bundled, file), path.join(dir, file));
  }
  const config = JSON.parse(fs.readFileSync(path.join(bundled, 'config.json'), 'utf8')) as Record<string, unknown>;
  Object.assign(config, {
    _name_or_path: spec.sourceName, hidden_size: spec.hiddenSize, num_hidden_layers: spec.numLayers, num_attention_heads: spec.numHeads,
    intermediate_size: spec.intermediateSize, vocab_size: spec.vocabSize,
  });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const weights = randomWeights();
  writeSafetensors(path.join(dir, 'model.safetensors'), expectedTensors(spec).map((t) => ({ name: t.name, dtype: 'F32', shape: t.shape, data: weights(t.name, t.shape) })));
  return dir;
}

export interface LoadOptions {
  /** Server root, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly path?: string;
  readonly bodies: readonly string[];
  readonly documentsPerRequest: number;
  readonly connections: number;
  /** Requests to send in all; the run ends when every one has been answered. */
  readonly amount: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface LoadResult {
  readonly connections: number;
  readonly sent: number;
  /** Responses received, any status. */
  readonly answered: number;
  readonly ok: number;
  readonly status4xx: number;
  readonly status5xx: number;
  /** Connection errors and timeouts: requests that got no response. */
  readonly errors: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly documentsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
}

/** Sends exactly `amount` requests over `connections` connections and waits for every answer. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  // autocannon reports completion on its one-second tick: time the last answer instead.
  let lastAnswer = started;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url: options.url + (options.path ?? '/v1/rerank'),
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      connections: options.connections,
      amount: options.amount,
      timeout: 120,
      requests: [{ setupRequest: (request) => ({ ...request, body: options.bodies[next++ % options.bodies.length]! }) }],
    }, (err: unknown, res: autocannon.Result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(res)));
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime);
      lastAnswer = performance.now();
    });
  });
  const seconds = (lastAnswer - started) / 1000;
  return {
    connections: options.connections, sent: result.requests.sent, answered: latencies.length,
    ok: result['2xx'], status4xx: result['4xx'], status5xx: result['5xx'], errors: result.errors + result.timeouts, seconds,
    requestsPerSecond: result['2xx'] / seconds, documentsPerSecond: (result['2xx'] * options.documentsPerRequest) / seconds,
    latencyMs: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), p99: percentile(latencies, 0.99), max: Math.max(0, ...latencies) },
  };
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

interface Mode {
  readonly label: string;
  readonly args: readonly string[];
}

const MODES: readonly Mode[] = [
  { label: 'cross-request batching', args: [] },
  { label: 'one request per batch', args: ['--max-batch-requests', '1'] },
];

async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      model: { type: 'string' }, shape: { type: 'string' }, concurrency: { type: 'string' }, requests: { type: 'string' },
      documents: { type: 'string' }, words: { type: 'string' }, threads: { type: 'string' }, repeat: { type: 'string' }, json: { type: 'boolean' },
    },
  });
  const concurrencies = (values.concurrency ?? '1,4,16,64').split(',').map(Number);
  const requests = Number(values.requests ?? 96);
  const documents = Number(values.documents ?? 8);
  const words = Number(values.words ?? 40);
  const repeat = Number(values.repeat ?? 2);
  const threads = values.threads ?? String(Math.max(1, os.availableParallelism()));
  const shape = (values.shape ?? 'turbo') as ShapeName;
  const model = values.model ?? writeShapedModel(shape, fs.mkdtempSync(path.join(os.tmpdir(), `turborank-bench-${shape}-`)));
  const bodies = syntheticBodies(64, documents, words);
  // Both servers stay up and the modes alternate at every level, so drift in a shared
  // machine's speed falls on both alike; the best of `repeat` runs is kept.
  const servers: ServeProcess[] = [];
  // Interrupted: take the servers down too, rather than leave them running without a parent.
  const onSignal = (): void => {
    for (const server of servers) server.kill();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // A long deadline: at 64 connections of 8 passages a 2-core machine queues requests for
    // longer than the default 30 s, and this measures throughput, not the deadline.
    const serverArgs = ['--model', `bench=${model}`, '--port', '0', '--threads', threads, '--quiet', '--request-timeout', '300'];
    for (const mode of MODES) servers.push(await startServeProcess([...serverArgs, ...mode.args]));
    // Warm-up, enough to reach every code path's JIT tier in both servers: with a short one the
    // mode measured first pays for it, and the first level is skewed against it.
    for (const server of servers) await runLoad({ url: server.url, bodies, documentsPerRequest: documents, connections: 4, amount: 48 });
    const loadBefore = loadAverage();
    const rows: Row[] = [];
    for (const connections of concurrencies) {
      const best: (Row | undefined)[] = MODES.map(() => undefined);
      for (let r = 0; r < repeat; r++) {
        // Modes alternate, in swapped order each round, so drift in a shared machine's speed
        // falls on both alike.
        const order = r % 2 === 0 ? [...MODES.keys()] : [...MODES.keys()].reverse();
        for (const m of order) {
          const before = await batchTotals(servers[m]!.url);
          const result = await runLoad({ url: servers[m]!.url, bodies, documentsPerRequest: documents, connections, amount: Math.max(requests, 2 * connections) });
          const after = await batchTotals(servers[m]!.url);
          const batches = after.batches - before.batches;
          const pairs = after.pairs - before.pairs;
          const row = {
            mode: MODES[m]!.label, ...result, pairsPerBatch: pairs / batches, requestsPerBatch: (after.requests - before.requests) / batches,
            cpuMsPerDocument: (1000 * (after.cpuSeconds - before.cpuSeconds)) / pairs,
            inferenceMsPerDocument: (1000 * (after.inferenceSeconds - before.inferenceSeconds)) / pairs,
          };
          process.stderr.write(`round ${r + 1}, ${row.mode}, ${connections} connections: ${row.requestsPerSecond.toFixed(2)} requests/s, ` +
            `${row.pairsPerBatch.toFixed(1)} pairs per batch, load ${loadAverage().toFixed(1)}\n`);
          if (!best[m] || row.requestsPerSecond > best[m].requestsPerSecond) best[m] = row;
        }
      }
      rows.push(...(best as Row[]));
    }
    const header = {
      machine: machineDescription(), date: new Date().toISOString(), model: values.model ?? `random ${shape} shape`, threads, documents, words, repeat,
      loadAverage: [loadBefore, loadAverage()].map((l) => Number(l.toFixed(1))),
    };
    if (values.json) process.stdout.write(JSON.stringify({ ...header, rows }) + '\n');
    else process.stdout.write(formatTable(header, rows));
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** The 1-minute load average: how busy the shared machine was around the run. */
function loadAverage(): number {
  return os.loadavg()[0] ?? NaN;
}

type Row = LoadResult & {
  readonly mode: string; readonly pairsPerBatch: number; readonly requestsPerBatch: number;
  readonly cpuMsPerDocument: number; readonly inferenceMsPerDocument: number;
};

/**
 * Batches run so far, the pairs and requests in them, and the server's CPU seconds, from its
 * /metrics. CPU time per document measures the work batching saves even on a busy machine,
 * where wall-clock throughput also measures the neighbours.
 */
async function batchTotals(url: string): Promise<{ batches: number; pairs: number; requests: number; cpuSeconds: number; inferenceSeconds: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sample = (name: string): number => Number(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[2] ?? 0);
  return {
    batches: sample('turborank_batch_size_count'), pairs: sample('turborank_batch_size_sum'), requests: sample('turborank_batch_requests_sum'),
    cpuSeconds: sample('turborank_process_cpu_seconds_total'), inferenceSeconds: sample('turborank_inference_duration_seconds_sum'),
  };
}

function formatTable(header: Record<string, unknown>, rows: readonly Row[]): string {
  const [loadBefore, loadAfter] = header.loadAverage as number[];
  const lines = [
    `machine ${header.machine}; ${header.date}; model ${header.model}; ${header.threads} threads per server; ` +
      `${header.documents} documents of ~${header.words} words per request; best of ${header.repeat} interleaved rounds; 1-minute load average ${loadBefore} before, ${loadAfter} after`,
    '',
    '| batching | connections | answered/sent | requests/s | documents/s | p50 ms | p95 ms | p99 ms | pairs per batch | requests per batch | inference ms per document | server CPU ms per document | 4xx | 5xx | errors |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.mode} | ${r.connections} | ${r.answered}/${r.sent} | ${r.requestsPerSecond.toFixed(1)} | ${r.documentsPerSecond.toFixed(0)} | ` +
      `${r.latencyMs.p50.toFixed(0)} | ${r.latencyMs.p95.toFixed(0)} | ${r.latencyMs.p99.toFixed(0)} | ${r.pairsPerBatch.toFixed(1)} | ${r.requestsPerBatch.toFixed(1)} | ` +
      `${r.inferenceMsPerDocument.toFixed(1)} | ${r.cpuMsPerDocument.toFixed(1)} | ${r.status4xx} | ${r.status5xx} | ${r.errors} |`),
    '',
    'cross-request batching ÷ one request per batch, at each concurrency:',
    '',
    '| connections | requests/s | server CPU ms per document |',
    '| --- | --- | --- |',
    ...ratios(rows).map((q) => `| ${q.connections} | ${q.throughput.toFixed(2)}× | ${q.cpu.toFixed(2)}× |`),
  ];
  return lines.join('\n') + '\n';
}

/** Batching's row over the one-request row at each concurrency. */
function ratios(rows: readonly Row[]): { connections: number; throughput: number; cpu: number }[] {
  const [batching, single] = MODES.map((m) => rows.filter((r) => r.mode === m.label));
  return batching!.map((b, i) => ({
    connections: b.connections, throughput: b.requestsPerSecond / single![i]!.requestsPerSecond, cpu: b.cpuMsPerDocument / single![i]!.cpuMsPerDocument,
  }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`bench:serve: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
