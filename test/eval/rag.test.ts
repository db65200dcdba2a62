/** RAG (LlamaIndex hit rate and MRR) and TREC DL (NDCG@10) on fixtures with hand-computed numbers. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { evaluateRag, loadRagDataset, ragDatasetName } from '../../src/eval/rag.js';
import type { SecondStage } from '../../src/eval/rerank-run.js';
import { evaluateTrecDl, loadTrecDlCandidates } from '../../src/eval/trec-dl.js';
import { InputError } from '../../src/errors.js';
import { TREC_EXPECTED, WordScorer, scratchDir, writeRagFixture, writeTrecFixture } from './fixtures.js';

const close = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual}, expected ${expected}`);

const stage = (weights: Record<string, number>): SecondStage => ({ scorer: new WordScorer(weights), label: 'words', model: 'word-scorer', maxLength: 512 });

describe('RAG evaluation', () => {
  test('loads the EmbeddingQAFinetuneDataset and names it after its folder', () => {
    const file = writeRagFixture();
    const dataset = loadRagDataset(file);
    assert.equal(dataset.name, 'tiny-rag');
    assert.equal(ragDatasetName('/x/lyft-10k/qa_dataset.json'), 'lyft-10k');
    assert.equal(ragDatasetName('/x/my-set.json'), 'my-set');
    assert.deepEqual([...dataset.relevant.get('r1')!], ['c2']);
  });

  test('hit rate and MRR over the top n, before and after reranking (hand-computed)', async () => {
    // BM25: r1 → c1, c2 (relevant c2 at 2); r2 → c4, c3 (relevant c3 at 2); r3 → nothing; r4 skipped.
    // Reranked ("crossing" 5, "ice" 3): r1 → c2, c1; r2 → c3, c4.
    const result = await evaluateRag({ dataFile: writeRagFixture(), outDir: scratchDir(), topK: 3, topN: 2, reranker: stage({ crossing: 5, ice: 3 }) });
    assert.equal(result.queries, 3);
    assert.deepEqual(result.skipped, ['r4']);
    close(result.retrieved.hitRate, 2 / 3, 'hit rate before');
    close(result.retrieved.mrr, (0.5 + 0.5 + 0) / 3, 'MRR before');
    close(result.reranked!.hitRate, 2 / 3, 'hit rate after');
    close(result.reranked!.mrr, (1 + 1 + 0) / 3, 'MRR after');
    close(result.candidatesHitRate, 2 / 3, 'hit rate of all candidates');
  });

  test('with n = 1 only the first chunk counts', async () => {
    const result = await evaluateRag({ dataFile: writeRagFixture(), outDir: scratchDir(), topK: 3, topN: 1, reranker: stage({ crossing: 5, ice: 3 }) });
    close(result.retrieved.hitRate, 0, 'BM25 puts c1 and c4 first');
    close(result.reranked!.hitRate, 2 / 3, 'the reranker puts c2 and c3 first');
  });

  test('takes candidates from a TREC run file instead of BM25', async () => {
    const dir = scratchDir();
    const run = path.join(dir, 'dense.run');
    fs.writeFileSync(run, 'r1 Q0 c2 1 0.9 dense\nr1 Q0 c1 2 0.8 dense\nr2 Q0 c1 1 0.7 dense\nr3 Q0 c1 1 0.1 dense\n');
    const result = await evaluateRag({ dataFile: writeRagFixture(), outDir: dir, topK: 3, topN: 2, runFile: run });
    assert.equal(result.retriever, 'dense');
    close(result.retrieved.hitRate, 2 / 3, 'r1 and r3 hit');
    close(result.retrieved.mrr, 2 / 3, 'both at rank 1');
  });

  test('names the key of a malformed dataset', () => {
    const file = path.join(scratchDir(), 'qa.json');
    fs.writeFileSync(file, JSON.stringify({ queries: { q: 'x' }, corpus: { c: 'y' }, relevant_docs: { q: ['nope'] } }));
    assert.throws(() => loadRagDataset(file), (err: Error) => err instanceof InputError && /"relevant_docs"\["q"\] names "nope", which is not in "corpus"/.test(err.message));
    fs.writeFileSync(file, JSON.stringify({ queries: { q: 1 }, corpus: {}, relevant_docs: {} }));
    assert.throws(() => loadRagDataset(file), /"queries"\["q"\] must be a string/);
  });
});

describe('TREC DL evaluation', () => {
  test('NDCG@10 with graded qrels, trec_eval ties, only judged queries (hand-computed)', async () => {
    const dir = writeTrecFixture();
    const result = await evaluateTrecDl({
      candidatesFile: path.join(dir, 'bm25-top100.json'), qrelsFile: path.join(dir, 'qrels.txt'), outDir: scratchDir(),
      reranker: stage({ best: 2 }),
    });
    assert.equal(result.dataset, 'tiny-dl');
    assert.equal(result.queries, 2, 'query 103 is not judged');
    close(result.firstStage['ndcg@10'], TREC_EXPECTED.firstStage, 'first stage');
    close(result.reranked!['ndcg@10'], TREC_EXPECTED.reranked, 'reranked');
    assert.equal(result.reranked!.scoredPairs, 5);
  });

  test('reads numeric and string ids, and names a malformed hit', () => {
    const dir = writeTrecFixture();
    const candidates = loadTrecDlCandidates(path.join(dir, 'bm25-top100.json'));
    assert.deepEqual([...candidates.queries.keys()], ['101', '102', '103']);
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify([{ query: 'q', hits: [{ qid: 1, docid: 'd', score: 1 }] }]));
    assert.throws(() => loadTrecDlCandidates(file), /bad\.json: element 0, hit 0 must have "qid", "docid", a string "content"/);
  });
});
