/**
 * A loaded checkpoint → an inference session, without copying its weights through JavaScript:
 * the graph names each F32 tensor by its place in model.safetensors (ONNX external data) and
 * ONNX Runtime reads it from there. Only F16/BF16 tensors, which need widening to float32, are
 * read by us. A 1.1 GB checkpoint then costs about its own size in memory, not three times it
 * (file buffer + serialised model + ORT's copy).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LoadedCheckpoint } from '../checkpoint/index.js';
import type { ExternalData } from '../graph/index.js';
import { buildCrossEncoder } from '../models/index.js';
import { CrossEncoderSession, type RuntimeOptions } from './session.js';

export async function sessionForCheckpoint(checkpoint: LoadedCheckpoint, options: RuntimeOptions = {}): Promise<CrossEncoderSession> {
  // ORT refuses external data that resolves outside the folder it is given, and the Hugging Face
  // cache's model.safetensors is a symlink into ../../blobs: name the file where it really is.
  const real = fs.realpathSync(checkpoint.weightsPath);
  const externalWeights = (name: string): ExternalData | undefined => {
    const where = checkpoint.weights.location(name);
    return where && { location: path.basename(real), offset: where.offset, length: where.length };
  };
  const graph = buildCrossEncoder(checkpoint.spec, (name) => checkpoint.weights.float32(name), { externalWeights });
  return CrossEncoderSession.fromGraph(graph, checkpoint.dir, options, path.dirname(real));
}
