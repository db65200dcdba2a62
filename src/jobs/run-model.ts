/**
 * What a job (a "run") is in Redis: its manifest, the shards BullMQ carries, and the keys its
 * results live under. Everything a worker needs travels in the shard itself, so workers on
 * other machines need no shared disk; results go back through Redis, keyed by shard.
 */

/** Our own keys' prefix; BullMQ's keys have their own (`bull:<queue>:…`). */
const KEY_PREFIX = 'turborank:run';

/** The queue everyone uses unless told otherwise. */
export const DEFAULT_QUEUE = 'turborank';

/** How long a run's manifest and results stay in Redis after submission, unless collected and removed earlier. */
export const DEFAULT_KEEP_DAYS = 7;

/**
 * What the input was: JSON Lines of pairs, or candidate lists (TREC DL's JSON, a BEIR folder
 * with a run file) turned into pairs, whose (query id, document id) `collect` keeps to write a
 * reranked TREC run beside the scores.
 */
export type InputFormat = 'pairs' | 'trec-dl' | 'beir';

/** A pair's ids in a candidate list. */
export type CandidateIds = readonly [queryId: string, docId: string];

/** What `jobs submit` records; `status`, `wait` and `collect` read it back. */
export interface RunManifest {
  readonly version: 1;
  readonly id: string;
  readonly queue: string;
  /** The model as the submitter named it, and the checksum of its files that workers must match. */
  readonly model: string;
  readonly checksum: string;
  /** The input file, as named in messages about its lines. */
  readonly source: string;
  readonly format: InputFormat;
  /** Where `collect` writes scores.jsonl unless told otherwise. */
  readonly out: string;
  readonly lines: number;
  readonly shards: number;
  readonly shardSize: number;
  readonly maxLength: number | undefined;
  readonly batchSize: number | undefined;
  readonly attempts: number;
  /** Unix milliseconds. */
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** One BullMQ job: a slice of the input, with what scoring it needs. */
export interface ShardData {
  readonly run: string;
  readonly shard: number;
  /** 0-based index of the shard's first line in the input. */
  readonly firstLine: number;
  readonly lines: readonly string[];
  readonly source: string;
  readonly checksum: string;
  readonly maxLength: number | undefined;
  readonly batchSize: number | undefined;
  /** Unix milliseconds; the results key expires then. */
  readonly expiresAt: number;
}

/** What a worker returns for a scored shard (BullMQ keeps it with the completed job). */
export interface ShardResult {
  readonly lines: number;
}

/** BullMQ job ids may not contain ':'; run ids never do. */
export function shardJobId(run: string, shard: number): string {
  return `${run}-${shard}`;
}

/** The shard number of a job of `run`, or undefined for another run's job. */
export function shardOfJobId(run: string, jobId: string | undefined): number | undefined {
  if (jobId === undefined || !jobId.startsWith(`${run}-`)) return undefined;
  const n = Number(jobId.slice(run.length + 1));
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The run's keys. The run id sits in a hash tag ({…}) so that all of them live in one slot of
 * a Redis Cluster, where a transaction may only touch one slot.
 */
export function runKeys(run: string): { manifest: string; results: string; refusals: string; ids: string } {
  const base = `${KEY_PREFIX}:{${run}}`;
  return { manifest: `${base}:manifest`, results: `${base}:results`, refusals: `${base}:refusals`, ids: `${base}:ids` };
}

/** The lines [first, end) of `shard`. */
export function shardLines(manifest: Pick<RunManifest, 'lines' | 'shardSize'>, shard: number): { first: number; end: number } {
  const first = shard * manifest.shardSize;
  return { first, end: Math.min(first + manifest.shardSize, manifest.lines) };
}

/** A new run id: sortable by time, unique enough across submitters (48 random bits). */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', 't').toLowerCase();
  const random = Math.floor(Math.random() * 2 ** 48).toString(36).padStart(10, '0');
  return `${stamp}-${random}`;
}

/** Run ids as newRunId makes them; anything else given on the command line is a usage error. */
export function isRunId(value: string): boolean {
  return /^[0-9a-z][0-9a-z._-]{0,99}$/.test(value);
}
