/**
 * The training loop on our own engine: ONNX Runtime runs the forward + backward graph and the
 * AdamW graph; this file owns the data, the schedule, accumulation, clipping, NaN checks,
 * logging and checkpoints.
 */
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { SafetensorsFile, parseModelSpec, readConfigJson, type ModelSpec } from '../checkpoint/index.js';
import { TurborankError } from '../errors.js';
import { defaultThreads } from '../runtime/index.js';
import { PairTokenizer } from '../tokenizer/index.js';
import { AdamW, learningRate } from './optimizer.js';
import { latestCheckpoint, readTrainingCheckpoint, writeTrainingCheckpoint, type BaseConfig, type TrainerState } from './checkpoints.js';
import type { TrainConfig } from './config.js';
import { ExampleStream, makeBatch, readExamples, seededRandom, type Example, type TrainBatch } from './data.js';
import { evaluateDev, scoreTokens, type DevMetrics } from './evaluate.js';
import { initialWeight } from './init.js';
import { GRADIENT_PREFIX, buildTrainingGraph, type TrainingGraph } from './training-graph.js';

/** Training stopped because a number went bad; names the step and the tensor. */
export class TrainingError extends TurborankError {}

export interface StepReport {
  readonly step: number;
  readonly totalSteps: number;
  readonly loss: number;
  readonly learningRate: number;
  readonly gradNorm: number;
  readonly tokensPerSecond: number;
  readonly elapsedSeconds: number;
  readonly dev?: DevMetrics;
  readonly checkpoint?: string;
}

export interface TrainerEvents {
  onStep?(report: StepReport): void;
  onResume?(step: number, checkpoint: string): void;
}

interface Moments {
  m: Float32Array[];
  v: Float32Array[];
}

export class Trainer {
  /** Set by stop(): run() finishes the step in progress, checkpoints it and returns. */
  private stopping = false;

  private constructor(
    private readonly config: TrainConfig,
    readonly spec: ModelSpec,
    private readonly tokenizer: PairTokenizer,
    private tokenizerPath: string,
    private base: BaseConfig | undefined,
    private readonly graph: TrainingGraph,
    private readonly session: ort.InferenceSession,
    private readonly optimizer: AdamW,
    private params: Float32Array[],
    private moments: Moments,
    private state: TrainerState,
    private readonly examples: readonly Example[],
    private readonly devExamples: readonly Example[] | undefined,
  ) {}

