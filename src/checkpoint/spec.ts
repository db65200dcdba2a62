/**
 * ModelSpec: everything the graph builders need to know about a cross-encoder,
 * read from config.json and checked against the weights. Nothing above `checkpoint/`
 * reads config.json itself.
 */

/** The encoder families turborank builds graphs for. */
export type Architecture = 'jinabert' | 'bert' | 'xlm-roberta' | 'deberta-v2';

export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = ['jinabert', 'bert', 'xlm-roberta', 'deberta-v2'];

/** Feed-forward block: BERT's two-layer MLP, or JinaBERT's gated GLU variants. */
export type FeedForwardType = 'original' | 'geglu' | 'reglu';

/** Activation of BERT's plain MLP (`hidden_act`). */
export type HiddenAct = 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu';

/**
 * How a model knows where a token is: 'alibi' (JinaBERT: a linear bias, no table), 'absolute'
 * (BERT, XLM-R: a learned row per position), 'relative' (DeBERTa: learned rows per bucketed
 * distance, inside attention).
 */
export type PositionEmbedding = 'alibi' | 'absolute' | 'relative';

/** DeBERTa-v2/v3's disentangled attention, as config.json sets it up. */
export interface DebertaSettings {
  /** `position_buckets`: log-bucketed distances fill this many buckets per side; ≤ 0 means no bucketing. */
  readonly positionBuckets: number;
  /** `max_relative_positions`, resolved (−1 in config.json means max_position_embeddings). */
  readonly maxRelativePositions: number;
  /** `norm_rel_ebd` contains "layer_norm": the relative embeddings go through encoder.LayerNorm. */
  readonly normRelEmbedding: boolean;
  /** `pos_att_type` has "c2p": queries attend to the keys' relative positions. */
  readonly contentToPosition: boolean;
  /** `pos_att_type` has "p2c": keys attend to the queries' relative positions. */
  readonly positionToContent: boolean;
  /** `pooler_hidden_act` of the context pooler. */
  readonly poolerAct: HiddenAct;
}

export interface ModelSpec {
  readonly architecture: Architecture;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly intermediateSize: number;
  /** Rows of the token-type embedding; 0 means the model has none. */
  readonly typeVocabSize: number;
  readonly layerNormEps: number;
  readonly positionEmbedding: PositionEmbedding;
  /**
   * Longest sequence the model accepts, in tokens: 8192 for ALiBi models, max_position_embeddings
   * for BERT and DeBERTa, max_position_embeddings − pad_token_id − 1 for XLM-R (whose positions
   * start after the padding index).
   */
  readonly maxPositions: number;
  readonly feedForward: FeedForwardType;
  /**
   * Activation inside the MLP. For 'original' it is config.json's hidden_act; the gated blocks fix
   * their own ('geglu' → 'gelu' (erf), 'reglu' → 'relu') and ignore hidden_act.
   */
  readonly hiddenAct: HiddenAct;
  /** Size of the classifier output, taken from the classifier's weight (JinaBERT configs have no num_labels). */
  readonly numLabels: number;
  /** Tensor-name prefix of the encoder in the checkpoint: 'bert.', 'roberta.', 'deberta.' or ''. */
  readonly prefix: string;
  /** What config.json called it, for messages and `info`. */
  readonly sourceName: string;
  /** XLM-R: `pad_token_id`, from which RoBERTa counts positions (the first real token is pad + 1). */
  readonly padTokenId?: number;
  /** DeBERTa-v2/v3 only. */
  readonly deberta?: DebertaSettings;
}

/** Rows of the learned position table: XLM-R's also holds the rows 0..pad that real tokens never use. */
export function positionTableRows(spec: ModelSpec): number {
  return spec.architecture === 'xlm-roberta' ? spec.maxPositions + (spec.padTokenId ?? 1) + 1 : spec.maxPositions;
}

/** A DeBERTa spec's settings: parseModelSpec always sets them; a hand-built spec that forgot them is a bug. */
export function debertaSettings(spec: ModelSpec): DebertaSettings {
  if (!spec.deberta) throw new TypeError(`a ${spec.architecture} ModelSpec needs its deberta settings (position buckets, attention terms, pooler)`);
  return spec.deberta;
}

/** DeBERTa's attention span: distances fall into 2·span relative-embedding rows. */
export function relativeSpan(deberta: DebertaSettings): number {
  return deberta.positionBuckets > 0 ? deberta.positionBuckets : deberta.maxRelativePositions;
}

/** Parameter count implied by a spec (weights only, no buffers). */
export function countParameters(spec: ModelSpec): number {
  const h = spec.hiddenSize;
  const i = spec.intermediateSize;
  let n = spec.vocabSize * h + spec.typeVocabSize * h + 2 * h; // word, type, LayerNorm
  switch (spec.positionEmbedding) {
    case 'absolute': n += positionTableRows(spec) * h; break;
    case 'relative': {
      const deberta = spec.deberta;
      if (deberta) n += 2 * relativeSpan(deberta) * h + (deberta.normRelEmbedding ? 2 * h : 0);
      break;
    }
    case 'alibi': break;
  }
  const attention = 4 * (h * h + h) + 2 * h;
  const mlp =
    spec.feedForward === 'original'
      ? h * i + i + i * h + h + 2 * h
      : 2 * i * h + i * h + h + 2 * h; // gated_layers has no bias
  n += spec.numLayers * (attention + mlp);
  // BERT's pooler, XLM-R's classifier.dense and DeBERTa's context pooler are all one h×h Linear.
  n += h * h + h;
  n += spec.numLabels * h + spec.numLabels; // classifier (XLM-R: classifier.out_proj)
  return n;
}
