/**
 * The teacher's word-matching curriculum data (src/train/distill/matching.ts): only the
 * planted query words tell a positive from a negative, the files are the same for the same
 * seed, and a stage that cannot be drawn is refused with what to change.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { matchingPairs, matchingWords } from '../../src/train/distill/matching.js';
import { InputError } from '../../src/errors.js';

const WORDS = Array.from({ length: 200 }, (_, i) => `word${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`);

interface Pair { query: string; document: string; label: number }

function parse(text: string): Pair[] {
  return text.trim().split('\n').map((l) => JSON.parse(l) as Pair);
}

describe('matching pairs', () => {
  const stage = { query_words: 3, document_words: 12, planted: 2 };
  const pairs = parse(matchingPairs(WORDS, stage, 400, 7));

  test('positives hold exactly `planted` query words at distinct places; negatives none; two pairs per query', () => {
    assert.equal(pairs.length, 400);
    for (let i = 0; i < pairs.length; i += 2) {
      assert.equal(pairs[i]!.query, pairs[i + 1]!.query);
      assert.deepEqual([pairs[i]!.label, pairs[i + 1]!.label], [0, 1]);
    }
    assert.equal(pairs.filter((p) => p.label === 1).length, 200);
    for (const p of pairs) {
      const query = p.query.split(' ');
      const document = p.document.split(' ');
      assert.equal(query.length, 3);
      assert.equal(new Set(query).size, 3, 'query words are distinct');
      assert.equal(document.length, 12);
      const hits = document.filter((w) => query.includes(w)).length;
      assert.equal(hits, p.label === 1 ? 2 : 0, JSON.stringify(p));
      for (const w of [...query, ...document]) assert.ok(WORDS.includes(w), w);
    }
  });

  test('the label cannot be read off anything but the matching words', () => {
    // Without the planted words a positive's other words are drawn like a negative's: the
    // rate at which each vocabulary word appears must not differ by label beyond noise.
    const many = parse(matchingPairs(WORDS, { query_words: 1, document_words: 8, planted: 1 }, 8000, 11));
    const rate = (label: number): Map<string, number> => {
      const counts = new Map<string, number>();
      for (const p of many.filter((x) => x.label === label)) {
        for (const w of p.document.split(' ')) if (w !== p.query) counts.set(w, (counts.get(w) ?? 0) + 1);
      }
      return counts;
    };
    const [neg, pos] = [rate(0), rate(1)];
    const totalNeg = [...neg.values()].reduce((a, b) => a + b, 0);
    const totalPos = [...pos.values()].reduce((a, b) => a + b, 0);
    let worst = 0;
    for (const w of WORDS) worst = Math.max(worst, Math.abs((neg.get(w) ?? 0) / totalNeg - (pos.get(w) ?? 0) / totalPos));
    assert.ok(worst < 0.004, `word frequencies differ by label by up to ${worst}`);
  });

  test('same seed, same pairs; another seed, other pairs', () => {
    assert.equal(matchingPairs(WORDS, stage, 400, 7), matchingPairs(WORDS, stage, 400, 7));
    assert.notEqual(matchingPairs(WORDS, stage, 400, 7), matchingPairs(WORDS, stage, 400, 8));
  });

  test('a stage that plants more words than it has is refused', () => {
    assert.throws(() => matchingPairs(WORDS, { query_words: 1, document_words: 4, planted: 2 }, 10, 1), (e: unknown) => e instanceof InputError && /plants 2 words/.test(e.message));
    assert.throws(() => matchingPairs(WORDS.slice(0, 20), { query_words: 12, document_words: 40, planted: 1 }, 10, 1), InputError);
  });

  test('words come from the vocabulary: whole lower-case words of four or more letters', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'matching-'));
    const file = path.join(dir, 'tokenizer.json');
    const vocab: Record<string, number> = { '[PAD]': 0, '##ing': 1, the: 2, Word: 3, 'x-ray': 4 };
    WORDS.slice(0, 30).forEach((w, i) => { vocab[w] = i + 5; });
    fs.writeFileSync(file, JSON.stringify({ model: { type: 'WordPiece', vocab } }));
    assert.deepEqual(matchingWords(file), WORDS.slice(0, 30));
    fs.writeFileSync(file, JSON.stringify({ model: { type: 'WordPiece', vocab: { '[PAD]': 0, word: 1 } } }));
    assert.throws(() => matchingWords(file), (e: unknown) => e instanceof InputError && /only 1 whole words/.test(e.message));
    assert.throws(() => matchingWords(path.join(dir, 'missing.json')), InputError);
  });
});
