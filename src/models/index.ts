/** One builder per architecture; everything above this layer asks for a graph by spec. */
import { GraphBuilder, type Graph, type Value } from '../graph/index.js';
import type { ModelSpec } from '../checkpoint/spec.js';
import { bertEncoder } from './bert.js';
import { contextPoolerClassifier, debertaV2Encoder } from './deberta-v2.js';
import { jinaBertEncoder } from './jinabert.js';
import { poolerClassifier, type EncoderOutput, type GraphOptions, type WeightLookup } from './layers.js';
export { LAST_LAYERS, lastLayerRows } from './layers.js';
import { robertaClassificationHead, xlmRobertaEncoder } from './xlm-roberta.js';

export type { AttentionRows, DropoutOptions, EncoderOutput, GraphOptions, LastLayer, WeightLookup } from './layers.js';
export { maskedLanguageModelLogits } from './heads.js';
export { alibiSlopes } from './jinabert.js';
export { logBucketPosition, relativeEmbeddingRows } from './deberta-v2.js';
export { robertaPositionIds } from './xlm-roberta.js';

/** Adds the encoder (inputs input_ids, attention_mask[, token_type_ids]) to `g`. */
export function encoder(g: GraphBuilder, spec: ModelSpec, weights: WeightLookup, options: GraphOptions = {}): EncoderOutput {
  switch (spec.architecture) {
    case 'jinabert': return jinaBertEncoder(g, spec, weights, options);
    case 'bert': return bertEncoder(g, spec, weights, options);
    case 'xlm-roberta': return xlmRobertaEncoder(g, spec, weights, options);
    case 'deberta-v2': return debertaV2Encoder(g, spec, weights, options);
  }
}

/**
 * Whether `spec`'s encoder honours GraphOptions.lastLayer (cross-encoder graphs ask for
 * 'first-token-folded', training graphs for 'first-token'). DeBERTa-v2's relative attention
 * computes every row.
 */
export function computesFirstTokenOnly(spec: ModelSpec): boolean {
  return spec.architecture !== 'deberta-v2';
}

/** Adds a cross-encoder to `g` and returns its logits [batch, numLabels]: the encoder, then its family's head. */
export function crossEncoderLogits(g: GraphBuilder, spec: ModelSpec, weights: WeightLookup, options: GraphOptions = {}): Value {
  // Every head reads the first token alone, so the last layer computes only its row unless told otherwise.
  const states = encoder(g, spec, weights, { lastLayer: 'first-token-folded', ...options });
  switch (spec.architecture) {
    case 'jinabert':
    case 'bert': return poolerClassifier(g, states, spec);
    case 'xlm-roberta': return robertaClassificationHead(g, states, spec);
    case 'deberta-v2': return contextPoolerClassifier(g, states, spec);
  }
}

/** The inference graph: logits [batch, numLabels] as output 'logits'. */
export function buildCrossEncoder(spec: ModelSpec, weights: WeightLookup, options: GraphOptions = {}): Graph {
  const g = new GraphBuilder();
  g.output('logits', crossEncoderLogits(g, spec, weights, options));
  return g.build();
}
