/**
 * Finds a model on disk from what the user typed: a checkpoint folder, a folder with an ONNX
 * export, a .onnx file, or a Hugging Face hub name already in the local HF cache
 * (`models--org--name/snapshots/<rev>/`). Never downloads anything.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileError, ModelNotFoundError, TokenizerError } from '../errors.js';
import { isDirectory, isFile, statPath } from './files.js';

/** A folder with config.json + model.safetensors: turborank builds the graph itself. */
export interface CheckpointLocation {
  readonly kind: 'checkpoint';
  readonly dir: string;
  readonly configPath: string;
  readonly weightsPath: string;
  readonly tokenizerPath: string;
}

/** An ONNX export, run as is. `dir` is the repository folder (the parent of an `onnx/` subfolder). */
export interface OnnxLocation {
  readonly kind: 'onnx';
  readonly onnxPath: string;
  readonly dir: string;
  readonly configPath?: string;
  readonly tokenizerPath: string;
}

export type LocatedModel = CheckpointLocation | OnnxLocation;

/** A hub name split into repository id and optional revision (`org/name@rev`). */
export interface HubReference {
  readonly repoId: string;
  readonly revision?: string;
}

/**
 * Resolves a path or hub name to the files of a model. Throws ModelNotFoundError or FileError
 * listing every place it looked and what to do next.
 */
export function locateModel(nameOrPath: string, env: NodeJS.ProcessEnv = process.env): LocatedModel {
  if (nameOrPath.trim() === '') {
    throw new ModelNotFoundError('no model given', 'pass a model folder, a .onnx file or a hub name such as jinaai/jina-reranker-v1-turbo-en');
  }
  const asPath = path.resolve(expandHome(nameOrPath, env));
  // Only a path that does not exist may be a hub name; one we cannot look at is an error about it.
  const stat = statPath(asPath, 'pass a model folder you can read, a .onnx file, or a hub name such as jinaai/jina-reranker-v1-turbo-en');
  if (stat?.isDirectory()) return locateInDirectory(asPath);
  if (stat?.isFile()) return locateFromFile(asPath);
  const hub = parseHubName(nameOrPath);
  if (hub) return locateInHubCache(hub, env, asPath);
  throw new ModelNotFoundError(
    `model "${nameOrPath}" not found: ${asPath} does not exist`,
    'pass a folder holding config.json, model.safetensors and tokenizer.json, a .onnx file, or a hub name such as jinaai/jina-reranker-v1-turbo-en',
  );
}

function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  return p === '~' || p.startsWith('~/') ? path.join(homeDir(env), p.slice(1)) : p;
}

function homeDir(env: NodeJS.ProcessEnv): string {
  return env['HOME'] || os.homedir();
}

/** A file argument: an ONNX export, or a file inside a checkpoint folder (then the folder is meant). */
function locateFromFile(file: string): LocatedModel {
  if (file.endsWith('.onnx')) return onnxLocation(file);
  if (['config.json', 'model.safetensors'].includes(path.basename(file))) return locateInDirectory(path.dirname(file));
  throw new FileError(
    file,
    'is not a model file',
    'pass the folder holding config.json, model.safetensors and tokenizer.json, or a .onnx file',
  );
}

/**
 * A model folder: model.safetensors (with config.json) wins; otherwise an ONNX export in `onnx/`
 * (the layout of Hub repositories with ONNX exports) or next to config.json.
 */
export function locateInDirectory(dir: string): LocatedModel {
  const weightsPath = path.join(dir, 'model.safetensors');
  if (isFile(weightsPath)) {
    const configPath = path.join(dir, 'config.json');
    if (!isFile(configPath)) {
      throw new FileError(
        configPath,
        `does not exist: ${dir} has model.safetensors but no config.json next to it`,
        'copy the whole model folder (config.json, model.safetensors, tokenizer.json) from the same repository',
      );
    }
    return { kind: 'checkpoint', dir, configPath, weightsPath, tokenizerPath: requireTokenizer([dir]) };
  }
  const candidates = [path.join(dir, 'onnx', 'model.onnx'), path.join(dir, 'model.onnx')];
  const onnxPath = candidates.find(isFile);
  if (onnxPath) return onnxLocation(onnxPath);
  throw new ModelNotFoundError(`${dir} holds no model: looked for ${[weightsPath, ...candidates].join(', ')}`, emptyFolderHint(dir));
}

