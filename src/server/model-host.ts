/**
 * The event loop's handle on one model: its tokenizer worker and its inference worker (see
 * model-worker.ts for why they are threads), behind two async calls, `encode` and `score`.
 */
import { Worker } from 'node:worker_threads';
import { InputError, MaxLengthError, TurborankError } from '../errors.js';
import type { EncodedPair, RerankerInfo } from '../rerank/index.js';
import type { TruncationDirection } from '../tokenizer/pair-tokenizer.js';
import { ApiError } from './errors.js';
import { packPairs, transferList, unpackPairs, type HostMessage, type WorkerFailure, type WorkerMessage, type WorkerRole, type WorkerSetup } from './worker-protocol.js';

export interface ModelHostOptions {
  readonly threads: number | undefined;
  readonly maxLength: number | undefined;
  readonly precision?: 'fp32' | 'int8';
  readonly env: NodeJS.ProcessEnv;
}

/** How long a worker may take to release its model at shutdown before it is terminated. */
const CLOSE_TIMEOUT_MS = 5000;

type Reply = Exclude<WorkerMessage, { type: 'ready' } | { type: 'load-failed' }>;

/** One worker thread with request/reply correlation. */
class WorkerChannel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (err: unknown) => void }>();
  private stopped: string | undefined;
  /** Resolves with the model info once the worker has loaded. */
  readonly ready: Promise<RerankerInfo | undefined>;

  constructor(private readonly worker: Worker, private readonly label: string) {
    this.ready = new Promise((resolve, reject) => {
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') resolve(message.info);
        else if (message.type === 'load-failed') reject(loadFailure(message.error));
        else this.settle(message);
      });
      worker.on('error', (err) => this.stop(`crashed: ${err.message}`, reject));
      worker.on('exit', (code) => this.stop(`exited with code ${code}`, reject));
    });
  }

  get isRunning(): boolean {
    return this.stopped === undefined;
  }

  call(message: (id: number) => HostMessage, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.stopped !== undefined) return Promise.reject(this.unavailable());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(message(id), transfer);
    });
  }

  async close(): Promise<void> {
    if (this.stopped === undefined) {
      const closed = this.call((id) => ({ type: 'close', id })).catch(() => undefined);
      await Promise.race([closed, new Promise((r) => setTimeout(r, CLOSE_TIMEOUT_MS).unref())]);
    }
    this.stopped ??= 'was closed';
    await this.worker.terminate();
  }

  private settle(reply: Reply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (reply.type === 'failed') waiter.reject(fromFailure(reply.error));
    else waiter.resolve(reply);
  }

  private stop(reason: string, rejectLoad: (err: unknown) => void): void {
    if (this.stopped !== undefined) return;
    this.stopped = reason;
    rejectLoad(new TurborankError(`${this.label} ${reason} while loading`));
    for (const waiter of this.pending.values()) waiter.reject(this.unavailable());
    this.pending.clear();
  }

  private unavailable(): ApiError {
    return new ApiError(503, 'unavailable', `${this.label} ${this.stopped}: the model cannot serve requests until the server restarts`);
  }
}

/** A maxLength the model refuses stays a MaxLengthError (the CLI's usage error for --max-length). */
function loadFailure(failure: WorkerFailure): Error {
  return failure.name === 'MaxLengthError' ? new MaxLengthError(failure.message) : new TurborankError(failure.message);
}

/** InputError (bad maxLength, a pair too long) stays an InputError; anything else is a TurborankError. */
function fromFailure(failure: WorkerFailure): Error {
  return failure.name === 'InputError' || failure.name === 'MaxLengthError' ? new InputError(failure.message) : new TurborankError(failure.message);
}

export class ModelHost {
  private constructor(
    private readonly tokenizer: WorkerChannel,
    private readonly inference: WorkerChannel,
    readonly info: RerankerInfo,
  ) {}

  /** Starts both workers and waits until each has loaded; a load failure is thrown here. */
  static async start(source: string | undefined, options: ModelHostOptions): Promise<ModelHost> {
    const name = source ?? 'the default model';
    const spawn = (role: WorkerRole): WorkerChannel => {
      const setup: WorkerSetup = { role, source, threads: options.threads, maxLength: options.maxLength, precision: options.precision, env: { ...options.env } };
      return new WorkerChannel(new Worker(new URL('./model-worker.js', import.meta.url), { workerData: setup }), `the ${role} worker for ${name}`);
    };
    const tokenizer = spawn('tokenizer');
    const inference = spawn('inference');
    try {
      const [, info] = await Promise.all([tokenizer.ready, inference.ready]);
      return new ModelHost(tokenizer, inference, info!);
    } catch (err) {
      await Promise.all([tokenizer.close(), inference.close()]);
      throw err;
    }
  }

  get isHealthy(): boolean {
    return this.tokenizer.isRunning && this.inference.isRunning;
  }

  /** (query, document) pairs tokenized and truncated to maxLength, in the tokenizer worker. */
  async encode(query: string, documents: readonly string[], maxLength: number, direction: TruncationDirection = 'right'): Promise<EncodedPair[]> {
    const reply = await this.tokenizer.call((id) => ({ type: 'encode', id, query, documents, maxLength, direction }));
    if (reply.type !== 'encoded') throw new TurborankError(`tokenizer worker answered '${reply.type}' to encode`);
    return unpackPairs(reply.pairs);
  }

  /** Logits for exactly these pairs, run as one batch in the inference worker. */
  async score(pairs: readonly EncodedPair[]): Promise<Float32Array> {
    const packed = packPairs(pairs);
    const reply = await this.inference.call((id) => ({ type: 'score', id, pairs: packed }), transferList(packed));
    if (reply.type !== 'scored') throw new TurborankError(`inference worker answered '${reply.type}' to score`);
    return reply.logits;
  }

  async close(): Promise<void> {
    await Promise.all([this.tokenizer.close(), this.inference.close()]);
  }
}
