/** BM25 scores worked out by hand with Lucene's formula, and Lucene's details that move rankings. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Bm25Index, bm25Tag, decodeNorm, encodeNorm, PYSERINI_BM25 } from '../../src/eval/bm25.js';

const near = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual}, expected ${expected}`);

describe('BM25 (Lucene BM25Similarity, k1 = 0.9, b = 0.4)', () => {
  // Lengths after analysis: d1 = 3 (cat, cat, dog), d2 = 2 (cat, fish), d3 = 1 (bird); avgdl = 2.
  const index = Bm25Index.build([
    { id: 'd1', text: 'cat cat dog' },
    { id: 'd2', text: 'the cat and a fish' },
    { id: 'd3', text: 'bird' },
  ]);

  test('scores idf · tf / (tf + k1 · (1 − b + b · |d| / avgdl))', () => {
    // idf(cat) = ln(1 + (3 − 2 + 0.5) / (2 + 0.5)) = ln 1.6 = 0.4700036.
    // d1: tf 2, |d| 3 → 0.9 · (0.6 + 0.4 · 1.5) = 1.08 → 0.4700036 · 2 / 3.08 = 0.3051972.
    // d2: tf 1, |d| 2 → 0.9 · (0.6 + 0.4 · 1.0) = 0.90 → 0.4700036 · 1 / 1.90 = 0.2473703.
    const hits = index.search('cats', 10);
    assert.deepEqual(hits.map((h) => h.docId), ['d1', 'd2']);
    near(hits[0]!.score, 0.3051972, 'd1');
    near(hits[1]!.score, 0.2473703, 'd2');
  });

  test('sums over query terms; a repeated query term counts once per occurrence', () => {
    const one = index.search('dog', 10)[0]!.score; // idf(dog) = ln(1 + 2.5/1.5) = 0.9808293; tf 1, |d| 3 → / 2.08
    near(one, 0.9808293 / 2.08, 'dog');
    near(index.search('dog dog', 10)[0]!.score, 2 * one, 'dog dog');
    near(index.search('cat dog', 10)[0]!.score, 0.3051972 + one, 'cat dog');
  });

  test('returns the top k, and nothing for unknown or stop-word-only queries', () => {
    assert.equal(index.search('cat', 1).length, 1);
    assert.deepEqual(index.search('zebra', 10), []);
    assert.deepEqual(index.search('the and a', 10), []);
  });

  test('breaks score ties by document id, ascending (Pyserini)', () => {
    const tied = Bm25Index.build([{ id: 'b', text: 'same words' }, { id: 'c', text: 'same words' }, { id: 'a', text: 'same words' }]);
    assert.deepEqual(tied.search('same', 10).map((h) => h.docId), ['a', 'b', 'c']);
  });

  test('tags runs with the analyser and parameters', () => {
    assert.equal(bm25Tag(PYSERINI_BM25), 'bm25-lucene-english-porter-k1=0.9-b=0.4');
  });
});

describe('Lucene document-length norms (SmallFloat.intToByte4)', () => {
  test('are exact below 24 and keep 4 significant bits above', () => {
    for (let n = 0; n < 24; n++) assert.equal(decodeNorm(encodeNorm(n)), n);
    // 100 − 24 = 76 = 0b1001100 → kept as 0b1001 << 3 = 72 → 24 + 72 = 96.
    assert.equal(encodeNorm(100), 57);
    assert.equal(decodeNorm(57), 96);
    assert.equal(decodeNorm(encodeNorm(1000)), 984);
    assert.equal(encodeNorm(2 ** 31 - 1), 255);
  });

  test('make long documents of nearby lengths score alike', () => {
    const words = (n: number): string => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
    const index = Bm25Index.build([{ id: 'x', text: `needle ${words(99)}` }, { id: 'y', text: `needle ${words(100)}` }]);
    const [first, second] = index.search('needle', 2);
    assert.equal(first!.score, second!.score, 'lengths 100 and 101 share a norm');
    assert.deepEqual([first!.docId, second!.docId], ['x', 'y']);
  });
});

describe('BM25 indexing that Ctrl-C can stop', () => {
  const corpus = (n: number, seen: { count: number }): Iterable<{ id: string; text: string }> => ({
    *[Symbol.iterator]() {
      for (let i = 0; i < n; i++) {
        seen.count++;
        yield { id: `d${i}`, text: `cat number ${i} and dog ${i % 7}` };
      }
    },
  });

  test('builds the same index as build() when not interrupted', async () => {
    const a = Bm25Index.build(corpus(600, { count: 0 }));
    const b = await Bm25Index.buildInterruptibly(corpus(600, { count: 0 }), PYSERINI_BM25, { yieldEvery: 50 });
    assert.deepEqual(b.search('dog 3 cat', 10), a.search('dog 3 cat', 10));
  });

  test('stops between documents once the signal is aborted, without reading the rest', async () => {
    const controller = new AbortController();
    const seen = { count: 0 };
    setImmediate(() => controller.abort()); // runs at the first yield, as a SIGINT handler would
    await assert.rejects(Bm25Index.buildInterruptibly(corpus(100_000, seen), PYSERINI_BM25, { signal: controller.signal, yieldEvery: 100 }), { name: 'AbortError' });
    assert.ok(seen.count <= 200, `stopped after ${seen.count} of 100000 documents`);
  });
});

