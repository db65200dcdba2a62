/** One builder per architecture; everything above this layer asks for a graph by spec. */
import { GraphBuilder, type Graph, type Value } from '../graph/index.js';
import type { ModelSpec } from '../checkpoint/spec.js';
import { bertLogits } from './bert.js';
import { jinaBertLogits } from './jinabert.js';
import type { GraphOptions, WeightLookup } from './layers.js';

export type { GraphOptions, WeightLookup } from './layers.js';
export { alibiSlopes } from './jinabert.js';

/** Adds a cross-encoder to `g` (inputs input_ids, attention_mask[, token_type_ids]) and returns its logits. */
export function crossEncoderLogits(g: GraphBuilder, spec: ModelSpec, weights: WeightLookup, options: GraphOptions = {}): Value {
  switch (spec.architecture) {
    case 'jinabert': return jinaBertLogits(g, spec, weights, options);
    case 'bert': return bertLogits(g, spec, weights, options);
  }
}

/** The inference graph: logits [batch, numLabels] as output 'logits'. */
export function buildCrossEncoder(spec: ModelSpec, weights: WeightLookup, options: GraphOptions = {}): Graph {
  const g = new GraphBuilder();
  g.output('logits', crossEncoderLogits(g, spec, weights, options));
  return g.build();
}
