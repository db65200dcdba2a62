/**
 * DeBERTa-v2/v3 cross-encoder (mixedbread-ai/mxbai-rerank-*-v1), as ../shared/docs/xlmr-deberta.md
 * states it:
 *
 *   x      = LN(E_word[ids] (+ E_type[types])) · mask             no absolute positions
 *   R      = LN_enc(E_rel)                                         2·span rows, once per forward
 *   δ(i,j) = bucket(i − j),  idx = clamp(δ + span, 0, 2·span − 1)  one [L, L] table per length
 *   layer  : q, k, v = Wq x, Wk x, Wv x;   Qr, Kr = Wq R, Wk R      shared keys
 *            s(i,j) = (q_i·k_j + q_i·Kr[idx(i,j)] + k_j·Qr[idx(i,j)]) / √(3d)
 *            x = LN(x + Wo·softmax(s + padding)·v)
 *            x = LN(x + W2·act(W1 x + b1) + b2)                    BERT's feed-forward
 *   logit  = classifier(act(pooler(x_CLS)))                         the context pooler
 *
 * Both relative terms are computed for every bucket (q·Krᵀ is [L, 2·span] per head) and then
 * gathered to [L, L] with one flat index per term, built once per sequence length and shared by
 * every layer. The term k_j·Qr[idx(i,j)] is Hugging Face's p2c ("gather at −δ(j,i), then
 * transpose"): bucket() is odd, so −δ(j,i) = δ(i,j).
 */
import type { GraphBuilder, Value } from '../graph/index.js';
import { debertaSettings, relativeSpan, type DebertaSettings, type ModelSpec } from '../checkpoint/spec.js';
import {
  BATCH, SEQ, Dropper, Layout, Params, activation, embed, encoderInputs, layerNorm, linear, paddingBias, plainFeedForward,
  firstTokenStates, type EncoderOutput, type GraphOptions, type WeightLookup,
} from './layers.js';

/**
 * Hugging Face's make_log_bucket_position for one distance, in float32 as it computes it:
 * distances up to span/2 keep their value, longer ones share buckets on a log scale that reaches
 * span/2 − 1 more buckets at maxPosition − 1.
 */
export function logBucketPosition(relative: number, buckets: number, maxPosition: number): number {
  const mid = Math.floor(buckets / 2);
  const distance = Math.abs(relative);
  if (distance <= mid) return relative;
  const f = Math.fround;
  const logRatio = f(Math.log(f(distance / mid)));
  const logMax = f(Math.log(f((maxPosition - 1) / mid)));
  return Math.sign(relative) * (Math.ceil(f(f(logRatio / logMax) * (mid - 1))) + mid);
}

/**
 * Row of the relative embeddings for every distance i − j from −(maxLength − 1) to maxLength − 1,
 * at index i − j + maxLength − 1. It depends on the config only, so it is a constant of the graph
 * and the log and ceil above never run at inference.
 */
export function relativeEmbeddingRows(deberta: DebertaSettings, maxLength: number): Int32Array {
  const span = relativeSpan(deberta);
  const rows = new Int32Array(2 * maxLength - 1);
  for (let r = -(maxLength - 1); r < maxLength; r++) {
    const bucket = deberta.positionBuckets > 0 ? logBucketPosition(r, deberta.positionBuckets, deberta.maxRelativePositions) : r;
    rows[r + maxLength - 1] = Math.min(Math.max(bucket + span, 0), 2 * span - 1);
  }
  return rows;
}

/** What every layer's disentangled attention shares, built once per forward. */
interface RelativeAttention {
  /** LN_enc(E_rel): [2·span, hidden]. */
  readonly embeddings: Value;
  /** Flat [L·L] indices into q·Krᵀ viewed as [L·2·span]: (i, j) → i·2·span + idx(i, j). */
  readonly contentToPosition: Value;
  /** Flat [L·L] indices into k·Qrᵀ viewed as [L·2·span]: (i, j) → j·2·span + idx(i, j). */
  readonly positionToContent: Value;
  /** [batch, heads, L, L] at run time, to unflatten the gathered terms. */
  readonly scoresShape: Value;
}

function relativeAttention(g: GraphBuilder, p: Params, inputIds: Value, spec: ModelSpec, deberta: DebertaSettings): RelativeAttention {
  const span = relativeSpan(deberta);
  const h = spec.hiddenSize;
  let embeddings = p.get(`${spec.prefix}encoder.rel_embeddings.weight`, [2 * span, h]);
  if (deberta.normRelEmbedding) embeddings = layerNorm(g, p, embeddings, `${spec.prefix}encoder.LayerNorm`, h, spec.layerNormEps);

  const n = spec.maxPositions;
  const rows = g.constant('deberta_relative_rows', 'int64', [2 * n - 1], BigInt64Array.from(relativeEmbeddingRows(deberta, n), (v) => BigInt(v)));
  const positions = g.range(g.dimOf(inputIds, 1), SEQ);
  const distance = g.add(g.sub(g.unsqueeze(positions, [1]), g.unsqueeze(positions, [0])), g.scalar(n - 1, 'int64'));
  const index = g.gather(rows, distance); // [L, L]: idx(i, j)
  const rowStart = g.mul(positions, g.scalar(2 * span, 'int64'));
  return {
    embeddings,
    contentToPosition: g.reshape(g.add(index, g.unsqueeze(rowStart, [1])), [-1]),
    positionToContent: g.reshape(g.add(index, g.unsqueeze(rowStart, [0])), [-1]),
    scoresShape: g.concat([g.dimsOf(inputIds, [0]), g.int64s([spec.numHeads]), g.dimsOf(inputIds, [1]), g.dimsOf(inputIds, [1])], 0),
  };
}

