/**
 * `turborank export` writes a folder that transformers.js (@huggingface/transformers) loads
 * from a local path with AutoTokenizer and AutoModelForSequenceClassification, and that gives
 * the same token ids and the same logits as turborank (to 1e-4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AutoModelForSequenceClassification, AutoTokenizer, Tensor, env, type PreTrainedModel, type PreTrainedTokenizer } from '@huggingface/transformers';
import { FileError, InputError } from '../../src/errors.js';
import { Reranker } from '../../src/rerank/index.js';
import { exportModel } from '../../src/rerank/export.js';
import { PairTokenizer, packBatch, type EncodedPair } from '../../src/tokenizer/index.js';
import { GOLDEN_FIXTURES, fixtureDir, loadExpected, tempDir, type GoldenFixture } from '../helpers.js';

env.allowRemoteModels = false;

type Pair = { readonly query: string; readonly document: string };

/** Loads the export in `dir` the way a transformers.js user does. */
async function loadWithTransformersJs(dir: string): Promise<{ tokenizer: PreTrainedTokenizer; model: PreTrainedModel }> {
  env.localModelPath = path.dirname(dir);
  const id = path.basename(dir);
  const tokenizer = await AutoTokenizer.from_pretrained(id, { local_files_only: true });
  const model = await AutoModelForSequenceClassification.from_pretrained(id, { local_files_only: true, dtype: 'fp32', session_options: { intraOpNumThreads: 1 } });
  return { tokenizer, model };
}

/** The model's logits for one batch of our own encoded pairs, right-padded as transformers.js pads. */
async function logitsFor(model: PreTrainedModel, pairs: readonly EncodedPair[], padId: number): Promise<number[]> {
  const batch = packBatch(pairs, padId);
  const dims = [batch.batchSize, batch.seqLen];
  const { logits } = (await model({
    input_ids: new Tensor('int64', batch.inputIds, dims),
    attention_mask: new Tensor('int64', batch.attentionMask, dims),
    token_type_ids: new Tensor('int64', batch.tokenTypeIds, dims),
  })) as { logits: Tensor };
  return Array.from(logits.data as Float32Array);
}

/** transformers.js's own tokenization of one pair, as plain ids and type ids. */
async function tokenizeWithTransformersJs(tokenizer: PreTrainedTokenizer, pair: Pair, maxLength: number): Promise<{ ids: number[]; types: number[] | undefined }> {
  const out = tokenizer(pair.query, { text_pair: pair.document, truncation: true, max_length: maxLength });
  const rows = (t: unknown): number[] => ((t as Tensor).tolist() as bigint[][])[0]!.map(Number);
  return { ids: rows(out.input_ids), types: out.token_type_ids ? rows(out.token_type_ids) : undefined };
}

for (const name of GOLDEN_FIXTURES) {
  test(`${name}: transformers.js loads the export and gives turborank's token ids and logits`, async () => {
    const out = path.join(tempDir(), `${name}-onnx`);
    const result = exportModel(fixtureDir(name), out);
    assert.equal(result.precision, 'fp32');
    for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) assert.ok(fs.existsSync(path.join(out, file)), file);
    const expected = loadExpected(name);
    const maxLength = expected.tokenizer.max_length;
    const pairs = expected.cases.map((c) => ({ query: c.query, document: c.document }));

    const ours = await PairTokenizer.load(path.join(fixtureDir(name), 'tokenizer.json'));
    const encoded = await ours.encodePairs(pairs, maxLength);
    const reranker = await Reranker.load(fixtureDir(name), { threads: 1, maxLength });
    const logits = await reranker.score(pairs);
    await reranker.close();

    const { tokenizer, model } = await loadWithTransformersJs(out);
    try {
      // The same ids in, the same logits out, for every case (one padded batch, as transformers.js runs).
      const theirs = await logitsFor(model, encoded, ours.padId);
      theirs.forEach((logit, i) => assert.ok(Math.abs(logit - logits[i]!) < 1e-4, `${name} case ${i}: transformers.js ${logit}, turborank ${logits[i]}`));
      // transformers.js's tokenizer gives our ids wherever it follows Hugging Face's pair rules.
      // It does not when a pair is truncated (4.3 cuts the joined sequence, losing the final
      // separator, where Hugging Face truncates longest-first) or the document is empty (the
      // document's separator is dropped): those cases are left out here.
      let compared = 0;
      for (const [i, pair] of pairs.entries()) {
        if (pair.document === '' || encoded[i]!.length >= maxLength) continue;
        const t = await tokenizeWithTransformersJs(tokenizer, pair, maxLength);
        assert.deepEqual(t.ids, Array.from(encoded[i]!.ids), `${name} case ${i}: input ids`);
        if (t.types) assert.deepEqual(t.types, Array.from(encoded[i]!.typeIds), `${name} case ${i}: token type ids`);
        compared++;
      }
      assert.ok(compared >= pairs.length / 3, `${name}: only ${compared} of ${pairs.length} cases compared`);
    } finally {
      await model.dispose();
    }
  });
}

