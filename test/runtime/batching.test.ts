/**
 * Length-bucketed batching: every pair in exactly one batch, within the count and token budget,
 * and on a BEIR-like mix of 100-document requests under 10% of the computed tokens are padding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { raceRequests } from '../../src/bench/peers.js';
import { DEFAULT_BATCH_PLAN, paddingFraction, planBatches } from '../../src/runtime/index.js';
import { PairTokenizer, type EncodedPair } from '../../src/tokenizer/index.js';
import { fixtureDir } from '../helpers.js';

const ofLengths = (lengths: readonly number[]): EncodedPair[] => lengths.map((length) => ({ ids: [], typeIds: [], length }));

test('planBatches puts every pair in one batch, within both budgets; a pair over the token budget runs alone', () => {
  const pairs = ofLengths([5, 300, 17, 9000, 120, 120, 64, 3, 511, 256, 40, 41, 42, 43]);
  const plan = planBatches(pairs, { maxBatchSize: 3, maxBatchTokens: 600 });
  assert.deepEqual(plan.flat().sort((a, b) => a - b), pairs.map((_, i) => i));
  for (const batch of plan) {
    const width = Math.max(...batch.map((i) => pairs[i]!.length));
    assert.ok(batch.length <= 3, `${batch}`);
    assert.ok(batch.length === 1 || width * batch.length <= 600, `${batch}: ${width} × ${batch.length}`);
  }
  assert.ok(plan.some((b) => b.length === 1 && pairs[b[0]!]!.length === 9000));
});

test('planBatches weighs padding against the price of a batch', () => {
  const pairs = ofLengths([100, 90, 20, 10]);
  const budget = { maxBatchSize: 32, maxBatchTokens: 8192 };
  // Free batches: no padding at all, one pair each. Dear ones: everything in one batch.
  assert.equal(planBatches(pairs, { ...budget, batchOverheadTokens: 0 }).length, 4);
  assert.deepEqual(planBatches(pairs, { ...budget, batchOverheadTokens: 10_000 }), [[0, 1, 2, 3]]);
  // At 50 tokens a batch: [100, 90] (10 padded) and [20, 10] (10 padded) beat one batch (180 padded).
  assert.deepEqual(planBatches(pairs, { ...budget, batchOverheadTokens: 50 }), [[0, 1], [2, 3]]);
});

test('on a BEIR-like mix of 100-document requests, under 10% of the computed tokens are padding', async () => {
  const tokenizer = await PairTokenizer.load(path.join(fixtureDir('jinabert-tiny-golden'), 'tokenizer.json'));
  let real = 0;
  let computed = 0;
  for (const request of raceRequests(500, 100)) {
    const pairs = await tokenizer.encodePairs(request.documents.map((document) => ({ query: request.query, document })), 512);
    const plan = planBatches(pairs, DEFAULT_BATCH_PLAN);
    const tokens = pairs.reduce((n, p) => n + p.length, 0);
    real += tokens;
    computed += tokens / (1 - paddingFraction(pairs, plan));
  }
  const padding = 1 - real / computed;
  assert.ok(padding < 0.1, `padding ${padding}`);
  assert.ok(padding > 0, 'batches of more than one length must pad a little');
});
