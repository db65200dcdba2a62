/**
 * config.json → ModelSpec, and the list of tensors that spec needs, checked against the weights.
 *
 * Two families are recognised, both with `model_type: "bert"`:
 *  - JinaBERT (jina-reranker-v1-*): `position_embedding_type: "alibi"`, gated MLP (`feed_forward_type`
 *    "geglu"/"reglu"), no position embeddings, and no `num_labels` (the head's size is in the weights);
 *  - BERT cross-encoders (ms-marco-MiniLM & co.): absolute learned positions, the plain two-layer MLP.
 */
import path from 'node:path';
import { ModelConfigError } from '../errors.js';
import { formatShape } from './safetensors.js';
import type { Architecture, FeedForwardType, HiddenAct, ModelSpec } from './spec.js';

/** Shape of a tensor in the checkpoint by name, or undefined when there is none. */
export type TensorShapes = (name: string) => readonly number[] | undefined;

const SUPPORTED =
  'JinaBERT cross-encoders (model_type "bert" with position_embedding_type "alibi", e.g. jinaai/jina-reranker-v1-turbo-en) ' +
  'and BERT cross-encoders (model_type "bert" with absolute positions, e.g. cross-encoder/ms-marco-MiniLM-L-6-v2)';

/** Families someone will ask for, with the reranker that made them popular. */
const PLANNED_MODEL_TYPES: Readonly<Record<string, string>> = {
  'xlm-roberta': 'BAAI/bge-reranker-base',
  'deberta-v2': 'mixedbread-ai/mxbai-rerank-base-v1',
};

