/**
 * A BullMQ worker that scores shards. What keeps a job whole (BullMQ's recommendations for
 * reliable workers, and ours):
 *
 * - Scoring runs on scorer threads, so the event loop renews the shard's lock while a shard
 *   is scored. A worker that dies (kill -9, a lost machine) stops renewing; after
 *   `lockDuration` another worker's stalled check puts the shard back and it is scored again.
 * - A shard's result is one Redis transaction (HSET under the shard's number + expiry), so a
 *   shard scored twice overwrites its own, identical, lines: never duplicated output.
 * - A shard whose data cannot be scored (bad JSON, a refused line) fails at once with the line
 *   named (UnrecoverableError: retrying cannot help); other errors are retried `attempts`
 *   times with backoff. Either way the other shards go on.
 * - A shard submitted for other model files (by checksum) is refused without spending an
 *   attempt: it goes back to the queue, delayed, for a worker that serves that model, and the
 *   refusal is recorded for `jobs status` to show.
 * - `stop()` (SIGTERM) stops fetching and lets the current shards finish; after the grace
 *   period, or on `release()`, they are handed back to the queue at once instead.
 */
import os from 'node:os';
import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { InputError } from '../errors.js';
import { defaultModelPath } from '../rerank/index.js';
import { modelChecksum } from './model-checksum.js';
import { connectRedis, execTransaction } from './redis.js';
import { runKeys, type ShardData, type ShardResult } from './run-model.js';
import { ScorerPool, ShardAbandoned } from './scorer-pool.js';

export interface ShardWorkerOptions {
  readonly redisUrl: string;
  readonly queue: string;
  /** A model path or hub name; undefined: the shipped default model. */
  readonly model: string | undefined;
  /** Shards scored at once, each on its own scorer thread. */
  readonly concurrency: number;
  /** ONNX Runtime threads per scorer thread. */
  readonly threads: number | undefined;
  /** How long a shard's lock lasts without renewal: a dead worker's shard is retried after this. */
  readonly lockDurationMs: number;
  /** How often this worker looks for shards whose lock expired. */
  readonly stalledIntervalMs: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Structured events (started, shard-start, shard-done, …); the CLI prints them as JSON lines. */
  readonly log: (event: WorkerEvent) => void;
}

export type WorkerEvent = { readonly event: string } & Record<string, unknown>;

export interface RunningWorker {
  readonly name: string;
  readonly checksum: string;
  readonly modelName: string;
  readonly isTestModel: boolean;
  /** Stops fetching; waits for the current shards, releasing them to the queue after `graceMs`. */
  stop(graceMs: number): Promise<void>;
  /** Hands the current shards back to the queue now (a second Ctrl-C). */
  release(): void;
}

export const DEFAULT_LOCK_DURATION_MS = 30_000;
export const DEFAULT_STALLED_INTERVAL_MS = 30_000;
/** How long a refused shard waits before a worker looks at it again. */
const MAX_REFUSAL_DELAY_MS = 5_000;

