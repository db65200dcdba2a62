/**
 * The models that travel inside the package (models/): turborank's own distilled rerankers,
 * turborank-turbo-en and turborank-tiny-en (docs/RESULTS.md, each folder's README.md), and a
 * random-weight JinaBERT test model (models/test-jinabert-bpe) that tests and benchmarks use
 * for its small vocabulary. The default — what `Reranker.load()` and every command without
 * --model use — is the shipped model that measured best per unit of time (docs/RESULTS.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shipped distilled models, by short name. */
export const SHIPPED_MODELS = {
  turbo: 'turborank-turbo-en',
  tiny: 'turborank-tiny-en',
} as const;
export type ShippedModel = keyof typeof SHIPPED_MODELS;

/** The one `Reranker.load()` uses with no argument (see docs/RESULTS.md for why this one). */
export const DEFAULT_MODEL: ShippedModel = 'tiny';
/** Its folder name, for messages and help texts. */
export const DEFAULT_MODEL_NAME: string = SHIPPED_MODELS[DEFAULT_MODEL];

const TEST_MODEL = 'test-jinabert-bpe';

function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`turborank: cannot find its package root from ${import.meta.url}`);
    dir = up;
  }
  return dir;
}

/** The folder of a shipped model inside the installed package. */
export function shippedModelPath(model: ShippedModel): string {
  return path.join(packageRoot(), 'models', SHIPPED_MODELS[model]);
}

/** The default model's folder: what a command without --model loads. */
export function defaultModelPath(): string {
  return shippedModelPath(DEFAULT_MODEL);
}

/** The bundled random-weight test model (exact for its weights, meaningless as a ranking). */
export function testModelPath(): string {
  return path.join(packageRoot(), 'models', TEST_MODEL);
}

export function isBundledTestModel(dir: string): boolean {
  return path.resolve(dir) === path.resolve(testModelPath());
}

export const TEST_MODEL_WARNING =
  'turborank: models/test-jinabert-bpe is a random-weight TEST model: its scores are exact for its ' +
  'weights but carry no meaning. Leave out --model for the shipped default, or pass a real reranker.';

/** Whether a --model argument names the bundled test model (by path; a hub name never does). */
export function namesTestModel(model: string | undefined): boolean {
  return model !== undefined && isBundledTestModel(model);
}

/** Said on stderr when a command falls back to the default model: what it is and how good. */
export const DEFAULT_MODEL_NOTE =
  `turborank: no --model: using ${DEFAULT_MODEL_NAME}, a small reranker distilled on offline data in one ` +
  'CPU session; it ranks, but below BM25 on average (docs/RESULTS.md). Pass --model DIR|NAME for a reranker trained at scale.';
