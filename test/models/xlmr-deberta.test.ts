/**
 * What the XLM-R and DeBERTa golden fixtures diagnose beyond the logits themselves: the tolerance
 * separates every listed mistake from the right answer, the mistakes our graph can be made to
 * commit (through its spec or its weights) give exactly the listed wrong logit, ignoring the
 * attention mask gives the listed padded-batch logits, and the pieces with their own tables
 * (RoBERTa's positions, DeBERTa's log buckets) match the references value for value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { loadCheckpoint, locateModel, type LoadedCheckpoint, type ModelSpec } from '../../src/checkpoint/index.js';
import { GraphBuilder, toOnnx } from '../../src/graph/index.js';
import { buildCrossEncoder, logBucketPosition, relativeEmbeddingRows, robertaPositionIds, type WeightLookup } from '../../src/models/index.js';
import { CrossEncoderSession } from '../../src/runtime/index.js';
import type { TokenBatch } from '../../src/tokenizer/batch.js';
import { fixtureDir, loadExpected, type GoldenCase, type GoldenDiagnostics, type GoldenFixture } from '../helpers.js';

const TOLERANCE = 1e-4;
/** float32 graph against the float64 reference's wrong logits (observed ≤ 1e-5). */
const REPRODUCED = 2e-5;
const FIXTURES = ['xlmr-golden', 'deberta-v2-golden'] as const;

function diagnosticsOf(name: GoldenFixture): GoldenDiagnostics[] {
  const expected = loadExpected(name);
  return [expected.diagnostics!, expected.diagnostics_long_case!];
}

function single(c: GoldenCase): TokenBatch {
  const n = c.input_ids.length;
  return {
    batchSize: 1, seqLen: n, inputIds: BigInt64Array.from(c.input_ids, BigInt), attentionMask: new BigInt64Array(n).fill(1n),
    tokenTypeIds: BigInt64Array.from(c.token_type_ids, BigInt), lengths: Int32Array.from([n]),
  };
}

async function logitOf(spec: ModelSpec, weights: WeightLookup, batch: TokenBatch): Promise<Float32Array> {
  const session = await CrossEncoderSession.fromBytes(toOnnx(buildCrossEncoder(spec, weights)), spec.sourceName, { threads: 1 });
  const { logits } = await session.run(batch);
  await session.close();
  return logits;
}

function open(name: GoldenFixture): { checkpoint: LoadedCheckpoint; weights: WeightLookup } {
  const checkpoint = loadCheckpoint(locateModel(fixtureDir(name)));
  return { checkpoint, weights: (n) => checkpoint.weights.float32(n) };
}

for (const name of FIXTURES) {
  test(`${name}: the 1e-4 tolerance separates the correct logit from every listed mistake`, () => {
    const expected = loadExpected(name);
    for (const diagnostics of diagnosticsOf(name)) {
      const c = expected.cases.find((x) => x.id === diagnostics.case_id)!;
      assert.equal(diagnostics.correct_logit, c.logit, `${c.id}: the diagnosed case is a golden case`);
      for (const [mistake, wrong] of Object.entries(diagnostics.wrong_logits)) {
        assert.ok(Math.abs(wrong - diagnostics.correct_logit) > TOLERANCE, `${c.id}: ${mistake} would pass a 1e-4 check`);
      }
    }
  });

  test(`${name}: an attention mask of all ones gives the listed unmasked-padding logits, which the batch check refuses`, async () => {
    const { checkpoint, weights } = open(name);
    const expected = loadExpected(name);
    for (const diagnostics of diagnosticsOf(name)) {
      const b = expected.batches.find((x) => x.id === diagnostics.batch_id)!;
      const seqLen = b.input_ids[0]!.length;
      const batch: TokenBatch = {
        batchSize: b.input_ids.length, seqLen, inputIds: BigInt64Array.from(b.input_ids.flat(), BigInt),
        attentionMask: new BigInt64Array(b.input_ids.length * seqLen).fill(1n), tokenTypeIds: BigInt64Array.from(b.token_type_ids!.flat(), BigInt),
        lengths: new Int32Array(b.input_ids.length).fill(seqLen),
      };
      const unmasked = await logitOf(checkpoint.spec, weights, batch);
      diagnostics.batch_logits_if_padding_not_masked!.forEach((wrong, row) => {
        assert.ok(Math.abs(unmasked[row]! - wrong) < REPRODUCED, `${b.id} row ${row}: ${unmasked[row]} vs ${wrong}`);
        if (b.attention_mask[row]!.includes(0)) assert.ok(Math.abs(wrong - b.logits[row]!) > TOLERANCE, `${b.id} row ${row}: padding changes nothing?`);
      });
    }
  });
}

