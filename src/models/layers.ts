/**
 * The building blocks every encoder shares, composed from graph primitives:
 * Linear, GELU, LayerNorm with residual, multi-head self-attention, the padding mask,
 * and the BERT pooler + classifier head.
 */
import { GraphBuilder, type ExternalData, type Value } from '../graph/index.js';
import type { ModelSpec } from '../checkpoint/spec.js';

/**
 * Where weights come from: a checkpoint tensor by name, as float32 in PyTorch layout. The
 * shape the graph expects is passed along so a source can check it (or make random weights).
 */
export type WeightLookup = (name: string, shape: readonly number[]) => Float32Array;

export const BATCH = 'batch';
export const SEQ = 'seq';
/** Hidden states travel token-major as [batch·seq, hidden], so every Linear is one 2-D GEMM. */
export const TOKENS = 'batch*seq';

/** See GraphOptions.lastLayer. */
export const LAST_LAYERS = ['every-row', 'first-token', 'first-token-folded'] as const;
export type LastLayer = (typeof LAST_LAYERS)[number];

/** Choices about the graph's interface that do not change its math. */
export interface GraphOptions {
  /**
   * Precision of weights and activations. float64 exists for gradient checks against finite
   * differences; inference runs float32.
   */
  readonly dtype?: 'float32' | 'float64';
  /**
   * Take token_type_ids as an input (default). Without it every token has type 0, as in
   * Jina's own ONNX exports of turbo/tiny, whose tokenizer gives type 0 everywhere.
   */
  readonly tokenTypeInput?: boolean;
  /** Training-mode dropout (inference graphs have none). */
  readonly dropout?: DropoutOptions;
  /**
   * Where ONNX Runtime can read a float32 weight itself (ONNX external data), by checkpoint name;
   * undefined: from the WeightLookup. Keeps a large checkpoint's weights out of JavaScript memory
   * and out of the model bytes; the session must be told their folder.
   */
  readonly externalWeights?: (name: string) => ExternalData | undefined;
  /**
   * How much of the last layer to compute. Every cross-encoder head here reads the first token
   * ([CLS], <s>) alone, so the rest of the last layer is wasted work for it.
   * - 'every-row' (the default for encoders): every token's row, as the PyTorch model does.
   * - 'first-token': the first token's query, attention output and feed-forward; every token
   *   still gives keys and values. Every weight is used (training graphs need that).
   * - 'first-token-folded': also no per-token product: the first token's query is taken through
   *   the key weights (scores = (q·W_k)·xᵀ) and the attention-weighted input through the value
   *   weights (p·x·W_vᵀ + b_v). The key bias adds the same amount to every score, which softmax
   *   cancels, so it goes unused. Inference graphs use this.
   * Encoders that cannot (DeBERTa-v2) compute every row; EncoderOutput.rows says which they gave.
   */
  readonly lastLayer?: LastLayer;
}

export interface DropoutOptions {
  /** After embeddings, attention output and feed-forward output, and before the classifier. */
  readonly hidden: number;
  /** On attention probabilities. */
  readonly attention: number;
  /** Each dropout site draws from its own seeded generator (seed + site number). */
  readonly seed: number;
}

/** What every encoder returns: its last states and the pieces heads need. */
export interface EncoderOutput {
  /** [tokens, hidden] when rows is 'tokens'; [batch, hidden], the first token's, when 'first'. */
  readonly hidden: Value;
  readonly rows: 'tokens' | 'first';
  readonly layout: Layout;
  readonly params: Params;
  readonly inputs: EncoderInputs;
  readonly drop: Dropper;
}

/** Applies training-mode dropout at successive sites, or nothing when dropout is off. */
export class Dropper {
  private site = 0;
  constructor(private readonly g: GraphBuilder, private readonly options: DropoutOptions | undefined) {}

  hidden(x: Value): Value {
    return this.apply(x, this.options?.hidden ?? 0);
  }

  attention(x: Value): Value {
    return this.apply(x, this.options?.attention ?? 0);
  }

  private apply(x: Value, ratio: number): Value {
    if (!this.options || ratio <= 0) return x;
    return this.g.dropout(x, ratio, this.options.seed + this.site++);
  }
}

/** The int64 inputs of a cross-encoder graph. */
export interface EncoderInputs {
  readonly inputIds: Value;
  readonly attentionMask: Value;
  readonly tokenTypeIds: Value | undefined;
}

export function encoderInputs(g: GraphBuilder, options: GraphOptions = {}): EncoderInputs {
  return {
    inputIds: g.input('input_ids', 'int64', [BATCH, SEQ]),
    attentionMask: g.input('attention_mask', 'int64', [BATCH, SEQ]),
    tokenTypeIds: options.tokenTypeInput === false ? undefined : g.input('token_type_ids', 'int64', [BATCH, SEQ]),
  };
}