const FEED_FORWARD_TYPES: readonly FeedForwardType[] = ['original', 'geglu', 'reglu'];
const HIDDEN_ACTS: readonly HiddenAct[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'];

/** ALiBi needs no position table; Jina trained its rerankers to 8192 tokens. */
const ALIBI_MAX_POSITIONS = 8192;
/** BertConfig's defaults for keys old configs leave out. */
const BERT_DEFAULTS = { type_vocab_size: 2, layer_norm_eps: 1e-12, max_position_embeddings: 512 } as const;

/**
 * Reads a parsed config.json into a ModelSpec. `tensorShapes` looks up the checkpoint's tensors:
 * the prefix and the number of labels come from the weights, not from the config.
 */
export function parseModelSpec(
  configJson: unknown,
  tensorShapes: TensorShapes,
  configPath: string,
  weightsPath = 'model.safetensors',
): ModelSpec {
  const config = new ConfigReader(configJson, configPath);
  const architecture = readArchitecture(config);
  const hiddenSize = config.positiveInt('hidden_size');
  const numHeads = config.positiveInt('num_attention_heads');
  if (hiddenSize % numHeads !== 0) {
    config.fail('num_attention_heads', numHeads, `does not divide hidden_size ${hiddenSize}: attention needs hidden_size = heads × head size`);
  }
  const feedForward = readFeedForward(config, architecture);
  const prefix = detectPrefix(tensorShapes, weightsPath); // before the classifier: "not BERT at all" explains more
  const spec: ModelSpec = {
    architecture,
    vocabSize: config.positiveInt('vocab_size'),
    hiddenSize,
    numLayers: config.positiveInt('num_hidden_layers'),
    numHeads,
    intermediateSize: config.positiveInt('intermediate_size'),
    typeVocabSize: config.nonNegativeInt('type_vocab_size', BERT_DEFAULTS.type_vocab_size),
    layerNormEps: config.positiveNumber('layer_norm_eps', BERT_DEFAULTS.layer_norm_eps),
    positionEmbedding: architecture === 'jinabert' ? 'alibi' : 'absolute',
    maxPositions: readMaxPositions(config, architecture),
    feedForward,
    hiddenAct: readHiddenAct(config, feedForward),
    numLabels: readNumLabels(config, tensorShapes, weightsPath),
    prefix,
    sourceName: readSourceName(config, configPath),
  };
  return spec;
}

function readArchitecture(config: ConfigReader): Architecture {
  const modelType = config.string('model_type');
  if (modelType !== 'bert') {
    const example = PLANNED_MODEL_TYPES[modelType];
    const verdict = example ? `is planned but not yet supported (it is what ${example} uses)` : 'is not supported';
    config.fail('model_type', modelType, `${verdict}. Supported: ${SUPPORTED}`, 'use a supported reranker, e.g. jinaai/jina-reranker-v1-turbo-en');
  }
  const positions = config.optionalString('position_embedding_type') ?? 'absolute';
  if (positions === 'alibi') return 'jinabert';
  if (positions === 'absolute') return 'bert';
  return config.fail(
    'position_embedding_type',
    positions,
    `is not supported: turborank runs "alibi" (JinaBERT) and "absolute" (BERT) positions. Supported: ${SUPPORTED}`,
  );
}

function readFeedForward(config: ConfigReader, architecture: Architecture): FeedForwardType {
  // JinaBertConfig defaults to "original"; every Jina reranker sets "geglu" explicitly.
  const value = config.optionalString('feed_forward_type') ?? 'original';
  if (!isOneOf(value, FEED_FORWARD_TYPES)) {
    return config.fail('feed_forward_type', value, `is not supported; supported: ${quoteAll(FEED_FORWARD_TYPES)}`);
  }
  if (architecture === 'bert' && value !== 'original') {
    config.fail('feed_forward_type', value, 'is a JinaBERT setting, but position_embedding_type is not "alibi": a plain BERT uses "original"');
  }
  return value;
}

/** The activation inside the MLP. The gated blocks fix theirs (GEGLU: erf GELU, ReGLU: ReLU) and ignore hidden_act. */
function readHiddenAct(config: ConfigReader, feedForward: FeedForwardType): HiddenAct {
  if (feedForward === 'geglu') return 'gelu';
  if (feedForward === 'reglu') return 'relu';
  const value = config.optionalString('hidden_act') ?? 'gelu';
  if (!isOneOf(value, HIDDEN_ACTS)) return config.fail('hidden_act', value, `is not supported; supported: ${quoteAll(HIDDEN_ACTS)}`);
  return value;
}

function readMaxPositions(config: ConfigReader, architecture: Architecture): number {
  if (architecture === 'jinabert') {
    return Math.max(ALIBI_MAX_POSITIONS, config.optionalPositiveInt('max_position_embeddings') ?? 0);
  }
  return config.positiveInt('max_position_embeddings', BERT_DEFAULTS.max_position_embeddings);
}

/** The head's size comes from classifier.weight: JinaBERT configs have no num_labels. */
function readNumLabels(config: ConfigReader, tensorShapes: TensorShapes, weightsPath: string): number {
  const shape = tensorShapes('classifier.weight');
  if (!shape) {
    throw new ModelConfigError(
      weightsPath,
      'has no classifier.weight: this is an embedding (or masked-LM) model, not a cross-encoder reranker',
      'a reranker scores (query, document) pairs with a classification head; use one such as jinaai/jina-reranker-v1-turbo-en',
    );
  }
  if (shape.length !== 2 || shape[0] === 0) {
    throw new ModelConfigError(weightsPath, `classifier.weight has shape ${formatShape(shape)}; a classifier needs [num_labels, hidden_size]`);
  }
  const numLabels = shape[0]!;
  const declared = config.declaredNumLabels();
  if (declared !== undefined && declared.count !== numLabels) {
    config.fail(declared.key, declared.count, `disagrees with classifier.weight ${formatShape(shape)} in ${path.basename(weightsPath)}`);
  }
  return numLabels;
}

/** HF names the encoder `bert.*` inside *ForSequenceClassification; exports that strip it use bare names. */
function detectPrefix(tensorShapes: TensorShapes, weightsPath: string): string {
  for (const prefix of ['bert.', '']) {
    if (tensorShapes(`${prefix}embeddings.word_embeddings.weight`)) return prefix;
  }
  throw new ModelConfigError(
    weightsPath,
    'has neither bert.embeddings.word_embeddings.weight nor embeddings.word_embeddings.weight: it is not a BERT-family checkpoint',
    'check that this folder holds the model.safetensors of a BERT or JinaBERT cross-encoder',
  );
}

function readSourceName(config: ConfigReader, configPath: string): string {
  const name = config.optionalString('_name_or_path');
  return name && name.trim() !== '' ? name : path.basename(path.dirname(path.resolve(configPath)));
}

// ---------------------------------------------------------------------------------------------
// Typed access to config.json keys, with errors that name the file, the key and the value.

class ConfigReader {
  private readonly values: Record<string, unknown>;

  constructor(
    json: unknown,
    private readonly file: string,
  ) {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new ModelConfigError(file, 'is not a JSON object of settings', 're-download config.json from the model repository');
    }
    this.values = json as Record<string, unknown>;
  }

  fail(key: string, value: unknown, problem: string, hint?: string): never {
    throw new ModelConfigError(this.file, `${key} ${JSON.stringify(value)} ${problem}`, hint);
  }

  string(key: string): string {
    return this.optionalString(key) ?? this.missing(key, 'a string');
  }

  optionalString(key: string): string | undefined {
    const value = this.values[key];
    if (value === undefined || value === null) return undefined;
    return typeof value === 'string' ? value : this.fail(key, value, 'must be a string');
  }

  positiveInt(key: string, fallback?: number): number {
    return this.optionalPositiveInt(key) ?? fallback ?? this.missing(key, 'a positive integer');
  }

  optionalPositiveInt(key: string): number | undefined {
    const value = this.optionalInt(key);
    return value === undefined || value > 0 ? value : this.fail(key, value, 'must be a positive integer');
  }

  nonNegativeInt(key: string, fallback: number): number {
    const value = this.optionalInt(key) ?? fallback;
    return value >= 0 ? value : this.fail(key, value, 'must be a non-negative integer');
  }

  positiveNumber(key: string, fallback: number): number {
    const value = this.values[key] ?? fallback;
    return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : this.fail(key, value, 'must be a positive number');
  }

  /** num_labels, else the size of id2label, when the config states either. */
  declaredNumLabels(): { key: string; count: number } | undefined {
    const numLabels = this.optionalPositiveInt('num_labels');
    if (numLabels !== undefined) return { key: 'num_labels', count: numLabels };
    const id2label = this.values['id2label'];
    if (typeof id2label === 'object' && id2label !== null) return { key: 'id2label size', count: Object.keys(id2label).length };
    return undefined;
  }

  private optionalInt(key: string): number | undefined {
    const value = this.values[key];
    if (value === undefined || value === null) return undefined;
    return Number.isSafeInteger(value) ? (value as number) : this.fail(key, value, 'must be an integer');
  }

  private missing(key: string, kind: string): never {
    throw new ModelConfigError(
      this.file,
      `has no ${key} (it must be ${kind}); supported models: ${SUPPORTED}`,
      'config.json looks incomplete: re-download it from the model repository',
    );
  }
}

