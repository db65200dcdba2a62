/** Reranker.scoreEncoded: scoring pairs a caller has tokenized and batched itself (the server's queue). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { InputError } from '../../src/errors.js';
import { Reranker } from '../../src/rerank/index.js';
import { PairTokenizer } from '../../src/tokenizer/index.js';
import { fixtureDir, loadExpected } from '../helpers.js';

test('scoreEncoded gives score\'s logits, planned in batches or run as one batch', async () => {
  const expected = loadExpected('jinabert-bpe-golden');
  const dir = fixtureDir('jinabert-bpe-golden');
  const reranker = await Reranker.load(dir, { threads: 1, maxLength: expected.tokenizer.max_length });
  const tokenizer = await PairTokenizer.load(path.join(dir, 'tokenizer.json'));
  try {
    const pairs = expected.cases.map((c) => ({ query: c.query, document: c.document }));
    const encoded = await tokenizer.encodePairs(pairs, expected.tokenizer.max_length);
    const planned = await reranker.scoreEncoded(encoded, { maxBatchSize: 4 });
    const oneBatch = await reranker.scoreEncoded(encoded, { maxBatchSize: encoded.length, maxBatchTokens: Number.POSITIVE_INFINITY });
    expected.cases.forEach((c, i) => {
      assert.ok(Math.abs(planned[i]! - c.logit) < 1e-4, `${c.id}: ${planned[i]} vs reference ${c.logit}`);
      assert.ok(Math.abs(oneBatch[i]! - c.logit) < 1e-4, `${c.id} (one batch): ${oneBatch[i]} vs reference ${c.logit}`);
    });
    assert.deepEqual(await reranker.scoreEncoded([]), new Float32Array(0));
  } finally {
    await reranker.close();
  }
});

test('scoreEncoded refuses a pair longer than the model accepts, naming it', async () => {
  const dir = fixtureDir('bert-minilm-golden');
  const reranker = await Reranker.load(dir, { threads: 1 });
  const tokenizer = await PairTokenizer.load(path.join(dir, 'tokenizer.json'));
  try {
    const long = 'word '.repeat(700);
    const encoded = await tokenizer.encodePairs([{ query: 'q', document: 'short' }, { query: 'q', document: long }], 600);
    await assert.rejects(reranker.scoreEncoded(encoded), (err: unknown) =>
      err instanceof InputError && /pair 1 has 600 tokens; .* accepts at most 512/.test(err.message));
  } finally {
    await reranker.close();
  }
});
