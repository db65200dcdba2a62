/**
 * The models a server serves, each with its own cross-request queue. Models are named on
 * the command line at start-up; a request can only pick among them by name (a Map lookup),
 * never point at a file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TurborankError, UsageError } from '../errors.js';
import { defaultModelPath } from '../rerank/index.js';
import { BatchQueue, type BatchLimits, type QueueEvents } from './batch-queue.js';
import { ApiError } from './errors.js';
import { ModelHost } from './model-host.js';

export interface ModelArgument {
  /** The name clients use; derived from `source` when not given. */
  readonly name: string | undefined;
  /** A directory, .onnx file or cached hub name; undefined: the shipped default model. */
  readonly source: string | undefined;
}

export interface ServedModel {
  readonly name: string;
  /** Other names that reach it: a hub model's short name (`jina-reranker-v1-turbo-en`). */
  readonly aliases: readonly string[];
  /** Its tokenizer and inference workers. */
  readonly host: ModelHost;
  readonly queue: BatchQueue;
}

export interface ModelLoadOptions {
  readonly threads: number | undefined;
  readonly maxLength: number | undefined;
  readonly precision?: 'fp32' | 'int8';
  readonly batching: BatchLimits;
  readonly queueEvents: (modelName: string) => QueueEvents;
  readonly env?: NodeJS.ProcessEnv;
}

/** `--model NAME=SOURCE` names a model; `--model SOURCE` derives the name from it. */
export function parseModelArgument(argument: string): ModelArgument {
  const eq = argument.indexOf('=');
  if (eq < 0) return { name: undefined, source: argument };
  const name = argument.slice(0, eq).trim();
  const source = argument.slice(eq + 1).trim();
  if (name === '' || source === '') throw new UsageError(`--model '${argument}': expected NAME=MODEL or MODEL`, 'e.g. --model turbo=jinaai/jina-reranker-v1-turbo-en');
  return { name, source };
}

/**
 * A path is served under its last folder name (`./models/turbo` → `turbo`; an ONNX export's
 * `repo/onnx/model.onnx` → `repo`), so no file-system path is shown to clients. A hub name
 * keeps its full id and also answers to its short name, which Jina's API uses.
 */
export function servedNames(argument: ModelArgument): { name: string; aliases: string[] } {
  if (argument.name !== undefined) return { name: argument.name, aliases: [] };
  const source = argument.source ?? defaultModelPath();
  if (looksLikePath(source)) return { name: pathName(source), aliases: [] };
  const id = source.replace(/@[^/]*$/, '');
  const short = id.slice(id.lastIndexOf('/') + 1);
  return { name: id, aliases: short !== id ? [short] : [] };
}

function looksLikePath(source: string): boolean {
  return /^(\.|\/|~)/.test(source) || source.endsWith('.onnx') || fs.existsSync(source);
}

function pathName(source: string): string {
  const resolved = path.resolve(source);
  if (!resolved.endsWith('.onnx')) return path.basename(resolved);
  const dir = path.dirname(resolved);
  if (path.basename(dir) === 'onnx') return path.basename(path.dirname(dir));
  return path.basename(resolved, '.onnx');
}

export class ModelRegistry {
  private readonly byName = new Map<string, ServedModel>();

  private constructor(readonly models: readonly ServedModel[]) {
    for (const model of models) for (const key of [model.name, ...model.aliases]) this.byName.set(key, model);
  }

  /** Loads every model before returning; a model that fails to load stops start-up. */
  static async load(argumentsList: readonly ModelArgument[], options: ModelLoadOptions): Promise<ModelRegistry> {
    const named = argumentsList.map((argument) => ({ argument, ...servedNames(argument) }));
    checkUniqueNames(named);
    // Loaded side by side: each model loads in its own worker threads.
    const hosts = await Promise.allSettled(named.map(({ argument }) =>
      ModelHost.start(argument.source, { threads: options.threads, maxLength: options.maxLength, precision: options.precision, env: options.env ?? process.env })));
    const failed = hosts.find((h): h is PromiseRejectedResult => h.status === 'rejected');
    if (failed) {
      await Promise.all(hosts.map((h) => (h.status === 'fulfilled' ? h.value.close() : undefined)));
      throw failed.reason;
    }
    return new ModelRegistry(named.map(({ name, aliases }, i) => {
      const host = (hosts[i] as PromiseFulfilledResult<ModelHost>).value;
      return { name, aliases, host, queue: new BatchQueue((pairs) => host.score(pairs), options.batching, options.queueEvents(name)) };
    }));
  }

  get names(): string[] {
    return this.models.map((m) => m.name);
  }

  /** The model a request names; with one model served, the name may be omitted. */
  resolve(requested: string | undefined): ServedModel {
    if (requested === undefined || requested === '') {
      if (this.models.length === 1) return this.models[0]!;
      throw new ApiError(400, 'validation', `model: is required, since this server serves ${this.models.length} models: ${this.names.join(', ')}`, {
        field: 'model', allowed: this.names.join(', '), models: this.names,
      });
    }
    const model = this.byName.get(requested);
    if (model) return model;
    throw new ApiError(404, 'model_not_found', `model '${requested.slice(0, 200)}' is not served here; this server serves: ${this.names.join(', ')}`, {
      field: 'model', allowed: this.names.join(', '), models: this.names,
    });
  }

  get isHealthy(): boolean {
    return this.models.every((m) => m.host.isHealthy);
  }

  async close(): Promise<void> {
    await Promise.all(this.models.map((m) => m.host.close()));
  }
}

function checkUniqueNames(named: readonly { argument: ModelArgument; name: string; aliases: readonly string[] }[]): void {
  const seen = new Map<string, string>();
  for (const { argument, name, aliases } of named) {
    for (const key of [name, ...aliases]) {
      const other = seen.get(key);
      if (other !== undefined) {
        throw new TurborankError(`two models answer to the name '${key}': ${other} and ${argument.source ?? 'the default model'}`,
          'name them apart with --model NAME=MODEL');
      }
      seen.set(key, argument.source ?? 'the default model');
    }
  }
}
