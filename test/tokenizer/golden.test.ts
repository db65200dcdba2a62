/**
 * The golden fixtures: every case's ids and type ids exactly as Hugging Face's
 * Python tokenizer produced them (max_length 64, longest_first), and the padded batches.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Tokenizer, TruncationStrategy } from 'tokenizers';
import { PairTokenizer, packBatch, type TokenBatch, type TokenizerKind } from '../../src/tokenizer/index.js';
import { longestFirstLengths } from '../../src/tokenizer/pair-tokenizer.js';
import { GOLDEN_FIXTURES, fixtureDir, loadExpected, type GoldenFixture } from '../helpers.js';

const LAYOUT: Record<GoldenFixture, { kind: TokenizerKind; padId: number; numSpecial: number }> = {
  'jinabert-tiny-golden': { kind: 'wordpiece', padId: 0, numSpecial: 3 },
  'jinabert-bpe-golden': { kind: 'bpe', padId: 1, numSpecial: 4 },
  'bert-minilm-golden': { kind: 'wordpiece', padId: 0, numSpecial: 3 },
  // SentencePiece Unigram: XLM-R pads with <pad> = 1 around `<s> A </s></s> B </s>`; DeBERTa-v3
  // pads with [PAD] = 0 around `[CLS] A [SEP] B [SEP]`, its [MASK] only in added_tokens.
  'xlmr-golden': { kind: 'unigram', padId: 1, numSpecial: 4 },
  'deberta-v2-golden': { kind: 'unigram', padId: 0, numSpecial: 3 },
};

function loadFixtureTokenizer(fixture: GoldenFixture): Promise<PairTokenizer> {
  return PairTokenizer.load(path.join(fixtureDir(fixture), 'tokenizer.json'));
}

/**
 * Ids the file defines: the model's vocabulary (an object token → id for WordPiece and BPE, a
 * list of [piece, score] for Unigram) and the added tokens, some of which (DeBERTa's [MASK]) are
 * nowhere else.
 */
function distinctIds(fixture: GoldenFixture): number {
  const json = JSON.parse(fs.readFileSync(path.join(fixtureDir(fixture), 'tokenizer.json'), 'utf8')) as {
    model: { vocab: Record<string, number> | [string, number][] };
    added_tokens: { id: number }[];
  };
  const vocab = json.model.vocab;
  const ids = Array.isArray(vocab) ? vocab.map((_, id) => id) : Object.values(vocab);
  return new Set([...ids, ...json.added_tokens.map((t) => t.id)]).size;
}

function rows(values: BigInt64Array, batch: TokenBatch): number[][] {
  return Array.from({ length: batch.batchSize }, (_, r) =>
    Array.from(values.subarray(r * batch.seqLen, (r + 1) * batch.seqLen), Number));
}

