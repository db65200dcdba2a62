/**
 * The race (`npm run bench:peers`): turborank against transformers.js (@huggingface/transformers),
 * the way a JavaScript developer runs a cross-encoder today, on the same models, the same
 * (query, document) pairs and the same threads, each contender in its own process so that its
 * peak RSS is its own.
 *
 *   node dist/src/bench/peers.js [--pairs 1000] [--threads 2] [--models turbo,golden-tiny]
 *                                [--max-length 512] [--chart docs/peers.svg] [--json]
 *
 * Models: a random-weight checkpoint with jina-reranker-v1-turbo-en's shape (hidden 384, 6 layers,
 * 12 heads, GEGLU 1536) and the golden tiny JinaBERT test fixture, both with the fixture's
 * WordPiece tokenizer. transformers.js runs exportModel(…, { everyRow: true }) of each: the graph an
 * export of the PyTorch model gives, every token's row through every layer (the export test
 * checks its logits equal ours); turborank runs the checkpoint, fp32 and int8, whose last layer
 * computes the [CLS] row alone.
 *
 * Requests are of 100 documents for one query, drawn from the BEIR-like length mix of
 * `eval speed`. transformers.js is run as its documentation's reranking example does it (the
 * query repeated, the documents as text_pair, `padding: true, truncation: true`: one batch per
 * request) and, to separate engine from batching, also with turborank's length-bucketed plan
 * (pairs tokenized one by one, sorted by length, batches under 8192 padded tokens / 32 pairs).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { expectedTensors, specToConfigJson, writeSafetensors } from '../checkpoint/index.js';
import { exportModel } from '../rerank/export.js';
import { Reranker } from '../rerank/index.js';
import { DEFAULT_BATCH_PLAN, paddingFraction, planBatches, type Precision } from '../runtime/index.js';
import { PairTokenizer, type EncodedPair } from '../tokenizer/index.js';
import { peakRssMiB } from './load-memory.js';
import { renderRaceChart } from './peers-chart.js';
import { REFERENCE_SHAPES, mulberry32, randomWeights } from './random-model.js';
import { syntheticTexts } from './rerank-speed.js';
import { machineDescription } from './throughput.js';

export type RaceModel = 'turbo' | 'golden-tiny';
export const RACE_MODELS: readonly RaceModel[] = ['turbo', 'golden-tiny'];
export type Contender = 'transformers.js' | 'transformers.js, length-bucketed' | 'turborank fp32' | 'turborank int8';
export const CONTENDERS: readonly Contender[] = ['transformers.js', 'transformers.js, length-bucketed', 'turborank fp32', 'turborank int8'];

export interface RaceOptions {
  readonly pairs: number;
  readonly threads: number;
  readonly documentsPerRequest: number;
  readonly maxLength: number;
  readonly models: readonly RaceModel[];
  readonly contenders: readonly Contender[];
  readonly seed?: number;
}

export interface RaceRequest {
  readonly query: string;
  readonly documents: readonly string[];
}

export interface ContenderResult {
  readonly model: RaceModel;
  readonly contender: Contender;
  readonly documents: number;
  readonly requests: number;
  readonly loadSeconds: number;
  readonly seconds: number;
  readonly docsPerSecond: number;
  readonly docsPer50ms: number;
  /** Latency of one request of `documentsPerRequest` documents, over the timed requests. */
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly peakRssMiB: number;
  /** Relevance logits of the first request, to check the contenders agree. */
  readonly firstLogits: readonly number[];
}

export interface RaceResult {
  readonly machine: string;
  readonly date: string;
  readonly options: RaceOptions;
  /** Per model: the mix's real tokens per pair and the padding of each batching, by our tokenizer. */
  readonly workload: readonly {
    readonly model: RaceModel;
    readonly meanTokens: number;
    readonly medianTokens: number;
    readonly truncatedPairs: number;
    readonly paddingBucketed: number;
    readonly paddingOneBatchPerRequest: number;
  }[];
  readonly results: readonly ContenderResult[];
  /** Contenders whose process stopped during the race (their other results are left out). */
  readonly failures: readonly { readonly model: RaceModel; readonly contender: Contender; readonly atRequest: number; readonly message: string }[];
  /** Per model: each contender's documents/s over transformers.js's (one batch per request). */
  readonly ratios: readonly { readonly model: RaceModel; readonly contender: Contender; readonly overTransformersJs: number }[];
}