  /** Sets up a run from the config, or resumes the latest checkpoint in its output folder. */
  static async create(config: TrainConfig, options: { resume?: boolean } = {}): Promise<Trainer> {
    const threads = config.threads ?? defaultThreads();
    const resumeFrom = options.resume ? latestCheckpoint(config.output) : undefined;
    if (options.resume && !resumeFrom) throw new TurborankError(`--resume: no checkpoint in ${config.output}`, 'start without --resume, or point "output" at the run to continue');
    const saved = resumeFrom ? readTrainingCheckpoint(resumeFrom, config) : undefined;
    const { spec, weights, tokenizerPath, base } = saved ?? startingPoint(config, config.model.init);
    const tokenizer = await PairTokenizer.load(tokenizerPath);
    const dropout = config.dropout.hidden > 0 || config.dropout.attention > 0 ? { ...config.dropout, seed: config.seed } : undefined;
    const initOptions = config.model.tied_query_key_std !== undefined ? { tiedQueryKeyStd: config.model.tied_query_key_std } : {};
    const lookup = (name: string, shape: readonly number[]): Float32Array => weights.get(name) ?? initialWeight(name, shape, config.seed, initOptions);
    const graph = buildTrainingGraph(spec, lookup, config.loss, dropout);
    const params = graph.parameters.map((p) => lookup(p.name, p.shape));
    const broken = firstNonFinite(params);
    if (broken !== undefined) {
      const from = resumeFrom ?? config.model.init ?? 'the initialisation';
      throw new TrainingError(`${from}: the weight ${graph.parameters[broken]!.name} holds non-finite values (NaN or infinity)`, 'start from a checkpoint with finite weights');
    }
    const session = await ort.InferenceSession.create(graph.onnx, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const optimizer = await AdamW.create(graph.parameters, { ...config.adam, weightDecay: config.weight_decay }, threads);
    const moments = saved ? saved.moments(graph.parameters) : zeroMoments(params);
    const state: TrainerState = saved ? saved.state : { step: 0, data: { epoch: 0, index: 0 }, maskRandomCalls: 0, seed: config.seed };
    const examples = readExamples(config.data.train, config.loss);
    const dev = config.data.dev ? readExamples(config.data.dev, config.loss) : undefined;
    return new Trainer(config, spec, tokenizer, tokenizerPath, base, graph, session, optimizer, params, moments, state, examples, dev);
  }

  get step(): number {
    return this.state.step;
  }

  async run(events: TrainerEvents = {}): Promise<void> {
    const c = this.config;
    const stream = new ExampleStream(this.examples, c.seed, this.state.data);
    const random = replayableRandom(c.seed + 7, this.state.maskRandomCalls);
    const started = performance.now();
    let tokens = 0;
    while (this.state.step < c.steps && !this.stopping) {
      const step = this.state.step + 1;
      const { loss, grads, normSquared, realTokens, batches } = await this.accumulate(stream, random.next);
      tokens += realTokens;
      const gradNorm = Math.sqrt(normSquared);
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) throw await this.nonFiniteError(step, loss, gradNorm, grads, batches);
      const lr = learningRate(step, c.learning_rate, c.warmup_steps, c.steps, c.decay);
      const clip = Math.min(1, c.max_grad_norm / (gradNorm + 1e-6));
      const next = await this.optimizer.step(this.params, grads, this.moments.m, this.moments.v, { learningRate: lr, step, gradientScale: clip });
      // Finite gradients can still make a weight overflow (a huge learning rate or weight):
      // refuse the update rather than carry NaN into the next step and the checkpoints.
      const broken = firstNonFinite(next.params);
      if (broken !== undefined) {
        throw new TrainingError(`step ${step}: the AdamW update (learning rate ${lr}, gradient norm ${gradNorm}) made the weight ${this.graph.parameters[broken]!.name} non-finite; the update was not applied`, ADVICE);
      }
      this.params = next.params;
      this.moments = { m: next.m, v: next.v };
      this.state = { ...this.state, step, data: stream.position, maskRandomCalls: random.calls() };

      const elapsedSeconds = (performance.now() - started) / 1000;
      const report: { -readonly [K in keyof StepReport]: StepReport[K] } = {
        step, totalSteps: c.steps, loss, learningRate: lr, gradNorm, tokensPerSecond: tokens / elapsedSeconds, elapsedSeconds,
      };
      if (this.devExamples && c.eval_every && (step % c.eval_every === 0 || step === c.steps)) report.dev = await this.evaluate();
      if (step % c.checkpoint_every === 0 || step === c.steps || this.stopping) report.checkpoint = this.saveCheckpoint();
      events.onStep?.(report);
    }
  }

  /**
   * Asks run() to stop after the step in progress, which it checkpoints first (for SIGINT and
   * SIGTERM); run() then returns with `step` below the configured total.
   */
  stop(): void {
    this.stopping = true;
  }

  /** Dev metrics with the current weights (evaluate.ts: pointwise and listwise data). */
  async evaluate(): Promise<DevMetrics | undefined> {
    if (!this.devExamples) return undefined;
    return evaluateDev(this.spec, this.graph.parameters, this.params, this.devExamples, this.tokenizer, this.config);
  }

  saveCheckpoint(): string {
    const dir = writeTrainingCheckpoint(this.config.output, {
      spec: this.spec, parameters: this.graph.parameters, params: this.params, moments: this.moments,
      state: this.state, tokenizerPath: this.tokenizerPath, base: this.base, keep: this.config.keep_checkpoints, config: this.config,
    });
    // A resumed run's tokenizer files and config live in the checkpoint it resumed from, which
    // pruning removes in time: copy from the newest checkpoint, which is never pruned.
    this.tokenizerPath = path.join(dir, 'tokenizer.json');
    if (this.base) this.base = { config: this.base.config, dir };
    return dir;
  }

  /** The current weights by checkpoint name. */
  weights(): Map<string, Float32Array> {
    return new Map(this.graph.parameters.map((p, i) => [p.name, this.params[i]!]));
  }

  async close(): Promise<void> {
    await this.session.release();
    await this.optimizer.close();
  }

