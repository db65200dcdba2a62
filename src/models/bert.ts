/**
 * Plain BERT cross-encoder (cross-encoder/ms-marco-MiniLM-L-*-v2 style):
 *
 *   x     = LN(E_word[ids] + E_type[types] + E_pos[0..L))
 *   layer : x = LN(x + Attn(x; bias = padding))
 *           x = LN(x + W2·act(W1 x + b1) + b2)
 *   logit = classifier(tanh(pooler(x_CLS)))
 */
import { GraphBuilder, type Graph } from '../graph/index.js';
import type { ModelSpec } from '../checkpoint/spec.js';
import {
  SEQ, Layout, Params, embed, encoderInputs, paddingBias, plainFeedForward, poolerClassifier, selfAttentionBlock,
  type GraphOptions, type WeightLookup,
} from './layers.js';

export function buildBert(spec: ModelSpec, weights: WeightLookup, options: GraphOptions = {}): Graph {
  const g = new GraphBuilder();
  const p = new Params(g, weights);
  const inputs = encoderInputs(g, options);
  const layout = new Layout(g, inputs, spec);

  const positions = g.range(g.dimOf(inputs.inputIds, 1), SEQ);
  const table = p.get(`${spec.prefix}embeddings.position_embeddings.weight`, [spec.maxPositions, spec.hiddenSize]);
  let x = embed(g, p, inputs, spec, g.gather(table, positions));
  const bias = paddingBias(g, inputs.attentionMask);
  for (let l = 0; l < spec.numLayers; l++) {
    const layer = `${spec.prefix}encoder.layer.${l}`;
    x = selfAttentionBlock(g, p, layout, x, bias, spec, layer);
    x = plainFeedForward(g, p, x, spec, layer);
  }
  g.output('logits', poolerClassifier(g, p, layout, x, spec));
  return g.build();
}
