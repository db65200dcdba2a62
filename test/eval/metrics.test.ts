/** Metrics against values worked out by hand, with trec_eval's and LlamaIndex's conventions. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluateRun, hitRate, llamaIndexMrr, ndcgAtK, rankEntries, recallAtK, reciprocalRankAtK, type Qrels,
} from '../../src/eval/metrics.js';

const close = (actual: number, expected: number, what = ''): void =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what} ${actual} ≠ ${expected}`);

describe('ranking a run', () => {
  test('by score, descending; ties by document id, descending, as trec_eval does', () => {
    const ranked = rankEntries([
      { docId: 'a', score: 1 }, { docId: 'c', score: 2 }, { docId: 'b', score: 1 }, { docId: 'd', score: 0.5 },
    ]);
    assert.deepEqual(ranked, ['c', 'b', 'a', 'd']);
  });
});

describe('NDCG@k (trec_eval ndcg_cut)', () => {
  // d2 (grade 2) at rank 2 and d3 (grade 1) at rank 3; d4 (grade 3) not retrieved.
  const grades = new Map([['d2', 2], ['d3', 1], ['d4', 3], ['d5', 0]]);
  const ranked = ['d1', 'd2', 'd3'];

  test('uses the grade as gain and the ideal ranking of all judged documents', () => {
    // DCG = 2/log2(3) + 1/log2(4) = 1.261860 + 0.5; IDCG = 3 + 2/log2(3) + 1/2 = 4.761860.
    close(ndcgAtK(ranked, grades, 10), 1.7618595071429148 / 4.761859507142915, 'NDCG@10');
    close(ndcgAtK(ranked, grades, 10), 0.3699940127381, 'NDCG@10 (decimal)');
  });

  test('cuts both rankings at k', () => {
    // k = 2: DCG = 2/log2(3); IDCG = 3 + 2/log2(3).
    close(ndcgAtK(ranked, grades, 2), (2 / Math.log2(3)) / (3 + 2 / Math.log2(3)), 'NDCG@2');
    close(ndcgAtK(ranked, grades, 1), 0, 'NDCG@1');
  });

  test('is 1 for the ideal ranking and 0 when nothing is relevant', () => {
    close(ndcgAtK(['d4', 'd2', 'd3'], grades, 10), 1);
    close(ndcgAtK(['d1'], new Map([['d1', 0]]), 10), 0);
  });
});

describe('MRR@k and Recall@k', () => {
  const grades = new Map([['r1', 1], ['r2', 2], ['r3', 1], ['n', 0]]);

  test('reciprocal rank of the first document with grade ≥ 1 within k', () => {
    close(reciprocalRankAtK(['n', 'x', 'r2', 'r1'], grades, 10), 1 / 3);
    const late = [...Array.from({ length: 10 }, (_, i) => `x${i}`), 'r1'];
    close(reciprocalRankAtK(late, grades, 10), 0, 'relevant at rank 11');
  });

  test('recall counts relevant documents found in the top k over all relevant ones (grade 0 is not relevant)', () => {
    close(recallAtK(['r1', 'n', 'r3'], grades, 100), 2 / 3);
    close(recallAtK(['r1', 'n', 'r3'], grades, 1), 1 / 3);
  });
});

describe('evaluateRun', () => {
  const qrels: Qrels = new Map([
    ['q1', new Map([['a', 1], ['b', 0]])],
    ['q2', new Map([['c', 0]])], // no relevant document: skipped, as BEIR does
    ['q3', new Map([['d', 1]])], // not in the run: scores 0 (trec_eval -c)
  ]);
  const run = new Map([
    ['q1', [{ docId: 'b', score: 5 }, { docId: 'a', score: 5 }]], // tie: b before a (ids descending)
    ['q2', [{ docId: 'c', score: 1 }]],
    ['q4', [{ docId: 'z', score: 1 }]], // no qrels: ignored
  ]);

  test('averages over queries with a relevant document; ties and missing queries as trec_eval', () => {
    const result = evaluateRun(run, qrels);
    assert.deepEqual(result.skipped, ['q2']);
    assert.deepEqual(result.perQuery.map((m) => m.queryId), ['q1', 'q3']);
    const q1 = result.perQuery[0]!;
    close(q1['ndcg@10'], 1 / Math.log2(3), 'q1 NDCG'); // a at rank 2 after the tie
    close(q1['mrr@10'], 0.5, 'q1 MRR');
    close(q1['recall@100'], 1, 'q1 recall');
    close(result.mean['ndcg@10'], (1 / Math.log2(3)) / 2, 'mean NDCG');
    close(result.mean['mrr@10'], 0.25, 'mean MRR');
    close(result.mean['recall@100'], 0.5, 'mean recall');
  });
});

describe('LlamaIndex RetrieverEvaluator metrics', () => {
  const expected = new Set(['c3']);
  test('hit rate is 1 when any expected id was retrieved', () => {
    assert.equal(hitRate(['c1', 'c3'], expected), 1);
    assert.equal(hitRate(['c1', 'c2'], expected), 0);
    assert.equal(hitRate([], expected), 0);
  });
  test('MRR is 1 / position of the first expected id', () => {
    close(llamaIndexMrr(['c1', 'c2', 'c3'], expected), 1 / 3);
    close(llamaIndexMrr(['c3'], expected), 1);
    close(llamaIndexMrr(['c1'], expected), 0);
  });
});