/**
 * Run-time shapes derived once from input_ids and shared by every layer: split the token
 * rows into heads for attention, or back into sequences for the [CLS] pooler.
 */
export class Layout {
  readonly headsShape: Value;
  readonly sequenceShape: Value;
  constructor(private readonly g: GraphBuilder, inputs: EncoderInputs, private readonly spec: ModelSpec) {
    const batchSeq = g.shapeOf(inputs.inputIds);
    this.headsShape = g.concat([batchSeq, g.int64s([spec.numHeads, spec.hiddenSize / spec.numHeads])], 0);
    this.sequenceShape = g.concat([batchSeq, g.int64s([spec.hiddenSize])], 0);
  }

  /** [tokens, hidden] → [batch, seq, heads, headDim] */
  splitHeads(x: Value): Value {
    const n = this.spec.numHeads;
    return this.g.reshapeTo(x, this.headsShape, [BATCH, SEQ, n, this.spec.hiddenSize / n]);
  }

  /** [tokens, hidden] → [batch, seq, hidden] */
  sequences(x: Value): Value {
    return this.g.reshapeTo(x, this.sequenceShape, [BATCH, SEQ, this.spec.hiddenSize]);
  }

  /** [tokens, hidden] → [batch, hidden]: each sequence's first token ([CLS], <s>). */
  firstTokens(x: Value): Value {
    return this.g.gather(this.sequences(x), this.g.scalar(0, 'int64'), 1);
  }
}

/** The first token's last states [batch, hidden], whichever rows the encoder computed. */
export function firstTokenStates(encoder: EncoderOutput): Value {
  return encoder.rows === 'first' ? encoder.hidden : encoder.layout.firstTokens(encoder.hidden);
}

/** How layer `l` of `spec` computes its rows under GraphOptions.lastLayer (see selfAttentionBlock). */
export function layerRows(options: GraphOptions, spec: ModelSpec, l: number): AttentionRows {
  return l === spec.numLayers - 1 ? lastLayerRows(options.lastLayer ?? 'every-row') : 'tokens';
}

/** The rows a last layer computes in each form of GraphOptions.lastLayer. */
export function lastLayerRows(lastLayer: LastLayer): AttentionRows {
  switch (lastLayer) {
    case 'every-row': return 'tokens';
    case 'first-token': return 'first';
    case 'first-token-folded': return 'first-folded';
  }
}

/** Which query rows an attention block computes: every token's, or the first token's (projecting keys and values, or folded). */
export type AttentionRows = 'tokens' | 'first' | 'first-folded';

/** Names checkpoint tensors and turns them into graph parameters. */
export class Params {
  private readonly byName = new Map<string, Value>();

  constructor(
    private readonly g: GraphBuilder,
    private readonly lookup: WeightLookup,
    private readonly dtype: 'float32' | 'float64' = 'float32',
    private readonly external?: GraphOptions['externalWeights'],
  ) {}

  /** The parameter named `name`, created on first use (tied weights share one value). */
  get(name: string, shape: readonly number[]): Value {
    const existing = this.byName.get(name);
    if (existing) return existing;
    const inFile = this.dtype === 'float32' ? this.external?.(name) : undefined;
    const value = inFile
      ? this.g.parameterInFile(name, shape, inFile)
      : this.g.parameter(name, shape, this.dtype === 'float64' ? Float64Array.from(this.lookup(name, shape)) : this.lookup(name, shape));
    this.byName.set(name, value);
    return value;
  }
}

/** y = x Wᵀ + b with W stored [out, in] as PyTorch does (ORT folds the transpose at load). */
export function linear(g: GraphBuilder, p: Params, x: Value, name: string, inDim: number, outDim: number, bias = true): Value {
  const w = p.get(`${name}.weight`, [outDim, inDim]);
  const y = g.matmul(x, g.transpose(w, [1, 0]));
  return bias ? g.add(y, p.get(`${name}.bias`, [outDim])) : y;
}

export function layerNorm(g: GraphBuilder, p: Params, x: Value, name: string, dim: number, eps: number): Value {
  return g.layerNorm(x, p.get(`${name}.weight`, [dim]), p.get(`${name}.bias`, [dim]), eps);
}

/** Exact GELU: 0.5·x·(1 + erf(x/√2)), written in the order ORT's Gelu fusion recognises. */
export function geluErf(g: GraphBuilder, x: Value): Value {
  const z = g.div(x, g.scalar(Math.SQRT2, x.dtype));
  const e = x.dtype === 'float64' ? erfComposite(g, z) : g.erf(z);
  return g.mul(g.mul(x, g.add(e, g.scalar(1, x.dtype))), g.scalar(0.5, x.dtype));
}