export async function startShardWorker(options: ShardWorkerOptions): Promise<RunningWorker> {
  const env = options.env ?? process.env;
  const name = `${os.hostname()}/${process.pid}`;
  const { checksum } = await modelChecksum(options.model ?? defaultModelPath(), env);
  const connection = await connectRedis(options.redisUrl);
  let pool: ScorerPool;
  try {
    pool = await ScorerPool.start({ model: options.model, threads: options.threads, env }, options.concurrency);
  } catch (err) {
    connection.disconnect();
    throw err;
  }
  const refusalDelayMs = Math.min(MAX_REFUSAL_DELAY_MS, options.lockDurationMs);
  const scoreShardJob = processor({ connection, pool, checksum, name, modelName: pool.modelName, refusalDelayMs, log: options.log });
  const worker = new Worker<ShardData, ShardResult>(options.queue, scoreShardJob, {
    connection,
    name,
    autorun: false, // started below, once listeners are on and 'started' is logged
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    // A shard that stalls twice (its worker died twice: e.g. a pair that exhausts memory) fails
    // instead of killing workers for ever.
    maxStalledCount: 1,
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    options.log({ event: 'shard-failed', run: job.data.run, shard: job.data.shard, attempt: job.attemptsMade, final, error: err.message });
  });
  worker.on('stalled', (jobId) => options.log({ event: 'shard-stalled', job: jobId, note: 'its worker stopped renewing the lock: back in the queue' }));
  worker.on('error', (err) => options.log({ event: 'error', error: err.message }));
  await worker.waitUntilReady();
  options.log({ event: 'started', worker: name, queue: options.queue, model: pool.modelName, checksum, concurrency: options.concurrency, threads: options.threads ?? 'all cores' });
  // Resolves when the worker is closed; its errors also reach the 'error' listener.
  worker.run().catch((err: unknown) => options.log({ event: 'error', error: (err as Error).message }));

  let stopping: Promise<void> | undefined;
  return {
    name, checksum, modelName: pool.modelName, isTestModel: pool.isTestModel,
    stop(graceMs) {
      stopping ??= (async () => {
        options.log({ event: 'stopping', grace_ms: graceMs });
        const timer = setTimeout(() => worker.cancelAllJobs('shutdown'), graceMs);
        try {
          await worker.close();
        } finally {
          clearTimeout(timer);
          await pool.close();
          connection.disconnect();
        }
        options.log({ event: 'stopped' });
      })();
      return stopping;
    },
    release() {
      worker.cancelAllJobs('shutdown');
    },
  };
}

interface ProcessorContext {
  readonly connection: Redis;
  readonly pool: ScorerPool;
  readonly checksum: string;
  readonly name: string;
  readonly modelName: string;
  readonly refusalDelayMs: number;
  readonly log: (event: WorkerEvent) => void;
}

function processor(ctx: ProcessorContext) {
  return async (job: Job<ShardData, ShardResult>, token?: string, signal?: AbortSignal): Promise<ShardResult> => {
    const data = job.data;
    const keys = runKeys(data.run);
    if (data.checksum !== ctx.checksum) {
      const refusal = { worker: ctx.name, model: ctx.modelName, checksum: ctx.checksum, at: Date.now() };
      await execTransaction(ctx.connection.multi().hset(keys.refusals, ctx.name, JSON.stringify(refusal)).pexpireat(keys.refusals, data.expiresAt));
      ctx.log({ event: 'shard-refused', run: data.run, shard: data.shard, wants: data.checksum, serves: ctx.checksum,
        note: 'this worker serves other model files than the job was submitted with; left for a worker that serves them' });
      await job.moveToDelayed(Date.now() + ctx.refusalDelayMs, token);
      throw new DelayedError();
    }
    const started = performance.now();
    ctx.log({ event: 'shard-start', run: data.run, shard: data.shard, lines: data.lines.length, attempt: job.attemptsMade + 1, stalled: job.stalledCounter });
    let text: string;
    try {
      text = await ctx.pool.score(
        { lines: data.lines, source: data.source, firstLine: data.firstLine, maxLength: data.maxLength, batchSize: data.batchSize },
        signal,
      );
    } catch (err) {
      if (err instanceof ShardAbandoned) {
        await job.moveToWait(token);
        ctx.log({ event: 'shard-released', run: data.run, shard: data.shard });
        throw new WaitingError();
      }
      if (err instanceof InputError) throw new UnrecoverableError(err.message);
      throw err;
    }
    await execTransaction(ctx.connection.multi().hset(keys.results, String(data.shard), text).pexpireat(keys.results, data.expiresAt));
    ctx.log({ event: 'shard-done', run: data.run, shard: data.shard, lines: data.lines.length, ms: Math.round(performance.now() - started) });
    return { lines: data.lines.length };
  };
}