/** What a child process is told to run. */
interface ChildTask {
  readonly contender: Contender;
  readonly model: RaceModel;
  /** The checkpoint (turborank) or the export (transformers.js). */
  readonly dir: string;
  readonly threads: number;
  readonly maxLength: number;
  readonly requests: readonly RaceRequest[];
}

/** The fixture whose model is raced and whose tokenizer both models use. */
function goldenTinyDir(): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  return path.join(root, 'test', 'fixtures', 'jinabert-tiny-golden');
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'];

/** A random-weight turbo-shape checkpoint with the golden fixture's tokenizer, written to `dir`. */
function writeTurboCheckpoint(dir: string): void {
  const spec = REFERENCE_SHAPES.turbo;
  const weights = randomWeights();
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, 'model.safetensors'), expectedTensors(spec).map((t) => ({ name: t.name, dtype: 'F32', shape: t.shape, data: weights(t.name, t.shape) })));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(specToConfigJson(spec), null, 2));
  for (const name of TOKENIZER_FILES) fs.copyFileSync(path.join(goldenTinyDir(), name), path.join(dir, name));
}

/** `pairs / documentsPerRequest` requests from the BEIR-like mix, seeded. */
export function raceRequests(pairs: number, documentsPerRequest: number, seed = 17): RaceRequest[] {
  const texts = syntheticTexts(2000);
  const next = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const requests: RaceRequest[] = [];
  for (let left = pairs; left > 0; left -= documentsPerRequest) {
    requests.push({ query: pick(texts.queries), documents: Array.from({ length: Math.min(left, documentsPerRequest) }, () => pick(texts.documents)) });
  }
  return requests;
}

