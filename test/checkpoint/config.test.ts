import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ModelConfigError } from '../../src/errors.js';
import { checkWeightsAgainstSpec, expectedTensors, parseModelSpec, type TensorShapes } from '../../src/checkpoint/config.js';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.js';
import { countParameters, type ModelSpec } from '../../src/checkpoint/spec.js';
import { specToConfigJson } from '../../src/checkpoint/config-writer.js';
import { GOLDEN_FIXTURES, fixtureDir, loadExpected, type GoldenFixture } from '../helpers.js';

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

for (const name of GOLDEN_FIXTURES) {
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

test('an unknown model_type is refused, naming the file, key, value and the supported families', () => {
  assertConfigError(() => specWith('bert-minilm-golden', { model_type: 'gpt2' }), [
    '/models/x/config.json', 'model_type "gpt2" is not supported', 'JinaBERT', 'BERT cross-encoders', 'XLM-RoBERTa', 'DeBERTa-v3',
  ]);
});

test("a model_type whose family's tensors are not in the weights names both", () => {
  assertConfigError(() => specWith('bert-minilm-golden', { model_type: 'xlm-roberta' }), [
    '/models/x/model.safetensors', 'roberta.embeddings.word_embeddings.weight', 'holds bert.embeddings.word_embeddings.weight', 'disagree',
  ]);
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

// --- XLM-RoBERTa and DeBERTa-v2/v3 --------------------------------------------------------------

test('xlmr-golden parses to XLM-R: roberta. prefix, 64 tokens from 66 position rows (pad 1), no pooler', () => {
  const { config, shapes } = fixture('xlmr-golden');
  const spec = parseModelSpec(config, shapes, 'config.json');
  assert.deepEqual(spec, {
    architecture: 'xlm-roberta', vocabSize: 519, hiddenSize: 64, numLayers: 2, numHeads: 4, intermediateSize: 256,
    typeVocabSize: 1, layerNormEps: 1e-5, positionEmbedding: 'absolute', maxPositions: 64, padTokenId: 1,
    feedForward: 'original', hiddenAct: 'gelu', numLabels: 1, prefix: 'roberta.', sourceName: 'turborank-fixtures/xlmr-golden',
  });
  assert.equal(countParameters(spec), loadExpected('xlmr-golden').model!.num_parameters);
  const names = expectedTensors(spec).map((t) => t.name);
  assert.ok(names.includes('classifier.out_proj.weight') && !names.some((n) => n.includes('pooler')));
});

test('XLM-R counts positions from pad_token_id + 1: maxPositions = max_position_embeddings − pad − 1', () => {
  assert.equal(specWith('xlmr-golden', { max_position_embeddings: 514 }).maxPositions, 512);
  assert.equal(specWith('xlmr-golden', { pad_token_id: 0, max_position_embeddings: 66 }).maxPositions, 65);
  assertConfigError(() => specWith('xlmr-golden', { max_position_embeddings: 2 }), ['max_position_embeddings 2', 'pad_token_id + 1 = 2']);
  assertConfigError(() => specWith('xlmr-golden', { position_embedding_type: 'relative_key' }), ['position_embedding_type "relative_key"', 'XLM-RoBERTa']);
});

test('XLM-R without classifier.out_proj is refused naming that tensor', () => {
  const { shapes } = fixture('xlmr-golden');
  assertConfigError(() => specWith('xlmr-golden', {}, (n) => (n.startsWith('classifier.out_proj') ? undefined : shapes(n))), [
    'no classifier.out_proj.weight', 'not a cross-encoder',
  ]);
});

test('deberta-v2-golden parses to DeBERTa-v3: relative positions, 16 buckets over 512, both terms, gelu pooler', () => {
  const { config, shapes } = fixture('deberta-v2-golden');
  const spec = parseModelSpec(config, shapes, 'config.json');
  assert.deepEqual(spec, {
    architecture: 'deberta-v2', vocabSize: 528, hiddenSize: 64, numLayers: 2, numHeads: 4, intermediateSize: 256,
    typeVocabSize: 0, layerNormEps: 1e-7, positionEmbedding: 'relative', maxPositions: 512,
    deberta: { positionBuckets: 16, maxRelativePositions: 512, normRelEmbedding: true, contentToPosition: true, positionToContent: true, poolerAct: 'gelu' },
    feedForward: 'original', hiddenAct: 'gelu', numLabels: 1, prefix: 'deberta.', sourceName: 'turborank-fixtures/deberta-v2-golden',
  });
  assert.equal(countParameters(spec), loadExpected('deberta-v2-golden').model!.num_parameters);
});

test('DeBERTa settings in their other accepted forms', () => {
  const piped = specWith('deberta-v2-golden', { pos_att_type: 'p2c|c2p', norm_rel_ebd: 'none', max_relative_positions: 256 });
  assert.deepEqual(piped.deberta, {
    positionBuckets: 16, maxRelativePositions: 256, normRelEmbedding: false, contentToPosition: true, positionToContent: true, poolerAct: 'gelu',
  });
  assert.ok(!expectedTensors(piped).some((t) => t.name === 'deberta.encoder.LayerNorm.weight'), 'no LayerNorm for norm_rel_ebd "none"');
  const c2pOnly = specWith('deberta-v2-golden', { pos_att_type: ['c2p'], position_buckets: undefined, max_relative_positions: 8 });
  assert.equal(c2pOnly.deberta?.positionToContent, false);
  assert.equal(c2pOnly.deberta?.positionBuckets, 0);
  assert.deepEqual(expectedTensors(c2pOnly).find((t) => t.name.endsWith('rel_embeddings.weight'))?.shape, [16, 64]);
});

test('DeBERTa options turborank does not build are refused naming the option and the value', () => {
  const refused: [Record<string, unknown>, string][] = [
    [{ conv_kernel_size: 3 }, 'conv_kernel_size 3'],
    [{ pos_att_type: ['p2c', 'c2p', 'p2p'] }, 'pos_att_type ["p2c","c2p","p2p"] has "p2p"'],
    [{ pos_att_type: [] }, 'pos_att_type [] is empty'],
    [{ share_att_key: false }, 'share_att_key false'],
    [{ share_att_key: undefined }, 'share_att_key false'],
    [{ position_biased_input: true }, 'position_biased_input true'],
    [{ position_biased_input: undefined }, 'position_biased_input true'],
    [{ relative_attention: false }, 'relative_attention false'],
    [{ norm_rel_ebd: 'layer_norm|conv' }, 'norm_rel_ebd "layer_norm|conv" has "conv"'],
    [{ embedding_size: 128 }, 'embedding_size 128'],
    [{ pooler_hidden_size: 32 }, 'pooler_hidden_size 32'],
    [{ attention_head_size: 8 }, 'attention_head_size 8'],
    [{ pooler_hidden_act: 'silu' }, 'pooler_hidden_act "silu"'],
    [{ position_buckets: 1024 }, 'position_buckets 1024'],
  ];
  for (const [changes, mention] of refused) {
    assertConfigError(() => specWith('deberta-v2-golden', changes), ['/models/x/config.json', mention]);
  }
  assertConfigError(() => specWith('deberta-v2-golden', { conv_kernel_size: 3 }), ['not implemented', 'DeBERTa-v3']);
});

test('a DeBERTa checkpoint missing its relative embeddings is named as DeBERTa', () => {
  const { shapes } = fixture('deberta-v2-golden');
  const spec = specWith('deberta-v2-golden', {});
  assertConfigError(() => checkWeightsAgainstSpec(spec, (n) => (n.includes('rel_embeddings') ? undefined : shapes(n)), 'w.safetensors'), [
    "config.json's DeBERTa-v2 architecture", 'deberta.encoder.rel_embeddings.weight',
  ]);
});

for (const name of GOLDEN_FIXTURES) {
  test(`${name}: specToConfigJson writes a config.json that parses back to the same spec`, () => {
    const { config, shapes } = fixture(name);
    const spec = parseModelSpec(config, shapes, 'config.json');
    assert.deepEqual(parseModelSpec(specToConfigJson(spec), shapes, 'config.json'), spec);
  });
}
