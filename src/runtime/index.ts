export { CrossEncoderSession, defaultThreads, type RuntimeOptions } from './session.js';
export { planBatches, paddingFraction, DEFAULT_BATCH_PLAN, type BatchPlanOptions } from './batching.js';
