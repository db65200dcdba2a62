/**
 * `jobs collect`: the shards' results, merged in input order into one file, written only when
 * every input line has exactly one score (temp file + rename: never a partial file under the
 * final name). Otherwise it fails naming the shards that are missing and why.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { FileError } from '../errors.js';
import { JobError } from './errors.js';
import { describeProblem, missingShards, readManifest } from './run-state.js';
import { runKeys, shardLines, type RunManifest } from './run-model.js';

/** Shards fetched from Redis per round trip while merging. */
const SHARDS_PER_FETCH = 64;
/** Problems listed by name in a failure message; the rest are counted. */
const PROBLEMS_LISTED = 20;

export const SCORES_FILE = 'scores.jsonl';

export interface CollectResult {
  readonly manifest: RunManifest;
  readonly file: string;
  readonly lines: number;
  /** For candidate lists: each query's documents with their logits, in input order. */
  readonly run?: ReadonlyMap<string, readonly { readonly docId: string; readonly score: number }[]>;
}

export async function collectRun(connection: Redis, run: string, outDir?: string): Promise<CollectResult> {
  const manifest = await readManifest(connection, run);
  const keys = runKeys(run);
  const done = new Set((await connection.hkeys(keys.results)).map(Number));
  if (done.size < manifest.shards) {
    const problems = await missingShards(connection, manifest, done);
    const listed = problems.slice(0, PROBLEMS_LISTED).map((p) => `  ${describeProblem(p)}`).join('\n');
    const more = problems.length > PROBLEMS_LISTED ? `\n  … and ${problems.length - PROBLEMS_LISTED} more` : '';
    const failed = problems.filter((p) => p.state === 'failed').length;
    throw new JobError(`job ${run}: ${problems.length} of ${manifest.shards} shards have no scores (${failed} failed), so nothing was written:\n${listed}${more}`,
      failed > 0 ? 'fix the lines named, then submit those lines (or the whole input) again' : 'wait for the workers (`turborank jobs wait`), or start some (`turborank worker`)');
  }
  const dir = outDir ?? manifest.out;
  const file = path.join(dir, SCORES_FILE);
  const temp = path.join(dir, `.${SCORES_FILE}.${process.pid}.tmp`);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new FileError(dir, (err as Error).message, 'pass a writable --out DIR', { cause: err });
  }
  const fd = fs.openSync(temp, 'w');
  let lines = 0;
  const withIds = manifest.format !== undefined && manifest.format !== 'pairs';
  const reranked = new Map<string, { docId: string; score: number }[]>();
  try {
    for (let start = 0; start < manifest.shards; start += SHARDS_PER_FETCH) {
      const shards = Array.from({ length: Math.min(SHARDS_PER_FETCH, manifest.shards - start) }, (_, i) => start + i);
      const texts = await connection.hmget(keys.results, ...shards.map(String));
      const ids = withIds ? await connection.hmget(keys.ids, ...shards.map(String)) : [];
      texts.forEach((text, i) => {
        const shard = shards[i]!;
        const { first, end } = shardLines(manifest, shard);
        const count = text === null ? 0 : countLines(text);
        if (text === null || count !== end - first) {
          throw new JobError(`job ${run}: shard ${shard} (lines ${first + 1}-${end}) has ${count} scores for ${end - first} lines`,
            'its result in Redis is damaged or was removed: submit the job again');
        }
        fs.writeSync(fd, text);
        lines += count;
        if (withIds) addToRun(reranked, ids[i] ?? null, text, `job ${run} shard ${shard}`);
      });
    }
    if (lines !== manifest.lines) throw new JobError(`job ${run}: collected ${lines} scores for ${manifest.lines} input lines`);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(temp, file);
  return withIds ? { manifest, file, lines, run: reranked } : { manifest, file, lines };
}

/** Pairs each output line's logit with the (query id, document id) submit kept for it. */
function addToRun(run: Map<string, { docId: string; score: number }[]>, idsJson: string | null, text: string, what: string): void {
  if (idsJson === null) throw new JobError(`${what}: its candidate ids are missing from Redis`, 'submit the job again');
  const ids = JSON.parse(idsJson) as [string, string][];
  const lines = text.slice(0, -1).split('\n');
  if (ids.length !== lines.length) throw new JobError(`${what}: ${ids.length} candidate ids for ${lines.length} scores`, 'submit the job again');
  lines.forEach((line, i) => {
    const [queryId, docId] = ids[i]!;
    const { logit } = JSON.parse(line) as { logit: number };
    let entries = run.get(queryId);
    if (!entries) run.set(queryId, (entries = []));
    entries.push({ docId, score: logit });
  });
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