function isOneOf<T extends string>(value: string, allowed: readonly T[]): value is T {
  return (allowed as readonly string[]).includes(value);
}

function quoteAll(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}

// ---------------------------------------------------------------------------------------------
// The tensors an architecture needs

export interface ExpectedTensor {
  /** The Hugging Face name, e.g. `bert.encoder.layer.0.attention.self.query.weight`. */
  readonly name: string;
  readonly shape: readonly number[];
  /** The config.json values that fix this shape, for messages: "hidden_size 64, intermediate_size 128". */
  readonly shapeFrom: string;
  /** Other names old checkpoints store it under (LayerNorm `gamma`/`beta`). */
  readonly aliases: readonly string[];
}

/**
 * Every tensor `spec` needs, in forward order, with its exact shape. Linear weights are [out, in]
 * as PyTorch stores them. The graph builders read their weights through this list.
 */
export function expectedTensors(spec: ModelSpec): ExpectedTensor[] {
  const p = spec.prefix;
  const H = spec.hiddenSize;
  const hidden = `hidden_size ${H}`;
  const list: ExpectedTensor[] = [];
  const add = (name: string, shape: number[], shapeFrom: string): void => {
    list.push({ name, shape, shapeFrom, aliases: layerNormAliases(name) });
  };
  const linear = (name: string, out: number, inp: number, shapeFrom: string, bias = true): void => {
    add(`${name}.weight`, [out, inp], shapeFrom);
    if (bias) add(`${name}.bias`, [out], shapeFrom);
  };
  const layerNorm = (name: string): void => {
    add(`${name}.weight`, [H], hidden);
    add(`${name}.bias`, [H], hidden);
  };

  add(`${p}embeddings.word_embeddings.weight`, [spec.vocabSize, H], `vocab_size ${spec.vocabSize}, ${hidden}`);
  if (spec.typeVocabSize > 0) {
    add(`${p}embeddings.token_type_embeddings.weight`, [spec.typeVocabSize, H], `type_vocab_size ${spec.typeVocabSize}, ${hidden}`);
  }
  if (spec.positionEmbedding === 'absolute') {
    add(`${p}embeddings.position_embeddings.weight`, [spec.maxPositions, H], `max_position_embeddings ${spec.maxPositions}, ${hidden}`);
  }
  layerNorm(`${p}embeddings.LayerNorm`);
  for (let i = 0; i < spec.numLayers; i++) addLayer(spec, `${p}encoder.layer.${i}`, { linear, layerNorm });
  linear(`${p}pooler.dense`, H, H, hidden);
  linear('classifier', spec.numLabels, H, `${hidden}, classifier.weight rows ${spec.numLabels}`);
  return list;
}

interface LayerAdders {
  linear(name: string, out: number, inp: number, shapeFrom: string, bias?: boolean): void;
  layerNorm(name: string): void;
}

