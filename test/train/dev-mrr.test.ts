/**
 * The dev set's ranking metric: MRR of each query's best positive among its pairs, the number
 * that says whether a cross-encoder ranks at all when accuracy only says it learnt the prior.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meanReciprocalRank } from '../../src/train/evaluate.js';

test('MRR takes the best positive per query, counts ties half and skips queries without both kinds', () => {
  const p = (score: number): { score: number; label: number } => ({ score, label: 1 });
  const n = (score: number): { score: number; label: number } => ({ score, label: 0 });
  // first: positive on top (1); second: two negatives above the better positive (1/3);
  // third: tied with one negative (1/1.5); fourth: no negative, skipped.
  const result = meanReciprocalRank([[p(2), n(1), n(0)], [n(5), n(4), p(3), p(-1)], [n(1), p(1), n(0)], [p(1), p(2)]]);
  assert.equal(result.rankedQueries, 3);
  assert.ok(Math.abs(result.mrr! - (1 + 1 / 3 + 1 / 1.5) / 3) < 1e-12, `mrr ${result.mrr}`);
  assert.deepEqual(meanReciprocalRank([[p(1)], [n(0)]]), {});
  // a constant scorer (every pair tied) gets the chance level a user would compute by hand
  const constant = meanReciprocalRank([[p(0), n(0), n(0), n(0)]]);
  assert.equal(constant.mrr, 1 / 2.5);
});
