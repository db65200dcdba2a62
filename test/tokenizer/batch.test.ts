import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packBatch } from '../../src/tokenizer/index.js';

const big = (values: number[]): BigInt64Array => BigInt64Array.from(values, BigInt);

describe('packBatch', () => {
  it('right-pads to the longest pair with the pad id, masks padding and gives it type 0', () => {
    const batch = packBatch([
      { ids: [0, 10, 2, 2, 11, 2], typeIds: [0, 0, 0, 1, 1, 1], length: 6 },
      { ids: Int32Array.from([0, 12, 2]), typeIds: Int32Array.from([0, 1, 1]), length: 3 },
    ], 7);
    assert.equal(batch.batchSize, 2);
    assert.equal(batch.seqLen, 6);
    assert.deepEqual(batch.inputIds, big([0, 10, 2, 2, 11, 2, 0, 12, 2, 7, 7, 7]));
    assert.deepEqual(batch.attentionMask, big([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]));
    assert.deepEqual(batch.tokenTypeIds, big([0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0]));
    assert.deepEqual(batch.lengths, Int32Array.from([6, 3]));
  });

  it('gives an empty batch for no pairs', () => {
    const batch = packBatch([], 0);
    assert.equal(batch.batchSize, 0);
    assert.equal(batch.seqLen, 0);
    assert.equal(batch.inputIds.length, 0);
    assert.equal(batch.lengths.length, 0);
  });
});
