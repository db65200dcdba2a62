/**
 * Sessions whose F32 weights ONNX Runtime reads straight from model.safetensors (external data):
 * the same logits as weights passed through the model bytes, with the model bytes holding no
 * weights; the Hugging Face cache's symlinked files; and F16 checkpoints, widened by us instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SafetensorsFile, loadCheckpoint, locateModel, writeSafetensors } from '../../src/checkpoint/index.js';
import { toOnnx } from '../../src/graph/index.js';
import { buildCrossEncoder } from '../../src/models/index.js';
import { sessionForCheckpoint } from '../../src/runtime/index.js';
import type { TokenBatch } from '../../src/tokenizer/batch.js';
import { fixtureDir, loadExpected, tempDir, type GoldenFixture } from '../helpers.js';

function batchOf(name: GoldenFixture): { batch: TokenBatch; logits: number[] } {
  const b = loadExpected(name).batches[0]!;
  const seqLen = b.input_ids[0]!.length;
  const flat = (m: number[][]): BigInt64Array => BigInt64Array.from(m.flat(), BigInt);
  return {
    batch: {
      batchSize: b.input_ids.length, seqLen, inputIds: flat(b.input_ids), attentionMask: flat(b.attention_mask),
      tokenTypeIds: flat(b.token_type_ids!), lengths: new Int32Array(b.input_ids.length),
    },
    logits: b.logits,
  };
}

async function assertGolden(dir: string, name: GoldenFixture, tolerance: number): Promise<void> {
  const session = await sessionForCheckpoint(loadCheckpoint(locateModel(dir)), { threads: 1 });
  const { batch, logits } = batchOf(name);
  const out = await session.run(batch);
  logits.forEach((want, row) => assert.ok(Math.abs(out.logits[row]! - want) < tolerance, `${name} row ${row}: ${out.logits[row]} vs ${want}`));
  await session.close();
}

for (const name of ['xlmr-golden', 'deberta-v2-golden', 'jinabert-tiny-golden'] as const) {
  test(`${name}: weights read by ONNX Runtime from model.safetensors give the reference logits`, () => assertGolden(fixtureDir(name), name, 1e-4));
}

test('with external weights the model bytes hold none of them', () => {
  const checkpoint = loadCheckpoint(locateModel(fixtureDir('xlmr-golden')));
  const weights = (n: string): Float32Array => checkpoint.weights.float32(n);
  const inline = toOnnx(buildCrossEncoder(checkpoint.spec, weights)).length;
  const external = toOnnx(buildCrossEncoder(checkpoint.spec, weights, {
    externalWeights: (n) => {
      const where = checkpoint.weights.location(n)!;
      return { location: 'model.safetensors', offset: where.offset, length: where.length };
    },
  })).length;
  const weightBytes = fs.statSync(checkpoint.weightsPath).size;
  assert.ok(inline > weightBytes * 0.95, `inline model ${inline} bytes`);
  assert.ok(external < weightBytes * 0.1, `external model ${external} bytes for ${weightBytes} bytes of weights`);
});

/** The same SafetensorsFile, recording the name of every tensor whose values JavaScript reads. */
function recordingReads(file: SafetensorsFile, reads: string[]): SafetensorsFile {
  return new Proxy(file, {
    get(target, key) {
      const member: unknown = Reflect.get(target, key, target);
      if (typeof member !== 'function') return member;
      if (key === 'float32' || key === 'bytes') {
        return (name: string) => {
          reads.push(name);
          return (member as (n: string) => unknown).call(target, name);
        };
      }
      return (member as (...args: unknown[]) => unknown).bind(target);
    },
  });
}

test('sessionForCheckpoint reads no F32 weight into JavaScript, so the model bytes cannot hold one', async () => {
  // Every weight in the serialised model would have to pass through float32() or bytes(): none
  // does, and the session still gives the reference logits, so ONNX Runtime read them from
  // model.safetensors itself. This is what keeps a 1.1 GB checkpoint from costing 2-3x its size.
  for (const name of ['xlmr-golden', 'deberta-v2-golden'] as const) {
    const checkpoint = loadCheckpoint(locateModel(fixtureDir(name)));
    const reads: string[] = [];
    const session = await sessionForCheckpoint({ ...checkpoint, weights: recordingReads(checkpoint.weights, reads) }, { threads: 1 });
    assert.deepEqual(reads, [], `${name}: tensors read into JavaScript`);
    const { batch, logits } = batchOf(name);
    const out = await session.run(batch);
    logits.forEach((want, row) => assert.ok(Math.abs(out.logits[row]! - want) < 1e-4, `${name} row ${row}: ${out.logits[row]} vs ${want}`));
    await session.close();
  }
  // The recorder does see reads when there are any: F16 tensors are widened in JavaScript.
  const dir = path.join(tempDir('turborank-f16-reads-'), 'xlmr');
  fs.cpSync(fixtureDir('xlmr-golden'), dir, { recursive: true });
  const file = path.join(dir, 'model.safetensors');
  const original = SafetensorsFile.read(file);
  writeSafetensors(file, original.tensors().map((t) => ({ name: t.name, dtype: 'F16' as const, shape: t.shape, data: original.float32(t.name) })));
  const f16 = loadCheckpoint(locateModel(dir));
  const reads: string[] = [];
  await (await sessionForCheckpoint({ ...f16, weights: recordingReads(f16.weights, reads) }, { threads: 1 })).close();
  // Every tensor but the last layer's key bias, which the folded last layer leaves unused (softmax cancels it).
  const unused = `roberta.encoder.layer.${f16.spec.numLayers - 1}.attention.self.key.bias`;
  assert.ok(original.names().includes(unused));
  assert.deepEqual(new Set(reads), new Set(original.names().filter((n) => n !== unused)), 'every tensor, widened in JavaScript');
});

test('a Hugging Face cache snapshot, whose files are symlinks into blobs/, loads', async () => {
  const repo = path.join(tempDir('turborank-hub-'), 'models--org--xlmr');
  const snapshot = path.join(repo, 'snapshots', 'abc123');
  fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
  fs.mkdirSync(snapshot, { recursive: true });
  for (const file of ['config.json', 'model.safetensors', 'tokenizer.json']) {
    const blob = path.join(repo, 'blobs', `blob-${file}`);
    fs.copyFileSync(path.join(fixtureDir('xlmr-golden'), file), blob);
    fs.symlinkSync(path.join('..', '..', 'blobs', `blob-${file}`), path.join(snapshot, file));
  }
  await assertGolden(snapshot, 'xlmr-golden', 1e-4);
});

test('an F16 checkpoint is widened in JavaScript (ONNX Runtime cannot read it as float32) and still scores', async () => {
  const dir = path.join(tempDir('turborank-f16-'), 'deberta');
  fs.cpSync(fixtureDir('deberta-v2-golden'), dir, { recursive: true });
  const file = path.join(dir, 'model.safetensors');
  const original = SafetensorsFile.read(file);
  writeSafetensors(file, original.tensors().map((t) => ({ name: t.name, dtype: 'F16' as const, shape: t.shape, data: original.float32(t.name) })));
  assert.equal(loadCheckpoint(locateModel(dir)).weights.location('classifier.weight'), undefined);
  await assertGolden(dir, 'deberta-v2-golden', 2e-2);
});
