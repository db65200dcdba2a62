/**
 * tokenizer.json files built in the test with the official binding's own classes, so tests
 * do not depend only on the three fixtures: a RoBERTa-style byte-level BPE (RobertaProcessing
 * and the same layout as a TemplateProcessing) and a BERT WordPiece whose file carries its
 * own padding and truncation sections (length 16) that turborank must ignore. Each must give
 * the ids the binding gives, cut to Hugging Face's longest-first split.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  AddedToken, BPE, Tokenizer, TruncationStrategy, WordPiece, bertNormalizer, bertPreTokenizer, type Encoding,
  byteLevelAlphabet, byteLevelPreTokenizer, byteLevelProcessing, robertaProcessing, sequenceProcessing,
  templateProcessing,
} from 'tokenizers';
import { PairTokenizer } from '../../src/tokenizer/index.js';
import { longestFirstLengths } from '../../src/tokenizer/pair-tokenizer.js';
import { tempDir } from '../helpers.js';

/** Truncation/padding length written into the WordPiece file, which encodePairs must override. */
const FILE_OWN_LENGTH = 16;

const BPE_SPECIALS = ['<s>', '<pad>', '</s>', '<unk>'];
const BPE_MERGES: [string, string][] = [
  ['h', 'e'], ['l', 'l'], ['he', 'll'], ['hell', 'o'], ['Ġ', 'w'], ['o', 'r'], ['Ġw', 'or'],
  ['l', 'd'], ['Ġwor', 'ld'], ['Ġ', 't'], ['Ġt', 'he'], ['i', 'n'], ['Ġ', 'in'], ['e', 'r'],
];

function bpeTokenizer(): Tokenizer {
  const vocab: Record<string, number> = {};
  const add = (token: string): void => { vocab[token] ??= Object.keys(vocab).length; };
  BPE_SPECIALS.forEach(add);
  byteLevelAlphabet().forEach(add);
  BPE_MERGES.forEach(([a, b]) => add(a + b));
  const tokenizer = new Tokenizer(BPE.init(vocab, BPE_MERGES, { unkToken: '<unk>' }));
  tokenizer.setPreTokenizer(byteLevelPreTokenizer(false, true));
  tokenizer.addAddedTokens(BPE_SPECIALS.map((token) => new AddedToken(token, true)));
  return tokenizer;
}

/** Byte-level BPE with RobertaProcessing: `<s> A </s></s> B </s>`, pad `<pad>` = 1. */
function saveRobertaBpe(dir: string): string {
  const tokenizer = bpeTokenizer();
  tokenizer.setPostProcessor(robertaProcessing(['</s>', 2], ['<s>', 0]));
  return save(tokenizer, dir, 'bpe-roberta.json');
}

/** The same layout written as a TemplateProcessing (all type ids 0, as RoBERTa). */
function saveTemplateBpe(dir: string): string {
  const tokenizer = bpeTokenizer();
  tokenizer.setPostProcessor(templateProcessing('<s> $A </s>', '<s> $A </s> </s> $B </s>', [['<s>', 0], ['</s>', 2]]));
  return save(tokenizer, dir, 'bpe-template.json');
}

/** The template inside a Sequence after ByteLevel, as newer Hugging Face exports write it. */
function saveSequenceBpe(dir: string): string {
  const tokenizer = bpeTokenizer();
  tokenizer.setPostProcessor(sequenceProcessing([
    byteLevelProcessing(true),
    templateProcessing('<s> $A </s>', '<s> $A </s> </s> $B </s>', [['<s>', 0], ['</s>', 2]]),
  ]));
  return save(tokenizer, dir, 'bpe-sequence.json');
}

const WORDPIECE_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const WORDPIECE_WORDS = ['the', 'quick', 'brown', 'fox', 'jump', '##s', '##ed', '##ing', 'over', 'lazy', 'dog', 'café'];

/** BERT WordPiece, `[CLS] A [SEP] B [SEP]` with type ids 0/1, padding and truncation to 16 in the file. */
function saveWordPieceWithOwnLimits(dir: string): string {
  const vocab: Record<string, number> = {};
  const add = (token: string): void => { vocab[token] ??= Object.keys(vocab).length; };
  WORDPIECE_SPECIALS.forEach(add);
  WORDPIECE_WORDS.forEach(add);
  for (const ch of 'abcdefghijklmnopqrstuvwxyz0123456789.,!?') { add(ch); add('##' + ch); }
  const tokenizer = new Tokenizer(WordPiece.init(vocab, { unkToken: '[UNK]' }));
  tokenizer.setNormalizer(bertNormalizer({ lowercase: true }));
  tokenizer.setPreTokenizer(bertPreTokenizer());
  tokenizer.setPostProcessor(templateProcessing('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', [['[CLS]', 2], ['[SEP]', 3]]));
  tokenizer.addAddedTokens(WORDPIECE_SPECIALS.map((token) => new AddedToken(token, true)));
  tokenizer.setPadding({ maxLength: FILE_OWN_LENGTH, padId: 0, padToken: '[PAD]' });
  tokenizer.setTruncation(FILE_OWN_LENGTH, { strategy: TruncationStrategy.LongestFirst });
  return save(tokenizer, dir, 'wordpiece-own-limits.json');
}

function save(tokenizer: Tokenizer, dir: string, name: string): string {
  const file = path.join(dir, name);
  tokenizer.save(file, true);
  return file;
}

/**
 * The reference: the official binding on the same file, untruncated, cut to Hugging Face's
 * longest-first split (longestFirstLengths, pinned by the golden fixtures and tokenizers' own
 * table). Where the binding's own truncation splits the budget the same way, its ids must be the
 * same too; where it does not (some pairs with both sides over half the budget, see
 * longestFirstLengths), the fixtures side with the split.
 */
