/**
 * `turborank eval` with the XLM-RoBERTa and DeBERTa-v3 fixtures: the same command as for BERT,
 * nothing per architecture, and the reranked run holds each model's own logits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ndcgAtK } from '../../src/eval/metrics.js';
import { Reranker } from '../../src/rerank/index.js';
import { fixtureDir } from '../helpers.js';
import { assertOk, parseJson, runCli } from '../cli/support.js';
import { TREC_CANDIDATES, TREC_QRELS, scratchDir, writeTrecFixture } from './fixtures.js';

for (const fixture of ['xlmr-golden', 'deberta-v2-golden'] as const) {
  test(`eval trec reranks with ${fixture}: its logits in the run, best first, and the NDCG of that order`, async () => {
    const work = scratchDir(`arch-${fixture}-`);
    const data = writeTrecFixture(path.join(work, 'tiny-dl'));
    const r = await runCli(['eval', 'trec', '--data', data, '--model', fixtureDir(fixture), '--out', path.join(work, 'out'), '--json', '--max-length', '64', '--threads', '1'], { timeoutMs: 60_000 });
    assertOk(r);
    const json = parseJson<{ label: string; reranked: { 'ndcg@10': number }; runs: { reranked: string } }>(r);
    assert.equal(json.label, fixture);

    // The same pairs scored in process: the run must carry exactly these logits.
    const reranker = await Reranker.load(fixtureDir(fixture), { threads: 1, maxLength: 64 });
    const hits = TREC_CANDIDATES.flatMap((c) => c.hits.map((h) => ({ qid: String(h.qid), docid: h.docid, query: c.query, document: h.content })));
    const logits = await reranker.score(hits);
    await reranker.close();
    const expected = new Map(hits.map((h, i) => [`${h.qid} ${h.docid}`, logits[i]!]));

    const lines = fs.readFileSync(json.runs.reranked, 'utf8').trim().split('\n').map((line) => line.split(' '));
    const judged = lines.filter(([qid]) => qid !== '103'); // 103 has no judgements: skipped
    assert.equal(judged.length, 5, fs.readFileSync(json.runs.reranked, 'utf8'));
    const order = new Map<string, string[]>();
    let previous: { qid: string; score: number } | undefined;
    for (const [qid, , docid, , score] of judged) {
      const want = expected.get(`${qid} ${docid}`);
      assert.ok(want !== undefined && Math.abs(Number(score) - want) < 1e-6, `${qid} ${docid}: run score ${score}, model logit ${want}`);
      if (previous && previous.qid === qid) assert.ok(Number(score) <= previous.score, `${qid}: not best first`);
      previous = { qid: qid!, score: Number(score) };
      order.set(qid!, [...(order.get(qid!) ?? []), docid!]);
    }
    const grades = new Map<string, Map<string, number>>();
    for (const [qid, , docid, grade] of TREC_QRELS.trim().split('\n').map((l) => l.split(' '))) {
      grades.set(qid!, (grades.get(qid!) ?? new Map<string, number>()).set(docid!, Number(grade)));
    }
    const ndcg = [...order].reduce((sum, [qid, ranked]) => sum + ndcgAtK(ranked, grades.get(qid)!, 10), 0) / order.size;
    assert.ok(Math.abs(json.reranked['ndcg@10'] - ndcg) < 1e-12, `reported ${json.reranked['ndcg@10']}, from the run ${ndcg}`);
  });
}