/** [batch, heads, L, 2·span] → [batch, heads, L, L] through a flat index of relativeAttention. */
function gatherRelative(g: GraphBuilder, all: Value, flatIndex: Value, rel: RelativeAttention, numHeads: number): Value {
  const gathered = g.gather(g.reshape(all, [0, 0, -1]), flatIndex, 2);
  return g.reshapeTo(gathered, rel.scoresShape, [BATCH, numHeads, SEQ, SEQ]);
}

/** Disentangled self-attention with shared keys, then the output projection and post-LayerNorm residual. */
function disentangledAttentionBlock(
  g: GraphBuilder, p: Params, layout: Layout, rel: RelativeAttention, x: Value, bias: Value,
  spec: ModelSpec, deberta: DebertaSettings, layer: string, drop: Dropper,
): Value {
  const h = spec.hiddenSize;
  const heads = spec.numHeads;
  const d = h / heads;
  const self = `${layer}.attention.self`;
  const project = (name: string): Value => layout.splitHeads(linear(g, p, x, `${self}.${name}`, h, h)); // [B, L, heads, d]
  // Qr and Kr: the same projections applied to the relative embeddings, as [heads, d, 2·span].
  const relEmbeddings = drop.hidden(rel.embeddings); // HF's pos_dropout, once per layer
  const relative = (name: string): Value => {
    const projected = linear(g, p, relEmbeddings, `${self}.${name}`, h, h);
    return g.transpose(g.reshape(projected, [-1, heads, d]), [1, 2, 0]);
  };
  const q = g.transpose(project('query_proj'), [0, 2, 1, 3]);
  const keys = project('key_proj');
  const v = g.transpose(project('value_proj'), [0, 2, 1, 3]);

  let scores = g.matmul(q, g.transpose(keys, [0, 2, 3, 1]));
  let terms = 1;
  if (deberta.contentToPosition) {
    scores = g.add(scores, gatherRelative(g, g.matmul(q, relative('key_proj')), rel.contentToPosition, rel, heads));
    terms++;
  }
  if (deberta.positionToContent) {
    const k = g.transpose(keys, [0, 2, 1, 3]);
    scores = g.add(scores, gatherRelative(g, g.matmul(k, relative('query_proj')), rel.positionToContent, rel, heads));
    terms++;
  }
  scores = g.add(g.div(scores, g.scalar(Math.sqrt(terms * d), x.dtype)), bias);
  const probabilities = drop.attention(g.softmax(scores, -1));
  const merged = g.reshape(g.transpose(g.matmul(probabilities, v), [0, 2, 1, 3]), [-1, h]);
  const out = drop.hidden(linear(g, p, merged, `${layer}.attention.output.dense`, h, h));
  return layerNorm(g, p, g.add(out, x), `${layer}.attention.output.LayerNorm`, h, spec.layerNormEps);
}

/** Adds the encoder to `g` and returns its token states [tokens, hidden]. */
export function debertaV2Encoder(g: GraphBuilder, spec: ModelSpec, weights: WeightLookup, options: GraphOptions = {}): EncoderOutput {
  const dtype = options.dtype ?? 'float32';
  const deberta = debertaSettings(spec);
  const p = new Params(g, weights, dtype, options.externalWeights);
  const inputs = encoderInputs(g, options);
  const layout = new Layout(g, inputs, spec);
  const drop = new Dropper(g, options.dropout);

  // HF zeroes padding rows after the LayerNorm; real tokens never attend to them either way.
  const mask = g.reshape(g.cast(inputs.attentionMask, dtype), [-1, 1]);
  let x = drop.hidden(g.mul(embed(g, p, inputs, spec), mask));
  const rel = relativeAttention(g, p, inputs.inputIds, spec, deberta);
  const bias = paddingBias(g, inputs.attentionMask, dtype);
  for (let l = 0; l < spec.numLayers; l++) {
    const layer = `${spec.prefix}encoder.layer.${l}`;
    x = disentangledAttentionBlock(g, p, layout, rel, x, bias, spec, deberta, layer, drop);
    x = plainFeedForward(g, p, x, spec, layer, drop);
  }
  // Every token's row: the relative attention has no first-token-only form here (GraphOptions.lastLayer is ignored).
  return { hidden: x, rows: 'tokens', layout, params: p, inputs, drop };
}

/** ContextPooler + classifier: classifier(act(dense(h_CLS))) → logits [batch, numLabels]. */
export function contextPoolerClassifier(g: GraphBuilder, encoder: EncoderOutput, spec: ModelSpec): Value {
  const { params: p, drop } = encoder;
  const h = spec.hiddenSize;
  const first = firstTokenStates(encoder);
  const pooled = activation(g, linear(g, p, first, 'pooler.dense', h, h), debertaSettings(spec).poolerAct);
  return linear(g, p, drop.hidden(pooled), 'classifier', h, spec.numLabels);
}
