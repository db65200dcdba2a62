/**
 * `turborank jobs submit|status|wait|collect`: bulk scoring spread over any number of
 * `turborank worker` processes through a BullMQ queue on Redis (see src/jobs and docs/DEPLOY.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Redis } from 'ioredis';
import { FileError, UsageError } from '../errors.js';
import {
  DEFAULT_KEEP_DAYS, DEFAULT_QUEUE, JobError, collectRun, connectRedis, describeProblem, isRunId, modelChecksum,
  readRunStatus, resolveRedisUrl, submitRun, type RunStatus,
} from '../jobs/index.js';
import { Reranker, SCORE_CHUNK_LINES, TEST_MODEL_WARNING, defaultModelPath, namesTestModel } from '../rerank/index.js';
import { writeTrecRun } from '../eval/trec-run.js';
import { parseInputFormat, readJobInput } from './jobs-input.js';
import { intOption, stringOption, writeStdout } from './main.js';

/** The manifest `submit` leaves in --out DIR, so later commands can be given DIR instead of the id. */
const JOB_FILE = 'job.json';
/** Where `collect` writes a candidate list's reranked TREC run. */
const RUN_FILE = 'run.trec';
const POLL_MS = 1000;

export const JOBS_HELP = {
  text: `Usage: turborank jobs <submit|status|wait|collect> [options]

Bulk scoring across machines: \`submit\` cuts JSON Lines of {"query": …, "document": …} (or
candidate lists: TREC DL JSON, a BEIR folder with a run; see --format) into shards on a BullMQ
queue in Redis; \`turborank worker\` processes (any number, anywhere)
score them; \`collect\` merges the results, in input order, into DIR/scores.jsonl: the
same lines \`turborank score\` writes for the same input.

  turborank jobs submit  --redis URL --model M --in pairs.jsonl --out DIR [--shard-size N]
  turborank jobs status  --redis URL JOB      progress, failed shards (with the line), refusals
  turborank jobs wait    --redis URL JOB      until every shard is scored or failed (a bar on a TTY)
  turborank jobs collect --redis URL JOB      write DIR/scores.jsonl, or fail naming missing shards

JOB is the id \`submit\` printed, or its --out DIR (which holds ${JOB_FILE}).
The Redis URL may come from TURBORANK_REDIS_URL instead of --redis.

Options:
      --redis URL          redis:// or rediss:// URL (env TURBORANK_REDIS_URL)
  -m, --model M            submit: the model workers must serve (they check its files' checksum)
      --in FILE            submit: the pairs, JSON Lines ('-': stdin), or candidate lists (--format)
      --format F           submit: pairs (default), trec-dl (TREC DL candidates JSON, as \`eval trec\`),
                           or beir (--in a BEIR folder, --run its first-stage TREC run; the default
                           for a folder); candidate lists also get DIR/run.trec, reranked, on collect
      --run FILE           submit, beir: the run whose candidates to rerank
      --top-k N            submit, beir: candidates per query from the run (default: all)
      --split S            submit, beir: the qrels split whose queries count (default test)
      --out DIR            submit: where collect writes scores.jsonl; collect: write there instead
      --shard-size N       submit: lines per shard (default ${SCORE_CHUNK_LINES})
      --max-length N       submit: tokens per pair, longest-first truncation
      --batch-size N       submit: pairs per inference batch (default 32)
      --attempts N         submit: tries per shard for errors that may pass (default 3; bad lines fail at once)
      --keep-days N        submit: days the job and its results stay in Redis (default ${DEFAULT_KEEP_DAYS})
      --queue NAME         submit: BullMQ queue (default ${DEFAULT_QUEUE}); workers must use the same
      --timeout S          wait: give up (exit 1) after S seconds
      --json               machine-readable output
  -h, --help               this help

Exit codes: 0 done; 1 shards failed or missing (each named), Redis unreachable, or --timeout.`,
  options: {
    redis: { type: 'string' },
    model: { type: 'string', short: 'm' },
    in: { type: 'string' },
    format: { type: 'string' },
    run: { type: 'string' },
    'top-k': { type: 'string' },
    split: { type: 'string' },
    out: { type: 'string' },
    'shard-size': { type: 'string' },
    'max-length': { type: 'string' },
    'batch-size': { type: 'string' },
    attempts: { type: 'string' },
    'keep-days': { type: 'string' },
    queue: { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
  },
} as const;

type Values = Record<string, unknown>;

const SUBCOMMANDS = ['submit', 'status', 'wait', 'collect'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

export async function runJobs(values: Values, positionals: string[]): Promise<void> {
  const [sub, ...rest] = positionals;
  if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
    throw new UsageError(sub === undefined ? 'jobs needs a subcommand' : `unknown jobs subcommand '${sub}'`, `one of ${SUBCOMMANDS.join(', ')}; see \`turborank jobs --help\``);
  }
  const redisUrl = resolveRedisUrl(stringOption(values, 'redis'));
  const subcommand = sub as Subcommand;
  if (subcommand === 'submit') {
    if (rest.length > 0) throw new UsageError(`jobs submit takes no positional arguments, got ${rest.join(' ')}`, 'name the input with --in FILE');
    return submit(values, redisUrl);
  }
  if (rest.length !== 1) throw new UsageError(`jobs ${subcommand} takes one JOB (an id or the submit's --out DIR), got ${rest.length}`);
  const run = resolveJob(rest[0]!);
  const timeoutS = intOption(values, 'timeout', 1);
  const connection = await connectRedis(redisUrl);
  try {
    if (subcommand === 'status') return await status(connection, run, values.json === true);
    if (subcommand === 'wait') return await wait(connection, run, values.json === true, timeoutS);
    const result = await collectRun(connection, run, stringOption(values, 'out'));
    // A candidate list's reranking as a TREC run, beside the scores (ranked by logit).
    const runFile = result.run ? path.join(path.dirname(result.file), RUN_FILE) : undefined;
    if (result.run) writeTrecRun(runFile!, result.run, 'turborank');
    if (values.json === true) await writeStdout(JSON.stringify({ job: run, file: result.file, lines: result.lines, ...(runFile ? { run: runFile } : {}) }) + '\n');
    else process.stderr.write(`turborank: job ${run}: ${result.lines} scores written to ${result.file}${runFile ? `, the reranked run to ${runFile}` : ''}\n`);
  } finally {
    connection.disconnect();
  }
}

async function submit(values: Values, redisUrl: string): Promise<void> {
  const input = stringOption(values, 'in');
  const out = stringOption(values, 'out');
  if (input === undefined) throw new UsageError('jobs submit needs --in FILE (JSON Lines of {"query","document"}; - for stdin)');
  if (out === undefined) throw new UsageError('jobs submit needs --out DIR (collect writes scores.jsonl there)');
  const model = stringOption(values, 'model');
  const shardSize = intOption(values, 'shard-size', 1, 1_000_000) ?? SCORE_CHUNK_LINES;
  const maxLength = intOption(values, 'max-length');
  const batchSize = intOption(values, 'batch-size');
  const attempts = intOption(values, 'attempts', 1, 100) ?? 3;
  const keepDays = intOption(values, 'keep-days', 1, 365) ?? DEFAULT_KEEP_DAYS;
  const queue = stringOption(values, 'queue') ?? DEFAULT_QUEUE;
  // Read (or, for pairs, opened and checked) now: a wrong path fails before Redis or the model.
  const jobInput = await readJobInput(input, parseInputFormat(stringOption(values, 'format'), input), {
    run: stringOption(values, 'run'), topK: intOption(values, 'top-k'), split: stringOption(values, 'split') ?? 'test',
  });
  prepareOutDir(out);
  if (namesTestModel(model)) process.stderr.write(TEST_MODEL_WARNING + '\n');
  const { checksum } = await modelChecksum(model ?? defaultModelPath());
  // A --max-length over the model's limit would fail every shard on the workers: refuse it here
  // (loading the model is the one way to learn its limit, so only when the option is given).
  if (maxLength !== undefined) {
    const reranker = await Reranker.load(model, { threads: 1 });
    try {
      await reranker.score([], { maxLength }); // checks maxLength against the model, scores nothing
    } finally {
      await reranker.close();
    }
  }
  const connection = await connectRedis(redisUrl);
  try {
    const manifest = await submitRun({
      connection, queue, ...jobInput, model: model ?? defaultModelPath(), checksum, out: path.resolve(out),
      shardSize, maxLength, batchSize, attempts, keepDays,
    });
    writeAtomically(path.join(out, JOB_FILE), JSON.stringify(manifest, null, 2) + '\n');
    if (values.json === true) await writeStdout(JSON.stringify(manifest) + '\n');
    else {
      await writeStdout(manifest.id + '\n');
      process.stderr.write(`turborank: job ${manifest.id}: ${manifest.lines} lines in ${manifest.shards} shards on queue '${queue}'.\n` +
        `  score them:  turborank worker --redis URL --model ${model ?? '(the default model)'}${queue === DEFAULT_QUEUE ? '' : ` --queue ${queue}`}   (as many as you like)\n` +
        `  then:        turborank jobs wait ${manifest.id} && turborank jobs collect ${manifest.id}\n`);
    }
  } finally {
    connection.disconnect();
  }
}

function prepareOutDir(out: string): void {
  try {
    fs.mkdirSync(out, { recursive: true });
    fs.accessSync(out, fs.constants.W_OK);
  } catch (err) {
    throw new FileError(out, `cannot write here (${(err as Error).message})`, 'pass a writable --out DIR', { cause: err });
  }
}

function writeAtomically(file: string, content: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, content);
  fs.renameSync(temp, file);
}

