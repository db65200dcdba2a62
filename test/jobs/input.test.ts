/** What `jobs submit` turns candidate lists into: pairs in query and candidate order, with their ids. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseInputFormat, readJobInput } from '../../src/cli/jobs-input.js';
import { InputError, UsageError } from '../../src/errors.js';
import { tempDir } from '../helpers.js';

async function collect(lines: AsyncIterable<[number, string]>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const [, line] of lines) out.push(JSON.parse(line));
  return out;
}

describe('jobs submit input', () => {
  const dir = tempDir('turborank-jobs-input-');
  const beir = path.join(dir, 'beir');
  fs.mkdirSync(path.join(beir, 'qrels'), { recursive: true });
  fs.writeFileSync(path.join(beir, 'corpus.jsonl'), [
    { _id: 'a', title: 'Alpha', text: 'first document' },
    { _id: 'b', title: '', text: 'second document' },
    { _id: 'c', title: 'Gamma', text: 'third' },
  ].map((d) => JSON.stringify(d)).join('\n') + '\n');
  fs.writeFileSync(path.join(beir, 'queries.jsonl'), '{"_id":"q1","text":"query one"}\n{"_id":"q2","text":"query two"}\n{"_id":"q3","text":"not in test"}\n');
  fs.writeFileSync(path.join(beir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\ta\t1\nq2\tc\t1\n');
  const runFile = path.join(dir, 'bm25.trec');
  fs.writeFileSync(runFile, 'q1 Q0 b 2 1.5 bm25\nq1 Q0 a 1 2.5 bm25\nq1 Q0 c 3 0.5 bm25\nq2 Q0 c 1 3.0 bm25\n');

  test('a folder is read as BEIR; its run gives pairs best first per query, cut at --top-k, with ids', async () => {
    assert.equal(parseInputFormat(undefined, beir), 'beir');
    assert.equal(parseInputFormat(undefined, runFile), 'pairs');
    const input = await readJobInput(beir, 'beir', { run: runFile, topK: 2, split: 'test' });
    assert.deepEqual(await collect(input.lines), [
      { query: 'query one', document: 'Alpha first document' },
      { query: 'query one', document: 'second document' },
      { query: 'query two', document: 'Gamma third' },
    ]);
    assert.deepEqual(input.candidateIds, [['q1', 'a'], ['q1', 'b'], ['q2', 'c']]);
    assert.equal(input.format, 'beir');
  });

  test('BEIR without --run, a run naming a document the corpus lacks, or a query outside the split: named errors', async () => {
    await assert.rejects(readJobInput(beir, 'beir', { run: undefined, topK: undefined, split: 'test' }), (e) => e instanceof UsageError && /needs --run FILE/.test(e.message));
    const badDoc = path.join(dir, 'bad-doc.trec');
    fs.writeFileSync(badDoc, 'q1 Q0 zz 1 1.0 bm25\n');
    await assert.rejects(readJobInput(beir, 'beir', { run: badDoc, topK: undefined, split: 'test' }), (e) => e instanceof InputError && /document zz \(query q1\) is not in/.test(e.message));
    const badQuery = path.join(dir, 'bad-query.trec');
    fs.writeFileSync(badQuery, 'q3 Q0 a 1 1.0 bm25\n');
    await assert.rejects(readJobInput(beir, 'beir', { run: badQuery, topK: undefined, split: 'test' }), (e) => e instanceof InputError && /query q3 has no qrels/.test(e.message));
    assert.throws(() => parseInputFormat('csv', runFile), UsageError);
  });
});
