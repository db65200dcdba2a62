/**
 * Long documents, concurrent calls with different maxLength (the binding keeps truncation
 * state on its tokenizer object) and text that is not valid UTF-16.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Tokenizer, TruncationStrategy } from 'tokenizers';
import { PairTokenizer } from '../../src/tokenizer/index.js';
import { wellFormed } from '../../src/tokenizer/pair-tokenizer.js';
import { fixtureDir, type GoldenFixture } from '../helpers.js';

const tokenizerPath = (fixture: GoldenFixture): string => path.join(fixtureDir(fixture), 'tokenizer.json');
const QUERY = 'what does the tokenizer keep of the query when the document is very long';
const LONG_DOCUMENT = Array.from({ length: 20_000 }, (_, i) => ['alpha', 'beta', 'gamma', 'tokenizer', 'document', 'very'][i % 6]).join(' ');

describe('long documents', () => {
  for (const fixture of ['jinabert-tiny-golden', 'jinabert-bpe-golden'] as const) {
    it(`${fixture}: a 20,000-word document is cut to 8192 tokens in all and the query is kept whole`, async () => {
      const tokenizer = await PairTokenizer.load(tokenizerPath(fixture));
      const [long, queryOnly] = await tokenizer.encodePairs(
        [{ query: QUERY, document: LONG_DOCUMENT }, { query: QUERY, document: '' }], 8192);
      assert.equal(long!.length, 8192);
      // [CLS] query [SEP] (RoBERTa: <s> query </s></s>) opens both encodings unchanged.
      const queryPrefix = Array.from(queryOnly!.ids).slice(0, queryOnly!.length - 1);
      assert.deepEqual(Array.from(long!.ids).slice(0, queryPrefix.length), queryPrefix);
      assert.equal(long!.ids[8191], tokenizer.sepId);

      const reference = Tokenizer.fromFile(tokenizerPath(fixture));
      assert.ok((await reference.encode(QUERY, LONG_DOCUMENT)).getLength() > 8192, 'the document really is too long');
      reference.setTruncation(8192, { strategy: TruncationStrategy.LongestFirst });
      assert.deepEqual(Array.from(long!.ids), (await reference.encode(QUERY, LONG_DOCUMENT)).getIds());
    });
  }
});

describe('concurrent calls', () => {
  it('calls with different maxLength in flight together each truncate to their own length', async () => {
    const tokenizer = await PairTokenizer.load(tokenizerPath('jinabert-bpe-golden'));
    const pairs = [{ query: QUERY, document: LONG_DOCUMENT.slice(0, 20_000) }, { query: 'short', document: 'pair' }];
    const shortLength = (await tokenizer.encodePairs([pairs[1]!], 64))[0]!.length;
    // More distinct lengths than native tokenizers kept, and repeats, all at once.
    const maxLengths = [16, 512, 32, 1024, 64, 10, 2048, 128, 16, 256, 11, 12, 13, 14, 512, 15];
    const results = await Promise.all(maxLengths.map((m) => tokenizer.encodePairs(pairs, m)));
    results.forEach((encoded, i) => {
      assert.equal(encoded[0]!.length, maxLengths[i], `call ${i} (maxLength ${maxLengths[i]})`);
      assert.equal(encoded[1]!.length, Math.min(shortLength, maxLengths[i]!), `call ${i}: short pair`);
    });
  });
});

describe('text that is not valid UTF-16', () => {
  it('replaces lone surrogates with U+FFFD and keeps proper surrogate pairs', () => {
    assert.equal(wellFormed('a\uD83Db\uDE00c'), 'a\uFFFDb\uFFFDc');
    assert.equal(wellFormed('end\uD83D'), 'end\uFFFD');
    assert.equal(wellFormed('\uDE00start'), '\uFFFDstart');
    assert.equal(wellFormed('emoji 😀 kept'), 'emoji 😀 kept');
    assert.equal(wellFormed('\uDE00\uD83D'), '\uFFFD\uFFFD'); // reversed order is not a pair
  });

  for (const fixture of ['jinabert-tiny-golden', 'jinabert-bpe-golden'] as const) {
    it(`${fixture}: a document cut inside an emoji encodes as if the halves were U+FFFD`, async () => {
      const tokenizer = await PairTokenizer.load(tokenizerPath(fixture));
      const broken = 'caf\u00e9 😀'.slice(0, -1) + ' and \uDE00 more';
      const [got, replaced] = await tokenizer.encodePairs(
        [{ query: 'q\uD800', document: broken }, { query: 'q\uFFFD', document: 'caf\u00e9 \uFFFD and \uFFFD more' }], 64);
      assert.deepEqual(Array.from(got!.ids), Array.from(replaced!.ids));
    });
  }
});
