/**
 * The shortcut for long documents: a WordPiece tokenizer with BERT-style normalizing and
 * splitting encodes a document cut at a space after 8 characters per token of the budget, not
 * the whole document. It must give exactly the ids of encoding the whole document, for every
 * budget and every kind of text, and must stay off for tokenizers whose spaces are part of
 * their tokens.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { PairTokenizer, type QueryDocumentPair } from '../../src/tokenizer/pair-tokenizer.js';
import { fixtureDir, repoRoot, type GoldenFixture } from '../helpers.js';

const WORDS = ['reranker', 'cross-encoder', 'Über', 'naïve', 'café', '東京', 'tokenizer', 'ALiBi', '3.14159', 'e-mail', '[SEP]', '[MASK]',
  'x'.repeat(120), 'supercalifragilisticexpialidocious', 'ΣΊΣΥΦΟΣ', '🙂', 'a\u0301', '\uD800', "don't", '(parenthesis)', 'U.S.A.', 'ﬁne'];
const GAPS = [' ', ' ', ' ', '  ', '\t', '\n', ' \n ', '\u00A0', ' \u3000 '];

/** Seeded text of about `chars` characters from WORDS and GAPS. */
function text(chars: number, seed: number): string {
  let state = seed;
  const next = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
  let out = '';
  while (out.length < chars) out += WORDS[next(WORDS.length)]! + GAPS[next(GAPS.length)]!;
  return out;
}

const WORDPIECE: readonly string[] = [
  path.join(fixtureDir('jinabert-tiny-golden'), 'tokenizer.json'),
  path.join(fixtureDir('bert-minilm-golden'), 'tokenizer.json'),
  path.join(repoRoot, 'models', 'turborank-turbo-en', 'tokenizer.json'),
];

describe('long documents are tokenized from a prefix, with the same ids as from the whole text', () => {
  for (const file of WORDPIECE) {
    test(path.basename(path.dirname(file)), async () => {
      const fast = await PairTokenizer.load(file);
      const whole = await PairTokenizer.load(file, { prefixCut: false });
      assert.equal(fast.prefixCut, true);
      assert.equal(whole.prefixCut, false);
      const pairs: QueryDocumentPair[] = [];
      for (let seed = 1; seed <= 40; seed++) pairs.push({ query: text(10 + (seed % 7) * 30, seed * 7), document: text(200 + seed * 97, seed) });
      pairs.push({ query: text(3000, 99), document: text(2500, 98) }); // the query longer than the document
      pairs.push({ query: 'q', document: 'x'.repeat(5000) }); // no space to cut at
      pairs.push({ query: 'q', document: `${'word '.repeat(300)}` }); // ends with a space
      for (const maxLength of [8, 16, 33, 64, 128, 256]) {
        const [a, b] = [await fast.encodePairs(pairs, maxLength), await whole.encodePairs(pairs, maxLength)];
        for (let i = 0; i < pairs.length; i++) {
          assert.deepEqual([...a[i]!.ids], [...b[i]!.ids], `pair ${i} at ${maxLength}`);
          assert.deepEqual([...a[i]!.typeIds], [...b[i]!.typeIds], `pair ${i} at ${maxLength}: type ids`);
        }
      }
      // 'left' keeps the end of the document: always from the whole text.
      const [left, leftWhole] = [await fast.encodePairs(pairs, 32, 'left'), await whole.encodePairs(pairs, 32, 'left')];
      assert.deepEqual(left.map((e) => [...e.ids]), leftWhole.map((e) => [...e.ids]));
    });
  }

  test('the shortcut is off for byte-level BPE and SentencePiece tokenizers', async () => {
    for (const name of ['jinabert-bpe-golden', 'xlmr-golden', 'deberta-v2-golden'] satisfies GoldenFixture[]) {
      const tokenizer = await PairTokenizer.load(path.join(fixtureDir(name), 'tokenizer.json'));
      assert.equal(tokenizer.prefixCut, false, name);
    }
  });
});
