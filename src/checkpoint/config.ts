/**
 * config.json → ModelSpec, and the list of tensors that spec needs, checked against the weights.
 *
 * Four families are recognised:
 *  - JinaBERT (jina-reranker-v1-*): model_type "bert", `position_embedding_type: "alibi"`, gated MLP
 *    (`feed_forward_type` "geglu"/"reglu"), no position embeddings, and no `num_labels` (the head's
 *    size is in the weights);
 *  - BERT cross-encoders (ms-marco-MiniLM & co.): model_type "bert", absolute learned positions, the
 *    plain two-layer MLP;
 *  - XLM-RoBERTa cross-encoders (bge-reranker-base): model_type "xlm-roberta", BERT's layers with
 *    positions counted from the padding index and RoBERTa's classification head;
 *  - DeBERTa-v3 cross-encoders (mxbai-rerank-*): model_type "deberta-v2" with shared-key disentangled
 *    attention over log-bucketed relative positions. Options of DebertaV2Config that we do not build
 *    (convolution, p2p, separate position keys, absolute positions) are refused by name.
 */
import path from 'node:path';
import { ModelConfigError } from '../errors.js';
import { formatShape } from './safetensors.js';
import { debertaSettings, positionTableRows, relativeSpan, type Architecture, type DebertaSettings, type FeedForwardType, type HiddenAct, type ModelSpec } from './spec.js';

/** Shape of a tensor in the checkpoint by name, or undefined when there is none. */
export type TensorShapes = (name: string) => readonly number[] | undefined;

const SUPPORTED =
  'JinaBERT cross-encoders (model_type "bert" with position_embedding_type "alibi", e.g. jinaai/jina-reranker-v1-turbo-en), ' +
  'BERT cross-encoders (model_type "bert" with absolute positions, e.g. cross-encoder/ms-marco-MiniLM-L-6-v2), ' +
  'XLM-RoBERTa cross-encoders (model_type "xlm-roberta", e.g. BAAI/bge-reranker-base) ' +
  'and DeBERTa-v3 cross-encoders (model_type "deberta-v2", e.g. mixedbread-ai/mxbai-rerank-xsmall-v1)';

const FEED_FORWARD_TYPES: readonly FeedForwardType[] = ['original', 'geglu', 'reglu'];
const HIDDEN_ACTS: readonly HiddenAct[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'];

/** ALiBi needs no position table; Jina trained its rerankers to 8192 tokens. */
const ALIBI_MAX_POSITIONS = 8192;
/** BertConfig's defaults for keys old configs leave out (XLMRobertaConfig has the same). */
const BERT_DEFAULTS = { type_vocab_size: 2, layer_norm_eps: 1e-12, max_position_embeddings: 512 } as const;
/** RoBERTa's padding index, from which positions are counted (XLMRobertaConfig's pad_token_id). */
const XLMR_DEFAULT_PAD_ID = 1;
/** DebertaV2Config's defaults. */
const DEBERTA_DEFAULTS = { type_vocab_size: 0, layer_norm_eps: 1e-7, max_position_embeddings: 512 } as const;

/** Where each family keeps its encoder in a *ForSequenceClassification checkpoint ('' : exports that strip it). */
const PREFIXES: Readonly<Record<Architecture, readonly string[]>> = {
  jinabert: ['bert.', ''],
  bert: ['bert.', ''],
  'xlm-roberta': ['roberta.', ''],
  'deberta-v2': ['deberta.', ''],
};

/** The tensor that gives the head's number of labels: its rows. */
const CLASSIFIER_WEIGHT: Readonly<Record<Architecture, string>> = {
  jinabert: 'classifier.weight',
  bert: 'classifier.weight',
  'xlm-roberta': 'classifier.out_proj.weight',
  'deberta-v2': 'classifier.weight',
};

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
  const prefix = detectPrefix(architecture, tensorShapes, weightsPath); // before the classifier: "not this family at all" explains more
  const common = {
    architecture,
    vocabSize: config.positiveInt('vocab_size'),
    hiddenSize,
    numLayers: config.positiveInt('num_hidden_layers'),
    numHeads,
    intermediateSize: config.positiveInt('intermediate_size'),
    feedForward,
    hiddenAct: readHiddenAct(config, feedForward),
    numLabels: readNumLabels(config, architecture, tensorShapes, weightsPath),
    prefix,
    sourceName: readSourceName(config, configPath),
  };
  switch (architecture) {
    case 'jinabert':
    case 'bert':
      return {
        ...common,
        typeVocabSize: config.nonNegativeInt('type_vocab_size', BERT_DEFAULTS.type_vocab_size),
        layerNormEps: config.positiveNumber('layer_norm_eps', BERT_DEFAULTS.layer_norm_eps),
        positionEmbedding: architecture === 'jinabert' ? 'alibi' : 'absolute',
        maxPositions: readMaxPositions(config, architecture),
      };
    case 'xlm-roberta':
      return { ...common, ...readXlmRoberta(config) };
    case 'deberta-v2':
      return { ...common, ...readDeberta(config, hiddenSize, numHeads) };
  }
}

