/** Messages between a worker's event loop (scorer-pool.ts) and its scorer threads (scoring-thread.ts). */
import type { ShardInput } from './score-shard.js';

export interface ScorerSetup {
  readonly model: string | undefined;
  readonly threads: number | undefined;
  readonly env: NodeJS.ProcessEnv;
}

export type ScorerRequest =
  | { readonly type: 'score'; readonly id: number; readonly shard: ShardInput }
  | { readonly type: 'close' };

export type ScorerReply =
  | { readonly type: 'ready'; readonly modelName: string; readonly isTestModel: boolean }
  | { readonly type: 'load-failed'; readonly message: string; readonly expected: boolean }
  | { readonly type: 'scored'; readonly id: number; readonly text: string }
  /** `input`: the shard's own data cannot be scored (bad JSON, a refused line): retrying will not help. */
  | { readonly type: 'failed'; readonly id: number; readonly message: string; readonly expected: boolean; readonly input: boolean };
