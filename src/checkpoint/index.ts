/** checkpoint/: read what users have on disk. */
export type { Architecture, FeedForwardType, HiddenAct, ModelSpec } from './spec.js';
export { SUPPORTED_ARCHITECTURES, countParameters } from './spec.js';
export {
  DTYPE_SIZES,
  FLOAT_DTYPES,
  MAX_HEADER_BYTES,
  SafetensorsFile,
  encodeSafetensors,
  formatShape,
  readSafetensors,
  writeSafetensors,
} from './safetensors.js';
export type { Dtype, FloatDtype, TensorInfo, TensorLocation, TensorToWrite } from './safetensors.js';
export { bf16ToNumber, f16ToNumber, numberToBf16, numberToF16 } from './float16.js';
export { checkWeightsAgainstSpec, expectedTensors, parseModelSpec } from './config.js';
export type { ExpectedTensor, TensorShapes } from './config.js';
export { hubCacheDir, hubRepoDir, locateInDirectory, locateModel, parseHubName, resolveHubSnapshot } from './locate.js';
export type { CheckpointLocation, HubReference, LocatedModel, OnnxLocation } from './locate.js';
export { loadCheckpoint, readConfigJson } from './load.js';
export type { LoadedCheckpoint } from './load.js';
export { specToConfigJson } from './config-writer.js';
