/**
 * Plain BERT cross-encoder (cross-encoder/ms-marco-MiniLM-L-*-v2 style):
 *
 *   x     = LN(E_word[ids] + E_type[types] + E_pos[0..L))
 *   layer : x = LN(x + Attn(x; bias = padding))
 *           x = LN(x + W2·act(W1 x + b1) + b2)
 *   logit = classifier(tanh(pooler(x_CLS)))
 */
import { GraphBuilder, type Graph, type Value } from '../graph/index.js';
import type { ModelSpec } from '../checkpoint/spec.js';
import {
  SEQ, Params, embed, encoderInputs, geluErf, geluTanh, layerNorm, linear, paddingBias, poolerClassifier,
  selfAttentionBlock, type WeightLookup,
} from './layers.js';

function activation(g: GraphBuilder, x: Value, spec: ModelSpec): Value {
  switch (spec.hiddenAct) {
    case 'gelu': return geluErf(g, x);
    case 'gelu_new':
    case 'gelu_pytorch_tanh': return geluTanh(g, x);
    case 'relu': return g.relu(x);
  }
}

function feedForward(g: GraphBuilder, p: Params, x: Value, spec: ModelSpec, layer: string): Value {
  const h = spec.hiddenSize;
  const i = spec.intermediateSize;
  const hidden = activation(g, linear(g, p, x, `${layer}.intermediate.dense`, h, i), spec);
  const out = linear(g, p, hidden, `${layer}.output.dense`, i, h);
  return layerNorm(g, p, g.add(out, x), `${layer}.output.LayerNorm`, h, spec.layerNormEps);
}

export function buildBert(spec: ModelSpec, weights: WeightLookup): Graph {
  const g = new GraphBuilder();
  const p = new Params(g, weights);
  const inputs = encoderInputs(g);

  const positions = g.range(g.dimOf(inputs.inputIds, 1), SEQ);
  const table = p.get(`${spec.prefix}embeddings.position_embeddings.weight`, [spec.maxPositions, spec.hiddenSize]);
  let x = embed(g, p, inputs, spec, g.gather(table, positions));
  const bias = paddingBias(g, inputs.attentionMask);
  for (let l = 0; l < spec.numLayers; l++) {
    const layer = `${spec.prefix}encoder.layer.${l}`;
    x = selfAttentionBlock(g, p, x, bias, spec, layer);
    x = feedForward(g, p, x, spec, layer);
  }
  g.output('logits', poolerClassifier(g, p, x, spec));
  return g.build();
}
