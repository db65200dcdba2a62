/**
 * The second stage shared by every benchmark: score each query's candidates with the
 * cross-encoder, query by query, saving scores as they come so a run can be resumed, and
 * stopping cleanly between queries when asked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TurborankError } from '../errors.js';
import type { RunEntry } from './metrics.js';
import { NO_PROGRESS, type Progress } from './progress.js';
import { ScoreCache } from './score-cache.js';

/** What a cross-encoder offers evaluation: `Reranker` is one; tests use a stand-in. */
export interface PairScorer {
  score(pairs: readonly { readonly query: string; readonly document: string }[]): Promise<Float32Array>;
}

export interface Candidate {
  readonly docId: string;
  readonly text: string;
}

export interface RerankTask {
  readonly queryId: string;
  readonly query: string;
  readonly candidates: readonly Candidate[];
}

export interface RerankOutcome {
  /** Each query's candidates with the cross-encoder's logits as scores. */
  readonly run: Map<string, RunEntry[]>;
  /** Pairs scored now, and pairs whose scores came from the cache. */
  readonly scoredPairs: number;
  readonly cachedPairs: number;
  /** Time spent scoring (tokenization and inference), not loading. */
  readonly seconds: number;
}

/** Thrown between two queries when the run was asked to stop; everything scored is saved. */
export class InterruptedError extends TurborankError {}

export interface RerankRunOptions {
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
}

export async function rerankTasks(tasks: readonly RerankTask[], scorer: PairScorer, cache: ScoreCache, options: RerankRunOptions = {}): Promise<RerankOutcome> {
  const progress = options.progress ?? NO_PROGRESS;
  const total = tasks.reduce((n, t) => n + t.candidates.length, 0);
  const cachedPairs = tasks.reduce((n, t) => n + t.candidates.filter((c) => cache.get(t.queryId)?.has(c.docId)).length, 0);
  const run = new Map<string, RunEntry[]>();
  let scoredPairs = 0;
  let seconds = 0;
  progress.start(total, cachedPairs);
  try {
    for (const task of tasks) {
      if (options.signal?.aborted) {
        throw new InterruptedError(`interrupted: ${cachedPairs + scoredPairs} of ${total} documents scored, saved in ${cache.file}`,
          'run the same command again to resume from there');
      }
      const missing = task.candidates.filter((c) => !cache.get(task.queryId)?.has(c.docId));
      if (missing.length > 0) {
        const started = performance.now();
        const logits = await scorer.score(missing.map((c) => ({ query: task.query, document: c.text })));
        seconds += (performance.now() - started) / 1000;
        cache.save(task.queryId, missing.map((c) => c.docId), logits);
        scoredPairs += missing.length;
        progress.advance(missing.length);
      }
      const scores = cache.get(task.queryId) ?? new Map<string, number>();
      run.set(task.queryId, task.candidates.map((c) => ({ docId: c.docId, score: scores.get(c.docId)! })));
    }
  } finally {
    progress.stop();
  }
  return { run, scoredPairs, cachedPairs, seconds };
}

/** A cross-encoder ready for an evaluation: how to score, what to call it, where to save. */
export interface SecondStage {
  readonly scorer: PairScorer;
  /** A short file-safe name for the model (run files, caches, reports). */
  readonly label: string;
  /** The model and token budget the scores depend on. */
  readonly model: string;
  readonly maxLength: number;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
}

/** Reranks with the score cache `<outDir>/scores.<name>.<label>.jsonl`. */
export async function rerankCached(tasks: readonly RerankTask[], stage: SecondStage, cacheFile: string, documents: string): Promise<RerankOutcome & { cacheFile: string }> {
  const cache = ScoreCache.open(cacheFile, { model: stage.model, maxLength: stage.maxLength, documents });
  const outcome = await rerankTasks(tasks, stage.scorer, cache, { progress: stage.progress, signal: stage.signal });
  return { ...outcome, cacheFile };
}

/**
 * A short, file-safe name for a model: "jina-reranker-v1-turbo-en" for the hub name
 * jinaai/jina-reranker-v1-turbo-en@main or a folder of that name; for an ONNX export the
 * folder holding it when the file is just model.onnx.
 */
export function modelLabel(model: string): string {
  const parts = model.replace(/@[^/]*$/, '').split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  let name = parts.pop() ?? 'model';
  if (name.endsWith('.onnx')) {
    name = name.slice(0, -'.onnx'.length);
    if (name === 'model') name = parts.filter((p) => p !== 'onnx' && p !== '..').pop() ?? name;
  }
  return name.replace(/[^A-Za-z0-9._-]+/g, '-');
}

/** What a model's saved scores are keyed on: its absolute path, or its hub name. */
export function modelIdentity(model: string): string {
  return fs.existsSync(model) ? path.resolve(model) : model;
}
