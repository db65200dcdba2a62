/** The source readers and helpers of the data pipeline, on inputs small enough to check by eye. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDescription } from '../../src/corpus/debian.js';
import { cleanEntry, decodeDictNumber } from '../../src/corpus/dictd.js';
import { Passages } from '../../src/corpus/eval-guard.js';
import { parseRoff, plainText } from '../../src/corpus/manpage.js';
import { fairShares } from '../../src/corpus/pretrain.js';
import { chunkText, matchKey, sample, streamFor } from '../../src/corpus/text.js';
import { tokenizerJson } from '../../src/corpus/vocab.js';
import { Bm25Index } from '../../src/eval/bm25.js';
import { encodeDictNumber } from './fixtures.js';

describe('data pipeline helpers', () => {
  test('matchKey ignores case, accents, punctuation and spacing', () => {
    assert.equal(matchKey('  What is ALiBi?! '), 'what is alibi');
    assert.equal(matchKey('Café—au-lait'), matchKey('cafe au lait'));
    assert.notEqual(matchKey('sea turtles'), matchKey('sea turtle'));
  });

  test('chunkText cuts at sentence ends or spaces, never over the limit for normal words', () => {
    const text = 'One two three. Four five six seven. Eight nine ten eleven twelve.';
    const chunks = chunkText(text, 30);
    assert.ok(chunks.every((c) => c.length <= 30), JSON.stringify(chunks));
    assert.equal(chunks.join(' '), text);
    assert.deepEqual(chunkText('short', 30), ['short']);
  });

  test('seeded sampling repeats for a seed and name, and differs across names', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    assert.deepEqual(sample(items, 5, streamFor(1, 'a')), sample(items, 5, streamFor(1, 'a')));
    assert.notDeepEqual(sample(items, 5, streamFor(1, 'a')), sample(items, 5, streamFor(1, 'b')));
  });

  test('Debian descriptions: summary, paragraphs at " ."', () => {
    const d = parseDescription('bash', 'GNU Bourne Again SHell\n Bash is a shell\n that runs commands.\n .\n It has history.');
    assert.equal(d.summary, 'GNU Bourne Again SHell');
    assert.equal(d.description, 'Bash is a shell that runs commands.\n\nIt has history.');
  });

  test('dictd numbers and entries', () => {
    assert.equal(decodeDictNumber('Bkwm'), ((1 * 64 + 36) * 64 + 48) * 64 + 38);
    for (const n of [0, 63, 64, 123456789]) assert.equal(decodeDictNumber(encodeDictNumber(n)), n);
    assert.equal(cleanEntry('Allnight \\All"night`\\, n.\n   Light, fuel, or food for the whole night. [Obs.] --Bacon.\n   [1913 Webster]\n'),
      'Light, fuel, or food for the whole night. [Obs.] --Bacon.');
    assert.equal(cleanEntry('Captain Crunch\nCap\'n Crunch\n\n   A {hacker} who used a whistle.\n\n   (1998-08-25)\n'), 'A hacker who used a whistle.');
  });

  test('man pages: sections, font escapes and text macros made plain', () => {
    const sections = parseRoff('.\\" c\n.TH X 1\n.SH NAME\nx \\- do \\fBthings\\fR\n.SH "SEE ALSO"\n.BR y (1),\n.IR z (2)\n.SH DESCRIPTION\nUse \\(em with\n.B care\nand \\e.\n');
    assert.equal(sections.get('NAME'), 'x - do things');
    assert.equal(sections.get('SEE ALSO'), 'y (1), z (2)');
    assert.equal(sections.get('DESCRIPTION'), 'Use — with care and \\.');
    assert.equal(plainText('\\f[B]bold\\f[] \\[aq]q\\[aq]'), "bold 'q'");
    assert.equal(parseRoff('.so man1/ls.1\n').size, 0);
  });

  test('corpus budget: small sources whole, the rest share what is left equally', () => {
    const pieces = [{ source: 'a', text: 'x'.repeat(10) }, { source: 'b', text: 'x'.repeat(100) }, { source: 'c', text: 'x'.repeat(100) }];
    assert.deepEqual([...fairShares(pieces, 70)].sort(), [['a', 10], ['b', 30], ['c', 30]]);
    assert.deepEqual([...fairShares(pieces, 1000)].sort(), [['a', 10], ['b', 100], ['c', 100]]);
  });

  test('evaluation passages are found inside longer texts, short queries only as whole texts', () => {
    const p = new Passages();
    p.addQuery(matchKey('Aspirin lowers the risk of a second heart attack in adults.'), 'beir');
    p.addQuery(matchKey('do goldfish grow'), 'trec');
    p.addDocument(matchKey(Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ')), 'rag');
    assert.equal(p.find(matchKey('We found that aspirin lowers the risk of a second heart attack in adults, too.')), 'beir');
    assert.equal(p.find(matchKey('so do goldfish grow in ponds')), undefined);
    assert.equal(p.find(matchKey(`intro ${Array.from({ length: 12 }, (_, i) => `w${i + 10}`).join(' ')} outro`)), 'rag');
    assert.equal(p.find(matchKey(Array.from({ length: 11 }, (_, i) => `w${i}`).join(' '))), undefined);
  });

  test('tokenizer.json puts the specials first and builds the BERT pair template', () => {
    const json = tokenizerJson(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', '##b']) as { model: { vocab: Record<string, number> }; post_processor: { pair: unknown[] } };
    assert.deepEqual(json.model.vocab, { '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, '[MASK]': 4, a: 5, '##b': 6 });
    assert.equal(json.post_processor.pair.length, 5);
  });

  test('BM25 top k from the bounded heap equals the full sort, ties included', () => {
    const random = streamFor(3, 'bm25');
    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
    const docs = Array.from({ length: 400 }, (_, i) => ({ id: `d${(i * 7919) % 1000}`, text: Array.from({ length: 1 + Math.floor(random() * 4) }, () => words[Math.floor(random() * words.length)]).join(' ') }));
    const index = Bm25Index.build(docs);
    for (const query of ['alpha', 'beta gamma', 'delta epsilon zeta alpha']) {
      const all = index.search(query, 100000);
      for (const k of [1, 3, 10, 50]) assert.deepEqual(index.search(query, k), all.slice(0, k), `${query} k=${k}`);
    }
  });
});
