/**
 * Training checkpoints as Hugging Face folders, written so a crash (even kill -9) never leaves
 * a half-written one in use:
 *
 *   OUT/checkpoint-<step>/   config.json, model.safetensors (checkpoint tensor names),
 *                            tokenizer.json and its companions (tokenizer_config.json,
 *                            special_tokens_map.json, vocab files), optimizer.safetensors
 *                            (AdamW moments), trainer_state.json (step, data position, seeds)
 *   OUT/latest.json          names the newest complete checkpoint
 *
 * A checkpoint is assembled in a hidden temporary folder, every file fsynced, the folder
 * renamed into place, and only then does latest.json (itself replaced atomically) point to it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SafetensorsFile, parseModelSpec, readConfigJson, specToConfigJson, writeSafetensors, type ModelSpec } from '../checkpoint/index.js';
import { derivedConfigJson } from '../checkpoint/config-writer.js';
import { writeFileAtomic } from '../checkpoint/files.js';
import { TurborankError } from '../errors.js';
import type { TrainConfig } from './config.js';
import type { DataPosition } from './data.js';

export interface TrainerState {
  readonly step: number;
  readonly data: DataPosition;
  /** Draws taken from the masking generator, so a resumed MLM run masks the same way. */
  readonly maskRandomCalls: number;
  readonly seed: number;
}

interface SavedState extends TrainerState {
  readonly format: 'turborank-trainer/1';
  /** What must not change between a run and its resumption. */
  readonly fingerprint: string;
}

export interface CheckpointContents {
  readonly spec: ModelSpec;
  readonly parameters: readonly { readonly name: string; readonly shape: readonly number[] }[];
  readonly params: readonly Float32Array[];
  readonly moments: { readonly m: readonly Float32Array[]; readonly v: readonly Float32Array[] };
  readonly state: TrainerState;
  readonly tokenizerPath: string;
  /** The config.json the model came from (model.init or the checkpoint resumed), if any. */
  readonly base?: BaseConfig;
  readonly keep: number;
  readonly config: TrainConfig;
}

/** An original config.json and the folder it was in (where the remote code it names may be). */
export interface BaseConfig {
  readonly config: Readonly<Record<string, unknown>>;
  readonly dir: string;
}

/**
 * What transformers and tokenizers read besides tokenizer.json; copied from the folder the
 * tokenizer came from, so `AutoTokenizer.from_pretrained(checkpoint)` finds the same tokenizer
 * (special tokens, lower-casing, the slow tokenizer's vocabulary).
 */
export const TOKENIZER_COMPANIONS = [
  'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', 'vocab.txt', 'vocab.json', 'merges.txt',
  'sentencepiece.bpe.model', 'spm.model', 'tokenizer.model',
];

/** Copies tokenizer.json and those of its companions that are there from one model folder to another. */
export function copyTokenizerFiles(from: string, to: string): void {
  for (const f of ['tokenizer.json', ...TOKENIZER_COMPANIONS]) {
    if (fs.existsSync(path.join(from, f))) fs.copyFileSync(path.join(from, f), path.join(to, f));
  }
}

/** The config.json to write, with what the base config says that training does not change. */
function checkpointConfig(c: CheckpointContents, name: string): Record<string, unknown> {
  return c.base ? derivedConfigJson(c.spec, c.base.config, name) : specToConfigJson(c.spec, name);
}

/**
 * Files to copy beside config.json, as [source, name]: the tokenizer's companions, and the
 * Python files of an auto_map that points into the model folder itself ("modeling_bert.X";
 * "org/repo--modeling_bert.X" names another repository and needs nothing copied).
 */
function companionFiles(c: CheckpointContents): [string, string][] {
  const files: [string, string][] = [];
  const tokenizerDir = path.dirname(c.tokenizerPath);
  for (const name of TOKENIZER_COMPANIONS) {
    const source = path.join(tokenizerDir, name);
    if (fs.existsSync(source)) files.push([source, name]);
  }
  const autoMap = c.base?.config.auto_map;
  if (c.base && autoMap !== null && typeof autoMap === 'object') {
    const modules = new Set(Object.values(autoMap as Record<string, unknown>).flat()
      .filter((v): v is string => typeof v === 'string' && !v.includes('--') && v.includes('.'))
      .map((v) => `${v.slice(0, v.lastIndexOf('.'))}.py`));
    for (const name of modules) {
      const source = path.join(c.base.dir, name);
      if (path.basename(name) === name && fs.existsSync(source)) files.push([source, name]);
    }
  }
  return files;
}

/** The settings a resumed run must share with the original. */
function fingerprint(config: TrainConfig): string {
  return JSON.stringify({ loss: config.loss, data: config.data.train, batch: config.batch_size, accumulation: config.gradient_accumulation, maxLength: config.max_length, seed: config.seed });
}

