/**
 * Speed of one training step (forward + backward + AdamW) as the trainer runs it, on
 * synthetic token batches, next to ONNX Runtime's matrix-multiply rate measured in the same
 * process. FLOPs count a step as 3× the forward pass (backward ≈ 2× forward), as is usual.
 */
import ort from 'onnxruntime-node';
import type { ModelSpec } from '../checkpoint/spec.js';
import type { WeightLookup } from '../models/index.js';
import { AdamW, DEFAULT_ADAMW } from '../train/optimizer.js';
import { GRADIENT_PREFIX, buildTrainingGraph } from '../train/training-graph.js';
import { forwardFlops } from './random-model.js';
import { attentionRows, machineDescription, measureMatmul, syntheticBatch, type MatmulRate } from './throughput.js';

export interface TrainSpeedOptions {
  readonly tokens: number;
  readonly batchSize: number;
  /** Timed steps, after the warm-up steps. */
  readonly steps: number;
  readonly warmupSteps: number;
  readonly threads: number;
  readonly name: string;
  /** Dropout as in a default training config (0.1); 0 turns it off. */
  readonly dropout: number;
  /** Seconds per matmul measurement (before and after the steps). */
  readonly matmulSeconds?: number;
}

export interface TrainSpeedResult {
  readonly model: string;
  readonly tokens: number;
  readonly batchSize: number;
  readonly threads: number;
  readonly dropout: number;
  readonly parameters: number;
  readonly steps: number;
  readonly secondsPerStep: number;
  /** The fastest timed step, for a machine shared with other work. */
  readonly fastestStepSeconds: number;
  /** Of which: the forward + backward session, and the AdamW session. */
  readonly forwardBackwardSeconds: number;
  readonly optimizerSeconds: number;
  readonly tokensPerSecond: number;
  /** 3 × forward FLOPs per step / seconds per step. */
  readonly gflopsPerSecond: number;
  readonly peakRssMiB: number;
}

export interface TrainSpeedReport extends TrainSpeedResult {
  readonly machine: string;
  readonly date: string;
  readonly matmul: readonly MatmulRate[];
  readonly fractionOfMatmul: number;
}

/** Training steps of `spec` with random weights; every timed step does what Trainer.run does. */
export async function measureTrainingSpeed(spec: ModelSpec, weights: WeightLookup, o: TrainSpeedOptions): Promise<TrainSpeedResult> {
  const cache = new Map<string, Float32Array>();
  const lookup: WeightLookup = (name, shape) => {
    let w = cache.get(name);
    if (!w) cache.set(name, (w = weights(name, shape)));
    return w;
  };
  const dropout = o.dropout > 0 ? { hidden: o.dropout, attention: o.dropout, seed: 1 } : undefined;
  const graph = buildTrainingGraph(spec, lookup, { name: 'bce' }, dropout);
  let params = graph.parameters.map((p) => lookup(p.name, p.shape));
  cache.clear();
  let m: Float32Array[] = params.map((p) => new Float32Array(p.length));
  let v: Float32Array[] = params.map((p) => new Float32Array(p.length));
  const session = await ort.InferenceSession.create(graph.onnx, { intraOpNumThreads: o.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const optimizer = await AdamW.create(graph.parameters, DEFAULT_ADAMW, o.threads);

  const batch = syntheticBatch(o.batchSize, o.tokens, spec.vocabSize);
  const dims = [o.batchSize, o.tokens];
  const labels = Float32Array.from({ length: o.batchSize }, (_, i) => i % 2);
  let forwardBackward = 0;
  let optimizing = 0;
  const step = async (n: number): Promise<void> => {
    const t0 = performance.now();
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', batch.inputIds, dims),
      attention_mask: new ort.Tensor('int64', batch.attentionMask, dims),
      token_type_ids: new ort.Tensor('int64', batch.tokenTypeIds, dims),
      labels: new ort.Tensor('float32', labels, [o.batchSize]),
    };
    graph.parameters.forEach((p, i) => {
      feeds[p.name] = new ort.Tensor('float32', params[i]!, [...p.shape]);
    });
    const out = await session.run(feeds);
    const grads = graph.parameters.map((p) => out[GRADIENT_PREFIX + p.name]!.data as Float32Array);
    const norm = Math.sqrt(Number((out.grad_norm_squared!.data as Float32Array)[0]));
    const t1 = performance.now();
    const next = await optimizer.step(params, grads, m, v, { learningRate: 1e-5, step: n, gradientScale: Math.min(1, 1 / (norm + 1e-6)) });
    params = next.params;
    m = next.m;
    v = next.v;
    forwardBackward += t1 - t0;
    optimizing += performance.now() - t1;
  };

  for (let i = 1; i <= o.warmupSteps; i++) await step(i);
  forwardBackward = optimizing = 0;
  let fastest = Infinity;
  const started = performance.now();
  for (let i = 1; i <= o.steps; i++) {
    const t = performance.now();
    await step(o.warmupSteps + i);
    fastest = Math.min(fastest, (performance.now() - t) / 1000);
  }
  const seconds = (performance.now() - started) / 1000;
  await session.release();
  await optimizer.close();

  const secondsPerStep = seconds / o.steps;
  return {
    model: o.name, tokens: o.tokens, batchSize: o.batchSize, threads: o.threads, dropout: o.dropout,
    parameters: params.reduce((n, p) => n + p.length, 0),
    steps: o.steps, secondsPerStep, fastestStepSeconds: fastest,
    forwardBackwardSeconds: forwardBackward / 1000 / o.steps,
    optimizerSeconds: optimizing / 1000 / o.steps,
    tokensPerSecond: (o.batchSize * o.tokens) / secondsPerStep,
    gflopsPerSecond: (3 * forwardFlops(spec, o.tokens, attentionRows(spec, 'first-token')) * o.batchSize) / secondsPerStep / 1e9,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

/**
 * The training steps between two measurements of ORT's float32 MatMul on the model's own
 * GEMM shapes; the better of each pair is kept (the machine is shared and noisy).
 */
export async function benchTraining(spec: ModelSpec, weights: WeightLookup, o: TrainSpeedOptions): Promise<TrainSpeedReport> {
  const shapes: [number, number, number][] = [
    [o.batchSize * o.tokens, spec.hiddenSize, spec.intermediateSize],
    [o.batchSize * o.tokens, spec.hiddenSize, spec.hiddenSize],
  ];
  const measureAll = async (): Promise<MatmulRate[]> => {
    const rates: MatmulRate[] = [];
    for (const [m, k, n] of shapes) rates.push(await measureMatmul(m, k, n, o.threads, o.matmulSeconds));
    return rates;
  };
  const before = await measureAll();
  const result = await measureTrainingSpeed(spec, weights, o);
  const after = await measureAll();
  const matmul = before.map((b, i) => (b.gflopsPerSecond >= after[i]!.gflopsPerSecond ? b : after[i]!));
  const best = Math.max(...matmul.map((r) => r.gflopsPerSecond));
  return { machine: machineDescription(), date: new Date().toISOString(), ...result, matmul, fractionOfMatmul: result.gflopsPerSecond / best };
}
