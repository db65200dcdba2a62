/** `turborank eval` and `turborank report` end to end: the real CLI on fixtures, a tiny real model. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixtureDir } from '../helpers.js';
import { assertFailure, assertOk, parseJson, runCli } from '../cli/support.js';
import { BEIR_EXPECTED, TREC_EXPECTED, scratchDir, writeBeirFixture, writeRagFixture, writeTrecFixture } from './fixtures.js';

const MODEL = fixtureDir('bert-minilm-golden');
const FAST = ['--max-length', '64', '--threads', '1'];

type Metrics = Record<'ndcg@10' | 'mrr@10' | 'recall@100', number>;
interface BeirJson {
  dataset: string; queries: number; skipped: number; label: string;
  bm25: Metrics; reranked?: Metrics; runs: { bm25: string; reranked?: string };
  timing: { scoredPairs?: number; cachedPairs?: number }; result: string; perQuery?: unknown[];
}

const close = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual}, expected ${expected}`);

function assertFractions(m: Metrics | undefined, what: string): void {
  assert.ok(m, `${what} missing`);
  assert.deepEqual(Object.keys(m).sort(), ['mrr@10', 'ndcg@10', 'recall@100']);
  for (const [k, v] of Object.entries(m)) assert.ok(v >= 0 && v <= 1, `${what} ${k} = ${v}`);
}

describe('turborank eval / report', { concurrency: 3 }, () => {
  const work = scratchDir('cli-');
  const beirData = writeBeirFixture(path.join(work, 'tiny-beir'));
  const out = path.join(work, 'results');

  test('eval beir reranks BM25\'s top 100 with the model, then resumes from saved scores', async () => {
    const args = ['eval', 'beir', '--data', beirData, '--model', MODEL, '--out', path.join(out, 'beir'), '--json', ...FAST];
    const first = await runCli(args, { timeoutMs: 60_000 });
    assertOk(first);
    const json = parseJson<BeirJson>(first);
    assert.equal(json.dataset, 'tiny-beir');
    assert.equal(json.queries, 2);
    assert.equal(json.skipped, 1);
    assert.equal(json.label, 'bert-minilm-golden');
    for (const k of ['ndcg@10', 'mrr@10', 'recall@100'] as const) close(json.bm25[k], BEIR_EXPECTED.bm25[k], `BM25 ${k}`);
    assertFractions(json.reranked, 'reranked');
    assert.equal(json.timing.scoredPairs, 4);
    assert.match(fs.readFileSync(json.runs.reranked!, 'utf8'), /^1 Q0 [ABC] 1 \S+ turborank-bert-minilm-golden$/m);
    assert.ok(fs.existsSync(json.result));
    assert.match(first.stderr, /eval beir tiny-beir: NDCG@10 0\.8194 \(BM25\) → \d\.\d{4} \(bert-minilm-golden\)/);

    const second = await runCli(args, { timeoutMs: 60_000 });
    assertOk(second);
    const again = parseJson<BeirJson>(second);
    assert.deepEqual([again.timing.scoredPairs, again.timing.cachedPairs], [0, 4]);
    assert.deepEqual(again.reranked, json.reranked);
    assert.match(second.stderr, /BM25: reusing .*bm25\.test\.top100\.run/);
  });

  test('eval beir without --model: BM25 alone, a table, per-query numbers on request', async () => {
    const r = await runCli(['eval', 'beir', '--data', beirData, '--out', path.join(work, 'bm25-only'), '--per-query', '--quiet']);
    assertOk(r);
    assert.match(r.stdout, /^BEIR tiny-beir, test split: 2 queries \(1 without a relevant document skipped\)$/m);
    assert.match(r.stdout, /^BM25\s+0\.8194\s+1\.0000\s+0\.8333$/m);
    assert.match(r.stdout, /^1\s+0\.6388\s+1\.0000\s+0\.6667$/m);
    assert.equal(r.stderr, '', '--quiet: no notes');
  });

  test('eval rag reports hit rate and MRR before and after reranking', async () => {
    const r = await runCli(['eval', 'rag', '--data', writeRagFixture(work), '--model', MODEL, '--top-k', '3', '--top-n', '2', '--out', path.join(out, 'rag'), '--json', ...FAST]);
    assertOk(r);
    const json = parseJson<{ dataset: string; queries: number; retrieved: { hitRate: number; mrr: number }; reranked: { hitRate: number; mrr: number } }>(r);
    assert.equal(json.dataset, 'tiny-rag');
    assert.equal(json.queries, 3);
    close(json.retrieved.hitRate, 2 / 3, 'hit rate');
    close(json.retrieved.mrr, 1 / 3, 'MRR');
    close(json.reranked.hitRate, 2 / 3, 'reranking keeps the same two candidates');
    assert.ok(json.reranked.mrr >= 0 && json.reranked.mrr <= 2 / 3);
  });

  test('eval rag --run reranks another retriever\'s TREC run instead of BM25', async () => {
    // A dense retriever's run: r1 → c2 (relevant), c1; r2 → c1, c3 (relevant); nothing for r3.
    const runFile = path.join(work, 'dense.run');
    fs.writeFileSync(runFile, 'r1 Q0 c2 1 0.9 dense\nr1 Q0 c1 2 0.8 dense\nr2 Q0 c1 1 0.7 dense\nr2 Q0 c3 2 0.6 dense\n');
    const r = await runCli(['eval', 'rag', '--data', writeRagFixture(path.join(work, 'rag-run')), '--run', runFile, '--model', MODEL, '--top-k', '2', '--top-n', '1', '--out', path.join(out, 'rag-run'), '--json', ...FAST]);
    assertOk(r);
    const json = parseJson<{ queries: number; retriever: string; retrieved: { hitRate: number; mrr: number }; reranked: { hitRate: number; mrr: number }; runs: { retriever: string; reranked: string }; timing: { scoredPairs: number } }>(r);
    assert.equal(json.queries, 3);
    assert.equal(json.runs.retriever, runFile);
    close(json.retrieved.hitRate, 1 / 3, 'the run\'s own top 1: r1 hits, r2 and r3 miss');
    close(json.retrieved.mrr, 1 / 3, 'MRR of the run');
    assert.equal(json.timing.scoredPairs, 4, 'exactly the run\'s four candidates are scored');
    const reranked = fs.readFileSync(json.runs.reranked, 'utf8').trim().split('\n').map((l) => { const [q, , d] = l.split(' '); return `${q} ${d}`; });
    assert.deepEqual(reranked.sort(), ['r1 c1', 'r1 c2', 'r2 c1', 'r2 c3'], 'the reranked run holds the given candidates');
    assert.ok([0, 1 / 3, 2 / 3].some((v) => Math.abs(json.reranked.hitRate - v) < 1e-9), `hit rate after reranking the run: ${json.reranked.hitRate}`);
    assert.match(r.stderr, /warning: 1 of the 3 evaluated queries are not in .*dense\.run; they count as misses/);
  });

  test('eval trec reranks the given candidates and reports NDCG@10', async () => {
    const r = await runCli(['eval', 'trec', '--data', writeTrecFixture(path.join(work, 'tiny-dl')), '--model', MODEL, '--out', path.join(out, 'trec'), '--json', ...FAST]);
    assertOk(r);
    const json = parseJson<{ queries: number; firstStage: { 'ndcg@10': number }; reranked: { 'ndcg@10': number } }>(r);
    assert.equal(json.queries, 2);
    close(json.firstStage['ndcg@10'], TREC_EXPECTED.firstStage, 'first stage NDCG@10');
    assert.ok(json.reranked['ndcg@10'] > 0 && json.reranked['ndcg@10'] <= 1);
  });

  test('eval speed, then report gathers everything into Markdown and two SVG charts', async () => {
    const speed = await runCli(['eval', 'speed', '--model', MODEL, '--requests', '1', '--lengths', '16', '--threads', '1', '--out', path.join(out, 'speed'), '--json'], { timeoutMs: 60_000 });
    assertOk(speed);
    const s = parseJson<{ label: string; modelBytes: number; peakRssMiB: number; mix: { docsPer50ms: number; latencyMs: number }; lengths: { tokensPerPair: number; docsPer50ms: number }[] }>(speed);
    assert.equal(s.modelBytes, fs.statSync(path.join(MODEL, 'model.safetensors')).size);
    assert.ok(s.mix.docsPer50ms > 0 && s.mix.latencyMs > 0 && s.peakRssMiB > 0);
    assert.equal(s.lengths[0]!.tokensPerPair, 16);

    // Its own BEIR and RAG results, so the report does not depend on when the other tests end.
    await runCli(['eval', 'beir', '--data', beirData, '--model', MODEL, '--out', path.join(out, 'beir-report'), '--quiet', ...FAST], { timeoutMs: 60_000 });
    await runCli(['eval', 'rag', '--data', writeRagFixture(path.join(work, 'rag-report')), '--model', MODEL, '--top-k', '3', '--top-n', '2', '--out', path.join(out, 'rag-report'), '--quiet', ...FAST], { timeoutMs: 60_000 });
    const reportDir = path.join(work, 'report');
    const r = await runCli(['report', out, '--out', reportDir, '--json'], { timeoutMs: 60_000 });
    assertOk(r);
    const json = parseJson<{ report: string; charts: string[]; models: string[] }>(r);
    assert.deepEqual(json.models, ['bert-minilm-golden']);
    assert.match(fs.readFileSync(json.report, 'utf8'), /## BEIR: NDCG@10[\s\S]*## Speed[\s\S]*!\[BEIR: NDCG@10 against reranking speed\]/);
    for (const chart of json.charts) assert.match(fs.readFileSync(chart, 'utf8'), /^<svg[\s\S]*>bert-minilm-golden<[\s\S]*axis does not start at 0/);
  });

  test('usage errors exit 2 and say what to do', async () => {
    assertFailure(await runCli(['eval']), 2, /eval needs one of beir, rag, trec, speed/);
    assertFailure(await runCli(['eval', 'bier']), 2, /unknown benchmark 'bier'/);
    assertFailure(await runCli(['eval', 'beir']), 2, /--data is required/);
    assertFailure(await runCli(['eval', 'beir', '--data', beirData, '--top-n', '3']), 2, /--top-n does not apply to eval beir/);
    assertFailure(await runCli(['eval', 'rag', '--data', 'x.json', '--top-k', '3', '--top-n', '5']), 2, /--top-n \(5\) cannot exceed --top-k \(3\)/);
    assertFailure(await runCli(['eval', 'speed', '--precision', 'fp8']), 2, /--precision must be one of fp32, int8, got 'fp8'/);
    assertFailure(await runCli(['eval', 'beir', '--data', beirData, '--k1', 'x']), 2, /--k1 must be a number/);
  });

  test('bad data exits 1 naming the file (and line)', async () => {
    assertFailure(await runCli(['eval', 'beir', '--data', path.join(work, 'nowhere'), '--out', path.join(work, 'x')]), 1, /nowhere\/corpus\.jsonl: no such file/, /BEIR folder holds/);
    const broken = writeBeirFixture(path.join(work, 'broken-beir'));
    fs.appendFileSync(path.join(broken, 'queries.jsonl'), '{"_id": "5"}\n');
    assertFailure(await runCli(['eval', 'beir', '--data', broken, '--out', path.join(work, 'y')]), 1, /queries\.jsonl line 5: "text" must be a string/);
    assertFailure(await runCli(['report', path.join(work, 'empty-nothing')]), 1, /no such folder/);
  });
});
