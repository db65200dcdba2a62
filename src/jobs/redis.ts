/**
 * Connections to the Redis that carries the queue. BullMQ 6 takes a client instance (it no
 * longer loads ioredis itself in ESM), and its workers need `maxRetriesPerRequest: null` so a
 * blocking fetch is never cut short by ioredis's retry limit.
 */
import { Redis, type ChainableCommander } from 'ioredis';
import { UsageError } from '../errors.js';
import { JobError } from './errors.js';

export const REDIS_URL_ENV = 'TURBORANK_REDIS_URL';

/** How long a command waits for Redis to answer its first PING before saying it is unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Reconnection tries for the first connection (300 ms apart). */
const INITIAL_TRIES = 5;

/** The --redis option, else $TURBORANK_REDIS_URL; a redis:// or rediss:// URL. */
export function resolveRedisUrl(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const url = option ?? env[REDIS_URL_ENV];
  if (url === undefined || url.trim() === '') {
    throw new UsageError(`no Redis given: pass --redis URL or set ${REDIS_URL_ENV}`, 'e.g. --redis redis://127.0.0.1:6379');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--redis: '${url}' is not a URL`, 'e.g. redis://127.0.0.1:6379 or rediss://user:password@host:6380/0');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new UsageError(`--redis: '${redactUrl(url)}' must start with redis:// or rediss:// (TLS)`);
  }
  return url;
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * A connected client. Once connected it reconnects for ever (a worker rides out a Redis
 * failover); the first connection gets a few tries within CONNECT_TIMEOUT_MS, so a wrong URL
 * fails the command with a message instead of hanging.
 */
export async function connectRedis(url: string): Promise<Redis> {
  let connected = false;
  let lastError: Error | undefined;
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => (connected ? Math.min(times * 200, 5000) : times <= INITIAL_TRIES ? 300 : null),
  });
  const onError = (err: Error): void => {
    lastError = err;
  };
  client.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(lastError?.message ?? 'no answer')), CONNECT_TIMEOUT_MS);
    });
    await Promise.race([client.connect().then(() => client.ping()), timeout]);
    connected = true;
  } catch (err) {
    client.disconnect();
    throw new JobError(`cannot reach Redis at ${redactUrl(url)}: ${lastError?.message ?? (err as Error).message}`,
      'check the URL (host, port, password) and that redis-server is running and reachable from here', { cause: err });
  } finally {
    clearTimeout(timer);
  }
  // Later connection errors are retried by ioredis (and BullMQ reports them on its own events).
  client.off('error', onError);
  client.on('error', () => {});
  return client;
}

/** Runs a MULTI … EXEC transaction; throws if Redis refused it or any command in it. */
export async function execTransaction(transaction: ChainableCommander): Promise<void> {
  const replies = await transaction.exec();
  if (replies === null) throw new JobError('a Redis transaction was aborted');
  for (const [err] of replies) if (err) throw err;
}
