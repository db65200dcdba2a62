/** tokenizer.json → (query, document) token ids → padded int64 batches for ONNX Runtime. */
export { PairTokenizer, type QueryDocumentPair } from './pair-tokenizer.js';
export { packBatch, type EncodedPair, type TokenBatch } from './batch.js';
export type { TokenizerKind } from './tokenizer-json.js';
export { benchmarkTokenizer, type TokenizerBenchmark } from './bench.js';
