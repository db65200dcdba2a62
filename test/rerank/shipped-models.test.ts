/**
 * The models that ship inside the package (issue 5): turborank-turbo-en and turborank-tiny-en,
 * Hugging Face-layout folders with a model card each, under 30 MB, and the default that
 * `Reranker.load()` takes with no argument.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Reranker, SHIPPED_MODELS, shippedModelPath, defaultModelPath, type ShippedModel } from '../../src/rerank/index.js';
import { SafetensorsFile } from '../../src/checkpoint/index.js';

const QUERY = 'how do I compress a file?';
const DOCS = [
  'The nightingale sings at night in spring.',
  'gzip reduces the size of files using Lempel-Ziv coding.',
  'ssh opens an encrypted shell on a remote computer.',
];

for (const model of Object.keys(SHIPPED_MODELS) as ShippedModel[]) {
  test(`${SHIPPED_MODELS[model]}: a Hugging Face-layout folder with a model card, float16 weights, under 30 MB`, () => {
    const dir = shippedModelPath(model);
    for (const file of ['config.json', 'tokenizer.json', 'model.safetensors', 'README.md']) {
      assert.ok(fs.existsSync(path.join(dir, file)), `${dir} has ${file}`);
    }
    const bytes = fs.readdirSync(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
    assert.ok(bytes < 30 * 2 ** 20, `${dir}: ${bytes} bytes`);
    const weights = SafetensorsFile.open(path.join(dir, 'model.safetensors'));
    for (const name of weights.names()) assert.equal(weights.info(name).dtype, 'F16', name);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config.position_embedding_type, 'alibi');
    assert.equal(config._name_or_path, SHIPPED_MODELS[model]);
    const card = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    for (const section of ['## Training data', '## Recipe', '## Results', '## Licence', '## Intended use', '## Limits']) {
      assert.ok(card.includes(section), `${dir}/README.md has "${section}"`);
    }
  });

  test(`${SHIPPED_MODELS[model]}: loads as a JinaBERT reranker of its card's shape and scores every document`, async () => {
    const reranker = await Reranker.load(shippedModelPath(model), { threads: 1 });
    try {
      assert.equal(reranker.info.isTestModel, false);
      assert.equal(reranker.info.spec?.architecture, 'jinabert');
      const card = fs.readFileSync(path.join(shippedModelPath(model), 'README.md'), 'utf8');
      assert.ok(card.includes(`${reranker.info.spec!.numLayers} layer`), `the card states the layer count (${reranker.info.spec!.numLayers})`);
      const results = await reranker.rerank(QUERY, DOCS);
      assert.deepEqual(results.map((r) => r.index).sort(), [0, 1, 2]);
      assert.ok(results.every((r) => Number.isFinite(r.logit)));
      assert.ok(new Set(results.map((r) => r.logit)).size === 3, 'distinct documents get distinct scores');
    } finally {
      await reranker.close();
    }
  });
}

test('Reranker.load() with no argument loads the shipped default model', async () => {
  const implicit = await Reranker.load(undefined, { threads: 1 });
  const named = await Reranker.load(defaultModelPath(), { threads: 1 });
  try {
    assert.equal(implicit.info.name, defaultModelPath());
    assert.match(implicit.info.name, /models[\\/]turborank-tiny-en$/);
    const pairs = DOCS.map((document) => ({ query: QUERY, document }));
    assert.deepEqual([...await implicit.score(pairs)], [...await named.score(pairs)]);
  } finally {
    await implicit.close();
    await named.close();
  }
});
