/**
 * One ONNX Runtime session per model: token batches in, logits out. Feeds only the inputs
 * the graph declares (Jina's ONNX exports have no token_type_ids) and reads the first output.
 */
import os from 'node:os';
import ort from 'onnxruntime-node';
import { FileError, InputError, TurborankError } from '../errors.js';
import { toOnnx, type Graph } from '../graph/index.js';
import type { TokenBatch } from '../tokenizer/batch.js';
import { quantizeGraph, type Precision } from './quantize.js';

export interface RuntimeOptions {
  /** Threads for one inference (ORT's intra-op pool). Default: the machine's available parallelism. */
  readonly threads?: number;
  /** ORT graph optimisation level. Default 'all'. */
  readonly optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Arithmetic of the weight matrix products. Default 'fp32'. 'int8' quantizes every per-token
   * weight MatMul (runtime/quantize.ts); it needs a graph turborank builds (a checkpoint), not an
   * ONNX file.
   */
  readonly precision?: Precision;
}

export function defaultThreads(): number {
  return Math.max(1, os.availableParallelism());
}

const KNOWN_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids']);

/**
 * Attention materialises [batch, heads, seq, seq] float32 tensors: at 8192 tokens and 12 heads
 * each is 3.2 GB. ORT's memory arena keeps its peak (and fragments: a turbo-shape 8192-token
 * pair peaked at 21 GB with the arena, 10 GB without). Batches at least this long therefore
 * run on a second session, made on first use, with the arena off.
 */
export const LONG_SEQUENCE = 2048;

/** Model bytes (and the folder their external data lies in, if any), or an ONNX file. */
type ModelSource =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array; readonly externalDataFolder: string | undefined }
  | { readonly kind: 'file'; readonly path: string };

export class CrossEncoderSession {
  private longSession: Promise<ort.InferenceSession> | undefined;

  private constructor(
    private readonly session: ort.InferenceSession,
    /** Where the model came from, for messages. */
    readonly source: string,
    private readonly model: ModelSource,
    private readonly options: RuntimeOptions,
  ) {
    const unknown = session.inputNames.filter((n) => !KNOWN_INPUTS.has(n));
    if (unknown.length > 0 || !session.inputNames.includes('input_ids')) {
      throw new TurborankError(
        `${source}: the ONNX graph takes inputs [${session.inputNames.join(', ')}]; turborank feeds input_ids, attention_mask and token_type_ids`,
        'export the cross-encoder with those input names (as Hugging Face Optimum does)',
      );
    }
  }

  /**
   * A session for ONNX model bytes. `externalDataFolder` is where initializers stored as external
   * data (ExternalData locations) are read from.
   */
  static async fromBytes(model: Uint8Array, source: string, options: RuntimeOptions = {}, externalDataFolder?: string): Promise<CrossEncoderSession> {
    const modelSource: ModelSource = { kind: 'bytes', bytes: model, externalDataFolder };
    try {
      return await new CrossEncoderSession(await ort.InferenceSession.create(model, sessionOptions(options, modelSource)), source, modelSource, options).warmedUp();
    } catch (err) {
      if (err instanceof TurborankError) throw err;
      throw new TurborankError(`${source}: ONNX Runtime refused the graph: ${(err as Error).message}`, 'this is a turborank bug: please report it with the model config', { cause: err });
    }
  }

  /**
   * A session for a graph built by models/, quantized first when `options.precision` is 'int8'.
   * `externalDataFolder` as for fromBytes (quantization reads the weights it replaces from there).
   */
  static async fromGraph(graph: Graph, source: string, options: RuntimeOptions = {}, externalDataFolder?: string): Promise<CrossEncoderSession> {
    const model = options.precision === 'int8' ? quantizeGraph(graph, { externalDataFolder }).graph : graph;
    return CrossEncoderSession.fromBytes(toOnnx(model), source, options, externalDataFolder);
  }

  static async fromFile(path: string, options: RuntimeOptions = {}): Promise<CrossEncoderSession> {
    if ((options.precision ?? 'fp32') !== 'fp32') {
      throw new InputError(`${path}: precision '${options.precision}' needs a checkpoint (config.json + model.safetensors); an ONNX file runs as it was exported`,
        'load the safetensors checkpoint instead, or export it with `turborank export --precision int8` and load that export');
    }
    try {
      return await new CrossEncoderSession(await ort.InferenceSession.create(path, sessionOptions(options)), path, { kind: 'file', path }, options).warmedUp();
    } catch (err) {
      if (err instanceof TurborankError) throw err;
      throw new FileError(path, `ONNX Runtime cannot load this model: ${(err as Error).message}`, 'check that the file is a complete ONNX model (re-download it if it was truncated)', { cause: err });
    }
  }

  /**
   * Runs one tiny batch (1 × 8 tokens of id 0, which every vocabulary has) once per session:
   * ONNX Runtime starts its threads and makes its first allocations on the first run, which cost
   * a turbo-shape model 80 ms that the user's first request would otherwise pay.
   */
  private async warmedUp(): Promise<this> {
    const ids = new BigInt64Array(8);
    await this.run({ batchSize: 1, seqLen: 8, inputIds: ids, attentionMask: new BigInt64Array(8).fill(1n), tokenTypeIds: ids, lengths: Int32Array.of(8) });
    return this;
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  /** Logits [batchSize × numLabels], row-major, and numLabels. */
  async run(batch: TokenBatch): Promise<{ logits: Float32Array; numLabels: number }> {
    const dims = [batch.batchSize, batch.seqLen];
    const all: Record<string, BigInt64Array> = {
      input_ids: batch.inputIds,
      attention_mask: batch.attentionMask,
      token_type_ids: batch.tokenTypeIds,
    };
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) feeds[name] = new ort.Tensor('int64', all[name]!, dims);
    const session = batch.seqLen >= LONG_SEQUENCE ? await this.sessionForLongSequences() : this.session;
    const outputs = await session.run(feeds);
    const first = outputs[session.outputNames[0]!]!;
    const data = first.data;
    if (!(data instanceof Float32Array)) {
      throw new TurborankError(`${this.source}: first output is ${first.type}, expected float32 logits`);
    }
    const numLabels = batch.batchSize === 0 ? 1 : data.length / batch.batchSize;
    if (!Number.isInteger(numLabels) || numLabels < 1) {
      throw new TurborankError(`${this.source}: first output has shape [${first.dims.join(', ')}], expected [batch, labels]`);
    }
    return { logits: data, numLabels };
  }

  async close(): Promise<void> {
    await this.session.release();
    if (this.longSession) await (await this.longSession).release();
  }

  private sessionForLongSequences(): Promise<ort.InferenceSession> {
    if (!this.longSession) {
      const options = { ...sessionOptions(this.options, this.model), enableCpuMemArena: false, enableMemPattern: false };
      this.longSession = this.model.kind === 'bytes'
        ? ort.InferenceSession.create(this.model.bytes, options)
        : ort.InferenceSession.create(this.model.path, options);
    }
    return this.longSession;
  }
}

function sessionOptions(options: RuntimeOptions, model?: ModelSource): ort.InferenceSession.SessionOptions {
  const folder = model?.kind === 'bytes' ? model.externalDataFolder : undefined;
  return {
    intraOpNumThreads: options.threads ?? defaultThreads(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: options.optimization ?? 'all',
    logSeverityLevel: 3,
    // A model from bytes has no folder of its own: ORT reads external data relative to this one.
    ...(folder ? { extra: { session: { model_external_initializers_file_folder_path: folder } } } : {}),
  };
}
