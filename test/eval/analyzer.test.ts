/** The Lucene EnglishAnalyzer chain, step by step, on cases whose Lucene output is known. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGLISH_STOP_WORDS, EnglishAnalyzer, standardTokens, stripPossessive } from '../../src/eval/analyzer.js';

describe('StandardTokenizer (UAX #29 word boundaries)', () => {
  const cases: [string, string[]][] = [
    ['U.S.A. and e.g. keep inner dots', ['U.S.A', 'and', 'e.g', 'keep', 'inner', 'dots']],
    ["don't O'Neil's", ["don't", "O'Neil's"]],
    ['3.5 1,000 3.5kg p<0.05', ['3.5', '1,000', '3.5kg', 'p', '0.05']],
    ['covid-19 α-synuclein', ['covid', '19', 'α', 'synuclein']],
    ['H2O a_b naïve café', ['H2O', 'a_b', 'naïve', 'café']],
    ['中文 text', ['中', '文', 'text']],
    ['  ...  (!) ', []],
  ];
  for (const [text, expected] of cases) {
    test(JSON.stringify(text), () => assert.deepEqual(standardTokens(text), expected));
  }

  test('splits tokens longer than 255 characters, as maxTokenLength does', () => {
    const tokens = standardTokens('x'.repeat(600));
    assert.deepEqual(tokens.map((t) => t.length), [255, 255, 90]);
  });
});

describe('EnglishAnalyzer', () => {
  test('has Lucene\'s 33 English stop words', () => {
    assert.equal(ENGLISH_STOP_WORDS.size, 33);
    for (const word of ['the', 'a', 'not', 'such', 'will', 'with']) assert.ok(ENGLISH_STOP_WORDS.has(word), word);
    assert.ok(!ENGLISH_STOP_WORDS.has('he'));
  });

  test('strips possessives with any apostrophe, before lower-casing', () => {
    assert.equal(stripPossessive("Jones's"), 'Jones');
    assert.equal(stripPossessive('JONES’S'), 'JONES');
    assert.equal(stripPossessive("it's"), 'it');
    assert.equal(stripPossessive('bass'), 'bass');
  });

  test('tokenizes, drops possessives and stop words, lower-cases and Porter-stems', () => {
    const terms = new EnglishAnalyzer().analyze("The Jones's running studies of relational databases, and U.S.A. are NOT such THINGS");
    assert.deepEqual(terms, ['jone', 'run', 'studi', 'relat', 'databas', 'u.s.a', 'thing']);
  });
});