/** Chebyshev fit of erfc (Numerical Recipes, §6.2), fractional error below 1.2e-7. */
const ERFC_COEFFICIENTS = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];

/**
 * erf from primitives, for float64 graphs: ONNX Runtime has no float64 Erf kernel. Accurate to
 * ~1e-7, and differentiated exactly like any other composition, so gradient checks stay tight.
 */
function erfComposite(g: GraphBuilder, x: Value): Value {
  const c = (v: number): Value => g.scalar(v, x.dtype);
  const ax = g.abs(x);
  const t = g.div(c(1), g.add(c(1), g.mul(c(0.5), ax)));
  let poly = c(ERFC_COEFFICIENTS[ERFC_COEFFICIENTS.length - 1]!);
  for (let k = ERFC_COEFFICIENTS.length - 2; k >= 0; k--) poly = g.add(c(ERFC_COEFFICIENTS[k]!), g.mul(t, poly));
  const erfc = g.mul(t, g.exp(g.sub(poly, g.mul(ax, ax))));
  const erfAbs = g.sub(c(1), erfc);
  return g.where(g.greater(x, c(0)), erfAbs, g.neg(erfAbs));
}

/** The tanh approximation (`gelu_new`): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluTanh(g: GraphBuilder, x: Value): Value {
  const cube = g.mul(g.mul(x, x), x);
  const inner = g.mul(g.add(x, g.mul(cube, g.scalar(0.044715, x.dtype))), g.scalar(Math.sqrt(2 / Math.PI), x.dtype));
  return g.mul(g.mul(x, g.add(g.tanh(inner), g.scalar(1, x.dtype))), g.scalar(0.5, x.dtype));
}

/** Padding mask as an additive bias [batch, 1, 1, seq]: 0 for real tokens, the dtype's lowest value for padding (as HF does). */
export function paddingBias(g: GraphBuilder, attentionMask: Value, dtype: 'float32' | 'float64' = 'float32'): Value {
  const mask = g.cast(attentionMask, dtype);
  const lowest = dtype === 'float64' ? -Number.MAX_VALUE : -3.4028234663852886e38;
  const bias = g.mul(g.sub(g.scalar(1, dtype), mask), g.scalar(lowest, dtype));
  return g.unsqueeze(bias, [1, 2]);
}

/**
 * Multi-head self-attention with an additive bias (padding, and ALiBi where used), then
 * the output projection and the post-LayerNorm residual: LN(x + Wo·softmax(qkᵀ/√d + bias)·v).
 * With rows 'first' or 'first-folded' only the first token of each sequence queries (x's other
 * rows still give keys and values), the bias must have 1 query row ([batch|1, heads|1, 1, seq]),
 * and the result is [batch, hidden]. 'first-folded' computes the same without projecting every
 * token's keys and values (see GraphOptions.lastLayer).
 */
