/**
 * `turborank worker`: takes shards of `jobs submit` runs from the queue and scores them, until
 * SIGTERM or Ctrl-C (then it finishes or hands back its current shards, and exits 0).
 */
import { UsageError } from '../errors.js';
import { DEFAULT_LOCK_DURATION_MS, DEFAULT_QUEUE, DEFAULT_STALLED_INTERVAL_MS, resolveRedisUrl, startShardWorker, type WorkerEvent } from '../jobs/index.js';
import { TEST_MODEL_WARNING, namesTestModel, DEFAULT_MODEL_NAME } from '../rerank/index.js';
import { intOption, stringOption, threadsOption } from './main.js';
import { envName } from './serve-command.js';

const DEFAULT_SHUTDOWN_GRACE_S = 25;

export const WORKER_HELP = {
  text: `Usage: turborank worker --redis URL [options]

Scores shards of bulk-scoring jobs (\`turborank jobs submit\`) taken from a BullMQ queue on
Redis. Run one or many, on any machines that reach the Redis; each shard is scored by one
worker, and a shard whose worker dies is taken by another once its lock expires. A worker
scores only shards submitted for the same model files (by checksum) and leaves the others.
Logs one JSON line per event on stdout. SIGTERM or Ctrl-C: no new shards; the current ones
finish, or go back to the queue after --shutdown-grace (or a second signal); then exit 0.

Every option can also come from the environment: --redis is TURBORANK_REDIS_URL,
--concurrency is TURBORANK_CONCURRENCY, and so on. Options on the command line win.

Options:
      --redis URL            redis:// or rediss:// URL (env TURBORANK_REDIS_URL)
  -m, --model M              model directory, .onnx file or cached hub name (default: the shipped ${DEFAULT_MODEL_NAME})
      --concurrency N        shards scored at once, each on its own thread and session (default 1)
      --threads N            ONNX Runtime threads per shard being scored (default: all cores)
      --queue NAME           BullMQ queue (default ${DEFAULT_QUEUE})
      --lock-duration MS     a shard's lock; a dead worker's shard is retried after it (default ${DEFAULT_LOCK_DURATION_MS})
      --stalled-interval MS  how often to look for shards whose lock expired (default ${DEFAULT_STALLED_INTERVAL_MS})
      --shutdown-grace S     seconds the current shards may take to finish at shutdown (default ${DEFAULT_SHUTDOWN_GRACE_S})
      --quiet                log only start, stop, refusals and failures
  -h, --help                 this help`,
  options: {
    redis: { type: 'string' },
    model: { type: 'string', short: 'm' },
    concurrency: { type: 'string' },
    threads: { type: 'string' },
    queue: { type: 'string' },
    'lock-duration': { type: 'string' },
    'stalled-interval': { type: 'string' },
    'shutdown-grace': { type: 'string' },
    quiet: { type: 'boolean' },
  },
} as const;

/** Events --quiet keeps. */
const QUIET_EVENTS = new Set(['started', 'stopping', 'stopped', 'shard-refused', 'shard-failed', 'error']);

export async function runWorker(values: Record<string, unknown>, positionals: string[]): Promise<void> {
  if (positionals.length > 0) throw new UsageError(`worker takes no positional arguments, got ${positionals.join(' ')}`);
  const merged = withWorkerEnvironment(values, process.env);
  const redisUrl = resolveRedisUrl(stringOption(merged, 'redis'));
  const model = stringOption(merged, 'model');
  const quiet = merged.quiet === true;
  const graceMs = (intOption(merged, 'shutdown-grace', 0, 3600) ?? DEFAULT_SHUTDOWN_GRACE_S) * 1000;
  const log = (event: WorkerEvent): void => {
    if (quiet && !QUIET_EVENTS.has(event.event)) return;
    process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...event }) + '\n');
  };
  if (namesTestModel(model)) process.stderr.write(TEST_MODEL_WARNING + '\n');
  const worker = await startShardWorker({
    redisUrl,
    queue: stringOption(merged, 'queue') ?? DEFAULT_QUEUE,
    model,
    concurrency: intOption(merged, 'concurrency', 1, 256) ?? 1,
    threads: threadsOption(merged),
    lockDurationMs: intOption(merged, 'lock-duration', 1000, 3_600_000) ?? DEFAULT_LOCK_DURATION_MS,
    stalledIntervalMs: intOption(merged, 'stalled-interval', 500, 3_600_000) ?? DEFAULT_STALLED_INTERVAL_MS,
    log,
  });
  await new Promise<void>((resolve, reject) => {
    let signals = 0;
    const onSignal = (): void => {
      signals++;
      if (signals === 1) worker.stop(graceMs).then(resolve, reject);
      else worker.release();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** The Redis URL's variable is TURBORANK_REDIS_URL (shared with `jobs`); the others follow envName. */
function withWorkerEnvironment(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...values };
  for (const [name, spec] of Object.entries(WORKER_HELP.options)) {
    const variable = name === 'redis' ? 'TURBORANK_REDIS_URL' : envName(name);
    const raw = env[variable];
    if (merged[name] !== undefined || raw === undefined || raw === '') continue;
    merged[name] = spec.type === 'boolean' ? /^(1|true|yes|on)$/i.test(raw) : raw;
  }
  return merged;
}
