/** One builder per architecture; everything above this layer asks for a graph by spec. */
import type { Graph } from '../graph/index.js';
import type { ModelSpec } from '../checkpoint/spec.js';
import { buildBert } from './bert.js';
import { buildJinaBert } from './jinabert.js';
import type { GraphOptions, WeightLookup } from './layers.js';

export type { GraphOptions, WeightLookup } from './layers.js';
export { alibiSlopes } from './jinabert.js';

export function buildCrossEncoder(spec: ModelSpec, weights: WeightLookup, options: GraphOptions = {}): Graph {
  switch (spec.architecture) {
    case 'jinabert': return buildJinaBert(spec, weights, options);
    case 'bert': return buildBert(spec, weights, options);
  }
}
