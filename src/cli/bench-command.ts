import { loadCheckpoint, locateModel } from '../checkpoint/index.js';
import { UsageError } from '../errors.js';
import { REFERENCE_SHAPES, randomWeights, type ShapeName } from '../bench/random-model.js';
import { machineDescription, measureMatmul, measureThroughput, type MatmulRate } from '../bench/throughput.js';
import { benchTraining } from '../bench/train-speed.js';
import { defaultThreads } from '../runtime/index.js';
import { LAST_LAYERS, type LastLayer } from '../models/index.js';
import { intOption, stringOption, threadsOption, writeStdout } from './main.js';
import { precisionOption } from './precision.js';

export const BENCH_HELP = {
  text: `Usage: turborank bench [options]
       turborank bench train [options]

Scores synthetic pairs of a fixed token length and reports documents/second, documents
per 50 ms and achieved GFLOP/s, next to the float32 matrix-multiply rate ONNX Runtime
reaches on this machine in the same run (a [batch·tokens, hidden] × [hidden, intermediate]
product). Tokenization is not included.

For what a user of a real model gets (documents per 50 ms and latency of 100-document
requests at natural and fixed lengths, peak RSS and model size, per model and precision, with
tokenization), run \`turborank eval speed --model M [--model M2] [--precision int8]\`.

\`bench train\` times training steps instead (forward + backward + AdamW, dropout 0.1, as
\`turborank train\` runs them) on synthetic batches of --batch-size × --tokens, and reports
tokens/s and GFLOP/s counting a step as 3× the forward pass, against the same matmul rate.

Options:
      --shape S         random-weight model with real shapes: turbo (default), tiny, base, minilm-l6
  -m, --model M         a safetensors checkpoint directory or cached hub name instead of --shape
      --tokens N        tokens per pair (default 256)
      --pairs N         pairs to score (default 256)
      --batch-size N    pairs per batch (default 16)
      --threads N       ONNX Runtime threads (default: all cores)
      --precision P     fp32 (default) or int8 (per-token weight products in int8; not for train)
      --last-layer L    first-token-folded (default: what rerank runs), first-token or every-row
                        (as an export of the PyTorch model computes it), to compare the three
      --steps N         bench train: timed steps (default 5)
      --warmup N        bench train: untimed steps first (default 2)
      --json            print JSON
  -h, --help            this help`,
  options: {
    shape: { type: 'string' },
    model: { type: 'string', short: 'm' },
    tokens: { type: 'string' },
    pairs: { type: 'string' },
    'batch-size': { type: 'string' },
    threads: { type: 'string' },
    precision: { type: 'string' },
    'last-layer': { type: 'string' },
    steps: { type: 'string' },
    warmup: { type: 'string' },
    json: { type: 'boolean' },
  },
} as const;

