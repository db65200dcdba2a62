/**
 * A located checkpoint folder → a checked ModelSpec and its weights, ready for a graph builder.
 */
import { FileError, ModelConfigError, SafetensorsError } from '../errors.js';
import { checkWeightsAgainstSpec, expectedTensors, parseModelSpec } from './config.js';
import { readTextFile } from './files.js';
import type { LocatedModel } from './locate.js';
import { FLOAT_DTYPES, SafetensorsFile } from './safetensors.js';
import type { ModelSpec } from './spec.js';

export interface LoadedCheckpoint {
  readonly spec: ModelSpec;
  /** The weights; every name from expectedTensors(spec) finds its tensor, even when stored under an alias. */
  readonly weights: SafetensorsFile;
  readonly dir: string;
  readonly configPath: string;
  readonly weightsPath: string;
  readonly tokenizerPath: string;
}

/**
 * Reads config.json and model.safetensors and checks them against each other. Throws FileError,
 * ModelConfigError or SafetensorsError naming the file and the problem. An ONNX export has no
 * weights to load: callers run those directly (check `located.kind` first).
 */
export function loadCheckpoint(located: LocatedModel): LoadedCheckpoint {
  if (located.kind !== 'checkpoint') {
    throw new FileError(located.onnxPath, 'is an ONNX export, not a safetensors checkpoint: there are no weights to load', 'run it with the ONNX runtime as it is');
  }
  const { configPath, weightsPath } = located;
  const config = readConfigJson(configPath);
  // Header only: tensors are read when a graph builder asks, and F32 ones not at all when ONNX
  // Runtime reads them from the file itself (runtime/sessionForCheckpoint).
  const file = SafetensorsFile.open(weightsPath);
  const shapes = (name: string): readonly number[] | undefined => file.shape(name);
  const spec = parseModelSpec(config, shapes, configPath, weightsPath);
  const storedNames = checkWeightsAgainstSpec(spec, shapes, weightsPath);
  const weights = file.withAliases(storedNames);
  checkFloatWeights(spec, weights);
  return { spec, weights, dir: located.dir, configPath, weightsPath, tokenizerPath: located.tokenizerPath };
}

/** config.json parsed, or a clear error when it is missing or not JSON. */
export function readConfigJson(configPath: string): unknown {
  const text = readTextFile(configPath, 'a model folder needs the config.json from the model repository');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ModelConfigError(configPath, `is not valid JSON (${reason})`, 're-download config.json from the model repository');
  }
}

/** Weights must be floating point; an integer tensor under a weight's name means a broken export. */
function checkFloatWeights(spec: ModelSpec, weights: SafetensorsFile): void {
  for (const expected of expectedTensors(spec)) {
    const { dtype, name } = weights.info(expected.name);
    if (!(FLOAT_DTYPES as readonly string[]).includes(dtype)) {
      throw new SafetensorsError(
        weights.path,
        `tensor "${name}" has dtype ${dtype}, but model weights must be ${FLOAT_DTYPES.join(', ')}`,
        're-export the checkpoint in float32, float16 or bfloat16',
      );
    }
  }
}
