import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ModelConfigError } from '../../src/errors.js';
import { checkWeightsAgainstSpec, expectedTensors, parseModelSpec, type TensorShapes } from '../../src/checkpoint/config.js';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.js';
import { countParameters, type ModelSpec } from '../../src/checkpoint/spec.js';
import { fixtureDir, type GoldenFixture } from '../helpers.js';

function fixture(name: GoldenFixture): { config: Record<string, unknown>; shapes: TensorShapes; weights: SafetensorsFile } {
  const dir = fixtureDir(name);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const weights = SafetensorsFile.read(path.join(dir, 'model.safetensors'));
  return { config, shapes: (n) => weights.shape(n), weights };
}

/** parseModelSpec on a fixture's config with `changes` applied (undefined deletes a key). */
function specWith(name: GoldenFixture, changes: Record<string, unknown>, shapes?: TensorShapes): ModelSpec {
  const f = fixture(name);
  const config = { ...f.config, ...changes };
  for (const [key, value] of Object.entries(changes)) if (value === undefined) delete config[key];
  return parseModelSpec(config, shapes ?? f.shapes, '/models/x/config.json', '/models/x/model.safetensors');
}

/** Asserts a ModelConfigError whose message contains each of `mentions`. */
function assertConfigError(fn: () => unknown, mentions: readonly string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ModelConfigError, `expected a ModelConfigError, got ${String(error)}`);
    for (const m of mentions) assert.ok(error.message.includes(m), `message lacks "${m}":\n${error.message}`);
    return true;
  });
}

const JINABERT_COMMON = {
  architecture: 'jinabert',
  hiddenSize: 64,
  numLayers: 2,
  numHeads: 4,
  intermediateSize: 128,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  positionEmbedding: 'alibi',
  maxPositions: 8192,
  feedForward: 'geglu',
  hiddenAct: 'gelu',
  numLabels: 1,
  prefix: 'bert.',
} as const;

test('jinabert-tiny-golden parses to a 2-layer ALiBi GEGLU spec with one label', () => {
  const { config, shapes } = fixture('jinabert-tiny-golden');
  const spec = parseModelSpec(config, shapes, 'config.json');
  assert.deepEqual(spec, { ...JINABERT_COMMON, vocabSize: 2014, sourceName: 'turborank-fixtures/jinabert-tiny-golden' });
});

test('jinabert-bpe-golden parses with its own vocabulary size', () => {
  const { config, shapes } = fixture('jinabert-bpe-golden');
  const spec = parseModelSpec(config, shapes, 'config.json');
  assert.deepEqual(spec, { ...JINABERT_COMMON, vocabSize: 699, sourceName: 'turborank-fixtures/jinabert-bpe-golden' });
});

test('bert-minilm-golden parses to an absolute-position BERT with the plain MLP', () => {
  const { config, shapes } = fixture('bert-minilm-golden');
  const spec = parseModelSpec(config, shapes, 'config.json');
  assert.deepEqual(spec, {
    architecture: 'bert',
    vocabSize: 2014,
    hiddenSize: 64,
    numLayers: 2,
    numHeads: 4,
    intermediateSize: 256,
    typeVocabSize: 2,
    layerNormEps: 1e-12,
    positionEmbedding: 'absolute',
    maxPositions: 512,
    feedForward: 'original',
    hiddenAct: 'gelu',
    numLabels: 1,
    prefix: 'bert.',
    sourceName: 'turborank-fixtures/bert-minilm-golden',
  });
});

for (const name of ['jinabert-tiny-golden', 'jinabert-bpe-golden', 'bert-minilm-golden'] as const) {
  test(`${name}: expectedTensors lists exactly the checkpoint's tensors, with their shapes`, () => {
    const { config, shapes, weights } = fixture(name);
    const spec = parseModelSpec(config, shapes, 'config.json');
    const expected = expectedTensors(spec);
    assert.deepEqual(expected.map((t) => t.name).sort(), weights.names().sort());
    for (const t of expected) assert.deepEqual(weights.shape(t.name), t.shape, t.name);
    const total = expected.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
    assert.equal(total, countParameters(spec));
  });
}

test('ALiBi models accept 8192 tokens unless config.json allows more', () => {
  assert.equal(specWith('jinabert-tiny-golden', { max_position_embeddings: undefined }).maxPositions, 8192);
  assert.equal(specWith('jinabert-tiny-golden', { max_position_embeddings: 512 }).maxPositions, 8192);
  assert.equal(specWith('jinabert-tiny-golden', { max_position_embeddings: 16384 }).maxPositions, 16384);
});

