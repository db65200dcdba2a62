/**
 * ModelSpec → config.json, the inverse of parseModelSpec, for checkpoints turborank writes
 * (training, export, benchmarks). JinaBERT configs follow Jina's: model_type "bert" with
 * position_embedding_type "alibi" and feed_forward_type; XLM-R and DeBERTa configs follow
 * XLMRobertaConfig and DebertaV2Config. num_labels is written too, since the classifier's size is
 * otherwise only visible in the weights.
 */
import { positionTableRows, type ModelSpec } from './spec.js';

export function specToConfigJson(spec: ModelSpec, name = spec.sourceName): Record<string, unknown> {
  const sizes = {
    hidden_act: spec.hiddenAct,
    vocab_size: spec.vocabSize,
    hidden_size: spec.hiddenSize,
    num_hidden_layers: spec.numLayers,
    num_attention_heads: spec.numHeads,
    intermediate_size: spec.intermediateSize,
    type_vocab_size: spec.typeVocabSize,
    layer_norm_eps: spec.layerNormEps,
  };
  const common = { num_labels: spec.numLabels, attention_probs_dropout_prob: 0.1, hidden_dropout_prob: 0.1, initializer_range: 0.02 };
  switch (spec.architecture) {
    case 'jinabert':
    case 'bert': {
      const jina = spec.architecture === 'jinabert';
      return {
        _name_or_path: name,
        architectures: [jina ? 'JinaBertForSequenceClassification' : 'BertForSequenceClassification'],
        model_type: 'bert',
        position_embedding_type: jina ? 'alibi' : 'absolute',
        ...(jina ? { feed_forward_type: spec.feedForward } : {}),
        ...sizes,
        max_position_embeddings: spec.maxPositions,
        ...common,
        pad_token_id: 0,
        torch_dtype: 'float32',
      };
    }
    case 'xlm-roberta':
      return {
        _name_or_path: name,
        architectures: ['XLMRobertaForSequenceClassification'],
        model_type: 'xlm-roberta',
        position_embedding_type: 'absolute',
        ...sizes,
        max_position_embeddings: positionTableRows(spec),
        ...common,
        pad_token_id: spec.padTokenId ?? 1,
        bos_token_id: 0,
        eos_token_id: 2,
        torch_dtype: 'float32',
      };
    case 'deberta-v2': {
      const deberta = spec.deberta;
      return {
        _name_or_path: name,
        architectures: ['DebertaV2ForSequenceClassification'],
        model_type: 'deberta-v2',
        ...sizes,
        max_position_embeddings: spec.maxPositions,
        relative_attention: true,
        share_att_key: true,
        position_biased_input: false,
        pos_att_type: [...(deberta?.positionToContent ? ['p2c'] : []), ...(deberta?.contentToPosition ? ['c2p'] : [])],
        position_buckets: deberta && deberta.positionBuckets > 0 ? deberta.positionBuckets : -1,
        max_relative_positions: deberta?.maxRelativePositions ?? -1,
        norm_rel_ebd: deberta?.normRelEmbedding ? 'layer_norm' : 'none',
        pooler_hidden_act: deberta?.poolerAct ?? 'gelu',
        pooler_hidden_size: spec.hiddenSize,
        pooler_dropout: 0,
        ...common,
        pad_token_id: 0,
        torch_dtype: 'float32',
      };
    }
  }
}

/**
 * Keys a config.json may carry that the spec does not describe and that stay true of a model
 * after its weights change: how Hugging Face finds the remote code (auto_map — without it
 * transformers loads a JinaBERT as plain BERT, without ALiBi), the pooling and attention
 * settings of that code, the dropout the model was made with, and the like. Everything else of
 * the original config is dropped: sizes, types and labels come from the spec.
 */
const CARRIED_KEYS = new Set([
  'auto_map', 'attn_implementation', 'emb_pooler', 'classifier_dropout', 'gradient_checkpointing', 'use_cache',
  'attention_probs_dropout_prob', 'hidden_dropout_prob', 'initializer_range', 'transformers_version',
  'bos_token_id', 'eos_token_id', 'sep_token_id', 'cls_token_id', 'problem_type',
]);

/**
 * config.json for a model derived from another (a trained checkpoint of `base`): the spec's
 * keys, plus the keys of `base` that the new weights do not change (CARRIED_KEYS), and its
 * id2label / label2id when they still name exactly num_labels labels.
 */
export function derivedConfigJson(spec: ModelSpec, base: Readonly<Record<string, unknown>>, name = spec.sourceName): Record<string, unknown> {
  const own = specToConfigJson(spec, name);
  const carried: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(base)) if (CARRIED_KEYS.has(key)) carried[key] = value;
  for (const key of ['id2label', 'label2id'] as const) {
    const labels = base[key];
    if (labels !== null && typeof labels === 'object' && Object.keys(labels).length === spec.numLabels) carried[key] = labels;
  }
  // Sorted as transformers writes them; carried keys replace the spec writer's defaults
  // (dropout, initializer_range), never a key the spec describes.
  const merged: Record<string, unknown> = { ...own, ...carried };
  return Object.fromEntries(Object.keys(merged).sort().map((key) => [key, merged[key]]));
}
