import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FileError, ModelConfigError, SafetensorsError } from '../../src/errors.js';
import { expectedTensors } from '../../src/checkpoint/config.js';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { locateModel, type CheckpointLocation } from '../../src/checkpoint/locate.js';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.js';
import { GOLDEN_FIXTURES, fixtureDir } from '../helpers.js';
import { buildSafetensors, copyFixture, editConfig, rewriteWeights } from './support.js';

function locationOf(dir: string): CheckpointLocation {
  return {
    kind: 'checkpoint',
    dir,
    configPath: path.join(dir, 'config.json'),
    weightsPath: path.join(dir, 'model.safetensors'),
    tokenizerPath: path.join(dir, 'tokenizer.json'),
  };
}

const original = SafetensorsFile.read(path.join(fixtureDir('jinabert-tiny-golden'), 'model.safetensors'));

for (const name of GOLDEN_FIXTURES) {
  test(`${name}: loads with every expected tensor readable as float32`, () => {
    const checkpoint = loadCheckpoint(locateModel(fixtureDir(name)));
    assert.equal(checkpoint.spec.hiddenSize, 64);
    assert.equal(checkpoint.tokenizerPath, path.join(fixtureDir(name), 'tokenizer.json'));
    for (const t of expectedTensors(checkpoint.spec)) {
      assert.equal(checkpoint.weights.float32(t.name).length, t.shape.reduce((a, b) => a * b, 1), t.name);
    }
  });
}

test('a config.json whose hidden_size disagrees with the weights is refused naming tensor, shapes and key', () => {
  const dir = copyFixture('jinabert-tiny-golden');
  editConfig(dir, (c) => {
    c['hidden_size'] = 32;
  });
  assert.throws(
    () => loadCheckpoint(locationOf(dir)),
    (e: unknown) =>
      e instanceof ModelConfigError &&
      e.message.startsWith(
        `${path.join(dir, 'model.safetensors')}: bert.embeddings.word_embeddings.weight has shape [2014,64] but config.json (vocab_size 2014, hidden_size 32) needs [2014,32]`,
      ),
  );
});

test('a tensor rewritten with the wrong shape is refused naming it', () => {
  const dir = copyFixture('jinabert-tiny-golden');
  const bad = 'bert.encoder.layer.1.attention.self.query.weight';
  rewriteWeights(dir, (tensors) =>
    tensors.map((t) => (t.name === bad ? { ...t, shape: [64, 32], data: new Float32Array(64 * 32) } : t)),
  );
  assert.throws(
    () => loadCheckpoint(locationOf(dir)),
    (e: unknown) =>
      e instanceof ModelConfigError && e.message.includes(`${bad} has shape [64,32] but config.json (hidden_size 64) needs [64,64]`),
  );
});

test('a missing config.json is a FileError naming it', () => {
  const dir = copyFixture('bert-minilm-golden');
  fs.rmSync(path.join(dir, 'config.json'));
  assert.throws(
    () => loadCheckpoint(locationOf(dir)),
    (e: unknown) => e instanceof FileError && e.message.startsWith(path.join(dir, 'config.json') + ': does not exist'),
  );
});

test('a config.json that is not JSON is refused naming it', () => {
  const dir = copyFixture('bert-minilm-golden');
  fs.writeFileSync(path.join(dir, 'config.json'), '{"model_type": "bert",');
  assert.throws(
    () => loadCheckpoint(locationOf(dir)),
    (e: unknown) => e instanceof ModelConfigError && e.message.startsWith(path.join(dir, 'config.json') + ': is not valid JSON'),
  );
});

test('an unprefixed checkpoint loads with prefix "" and the same values', () => {
  const dir = copyFixture('jinabert-tiny-golden');
  rewriteWeights(dir, (tensors) => tensors.map((t) => ({ ...t, name: t.name.replace(/^bert\./, '') })));
  const checkpoint = loadCheckpoint(locationOf(dir));
  assert.equal(checkpoint.spec.prefix, '');
  assert.deepEqual(checkpoint.weights.float32('encoder.layer.1.mlp.wo.weight'), original.float32('bert.encoder.layer.1.mlp.wo.weight'));
});

test('an old checkpoint with LayerNorm gamma/beta loads, readable under the usual names', () => {
  const dir = copyFixture('jinabert-tiny-golden');
  rewriteWeights(dir, (tensors) =>
    tensors.map((t) => ({ ...t, name: t.name.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta') })),
  );
  const checkpoint = loadCheckpoint(locationOf(dir));
  assert.ok(checkpoint.weights.names().includes('bert.embeddings.LayerNorm.gamma'));
  assert.deepEqual(checkpoint.weights.float32('bert.embeddings.LayerNorm.weight'), original.float32('bert.embeddings.LayerNorm.weight'));
  assert.deepEqual(
    checkpoint.weights.float32('bert.encoder.layer.0.attention.output.LayerNorm.bias'),
    original.float32('bert.encoder.layer.0.attention.output.LayerNorm.bias'),
  );
});

test('a half-precision checkpoint loads with values within half precision of the original', () => {
  const dir = copyFixture('jinabert-tiny-golden');
  rewriteWeights(dir, (tensors) => tensors.map((t) => ({ ...t, dtype: t.name.includes('embeddings') ? 'BF16' : 'F16' })));
  const checkpoint = loadCheckpoint(locationOf(dir));
  for (const name of ['bert.encoder.layer.0.attention.self.key.weight', 'bert.embeddings.word_embeddings.weight']) {
    const [a, b] = [checkpoint.weights.float32(name), original.float32(name)];
    const tolerance = name.includes('embeddings') ? 2 ** -8 : 2 ** -11;
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= Math.abs(b[i]!) * tolerance + 1e-7, `${name}[${i}]`);
  }
});

test('an extra I64 position_ids buffer (as in real BERT checkpoints) is accepted', () => {
  const dir = copyFixture('bert-minilm-golden');
  const positionIds = new Uint8Array(8 * 512);
  const file = SafetensorsFile.read(path.join(dir, 'model.safetensors'));
  const raw = file.tensors().map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: file.bytes(t.name) }));
  raw.push({ name: 'bert.embeddings.position_ids', dtype: 'I64', shape: [1, 512], bytes: positionIds });
  fs.writeFileSync(path.join(dir, 'model.safetensors'), buildSafetensors(raw));
  const checkpoint = loadCheckpoint(locationOf(dir));
  assert.equal(checkpoint.weights.info('bert.embeddings.position_ids').dtype, 'I64');
  assert.equal(checkpoint.spec.maxPositions, 512);
});

test('a weight stored as integers is refused naming the tensor', () => {
  const dir = copyFixture('jinabert-tiny-golden');
  const file = SafetensorsFile.read(path.join(dir, 'model.safetensors'));
  const raw = file.tensors().map((t) => ({
    name: t.name,
    dtype: t.name === 'classifier.bias' ? 'I32' : t.dtype,
    shape: t.shape,
    bytes: file.bytes(t.name),
  }));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), buildSafetensors(raw));
  assert.throws(() => loadCheckpoint(locationOf(dir)), (e: unknown) => e instanceof SafetensorsError && /"classifier\.bias" has dtype I32/.test(e.message));
});

test('loading an ONNX location is refused: there are no weights', () => {
  assert.throws(
    () => loadCheckpoint({ kind: 'onnx', onnxPath: '/m/onnx/model.onnx', dir: '/m', tokenizerPath: '/m/tokenizer.json' }),
    (e: unknown) => e instanceof FileError && e.message.startsWith('/m/onnx/model.onnx: is an ONNX export'),
  );
});