function emptyFolderHint(dir: string): string {
  if (isFile(path.join(dir, 'pytorch_model.bin'))) {
    return (
      'it has only pytorch_model.bin, which turborank does not read: save it as safetensors with ' +
      `\`python -c "from transformers import AutoModelForSequenceClassification as M; M.from_pretrained('${dir}', trust_remote_code=True).save_pretrained('${dir}')"\``
    );
  }
  if (isFile(path.join(dir, 'model.safetensors.index.json'))) {
    return 'sharded checkpoints (model-00001-of-0000N.safetensors) are not supported yet: re-save it as one model.safetensors';
  }
  return 'pass a folder holding config.json, model.safetensors and tokenizer.json (or onnx/model.onnx)';
}

function onnxLocation(onnxPath: string): OnnxLocation {
  const onnxDir = path.dirname(onnxPath);
  const dir = path.basename(onnxDir) === 'onnx' ? path.dirname(onnxDir) : onnxDir;
  const searchDirs = dir === onnxDir ? [dir] : [dir, onnxDir];
  const configPath = searchDirs.map((d) => path.join(d, 'config.json')).find(isFile);
  const tokenizerPath = requireTokenizer(searchDirs);
  return configPath ? { kind: 'onnx', onnxPath, dir, configPath, tokenizerPath } : { kind: 'onnx', onnxPath, dir, tokenizerPath };
}

function requireTokenizer(dirs: string[]): string {
  const tried = dirs.map((d) => path.join(d, 'tokenizer.json'));
  const found = tried.find(isFile);
  if (found) return found;
  const dir = dirs[0]!;
  const hint = isFile(path.join(dir, 'vocab.txt')) || isFile(path.join(dir, 'vocab.json'))
    ? `it has only the slow tokenizer's files: write tokenizer.json with \`python -c "from transformers import AutoTokenizer; AutoTokenizer.from_pretrained('${dir}').save_pretrained('${dir}')"\``
    : "copy tokenizer.json from the model's repository into that folder";
  throw new TokenizerError(tried[0]!, `does not exist: no tokenizer.json in ${dirs.join(' or ')}`, hint);
}

// ---------------------------------------------------------------------------------------------
// The Hugging Face cache

