/** jobs/: bulk scoring spread over machines by a BullMQ queue on Redis. */
export { JobError } from './errors.js';
export { SCORES_FILE, collectRun, type CollectResult } from './collect.js';
export { modelChecksum, type ModelChecksum } from './model-checksum.js';
export { REDIS_URL_ENV, connectRedis, redactUrl, resolveRedisUrl } from './redis.js';
export { DEFAULT_KEEP_DAYS, DEFAULT_QUEUE, isRunId, runKeys, shardJobId, type CandidateIds, type InputFormat, type RunManifest, type ShardData } from './run-model.js';
export { describeProblem, readManifest, readRunStatus, type Refusal, type RunStatus, type ShardProblem } from './run-state.js';
export { DEFAULT_LOCK_DURATION_MS, DEFAULT_STALLED_INTERVAL_MS, startShardWorker, type RunningWorker, type ShardWorkerOptions, type WorkerEvent } from './shard-worker.js';
export { submitRun, type SubmitOptions } from './submit.js';
