/** How served models are named: clients pick among them by name, never by path. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { ModelRegistry, parseModelArgument, servedNames } from '../../src/server/models.js';
import { TINY } from './support.js';

test('--model NAME=SOURCE names a model; --model SOURCE derives the name', () => {
  assert.deepEqual(parseModelArgument('turbo=jinaai/jina-reranker-v1-turbo-en'), { name: 'turbo', source: 'jinaai/jina-reranker-v1-turbo-en' });
  assert.deepEqual(parseModelArgument('./models/x'), { name: undefined, source: './models/x' });
  assert.throws(() => parseModelArgument('=x'), UsageError);
  assert.throws(() => parseModelArgument('x='), UsageError);
});

test('paths are served under their folder name; hub names keep their id and answer to the short name', () => {
  assert.deepEqual(servedNames({ name: undefined, source: TINY }), { name: 'jinabert-tiny-golden', aliases: [] });
  assert.deepEqual(servedNames({ name: undefined, source: './exports/my-model/onnx/model.onnx' }), { name: 'my-model', aliases: [] });
  assert.deepEqual(servedNames({ name: undefined, source: '/srv/rerankers/quantized.onnx' }), { name: 'quantized', aliases: [] });
  assert.deepEqual(servedNames({ name: undefined, source: 'jinaai/jina-reranker-v1-turbo-en' }), { name: 'jinaai/jina-reranker-v1-turbo-en', aliases: ['jina-reranker-v1-turbo-en'] });
  assert.deepEqual(servedNames({ name: undefined, source: 'jinaai/jina-reranker-v1-tiny-en@main' }), { name: 'jinaai/jina-reranker-v1-tiny-en', aliases: ['jina-reranker-v1-tiny-en'] });
  assert.deepEqual(servedNames({ name: 'turbo', source: 'jinaai/jina-reranker-v1-turbo-en' }), { name: 'turbo', aliases: [] });
  assert.deepEqual(servedNames({ name: undefined, source: undefined }), { name: 'turborank-tiny-en', aliases: [] });
});

test('two models answering to one name stop start-up, with the fix', async () => {
  const options = { threads: 1, maxLength: undefined, batching: { maxBatchTokens: 1024, maxBatchSize: 8, maxBatchRequests: 1 }, queueEvents: () => ({}) };
  await assert.rejects(ModelRegistry.load([{ name: 'same', source: TINY }, { name: 'same', source: TINY }], options),
    /two models answer to the name 'same'[\s\S]*--model NAME=MODEL/);
});
