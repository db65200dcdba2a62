/**
 * scatterAdd (the gradient of an embedding lookup) must add every update, however often a row
 * repeats and however many threads ONNX Runtime uses. Written as ScatterND it did not: the CPU
 * kernel splits the updates across threads, and two threads adding into the same row race, so
 * with 2 threads about half the updates to a repeated row were lost, differently on each run
 * (every training run's token-type and [CLS]/[SEP] embedding gradients).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { GraphBuilder, toOnnx } from '../../src/graph/index.js';

/** Rows 0..rows−1 of a [rows, width] zero table, each hit n/rows times by updates of small integers (exact in float32). */
async function scatter(n: number, rows: number, width: number, threads: number, runs: number): Promise<{ got: Float32Array[]; want: Float32Array }> {
  const g = new GraphBuilder();
  const ids = new BigInt64Array(n);
  for (let i = 0; i < n; i++) ids[i] = BigInt((i * 7) % rows);
  const updates = new Float32Array(n * width);
  for (let i = 0; i < updates.length; i++) updates[i] = (i % 5) - 2;
  const indices = g.input('ids', 'int64', ['batch', 'seq', 1]);
  const values = g.input('updates', 'float32', ['batch', 'seq', width]);
  g.output('out', g.scatterAdd(g.constant('table', 'float32', [rows, width], new Float32Array(rows * width)), indices, values));
  const session = await ort.InferenceSession.create(toOnnx(g.build()), { intraOpNumThreads: threads });
  const got: Float32Array[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      const out = await session.run({
        ids: new ort.Tensor('int64', ids, [n / 64, 64, 1]),
        updates: new ort.Tensor('float32', updates, [n / 64, 64, width]),
      });
      got.push(out.out!.data as Float32Array);
    }
  } finally {
    await session.release();
  }
  const want = new Float32Array(rows * width);
  for (let i = 0; i < n; i++) for (let j = 0; j < width; j++) want[Number(ids[i]) * width + j]! += updates[i * width + j]!;
  return { got, want };
}

for (const [rows, what] of [[2, 'two rows (token types)'], [300, 'a vocabulary\'s worth of repeats']] as const) {
  test(`scatterAdd adds every update on 2 threads: 6,144 updates of width 128 into ${what}`, async () => {
    const { got, want } = await scatter(6144, rows, 128, 2, 8);
    for (const [r, out] of got.entries()) {
      for (let i = 0; i < want.length; i++) {
        if (out[i] !== want[i]) assert.fail(`run ${r + 1}: row ${Math.floor(i / 128)}, column ${i % 128}: ${out[i]}, expected ${want[i]}`);
      }
    }
  });
}

test('scatterAdd on a table with no trailing dims (a vector of counts)', async () => {
  const g = new GraphBuilder();
  const ids = g.input('ids', 'int64', ['n', 1]);
  const ones = g.input('ones', 'float32', ['n']);
  g.output('out', g.scatterAdd(g.constant('zero', 'float32', [3], new Float32Array(3)), ids, ones));
  const session = await ort.InferenceSession.create(toOnnx(g.build()), { intraOpNumThreads: 2 });
  const out = await session.run({
    ids: new ort.Tensor('int64', BigInt64Array.from([0n, 2n, 2n, 1n, 2n]), [5, 1]),
    ones: new ort.Tensor('float32', new Float32Array(5).fill(1), [5]),
  });
  await session.release();
  assert.deepEqual([...(out.out!.data as Float32Array)], [1, 1, 3]);
});