test('the gated MLP fixes its activation: geglu is erf GELU and reglu is ReLU, whatever hidden_act says', () => {
  assert.equal(specWith('jinabert-tiny-golden', { hidden_act: 'relu' }).hiddenAct, 'gelu');
  const reglu = specWith('jinabert-tiny-golden', { feed_forward_type: 'reglu' });
  assert.equal(reglu.feedForward, 'reglu');
  assert.equal(reglu.hiddenAct, 'relu');
});

test("plain BERT takes hidden_act from config.json and refuses activations it cannot build", () => {
  assert.equal(specWith('bert-minilm-golden', { hidden_act: 'gelu_new' }).hiddenAct, 'gelu_new');
  assert.equal(specWith('bert-minilm-golden', { hidden_act: 'gelu_pytorch_tanh' }).hiddenAct, 'gelu_pytorch_tanh');
  assert.equal(specWith('bert-minilm-golden', { hidden_act: undefined }).hiddenAct, 'gelu');
  assertConfigError(() => specWith('bert-minilm-golden', { hidden_act: 'silu' }), ['/models/x/config.json', 'hidden_act "silu"', '"gelu_new"']);
});

test('position_embedding_type absent means absolute (BertConfig default)', () => {
  assert.equal(specWith('bert-minilm-golden', { position_embedding_type: undefined }).architecture, 'bert');
});

test('xlm-roberta is refused as planned, naming the file, key, value and the supported families', () => {
  assertConfigError(
    () => specWith('bert-minilm-golden', { model_type: 'xlm-roberta' }),
    ['/models/x/config.json', 'model_type "xlm-roberta"', 'planned but not yet supported', 'JinaBERT', 'BERT cross-encoders'],
  );
  assertConfigError(() => specWith('bert-minilm-golden', { model_type: 'deberta-v2' }), ['model_type "deberta-v2"', 'planned']);
  assertConfigError(() => specWith('bert-minilm-golden', { model_type: 'gpt2' }), ['model_type "gpt2" is not supported', 'JinaBERT']);
});

test('relative position embeddings are refused', () => {
  assertConfigError(() => specWith('bert-minilm-golden', { position_embedding_type: 'relative_key' }), [
    'position_embedding_type "relative_key"',
    '"alibi"',
    '"absolute"',
  ]);
});

test('an unknown feed_forward_type is refused listing the supported ones', () => {
  assertConfigError(() => specWith('jinabert-tiny-golden', { feed_forward_type: 'swiglu' }), [
    'feed_forward_type "swiglu"',
    '"original", "geglu", "reglu"',
  ]);
  assertConfigError(() => specWith('bert-minilm-golden', { feed_forward_type: 'geglu' }), ['feed_forward_type "geglu"', 'JinaBERT setting']);
});

test('a hidden size the heads do not divide is refused', () => {
  assertConfigError(() => specWith('jinabert-tiny-golden', { num_attention_heads: 5 }), ['num_attention_heads 5', 'hidden_size 64']);
});

test('missing or mistyped required keys are refused naming the key', () => {
  assertConfigError(() => specWith('jinabert-tiny-golden', { hidden_size: undefined }), ['/models/x/config.json', 'has no hidden_size']);
  assertConfigError(() => specWith('jinabert-tiny-golden', { hidden_size: '64' }), ['hidden_size "64"', 'integer']);
  assertConfigError(() => specWith('jinabert-tiny-golden', { num_hidden_layers: 0 }), ['num_hidden_layers 0', 'positive']);
  assertConfigError(() => specWith('jinabert-tiny-golden', { layer_norm_eps: 'small' }), ['layer_norm_eps "small"']);
  assertConfigError(() => specWith('jinabert-tiny-golden', { model_type: undefined }), ['has no model_type']);
  assertConfigError(() => parseModelSpec([1, 2], () => undefined, 'c.json'), ['c.json', 'not a JSON object']);
});

test('a checkpoint without classifier.weight is refused as an embedding model', () => {
  const { shapes } = fixture('jinabert-tiny-golden');
  const withoutHead: TensorShapes = (n) => (n.startsWith('classifier.') ? undefined : shapes(n));
  assertConfigError(() => specWith('jinabert-tiny-golden', {}, withoutHead), [
    '/models/x/model.safetensors',
    'no classifier.weight',
    'embedding',
    'not a cross-encoder',
  ]);
});