export function selfAttentionBlock(
  g: GraphBuilder, p: Params, layout: Layout, x: Value, bias: Value, spec: ModelSpec, layer: string, drop?: Dropper,
  rows: AttentionRows = 'tokens',
): Value {
  const h = spec.hiddenSize;
  const n = spec.numHeads;
  const d = h / n;
  const self = `${layer}.attention.self`;
  const project = (name: string, input: Value): Value => linear(g, p, input, `${self}.${name}`, h, h);
  const residual = rows === 'tokens' ? x : layout.firstTokens(x);
  // softmax(q·kᵀ/√d + bias) from the raw scores [batch, heads, rows, seq]; dropout applied in training
  const probabilitiesOf = (scores: Value): Value => {
    const probabilities = g.softmax(g.add(g.div(scores, g.scalar(Math.sqrt(d), x.dtype)), bias), -1);
    return drop ? drop.attention(probabilities) : probabilities;
  };
  let merged: Value;
  if (rows === 'first-folded') {
    const q = g.reshape(project('query', residual), [BATCH, n, 1, d]);
    const sequencesT = g.unsqueeze(g.transpose(layout.sequences(x), [0, 2, 1]), [1]); // [batch, 1, hidden, seq]
    const perHead = (name: string): Value => g.reshape(p.get(`${self}.${name}.weight`, [h, h]), [n, d, h]); // W[head·d + i, :]
    // q_h·k_jᵀ = (q_h·W_k,h)·x_jᵀ + q_h·b_k,h, and the last term is the same for every key j
    const scores = g.matmul(g.matmul(q, perHead('key')), sequencesT); // [batch, heads, 1, seq]
    const weights = g.reshape(probabilitiesOf(scores), [BATCH, n, -1, 1]);
    // Σ_j p_j·x_j as xᵀ·p (see below), then through the value weights: Σ_j p_j·v_j, since Σ_j p_j = 1
    const attended = g.transpose(g.matmul(sequencesT, weights), [0, 1, 3, 2]); // [batch, heads, 1, hidden]
    const values = g.add(g.matmul(attended, g.transpose(perHead('value'), [0, 2, 1])), g.reshape(p.get(`${self}.value.bias`, [h]), [n, 1, d]));
    merged = g.reshape(values, [BATCH, h]);
  } else if (rows === 'first') {
    const weights = g.reshape(probabilitiesOf(g.matmul(g.reshape(project('query', residual), [BATCH, n, 1, d]), keysT())), [BATCH, n, -1, 1]);
    // vᵀ·p rather than p·v: a one-row product summing over the sequence rounds differently with
    // the batch's padding in ONNX Runtime, and a pair's score must not depend on its batch.
    const vT = g.transpose(layout.splitHeads(project('value', x)), [0, 2, 3, 1]);
    merged = g.reshape(g.matmul(vT, weights), [BATCH, h]); // [batch, heads, d, 1] → [batch, hidden]
  } else {
    const weights = probabilitiesOf(g.matmul(g.transpose(layout.splitHeads(project('query', x)), [0, 2, 1, 3]), keysT()));
    const v = g.transpose(layout.splitHeads(project('value', x)), [0, 2, 1, 3]);
    merged = g.reshape(g.transpose(g.matmul(weights, v), [0, 2, 1, 3]), [-1, h]);
  }
  let out = linear(g, p, merged, `${layer}.attention.output.dense`, h, h);
  if (drop) out = drop.hidden(out);
  return layerNorm(g, p, g.add(out, residual), `${layer}.attention.output.LayerNorm`, h, spec.layerNormEps);

  /** Every token's keys, [batch, heads, d, seq]. */
  function keysT(): Value {
    return g.transpose(layout.splitHeads(project('key', x)), [0, 2, 3, 1]);
  }
}

/** BERT's head: tanh(dense(h_CLS)) → classifier → logits [batch, numLabels]. */
export function poolerClassifier(g: GraphBuilder, encoder: EncoderOutput, spec: ModelSpec): Value {
  const { params: p, drop } = encoder;
  const h = spec.hiddenSize;
  const cls = firstTokenStates(encoder);
  const pooled = g.tanh(linear(g, p, cls, `${spec.prefix}pooler.dense`, h, h));
  return linear(g, p, drop.hidden(pooled), 'classifier', h, spec.numLabels);
}

/** Word + token-type embeddings (and whatever extra the caller adds), then LayerNorm; [tokens, hidden]. */
export function embed(g: GraphBuilder, p: Params, inputs: EncoderInputs, spec: ModelSpec, extra?: Value): Value {
  const h = spec.hiddenSize;
  const pre = `${spec.prefix}embeddings`;
  let x = g.gather(p.get(`${pre}.word_embeddings.weight`, [spec.vocabSize, h]), inputs.inputIds);
  if (spec.typeVocabSize > 0) {
    const table = p.get(`${pre}.token_type_embeddings.weight`, [spec.typeVocabSize, h]);
    x = g.add(x, g.gather(table, inputs.tokenTypeIds ?? g.scalar(0, 'int64')));
  }
  if (extra) x = g.add(x, extra);
  return layerNorm(g, p, g.reshape(x, [-1, h]), `${pre}.LayerNorm`, h, spec.layerNormEps);
}

/** BERT's MLP with the post-LayerNorm residual: LN(x + W2·act(W1 x + b1) + b2). */
export function plainFeedForward(g: GraphBuilder, p: Params, x: Value, spec: ModelSpec, layer: string, drop?: Dropper): Value {
  const h = spec.hiddenSize;
  const i = spec.intermediateSize;
  const hidden = activation(g, linear(g, p, x, `${layer}.intermediate.dense`, h, i), spec.hiddenAct);
  let out = linear(g, p, hidden, `${layer}.output.dense`, i, h);
  if (drop) out = drop.hidden(out);
  return layerNorm(g, p, g.add(out, x), `${layer}.output.LayerNorm`, h, spec.layerNormEps);
}

export function activation(g: GraphBuilder, x: Value, act: ModelSpec['hiddenAct']): Value {
  switch (act) {
    case 'gelu': return geluErf(g, x);
    case 'gelu_new':
    case 'gelu_pytorch_tanh': return geluTanh(g, x);
    case 'relu': return g.relu(x);
  }
}
