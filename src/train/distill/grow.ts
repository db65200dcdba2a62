/**
 * Growing the teacher deeper by progressive stacking (Gong et al. 2019, "Efficient Training of
 * BERT by Progressively Stacking"): a trained L-layer encoder becomes a (times × L)-layer one
 * whose layers L…2L−1 (and so on) start as copies of layers 0…L−1. Embeddings, pooler and
 * head are kept once. The stacked model does not compute the same function (each layer now
 * sees another layer's output), but it starts far closer to a good model than new weights do.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../../errors.js';
import { readSafetensors, writeSafetensors } from '../../checkpoint/safetensors.js';
import { copyTokenizerFiles } from '../checkpoints.js';

const LAYER = /\.layers?\.(\d+)\./;

/** Writes the stacked checkpoint of `from` into `dir` (replacing it); returns its layer count. */
export function stackTeacher(from: string, times: number, dir: string): number {
  if (!Number.isInteger(times) || times < 2) throw new InputError(`stacking ${times} times`, 'teacher.grow.times must be an integer of at least 2');
  const config = JSON.parse(fs.readFileSync(path.join(from, 'config.json'), 'utf8')) as Record<string, unknown>;
  const layers = config.num_hidden_layers;
  if (typeof layers !== 'number' || !Number.isInteger(layers) || layers < 1) {
    throw new InputError(`${from}/config.json: no num_hidden_layers`, 'grow a teacher checkpoint written by `turborank train`');
  }
  const weights = readSafetensors(path.join(from, 'model.safetensors'));
  const tensors: { name: string; dtype: 'F32'; shape: number[]; data: Float32Array }[] = [];
  const seen = new Set<number>();
  for (const name of weights.names()) {
    const shape = [...weights.shape(name)!];
    const data = weights.float32(name);
    tensors.push({ name, dtype: 'F32', shape, data });
    const m = LAYER.exec(name);
    if (m === null) continue;
    const layer = Number(m[1]);
    if (layer >= layers) throw new InputError(`${from}: tensor ${name} is in layer ${layer}, but config.json says ${layers} layers`, 'the checkpoint and its config.json disagree: use the folder `turborank train` wrote');
    seen.add(layer);
    for (let k = 1; k < times; k++) {
      tensors.push({ name: name.replace(m[0], m[0].replace(m[1]!, String(layer + k * layers))), dtype: 'F32', shape, data: Float32Array.from(data) });
    }
  }
  if (seen.size !== layers) throw new InputError(`${from}: weights for ${seen.size} of the ${layers} layers config.json names`, 'the checkpoint and its config.json disagree: use the folder `turborank train` wrote');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt', producer: 'turborank distill grow' });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: layers * times }, null, 2) + '\n');
  copyTokenizerFiles(from, dir);
  return layers * times;
}