export function writeTrainingCheckpoint(outDir: string, c: CheckpointContents): string {
  fs.mkdirSync(outDir, { recursive: true });
  const name = `checkpoint-${c.state.step}`;
  const final = path.join(outDir, name);
  const temp = path.join(outDir, `.${name}.${process.pid}.tmp`);
  fs.rmSync(temp, { recursive: true, force: true });
  fs.mkdirSync(temp);
  writeFileAtomic(path.join(temp, 'config.json'), Buffer.from(JSON.stringify(checkpointConfig(c, name), null, 2) + '\n'));
  writeSafetensors(path.join(temp, 'model.safetensors'), c.parameters.map((p, i) => ({ name: p.name, dtype: 'F32' as const, shape: p.shape, data: c.params[i]! })), { format: 'pt', producer: 'turborank train' });
  writeSafetensors(path.join(temp, 'optimizer.safetensors'), c.parameters.flatMap((p, i) => [
    { name: `m.${p.name}`, dtype: 'F32' as const, shape: p.shape, data: c.moments.m[i]! },
    { name: `v.${p.name}`, dtype: 'F32' as const, shape: p.shape, data: c.moments.v[i]! },
  ]));
  for (const [source, target] of [[c.tokenizerPath, 'tokenizer.json'] as [string, string], ...companionFiles(c)]) {
    fs.copyFileSync(source, path.join(temp, target));
    syncFile(path.join(temp, target));
  }
  const saved: SavedState = { format: 'turborank-trainer/1', ...c.state, fingerprint: fingerprint(c.config) };
  writeFileAtomic(path.join(temp, 'trainer_state.json'), Buffer.from(JSON.stringify(saved, null, 2) + '\n'));
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(temp, final);
  syncDirectory(outDir);
  writeFileAtomic(path.join(outDir, 'latest.json'), Buffer.from(JSON.stringify({ checkpoint: name, step: c.state.step }) + '\n'));
  pruneOld(outDir, c.keep, name);
  return final;
}

/** The folder latest.json names, or undefined when the run has no complete checkpoint yet. */
export function latestCheckpoint(outDir: string): string | undefined {
  const pointer = path.join(outDir, 'latest.json');
  if (!fs.existsSync(pointer)) return undefined;
  const { checkpoint } = JSON.parse(fs.readFileSync(pointer, 'utf8')) as { checkpoint: string };
  const dir = path.join(outDir, checkpoint);
  if (!fs.existsSync(path.join(dir, 'trainer_state.json'))) {
    throw new TurborankError(`${pointer} names ${checkpoint}, which is incomplete or missing`, `remove ${pointer} to start over`);
  }
  return dir;
}

export interface LoadedTrainingCheckpoint {
  readonly spec: ModelSpec;
  readonly weights: Map<string, Float32Array>;
  readonly tokenizerPath: string;
  readonly base: BaseConfig;
  readonly state: TrainerState;
  moments(parameters: readonly { readonly name: string; readonly shape: readonly number[] }[]): { m: Float32Array[]; v: Float32Array[] };
}

export function readTrainingCheckpoint(dir: string, config: TrainConfig): LoadedTrainingCheckpoint {
  const saved = JSON.parse(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8')) as SavedState;
  if (saved.fingerprint !== fingerprint(config)) {
    throw new TurborankError(`${dir}: the training config changed since this checkpoint (loss, data, batch size, max length or seed)`,
      'resume with the original config, or start a new run in another output folder');
  }
  const configPath = path.join(dir, 'config.json');
  const weightsPath = path.join(dir, 'model.safetensors');
  const file = SafetensorsFile.read(weightsPath);
  const shapes = (n: string): readonly number[] | undefined => file.shape(n) ?? (n === 'classifier.weight' ? [1, file.shape('bert.embeddings.word_embeddings.weight')?.[1] ?? 0] : undefined);
  const configJson = readConfigJson(configPath);
  const spec = parseModelSpec(configJson, shapes, configPath, weightsPath);
  const weights = new Map(file.names().map((n) => [n, file.float32(n).slice()] as const));
  const optimizer = SafetensorsFile.read(path.join(dir, 'optimizer.safetensors'));
  return {
    spec, weights, tokenizerPath: path.join(dir, 'tokenizer.json'), base: { config: configJson as Record<string, unknown>, dir },
    state: { step: saved.step, data: saved.data, maskRandomCalls: saved.maskRandomCalls, seed: saved.seed },
    moments: (parameters) => ({
      m: parameters.map((p) => (optimizer.has(`m.${p.name}`) ? optimizer.float32(`m.${p.name}`).slice() : new Float32Array(sizeOf(p.shape)))),
      v: parameters.map((p) => (optimizer.has(`v.${p.name}`) ? optimizer.float32(`v.${p.name}`).slice() : new Float32Array(sizeOf(p.shape)))),
    }),
  };
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

function pruneOld(outDir: string, keep: number, newest: string): void {
  const steps = fs.readdirSync(outDir)
    .map((n) => /^checkpoint-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null && m[0] !== newest)
    .sort((a, b) => Number(b[1]) - Number(a[1]));
  for (const old of steps.slice(Math.max(0, keep - 1))) fs.rmSync(path.join(outDir, old[0]), { recursive: true, force: true });
}

function syncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