/** The checkpoint's own spec and weights with one mistake, and the diagnostics entry it should reproduce. */
type Mistake = readonly [name: string, spec: (s: ModelSpec) => ModelSpec, weights?: (w: WeightLookup) => WeightLookup];

/** A position table read `shift` rows too early: what counting from 2 − shift instead of 2 gives. */
const shiftedPositions = (shift: number) => (w: WeightLookup): WeightLookup => (name, shape) => {
  const table = w(name, shape);
  if (!name.endsWith('position_embeddings.weight')) return table;
  const shifted = new Float32Array(table.length);
  shifted.set(table.subarray(0, table.length - shift * shape[1]!), shift * shape[1]!);
  return shifted;
};

/**
 * query_proj's weight and bias times `factor`. Every attention term is linear in it (q·k, q·Kr,
 * k·Qr with Qr = Wq·R + bq), so this multiplies the scores by `factor`: a different scale.
 */
const scaledQueries = (factor: number) => (w: WeightLookup): WeightLookup => (name, shape) => {
  const table = w(name, shape);
  return /attention\.self\.query_proj\.(weight|bias)$/.test(name) ? table.map((v) => v * factor) : table;
};

const MISTAKES: Record<(typeof FIXTURES)[number], readonly Mistake[]> = {
  'xlmr-golden': [
    ['positions_from_zero', (s) => s, shiftedPositions(2)],
    ['positions_from_one', (s) => s, shiftedPositions(1)],
    ['gelu_tanh_approximation', (s) => ({ ...s, hiddenAct: 'gelu_new' })],
  ],
  'deberta-v2-golden': [
    ['rel_embeddings_without_layernorm', (s) => ({ ...s, deberta: { ...s.deberta!, normRelEmbedding: false } })],
    // Distances clamped to ±16 instead of log-bucketed: the same 32 rows.
    ['linear_buckets', (s) => ({ ...s, deberta: { ...s.deberta!, positionBuckets: 0, maxRelativePositions: 16 } })],
    ['gelu_tanh', (s) => ({ ...s, hiddenAct: 'gelu_new', deberta: { ...s.deberta!, poolerAct: 'gelu_new' } })],
    // Dividing by √d instead of √(3d).
    ['scale_sqrt_d', (s) => s, scaledQueries(Math.sqrt(3))],
    // A term dropped with the scale kept at √(3d): our graph, told of two terms, divides by √(2d).
    ['no_c2p', (s) => ({ ...s, deberta: { ...s.deberta!, contentToPosition: false } }), scaledQueries(Math.sqrt(2 / 3))],
    ['no_p2c', (s) => ({ ...s, deberta: { ...s.deberta!, positionToContent: false } }), scaledQueries(Math.sqrt(2 / 3))],
  ],
};

for (const name of FIXTURES) {
  test(`${name}: our graph made to commit a listed mistake gives that wrong logit (so the golden check catches it)`, async () => {
    const { checkpoint, weights } = open(name);
    const expected = loadExpected(name);
    for (const [mistake, specOf, weightsOf] of MISTAKES[name]) {
      for (const diagnostics of diagnosticsOf(name)) {
        const c = expected.cases.find((x) => x.id === diagnostics.case_id)!;
        const [logit] = await logitOf(specOf(checkpoint.spec), weightsOf ? weightsOf(weights) : weights, single(c));
        const wrong = diagnostics.wrong_logits[mistake]!;
        assert.ok(Math.abs(logit! - wrong) < REPRODUCED, `${c.id}, ${mistake}: ${logit} vs listed ${wrong}`);
      }
    }
  });
}