export async function runBench(values: Record<string, unknown>, positionals: string[]): Promise<void> {
  if (positionals[0] === 'train' && positionals.length === 1) return runBenchTrain(values);
  if (positionals.length > 0) throw new UsageError(`bench takes no FILE, got ${positionals.join(' ')}`, 'the one subcommand is `bench train`');
  for (const name of ['steps', 'warmup']) if (values[name] !== undefined) throw new UsageError(`--${name} is for \`bench train\``);
  const tokens = intOption(values, 'tokens', 2) ?? 256;
  const pairs = intOption(values, 'pairs') ?? 256;
  const batchSize = intOption(values, 'batch-size') ?? 16;
  const threads = threadsOption(values) ?? defaultThreads();
  const precision = precisionOption(values) ?? 'fp32';
  const lastLayer = stringOption(values, 'last-layer') ?? 'first-token-folded';
  if (!(LAST_LAYERS as readonly string[]).includes(lastLayer)) throw new UsageError(`--last-layer must be one of ${LAST_LAYERS.join(', ')}, got '${lastLayer}'`);
  const modelName = stringOption(values, 'model');
  const shape = (stringOption(values, 'shape') ?? 'turbo') as ShapeName;
  if (modelName === undefined && !(shape in REFERENCE_SHAPES)) {
    throw new UsageError(`--shape must be one of ${Object.keys(REFERENCE_SHAPES).join(', ')}, got '${shape}'`);
  }

  let spec = REFERENCE_SHAPES[shape];
  let weights = randomWeights();
  let name = spec?.sourceName ?? shape;
  if (modelName !== undefined) {
    const located = locateModel(modelName, process.env);
    if (located.kind !== 'checkpoint') throw new UsageError('bench --model needs a safetensors checkpoint (ONNX files: use --shape)');
    const checkpoint = loadCheckpoint(located);
    spec = checkpoint.spec;
    weights = (n) => checkpoint.weights.float32(n);
    name = modelName;
  }
  if (tokens > spec.maxPositions) throw new UsageError(`--tokens ${tokens} exceeds the model's limit of ${spec.maxPositions}`);

  // Matmul rate measured before and after the model, best kept: this machine is shared and noisy.
  const matmulShapes: [number, number, number][] = [
    [batchSize * tokens, spec.hiddenSize, spec.intermediateSize],
    [batchSize * tokens, spec.hiddenSize, spec.hiddenSize],
  ];
  const measureAll = async (): Promise<MatmulRate[]> => {
    const rates: MatmulRate[] = [];
    for (const [m, k, n] of matmulShapes) rates.push(await measureMatmul(m, k, n, threads));
    return rates;
  };
  const before = await measureAll();
  const result = await measureThroughput(spec, weights, { tokens, pairs, batchSize, threads, name, precision, lastLayer: lastLayer as LastLayer });
  const after = await measureAll();
  const matmuls = before.map((b, i) => (b.gflopsPerSecond >= after[i]!.gflopsPerSecond ? b : after[i]!));
  const best = Math.max(...matmuls.map((m) => m.gflopsPerSecond));
  const report = { machine: machineDescription(), date: new Date().toISOString(), lastLayer, ...result, matmul: matmuls, fractionOfMatmul: result.gflopsPerSecond / best };
  if (values.json === true) {
    await writeStdout(JSON.stringify(report) + '\n');
    return;
  }
  await writeStdout([
    `model        ${result.model} (${spec.numLayers} layers, hidden ${spec.hiddenSize}, ${spec.numHeads} heads, intermediate ${spec.intermediateSize})`,
    `machine      ${report.machine}`,
    `workload     ${result.pairs} pairs × ${tokens} tokens, batch ${batchSize}, ${threads} threads, ${precision}, last layer ${lastLayer}`,
    `throughput   ${result.docsPerSecond.toPrecision(3)} documents/s = ${result.docsPer50ms.toPrecision(3)} documents per 50 ms`,
    `latency      ${((1000 * result.seconds * batchSize) / result.pairs).toFixed(1)} ms per batch of ${batchSize}`,
    `compute      ${result.gflopsPerSecond.toFixed(1)} GFLOP/s achieved`,
    ...matmuls.map((m) => `matmul       ${m.gflopsPerSecond.toFixed(1)} GFLOP/s for ${m.shape} (ORT, float32)`),
    `efficiency   ${(100 * report.fractionOfMatmul).toFixed(0)}% of the best matmul rate`,
    `peak RSS     ${result.peakRssMiB.toFixed(0)} MiB`,
  ].join('\n') + '\n');
}

async function runBenchTrain(values: Record<string, unknown>): Promise<void> {
  for (const name of ['model', 'pairs', 'precision']) if (values[name] !== undefined) throw new UsageError(`bench train does not take --${name}`, 'pick the model with --shape');
  const shape = (stringOption(values, 'shape') ?? 'turbo') as ShapeName;
  const spec = REFERENCE_SHAPES[shape];
  if (!spec) throw new UsageError(`--shape must be one of ${Object.keys(REFERENCE_SHAPES).join(', ')}, got '${shape}'`);
  const tokens = intOption(values, 'tokens', 2, spec.maxPositions) ?? 256;
  const batchSize = intOption(values, 'batch-size') ?? 16;
  const threads = threadsOption(values) ?? defaultThreads();
  const r = await benchTraining(spec, randomWeights(), {
    tokens, batchSize, threads, steps: intOption(values, 'steps') ?? 5, warmupSteps: intOption(values, 'warmup', 0) ?? 2, dropout: 0.1, name: spec.sourceName,
  });
  if (values.json === true) {
    await writeStdout(JSON.stringify(r) + '\n');
    return;
  }
  await writeStdout([
    `model        ${r.model} (${spec.numLayers} layers, hidden ${spec.hiddenSize}, ${spec.numHeads} heads, intermediate ${spec.intermediateSize}; ${(r.parameters / 1e6).toFixed(1)}M parameters)`,
    `machine      ${r.machine}`,
    `workload     training steps (forward + backward + AdamW, dropout ${r.dropout}) of ${batchSize} × ${tokens} tokens, ${threads} threads, ${r.steps} timed`,
    `step         ${(1000 * r.secondsPerStep).toFixed(0)} ms = ${(1000 * r.forwardBackwardSeconds).toFixed(0)} ms forward + backward + ${(1000 * r.optimizerSeconds).toFixed(0)} ms AdamW (fastest ${(1000 * r.fastestStepSeconds).toFixed(0)} ms)`,
    `throughput   ${r.tokensPerSecond.toFixed(0)} tokens/s`,
    `compute      ${r.gflopsPerSecond.toFixed(1)} GFLOP/s achieved (3 × forward FLOPs per step)`,
    ...r.matmul.map((m) => `matmul       ${m.gflopsPerSecond.toFixed(1)} GFLOP/s for ${m.shape} (ORT, float32)`),
    `efficiency   ${(100 * r.fractionOfMatmul).toFixed(0)}% of the best matmul rate`,
    `peak RSS     ${r.peakRssMiB.toFixed(0)} MiB`,
  ].join('\n') + '\n');
}
