/**
 * Random-weight models with the shapes of real rerankers, for benchmarks: speed depends on
 * shapes, not on weight values. Seeded, so two runs build the same model.
 */
import { relativeSpan, type ModelSpec } from '../checkpoint/spec.js';
import type { AttentionRows, WeightLookup } from '../models/index.js';

export type ShapeName = 'turbo' | 'tiny' | 'base' | 'minilm-l6' | 'bge-reranker-base' | 'mxbai-xsmall';

/**
 * jina-reranker-v1-turbo-en / -tiny-en / -base-en, ms-marco-MiniLM-L-6-v2, BAAI/bge-reranker-base
 * (XLM-R) and mixedbread-ai/mxbai-rerank-xsmall-v1 (DeBERTa-v3), per their configs.
 */
export const REFERENCE_SHAPES: Readonly<Record<ShapeName, ModelSpec>> = {
  turbo: jina('turbo', 384, 6, 1536, 61056),
  tiny: jina('tiny', 384, 4, 1536, 61056),
  base: jina('base', 768, 12, 3072, 30528),
  'minilm-l6': {
    architecture: 'bert', vocabSize: 30522, hiddenSize: 384, numLayers: 6, numHeads: 12, intermediateSize: 1536,
    typeVocabSize: 2, layerNormEps: 1e-12, positionEmbedding: 'absolute', maxPositions: 512, feedForward: 'original',
    hiddenAct: 'gelu', numLabels: 1, prefix: 'bert.', sourceName: 'random ms-marco-MiniLM-L-6-v2 shape',
  },
  'bge-reranker-base': {
    architecture: 'xlm-roberta', vocabSize: 250002, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072,
    typeVocabSize: 1, layerNormEps: 1e-5, positionEmbedding: 'absolute', maxPositions: 512, padTokenId: 1, feedForward: 'original',
    hiddenAct: 'gelu', numLabels: 1, prefix: 'roberta.', sourceName: 'random bge-reranker-base shape',
  },
  'mxbai-xsmall': {
    architecture: 'deberta-v2', vocabSize: 128100, hiddenSize: 384, numLayers: 12, numHeads: 6, intermediateSize: 1536,
    typeVocabSize: 0, layerNormEps: 1e-7, positionEmbedding: 'relative', maxPositions: 512, feedForward: 'original',
    hiddenAct: 'gelu', numLabels: 1, prefix: 'deberta.', sourceName: 'random mxbai-rerank-xsmall-v1 shape',
    deberta: { positionBuckets: 256, maxRelativePositions: 512, normRelEmbedding: true, contentToPosition: true, positionToContent: true, poolerAct: 'gelu' },
  },
};

function jina(name: string, hidden: number, layers: number, intermediate: number, vocab: number): ModelSpec {
  return {
    architecture: 'jinabert', vocabSize: vocab, hiddenSize: hidden, numLayers: layers, numHeads: 12,
    intermediateSize: intermediate, typeVocabSize: 2, layerNormEps: 1e-12, positionEmbedding: 'alibi',
    maxPositions: 8192, feedForward: 'geglu', hiddenAct: 'gelu', numLabels: 1, prefix: 'bert.',
    sourceName: `random jina-reranker-v1-${name}-en shape`,
  };
}

/** Mulberry32: a tiny, fast, seeded PRNG; quality is ample for benchmark weights. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** BERT-style init: N(0, 0.02)-ish uniform for matrices, ones for LayerNorm scales, zeros for biases. */
export function randomWeights(seed = 1234): WeightLookup {
  const next = mulberry32(seed);
  return (name, shape) => {
    const size = shape.reduce((p, d) => p * d, 1);
    const data = new Float32Array(size);
    if (name.endsWith('LayerNorm.weight') || name.endsWith('layernorm.weight')) data.fill(1);
    else if (!name.endsWith('.bias')) for (let i = 0; i < size; i++) data[i] = (next() - 0.5) * 0.07;
    return data;
  };
}

/**
 * Multiply-adds ×2 of one forward pass over one sequence of `tokens` tokens. DeBERTa's relative
 * terms add q·Krᵀ and k·Qrᵀ over all 2·span buckets; projecting the relative embeddings themselves
 * is done once per batch, not per sequence, and is left out. `lastLayer` is how the last layer
 * computes its rows (see GraphOptions.lastLayer; inference graphs fold where
 * computesFirstTokenOnly holds): 'first' still projects every token's keys and values, and
 * 'first-folded' takes the first token's query through the key weights and the attention-weighted
 * input through the value weights instead.
 */
export function forwardFlops(spec: ModelSpec, tokens: number, lastLayer: AttentionRows = 'tokens'): number {
  const h = spec.hiddenSize;
  const i = spec.intermediateSize;
  const deberta = spec.deberta;
  const layer = (rows: AttentionRows): number => {
    const queries = rows === 'tokens' ? tokens : 1;
    const mlp = spec.feedForward === 'original' ? 2 * 2 * queries * h * i : 2 * queries * h * 2 * i + 2 * queries * i * h;
    const relativeTerms = deberta ? (Number(deberta.contentToPosition) + Number(deberta.positionToContent)) * 2 * queries * 2 * relativeSpan(deberta) * h : 0;
    if (rows === 'first-folded') {
      // q and output projections; q·W_k and (p·x)·W_vᵀ (h² each); scores and p·x over every token with full-width rows per head
      return 2 * 2 * h * h + 2 * 2 * h * h + 2 * 2 * spec.numHeads * tokens * h + mlp;
    }
    const projections = 2 * 2 * tokens * h * h + 2 * 2 * queries * h * h; // keys and values; queries and output
    const attention = 2 * 2 * queries * tokens * h;
    return projections + attention + mlp + relativeTerms;
  };
  if (spec.numLayers === 0) return 2 * (2 * h * h);
  return (spec.numLayers - 1) * layer('tokens') + layer(lastLayer) + 2 * (2 * h * h);
}