test('DeBERTa log buckets: every distance the fixture lists lands in its bucket (16 buckets over 512)', () => {
  const { distances, buckets } = loadExpected('deberta-v2-golden').model!.relative_position_bucket_of_distance!;
  distances.forEach((r, i) => assert.equal(logBucketPosition(r, 16, 512), buckets[i], `distance ${r}`));
  // Real mxbai-rerank configs: 256 buckets over 512; ±128 stay exact, ±511 reach the last bucket.
  assert.equal(logBucketPosition(128, 256, 512), 128);
  assert.equal(logBucketPosition(129, 256, 512), 129);
  assert.equal(logBucketPosition(-511, 256, 512), -255);
});

test('DeBERTa relative rows: idx = clamp(bucket + span, 0, 2·span − 1), at distance + maxLength − 1', () => {
  const deberta = loadCheckpoint(locateModel(fixtureDir('deberta-v2-golden'))).spec.deberta!;
  const rows = relativeEmbeddingRows(deberta, 64);
  assert.equal(rows.length, 127);
  assert.equal(rows[63], 16); // distance 0
  assert.equal(rows[0], 16 - 12); // distance −63: bucket −12
  assert.equal(rows[126], 16 + 12);
  const unbucketed = relativeEmbeddingRows({ ...deberta, positionBuckets: 0, maxRelativePositions: 4 }, 8);
  assert.deepEqual(Array.from(unbucketed), [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 7]);
});

test('XLM-R positions: padding_idx + 1 onwards for real tokens, padding_idx for every pad id, mask ignored', async () => {
  const g = new GraphBuilder();
  const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
  g.output('positions', robertaPositionIds(g, ids, 1));
  const session = await ort.InferenceSession.create(toOnnx(g.build()));
  // A literal <pad> (id 1) inside the text keeps position 1 and does not advance the count.
  const rows = [[0, 7, 1, 9, 2, 1, 1], [0, 5, 6, 2, 2, 8, 2]];
  const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [2, 7]) });
  assert.deepEqual(Array.from(out.positions!.data as BigInt64Array, Number), [2, 3, 1, 4, 5, 1, 1, 2, 3, 4, 5, 6, 7, 8]);
  await session.release();
});

test('DeBERTa: the relative-position tables are built once per forward and shared by every layer', () => {
  const spec = loadCheckpoint(locateModel(fixtureDir('deberta-v2-golden'))).spec;
  const zeros: WeightLookup = (_name, shape) => new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (const numLayers of [1, 2, 5]) {
    const graph = buildCrossEncoder({ ...spec, numLayers }, zeros);
    const gathers = graph.nodes.filter((n) => n.op === 'Gather');
    const onRows = gathers.filter((n) => n.inputs[0]!.name === 'deberta_relative_rows');
    assert.equal(onRows.length, 1, `${numLayers} layers: one Gather on deberta_relative_rows`);
    // Each layer gathers its c2p and p2c terms on axis 2, through the same two flat index tensors.
    const terms = gathers.filter((n) => n.attrs['axis'] === 2);
    assert.equal(terms.length, 2 * numLayers, `${numLayers} layers: two relative terms per layer`);
    assert.equal(new Set(terms.map((n) => n.inputs[1]!.id)).size, 2, `${numLayers} layers: one index per term, shared`);
    // LN_enc(E_rel) once, not per layer.
    const relNorms = graph.nodes.filter((n) => n.op === 'LayerNormalization' && n.inputs[0]!.name === `${spec.prefix}encoder.rel_embeddings.weight`);
    assert.equal(relNorms.length, 1, `${numLayers} layers: the relative embeddings are normalised once`);
  }
});
