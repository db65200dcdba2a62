/**
 * The model used when none is named. Until turborank ships its own distilled models this is
 * a random-weight JinaBERT test model bundled in the package (models/test-jinabert-bpe), and
 * every entry point that uses it says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BUNDLED_TEST_MODEL = path.join('models', 'test-jinabert-bpe');

function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`turborank: cannot find its package root from ${import.meta.url}`);
    dir = up;
  }
  return dir;
}

export function defaultModelPath(): string {
  return path.join(packageRoot(), BUNDLED_TEST_MODEL);
}

export function isBundledTestModel(dir: string): boolean {
  return path.resolve(dir) === path.resolve(defaultModelPath());
}

export const TEST_MODEL_WARNING =
  'turborank: no --model given, using the bundled random-weight TEST model (models/test-jinabert-bpe): ' +
  'its scores are exact for its weights but carry no meaning. Pass --model DIR|NAME for real rankings.';
