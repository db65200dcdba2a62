/**
 * Heads other than the cross-encoder's classifier. The masked-language-model head (BERT's
 * `cls.predictions`) pre-trains an encoder: transform = LN(gelu(W h + b)), then logits over the
 * vocabulary through the word-embedding matrix itself (tied weights) plus a bias.
 */
import type { GraphBuilder, Value } from '../graph/index.js';
import type { ModelSpec } from '../checkpoint/spec.js';
import { activation, layerNorm, linear, type EncoderOutput } from './layers.js';

/** Vocabulary logits [tokens, vocab] for every token of the batch. */
export function maskedLanguageModelLogits(g: GraphBuilder, encoder: EncoderOutput, spec: ModelSpec): Value {
  const { params: p, hidden } = encoder;
  const h = spec.hiddenSize;
  const transformed = layerNorm(g, p, activation(g, linear(g, p, hidden, 'cls.predictions.transform.dense', h, h), 'gelu'),
    'cls.predictions.transform.LayerNorm', h, spec.layerNormEps);
  const wordEmbeddings = p.get(`${spec.prefix}embeddings.word_embeddings.weight`, [spec.vocabSize, h]);
  return g.add(g.matmul(transformed, g.transpose(wordEmbeddings, [1, 0])), p.get('cls.predictions.bias', [spec.vocabSize]));
}
