/**
 * Reranking speed as a user sees it: requests of 100 documents through `Reranker.rerank`
 * (tokenization, batching and inference included), on real text with a BEIR-like mix of
 * document lengths, and at fixed token lengths per pair. Reports documents per second and
 * per 50 ms (a typical reranking budget), the latency of one 100-document request, peak RSS
 * and the model's size on disk.
 */
import fs from 'node:fs';
import { SafetensorsFile, locateModel } from '../checkpoint/index.js';
import { defaultModelPath, Reranker } from '../rerank/index.js';
import type { Precision } from '../runtime/index.js';
import { mulberry32 } from './random-model.js';
import { machineDescription } from './throughput.js';

/** Texts to draw requests from: real queries and documents (a BEIR corpus) or synthetic ones. */
export interface SpeedTexts {
  readonly source: string;
  readonly queries: readonly string[];
  readonly documents: readonly string[];
}

export interface SpeedOptions {
  /** A model path or hub name; the bundled test model when absent. */
  readonly model?: string;
  readonly threads?: number;
  readonly batchSize?: number;
  readonly precision?: Precision;
  /** Fixed token lengths per (query, document) pair to measure, besides the mix. */
  readonly lengths?: readonly number[];
  /** Timed requests per workload, after one untimed warm-up request (default 5). */
  readonly requests?: number;
  readonly documentsPerRequest?: number;
  readonly texts: SpeedTexts;
  readonly seed?: number;
}

export interface WorkloadSpeed {
  /** "mix" or "<n> tokens". */
  readonly workload: string;
  readonly tokensPerPair: number | null;
  readonly requests: number;
  readonly documents: number;
  readonly seconds: number;
  readonly docsPerSecond: number;
  readonly docsPer50ms: number;
  /** Median wall time of one request of `documentsPerRequest` documents. */
  readonly latencyMs: number;
}

export interface RerankSpeedResult {
  readonly model: string;
  readonly precision: Precision;
  readonly threads: number | null;
  readonly documentsPerRequest: number;
  readonly textSource: string;
  readonly modelBytes: number;
  /** Weights in model.safetensors (all tensors' elements); null for an ONNX model. */
  readonly parameters?: number | null;
  readonly loadSeconds: number;
  readonly mix: WorkloadSpeed;
  readonly lengths: readonly WorkloadSpeed[];
  /** The process's peak resident memory (Node, the data and the model) in MiB. */
  readonly peakRssMiB: number;
  readonly machine: string;
  readonly date: string;
}

export async function measureRerankSpeed(options: SpeedOptions): Promise<RerankSpeedResult> {
  const perRequest = options.documentsPerRequest ?? 100;
  const requests = options.requests ?? 5;
  const next = mulberry32(options.seed ?? 11);
  const started = performance.now();
  const reranker = await Reranker.load(options.model, { threads: options.threads, batchSize: options.batchSize, precision: options.precision });
  const loadSeconds = (performance.now() - started) / 1000;
  try {
    const draw = (): { query: string; documents: string[] } => ({
      query: pick(options.texts.queries, next),
      documents: Array.from({ length: perRequest }, () => pick(options.texts.documents, next)),
    });
    const mix = await timeWorkload('mix', null, requests, draw, (r) => reranker.rerank(r.query, r.documents));
    const lengths: WorkloadSpeed[] = [];
    for (const tokens of options.lengths ?? []) {
      // Documents longer than any budget, truncated by the tokenizer to exactly `tokens` per pair.
      const drawLong = (): { query: string; documents: string[] } => ({
        query: pick(options.texts.queries, next),
        documents: Array.from({ length: perRequest }, () => longText(options.texts.documents, tokens * 8, next)),
      });
      lengths.push(await timeWorkload(`${tokens} tokens`, tokens, requests, drawLong, (r) => reranker.rerank(r.query, r.documents, { maxLength: tokens })));
    }
    return {
      model: options.model ?? defaultModelPath(), precision: options.precision ?? 'fp32', threads: options.threads ?? null, documentsPerRequest: perRequest,
      textSource: options.texts.source, modelBytes: modelBytes(options.model), parameters: modelParameters(options.model), loadSeconds, mix, lengths,
      peakRssMiB: process.resourceUsage().maxRSS / 1024, machine: machineDescription(), date: new Date().toISOString(),
    };
  } finally {
    await reranker.close();
  }
}