test('an int8 export runs in transformers.js with the logits of turborank --precision int8', async () => {
  const name: GoldenFixture = 'jinabert-tiny-golden';
  const out = path.join(tempDir(), 'int8-onnx');
  exportModel(fixtureDir(name), out, { precision: 'int8' });
  const expected = loadExpected(name);
  const pairs = expected.cases.map((c) => ({ query: c.query, document: c.document }));
  const tokenizer = await PairTokenizer.load(path.join(fixtureDir(name), 'tokenizer.json'));
  const encoded = await tokenizer.encodePairs(pairs, expected.tokenizer.max_length);
  const reranker = await Reranker.load(fixtureDir(name), { threads: 1, precision: 'int8', maxLength: expected.tokenizer.max_length });
  // Activations are quantized per tensor, so an int8 logit depends (within rounding) on what
  // else shares its batch: score all cases in one batch on both sides.
  const logits = await reranker.scoreEncoded(encoded, { maxBatchSize: pairs.length, maxBatchTokens: 2 ** 20, batchOverheadTokens: 1e9 });
  await reranker.close();
  const { model } = await loadWithTransformersJs(out);
  const theirs = await logitsFor(model, encoded, tokenizer.padId);
  await model.dispose();
  theirs.forEach((logit, i) => assert.ok(Math.abs(logit - logits[i]!) < 1e-4, `case ${i}: transformers.js ${logit}, turborank int8 ${logits[i]}`));
  // The per-layer matrices shrink fourfold; the float embedding table, most of this tiny model, stays.
  assert.ok(fs.statSync(path.join(out, 'onnx', 'model.onnx')).size < 0.9 * fs.statSync(path.join(fixtureDir(name), 'model.safetensors')).size);
});

test('an every-row export (the graph an export of the PyTorch model has; the race runs it) gives the same logits in transformers.js', async () => {
  const name: GoldenFixture = 'jinabert-tiny-golden';
  const dir = tempDir();
  exportModel(fixtureDir(name), path.join(dir, 'cls-onnx'));
  exportModel(fixtureDir(name), path.join(dir, 'every-row-onnx'), { everyRow: true });
  const bytes = (folder: string): Buffer => fs.readFileSync(path.join(dir, folder, 'onnx', 'model.onnx'));
  assert.notDeepEqual(bytes('every-row-onnx'), bytes('cls-onnx'), 'everyRow changes the graph');
  const expected = loadExpected(name);
  const pairs = expected.cases.map((c) => ({ query: c.query, document: c.document }));
  const tokenizer = await PairTokenizer.load(path.join(fixtureDir(name), 'tokenizer.json'));
  const encoded = await tokenizer.encodePairs(pairs, expected.tokenizer.max_length);
  const reranker = await Reranker.load(fixtureDir(name), { threads: 1, maxLength: expected.tokenizer.max_length });
  const logits = await reranker.score(pairs);
  await reranker.close();
  const { model } = await loadWithTransformersJs(path.join(dir, 'every-row-onnx'));
  const theirs = await logitsFor(model, encoded, tokenizer.padId);
  await model.dispose();
  theirs.forEach((logit, i) => assert.ok(Math.abs(logit - logits[i]!) < 1e-4, `case ${i}: every-row export ${logit}, turborank ${logits[i]}`));
});

test('export refuses an ONNX model and a non-empty folder, saying what to do', () => {
  const dir = tempDir();
  const out = path.join(dir, 'first');
  exportModel(fixtureDir('jinabert-tiny-golden'), out);
  assert.throws(() => exportModel(out, path.join(dir, 'second')), (err: unknown) => err instanceof InputError && /already an ONNX export/.test(err.message));
  assert.throws(() => exportModel(fixtureDir('jinabert-tiny-golden'), out), (err: unknown) => err instanceof FileError && /not empty/.test(err.message));
});
