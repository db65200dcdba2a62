/** A short, bounded run of `npm run bench:serve`'s load generator: no 5xx, no lost responses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { percentile, runLoad, syntheticBodies } from '../../src/bench/serve-load.js';
import { TINY, get, metricValue, spawnServe } from './support.js';

test('under concurrent load every request is answered 200, and requests share batches', async () => {
  const server = await spawnServe(['--model', `tiny=${TINY}`, '--port', '0', '--threads', '1', '--quiet']);
  try {
    const documents = 4;
    const amount = 160;
    const result = await runLoad({ url: server.url, bodies: syntheticBodies(32, documents, 30), documentsPerRequest: documents, connections: 16, amount });
    assert.equal(result.sent, amount);
    assert.equal(result.answered, amount, 'a response was lost');
    assert.equal(result.ok, amount, JSON.stringify(result));
    assert.equal(result.status5xx, 0);
    assert.equal(result.errors, 0);
    assert.ok(result.latencyMs.p50 <= result.latencyMs.p95 && result.latencyMs.p95 <= result.latencyMs.p99);
    const metrics = (await get(`${server.url}/metrics`)).text;
    assert.equal(metricValue(metrics, 'turborank_documents_total', { model: 'tiny' }), amount * documents, 'every document scored once');
    const batches = metricValue(metrics, 'turborank_batch_requests_count', { model: 'tiny' })!;
    const requestsInBatches = metricValue(metrics, 'turborank_batch_requests_sum', { model: 'tiny' })!;
    assert.ok(requestsInBatches / batches > 1, `batches held ${(requestsInBatches / batches).toFixed(2)} requests on average: no cross-request batching`);
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
  } finally {
    server.kill();
  }
});

test('percentile is nearest-rank', () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(percentile(values, 0.5), 50);
  assert.equal(percentile(values, 0.95), 95);
  assert.equal(percentile(values, 0.99), 99);
  assert.equal(percentile([7], 0.99), 7);
  assert.ok(Number.isNaN(percentile([], 0.5)));
});
