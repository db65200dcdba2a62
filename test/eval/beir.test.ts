/** BEIR: loading the layout, BM25 then reranking, metrics by hand, saved runs and resuming. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadBeir } from '../../src/eval/beir.js';
import { evaluateBeir } from '../../src/eval/beir-eval.js';
import { checkBm25, formatBm25Check } from '../../src/eval/bm25-check.js';
import { InterruptedError, type SecondStage } from '../../src/eval/rerank-run.js';
import { readTrecRun } from '../../src/eval/trec-run.js';
import { FileError, InputError } from '../../src/errors.js';
import { BEIR_EXPECTED, WordScorer, scratchDir, writeBeirFixture } from './fixtures.js';

const close = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual}, expected ${expected}`);

function stage(scorer: WordScorer, signal?: AbortSignal): SecondStage {
  return { scorer, label: 'words', model: 'word-scorer', maxLength: 512, signal };
}

describe('BEIR loader', () => {
  test('reads corpus, queries and CRLF qrels with a header; keeps only queries with qrels', async () => {
    const dataset = await loadBeir(writeBeirFixture());
    assert.equal(dataset.name, 'tiny-beir');
    assert.equal(dataset.corpus.length, 7);
    assert.deepEqual(dataset.documents.get('7'), { id: '7', title: 'Walrus', text: 'walrus walrus walrus' }, 'numeric ids become strings');
    assert.equal(dataset.documents.get('8')!.title, '', 'a missing title is empty');
    assert.deepEqual([...dataset.queries.keys()], ['1', '2', '7']);
    assert.deepEqual([...dataset.qrels.get('1')!], [['A', 1], ['C', 2], ['D', 1]]);
  });

  test('names the file and line of a bad corpus line', async () => {
    const dir = writeBeirFixture();
    fs.appendFileSync(path.join(dir, 'corpus.jsonl'), '{"_id": "X", "text": 42}\n');
    await assert.rejects(loadBeir(dir), (err: Error) => err instanceof InputError && /corpus\.jsonl line 8: "text" must be a string/.test(err.message));
    fs.writeFileSync(path.join(dir, 'corpus.jsonl'), '{"_id": "X", "text": "ok"}\n{not json\n');
    await assert.rejects(loadBeir(dir), /corpus\.jsonl line 2: invalid JSON/);
  });

  test('names a missing qrels file and a qrels line it cannot read', async () => {
    const dir = writeBeirFixture();
    await assert.rejects(loadBeir(dir, 'dev'), (err: Error) => err instanceof FileError && err.message.includes(path.join(dir, 'qrels', 'dev.tsv')) && /--split/.test(err.message));
    fs.appendFileSync(path.join(dir, 'qrels', 'test.tsv'), '7\t8\n');
    await assert.rejects(loadBeir(dir), /test\.tsv line 7: expected query-id<TAB>corpus-id<TAB>integer score/);
  });
});

describe('BEIR evaluation', () => {
  test('BM25 alone: hand-computed NDCG@10, MRR@10, Recall@100; skips the query without relevant documents', async () => {
    const out = scratchDir('beir-out-');
    const result = await evaluateBeir({ dataDir: writeBeirFixture(), outDir: out });
    assert.equal(result.queries, 2);
    assert.deepEqual(result.skipped, ['2']);
    close(result.bm25.perQuery.find((m) => m.queryId === '1')!['ndcg@10'], BEIR_EXPECTED.q1Bm25Ndcg, 'query 1 NDCG@10');
    for (const metric of ['ndcg@10', 'mrr@10', 'recall@100'] as const) close(result.bm25.mean[metric], BEIR_EXPECTED.bm25[metric], metric);
    assert.equal(result.reranked, undefined);
  });

  test('drops a retrieved document whose id is the query id', async () => {
    const result = await evaluateBeir({ dataDir: writeBeirFixture(), outDir: scratchDir() });
    const saved = await readTrecRun(result.bm25.runFile);
    assert.deepEqual(saved.run.get('7')!.map((e) => e.docId), ['7', '8'], 'the BM25 run keeps what BM25 found');
    close(result.bm25.perQuery.find((m) => m.queryId === '7')!['ndcg@10'], 1, 'query 7 without document 7');
  });

  test('reranks title + text with the model, and writes both runs as TREC files', async () => {
    const out = scratchDir('beir-out-');
    const scorer = new WordScorer({ crossing: 5, herd: 1 });
    const result = await evaluateBeir({ dataDir: writeBeirFixture(), outDir: out, reranker: stage(scorer) });
    assert.ok(result.reranked);
    close(result.reranked.perQuery.find((m) => m.queryId === '1')!['ndcg@10'], BEIR_EXPECTED.q1RerankedNdcg, 'query 1 reranked NDCG@10');
    for (const metric of ['ndcg@10', 'mrr@10', 'recall@100'] as const) close(result.reranked.mean[metric], BEIR_EXPECTED.reranked[metric], metric);
    const reranked = fs.readFileSync(result.reranked.runFile, 'utf8').trim().split('\n');
    assert.deepEqual(reranked.filter((l) => l.startsWith('1 ')), ['1 Q0 C 1 5 turborank-words', '1 Q0 A 2 1 turborank-words', '1 Q0 B 3 0 turborank-words']);
    assert.equal(result.reranked.scoredPairs, 4, 'query 1: A, B, C; query 7: 8 (7 dropped); query 2 skipped');
  });

  test('reuses the saved BM25 run and saved scores on a second run', async () => {
    const out = scratchDir('beir-out-');
    const dataDir = writeBeirFixture();
    const first = await evaluateBeir({ dataDir, outDir: out, reranker: stage(new WordScorer({ crossing: 5 })) });
    assert.equal(first.bm25.reused, false);
    const scorer = new WordScorer({ crossing: 5 });
    const second = await evaluateBeir({ dataDir, outDir: out, reranker: stage(scorer) });
    assert.equal(second.bm25.reused, true);
    assert.equal(scorer.pairs, 0, 'nothing scored again');
    assert.equal(second.reranked!.cachedPairs, 4);
    assert.deepEqual(second.reranked!.mean, first.reranked!.mean);
  });

  test('recomputes a saved BM25 run made with other parameters', async () => {
    const out = scratchDir('beir-out-');
    const dataDir = writeBeirFixture();
    await evaluateBeir({ dataDir, outDir: out });
    const again = await evaluateBeir({ dataDir, outDir: out, bm25: { k1: 1.2, b: 0.75 } });
    assert.equal(again.bm25.reused, false);
    assert.equal((await readTrecRun(again.bm25.runFile)).tag, 'bm25-lucene-english-porter-k1=1.2-b=0.75');
  });

  test('a saved BM25 run is reused even when a query found nothing (it has no line in the run)', async () => {
    const out = scratchDir('beir-out-');
    const dataDir = writeBeirFixture();
    fs.appendFileSync(path.join(dataDir, 'queries.jsonl'), JSON.stringify({ _id: '3', text: 'okapi' }) + '\n');
    fs.appendFileSync(path.join(dataDir, 'qrels', 'test.tsv'), '3\tE\t1\n');
    const logs: string[] = [];
    const first = await evaluateBeir({ dataDir, outDir: out, log: (m) => logs.push(m) });
    assert.equal(first.bm25.reused, false);
    assert.equal((await readTrecRun(first.bm25.runFile)).run.has('3'), false, 'BM25 found nothing for "okapi"');
    const second = await evaluateBeir({ dataDir, outDir: out, log: (m) => logs.push(m) });
    assert.equal(second.bm25.reused, true);
    assert.match(logs.at(-1)!, /BM25: reusing .*bm25\.test\.top100\.run/);
    assert.deepEqual(second.bm25.mean, first.bm25.mean);
    assert.equal(second.queries, 3);

    // Another query, or a changed corpus, is not covered by the saved run: it is made again, and the log says why.
    fs.appendFileSync(path.join(dataDir, 'queries.jsonl'), JSON.stringify({ _id: '4', text: 'zebra walrus' }) + '\n');
    fs.appendFileSync(path.join(dataDir, 'qrels', 'test.tsv'), '4\tA\t1\n');
    const third = await evaluateBeir({ dataDir, outDir: out, log: (m) => logs.push(m) });
    assert.equal(third.bm25.reused, false);
    assert.ok(logs.some((m) => /was made for other queries \(4 of them; now 5\); recomputing it/.test(m)), logs.join('\n'));
    fs.appendFileSync(path.join(dataDir, 'corpus.jsonl'), JSON.stringify({ _id: 'F', title: 'Okapi', text: 'okapi' }) + '\n');
    const fourth = await evaluateBeir({ dataDir, outDir: out, log: (m) => logs.push(m) });
    assert.equal(fourth.bm25.reused, false);
    assert.ok(logs.some((m) => /was made from another corpus/.test(m)), logs.join('\n'));
    assert.deepEqual((await readTrecRun(fourth.bm25.runFile)).run.get('3')!.map((e) => e.docId), ['F']);
    assert.equal((await evaluateBeir({ dataDir, outDir: out })).bm25.reused, true);
  });

  test('Ctrl-C while BM25 indexes stops before any scoring and saves no run', async () => {
    const out = scratchDir('beir-out-');
    const controller = new AbortController();
    controller.abort();
    const scorer = new WordScorer({ crossing: 5 });
    await assert.rejects(evaluateBeir({ dataDir: writeBeirFixture(), outDir: out, reranker: stage(scorer, controller.signal) }),
      (err: Error) => err instanceof InterruptedError && /while building and searching the BM25 index; nothing was saved yet/.test(err.message));
    assert.equal(scorer.calls, 0);
    assert.deepEqual(fs.readdirSync(out), [], 'no run, sidecar or scores');
  });

  test('an interrupted run keeps what it scored and resumes from there', async () => {
    const out = scratchDir('beir-out-');
    const dataDir = writeBeirFixture();
    const controller = new AbortController();
    const interrupted = new WordScorer({ crossing: 5, herd: 1 }, () => controller.abort()); // Ctrl-C during the first query
    await assert.rejects(evaluateBeir({ dataDir, outDir: out, reranker: stage(interrupted, controller.signal) }),
      (err: Error) => err instanceof InterruptedError && /3 of 4 documents scored/.test(err.message) && /run the same command again/.test(err.message));
    assert.equal(interrupted.calls, 1);
    const resumed = new WordScorer({ crossing: 5, herd: 1 });
    const result = await evaluateBeir({ dataDir, outDir: out, reranker: stage(resumed) });
    assert.equal(resumed.pairs, 1, 'only query 7 is left');
    assert.equal(result.reranked!.cachedPairs, 3);
    close(result.reranked!.mean['ndcg@10'], BEIR_EXPECTED.reranked['ndcg@10'], 'NDCG@10 after resuming');
  });
});

describe('BM25 check against a Pyserini reference (npm run check:bm25)', () => {
  test('compares per-query NDCG@10 with trec_eval -q output, keeping same-id documents as Pyserini does', async () => {
    const dir = writeBeirFixture();
    const reference = path.join(scratchDir(), 'reference.eval');
    // Query 7 keeps document 7 at rank 1 here: NDCG@10 = 1/log2(3) = 0.6309. Query 1: 0.6388.
    fs.writeFileSync(reference, 'ndcg_cut_10           \t1\t0.6388\nrecall_1000\t1\t1.0000\nndcg_cut_10\t7\t0.5000\nndcg_cut_10\tall\t0.5694\n');
    const check = await checkBm25(dir, reference);
    assert.equal(check.queries, 2);
    close(check.ours, (BEIR_EXPECTED.q1Bm25Ndcg + 1 / Math.log2(3)) / 2, 'ours');
    close(check.reference, (0.6388 + 0.5) / 2, 'reference mean over the evaluated queries');
    assert.equal(check.agreeing, 1);
    assert.deepEqual(check.largest.map((c) => c.queryId), ['7']);
    assert.match(formatBm25Check(check, 'cmd'), /verdict {6}FAIL/);
  });
});
