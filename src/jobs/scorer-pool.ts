/**
 * The worker's scorer threads: one per concurrent shard, each with its own model session
 * (--threads ONNX Runtime threads each). A shard is scored on a free thread; a thread whose
 * shard is abandoned (shutdown) is terminated and replaced, so the pool never hands out a
 * thread that is still busy.
 */
import { Worker } from 'node:worker_threads';
import { InputError, TurborankError } from '../errors.js';
import type { ShardInput } from './score-shard.js';
import type { ScorerReply, ScorerRequest, ScorerSetup } from './scorer-protocol.js';

const THREAD_URL = new URL('./scoring-thread.js', import.meta.url);

class ScorerThread {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  private exitReason: string | undefined;
  readonly ready: Promise<{ modelName: string; isTestModel: boolean }>;
  private readonly worker: Worker;

  constructor(setup: ScorerSetup) {
    this.worker = new Worker(THREAD_URL, { workerData: setup });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (reply: ScorerReply) => {
        if (reply.type === 'ready') resolve({ modelName: reply.modelName, isTestModel: reply.isTestModel });
        else if (reply.type === 'load-failed') reject(reply.expected ? new TurborankError(reply.message) : new Error(reply.message));
        else this.settle(reply);
      });
      this.worker.on('error', (err) => this.stopped(`crashed: ${err.message}`, reject));
      this.worker.on('exit', (code) => this.stopped(`exited (code ${code})`, reject));
    });
  }

  get alive(): boolean {
    return this.exitReason === undefined;
  }

  score(shard: ShardInput): Promise<string> {
    if (this.exitReason !== undefined) return Promise.reject(new Error(`scorer thread ${this.exitReason}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'score', id, shard } satisfies ScorerRequest);
    });
  }

  /** Lets the thread release its session, or ends it at once with `now`. */
  async close(now = false): Promise<void> {
    if (this.exitReason !== undefined) return;
    if (now) {
      await this.worker.terminate();
      return;
    }
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ type: 'close' } satisfies ScorerRequest);
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }

  private settle(reply: Extract<ScorerReply, { type: 'scored' | 'failed' }>): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (reply.type === 'scored') waiter.resolve(reply.text);
    else waiter.reject(reply.input ? new InputError(reply.message) : reply.expected ? new TurborankError(reply.message) : new Error(reply.message));
  }

  private stopped(reason: string, rejectReady: (err: Error) => void): void {
    this.exitReason ??= reason;
    const err = new Error(`scorer thread ${reason}`);
    rejectReady(err);
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}

export class ScorerPool {
  private readonly idle: ScorerThread[] = [];

  private constructor(private readonly setup: ScorerSetup, threads: ScorerThread[], readonly modelName: string, readonly isTestModel: boolean) {
    this.idle.push(...threads);
  }

  /** Starts `size` threads and waits until each has loaded the model. */
  static async start(setup: ScorerSetup, size: number): Promise<ScorerPool> {
    const threads = Array.from({ length: size }, () => new ScorerThread(setup));
    try {
      const infos = await Promise.all(threads.map((t) => t.ready));
      return new ScorerPool(setup, threads, infos[0]!.modelName, infos[0]!.isTestModel);
    } catch (err) {
      await Promise.all(threads.map((t) => t.close(true)));
      throw err;
    }
  }

  /**
   * Scores a shard on an idle thread. If `signal` aborts first, the thread is terminated (its
   * work is lost, the shard is released by the caller) and a fresh one takes its place.
   */
  async score(shard: ShardInput, signal?: AbortSignal): Promise<string> {
    // BullMQ never runs more shards at once than the concurrency the pool was sized for.
    const thread = this.idle.pop();
    if (!thread) throw new Error('no idle scorer thread: more shards than --concurrency at once');
    let abandoned = false;
    try {
      const aborted = new Promise<never>((_, reject) => {
        if (!signal) return;
        const onAbort = (): void => {
          abandoned = true;
          reject(new ShardAbandoned());
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
      return await Promise.race([thread.score(shard), aborted]);
    } finally {
      if (abandoned || !thread.alive) {
        // A crashed thread is replaced too: its shard fails and is retried, the next one runs.
        void thread.close(true);
        const fresh = new ScorerThread(this.setup);
        fresh.ready.catch(() => {}); // a failure shows up as a failed shard on its first use
        this.idle.push(fresh);
      } else {
        this.idle.push(thread);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((t) => t.close()));
  }
}

/** The shard was given up (shutdown) before it was scored. */
export class ShardAbandoned extends Error {
  constructor() {
    super('shard abandoned at shutdown');
    this.name = 'ShardAbandoned';
  }
}