/** A run id, or a directory holding the job.json that submit wrote. */
function resolveJob(arg: string): string {
  const file = path.join(arg, JOB_FILE);
  if (fs.existsSync(file)) {
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as { id?: unknown };
    if (typeof manifest.id === 'string' && isRunId(manifest.id)) return manifest.id;
    throw new FileError(file, 'has no job id', 'pass the id `jobs submit` printed');
  }
  if (isRunId(arg) && !arg.includes('/')) return arg;
  throw new UsageError(`'${arg}' is neither a job id nor a directory with ${JOB_FILE}`, 'pass the id `jobs submit` printed, or its --out DIR');
}

async function status(connection: Redis, run: string, json: boolean): Promise<void> {
  const s = await readRunStatus(connection, run);
  if (json) {
    await writeStdout(JSON.stringify(statusJson(s)) + '\n');
    return;
  }
  await writeStdout(describeStatus(s) + '\n');
}

function statusJson(s: RunStatus): Record<string, unknown> {
  return {
    job: s.manifest.id, model: s.manifest.model, checksum: s.manifest.checksum, queue: s.manifest.queue,
    shards: s.manifest.shards, lines: s.manifest.lines, done_shards: s.doneShards, done_lines: s.doneLines,
    active_shards: s.activeShards, failed: s.failed, refusals: s.refusals, complete: s.complete, finished: s.finished,
  };
}

