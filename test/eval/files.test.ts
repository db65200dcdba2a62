/** The files evaluation writes and reads: TREC runs and qrels, and the resumable score cache. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ScoreCache } from '../../src/eval/score-cache.js';
import { readTrecQrels, readTrecRun, truncateRun, writeTrecRun } from '../../src/eval/trec-run.js';
import { FileError, InputError } from '../../src/errors.js';
import { scratchDir } from './fixtures.js';

describe('TREC run files', () => {
  test('are written in trec_eval order with ranks, and read back with exact scores', async () => {
    const file = path.join(scratchDir(), 'runs', 'x.run');
    const score = Math.fround(0.1234567);
    writeTrecRun(file, new Map([['q1', [{ docId: 'a', score: 1 }, { docId: 'b', score }, { docId: 'c', score: 1 }]]]), 'my-tag');
    assert.equal(fs.readFileSync(file, 'utf8'), `q1 Q0 c 1 1 my-tag\nq1 Q0 a 2 1 my-tag\nq1 Q0 b 3 ${score} my-tag\n`);
    const read = await readTrecRun(file);
    assert.equal(read.tag, 'my-tag');
    assert.deepEqual(read.run.get('q1'), [{ docId: 'c', score: 1 }, { docId: 'a', score: 1 }, { docId: 'b', score }]);
    assert.deepEqual(truncateRun(read.run, 1).get('q1'), [{ docId: 'c', score: 1 }]);
  });

  test('name the line of a malformed entry or a repeated document', async () => {
    const file = path.join(scratchDir(), 'bad.run');
    fs.writeFileSync(file, 'q1 Q0 a 1 2.5 t\nq1 Q0 b 2 high t\n');
    await assert.rejects(readTrecRun(file), (err: Error) => err instanceof InputError && /bad\.run line 2: expected "query-id Q0 doc-id rank score tag"/.test(err.message));
    fs.writeFileSync(file, 'q1 Q0 a 1 2.5 t\nq1 Q0 a 2 1.5 t\n');
    await assert.rejects(readTrecRun(file), /line 2: document a appears twice for query q1/);
    await assert.rejects(readTrecRun(path.join(scratchDir(), 'missing.run')), (err: Error) => err instanceof FileError && /no such file/.test(err.message));
  });

  test('qrels: "qid 0 docid grade" lines, graded', async () => {
    const file = path.join(scratchDir(), 'qrels.txt');
    fs.writeFileSync(file, '1 0 d1 3\r\n1 0 d2 0\n2 Q0 d3 1\n');
    const qrels = await readTrecQrels(file);
    assert.deepEqual([...qrels.get('1')!], [['d1', 3], ['d2', 0]]);
    assert.deepEqual([...qrels.get('2')!], [['d3', 1]]);
    fs.writeFileSync(file, '1 0 d1 relevant\n');
    await assert.rejects(readTrecQrels(file), /qrels\.txt line 1: expected "query-id 0 doc-id grade"/);
  });
});

describe('score cache', () => {
  const key = { model: '/models/m', maxLength: 256, documents: 'title + text' };

  test('keeps scores across opens', () => {
    const file = path.join(scratchDir(), 'out', 'scores.jsonl');
    ScoreCache.open(file, key).save('q1', ['a', 'b'], Float32Array.from([1.5, -2]));
    const reopened = ScoreCache.open(file, key);
    assert.equal(reopened.queries, 1);
    assert.deepEqual([...reopened.get('q1')!], [['a', 1.5], ['b', -2]]);
  });

  test('drops a line cut short by a kill, so the next write starts cleanly', () => {
    const file = path.join(scratchDir(), 'scores.jsonl');
    ScoreCache.open(file, key).save('q1', ['a'], Float32Array.from([1]));
    fs.appendFileSync(file, '{"q":"q2","d":["a"],"s":[0.'); // killed mid-write
    const cache = ScoreCache.open(file, key);
    assert.equal(cache.get('q2'), undefined);
    cache.save('q2', ['a'], Float32Array.from([2]));
    assert.deepEqual([...ScoreCache.open(file, key).get('q2')!], [['a', 2]]);
  });

  test('refuses scores made by another model or token budget, naming both', () => {
    const file = path.join(scratchDir(), 'scores.jsonl');
    ScoreCache.open(file, key);
    assert.throws(() => ScoreCache.open(file, { ...key, maxLength: 512 }),
      (err: Error) => err instanceof FileError && /max length 256/.test(err.message) && /max length 512/.test(err.message) && /--out/.test(err.message));
  });

  test('refuses a file that is not a score cache, or a corrupt line inside one', () => {
    const file = path.join(scratchDir(), 'scores.jsonl');
    fs.writeFileSync(file, 'hello\n');
    assert.throws(() => ScoreCache.open(file, key), /is not a turborank score cache/);
    ScoreCache.open(path.join(path.dirname(file), 'ok.jsonl'), key);
    fs.writeFileSync(file, fs.readFileSync(path.join(path.dirname(file), 'ok.jsonl'), 'utf8') + 'garbage\n{"q":"q1","d":[],"s":[]}\n');
    assert.throws(() => ScoreCache.open(file, key), /line 2 is not a saved score line/);
  });
});