for (const fixture of GOLDEN_FIXTURES) {
  describe(`golden fixture ${fixture}`, () => {
    const expected = loadExpected(fixture);
    const maxLength = expected.tokenizer.max_length;

    it('reads kind, pad id, [CLS]/[SEP] and the pair layout from tokenizer.json', async () => {
      const tokenizer = await loadFixtureTokenizer(fixture);
      const layout = LAYOUT[fixture];
      assert.equal(tokenizer.kind, layout.kind);
      assert.equal(tokenizer.padId, layout.padId);
      assert.equal(tokenizer.padId, expected.tokenizer.pad_token_id);
      assert.equal(tokenizer.numSpecialTokensForPair, layout.numSpecial);
      const ids = expected.tokenizer as unknown as { cls_token_id: number; sep_token_id: number };
      assert.equal(tokenizer.clsId, ids.cls_token_id);
      assert.equal(tokenizer.sepId, ids.sep_token_id);
      assert.equal(tokenizer.vocabSize, distinctIds(fixture));
    });

    it(`encodes all ${expected.cases.length} cases exactly as expected.json at maxLength ${maxLength}`, async () => {
      const tokenizer = await loadFixtureTokenizer(fixture);
      const encoded = await tokenizer.encodePairs(expected.cases, maxLength);
      for (const [i, c] of expected.cases.entries()) {
        assert.deepEqual(Array.from(encoded[i]!.ids), c.input_ids, `${c.id}: input_ids`);
        assert.deepEqual(Array.from(encoded[i]!.typeIds), c.token_type_ids, `${c.id}: token_type_ids`);
        assert.equal(encoded[i]!.length, c.length, `${c.id}: length`);
      }
    });

    it('packs each fixture batch into exactly its input_ids, attention_mask and token_type_ids', async () => {
      const tokenizer = await loadFixtureTokenizer(fixture);
      const byId = new Map(expected.cases.map((c) => [c.id, c]));
      for (const batch of expected.batches) {
        const cases = batch.case_ids.map((id) => byId.get(id)!);
        const packed = packBatch(await tokenizer.encodePairs(cases, maxLength), tokenizer.padId);
        // The fixtures pad to 64; each batch has a member 64 tokens long, so packing to the
        // longest in the batch gives the same width.
        assert.equal(packed.seqLen, batch.input_ids[0]!.length, `${batch.id}: width`);
        assert.deepEqual(rows(packed.inputIds, packed), batch.input_ids, `${batch.id}: input_ids`);
        assert.deepEqual(rows(packed.attentionMask, packed), batch.attention_mask, `${batch.id}: attention_mask`);
        assert.ok(batch.token_type_ids, `${batch.id} has token_type_ids`);
        assert.deepEqual(rows(packed.tokenTypeIds, packed), batch.token_type_ids, `${batch.id}: token_type_ids`);
        assert.deepEqual(Array.from(packed.lengths), cases.map((c) => c.length));
      }
    });
  });
}

describe('longest_first truncation', () => {
  it('splits the budget as Hugging Face tokenizers does (its own unit-test table, max_length 7)', () => {
    // tokenizers/src/utils/truncation.rs, truncate_encodings_longest_first: empty 0, short 2,
    // medium 4, long 8 tokens.
    const table: [number, number, number, number][] = [
      [0, 0, 0, 0], [0, 2, 0, 2], [0, 4, 0, 4], [0, 8, 0, 7],
      [2, 0, 2, 0], [2, 2, 2, 2], [2, 4, 2, 4], [2, 8, 2, 5],
      [4, 0, 4, 0], [4, 2, 4, 2], [4, 4, 3, 4], [4, 8, 3, 4],
      [8, 0, 7, 0], [8, 2, 5, 2], [8, 4, 4, 3], [8, 8, 3, 4],
    ];
    for (const [n1, n2, k1, k2] of table) assert.deepEqual(longestFirstLengths(n1, n2, 7), [k1, k2], `${n1} + ${n2}`);
  });

  it('gives the odd token to the longer side even when both exceed the budget (the npm binding does not)', async () => {
    // deberta-v2-golden truncate-both-tie: 176 query and 153 document tokens into 61.
    assert.deepEqual(longestFirstLengths(176, 153, 61), [31, 30]);
    const expected = loadExpected('deberta-v2-golden');
    const tie = expected.cases.find((c) => c.id === 'truncate-both-tie')!;
    const [encoded] = await (await loadFixtureTokenizer('deberta-v2-golden')).encodePairs([tie], expected.tokenizer.max_length);
    assert.deepEqual(Array.from(encoded!.ids), tie.input_ids);
    const native = Tokenizer.fromFile(path.join(fixtureDir('deberta-v2-golden'), 'tokenizer.json'));
    native.setTruncation(expected.tokenizer.max_length, { strategy: TruncationStrategy.LongestFirst });
    const binding = await native.encode(tie.query, tie.document);
    assert.notDeepEqual(binding.getIds(), tie.input_ids, 'if the binding now agrees, encodePairs can hand truncation back to it');
  });
});