  /** Runs `gradient_accumulation` micro-batches and sums their gradients. */
  private async accumulate(stream: ExampleStream, random: () => number): Promise<{ loss: number; grads: Float32Array[]; normSquared: number; realTokens: number; batches: TrainBatch[] }> {
    const n = this.config.gradient_accumulation;
    const batches: TrainBatch[] = [];
    let loss = 0;
    let realTokens = 0;
    let grads: Float32Array[] | undefined;
    let normSquared = 0;
    for (let micro = 0; micro < n; micro++) {
      const batch = await makeBatch(stream.take(this.config.batch_size), this.tokenizer, this.config.loss, { maxLength: this.config.max_length, random });
      batches.push(batch);
      const out = await this.session.run(this.feeds(batch));
      loss += Number((out.loss!.data as Float32Array)[0]) / n;
      realTokens += batch.realTokens;
      const micrograds = this.graph.parameters.map((p) => out[GRADIENT_PREFIX + p.name]!.data as Float32Array);
      if (!grads) {
        grads = micrograds;
        normSquared = Number((out.grad_norm_squared!.data as Float32Array)[0]);
      } else {
        grads.forEach((g, i) => addInto(g, micrograds[i]!));
      }
    }
    for (const g of grads!) if (n > 1) scaleInto(g, 1 / n);
    if (n > 1) normSquared = grads!.reduce((s, g) => s + sumOfSquares(g), 0);
    return { loss, grads: grads!, normSquared, realTokens, batches };
  }

  private feeds(batch: TrainBatch): Record<string, ort.Tensor> {
    const dims = [batch.tokens.batchSize, batch.tokens.seqLen];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', batch.tokens.inputIds, dims),
      attention_mask: new ort.Tensor('int64', batch.tokens.attentionMask, dims),
      token_type_ids: new ort.Tensor('int64', batch.tokens.tokenTypeIds, dims),
    };
    const target = this.graph.target;
    feeds[target.name] = target.dtype === 'int64'
      ? new ort.Tensor('int64', batch.target as BigInt64Array, [...batch.targetDims])
      : new ort.Tensor('float32', batch.target as Float32Array, [...batch.targetDims]);
    this.graph.parameters.forEach((p, i) => {
      feeds[p.name] = new ort.Tensor('float32', this.params[i]!, [...p.shape]);
    });
    return feeds;
  }

  /**
   * Why a step's loss or gradient norm is not finite, tracing it back through what the loss
   * was computed from, first cause first: a weight, the batch's targets, the model's scores
   * (recomputed without dropout), a gradient; else the loss itself overflowed float32.
   */
  private async nonFiniteError(step: number, loss: number, gradNorm: number, grads: readonly Float32Array[], batches: readonly TrainBatch[]): Promise<TrainingError> {
    const error = (cause: string): TrainingError => new TrainingError(`step ${step}: the loss is ${loss} and the gradient norm ${gradNorm}; ${cause}`, ADVICE);
    const names = this.graph.parameters.map((p) => p.name);
    const weight = firstNonFinite(this.params);
    if (weight !== undefined) return error(`the weight ${names[weight]} holds non-finite values`);
    const target = this.graph.target.name;
    const targets = batches.flatMap((b) => (b.target instanceof Float32Array ? [b.target] : []));
    if (firstNonFinite(targets) !== undefined) return error(`the batch's ${target} hold non-finite values in float32`);
    let inputs: string | undefined;
    if (this.config.loss.name !== 'mlm') {
      const scores: Float32Array[] = [];
      for (const b of batches) scores.push(await scoreTokens(this.spec, this.graph.parameters, this.params, b.tokens, this.config.threads ?? defaultThreads()));
      const total = scores.reduce((n, s) => n + s.length, 0);
      const nonFinite = scores.reduce((n, s) => n + s.filter((x) => !Number.isFinite(x)).length, 0);
      if (nonFinite > 0) return error(`the model's scores (logits) are non-finite for ${nonFinite} of ${total} sequences`);
      inputs = `the scores (largest |logit| ${largestMagnitude(scores).toPrecision(3)}) and ${target} (largest |value| ${largestMagnitude(targets).toPrecision(3)}) are finite`;
    }
    const gradient = firstNonFinite(grads);
    if (gradient !== undefined) return error(`${inputs ? `${inputs}, but ` : ''}the gradient of ${names[gradient]} has non-finite values`);
    return error(`${inputs ? `${inputs}, so ` : ''}the loss itself overflowed float32`);
  }
}