export async function runRace(options: RaceOptions, onProgress: (line: string) => void = () => {}): Promise<RaceResult> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'turborank-race-'));
  try {
    const requests = raceRequests(options.pairs, options.documentsPerRequest, options.seed);
    const results: ContenderResult[] = [];
    const failures: RaceResult['failures'][number][] = [];
    const workload: RaceResult['workload'][number][] = [];
    for (const model of options.models) {
      const checkpoint = model === 'turbo' ? path.join(work, 'turbo') : goldenTinyDir();
      if (model === 'turbo') writeTurboCheckpoint(checkpoint);
      const exported = path.join(work, `${model}-onnx`);
      // transformers.js stands for what users run: an export of the PyTorch model, which computes every row.
      exportModel(checkpoint, exported, { everyRow: true });
      workload.push(await describeWorkload(model, checkpoint, requests, options.maxLength));
      onProgress(`${model}: loading ${options.contenders.join(', ')}, each in its own process …`);
      const children: RaceChild[] = [];
      try {
        for (const contender of options.contenders) {
          const dir = contender.startsWith('transformers.js') ? exported : checkpoint;
          children.push(await RaceChild.start({ contender, model, dir, threads: options.threads, maxLength: options.maxLength, requests }));
        }
        // The machine is shared: the contenders take turns request by request (in rotating
        // order), so a busy spell slows them all alike instead of whichever ran then.
        const latencies = children.map(() => [] as number[]);
        const failed = new Map<number, string>();
        for (let i = 0; i < requests.length; i++) {
          for (let k = 0; k < children.length; k++) {
            const c = (i + k) % children.length;
            if (failed.has(c)) continue;
            try {
              latencies[c]!.push(await children[c]!.run(i));
            } catch (err) {
              // A contender that dies (the kernel's OOM killer, say) is reported, not fatal to the others.
              failed.set(c, (err as Error).message);
              failures.push({ model, contender: children[c]!.task.contender, atRequest: i + 1, message: (err as Error).message });
              onProgress(`${model}: ${(err as Error).message}`);
            }
          }
          onProgress(`${model}: request ${i + 1} of ${requests.length}`);
        }
        for (const [c, child] of children.entries()) {
          if (failed.has(c)) continue;
          const result = summarize(child, latencies[c]!, requests, await child.finish());
          onProgress(`${model}: ${result.contender}: ${result.docsPerSecond.toFixed(1)} documents/s, p50 ${result.p50Ms.toFixed(0)} ms, peak RSS ${result.peakRssMiB.toFixed(0)} MiB`);
          results.push(result);
        }
      } finally {
        for (const child of children) child.kill();
      }
    }
    const ratios = results.flatMap((r) => {
      const base = results.find((b) => b.model === r.model && b.contender === 'transformers.js');
      return base ? [{ model: r.model, contender: r.contender, overTransformersJs: r.docsPerSecond / base.docsPerSecond }] : [];
    });
    return { machine: machineDescription(), date: new Date().toISOString(), options, workload, results, ratios, failures };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Token lengths of the workload by our tokenizer, and what each way of batching pads. */
async function describeWorkload(model: RaceModel, dir: string, requests: readonly RaceRequest[], maxLength: number): Promise<RaceResult['workload'][number]> {
  const tokenizer = await PairTokenizer.load(path.join(dir, 'tokenizer.json'));
  const perRequest = await Promise.all(requests.map((r) => tokenizer.encodePairs(r.documents.map((document) => ({ query: r.query, document })), maxLength)));
  const all = perRequest.flat();
  const lengths = all.map((p) => p.length).sort((a, b) => a - b);
  const bucketed = perRequest.flatMap((pairs) => planBatches(pairs, DEFAULT_BATCH_PLAN).map((b) => b.map((i) => pairs[i]!)));
  const onePerRequest = perRequest;
  const padding = (batches: readonly (readonly EncodedPair[])[]): number => {
    const flat = batches.flat();
    let offset = 0;
    return paddingFraction(flat, batches.map((b) => b.map(() => offset++)));
  };
  return {
    model, meanTokens: lengths.reduce((a, b) => a + b, 0) / lengths.length, medianTokens: lengths[lengths.length >> 1]!,
    truncatedPairs: lengths.filter((n) => n >= maxLength).length,
    paddingBucketed: padding(bucketed), paddingOneBatchPerRequest: padding(onePerRequest),
  };
}

/** A contender in its own process, answering one request at a time over stdin/stdout (JSON lines). */
class RaceChild {
  private readonly waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  private buffered = '';
  private stopped: Error | undefined;
  /** Seconds from the child's start to its model being ready (before the warm-up request). */
  loadSeconds = 0;

  private constructor(readonly task: ChildTask, private readonly process: ChildProcessByStdio<Writable, Readable, null>, private readonly dir: string) {
    process.stdout.on('data', (b: Buffer) => {
      this.buffered += b.toString('utf8');
      this.deliver();
    });
    // A child that stops fails whatever waits on it, now or later: the race never hangs.
    process.on('close', (code) => {
      this.stopped = new Error(`${task.contender} on ${task.model} stopped (exit ${code}): see its message above`);
      for (const w of this.waiting.splice(0)) w.reject(this.stopped);
    });
  }

  static async start(task: ChildTask): Promise<RaceChild> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turborank-race-task-'));
    fs.writeFileSync(path.join(dir, 'task.json'), JSON.stringify(task));
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', path.join(dir, 'task.json')], { stdio: ['pipe', 'pipe', 'inherit'] });
    const handle = new RaceChild(task, child, dir);
    handle.loadSeconds = (JSON.parse(await handle.next()) as { loadSeconds: number }).loadSeconds;
    return handle;
  }

  /** Runs request `index`; its latency in ms. */
  async run(index: number): Promise<number> {
    this.process.stdin.write(JSON.stringify({ run: index }) + '\n');
    return (JSON.parse(await this.next()) as { latencyMs: number }).latencyMs;
  }

  async finish(): Promise<ChildSummary> {
    this.process.stdin.write(JSON.stringify({ finish: true }) + '\n');
    return JSON.parse(await this.next()) as ChildSummary;
  }

  kill(): void {
    this.process.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private next(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.deliver();
    });
  }

  private deliver(): void {
    let newline = this.buffered.indexOf('\n');
    while (newline >= 0 && this.waiting.length > 0) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      this.waiting.shift()!.resolve(line);
      newline = this.buffered.indexOf('\n');
    }
    if (this.stopped) for (const w of this.waiting.splice(0)) w.reject(this.stopped);
  }
}

