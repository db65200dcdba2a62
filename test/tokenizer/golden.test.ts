/**
 * The three golden fixtures: every case's ids and type ids exactly as Hugging Face's
 * Python tokenizer produced them (max_length 64, longest_first), and the padded batches.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PairTokenizer, packBatch, type TokenBatch } from '../../src/tokenizer/index.js';
import { GOLDEN_FIXTURES, fixtureDir, loadExpected, type GoldenFixture } from '../helpers.js';

const LAYOUT: Record<GoldenFixture, { kind: 'wordpiece' | 'bpe'; padId: number; numSpecial: number }> = {
  'jinabert-tiny-golden': { kind: 'wordpiece', padId: 0, numSpecial: 3 },
  'jinabert-bpe-golden': { kind: 'bpe', padId: 1, numSpecial: 4 },
  'bert-minilm-golden': { kind: 'wordpiece', padId: 0, numSpecial: 3 },
};

function loadFixtureTokenizer(fixture: GoldenFixture): Promise<PairTokenizer> {
  return PairTokenizer.load(path.join(fixtureDir(fixture), 'tokenizer.json'));
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
      const json = JSON.parse(fs.readFileSync(path.join(fixtureDir(fixture), 'tokenizer.json'), 'utf8')) as { model: { vocab: object } };
      assert.equal(tokenizer.vocabSize, Object.keys(json.model.vocab).length);
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