async function referenceEncode(file: string, query: string, document: string, maxLength: number): Promise<{ ids: number[]; typeIds: number[] }> {
  const binding = async (truncateTo?: number): Promise<Encoding> => {
    const tokenizer = Tokenizer.fromFile(file);
    tokenizer.disablePadding();
    if (truncateTo === undefined) tokenizer.disableTruncation();
    else tokenizer.setTruncation(truncateTo, { strategy: TruncationStrategy.LongestFirst });
    return tokenizer.encode(query, document);
  };
  const full = await binding();
  const sides = full.getSequenceIds();
  const count = (side: number): number => sides.filter((s) => s === side).length;
  const budget = maxLength - (sides.length - count(0) - count(1));
  const keep = longestFirstLengths(count(0), count(1), budget);
  const seen = [0, 0];
  const kept = sides.map((s) => s !== 0 && s !== 1 || seen[s]!++ < keep[s]!);
  const reference = { ids: full.getIds().filter((_, i) => kept[i]), typeIds: full.getTypeIds().filter((_, i) => kept[i]) };
  const truncated = await binding(maxLength);
  const truncatedSides = truncated.getSequenceIds();
  if (truncatedSides.filter((s) => s === 0).length === keep[0] && truncatedSides.filter((s) => s === 1).length === keep[1]) {
    assert.deepEqual(reference.ids, truncated.getIds(), 'same split as the binding, same ids');
  }
  return reference;
}

const PAIRS = [
  { query: 'hello world', document: 'the world in the hello' },
  { query: '', document: 'hello' },
  { query: 'The quick brown fox', document: '' },
  { query: 'Café jumps!', document: 'the lazy dog jumped over the quick brown fox, jumping. 123' },
  { query: 'hello '.repeat(30), document: 'world '.repeat(50) },
  { query: 'unicode ünïcödé 日本語 😀', document: 'emoji 😀😀 tabs\tand\nnewlines' },
];
const MAX_LENGTHS = [8, 24, 64];

const dir = tempDir('turborank-tokenizer-');
const files = {
  robertaBpe: saveRobertaBpe(dir),
  templateBpe: saveTemplateBpe(dir),
  sequenceBpe: saveSequenceBpe(dir),
  wordPiece: saveWordPieceWithOwnLimits(dir),
};

describe('tokenizer.json files built with the official binding', () => {
  for (const [name, file] of Object.entries(files)) {
    it(`${name}: ids and type ids equal the binding's, cut longest-first, at every maxLength`, async () => {
      const tokenizer = await PairTokenizer.load(file);
      for (const maxLength of MAX_LENGTHS) {
        const encoded = await tokenizer.encodePairs(PAIRS, maxLength);
        for (const [i, pair] of PAIRS.entries()) {
          const expected = await referenceEncode(file, pair.query, pair.document, maxLength);
          assert.deepEqual(Array.from(encoded[i]!.ids), expected.ids, `${name} pair ${i} maxLength ${maxLength}`);
          assert.deepEqual(Array.from(encoded[i]!.typeIds), expected.typeIds, `${name} pair ${i} type ids`);
          assert.equal(encoded[i]!.length, expected.ids.length);
        }
      }
    });
  }

  it('reads the RoBERTa layout from RobertaProcessing, TemplateProcessing and a Sequence alike', async () => {
    for (const file of [files.robertaBpe, files.templateBpe, files.sequenceBpe]) {
      const tokenizer = await PairTokenizer.load(file);
      assert.equal(tokenizer.kind, 'bpe');
      assert.equal(tokenizer.padId, 1);
      assert.equal(tokenizer.clsId, 0);
      assert.equal(tokenizer.sepId, 2);
      assert.equal(tokenizer.numSpecialTokensForPair, 4);
      const [encoded] = await tokenizer.encodePairs([{ query: 'hello', document: 'world' }], 64);
      assert.deepEqual(Array.from(encoded!.typeIds), new Array(encoded!.length).fill(0));
    }
  });

  it('ignores the truncation and padding written in tokenizer.json: only our maxLength applies', async () => {
    const json = JSON.parse(fs.readFileSync(files.wordPiece, 'utf8')) as { truncation: { max_length: number }; padding: unknown };
    assert.equal(json.truncation.max_length, FILE_OWN_LENGTH); // the file really does limit itself
    assert.notEqual(json.padding, null);
    const tokenizer = await PairTokenizer.load(files.wordPiece);
    const [long, short] = await tokenizer.encodePairs(
      [{ query: 'the quick brown fox', document: 'jumps over the lazy dog '.repeat(20) }, { query: 'the', document: 'dog' }], 40);
    assert.equal(long!.length, 40); // not cut to the file's 16
    assert.deepEqual(Array.from(short!.ids), [2, 5, 3, 15, 3]); // not padded to 16
    assert.deepEqual(Array.from(short!.typeIds), [0, 0, 0, 1, 1]);
    assert.equal(tokenizer.kind, 'wordpiece');
    assert.equal(tokenizer.numSpecialTokensForPair, 3);
  });

  it('takes the pad id from padding.pad_id before the [PAD] added token', async () => {
    const json = JSON.parse(fs.readFileSync(files.wordPiece, 'utf8')) as { padding: { pad_id: number } };
    json.padding.pad_id = 4;
    const file = path.join(dir, 'pad-id-4.json');
    fs.writeFileSync(file, JSON.stringify(json));
    assert.equal((await PairTokenizer.load(file)).padId, 4);
    assert.equal((await PairTokenizer.load(files.wordPiece)).padId, 0);
  });
});
