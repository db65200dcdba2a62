/** The cross-request queue: which pairs go together, and every request getting its own logits back. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { InputError } from '../../src/errors.js';
import { Reranker, type EncodedPair } from '../../src/rerank/index.js';
import { BatchQueue, MAX_PADDING, selectBatch, type BatchReport, type Waiting } from '../../src/server/batch-queue.js';
import { PairTokenizer } from '../../src/tokenizer/index.js';
import { MINILM, TINY, longDocuments } from './support.js';

/** A queued request whose pairs have these lengths (token ids do not matter to the planner). */
function waiting(...lengths: number[]): Waiting {
  const pairs = lengths.map((length) => ({ ids: new Int32Array(length), typeIds: new Int32Array(length), length }));
  return { pairs, waiting: lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b) };
}

const UNLIMITED = Number.POSITIVE_INFINITY;

describe('selectBatch', () => {
  test('the head of line (oldest request\'s longest pair) runs next, joined by the nearest lengths while padding stays small', () => {
    const queue = [waiting(50, 10), waiting(48, 47, 12), waiting(100)];
    const batch = selectBatch(queue, { maxBatchTokens: 1000, maxBatchSize: 8, maxBatchRequests: UNLIMITED });
    // Sorted: 100 | 50 48 47 | 12 10. The 100 is younger and would pad the batch by 25%; the 12 by 21%.
    assert.deepEqual(batch, [[0, 0], [1, 0], [1, 1]]);
    assert.ok(MAX_PADDING < 0.2);
  });

  test('longer pairs from younger requests join the head of line when they pad little', () => {
    const batch = selectBatch([waiting(50), waiting(52, 51)], { maxBatchTokens: 1000, maxBatchSize: 8, maxBatchRequests: UNLIMITED });
    assert.deepEqual(batch, [[1, 0], [1, 1], [0, 0]]);
  });

  test('the pair count limit and the padded-token budget both cut a batch; a single over-budget pair still runs', () => {
    const queue = [waiting(20, 20, 20, 20, 20)];
    assert.equal(selectBatch(queue, { maxBatchTokens: 1000, maxBatchSize: 2, maxBatchRequests: UNLIMITED }).length, 2);
    assert.equal(selectBatch(queue, { maxBatchTokens: 60, maxBatchSize: 64, maxBatchRequests: UNLIMITED }).length, 3);
    assert.deepEqual(selectBatch([waiting(500, 490)], { maxBatchTokens: 60, maxBatchSize: 64, maxBatchRequests: UNLIMITED }), [[0, 0]]);
  });

  test('maxBatchRequests 1 keeps each batch to the oldest request', () => {
    const queue = [waiting(30, 30), waiting(30, 30, 30)];
    const batch = selectBatch(queue, { maxBatchTokens: 10_000, maxBatchSize: 64, maxBatchRequests: 1 });
    assert.deepEqual(batch, [[0, 0], [0, 1]]);
    const shared = selectBatch(queue, { maxBatchTokens: 10_000, maxBatchSize: 64, maxBatchRequests: UNLIMITED });
    assert.equal(shared.length, 5);
  });

  test('an empty queue gives an empty batch', () => {
    assert.deepEqual(selectBatch([], { maxBatchTokens: 100, maxBatchSize: 4, maxBatchRequests: UNLIMITED }), []);
  });
});