interface ChildSummary {
  readonly peakRssMiB: number;
  readonly firstLogits: readonly number[];
}

function summarize(child: RaceChild, latencies: readonly number[], requests: readonly RaceRequest[], summary: ChildSummary): ContenderResult {
  const documents = requests.reduce((n, r) => n + r.documents.length, 0);
  const seconds = latencies.reduce((a, b) => a + b, 0) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  const quantile = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return {
    model: child.task.model, contender: child.task.contender, documents, requests: requests.length, loadSeconds: child.loadSeconds, seconds,
    docsPerSecond: documents / seconds, docsPer50ms: documents / seconds / 20, p50Ms: quantile(0.5), p95Ms: quantile(0.95),
    peakRssMiB: summary.peakRssMiB, firstLogits: summary.firstLogits,
  };
}

// ── the child: one contender, one model ────────────────────────────────────────────────────────

type Scorer = { score(request: RaceRequest): Promise<number[]>; close(): Promise<void> };

async function turborankScorer(task: ChildTask, precision: Precision): Promise<Scorer> {
  const reranker = await Reranker.load(task.dir, { threads: task.threads, maxLength: task.maxLength, precision });
  return {
    score: async (r) => (await reranker.rerank(r.query, r.documents)).sort((a, b) => a.index - b.index).map((x) => x.logit),
    close: () => reranker.close(),
  };
}

async function transformersJsScorer(task: ChildTask, bucketed: boolean): Promise<Scorer> {
  const { AutoModelForSequenceClassification, AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(task.dir);
  const id = path.basename(task.dir);
  const tokenizer = await AutoTokenizer.from_pretrained(id, { local_files_only: true });
  const model = await AutoModelForSequenceClassification.from_pretrained(id, {
    local_files_only: true, dtype: 'fp32', session_options: { intraOpNumThreads: task.threads, interOpNumThreads: 1 },
  });
  const options = { padding: true, truncation: true, max_length: task.maxLength };
  const run = async (query: string, documents: readonly string[]): Promise<number[]> => {
    const inputs = tokenizer(new Array<string>(documents.length).fill(query), { ...options, text_pair: [...documents] });
    const { logits } = (await model(inputs)) as { logits: { data: Float32Array } };
    return Array.from(logits.data);
  };
  return {
    score: async (r) => {
      if (!bucketed) return run(r.query, r.documents);
      // turborank's plan on transformers.js's own token counts.
      const lengths = r.documents.map((document) => tokenizer(r.query, { text_pair: document, truncation: true, max_length: task.maxLength }).input_ids.dims[1] as number);
      const logits = new Array<number>(r.documents.length);
      for (const batch of planBatches(lengths.map((length) => ({ ids: [], typeIds: [], length })), DEFAULT_BATCH_PLAN)) {
        const out = await run(r.query, batch.map((i) => r.documents[i]!));
        batch.forEach((original, row) => (logits[original] = out[row]!));
      }
      return logits;
    },
    close: async () => {
      await model.dispose();
    },
  };
}

/** The child's loop: load, warm up, then run the requests the parent names, one at a time. */
async function runChild(task: ChildTask): Promise<void> {
  const started = performance.now();
  const scorer = task.contender.startsWith('transformers.js')
    ? await transformersJsScorer(task, task.contender === 'transformers.js, length-bucketed')
    : await turborankScorer(task, task.contender === 'turborank int8' ? 'int8' : 'fp32');
  const loadSeconds = (performance.now() - started) / 1000;
  // One untimed request first: ONNX Runtime allocates and picks kernels on first use.
  const firstLogits = await scorer.score(task.requests[0]!);
  const reply = (value: unknown): void => void process.stdout.write(JSON.stringify(value) + '\n');
  reply({ loadSeconds });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const message = JSON.parse(line) as { run?: number; finish?: boolean };
    if (message.finish) {
      await scorer.close();
      reply({ peakRssMiB: peakRssMiB(), firstLogits } satisfies ChildSummary);
      return;
    }
    const t = performance.now();
    await scorer.score(task.requests[message.run!]!);
    reply({ latencyMs: performance.now() - t });
  }
}

