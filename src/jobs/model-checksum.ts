/**
 * A model's identity for the queue: SHA-256 over its files (config.json, the weights or the
 * ONNX graph and its external data, tokenizer.json), each named by role. Two workers with
 * the same checksum give the same scores; a worker whose files differ from the submitter's
 * refuses the shards (see shard-worker.ts). The file names themselves are not hashed, so the
 * same model in another folder (or in the Hugging Face cache) has the same checksum.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { locateModel, type LocatedModel } from '../checkpoint/index.js';
import { FileError } from '../errors.js';

export interface ModelChecksum {
  /** Hex SHA-256. */
  readonly checksum: string;
  readonly files: readonly string[];
}

export async function modelChecksum(model: string, env: NodeJS.ProcessEnv = process.env): Promise<ModelChecksum> {
  const files = modelFiles(locateModel(model, env));
  const whole = createHash('sha256');
  for (const { role, path } of files) {
    whole.update(`${role}\0${await fileSha256(path)}\n`);
  }
  return { checksum: whole.digest('hex'), files: files.map((f) => f.path) };
}

function modelFiles(located: LocatedModel): { role: string; path: string }[] {
  if (located.kind === 'checkpoint') {
    return [
      { role: 'config', path: located.configPath },
      { role: 'weights', path: located.weightsPath },
      { role: 'tokenizer', path: located.tokenizerPath },
    ];
  }
  const files = [{ role: 'onnx', path: located.onnxPath }];
  // Large exports keep their weights beside the graph (model.onnx_data or model.onnx.data).
  for (const data of [`${located.onnxPath}_data`, `${located.onnxPath}.data`]) {
    if (fs.existsSync(data)) files.push({ role: 'onnx-data', path: data });
  }
  if (located.configPath !== undefined && fs.existsSync(located.configPath)) files.push({ role: 'config', path: located.configPath });
  files.push({ role: 'tokenizer', path: located.tokenizerPath });
  return files;
}

function fileSha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    fs.createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', (err) => reject(new FileError(file, err.message, 'check that the model files are readable', { cause: err })))
      .on('end', () => resolve(hash.digest('hex')));
  });
}
