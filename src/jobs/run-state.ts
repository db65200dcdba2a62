/**
 * Where a run stands, read from Redis: the manifest `submit` wrote, the shards whose results
 * are in, the shards BullMQ gave up on (with the reason, which names the input line), the
 * shards being scored, and the workers that refused the run for serving other model files.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { JobError } from './errors.js';
import { runKeys, shardJobId, shardLines, shardOfJobId, type RunManifest, type ShardData } from './run-model.js';

export interface ShardProblem {
  readonly shard: number;
  /** Input lines, 1-based and inclusive, as a person counts them. */
  readonly firstLine: number;
  readonly lastLine: number;
  /** BullMQ's state for it: failed, waiting, active, delayed, … or 'missing' (no such job any more). */
  readonly state: string;
  readonly reason: string | undefined;
}

export interface Refusal {
  readonly worker: string;
  readonly model: string;
  readonly checksum: string;
  readonly at: number;
}

export interface RunStatus {
  readonly manifest: RunManifest;
  readonly doneShards: number;
  readonly doneLines: number;
  readonly failed: readonly ShardProblem[];
  readonly activeShards: number;
  readonly refusals: readonly Refusal[];
  /** Every shard has a result. */
  readonly complete: boolean;
  /** Every shard has a result or has failed for good: waiting longer changes nothing. */
  readonly finished: boolean;
}

export async function readManifest(connection: Redis, run: string): Promise<RunManifest> {
  const raw = await connection.get(runKeys(run).manifest);
  if (raw === null) {
    throw new JobError(`no job '${run}' in this Redis`,
      'check the id `jobs submit` printed (or pass the --out DIR it wrote job.json to) and the Redis URL; jobs expire after --keep-days, and a submission that was interrupted leaves none');
  }
  return JSON.parse(raw) as RunManifest;
}

export async function readRunStatus(connection: Redis, run: string): Promise<RunStatus> {
  const manifest = await readManifest(connection, run);
  const keys = runKeys(run);
  const done = new Set((await connection.hkeys(keys.results)).map(Number));
  let doneLines = 0;
  for (const shard of done) {
    const { first, end } = shardLines(manifest, shard);
    doneLines += end - first;
  }
  const queue = new Queue<ShardData>(manifest.queue, { connection });
  try {
    const failedJobs = await queue.getFailed(0, -1);
    const failed = failedJobs
      .filter((job) => shardOfJobId(run, job.id) !== undefined && !done.has(shardOfJobId(run, job.id)!))
      .map((job) => problem(manifest, shardOfJobId(run, job.id)!, 'failed', job.failedReason))
      .sort((a, b) => a.shard - b.shard);
    const active = (await queue.getActive(0, -1)).filter((job) => shardOfJobId(run, job.id) !== undefined).length;
    const refusals = Object.values(await connection.hgetall(keys.refusals)).map((raw) => JSON.parse(raw) as Refusal);
    const complete = done.size === manifest.shards;
    return { manifest, doneShards: done.size, doneLines, failed, activeShards: active, refusals, complete, finished: complete || done.size + failed.length === manifest.shards };
  } finally {
    await queue.close();
  }
}

/** Shards without a result, each with BullMQ's state for it and the reason if it failed. */
export async function missingShards(connection: Redis, manifest: RunManifest, done: ReadonlySet<number>): Promise<ShardProblem[]> {
  const queue = new Queue<ShardData>(manifest.queue, { connection });
  try {
    const problems: ShardProblem[] = [];
    for (let shard = 0; shard < manifest.shards; shard++) {
      if (done.has(shard)) continue;
      const job = await queue.getJob(shardJobId(manifest.id, shard));
      const state = job ? await job.getState() : 'missing';
      problems.push(problem(manifest, shard, state, job?.failedReason || undefined));
    }
    return problems;
  } finally {
    await queue.close();
  }
}

function problem(manifest: RunManifest, shard: number, state: string, reason: string | undefined): ShardProblem {
  const { first, end } = shardLines(manifest, shard);
  return { shard, firstLine: first + 1, lastLine: end, state, reason };
}

/** "shard 3 (lines 301-400): failed: pairs.jsonl line 345: invalid JSON …" */
export function describeProblem(p: ShardProblem): string {
  return `shard ${p.shard} (lines ${p.firstLine}-${p.lastLine}): ${p.state}${p.reason ? `: ${p.reason.split('\n')[0]}` : ''}`;
}