// ── output ─────────────────────────────────────────────────────────────────────────────────────

export function raceTable(r: RaceResult): string {
  const lines = [
    `machine  ${r.machine}`,
    `date     ${r.date}`,
    `workload ${r.options.pairs} pairs in requests of ${r.options.documentsPerRequest} documents (BEIR-like length mix), max ${r.options.maxLength} tokens, ${r.options.threads} threads each`,
  ];
  for (const w of r.workload) {
    lines.push(`${w.model}: tokens per pair mean ${w.meanTokens.toFixed(0)}, median ${w.medianTokens}, ${w.truncatedPairs} truncated; padding: ${(100 * w.paddingBucketed).toFixed(1)}% length-bucketed, ${(100 * w.paddingOneBatchPerRequest).toFixed(1)}% one batch per request`);
  }
  lines.push('', '| model | contender | documents/s | documents per 50 ms | p50 latency, 100 docs | p95 latency | peak RSS | × transformers.js | median \\|Δ logit\\| vs turborank fp32 |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const x of r.results) {
    const ratio = r.ratios.find((q) => q.model === x.model && q.contender === x.contender)?.overTransformersJs;
    const reference = r.results.find((q) => q.model === x.model && q.contender === 'turborank fp32');
    const delta = reference ? median(x.firstLogits.map((v, i) => Math.abs(v - reference.firstLogits[i]!))) : undefined;
    lines.push(`| ${x.model} | ${x.contender} | ${x.docsPerSecond.toFixed(1)} | ${x.docsPer50ms.toFixed(2)} | ${x.p50Ms.toFixed(0)} ms | ${x.p95Ms.toFixed(0)} ms | ${x.peakRssMiB.toFixed(0)} MiB | ${ratio === undefined ? '' : `${ratio.toFixed(2)}×`} | ${delta === undefined ? '' : delta.toExponential(1)} |`);
  }
  for (const f of r.failures) lines.push(`${f.model}: ${f.contender} stopped at request ${f.atRequest}: ${f.message}`);
  return lines.join('\n') + '\n';
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? 0;
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === '--child') {
    await runChild(JSON.parse(fs.readFileSync(argv[1]!, 'utf8')) as ChildTask);
    return;
  }
  const { values } = parseArgs({
    args: [...argv],
    options: {
      pairs: { type: 'string' }, threads: { type: 'string' }, models: { type: 'string' }, contenders: { type: 'string' },
      'max-length': { type: 'string' }, chart: { type: 'string' }, json: { type: 'boolean' },
    },
  });
  const int = (raw: string | undefined, fallback: number): number => {
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got '${raw}'`);
    return n;
  };
  const list = <T extends string>(raw: string | undefined, all: readonly T[]): T[] => {
    if (raw === undefined) return [...all];
    const items = raw.split(',').map((s) => s.trim()) as T[];
    const bad = items.find((i) => !all.includes(i));
    if (bad !== undefined) throw new Error(`'${bad}' is not one of: ${all.join(', ')}`);
    return items;
  };
  const options: RaceOptions = {
    pairs: int(values.pairs, 1000), threads: int(values.threads, 2), documentsPerRequest: 100, maxLength: int(values['max-length'], 512),
    models: list(values.models, RACE_MODELS), contenders: list(values.contenders, CONTENDERS),
  };
  const result = await runRace(options, (line) => process.stderr.write(line + '\n'));
  if (values.chart) {
    const bars = result.results.map((x) => ({ model: x.model === 'turbo' ? 'turbo shape (6 × 384)' : 'golden tiny (2 × 64)', contender: x.contender, docsPerSecond: x.docsPerSecond }));
    fs.writeFileSync(values.chart, await renderRaceChart(`Reranking ${options.pairs} BEIR-like pairs, ${options.threads} threads (${result.date.slice(0, 10)})`, bars));
  }
  process.stdout.write(values.json ? JSON.stringify(result) + '\n' : raceTable(result));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`bench:peers: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
