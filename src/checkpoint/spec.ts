/**
 * ModelSpec: everything the graph builders need to know about a cross-encoder,
 * read from config.json and checked against the weights. Nothing above `checkpoint/`
 * reads config.json itself.
 */

/** The encoder families turborank builds graphs for. */
export type Architecture = 'jinabert' | 'bert';

export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = ['jinabert', 'bert'];

/** Feed-forward block: BERT's two-layer MLP, or JinaBERT's gated GLU variants. */
export type FeedForwardType = 'original' | 'geglu' | 'reglu';

/** Activation of BERT's plain MLP (`hidden_act`). */
export type HiddenAct = 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu';

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
  /** 'alibi': no position embeddings, a symmetric linear bias; 'absolute': learned positions. */
  readonly positionEmbedding: 'alibi' | 'absolute';
  /** Longest sequence the model accepts: 8192 for ALiBi models, max_position_embeddings otherwise. */
  readonly maxPositions: number;
  readonly feedForward: FeedForwardType;
  /**
   * Activation inside the MLP. For 'original' it is config.json's hidden_act; the gated blocks fix
   * their own ('geglu' → 'gelu' (erf), 'reglu' → 'relu') and ignore hidden_act.
   */
  readonly hiddenAct: HiddenAct;
  /** Size of the classifier output, taken from classifier.weight (JinaBERT configs have no num_labels). */
  readonly numLabels: number;
  /** Tensor-name prefix of the encoder in the checkpoint: 'bert.' or ''. */
  readonly prefix: string;
  /** What config.json called it, for messages and `info`. */
  readonly sourceName: string;
}

/** Parameter count implied by a spec (weights only, no buffers). */
export function countParameters(spec: ModelSpec): number {
  const h = spec.hiddenSize;
  const i = spec.intermediateSize;
  let n = spec.vocabSize * h + spec.typeVocabSize * h + 2 * h; // word, type, LayerNorm
  if (spec.positionEmbedding === 'absolute') n += spec.maxPositions * h;
  const attention = 4 * (h * h + h) + 2 * h;
  const mlp =
    spec.feedForward === 'original'
      ? h * i + i + i * h + h + 2 * h
      : 2 * i * h + i * h + h + 2 * h; // gated_layers has no bias
  n += spec.numLayers * (attention + mlp);
  n += h * h + h; // pooler
  n += spec.numLabels * h + spec.numLabels; // classifier
  return n;
}
