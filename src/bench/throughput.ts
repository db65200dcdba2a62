/**
 * Throughput of a cross-encoder at a fixed pair length, and the matrix-multiply rate ONNX
 * Runtime reaches on this machine, measured in the same process so the two compare fairly.
 */
import os from 'node:os';
import type { ModelSpec } from '../checkpoint/spec.js';
import { GraphBuilder, toOnnx } from '../graph/index.js';
import { buildCrossEncoder, computesFirstTokenOnly, lastLayerRows, type AttentionRows, type LastLayer, type WeightLookup } from '../models/index.js';
import { CrossEncoderSession, type Precision } from '../runtime/index.js';
import type { TokenBatch } from '../tokenizer/batch.js';
import { forwardFlops, mulberry32 } from './random-model.js';
import ort from 'onnxruntime-node';

export interface ThroughputResult {
  readonly model: string;
  readonly tokens: number;
  readonly pairs: number;
  readonly batchSize: number;
  readonly threads: number;
  readonly precision: Precision;
  readonly seconds: number;
  readonly docsPerSecond: number;
  readonly docsPer50ms: number;
  readonly gflopsPerSecond: number;
  readonly peakRssMiB: number;
}

export interface MatmulRate {
  readonly shape: string;
  readonly gflopsPerSecond: number;
}

/** The rows the last layer of `spec` computes under `lastLayer` (for counting its FLOPs). */
export function attentionRows(spec: ModelSpec, lastLayer: LastLayer): AttentionRows {
  return computesFirstTokenOnly(spec) ? lastLayerRows(lastLayer) : 'tokens';
}

/** A batch of random ids (never the pad id 0..4 specials) of one length. */
export function syntheticBatch(batchSize: number, tokens: number, vocabSize: number, seed = 7): TokenBatch {
  const next = mulberry32(seed);
  const size = batchSize * tokens;
  const inputIds = new BigInt64Array(size);
  for (let i = 0; i < size; i++) inputIds[i] = BigInt(5 + Math.floor(next() * (vocabSize - 5)));
  return {
    batchSize, seqLen: tokens, inputIds,
    attentionMask: new BigInt64Array(size).fill(1n),
    tokenTypeIds: new BigInt64Array(size),
    lengths: new Int32Array(batchSize).fill(tokens),
  };
}

export async function measureThroughput(spec: ModelSpec, weights: WeightLookup, options: { tokens: number; pairs: number; batchSize: number; threads: number; name: string; precision?: Precision; lastLayer?: LastLayer }): Promise<ThroughputResult> {
  const precision = options.precision ?? 'fp32';
  const lastLayer = options.lastLayer ?? 'first-token-folded'; // what Reranker runs
  const graph = buildCrossEncoder(spec, weights, { lastLayer });
  const session = await CrossEncoderSession.fromGraph(graph, options.name, { threads: options.threads, precision });
  const batch = syntheticBatch(options.batchSize, options.tokens, spec.vocabSize);
  await session.run(batch); // warm-up: first run allocates and picks kernels
  const runs = Math.max(1, Math.ceil(options.pairs / options.batchSize));
  const started = performance.now();
  for (let r = 0; r < runs; r++) await session.run(batch);
  const seconds = (performance.now() - started) / 1000;
  await session.close();
  const docs = runs * options.batchSize;
  const docsPerSecond = docs / seconds;
  return {
    model: options.name, tokens: options.tokens, pairs: docs, batchSize: options.batchSize, threads: options.threads, precision,
    seconds, docsPerSecond, docsPer50ms: docsPerSecond / 20,
    gflopsPerSecond: (forwardFlops(spec, options.tokens, attentionRows(spec, lastLayer)) * docsPerSecond) / 1e9,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

/** GFLOP/s of one ORT MatMul [m,k]×[k,n] in float32, best of a few timed runs. */
export async function measureMatmul(m: number, k: number, n: number, threads: number, seconds = 1): Promise<MatmulRate> {
  const g = new GraphBuilder();
  const a = g.input('a', 'float32', [m, k]);
  const next = mulberry32(3);
  const w = g.constant('w', 'float32', [k, n], Float32Array.from({ length: k * n }, () => next() - 0.5));
  g.output('y', g.matmul(a, w));
  const session = await ort.InferenceSession.create(toOnnx(g.build()), { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const feed = { a: new ort.Tensor('float32', Float32Array.from({ length: m * k }, () => next() - 0.5), [m, k]) };
  await session.run(feed);
  let runs = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await session.run(feed);
    runs++;
  }
  const elapsed = (performance.now() - started) / 1000;
  await session.release();
  return { shape: `${m}x${k}x${n}`, gflopsPerSecond: (2 * m * k * n * runs) / elapsed / 1e9 };
}

export function machineDescription(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${os.availableParallelism()} cores available, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, onnxruntime-node ${ort.env.versions.common}`;
}