test('num_labels in config.json must agree with classifier.weight', () => {
  assertConfigError(() => specWith('bert-minilm-golden', { id2label: { 0: 'NO', 1: 'YES' } }), ['id2label size 2', 'classifier.weight [1,64]']);
  assertConfigError(() => specWith('bert-minilm-golden', { num_labels: 3 }), ['num_labels 3']);
});

test('weights that are not BERT at all are refused before anything else', () => {
  assertConfigError(() => specWith('bert-minilm-golden', {}, () => undefined), ['model.safetensors', 'not a BERT-family checkpoint']);
});

test('an unprefixed checkpoint parses with prefix ""', () => {
  const { shapes } = fixture('jinabert-tiny-golden');
  const unprefixed: TensorShapes = (n) => (n.startsWith('bert.') ? undefined : shapes(n.startsWith('classifier.') ? n : `bert.${n}`));
  const spec = specWith('jinabert-tiny-golden', {}, unprefixed);
  assert.equal(spec.prefix, '');
  assert.ok(expectedTensors(spec).some((t) => t.name === 'encoder.layer.1.mlp.wo.weight'));
  checkWeightsAgainstSpec(spec, unprefixed, 'model.safetensors');
});

// --- checkWeightsAgainstSpec -------------------------------------------------------------------

test('a weight of the wrong shape is named with the config value that needs another shape', () => {
  const { config, shapes } = fixture('jinabert-tiny-golden');
  const spec = parseModelSpec(config, shapes, 'config.json');
  const bad = 'bert.encoder.layer.1.attention.self.query.weight';
  const wrong: TensorShapes = (n) => (n === bad ? [64, 32] : shapes(n));
  assert.throws(
    () => checkWeightsAgainstSpec(spec, wrong, 'model.safetensors'),
    (e: unknown) =>
      e instanceof ModelConfigError &&
      e.message.startsWith(
        'model.safetensors: bert.encoder.layer.1.attention.self.query.weight has shape [64,32] but config.json (hidden_size 64) needs [64,64]',
      ),
  );
});

test('GEGLU shapes: gated_layers is [2I,H] and wo is [H,I]', () => {
  const spec = specWith('jinabert-tiny-golden', {});
  const byName = new Map(expectedTensors(spec).map((t) => [t.name, t]));
  assert.deepEqual(byName.get('bert.encoder.layer.0.mlp.gated_layers.weight')?.shape, [256, 64]);
  assert.equal(byName.has('bert.encoder.layer.0.mlp.gated_layers.bias'), false);
  assert.deepEqual(byName.get('bert.encoder.layer.0.mlp.wo.weight')?.shape, [64, 128]);
  assert.equal(byName.get('bert.encoder.layer.0.mlp.wo.weight')?.shapeFrom, 'hidden_size 64, intermediate_size 128');
});

test('missing tensors are listed, with a feed_forward_type hint when the MLP kind disagrees', () => {
  const { shapes } = fixture('jinabert-tiny-golden');
  const spec = specWith('jinabert-tiny-golden', { feed_forward_type: undefined }); // JinaBertConfig default: "original"
  assert.equal(spec.feedForward, 'original');
  assertConfigError(() => checkWeightsAgainstSpec(spec, shapes, 'w.safetensors'), [
    'w.safetensors',
    'bert.encoder.layer.0.intermediate.dense.weight',
    '"feed_forward_type": "geglu"',
  ]);
});

test('weights with more layers than num_hidden_layers are refused', () => {
  const { shapes } = fixture('jinabert-tiny-golden');
  const spec = specWith('jinabert-tiny-golden', { num_hidden_layers: 1 });
  assertConfigError(() => checkWeightsAgainstSpec(spec, shapes, 'w.safetensors'), ['bert.encoder.layer.1.attention.self.query.weight', 'num_hidden_layers 1']);
});

test('LayerNorm gamma/beta are accepted as aliases and reported as the stored names', () => {
  const { shapes } = fixture('bert-minilm-golden');
  const renamed: TensorShapes = (n) => {
    if (/LayerNorm\.(weight|bias)$/.test(n)) return undefined;
    return shapes(n.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias'));
  };
  const spec = specWith('bert-minilm-golden', {}, renamed);
  const stored = checkWeightsAgainstSpec(spec, renamed, 'w.safetensors');
  assert.equal(stored.get('bert.embeddings.LayerNorm.weight'), 'bert.embeddings.LayerNorm.gamma');
  assert.equal(stored.get('bert.encoder.layer.1.output.LayerNorm.bias'), 'bert.encoder.layer.1.output.LayerNorm.beta');
  assert.equal(stored.get('classifier.weight'), 'classifier.weight');
});