function readArchitecture(config: ConfigReader): Architecture {
  const modelType = config.string('model_type');
  if (modelType === 'xlm-roberta' || modelType === 'deberta-v2') return modelType;
  if (modelType !== 'bert') {
    config.fail('model_type', modelType, `is not supported. Supported: ${SUPPORTED}`, 'use a supported reranker, e.g. jinaai/jina-reranker-v1-turbo-en');
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

/**
 * XLM-R: RoBERTa numbers real tokens from pad_token_id + 1, so a table of max_position_embeddings
 * rows holds max_position_embeddings − pad − 1 tokens (514 rows → 512 tokens for bge-reranker-base).
 */
function readXlmRoberta(config: ConfigReader): Pick<ModelSpec, 'typeVocabSize' | 'layerNormEps' | 'positionEmbedding' | 'maxPositions' | 'padTokenId'> {
  const positions = config.optionalString('position_embedding_type') ?? 'absolute';
  if (positions !== 'absolute') {
    config.fail('position_embedding_type', positions, 'is not implemented for XLM-RoBERTa: turborank runs its learned "absolute" positions (as bge-reranker-base has)');
  }
  const padTokenId = config.nonNegativeInt('pad_token_id', XLMR_DEFAULT_PAD_ID);
  const tableRows = config.positiveInt('max_position_embeddings', BERT_DEFAULTS.max_position_embeddings);
  const maxPositions = tableRows - padTokenId - 1;
  if (maxPositions < 1) {
    config.fail('max_position_embeddings', tableRows, `leaves no room for tokens: XLM-R positions start at pad_token_id + 1 = ${padTokenId + 1}`);
  }
  return {
    typeVocabSize: config.nonNegativeInt('type_vocab_size', BERT_DEFAULTS.type_vocab_size),
    layerNormEps: config.positiveNumber('layer_norm_eps', BERT_DEFAULTS.layer_norm_eps),
    positionEmbedding: 'absolute',
    maxPositions,
    padTokenId,
  };
}

const DEBERTA_HINT = 'turborank builds DeBERTa-v3 as the mxbai rerankers configure it; this checkpoint needs a variant it does not implement';

/**
 * DeBERTa-v2/v3. What we build: relative_attention with shared keys (share_att_key), c2p and/or p2c
 * terms, optional log buckets and LayerNorm'd relative embeddings, no absolute positions, no
 * convolution, embedding size = hidden size. Anything else is refused naming the option and value.
 */
function readDeberta(config: ConfigReader, hiddenSize: number, numHeads: number): Pick<ModelSpec, 'typeVocabSize' | 'layerNormEps' | 'positionEmbedding' | 'maxPositions' | 'deberta'> {
  const refuse = (key: string, value: unknown, problem: string): never => config.fail(key, value, problem, DEBERTA_HINT);
  const relative = config.optionalBoolean('relative_attention') ?? false;
  if (!relative) refuse('relative_attention', relative, 'is not implemented: turborank runs DeBERTa with relative attention (true), as DeBERTa-v3 has');
  const shareKeys = config.optionalBoolean('share_att_key') ?? false;
  if (!shareKeys) refuse('share_att_key', shareKeys, 'is not implemented: separate position keys (pos_key_proj, pos_query_proj) are not built; turborank runs shared attention keys (true)');
  const biasedInput = config.optionalBoolean('position_biased_input') ?? true;
  if (biasedInput) refuse('position_biased_input', biasedInput, 'is not implemented: turborank runs DeBERTa without absolute position embeddings (false), as DeBERTa-v3 has');
  const kernel = config.nonNegativeInt('conv_kernel_size', 0);
  if (kernel > 0) refuse('conv_kernel_size', kernel, 'is not implemented: the convolution after the first layer is not built (0 or absent)');
  const embeddingSize = config.optionalPositiveInt('embedding_size');
  if (embeddingSize !== undefined && embeddingSize !== hiddenSize) {
    refuse('embedding_size', embeddingSize, `is not implemented: the embedding projection is not built, so it must equal hidden_size ${hiddenSize}`);
  }
  const headSize = config.optionalPositiveInt('attention_head_size');
  if (headSize !== undefined && headSize !== hiddenSize / numHeads) {
    refuse('attention_head_size', headSize, `is not implemented: heads must split hidden_size evenly (${hiddenSize / numHeads})`);
  }
  const poolerSize = config.optionalPositiveInt('pooler_hidden_size');
  if (poolerSize !== undefined && poolerSize !== hiddenSize) {
    refuse('pooler_hidden_size', poolerSize, `is not implemented: the context pooler must keep hidden_size ${hiddenSize}`);
  }
  const attentionTypes = readPosAttType(config);
  const normRel = readNormRelEmbedding(config);
  const maxPositions = config.positiveInt('max_position_embeddings', DEBERTA_DEFAULTS.max_position_embeddings);
  const declaredMaxRelative = config.optionalInt('max_relative_positions') ?? -1;
  const maxRelativePositions = declaredMaxRelative < 1 ? maxPositions : declaredMaxRelative;
  const positionBuckets = config.optionalInt('position_buckets') ?? -1;
  if (positionBuckets > 0 && maxRelativePositions - 1 <= Math.floor(positionBuckets / 2)) {
    refuse('position_buckets', positionBuckets, `needs max_relative_positions (${maxRelativePositions}) above position_buckets / 2 + 1: the log buckets divide by log((max − 1) / (buckets / 2))`);
  }
  const poolerAct = config.optionalString('pooler_hidden_act') ?? 'gelu';
  if (!isOneOf(poolerAct, HIDDEN_ACTS)) return config.fail('pooler_hidden_act', poolerAct, `is not supported; supported: ${quoteAll(HIDDEN_ACTS)}`);
  const deberta: DebertaSettings = {
    positionBuckets: Math.max(positionBuckets, 0),
    maxRelativePositions,
    normRelEmbedding: normRel,
    contentToPosition: attentionTypes.includes('c2p'),
    positionToContent: attentionTypes.includes('p2c'),
    poolerAct,
  };
  return {
    typeVocabSize: config.nonNegativeInt('type_vocab_size', DEBERTA_DEFAULTS.type_vocab_size),
    layerNormEps: config.positiveNumber('layer_norm_eps', DEBERTA_DEFAULTS.layer_norm_eps),
    positionEmbedding: 'relative',
    maxPositions,
    deberta,
  };
}

/** pos_att_type as DebertaV2Config takes it: a list, or a string such as "p2c|c2p". */
function readPosAttType(config: ConfigReader): ('c2p' | 'p2c')[] {
  const raw = config.raw('pos_att_type');
  const entries = typeof raw === 'string' ? raw.toLowerCase().split('|').map((s) => s.trim())
    : Array.isArray(raw) && raw.every((x): x is string => typeof x === 'string') ? raw.map((s) => s.toLowerCase())
      : raw === undefined || raw === null ? [] : config.fail('pos_att_type', raw, 'must be a list such as ["p2c", "c2p"]');
  const known = ['c2p', 'p2c'] as const;
  for (const entry of entries) {
    if (!isOneOf(entry, known)) {
      config.fail('pos_att_type', raw, `has "${entry}", which is not implemented: turborank builds the "c2p" and "p2c" terms only`, DEBERTA_HINT);
    }
  }
  if (entries.length === 0) config.fail('pos_att_type', raw ?? null, 'is empty: relative attention needs "c2p" and/or "p2c" (DeBERTa-v3 has both)', DEBERTA_HINT);
  return entries as ('c2p' | 'p2c')[];
}

/** norm_rel_ebd: "layer_norm" runs the relative embeddings through encoder.LayerNorm; "none" does not. */
function readNormRelEmbedding(config: ConfigReader): boolean {
  const raw = config.optionalString('norm_rel_ebd') ?? 'none';
  const parts = raw.toLowerCase().split('|').map((s) => s.trim());
  const unknown = parts.find((p) => p !== 'none' && p !== 'layer_norm');
  if (unknown !== undefined) config.fail('norm_rel_ebd', raw, `has "${unknown}", which is not implemented: supported: "layer_norm", "none"`, DEBERTA_HINT);
  return parts.includes('layer_norm');
}

function readFeedForward(config: ConfigReader, architecture: Architecture): FeedForwardType {
  // JinaBertConfig defaults to "original"; every Jina reranker sets "geglu" explicitly.
  const value = config.optionalString('feed_forward_type') ?? 'original';
  if (!isOneOf(value, FEED_FORWARD_TYPES)) {
    return config.fail('feed_forward_type', value, `is not supported; supported: ${quoteAll(FEED_FORWARD_TYPES)}`);
  }
  if (architecture !== 'jinabert' && value !== 'original') {
    const why = architecture === 'bert' ? 'but position_embedding_type is not "alibi": a plain BERT uses "original"' : `but model_type is "${architecture}", whose MLP is "original"`;
    config.fail('feed_forward_type', value, `is a JinaBERT setting, ${why}`);
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

/** The head's size comes from the classifier's weight: JinaBERT configs have no num_labels. */
function readNumLabels(config: ConfigReader, architecture: Architecture, tensorShapes: TensorShapes, weightsPath: string): number {
  const name = CLASSIFIER_WEIGHT[architecture];
  const shape = tensorShapes(name);
  if (!shape) {
    throw new ModelConfigError(
      weightsPath,
      `has no ${name}: this is an embedding (or masked-LM) model, not a cross-encoder reranker`,
      'a reranker scores (query, document) pairs with a classification head; use one such as jinaai/jina-reranker-v1-turbo-en',
    );
  }
  if (shape.length !== 2 || shape[0] === 0) {
    throw new ModelConfigError(weightsPath, `${name} has shape ${formatShape(shape)}; a classifier needs [num_labels, hidden_size]`);
  }
  const numLabels = shape[0]!;
  const declared = config.declaredNumLabels();
  if (declared !== undefined && declared.count !== numLabels) {
    config.fail(declared.key, declared.count, `disagrees with ${name} ${formatShape(shape)} in ${path.basename(weightsPath)}`);
  }
  return numLabels;
}

/**
 * HF names the encoder `bert.*`, `roberta.*` or `deberta.*` inside *ForSequenceClassification;
 * exports that strip it use bare names.
 */
function detectPrefix(architecture: Architecture, tensorShapes: TensorShapes, weightsPath: string): string {
  const [prefix, bare] = PREFIXES[architecture] as [string, string];
  for (const candidate of [prefix, bare]) {
    if (tensorShapes(`${candidate}embeddings.word_embeddings.weight`)) return candidate;
  }
  const family = architecture === 'jinabert' || architecture === 'bert' ? 'BERT-family' : `${architecture} (model_type in config.json)`;
  const other = Object.values(PREFIXES).flat().find((p) => p !== '' && tensorShapes(`${p}embeddings.word_embeddings.weight`));
  throw new ModelConfigError(
    weightsPath,
    `has neither ${prefix}embeddings.word_embeddings.weight nor embeddings.word_embeddings.weight: it is not a ${family} checkpoint` +
      (other ? ` (it holds ${other}embeddings.word_embeddings.weight: config.json's model_type and the weights disagree)` : ''),
    'check that this folder holds the config.json and model.safetensors of one cross-encoder, from the same repository',
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

  optionalBoolean(key: string): boolean | undefined {
    const value = this.values[key];
    if (value === undefined || value === null) return undefined;
    return typeof value === 'boolean' ? value : this.fail(key, value, 'must be true or false');
  }

  /** A key's value as it is in the file, for settings with more than one accepted form. */
  raw(key: string): unknown {
    return this.values[key];
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

  optionalInt(key: string): number | undefined {
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
    const rows = positionTableRows(spec);
    add(`${p}embeddings.position_embeddings.weight`, [rows, H], `max_position_embeddings ${rows}, ${hidden}`);
  }
  layerNorm(`${p}embeddings.LayerNorm`);
  for (let i = 0; i < spec.numLayers; i++) addLayer(spec, `${p}encoder.layer.${i}`, { linear, layerNorm });
  const labels = `${hidden}, ${CLASSIFIER_WEIGHT[spec.architecture]} rows ${spec.numLabels}`;
  switch (spec.architecture) {
    case 'jinabert':
    case 'bert':
      linear(`${p}pooler.dense`, H, H, hidden);
      linear('classifier', spec.numLabels, H, labels);
      break;
    case 'xlm-roberta': // RobertaClassificationHead; no pooler
      linear('classifier.dense', H, H, hidden);
      linear('classifier.out_proj', spec.numLabels, H, labels);
      break;
    case 'deberta-v2': {
      const deberta = debertaSettings(spec);
      const rows = 2 * relativeSpan(deberta);
      const from = deberta.positionBuckets > 0 ? `position_buckets ${deberta.positionBuckets}` : `max_relative_positions ${deberta.maxRelativePositions}`;
      add(`${p}encoder.rel_embeddings.weight`, [rows, H], `2 × ${from}, ${hidden}`);
      if (deberta.normRelEmbedding) layerNorm(`${p}encoder.LayerNorm`);
      linear('pooler.dense', H, H, hidden); // ContextPooler sits outside `deberta.`
      linear('classifier', spec.numLabels, H, labels);
      break;
    }
  }
  return list;
}

/** Names of the query, key and value projections: DeBERTa calls them query_proj, key_proj, value_proj. */
export function attentionProjections(spec: ModelSpec): readonly [string, string, string] {
  return spec.architecture === 'deberta-v2' ? ['query_proj', 'key_proj', 'value_proj'] : ['query', 'key', 'value'];
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
  for (const projection of attentionProjections(spec)) linear(`${layer}.attention.self.${projection}`, H, H, hidden);
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
  const kind = ARCHITECTURE_NAMES[spec.architecture] + (spec.architecture === 'jinabert' ? ` (feed_forward_type "${spec.feedForward}")` : '');
  return new ModelConfigError(
    weightsPath,
    `lacks ${missing.length} tensor(s) that config.json's ${kind} architecture needs: ${shown.join(', ')}${more}`,
    missingTensorsHint(spec, tensorShapes),
  );
}

const ARCHITECTURE_NAMES: Readonly<Record<Architecture, string>> = {
  jinabert: 'JinaBERT', bert: 'BERT', 'xlm-roberta': 'XLM-RoBERTa', 'deberta-v2': 'DeBERTa-v2',
};

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
  const next = `${spec.prefix}encoder.layer.${spec.numLayers}.attention.self.${attentionProjections(spec)[0]}.weight`;
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
