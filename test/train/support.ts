/**
 * Training runs for tests: a tiny model on the synthetic task, configs written to a temporary
 * folder, and readers for what `turborank train` leaves behind (log, latest.json).
 */
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers.js';
import { SYNTHETIC_TOKENIZER, containsWordExamples, writeJsonl } from './synthetic.js';

/** A model small enough that a step takes milliseconds. */
export const TINY_SHAPE = { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32 };

/** A fresh folder holding train.jsonl and dev.jsonl for the synthetic "contains the word" task. */
export function trainingFolder(trainExamples = 400): string {
  const dir = tempDir('turborank-train-');
  writeJsonl(path.join(dir, 'train.jsonl'), containsWordExamples(trainExamples, 1));
  writeJsonl(path.join(dir, 'dev.jsonl'), containsWordExamples(40, 2));
  return dir;
}

/** A config object (snake_case, as in the JSON file) with small defaults, overridden by `fields`. */
export function tinyConfig(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: { shape: TINY_SHAPE, tokenizer: SYNTHETIC_TOKENIZER },
    data: { train: 'train.jsonl' },
    loss: { name: 'bce' },
    max_length: 24, batch_size: 8, steps: 20, learning_rate: 3e-3, warmup_steps: 2,
    dropout: { hidden: 0, attention: 0 }, seed: 5, threads: 1, checkpoint_every: 10, log_every: 5, output: 'run',
    ...fields,
  };
}

/** Writes `config` as `name` in `dir`; returns the file's path. */
export function writeConfig(dir: string, config: Record<string, unknown>, name = 'config.json'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
  return file;
}

export interface LogLine {
  step: number;
  loss: number;
  learning_rate: number;
  grad_norm: number;
  tokens_per_second: number;
  elapsed_seconds: number;
  dev?: { examples: number; loss: number; accuracy?: number };
  checkpoint?: string;
}

/** Complete lines of OUT/train_log.jsonl (a line being written when a run was killed is skipped). */
export function readLog(output: string): LogLine[] {
  const file = path.join(output, 'train_log.jsonl');
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LogLine);
}

export function readLatest(output: string): { checkpoint: string; step: number } | undefined {
  const file = path.join(output, 'latest.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { checkpoint: string; step: number }) : undefined;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every few milliseconds until it holds, or fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}