function describeStatus(s: RunStatus): string {
  const m = s.manifest;
  const percent = m.lines === 0 ? 100 : (100 * s.doneLines) / m.lines;
  const lines = [
    `job ${m.id}  (queue ${m.queue}, model ${m.model}, checksum ${m.checksum.slice(0, 12)})`,
    `  ${s.doneLines}/${m.lines} lines scored (${percent.toFixed(1)}%), ${s.doneShards}/${m.shards} shards; ${s.activeShards} being scored; ${s.failed.length} failed`,
  ];
  for (const p of s.failed) lines.push(`  ${describeProblem(p)}`);
  for (const r of s.refusals) {
    lines.push(`  refused by worker ${r.worker}: it serves ${r.model} (checksum ${r.checksum.slice(0, 12)}), not the files this job was submitted with`);
  }
  lines.push(s.complete ? '  complete: run `turborank jobs collect`' : s.finished ? '  finished with failures' : '  in progress');
  return lines.join('\n');
}

async function wait(connection: Redis, run: string, json: boolean, timeoutS: number | undefined): Promise<void> {
  const deadline = timeoutS === undefined ? Infinity : Date.now() + timeoutS * 1000;
  const bar = process.stderr.isTTY && !json
    ? new cliProgress.SingleBar({ stream: process.stderr, format: `job ${run} [{bar}] {percentage}% | {value}/{total} lines | {shards} | ETA {eta_formatted}`, barsize: 30, hideCursor: true, etaBuffer: 20 }, cliProgress.Presets.shades_classic)
    : undefined;
  let s = await readRunStatus(connection, run);
  bar?.start(s.manifest.lines, s.doneLines, { shards: shardsLabel(s) });
  try {
    while (!s.finished && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      s = await readRunStatus(connection, run);
      bar?.update(s.doneLines, { shards: shardsLabel(s) });
    }
  } finally {
    bar?.stop();
  }
  if (json) await writeStdout(JSON.stringify(statusJson(s)) + '\n');
  if (s.complete) {
    if (!json) process.stderr.write(`turborank: job ${run}: all ${s.manifest.lines} lines scored\n`);
    return;
  }
  if (s.finished) {
    throw new JobError(`job ${run}: ${s.failed.length} of ${s.manifest.shards} shards failed:\n${s.failed.map((p) => `  ${describeProblem(p)}`).join('\n')}`,
      'fix the lines named and submit them again; `jobs collect` refuses an incomplete job');
  }
  throw new JobError(`job ${run}: not finished after ${timeoutS} s (${s.doneLines}/${s.manifest.lines} lines scored)`,
    s.refusals.length > 0 ? 'workers refused it for serving other model files: see `turborank jobs status`' : 'are workers running? see `turborank jobs status`');
}

function shardsLabel(s: RunStatus): string {
  return `${s.doneShards}/${s.manifest.shards} shards${s.failed.length ? `, ${s.failed.length} failed` : ''}${s.refusals.length ? `, ${s.refusals.length} refusing worker(s)` : ''}`;
}
