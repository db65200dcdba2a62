/** turborank's public API: the Reranker, and the typed errors it throws. */
export {
  Reranker, defaultMaxLength, sigmoid, defaultModelPath, shippedModelPath, SHIPPED_MODELS, DEFAULT_MODEL,
  type ShippedModel,
  type DocumentInput, type LoadOptions, type RerankOptions, type RerankResult, type RerankerInfo, type ScoreOptions,
} from './rerank/index.js';
export * from './errors.js';
export type { ModelSpec, Architecture } from './checkpoint/spec.js';
