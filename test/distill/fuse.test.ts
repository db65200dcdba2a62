/**
 * The fusion stage's targets (src/train/distill/fuse.ts): the teacher's logits and BM25's
 * scores fused as per-query z-scores and put back on the teacher's scale, and the Margin-MSE
 * pairs made from them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fusedScores, fusionMarginPairs } from '../../src/train/distill/fuse.js';
import { InputError } from '../../src/errors.js';
import { readLabels } from '../../src/train/distill/label.js';
import { sha256File } from '../../src/checkpoint/files.js';

function close(a: readonly number[], b: readonly number[], tolerance = 1e-9): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < tolerance, `[${i}] ${a[i]} vs ${b[i]}`);
}

describe('fusedScores', () => {
  const teacher = [4, 1, 0, -2];
  const bm25 = [10, 30, 20, 0];

  test('weight 0 gives back the teacher\'s logits; weight 1 BM25\'s order on the teacher\'s mean and spread', () => {
    close(fusedScores(teacher, bm25, 0), teacher);
    const onlyBm25 = fusedScores(teacher, bm25, 1);
    // BM25's z-scores: mean 15, std sqrt(125); the teacher's: mean 0.75, std sqrt(4.6875).
    close(onlyBm25, bm25.map((b) => 0.75 + Math.sqrt(4.6875) * (b - 15) / Math.sqrt(125)));
    assert.deepEqual([...onlyBm25.keys()].sort((i, j) => onlyBm25[j]! - onlyBm25[i]!), [1, 2, 0, 3]);
  });

  test('at equal weights each moves halfway: a candidate both rank first stays first, disagreements meet between', () => {
    const fused = fusedScores([3, 2, 1], [1, 3, 2], 0.5);
    // z-scores: teacher [1.2247, 0, -1.2247], BM25 [-1.2247, 1.2247, 0]; mean 2, std 0.8165.
    close(fused, [2, 2.5, 1.5], 1e-9);
  });

  test('a list whose scores are all equal contributes nothing; lengths must agree', () => {
    close(fusedScores([1, 3], [5, 5], 0.5), [1.5, 2.5]);
    close(fusedScores([2, 2], [1, 3], 0.5), [2, 2], 1e-12);
    assert.deepEqual(fusedScores([], [], 0.5), []);
    assert.throws(() => fusedScores([1, 2], [1], 0.5), RangeError);
  });
});

describe('fusionMarginPairs', () => {
  function files(labels: object[]): { labels: string; queries: string; documents: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turborank-fuse-'));
    const write = (name: string, lines: object[]): string => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, lines.map((l) => JSON.stringify(l) + '\n').join(''));
      return file;
    };
    const queries = write('queries.jsonl', [{ id: 'q1', query: 'copy files', candidates: [{ id: 'a', bm25: 1 }, { id: 'b', bm25: 3 }, { id: 'c', bm25: 2 }] }]);
    // What the label stage records beside its labels: the query sets it scored.
    fs.writeFileSync(path.join(dir, 'provenance.json'), JSON.stringify({ data: { queries, queries_sha256: sha256File(queries) } }));
    return {
      labels: write('labels.jsonl', labels),
      queries,
      documents: write('documents.jsonl', [{ id: 'a', text: 'doc a' }, { id: 'b', text: 'doc b' }, { id: 'c', text: 'doc c' }]),
    };
  }

  test('every pair\'s targets are fused scores, the first of the pair from the fusion\'s top', async () => {
    const f = files([{ query_id: 'q1', doc_ids: ['a', 'b', 'c'], logits: [3, 2, 1] }]);
    const r = await fusionMarginPairs(f.labels, f.queries, f.documents, { bm25Weight: 0.5, pairsPerQuery: 6, top: 1, seed: 1 });
    assert.equal(r.queries, 1);
    const pairs = r.jsonl.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(pairs.length, r.pairs);
    assert.ok(pairs.length >= 1);
    const byText: Record<string, number> = { 'doc a': 2, 'doc b': 2.5, 'doc c': 1.5 };
    for (const p of pairs) {
      assert.equal(p.query, 'copy files');
      assert.equal(p.positive, 'doc b', 'the fusion ranks b first (the teacher ranks a first)');
      assert.ok(Math.abs((p.teacher_positive as number) - byText[p.positive as string]!) < 1e-9);
      assert.ok(Math.abs((p.teacher_negative as number) - byText[p.negative as string]!) < 1e-9);
    }
  });

  test('labels that name a candidate BM25 did not retrieve, or an unknown query, are refused with what to do', async () => {
    const stray = files([{ query_id: 'q1', doc_ids: ['a', 'z'], logits: [1, 0] }]);
    await assert.rejects(fusionMarginPairs(stray.labels, stray.queries, stray.documents, { bm25Weight: 0.5, pairsPerQuery: 1, top: 1, seed: 1 }),
      (e: unknown) => e instanceof InputError && /labels z, which is not among its BM25 candidates/.test(e.message) && /delete the fusion labels folder/.test(e.hint ?? ''));
    const unknown = files([{ query_id: 'q9', doc_ids: ['a'], logits: [1] }]);
    await assert.rejects(fusionMarginPairs(unknown.labels, unknown.queries, unknown.documents, { bm25Weight: 0.5, pairsPerQuery: 1, top: 1, seed: 1 }),
      (e: unknown) => e instanceof InputError && /query q9 is not in/.test(e.message));
  });

  test('labels made on other query sets than the data holds now are refused before any pair is made', async () => {
    const f = files([{ query_id: 'q1', doc_ids: ['a', 'b', 'c'], logits: [3, 2, 1] }]);
    // The same ids, another text: what a rebuild with another pipeline config can leave.
    fs.writeFileSync(f.queries, fs.readFileSync(f.queries, 'utf8').replace('copy files', 'move files'));
    await assert.rejects(fusionMarginPairs(f.labels, f.queries, f.documents, { bm25Weight: 0.5, pairsPerQuery: 1, top: 1, seed: 1 }),
      (e: unknown) => e instanceof InputError && /labels query sets with sha256 .* but .*queries\.jsonl is now/.test(e.message) && /label this data again/.test(e.hint ?? ''));
    fs.rmSync(path.join(path.dirname(f.labels), 'provenance.json'));
    await assert.rejects(fusionMarginPairs(f.labels, f.queries, f.documents, { bm25Weight: 0.5, pairsPerQuery: 1, top: 1, seed: 1 }),
      (e: unknown) => e instanceof InputError && /provenance\.json: no such file/.test(e.message));
  });

  test('a label line cut short mid-write (not JSON) is refused with its line number', () => {
    const f = files([{ query_id: 'q1', doc_ids: ['a'], logits: [1] }]);
    fs.appendFileSync(f.labels, '{"query_id":"q2","doc_ids":["a"');
    assert.throws(() => readLabels(f.labels), (e: unknown) => e instanceof InputError && /labels\.jsonl:2: not a JSON line/.test(e.message));
  });

  test('a damaged label line (a logit short, or not a number) is refused with what to do, not fused', async () => {
    for (const logits of [[1, 0], [1, null, 0]]) {
      const damaged = files([{ query_id: 'q1', doc_ids: ['a', 'b', 'c'], logits }]);
      await assert.rejects(fusionMarginPairs(damaged.labels, damaged.queries, damaged.documents, { bm25Weight: 0.5, pairsPerQuery: 1, top: 1, seed: 1 }),
        (e: unknown) => e instanceof InputError && /labels\.jsonl:1: query q1's line does not give one finite logit per candidate/.test(e.message) && /damaged: delete .*turborank-fuse-/.test(e.hint ?? ''));
    }
  });
});
