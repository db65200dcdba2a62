import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FileError, ModelNotFoundError, TokenizerError } from '../../src/errors.js';
import { hubCacheDir, locateModel, parseHubName } from '../../src/checkpoint/locate.js';
import { fixtureDir, tempDir } from '../helpers.js';
import { copyFixture } from './support.js';

const FIXTURE = fixtureDir('jinabert-tiny-golden');

/** Asserts `fn` throws an error of class `kind` whose message contains each of `mentions`. */
function assertThrowsMentioning(fn: () => unknown, kind: new (...args: never[]) => Error, mentions: readonly string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof kind, `expected ${kind.name}, got ${String(error)}`);
    for (const m of mentions) assert.ok(error.message.includes(m), `message lacks "${m}":\n${error.message}`);
    return true;
  });
}

/** A folder with an ONNX export: `onnx/model.onnx` (empty: locate never opens it) plus config and tokenizer. */
function onnxRepo(options: { subfolder: boolean; config: boolean }): string {
  const dir = path.join(tempDir('turborank-onnx-'), 'repo');
  const onnxDir = options.subfolder ? path.join(dir, 'onnx') : dir;
  fs.mkdirSync(onnxDir, { recursive: true });
  fs.writeFileSync(path.join(onnxDir, 'model.onnx'), '');
  fs.copyFileSync(path.join(FIXTURE, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  if (options.config) fs.copyFileSync(path.join(FIXTURE, 'config.json'), path.join(dir, 'config.json'));
  return dir;
}

test('a checkpoint folder locates config, weights and tokenizer', () => {
  assert.deepEqual(locateModel(FIXTURE), {
    kind: 'checkpoint',
    dir: FIXTURE,
    configPath: path.join(FIXTURE, 'config.json'),
    weightsPath: path.join(FIXTURE, 'model.safetensors'),
    tokenizerPath: path.join(FIXTURE, 'tokenizer.json'),
  });
});

test('a path to model.safetensors means its folder', () => {
  const located = locateModel(path.join(FIXTURE, 'model.safetensors'));
  assert.equal(located.kind, 'checkpoint');
  assert.equal(located.dir, FIXTURE);
});

test('a folder with onnx/model.onnx and no safetensors is an ONNX model rooted at the folder', () => {
  const dir = onnxRepo({ subfolder: true, config: true });
  assert.deepEqual(locateModel(dir), {
    kind: 'onnx',
    onnxPath: path.join(dir, 'onnx', 'model.onnx'),
    dir,
    configPath: path.join(dir, 'config.json'),
    tokenizerPath: path.join(dir, 'tokenizer.json'),
  });
});

test('a path to a .onnx file inside onnx/ finds config and tokenizer in the parent folder', () => {
  const dir = onnxRepo({ subfolder: true, config: true });
  const located = locateModel(path.join(dir, 'onnx', 'model.onnx'));
  assert.equal(located.kind, 'onnx');
  assert.equal(located.dir, dir);
  assert.equal(located.configPath, path.join(dir, 'config.json'));
  assert.equal(located.tokenizerPath, path.join(dir, 'tokenizer.json'));
});

test('an ONNX file without config.json next to it is fine; its tokenizer is not optional', () => {
  const dir = onnxRepo({ subfolder: false, config: false });
  const located = locateModel(path.join(dir, 'model.onnx'));
  assert.equal(located.kind, 'onnx');
  assert.equal(located.configPath, undefined);
  fs.rmSync(path.join(dir, 'tokenizer.json'));
  assertThrowsMentioning(() => locateModel(path.join(dir, 'model.onnx')), TokenizerError, ['no tokenizer.json in', dir]);
});

test('a checkpoint folder without tokenizer.json is refused naming the folder', () => {
  const dir = copyFixture('jinabert-tiny-golden');
  fs.rmSync(path.join(dir, 'tokenizer.json'));
  assertThrowsMentioning(() => locateModel(dir), TokenizerError, [`no tokenizer.json in ${dir}`, 'slow tokenizer']);
});

test('a checkpoint folder without config.json is refused naming the missing file', () => {
  const dir = copyFixture('bert-minilm-golden');
  fs.rmSync(path.join(dir, 'config.json'));
  assertThrowsMentioning(() => locateModel(dir), FileError, [path.join(dir, 'config.json'), 'no config.json']);
});

test('a folder with no model lists what it looked for, and says pytorch_model.bin is not read', () => {
  const dir = tempDir('turborank-empty-');
  assertThrowsMentioning(() => locateModel(dir), ModelNotFoundError, [
    path.join(dir, 'model.safetensors'),
    path.join(dir, 'onnx', 'model.onnx'),
    path.join(dir, 'model.onnx'),
  ]);
  fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), '');
  assertThrowsMentioning(() => locateModel(dir), ModelNotFoundError, ['only pytorch_model.bin']);
});

test('a file that is not a model is refused', () => {
  assertThrowsMentioning(() => locateModel(path.join(FIXTURE, 'vocab.txt')), FileError, ['vocab.txt', 'not a model file']);
});

// --- the Hugging Face cache ----------------------------------------------------------------------

const REPO = 'acme/tiny-reranker';
const OLD = 'a'.repeat(40);
const MAIN = 'b'.repeat(32) + 'c0ffee00';
const NEWEST = 'd'.repeat(40);

/**
 * A fake hub cache shaped like huggingface_hub's: blobs/ with the content, snapshots/<rev>/ of
 * symlinks into blobs/, refs/<branch> holding commit hashes.
 */