describe('BatchQueue with a real model', () => {
  let reranker: Reranker;
  let tokenizer: PairTokenizer;
  const encode = (query: string, documents: readonly string[], maxLength = 128): Promise<EncodedPair[]> =>
    tokenizer.encodePairs(documents.map((document) => ({ query, document })), maxLength);
  const runOneBatch = (pairs: readonly EncodedPair[]): Promise<Float32Array> =>
    reranker.scoreEncoded(pairs, { maxBatchSize: pairs.length, maxBatchTokens: UNLIMITED });

  before(async () => {
    reranker = await Reranker.load(TINY, { threads: 1 });
    tokenizer = await PairTokenizer.load(path.join(TINY, 'tokenizer.json'));
  });
  after(async () => {
    await reranker?.close();
  });

  test('concurrent requests share batches, and each gets its own logits in its own order', async () => {
    const reports: BatchReport[] = [];
    const queue = new BatchQueue(runOneBatch, { maxBatchTokens: 4096, maxBatchSize: 16, maxBatchRequests: UNLIMITED }, { onBatch: (r) => reports.push(r) });
    const requests = await Promise.all([3, 7, 1, 12, 5].map(async (n, r) => {
      const documents = longDocuments(n, 5 + 3 * r).map((d, i) => `${i} ${d}`.slice(0, 20 + 13 * i));
      return { query: `query ${r}`, documents, pairs: await encode(`query ${r}`, documents) };
    }));
    const answers = await Promise.all(requests.map((r) => queue.submit(r.pairs)));
    for (const [i, r] of requests.entries()) {
      const alone = await reranker.score(r.documents.map((document) => ({ query: r.query, document })), { maxLength: 128 });
      assert.equal(answers[i]!.length, r.documents.length);
      answers[i]!.forEach((logit, k) => assert.ok(Math.abs(logit - alone[k]!) < 1e-5, `request ${i} pair ${k}: ${logit} vs ${alone[k]}`));
    }
    assert.ok(reports.some((r) => r.requests > 1), `no batch mixed requests: ${JSON.stringify(reports)}`);
    assert.ok(reports.every((r) => r.pairs <= 16 && (r.paddedTokens <= 4096 || r.pairs === 1)));
    assert.equal(reports.reduce((sum, r) => sum + r.pairs, 0), 28);
    assert.equal(queue.depth, 0);
  });

  test('an aborted request leaves the queue, rejects with the abort reason, and the others complete', async () => {
    const cancelled: number[] = [];
    const queue = new BatchQueue(runOneBatch, { maxBatchTokens: 2048, maxBatchSize: 8, maxBatchRequests: UNLIMITED }, { onCancelled: (n) => cancelled.push(n) });
    const big = await encode('q', longDocuments(40, 60));
    const victim = await encode('q', longDocuments(30, 60));
    const abort = new AbortController();
    const first = queue.submit(big);
    const second = queue.submit(victim, abort.signal);
    assert.equal(queue.depth, 70 - 8, 'the first batch is running, the rest wait');
    abort.abort(new Error('client went away'));
    await assert.rejects(second, /client went away/);
    assert.deepEqual(cancelled, [30]);
    assert.equal(queue.depth, 40 - 8);
    assert.equal((await first).length, 40);
    await assert.rejects(queue.submit(victim, abort.signal), /client went away/, 'an already aborted signal is refused');
    assert.deepEqual(cancelled, [30, 30]);
  });

  test('the next batch is handed to the model before the last one\'s requests are answered', async () => {
    const events: string[] = [];
    const run: typeof runOneBatch = (pairs) => {
      events.push(`run ${pairs.length}`);
      return runOneBatch(pairs);
    };
    const queue = new BatchQueue(run, { maxBatchTokens: 100_000, maxBatchSize: 4, maxBatchRequests: 1 });
    const [a, b] = [queue.submit(await encode('q', ['first request'])), queue.submit(await encode('q', ['second', 'request']))];
    await Promise.all([a.then(() => events.push('answer a')), b.then(() => events.push('answer b'))]);
    assert.deepEqual(events, ['run 1', 'run 2', 'answer a', 'answer b'], 'the model would sit idle while request a is answered');
  });

  test('a batch that fails rejects only its requests; the queue goes on', async () => {
    const minilm = await Reranker.load(MINILM, { threads: 1 });
    const minilmTokenizer = await PairTokenizer.load(path.join(MINILM, 'tokenizer.json'));
    try {
      const run = (pairs: readonly EncodedPair[]): Promise<Float32Array> => minilm.scoreEncoded(pairs, { maxBatchSize: pairs.length, maxBatchTokens: UNLIMITED });
      const queue = new BatchQueue(run, { maxBatchTokens: 100_000, maxBatchSize: 64, maxBatchRequests: 1 });
      // 600 tokens is past MiniLM's 512 positions: the model refuses the batch.
      const tooLong = await minilmTokenizer.encodePairs([{ query: 'q', document: longDocuments(1, 700)[0]! }], 600);
      const fine = await minilmTokenizer.encodePairs([{ query: 'q', document: 'short' }], 64);
      const [bad, good] = [queue.submit(tooLong), queue.submit(fine)];
      await assert.rejects(bad, (err: unknown) => err instanceof InputError && /accepts at most 512/.test(err.message));
      assert.equal((await good).length, 1);
    } finally {
      await minilm.close();
    }
  });
});