function addLayer(spec: ModelSpec, layer: string, { linear, layerNorm }: LayerAdders): void {
  const H = spec.hiddenSize;
  const I = spec.intermediateSize;
  const hidden = `hidden_size ${H}`;
  const both = `${hidden}, intermediate_size ${I}`;
  for (const projection of ['query', 'key', 'value']) linear(`${layer}.attention.self.${projection}`, H, H, hidden);
  linear(`${layer}.attention.output.dense`, H, H, hidden);
  layerNorm(`${layer}.attention.output.LayerNorm`);
  if (spec.feedForward === 'original') {
    linear(`${layer}.intermediate.dense`, I, H, both);
    linear(`${layer}.output.dense`, H, I, both);
    layerNorm(`${layer}.output.LayerNorm`);
  } else {
    // One matrix computes gate and value halves together; it has no bias.
    linear(`${layer}.mlp.gated_layers`, 2 * I, H, both, false);
    linear(`${layer}.mlp.wo`, H, I, both);
    layerNorm(`${layer}.mlp.layernorm`);
  }
}

/** TensorFlow-era checkpoints call LayerNorm's scale and shift `gamma` and `beta`. */
function layerNormAliases(name: string): string[] {
  const match = /^(.*\.(?:LayerNorm|layernorm))\.(weight|bias)$/.exec(name);
  if (!match) return [];
  return [`${match[1]}.${match[2] === 'weight' ? 'gamma' : 'beta'}`];
}

/**
 * Checks that every tensor `spec` needs is in the checkpoint with exactly the expected shape, and
 * that the checkpoint has no more layers than config.json says (which would silently drop layers).
 * Extra tensors (e.g. a `position_ids` buffer) are fine. Returns, for each expected name, the name
 * it is stored under (itself, or an alias such as `LayerNorm.gamma`).
 */
export function checkWeightsAgainstSpec(spec: ModelSpec, tensorShapes: TensorShapes, weightsPath: string): Map<string, string> {
  const storedNames = new Map<string, string>();
  const missing: ExpectedTensor[] = [];
  for (const expected of expectedTensors(spec)) {
    const stored = [expected.name, ...expected.aliases].find((name) => tensorShapes(name) !== undefined);
    if (stored === undefined) {
      missing.push(expected);
      continue;
    }
    const shape = tensorShapes(stored)!;
    if (!sameShape(shape, expected.shape)) {
      throw new ModelConfigError(
        weightsPath,
        `${stored} has shape ${formatShape(shape)} but config.json (${expected.shapeFrom}) needs ${formatShape(expected.shape)}`,
        'config.json and model.safetensors seem to come from different models: download both from the same repository revision',
      );
    }
    storedNames.set(expected.name, stored);
  }
  if (missing.length > 0) throw missingTensorsError(spec, missing, tensorShapes, weightsPath);
  checkNoExtraLayers(spec, tensorShapes, weightsPath);
  return storedNames;
}

function missingTensorsError(spec: ModelSpec, missing: ExpectedTensor[], tensorShapes: TensorShapes, weightsPath: string): ModelConfigError {
  const shown = missing.slice(0, 4).map((t) => t.name);
  const more = missing.length > shown.length ? ` and ${missing.length - shown.length} more` : '';
  const kind = spec.architecture === 'jinabert' ? `JinaBERT (feed_forward_type "${spec.feedForward}")` : 'BERT';
  return new ModelConfigError(
    weightsPath,
    `lacks ${missing.length} tensor(s) that config.json's ${kind} architecture needs: ${shown.join(', ')}${more}`,
    missingTensorsHint(spec, tensorShapes),
  );
}

/** The common way to get here is a JinaBERT config whose feed_forward_type does not match its MLP. */
function missingTensorsHint(spec: ModelSpec, tensorShapes: TensorShapes): string {
  const layer0 = `${spec.prefix}encoder.layer.0`;
  const hasGated = tensorShapes(`${layer0}.mlp.gated_layers.weight`) !== undefined;
  const hasPlain = tensorShapes(`${layer0}.intermediate.dense.weight`) !== undefined;
  if (spec.feedForward === 'original' && hasGated) {
    return 'the weights have a gated MLP (mlp.gated_layers): set "feed_forward_type": "geglu" in config.json (as the Jina rerankers do)';
  }
  if (spec.feedForward !== 'original' && hasPlain) {
    return 'the weights have a plain BERT MLP (intermediate.dense): config.json\'s feed_forward_type should be "original"';
  }
  return 'config.json and model.safetensors seem to come from different models: download both from the same repository revision';
}

function checkNoExtraLayers(spec: ModelSpec, tensorShapes: TensorShapes, weightsPath: string): void {
  const next = `${spec.prefix}encoder.layer.${spec.numLayers}.attention.self.query.weight`;
  if (tensorShapes(next) !== undefined) {
    throw new ModelConfigError(
      weightsPath,
      `has ${next}, but config.json says num_hidden_layers ${spec.numLayers}: the weights hold more layers than the config`,
      'config.json and model.safetensors seem to come from different models: download both from the same repository revision',
    );
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
