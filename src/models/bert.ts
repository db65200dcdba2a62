/**
 * Plain BERT cross-encoder (cross-encoder/ms-marco-MiniLM-L-*-v2 style):
 *
 *   x     = LN(E_word[ids] + E_type[types] + E_pos[0..L))
 *   layer : x = LN(x + Attn(x; bias = padding))
 *           x = LN(x + W2·act(W1 x + b1) + b2)
 *   logit = classifier(tanh(pooler(x_CLS)))
 */
import type { GraphBuilder } from '../graph/index.js';
import type { ModelSpec } from '../checkpoint/spec.js';
import {
  SEQ, Dropper, Layout, Params, embed, encoderInputs, paddingBias, plainFeedForward, selfAttentionBlock, layerRows,
  type EncoderOutput, type GraphOptions, type WeightLookup,
} from './layers.js';

/** Adds the encoder to `g` and returns its token states [tokens, hidden]. */
export function bertEncoder(g: GraphBuilder, spec: ModelSpec, weights: WeightLookup, options: GraphOptions = {}): EncoderOutput {
  const dtype = options.dtype ?? 'float32';
  const p = new Params(g, weights, dtype, options.externalWeights);
  const inputs = encoderInputs(g, options);
  const layout = new Layout(g, inputs, spec);
  const drop = new Dropper(g, options.dropout);

  const positions = g.range(g.dimOf(inputs.inputIds, 1), SEQ);
  const table = p.get(`${spec.prefix}embeddings.position_embeddings.weight`, [spec.maxPositions, spec.hiddenSize]);
  let x = drop.hidden(embed(g, p, inputs, spec, g.gather(table, positions)));
  const bias = paddingBias(g, inputs.attentionMask, dtype);
  let rows: EncoderOutput['rows'] = 'tokens';
  for (let l = 0; l < spec.numLayers; l++) {
    const layer = `${spec.prefix}encoder.layer.${l}`;
    const attention = layerRows(options, spec, l); // the padding bias [batch, 1, 1, seq] serves one query row as well
    if (attention !== 'tokens') rows = 'first';
    x = selfAttentionBlock(g, p, layout, x, bias, spec, layer, drop, attention);
    x = plainFeedForward(g, p, x, spec, layer, drop);
  }
  return { hidden: x, rows, layout, params: p, inputs, drop };
}
