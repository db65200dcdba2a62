/**
 * The training configuration file (`turborank train --config FILE`), validated with zod so a
 * wrong field is reported by name with what is allowed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_ADAMW } from './optimizer.js';
import { z } from 'zod';
import { InputError } from '../errors.js';
import type { LossConfig } from './training-graph.js';

const shapeSchema = z.object({
  architecture: z.enum(['jinabert', 'bert']).default('jinabert'),
  hidden_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  max_position_embeddings: z.number().int().positive().default(8192),
}).strict();

const lossSchema = z.discriminatedUnion('name', [
  z.object({ name: z.enum(['bce', 'mse', 'margin-mse', 'mlm']) }).strict(),
  z.object({ name: z.enum(['listwise-kl', 'listwise-ce']), list_size: z.number().int().min(2), temperature: z.number().positive().default(1) }).strict(),
]);

const configSchema = z.object({
  model: z.object({
    /** A checkpoint folder to start from (weights, config.json, tokenizer.json). */
    init: z.string().optional(),
    /** Shape of a new, randomly initialised model (when there is no init). */
    shape: shapeSchema.optional(),
    /** tokenizer.json; defaults to the init checkpoint's. */
    tokenizer: z.string().optional(),
    /**
     * A new model only: each attention layer's key weights start as a copy of its query
     * weights, both N(0, std²), so that from the first step a token attends most to tokens
     * like itself (docs/DISTILL.md: with dropout off, what lets a model here learn word matching).
     */
    tied_query_key_std: z.number().positive().optional(),
  }).strict().refine((m) => m.init !== undefined || (m.shape !== undefined && m.tokenizer !== undefined), {
    message: 'give either "init" (a checkpoint folder) or both "shape" and "tokenizer"',
  }).refine((m) => m.tied_query_key_std === undefined || m.init === undefined, {
    message: '"tied_query_key_std" initialises a new model: give it with "shape", not with "init" (whose attention weights are loaded)',
  }),
  data: z.object({ train: z.string(), dev: z.string().optional() }).strict(),
  loss: lossSchema,
  max_length: z.number().int().min(8).default(256),
  batch_size: z.number().int().positive().default(16),
  gradient_accumulation: z.number().int().positive().default(1),
  steps: z.number().int().positive(),
  learning_rate: z.number().positive().default(5e-5),
  warmup_steps: z.number().int().nonnegative().default(0),
  decay: z.enum(['linear', 'cosine', 'constant']).default('linear'),
  weight_decay: z.number().nonnegative().default(DEFAULT_ADAMW.weightDecay),
  /** AdamW's moment decay rates and denominator epsilon (BERT's, DEFAULT_ADAMW, by default). */
  adam: z.object({
    beta1: z.number().min(0).lt(1).default(DEFAULT_ADAMW.beta1),
    beta2: z.number().min(0).lt(1).default(DEFAULT_ADAMW.beta2),
    epsilon: z.number().positive().default(DEFAULT_ADAMW.epsilon),
  }).strict().default({ beta1: DEFAULT_ADAMW.beta1, beta2: DEFAULT_ADAMW.beta2, epsilon: DEFAULT_ADAMW.epsilon }),
  max_grad_norm: z.number().positive().default(1),
  dropout: z.object({ hidden: z.number().min(0).max(0.9).default(0.1), attention: z.number().min(0).max(0.9).default(0.1) }).strict().default({ hidden: 0.1, attention: 0.1 }),
  seed: z.number().int().nonnegative().default(42),
  threads: z.number().int().positive().max(1024).optional(),
  checkpoint_every: z.number().int().positive().default(500),
  keep_checkpoints: z.number().int().positive().default(2),
  eval_every: z.number().int().positive().optional(),
  log_every: z.number().int().positive().default(10),
  output: z.string(),
}).strict();

export type TrainConfigFile = z.infer<typeof configSchema>;

export interface TrainConfig extends Omit<TrainConfigFile, 'loss'> {
  readonly loss: LossConfig;
  /** Where the file was, for resolving relative paths and messages. */
  readonly configPath: string;
}

/** Reads and validates a config; relative paths are taken from the config file's folder. */
export function readTrainConfig(file: string): TrainConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: ${code === 'ENOENT' ? 'no such file' : `not valid JSON (${(err as Error).message})`}`, 'pass a JSON training config with --config');
  }
  return parseTrainConfig(raw, file);
}

export function parseTrainConfig(raw: unknown, file: string): TrainConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`).join('\n');
    throw new InputError(`${file}: invalid training config:\n${problems}`, 'fix the fields named above (see docs/TRAINING.md for every option)');
  }
  const c = parsed.data;
  const base = path.dirname(path.resolve(file));
  const resolve = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(base, p));
  const loss: LossConfig = c.loss.name === 'listwise-kl' || c.loss.name === 'listwise-ce'
    ? { name: c.loss.name, listSize: c.loss.list_size, temperature: c.loss.temperature }
    : { name: c.loss.name };
  return {
    ...c,
    loss,
    model: { ...c.model, init: resolve(c.model.init), tokenizer: resolve(c.model.tokenizer) },
    data: { train: resolve(c.data.train)!, dev: resolve(c.data.dev) },
    output: resolve(c.output)!,
    configPath: path.resolve(file),
  };
}
