/**
 * XLM-RoBERTa cross-encoder (BAAI/bge-reranker-base), as ../shared/docs/xlmr-deberta.md states it:
 *
 *   m     = (ids ≠ pad)                                   from the ids, not from the attention mask
 *   pos   = pad + cumsum(m) · m                           first real token at pad + 1; pads keep pad
 *   x     = LN(E_word[ids] + E_type[types] + E_pos[pos])
 *   layer : x = LN(x + Attn(x; bias = padding))           BERT's post-LayerNorm layers
 *           x = LN(x + W2·act(W1 x + b1) + b2)
 *   logit = out_proj(tanh(dense(x_<s>)))                  RoBERTa's head; no pooler
 */
import type { GraphBuilder, Value } from '../graph/index.js';
import { positionTableRows, type ModelSpec } from '../checkpoint/spec.js';
import {
  Dropper, Layout, Params, embed, encoderInputs, linear, paddingBias, plainFeedForward, selfAttentionBlock, layerRows,
  firstTokenStates, type EncoderOutput, type GraphOptions, type WeightLookup,
} from './layers.js';

/**
 * RoBERTa's create_position_ids_from_input_ids: every non-pad token counts up from pad + 1, and
 * every token equal to the pad id (padding, or a literal `<pad>` in user text) keeps pad.
 */
export function robertaPositionIds(g: GraphBuilder, inputIds: Value, padId: number): Value {
  const pad = g.scalar(padId, 'int64');
  const isToken = g.sub(g.scalar(1, 'int64'), g.cast(g.equal(inputIds, pad), 'int64'));
  return g.add(g.mul(g.cumsum(isToken, 1), isToken), pad);
}

/** Adds the encoder to `g` and returns its token states [tokens, hidden]. */
export function xlmRobertaEncoder(g: GraphBuilder, spec: ModelSpec, weights: WeightLookup, options: GraphOptions = {}): EncoderOutput {
  const dtype = options.dtype ?? 'float32';
  const p = new Params(g, weights, dtype, options.externalWeights);
  const inputs = encoderInputs(g, options);
  const layout = new Layout(g, inputs, spec);
  const drop = new Dropper(g, options.dropout);

  const positions = robertaPositionIds(g, inputs.inputIds, spec.padTokenId ?? 1);
  const table = p.get(`${spec.prefix}embeddings.position_embeddings.weight`, [positionTableRows(spec), spec.hiddenSize]);
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

/** RobertaClassificationHead: out_proj(tanh(dense(h_<s>))) → logits [batch, numLabels]. */
export function robertaClassificationHead(g: GraphBuilder, encoder: EncoderOutput, spec: ModelSpec): Value {
  const { params: p, drop } = encoder;
  const h = spec.hiddenSize;
  const first = firstTokenStates(encoder);
  const dense = g.tanh(linear(g, p, drop.hidden(first), 'classifier.dense', h, h));
  return linear(g, p, drop.hidden(dense), 'classifier.out_proj', h, spec.numLabels);
}