function fakeCache(options: { refsMain: boolean }): string {
  const cache = tempDir('turborank-hub-');
  const repoDir = path.join(cache, 'models--acme--tiny-reranker');
  fs.mkdirSync(path.join(repoDir, 'blobs'), { recursive: true });
  for (const file of ['config.json', 'model.safetensors', 'tokenizer.json']) {
    fs.copyFileSync(path.join(FIXTURE, file), path.join(repoDir, 'blobs', file + '.blob'));
  }
  const ages: Record<string, number> = { [OLD]: 3000, [MAIN]: 2000, [NEWEST]: 1000 };
  for (const [rev, secondsAgo] of Object.entries(ages)) {
    const snapshot = path.join(repoDir, 'snapshots', rev);
    fs.mkdirSync(snapshot, { recursive: true });
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json']) {
      fs.symlinkSync(path.join('..', '..', 'blobs', file + '.blob'), path.join(snapshot, file));
    }
    const when = new Date(Date.now() - secondsAgo * 1000);
    fs.utimesSync(snapshot, when, when);
  }
  fs.mkdirSync(path.join(repoDir, 'refs'));
  if (options.refsMain) fs.writeFileSync(path.join(repoDir, 'refs', 'main'), MAIN);
  fs.writeFileSync(path.join(repoDir, 'refs', 'v1'), OLD + '\n');
  return cache;
}

const snapshotOf = (cache: string, rev: string): string => path.join(cache, 'models--acme--tiny-reranker', 'snapshots', rev);

test('a hub name resolves to the snapshot refs/main names', () => {
  const cache = fakeCache({ refsMain: true });
  const located = locateModel(REPO, { HF_HUB_CACHE: cache });
  assert.equal(located.dir, snapshotOf(cache, MAIN));
  assert.ok(located.kind === 'checkpoint' && fs.statSync(located.weightsPath).size > 0, 'the symlinked blob is readable');
});

test('without refs/main, the newest snapshot is used', () => {
  const cache = fakeCache({ refsMain: false });
  assert.equal(locateModel(REPO, { HF_HUB_CACHE: cache }).dir, snapshotOf(cache, NEWEST));
});

test('name@revision picks a branch or tag from refs/, a full commit, or a unique short commit', () => {
  const cache = fakeCache({ refsMain: true });
  const env = { HF_HUB_CACHE: cache };
  assert.equal(locateModel(`${REPO}@v1`, env).dir, snapshotOf(cache, OLD));
  assert.equal(locateModel(`${REPO}@${NEWEST}`, env).dir, snapshotOf(cache, NEWEST));
  assert.equal(locateModel(`${REPO}@dddddddd`, env).dir, snapshotOf(cache, NEWEST));
});

test('a revision not in the cache is refused listing the cached ones', () => {
  const cache = fakeCache({ refsMain: true });
  assertThrowsMentioning(() => locateModel(`${REPO}@v2`, { HF_HUB_CACHE: cache }), ModelNotFoundError, [
    'revision "v2"',
    path.join(cache, 'models--acme--tiny-reranker', 'refs', 'v2'),
    OLD,
    MAIN,
    'huggingface-cli download acme/tiny-reranker --revision v2',
  ]);
});

test('refs/main naming a snapshot that is not there is refused, not silently replaced', () => {
  const cache = fakeCache({ refsMain: true });
  fs.rmSync(snapshotOf(cache, MAIN), { recursive: true });
  assertThrowsMentioning(() => locateModel(REPO, { HF_HUB_CACHE: cache }), ModelNotFoundError, [`names revision ${MAIN}`, `${REPO}@<revision>`]);
});

test('a name in neither the working folder nor the cache says where it looked and how to download it', () => {
  const cache = fakeCache({ refsMain: true });
  assertThrowsMentioning(() => locateModel('jinaai/jina-reranker-v1-turbo-en', { HF_HUB_CACHE: cache }), ModelNotFoundError, [
    path.resolve('jinaai/jina-reranker-v1-turbo-en'),
    path.join(cache, 'models--jinaai--jina-reranker-v1-turbo-en', 'snapshots'),
    '$HF_HUB_CACHE',
    'huggingface-cli download jinaai/jina-reranker-v1-turbo-en',
  ]);
});

test('the cache folder follows HF_HUB_CACHE, then HF_HOME, then XDG_CACHE_HOME and HOME', () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: '/c/hub', HF_HOME: '/h' }), '/c/hub');
  assert.equal(hubCacheDir({ HF_HOME: '/h' }), '/h/hub');
  assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/home/u' }), '/x/huggingface/hub');
  assert.equal(hubCacheDir({ HOME: '/home/u' }), '/home/u/.cache/huggingface/hub');
});

test('the cache is found through HF_HOME', () => {
  const home = tempDir('turborank-hfhome-');
  fs.cpSync(fakeCache({ refsMain: true }), path.join(home, 'hub'), { recursive: true, verbatimSymlinks: true });
  assert.equal(locateModel(REPO, { HF_HOME: home }).dir, path.join(home, 'hub', 'models--acme--tiny-reranker', 'snapshots', MAIN));
});

test('hub names parse with an optional revision; paths do not', () => {
  assert.deepEqual(parseHubName('jinaai/jina-reranker-v1-turbo-en'), { repoId: 'jinaai/jina-reranker-v1-turbo-en' });
  assert.deepEqual(parseHubName('org/name@refs/pr/1'), { repoId: 'org/name', revision: 'refs/pr/1' });
  assert.deepEqual(parseHubName('bert-base-uncased'), { repoId: 'bert-base-uncased' });
  for (const notAName of ['./model', '/abs/model', '../up', 'a/b/c', 'org/name@../../etc', '~/m']) {
    assert.equal(parseHubName(notAName), undefined, notAName);
  }
});
