/**
 * JinaBERT cross-encoder (jina-reranker-v1-{base,turbo,tiny}-en), as ../shared/docs/jinabert.md
 * reconstructs it:
 *
 *   x      = LN(E_word[ids] + E_type[types])                       no position embeddings
 *   A[h]   = −slope_h · |i − j|                                     symmetric ALiBi, built once per length
 *   layer  : x = LN(x + Attn(x; bias = A + padding))
 *            x = LN(x + Wo(gelu(z[:, :I]) ⊙ z[:, I:]) + bo),  z = Wg x   (GEGLU, no bias on Wg)
 *   logit  = classifier(tanh(pooler(x_CLS)))
 */
import type { GraphBuilder, Value } from '../graph/index.js';
import type { ModelSpec } from '../checkpoint/spec.js';
import {
  SEQ, Dropper, Layout, Params, embed, encoderInputs, geluErf, layerNorm, linear, paddingBias, plainFeedForward,
  selfAttentionBlock, layerRows, type EncoderOutput, type GraphOptions, type WeightLookup,
} from './layers.js';

/**
 * ALiBi head slopes (Press et al.): geometric 2^(−8/n)… for a power-of-two n; otherwise the
 * slopes of the nearest lower power of two followed by every other slope of twice that.
 */
export function alibiSlopes(numHeads: number): number[] {
  const pow2 = (n: number): number[] => {
    const ratio = 2 ** (-8 / n);
    return Array.from({ length: n }, (_, k) => ratio ** (k + 1));
  };
  const p = 2 ** Math.floor(Math.log2(numHeads));
  if (p === numHeads) return pow2(numHeads);
  return [...pow2(p), ...pow2(2 * p).filter((_, i) => i % 2 === 0).slice(0, numHeads - p)];
}

/**
 * −slope_h·|i − j| as [heads, seq, seq], computed from the batch's actual length; with rows
 * 'first', only query row i = 0: −slope_h·j as [heads, 1, seq].
 */
function alibiBias(g: GraphBuilder, inputIds: Value, negativeSlopes: Value, rows: EncoderOutput['rows']): Value {
  const positions = g.cast(g.range(g.dimOf(inputIds, 1), SEQ), negativeSlopes.dtype);
  const distance = rows === 'first'
    ? g.unsqueeze(positions, [0])
    : g.abs(g.sub(g.unsqueeze(positions, [1]), g.unsqueeze(positions, [0])));
  return g.mul(negativeSlopes, distance);
}

/** The constant −slope_h as [heads, 1, 1]. */
function negativeSlopes(g: GraphBuilder, numHeads: number, dtype: 'float32' | 'float64'): Value {
  const negative = alibiSlopes(numHeads).map((s) => -s);
  const slopes = dtype === 'float64' ? Float64Array.from(negative) : Float32Array.from(negative);
  return g.constant('alibi_negative_slopes', dtype, [numHeads, 1, 1], slopes);
}

/**
 * GEGLU (or ReGLU) feed-forward with the post-LayerNorm residual. The [2I, H] weight is split
 * into its gate and up halves inside the graph (ORT folds that at load), so the activations
 * are produced by two GEMMs instead of one GEMM and a copying Split.
 */
function gatedFeedForward(g: GraphBuilder, p: Params, x: Value, spec: ModelSpec, layer: string, drop: Dropper): Value {
  const h = spec.hiddenSize;
  const i = spec.intermediateSize;
  const weight = p.get(`${layer}.mlp.gated_layers.weight`, [2 * i, h]);
  const [gateWeight, upWeight] = g.split(weight, [i, i], 0) as [Value, Value];
  const gate = g.matmul(x, g.transpose(gateWeight, [1, 0]));
  const up = g.matmul(x, g.transpose(upWeight, [1, 0]));
  const activated = spec.feedForward === 'reglu' ? g.relu(gate) : geluErf(g, gate);
  const out = drop.hidden(linear(g, p, g.mul(activated, up), `${layer}.mlp.wo`, i, h));
  return layerNorm(g, p, g.add(out, x), `${layer}.mlp.layernorm`, h, spec.layerNormEps);
}

/** Adds the encoder to `g` and returns its token states [tokens, hidden]. */
export function jinaBertEncoder(g: GraphBuilder, spec: ModelSpec, weights: WeightLookup, options: GraphOptions = {}): EncoderOutput {
  const dtype = options.dtype ?? 'float32';
  const p = new Params(g, weights, dtype, options.externalWeights);
  const inputs = encoderInputs(g, options);
  const layout = new Layout(g, inputs, spec);
  const drop = new Dropper(g, options.dropout);

  let x = drop.hidden(embed(g, p, inputs, spec));
  // One bias tensor [batch, heads, seq, seq] shared by every layer (built only if some layer needs every row).
  const padding = paddingBias(g, inputs.attentionMask, dtype);
  const slopes = negativeSlopes(g, spec.numHeads, dtype);
  let bias: Value | undefined;
  let rows: EncoderOutput['rows'] = 'tokens';
  for (let l = 0; l < spec.numLayers; l++) {
    const layer = `${spec.prefix}encoder.layer.${l}`;
    const attention = layerRows(options, spec, l);
    if (attention !== 'tokens') rows = 'first';
    const layerBias = rows === 'first'
      ? g.add(alibiBias(g, inputs.inputIds, slopes, 'first'), padding)
      : (bias ??= g.add(alibiBias(g, inputs.inputIds, slopes, 'tokens'), padding));
    x = selfAttentionBlock(g, p, layout, x, layerBias, spec, layer, drop, attention);
    x = spec.feedForward === 'original' ? plainFeedForward(g, p, x, spec, layer, drop) : gatedFeedForward(g, p, x, spec, layer, drop);
  }
  return { hidden: x, rows, layout, params: p, inputs, drop };
}
