/** Reports: saved results → Markdown tables and two quality-against-speed SVG charts. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport } from '../../src/eval/report.js';
import type { BeirSaved, RagSaved, SavedResult, SpeedSaved, TrecDlSaved } from '../../src/eval/results.js';

const base = { turborankResult: 1 as const, date: '2026-01-01T00:00:00.000Z' };
const metrics = (ndcg: number) => ({ 'ndcg@10': ndcg, 'mrr@10': 0.5, 'recall@100': 0.9 });
const beir = (dataset: string, label: string, ndcg: number, date = base.date): BeirSaved => ({
  ...base, date, kind: 'beir', model: label, label, dataset, split: 'test', queries: 10, bm25: metrics(0.6), reranked: metrics(ndcg),
});
const rag = (label: string, mrr: number): RagSaved => ({
  ...base, kind: 'rag', model: label, label, dataset: 'essay', queries: 20, topK: 10, topN: 5, retriever: 'bm25',
  retrieved: { hitRate: 0.8, mrr: 0.55 }, reranked: { hitRate: 0.9, mrr },
});
const speed = (label: string, docsPer50ms: number): SpeedSaved => ({
  ...base, kind: 'speed', model: `/models/${label}`, label, precision: 'fp32', threads: 2, documentsPerRequest: 100, textSource: 'synthetic',
  modelBytes: 2 ** 20 * 150, loadSeconds: 1, peakRssMiB: 700, machine: 'test machine', lengths: [],
  mix: { workload: 'mix', tokensPerPair: null, requests: 5, documents: 500, seconds: 25 / docsPer50ms, docsPerSecond: docsPer50ms * 20, docsPer50ms, latencyMs: 123 },
});

const trec = (label: string, ndcg: number): TrecDlSaved => ({
  ...base, kind: 'trec-dl', model: label, label, dataset: 'dl19', queries: 43, firstStage: { 'ndcg@10': 0.5 }, reranked: { 'ndcg@10': ndcg },
});

describe('report', () => {
  const results: SavedResult[] = [
    beir('scifact', 'turbo', 0.70), beir('nfcorpus', 'turbo', 0.40), beir('scifact', 'tiny', 0.66),
    beir('scifact', 'tiny', 0.99, '2025-01-01T00:00:00.000Z'), // older: replaced by the later tiny result
    rag('turbo', 0.75), rag('tiny', 0.70),
    speed('turbo', 1.5), speed('tiny', 3),
  ];

  test('tables every benchmark with BM25 beside each model, latest result winning', async () => {
    const report = await buildReport(results, new Date('2026-02-02T00:00:00Z'));
    assert.match(report.markdown, /^# turborank evaluation report/);
    assert.match(report.markdown, /\| dataset \| BM25 \| tiny \| turbo \|/);
    assert.match(report.markdown, /\| scifact \(10 queries\) \| 0\.6000 \| 0\.6600 \| 0\.7000 \|/);
    assert.match(report.markdown, /\| nfcorpus \(10 queries\) \| 0\.6000 \| – \| 0\.4000 \|/);
    assert.match(report.markdown, /\| \*\*mean\*\* \| 0\.6000 \| 0\.6600 \| 0\.5500 \|/);
    assert.match(report.markdown, /\| essay \(20 queries, top 10 → 5\) \| 0\.8000 \/ 0\.5500 \| 0\.9000 \/ 0\.7000 \| 0\.9000 \/ 0\.7500 \|/);
    assert.match(report.markdown, /\| turbo \| fp32 \| 1\.50 \| 30\.0 \| 123 ms \| 700 MiB \| 150\.0 MiB \|/);
    assert.doesNotMatch(report.markdown, /0\.99/);
    assert.deepEqual(report.numbers.beir.scifact, { BM25: 0.6, turbo: 0.7, tiny: 0.66 });
  });

  test('charts quality against documents per 50 ms, one labelled point per model, y axis not from zero', async () => {
    const report = await buildReport(results);
    assert.deepEqual(report.charts.map((c) => c.file), ['beir-quality-speed.svg', 'rag-quality-speed.svg']);
    const [beirChart, ragChart] = report.charts;
    assert.deepEqual(beirChart!.points, [{ label: 'tiny', docsPer50ms: 3, quality: 0.66 }, { label: 'turbo', docsPer50ms: 1.5, quality: 0.55 }]);
    assert.deepEqual(ragChart!.points.map((p) => p.quality), [0.7, 0.75]);
    for (const chart of report.charts) {
      assert.match(chart.svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(chart.svg, />tiny</);
      assert.match(chart.svg, />turbo</);
      assert.match(chart.svg, /axis does not start at 0/);
      assert.match(chart.svg, /documents per 50 ms/);
      assert.match(chart.svg, />BM25 alone</);
    }
    assert.match(report.markdown, /!\[BEIR: NDCG@10 against reranking speed\]\(beir-quality-speed\.svg\)/);
  });

  test('a summary: one row per ranking with NDCG@10 per set and their mean, RAG, speed, parameters and size', async () => {
    const withParams = { ...speed('turbo', 1.5), parameters: 9_870_000 };
    const report = await buildReport([beir('scifact', 'turbo', 0.70), beir('scifact', 'tiny', 0.66), trec('turbo', 0.6), rag('turbo', 0.75), withParams, speed('tiny', 3),
      beir('scifact', 'tiny-int8', 0.65), { ...speed('tiny', 6), precision: 'int8' }]);
    assert.match(report.markdown, /## Summary[\s\S]*## BEIR/);
    assert.match(report.markdown, /\| ranking \| scifact NDCG@10 \| dl19 NDCG@10 \| mean NDCG@10 \| essay hit rate \/ MRR \| docs per 50 ms \| parameters \| model size \|/);
    assert.match(report.markdown, /\| BM25 \(first stage alone\) \| 0\.6000 \| 0\.5000 \| 0\.5500 \| 0\.8000 \/ 0\.5500 \| – \| – \| – \|/);
    assert.match(report.markdown, /\| turbo \| 0\.7000 \| 0\.6000 \| 0\.6500 \| 0\.9000 \/ 0\.7500 \| 1\.5 \| 9\.9M \| 150\.0 MiB \|/);
    // tiny lacks DL19: no mean over a different set of datasets
    assert.match(report.markdown, /\| tiny \| 0\.6600 \| – \| – \| – \| 3\.0 \| – \| 150\.0 MiB \|/);
    // an int8 run (labelled <model>-int8 by eval) is paired with the model's int8 speed
    assert.match(report.markdown, /\| tiny-int8 \| 0\.6500 \| – \| – \| – \| 6\.0 \| – \| 150\.0 MiB \|/);
  });

  test('says when no model can be charted yet', async () => {
    const report = await buildReport([beir('scifact', 'turbo', 0.7)]);
    assert.equal(report.charts[0]!.points.length, 0);
    assert.match(report.markdown, /no model has both a quality and a speed result yet/);
  });
});
