export {
  Reranker, defaultMaxLength, sigmoid,
  type BatchPlanOptions, type DocumentInput, type EncodedPair, type LoadOptions, type RerankOptions, type RerankResult, type RerankerInfo, type ScoreOptions,
} from './reranker.js';
export { defaultModelPath, shippedModelPath, testModelPath, namesTestModel, DEFAULT_MODEL, DEFAULT_MODEL_NAME, DEFAULT_MODEL_NOTE, SHIPPED_MODELS, TEST_MODEL_WARNING, type ShippedModel } from './default-model.js';
export { SCORE_CHUNK_LINES, formatScoreLines, parseJsonLine, parsePairLine, type ScorePair } from './score-lines.js';
