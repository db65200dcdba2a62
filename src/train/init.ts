/**
 * Initial values for parameters a run creates (a new model, or a new head on a pre-trained
 * encoder), as BERT initialises them: N(0, 0.02) for matrices and embeddings, ones for
 * LayerNorm scales, zeros for biases. Seeded by the run's seed and the tensor's name, so the
 * same config always starts from the same weights.
 */
import { seededRandom } from './data.js';

export const INITIALIZER_RANGE = 0.02;

export interface InitOptions {
  /** Key weights of each attention layer start equal to its query weights, both N(0, std²). */
  readonly tiedQueryKeyStd?: number;
}

const QUERY_OR_KEY = /attention\.self\.(query|key)\.weight$/;

export function initialWeight(name: string, shape: readonly number[], seed: number, options: InitOptions = {}): Float32Array {
  const size = shape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(size);
  if (/(layernorm|LayerNorm)\.(weight|gamma)$/.test(name)) return out.fill(1);
  if (name.endsWith('.bias') || name.endsWith('.beta')) return out;
  const tied = options.tiedQueryKeyStd !== undefined && QUERY_OR_KEY.test(name);
  // a key draws the stream of its layer's query, so the two come out equal
  const random = seededRandom(seed ^ hashName(tied ? name.replace(/\.key\.weight$/, '.query.weight') : name));
  const range = tied ? options.tiedQueryKeyStd! : INITIALIZER_RANGE;
  for (let i = 0; i < size; i += 2) {
    // Box–Muller: two independent normals from two uniforms.
    const u = Math.max(random(), 1e-12);
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u)) * range;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < size) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** FNV-1a, to give each tensor its own stream. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