type Request = { query: string; documents: string[] };

async function timeWorkload(workload: string, tokensPerPair: number | null, requests: number, draw: () => Request, rerank: (r: Request) => Promise<unknown>): Promise<WorkloadSpeed> {
  await rerank(draw()); // warm-up: the first run of each shape allocates and picks kernels
  const latencies: number[] = [];
  let documents = 0;
  for (let i = 0; i < requests; i++) {
    const request = draw();
    const started = performance.now();
    await rerank(request);
    latencies.push(performance.now() - started);
    documents += request.documents.length;
  }
  const seconds = latencies.reduce((a, b) => a + b, 0) / 1000;
  const docsPerSecond = documents / seconds;
  return { workload, tokensPerPair, requests, documents, seconds, docsPerSecond, docsPer50ms: docsPerSecond / 20, latencyMs: median(latencies) };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function pick<T>(items: readonly T[], next: () => number): T {
  return items[Math.floor(next() * items.length)]!;
}

function longText(documents: readonly string[], minChars: number, next: () => number): string {
  const parts: string[] = [];
  let length = 0;
  while (length < minChars) {
    const text = pick(documents, next);
    parts.push(text);
    length += text.length + 1;
  }
  return parts.join(' ');
}

/** Bytes of the weights on disk: model.safetensors, or the .onnx file (with external data). */
export function modelBytes(model: string | undefined): number {
  const located = locateModel(model ?? defaultModelPath());
  const file = located.kind === 'checkpoint' ? located.weightsPath : located.onnxPath;
  const external = `${file}_data`;
  return fs.statSync(file).size + (fs.existsSync(external) ? fs.statSync(external).size : 0);
}

/** Elements of every tensor in model.safetensors (read from its header); null for ONNX models. */
export function modelParameters(model: string | undefined): number | null {
  const located = locateModel(model ?? defaultModelPath());
  if (located.kind !== 'checkpoint') return null;
  const weights = SafetensorsFile.open(located.weightsPath);
  return weights.names().reduce((sum, name) => sum + weights.info(name).shape.reduce((a, b) => a * b, 1), 0);
}

/*
 * Mean document length in words of the public BEIR datasets (BEIR paper, Table 1): MS MARCO,
 * TREC-COVID, NFCorpus, NQ, HotpotQA, FiQA, ArguAna, Touché, CQADupStack, Quora, DBPedia,
 * SCIDOCS, FEVER, Climate-FEVER, SciFact. Used when no corpus is given.
 */
const BEIR_MEAN_WORDS = [55.98, 160.77, 232.26, 78.88, 46.3, 132.32, 166.8, 292.37, 129.09, 11.44, 49.68, 176.19, 84.76, 84.76, 213.63];

const WORDS = (
  'the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were ' +
  'her she there been one all we their has would when if can more will so no who what about up out them some could into ' +
  'than other time only new then these two may first also after any its most over such like well where should people ' +
  'between each used through years because found study results patients cells protein data model analysis effect ' +
  'increased level associated treatment clinical expression role during higher human risk significant activity ' +
  'disease factors system using compared response group growth function cancer gene specific development method ' +
  'water company market price information design process research school city state government history music film'
).split(' ');

/**
 * Synthetic documents with BEIR's length mix: each takes the mean length of a randomly chosen
 * BEIR dataset, spread log-normally around it, in common English words.
 */
export function syntheticTexts(documents = 2000, seed = 5): SpeedTexts {
  const next = mulberry32(seed);
  const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const words = (n: number): string => Array.from({ length: n }, () => pick(WORDS, next)).join(' ');
  const sigma = 0.5;
  return {
    source: 'synthetic BEIR-like length mix',
    queries: Array.from({ length: 50 }, () => words(4 + Math.floor(next() * 8))),
    documents: Array.from({ length: documents }, () => {
      const mean = pick(BEIR_MEAN_WORDS, next);
      return words(Math.max(3, Math.round(mean * Math.exp(sigma * gaussian() - (sigma * sigma) / 2))));
    }),
  };
}
