import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ModelConfigError } from '../../src/errors.js';
import { Reranker, sigmoid } from '../../src/rerank/index.js';
import { GOLDEN_FIXTURES, fixtureDir, loadExpected, tempDir } from '../helpers.js';

for (const name of GOLDEN_FIXTURES) {
  test(`${name}: text in, reference logits out (tokenizer + model, batched)`, async () => {
    const expected = loadExpected(name);
    const reranker = await Reranker.load(fixtureDir(name), { threads: 1, maxLength: expected.tokenizer.max_length });
    const logits = await reranker.score(expected.cases.map((c) => ({ query: c.query, document: c.document })));
    expected.cases.forEach((c, i) => {
      assert.ok(Math.abs(logits[i]! - c.logit) < 1e-4, `${c.id}: got ${logits[i]}, reference ${c.logit}`);
    });
    await reranker.close();
  });
}

test('rerank sorts by score, reports sigmoid(logit), honours topN and returnDocuments', async () => {
  const expected = loadExpected('jinabert-tiny-golden');
  const reranker = await Reranker.load(fixtureDir('jinabert-tiny-golden'), { threads: 1, maxLength: 64 });
  const cases = expected.cases.slice(0, 8);
  const query = cases[0]!.query;
  const docs = cases.map((c) => c.document);
  const all = await reranker.rerank(query, docs);
  assert.equal(all.length, docs.length);
  for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.score >= all[i]!.score);
  for (const r of all) {
    assert.ok(Math.abs(r.score - sigmoid(r.logit)) < 1e-12);
    assert.equal(r.document, undefined);
  }
  assert.deepEqual([...all.map((r) => r.index)].sort((a, b) => a - b), docs.map((_, i) => i));
  const top = await reranker.rerank(query, docs.map((text) => ({ text })), { topN: 3, returnDocuments: true });
  assert.equal(top.length, 3);
  assert.deepEqual(top.map((r) => r.index), all.slice(0, 3).map((r) => r.index));
  assert.equal(top[0]!.document!.text, docs[top[0]!.index]);
  await reranker.close();
});

test('ties keep input order; empty list gives empty result; empty string is a document', async () => {
  const reranker = await Reranker.load(fixtureDir('bert-minilm-golden'), { threads: 1 });
  const same = await reranker.rerank('q', ['same text', 'other', 'same text', 'same text']);
  const tied = same.filter((r) => r.index !== 1);
  assert.deepEqual(tied.map((r) => r.index), [0, 2, 3]);
  // A real tie: equal logits, so the order above comes from the stable sort, not from the scores.
  assert.equal(tied[1]!.logit, tied[0]!.logit);
  assert.equal(tied[2]!.logit, tied[0]!.logit);
  assert.deepEqual(await reranker.rerank('q', []), []);
  const withEmpty = await reranker.rerank('how do rerankers work', ['']);
  const reference = loadExpected('bert-minilm-golden').cases.find((c) => c.id === 'empty-document')!;
  assert.ok(Math.abs(withEmpty[0]!.logit - reference.logit) < 1e-4);
  await reranker.close();
});

test('scores do not depend on batch size or on the other documents in the batch', async () => {
  const expected = loadExpected('jinabert-bpe-golden');
  const reranker = await Reranker.load(fixtureDir('jinabert-bpe-golden'), { threads: 1, maxLength: 64 });
  const pairs = expected.cases.map((c) => ({ query: c.query, document: c.document }));
  const batched = await reranker.score(pairs, { batchSize: 32 });
  const single = await reranker.score(pairs, { batchSize: 1 });
  batched.forEach((v, i) => assert.ok(Math.abs(v - single[i]!) < 1e-5, `pair ${i}: ${v} vs ${single[i]}`));
  await reranker.close();
});

test('bad rerank arguments are refused with a clear error', async () => {
  const reranker = await Reranker.load(fixtureDir('jinabert-tiny-golden'), { threads: 1 });
  await assert.rejects(reranker.rerank('q', ['a'], { topN: -1 }), /topN must be a non-negative integer/);
  await assert.rejects(reranker.rerank('q', [42 as unknown as string]), /document 0 must be a string or an object/);
  await assert.rejects(reranker.score([{ query: 'q', document: 'd' }], { maxLength: 9000 }), /at most 8192 tokens/);
  await assert.rejects(reranker.score([{ query: 'q', document: 'd' }], { maxLength: 3 }), /too small/);
  await reranker.close();
});

test('a tokenizer with more tokens than the model has embedding rows is refused, naming tokenizer.json', async () => {
  // Ids past the embedding table would make ONNX Runtime's Gather fail mid-request (or, on
  // some kernels, read the wrong row): the mismatch must be caught when the model loads.
  const dir = path.join(tempDir('turborank-vocab-'), 'minilm');
  fs.cpSync(fixtureDir('bert-minilm-golden'), dir, { recursive: true });
  const tokenizerPath = path.join(dir, 'tokenizer.json');
  const tokenizer = JSON.parse(fs.readFileSync(tokenizerPath, 'utf8')) as { model: { vocab: Record<string, number> } };
  const rows = Object.keys(tokenizer.model.vocab).length;
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { vocab_size: number };
  assert.equal(config.vocab_size, rows, 'the fixture starts consistent');
  tokenizer.model.vocab['zzzextra'] = rows;
  fs.writeFileSync(tokenizerPath, JSON.stringify(tokenizer));
  await assert.rejects(Reranker.load(dir, { threads: 1 }), (err: unknown) => {
    assert.ok(err instanceof ModelConfigError, String(err));
    assert.equal(err.path, tokenizerPath);
    assert.match(err.message, new RegExp(`has ${rows + 1} tokens but the model's embedding has ${rows} rows`));
    assert.match(err.message, /use the tokenizer that shipped with the model/);
    return true;
  });
  // The untouched fixture loads: the check is about the mismatch, not the files.
  await (await Reranker.load(fixtureDir('bert-minilm-golden'), { threads: 1 })).close();
});
