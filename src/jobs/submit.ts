/**
 * `jobs submit`: cuts the input into shards and enqueues them. The input is streamed and
 * shards are added in small bulks, so a file larger than memory can be submitted; the shards'
 * lines live in Redis until scored (workers need no shared disk), so Redis needs room for the
 * input that is not yet scored plus the results (about 60 bytes a line).
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { execTransaction } from './redis.js';
import { newRunId, runKeys, shardJobId, type CandidateIds, type InputFormat, type RunManifest, type ShardData } from './run-model.js';

export interface SubmitOptions {
  readonly connection: Redis;
  readonly queue: string;
  readonly lines: AsyncIterable<[number, string]>;
  readonly source: string;
  readonly format?: InputFormat;
  /** For candidate lists: each line's (query id, document id), kept per shard for `collect`. */
  readonly candidateIds?: readonly CandidateIds[];
  readonly model: string;
  readonly checksum: string;
  readonly out: string;
  readonly shardSize: number;
  readonly maxLength: number | undefined;
  readonly batchSize: number | undefined;
  /** Tries per shard for errors that may pass (a lost connection, memory); bad input fails at once. */
  readonly attempts: number;
  readonly keepDays: number;
  /** Called after each bulk of shards is enqueued. */
  readonly onProgress?: (linesEnqueued: number) => void;
}

/** Shards added per round trip. */
const SHARDS_PER_BULK = 16;

export async function submitRun(options: SubmitOptions): Promise<RunManifest> {
  const id = newRunId();
  const createdAt = Date.now();
  const expiresAt = createdAt + options.keepDays * 24 * 3600 * 1000;
  const queue = new Queue<ShardData, unknown, string>(options.queue, { connection: options.connection });
  const jobOptions: JobsOptions = {
    attempts: options.attempts,
    backoff: { type: 'exponential', delay: 1000 },
    // The result is in our own results hash; the shard's lines need not stay. A failed shard
    // keeps them (and its reason) until the run expires, for `status` and `collect` to report.
    removeOnComplete: true,
    removeOnFail: { age: options.keepDays * 24 * 3600 },
  };
  let shard = 0;
  let lines = 0;
  let current: string[] = [];
  let bulk: { name: string; data: ShardData; opts: JobsOptions }[] = [];
  let bulkIds: Record<string, string> = {};
  const keys = runKeys(id);
  const flushBulk = async (): Promise<void> => {
    if (bulk.length === 0) return;
    // The ids first: a shard may be scored as soon as it is added.
    if (Object.keys(bulkIds).length > 0) await execTransaction(options.connection.multi().hset(keys.ids, bulkIds).pexpireat(keys.ids, expiresAt));
    await queue.addBulk(bulk);
    bulk = [];
    bulkIds = {};
    options.onProgress?.(lines);
  };
  const cutShard = (): void => {
    const data: ShardData = {
      run: id, shard, firstLine: lines - current.length, lines: current, source: options.source,
      checksum: options.checksum, maxLength: options.maxLength, batchSize: options.batchSize, expiresAt,
    };
    bulk.push({ name: 'score', data, opts: { ...jobOptions, jobId: shardJobId(id, shard) } });
    if (options.candidateIds) bulkIds[String(shard)] = JSON.stringify(options.candidateIds.slice(data.firstLine, data.firstLine + current.length));
    shard++;
    current = [];
  };
  try {
    for await (const [, line] of options.lines) {
      current.push(line);
      lines++;
      if (current.length === options.shardSize) cutShard();
      if (bulk.length >= SHARDS_PER_BULK) await flushBulk();
    }
    if (current.length > 0) cutShard();
    await flushBulk();
  } finally {
    await queue.close();
  }
  const manifest: RunManifest = {
    version: 1, id, queue: options.queue, model: options.model, checksum: options.checksum, source: options.source, format: options.format ?? 'pairs', out: options.out,
    lines, shards: shard, shardSize: options.shardSize, maxLength: options.maxLength, batchSize: options.batchSize,
    attempts: options.attempts, createdAt, expiresAt,
  };
  // Written last: a run without a manifest is one whose submission did not finish.
  await execTransaction(options.connection.multi().set(keys.manifest, JSON.stringify(manifest)).pexpireat(keys.manifest, expiresAt));
  return manifest;
}
