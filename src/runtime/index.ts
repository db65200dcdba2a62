export { CrossEncoderSession, defaultThreads, type RuntimeOptions } from './session.js';
export { sessionForCheckpoint } from './checkpoint-session.js';
export { planBatches, paddingFraction, DEFAULT_BATCH_PLAN, DEFAULT_BATCH_OVERHEAD_TOKENS, type BatchPlanOptions } from './batching.js';
export { quantizeGraph, quantizeColumns, PRECISIONS, type Precision, type QuantizeOptions, type QuantizedGraph } from './quantize.js';
