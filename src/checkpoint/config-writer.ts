/**
 * ModelSpec → config.json, the inverse of parseModelSpec, for checkpoints turborank writes
 * (training, export). JinaBERT configs follow Jina's: model_type "bert" with
 * position_embedding_type "alibi" and feed_forward_type; num_labels is written too, since
 * the classifier's size is otherwise only visible in the weights.
 */
import type { ModelSpec } from './spec.js';

export function specToConfigJson(spec: ModelSpec, name = spec.sourceName): Record<string, unknown> {
  const jina = spec.architecture === 'jinabert';
  return {
    _name_or_path: name,
    architectures: [jina ? 'JinaBertForSequenceClassification' : 'BertForSequenceClassification'],
    model_type: 'bert',
    position_embedding_type: jina ? 'alibi' : 'absolute',
    ...(jina ? { feed_forward_type: spec.feedForward } : {}),
    hidden_act: spec.hiddenAct,
    vocab_size: spec.vocabSize,
    hidden_size: spec.hiddenSize,
    num_hidden_layers: spec.numLayers,
    num_attention_heads: spec.numHeads,
    intermediate_size: spec.intermediateSize,
    type_vocab_size: spec.typeVocabSize,
    layer_norm_eps: spec.layerNormEps,
    max_position_embeddings: spec.maxPositions,
    num_labels: spec.numLabels,
    attention_probs_dropout_prob: 0.1,
    hidden_dropout_prob: 0.1,
    initializer_range: 0.02,
    pad_token_id: 0,
    torch_dtype: 'float32',
  };
}
