/**
 * Left truncation (TEI's truncation_direction "Left"): the same longest-first split of the
 * budget as right truncation, keeping the end of each side instead of its start, as Hugging
 * Face tokenizers' TruncationDirection.Left does.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Tokenizer, TruncationStrategy } from 'tokenizers';
import { InputError } from '../../src/errors.js';
import { PairTokenizer } from '../../src/tokenizer/index.js';
import { fixtureDir, type GoldenFixture } from '../helpers.js';

const tokenizerPath = (fixture: GoldenFixture): string => path.join(fixtureDir(fixture), 'tokenizer.json');
const QUERY = 'which words does the end of the document keep';
const DOCUMENT = Array.from({ length: 400 }, (_, i) => ['alpha', 'beta', 'gamma', 'tokenizer', 'document', 'very'][i % 6] + (i % 7 === 0 ? ' end' : '')).join(' ') + ' final closing words';

describe('left truncation', () => {
  for (const fixture of ['jinabert-tiny-golden', 'jinabert-bpe-golden'] as const) {
    it(`${fixture}: keeps the end of the document, with the ids Hugging Face tokenizers gives for direction Left`, async () => {
      const tokenizer = await PairTokenizer.load(tokenizerPath(fixture));
      const reference = Tokenizer.fromFile(tokenizerPath(fixture));
      for (const maxLength of [24, 64, 200]) {
        const [left] = await tokenizer.encodePairs([{ query: QUERY, document: DOCUMENT }], maxLength, 'left');
        const [right] = await tokenizer.encodePairs([{ query: QUERY, document: DOCUMENT }], maxLength, 'right');
        assert.equal(left!.length, maxLength);
        assert.notDeepEqual(Array.from(left!.ids), Array.from(right!.ids), 'the two directions keep different tokens');
        reference.setTruncation(maxLength, { strategy: TruncationStrategy.LongestFirst, direction: 'left' });
        const expected = await reference.encode(QUERY, DOCUMENT);
        assert.deepEqual(Array.from(left!.ids), expected.getIds(), `maxLength ${maxLength}`);
        assert.deepEqual(Array.from(left!.typeIds), expected.getTypeIds(), `maxLength ${maxLength}: type ids`);
      }
      // The untruncated encoding ends with the same document tokens as the left-truncated one.
      const [whole] = await tokenizer.encodePairs([{ query: QUERY, document: DOCUMENT }], 100_000);
      const [left] = await tokenizer.encodePairs([{ query: QUERY, document: DOCUMENT }], 64, 'left');
      assert.deepEqual(Array.from(left!.ids).slice(-10), Array.from(whole!.ids).slice(-10));
    });
  }

  it('a long query is cut from its start too, and a pair that fits is left as it is', async () => {
    const tokenizer = await PairTokenizer.load(tokenizerPath('jinabert-tiny-golden'));
    const reference = Tokenizer.fromFile(tokenizerPath('jinabert-tiny-golden'));
    reference.setTruncation(32, { strategy: TruncationStrategy.LongestFirst, direction: 'left' });
    const [longQuery, fits] = await tokenizer.encodePairs([{ query: DOCUMENT, document: 'short document' }, { query: 'q', document: 'short document' }], 32, 'left');
    assert.deepEqual(Array.from(longQuery!.ids), (await reference.encode(DOCUMENT, 'short document')).getIds());
    const [fitsRight] = await tokenizer.encodePairs([{ query: 'q', document: 'short document' }], 32, 'right');
    assert.deepEqual(Array.from(fits!.ids), Array.from(fitsRight!.ids));
  });

  it('an unknown direction is an InputError', async () => {
    const tokenizer = await PairTokenizer.load(tokenizerPath('jinabert-tiny-golden'));
    await assert.rejects(tokenizer.encodePairs([{ query: 'q', document: 'd' }], 32, 'up' as 'left'), (err: unknown) => err instanceof InputError && /truncation direction/.test(err.message));
  });
});
