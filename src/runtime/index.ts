export { CrossEncoderSession, defaultThreads, type RuntimeOptions } from './session.js';
export { sessionForCheckpoint } from './checkpoint-session.js';
export { planBatches, paddingFraction, DEFAULT_BATCH_PLAN, type BatchPlanOptions } from './batching.js';
