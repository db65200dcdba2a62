/**
 * The model graphs against an independent PyTorch implementation: the fixtures' token ids go
 * straight in (no tokenizer), and every logit must be within 1e-4 of the float64 reference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCheckpoint, locateModel } from '../../src/checkpoint/index.js';
import { toOnnx } from '../../src/graph/index.js';
import type { Graph } from '../../src/graph/index.js';
import { alibiSlopes, buildCrossEncoder, computesFirstTokenOnly, type GraphOptions } from '../../src/models/index.js';
import { CrossEncoderSession } from '../../src/runtime/index.js';
import type { TokenBatch } from '../../src/tokenizer/batch.js';
import { GOLDEN_FIXTURES, fixtureDir, loadExpected } from '../helpers.js';

const TOLERANCE = 1e-4;

function fixtureGraph(name: (typeof GOLDEN_FIXTURES)[number], options: GraphOptions = {}): Graph {
  const checkpoint = loadCheckpoint(locateModel(fixtureDir(name)));
  return buildCrossEncoder(checkpoint.spec, (n) => checkpoint.weights.float32(n), options);
}

async function openFixture(name: (typeof GOLDEN_FIXTURES)[number], options: GraphOptions = {}): Promise<CrossEncoderSession> {
  return CrossEncoderSession.fromBytes(toOnnx(fixtureGraph(name, options)), name, { threads: 1 });
}

function batchOf(rows: readonly number[][], masks: readonly number[][], types: readonly number[][]): TokenBatch {
  const seqLen = rows[0]!.length;
  const flat = (m: readonly number[][]): BigInt64Array => BigInt64Array.from(m.flat(), (v) => BigInt(v));
  return {
    batchSize: rows.length, seqLen,
    inputIds: flat(rows), attentionMask: flat(masks), tokenTypeIds: flat(types),
    lengths: Int32Array.from(masks, (m) => m.reduce((p, v) => p + v, 0)),
  };
}

for (const name of GOLDEN_FIXTURES) {
  test(`${name}: every case's logit is within 1e-4 of the float64 reference`, async () => {
    const expected = loadExpected(name);
    const session = await openFixture(name);
    for (const c of expected.cases) {
      const ones = c.input_ids.map(() => 1);
      const { logits } = await session.run(batchOf([c.input_ids], [ones], [c.token_type_ids]));
      assert.ok(Math.abs(logits[0]! - c.logit) < TOLERANCE, `${c.id}: got ${logits[0]}, reference ${c.logit}`);
    }
    await session.close();
  });

  test(`${name}: padded batches give the same logits as the single pairs`, async () => {
    const expected = loadExpected(name);
    const session = await openFixture(name);
    for (const b of expected.batches) {
      const types = b.token_type_ids ?? b.input_ids.map((r) => r.map(() => 0));
      const { logits } = await session.run(batchOf(b.input_ids, b.attention_mask, types));
      b.case_ids.forEach((id, row) => {
        const single = expected.cases.find((c) => c.id === id)!;
        assert.ok(Math.abs(logits[row]! - b.logits[row]!) < TOLERANCE, `${b.id} row ${row}: ${logits[row]} vs ${b.logits[row]}`);
        assert.ok(Math.abs(logits[row]! - single.logit) < TOLERANCE, `${b.id} row ${row} (${id}) differs from the single pair`);
      });
    }
    await session.close();
  });
}

/** Query rows of each attention's probabilities, in graph order (the dim before the keys). */
function softmaxQueryRows(graph: Graph): string[] {
  return graph.nodes.filter((n) => n.op === 'Softmax').map((n) => String(n.outputs[0]!.shape.at(-2)));
}

for (const name of GOLDEN_FIXTURES) {
  test(`${name}: the last layer computed for [CLS] alone (projected or folded) gives every row's logits (1e-5), and a padded row the pair's own, bit for bit`, async () => {
    const expected = loadExpected(name);
    const spec = loadCheckpoint(locateModel(fixtureDir(name))).spec;
    const layers = spec.numLayers;
    const everyRow = softmaxQueryRows(fixtureGraph(name, { lastLayer: 'every-row' }));
    assert.deepEqual(everyRow, Array(layers).fill('seq'));
    // DeBERTa-v2's relative attention keeps every row; the others query with [CLS] alone in the last layer.
    for (const lastLayer of ['first-token', 'first-token-folded'] as const) {
      assert.deepEqual(softmaxQueryRows(fixtureGraph(name, { lastLayer })), !computesFirstTokenOnly(spec) ? everyRow : [...Array(layers - 1).fill('seq'), '1'], lastLayer);
    }
    const sessions = await Promise.all((['every-row', 'first-token', 'first-token-folded'] as const).map((lastLayer) => openFixture(name, { lastLayer })));
    const folded = sessions[2]!;
    for (const b of expected.batches) {
      const types = b.token_type_ids ?? b.input_ids.map((r) => r.map(() => 0));
      const batch = batchOf(b.input_ids, b.attention_mask, types);
      const [full, projected, cls] = await Promise.all(sessions.map(async (s) => (await s.run(batch)).logits));
      full!.forEach((v, row) => {
        assert.ok(Math.abs(v - projected![row]!) < 1e-5, `${b.id} row ${row}: every row ${v}, [CLS] alone ${projected![row]}`);
        assert.ok(Math.abs(v - cls![row]!) < 1e-5, `${b.id} row ${row}: every row ${v}, [CLS] alone and folded ${cls![row]}`);
      });
      // A pair's score must not depend on its batch: the padded row equals the pair run alone, bit for bit.
      for (let row = 0; row < b.input_ids.length; row++) {
        const length = b.attention_mask[row]!.reduce((sum, m) => sum + m, 0);
        const alone = batchOf([b.input_ids[row]!.slice(0, length)], [b.attention_mask[row]!.slice(0, length)], [types[row]!.slice(0, length)]);
        assert.equal((await folded.run(alone)).logits[0], cls![row], `${b.id} row ${row}: padded in a batch and alone`);
      }
    }
    await Promise.all(sessions.map((s) => s.close()));
  });
}

test('the 1e-4 tolerance separates the correct logit from every listed mistake (tanh GELU, no ALiBi, …)', () => {
  const diagnostics = loadExpected('jinabert-tiny-golden').diagnostics!;
  for (const [mistake, wrong] of Object.entries(diagnostics.wrong_logits)) {
    assert.ok(Math.abs(wrong - diagnostics.correct_logit) > TOLERANCE, `${mistake} would pass a 1e-4 check`);
  }
});

test('ALiBi slopes follow the paper, extra odd-power slopes after the power-of-two ones', () => {
  assert.deepEqual(alibiSlopes(4), [0.25, 0.0625, 0.015625, 0.00390625]);
  assert.deepEqual(alibiSlopes(8), [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625]);
  const twelve = alibiSlopes(12);
  const expected = [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625, 0.70710678, 0.35355339, 0.1767767, 0.08838835];
  twelve.forEach((s, i) => assert.ok(Math.abs(s - expected[i]!) < 1e-8, `head ${i}: ${s}`));
  assert.equal(alibiSlopes(16)[0], 2 ** -0.5);
});
