export {
  Reranker, defaultMaxLength, sigmoid,
  type BatchPlanOptions, type DocumentInput, type EncodedPair, type LoadOptions, type RerankOptions, type RerankResult, type RerankerInfo, type ScoreOptions,
} from './reranker.js';
export { defaultModelPath, TEST_MODEL_WARNING } from './default-model.js';
export { SCORE_CHUNK_LINES, formatScoreLines, parseJsonLine, parsePairLine, type ScorePair } from './score-lines.js';