const ADVICE = 'lower learning_rate, raise warmup_steps, or check the data for extreme teacher scores; resume from the last checkpoint with --resume';

/** Index of the first array holding NaN or ±Infinity, or undefined. */
function firstNonFinite(arrays: readonly Float32Array[]): number | undefined {
  for (let i = 0; i < arrays.length; i++) {
    const a = arrays[i]!;
    for (let j = 0; j < a.length; j++) if (!Number.isFinite(a[j]!)) return i;
  }
  return undefined;
}

function largestMagnitude(arrays: readonly Float32Array[]): number {
  let largest = 0;
  for (const a of arrays) for (const x of a) largest = Math.max(largest, Math.abs(x));
  return largest;
}

function startingPoint(config: TrainConfig, init: string | undefined): { spec: ModelSpec; weights: Map<string, Float32Array>; tokenizerPath: string; base?: BaseConfig } {
  if (init) {
    const configPath = path.join(init, 'config.json');
    const weightsPath = path.join(init, 'model.safetensors');
    const file = SafetensorsFile.read(weightsPath);
    // A pre-trained (masked-LM) checkpoint has no classifier yet: the new head gets one label.
    const shapes = (name: string): readonly number[] | undefined =>
      file.shape(name) ?? (name === 'classifier.weight' ? [1, file.shape('bert.embeddings.word_embeddings.weight')?.[1] ?? 0] : undefined);
    const configJson = readConfigJson(configPath);
    const spec = parseModelSpec(configJson, shapes, configPath, weightsPath);
    const weights = new Map(file.names().map((n) => [n, file.float32(n).slice()] as const));
    const base = { config: configJson as Record<string, unknown>, dir: init };
    return { spec, weights, tokenizerPath: config.model.tokenizer ?? path.join(init, 'tokenizer.json'), base };
  }
  const s = config.model.shape!;
  const spec: ModelSpec = {
    architecture: s.architecture, vocabSize: 0, hiddenSize: s.hidden_size, numLayers: s.num_hidden_layers,
    numHeads: s.num_attention_heads, intermediateSize: s.intermediate_size, typeVocabSize: 2, layerNormEps: 1e-12,
    positionEmbedding: s.architecture === 'jinabert' ? 'alibi' : 'absolute', maxPositions: s.max_position_embeddings,
    feedForward: s.architecture === 'jinabert' ? 'geglu' : 'original', hiddenAct: 'gelu', numLabels: 1, prefix: 'bert.',
    sourceName: path.basename(config.output),
  };
  if (spec.hiddenSize % spec.numHeads !== 0) throw new TurborankError(`${config.configPath}: hidden_size ${spec.hiddenSize} is not a multiple of num_attention_heads ${spec.numHeads}`);
  const vocabSize = tokenizerVocabSize(config.model.tokenizer!);
  return { spec: { ...spec, vocabSize }, weights: new Map(), tokenizerPath: config.model.tokenizer! };
}

/** Vocabulary size from tokenizer.json (model vocab plus added tokens), without loading the native tokenizer. */
function tokenizerVocabSize(file: string): number {
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { model?: { vocab?: Record<string, number> | unknown[] }; added_tokens?: { id: number }[] };
  const vocab = json.model?.vocab;
  const ids = Array.isArray(vocab) ? [vocab.length - 1] : Object.values(vocab ?? {}) as number[];
  const added = (json.added_tokens ?? []).map((t) => t.id);
  return Math.max(...ids, ...added) + 1;
}

function zeroMoments(params: readonly Float32Array[]): Moments {
  return { m: params.map((p) => new Float32Array(p.length)), v: params.map((p) => new Float32Array(p.length)) };
}

/** A seeded stream that can be fast-forwarded to where a run stopped (masking draws from it). */
function replayableRandom(seed: number, skip: number): { next: () => number; calls: () => number } {
  const base = seededRandom(seed);
  let calls = 0;
  for (; calls < skip; calls++) base();
  return { next: () => { calls++; return base(); }, calls: () => calls };
}

function addInto(target: Float32Array, source: Float32Array): void {
  for (let i = 0; i < target.length; i++) target[i] = target[i]! + source[i]!;
}

function scaleInto(target: Float32Array, factor: number): void {
  for (let i = 0; i < target.length; i++) target[i] = target[i]! * factor;
}

function sumOfSquares(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return s;
}