/** `org/name`, `name`, each optionally `@revision`. Paths (starting with `.`, `/` or `~`) never match. */
const HUB_NAME = /^(?<repo>(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*)(?:@(?<rev>[\w.-]+(?:\/[\w.-]+)*))?$/;

export function parseHubName(name: string): HubReference | undefined {
  const match = HUB_NAME.exec(name);
  const repoId = match?.groups?.['repo'];
  if (!repoId || repoId.includes('..')) return undefined;
  const revision = match.groups?.['rev'];
  if (revision === undefined) return { repoId };
  return revision.split('/').includes('..') ? undefined : { repoId, revision };
}

/** The hub cache folder, as huggingface_hub finds it: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['HF_HUB_CACHE'] || env['HUGGINGFACE_HUB_CACHE'];
  if (explicit) return path.resolve(expandHome(explicit, env));
  const hfHome = env['HF_HOME'] || path.join(env['XDG_CACHE_HOME'] || path.join(homeDir(env), '.cache'), 'huggingface');
  return path.resolve(expandHome(path.join(hfHome, 'hub'), env));
}

/** `<cache>/models--org--name`, where huggingface_hub keeps refs/, blobs/ and snapshots/ of a model repository. */
export function hubRepoDir(ref: HubReference, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(hubCacheDir(env), `models--${ref.repoId.split('/').join('--')}`);
}

/** The snapshot folder of a cached hub model: the revision asked for, else refs/main, else the newest. */
export function resolveHubSnapshot(ref: HubReference, env: NodeJS.ProcessEnv = process.env): string {
  const repoDir = hubRepoDir(ref, env);
  const snapshotsDir = path.join(repoDir, 'snapshots');
  if (!isDirectory(snapshotsDir)) {
    throw new ModelNotFoundError(`model "${ref.repoId}" is not in the Hugging Face cache: ${snapshotsDir} does not exist`, downloadHint(ref));
  }
  const snapshots = listSnapshots(snapshotsDir);
  const chosen = ref.revision === undefined ? pickDefault(ref, repoDir, snapshots) : pickRevision(ref, ref.revision, repoDir, snapshots);
  return path.join(snapshotsDir, chosen);
}

function locateInHubCache(ref: HubReference, env: NodeJS.ProcessEnv, triedPath: string): LocatedModel {
  const snapshotsDir = path.join(hubRepoDir(ref, env), 'snapshots');
  if (!isDirectory(snapshotsDir)) {
    // Say both places we looked: the user may have meant a local path.
    throw new ModelNotFoundError(
      `model "${ref.repoId}${ref.revision ? '@' + ref.revision : ''}" not found. Looked for:\n` +
        `    ${triedPath} (as a local path)\n` +
        `    ${snapshotsDir} (in the Hugging Face cache, from ${cacheSource(env)})`,
      downloadHint(ref),
    );
  }
  return locateInDirectory(resolveHubSnapshot(ref, env));
}

function cacheSource(env: NodeJS.ProcessEnv): string {
  if (env['HF_HUB_CACHE']) return '$HF_HUB_CACHE';
  if (env['HUGGINGFACE_HUB_CACHE']) return '$HUGGINGFACE_HUB_CACHE';
  if (env['HF_HOME']) return '$HF_HOME';
  return 'the default location; set HF_HUB_CACHE or HF_HOME to look elsewhere';
}

function listSnapshots(snapshotsDir: string): string[] {
  return fs
    .readdirSync(snapshotsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() || (entry.isSymbolicLink() && isDirectory(path.join(snapshotsDir, entry.name))))
    .map((entry) => entry.name);
}

/** The commit a ref (branch or tag) points at, from `refs/<name>`, when the cache recorded it. */
function readRef(repoDir: string, name: string): string | undefined {
  const file = path.join(repoDir, 'refs', name);
  return isFile(file) ? fs.readFileSync(file, 'utf8').trim() : undefined;
}

function pickDefault(ref: HubReference, repoDir: string, snapshots: string[]): string {
  const main = readRef(repoDir, 'main');
  if (main !== undefined) {
    if (snapshots.includes(main)) return main;
    throw new ModelNotFoundError(
      `model "${ref.repoId}": ${path.join(repoDir, 'refs', 'main')} names revision ${main}, but ${path.join(repoDir, 'snapshots', main)} does not exist` +
        availableList(snapshots),
      snapshots.length > 0 ? `pick a cached revision with ${ref.repoId}@<revision>, or re-download it` : downloadHint(ref),
    );
  }
  if (snapshots.length === 0) {
    throw new ModelNotFoundError(`model "${ref.repoId}": ${path.join(repoDir, 'snapshots')} is empty`, downloadHint(ref));
  }
  return newestSnapshot(path.join(repoDir, 'snapshots'), snapshots);
}

function pickRevision(ref: HubReference, revision: string, repoDir: string, snapshots: string[]): string {
  const commit = readRef(repoDir, revision) ?? revision;
  if (snapshots.includes(commit)) return commit;
  // A short commit hash, as `git log --oneline` and the Hub's web page show it.
  const byPrefix = revision.length >= 7 ? snapshots.filter((s) => s.startsWith(revision)) : [];
  if (byPrefix.length === 1) return byPrefix[0]!;
  throw new ModelNotFoundError(
    `model "${ref.repoId}": revision "${revision}" is not in the cache: looked for ${path.join(repoDir, 'refs', revision)} and ` +
      `${path.join(repoDir, 'snapshots', commit)}` +
      availableList(snapshots),
    downloadHint(ref),
  );
}

function newestSnapshot(snapshotsDir: string, snapshots: string[]): string {
  const withTimes = snapshots.map((name) => ({ name, time: fs.statSync(path.join(snapshotsDir, name)).mtimeMs }));
  withTimes.sort((a, b) => b.time - a.time || a.name.localeCompare(b.name));
  return withTimes[0]!.name;
}

function availableList(snapshots: string[]): string {
  return snapshots.length > 0 ? `; cached revisions: ${snapshots.join(', ')}` : '; no revision is cached';
}

function downloadHint(ref: HubReference): string {
  const revision = ref.revision ? ` --revision ${ref.revision}` : '';
  return (
    `turborank never downloads: run \`huggingface-cli download ${ref.repoId}${revision}\` on a machine with internet ` +
    '(copy its ~/.cache/huggingface/hub here if this one is offline), or pass the model folder itself'
  );
}
