/**
 * Gradient checking: analytic gradients from `backward`, run by ONNX Runtime, against central
 * finite differences of the same graph's loss.
 */
import ort from 'onnxruntime-node';
import { GraphBuilder, backward, toOnnx, type Value } from '../../src/graph/index.js';

export interface GradCheckCase {
  readonly g: GraphBuilder;
  readonly loss: Value;
  /** Parameters to check; their data comes from the builder's initializers. */
  readonly params: readonly Value[];
  /** Non-parameter inputs. */
  readonly feeds?: Record<string, ort.Tensor>;
}

export interface GradCheckOptions {
  readonly eps: number;
  /** Most elements checked per parameter (chosen spread out, deterministically). */
  readonly samplesPerParam?: number;
  /** |analytic − numeric| / max(|analytic|, |numeric|, floor) must stay below this. */
  readonly relTolerance: number;
  /** Gradients smaller than this are compared absolutely (relative error is meaningless near 0). */
  readonly floor: number;
  /** Elements worth checking first (e.g. embedding rows actually used), per parameter name. */
  readonly preferred?: Record<string, readonly number[]>;
}

export interface GradCheckReport {
  readonly checked: number;
  readonly worst: { name: string; index: number; analytic: number; numeric: number; error: number };
}

type FloatArray = Float32Array | Float64Array;

export async function gradCheck(c: GradCheckCase, options: GradCheckOptions): Promise<GradCheckReport> {
  const grads = backward(c.g, c.loss, c.params);
  c.g.output('loss', c.loss);
  c.params.forEach((p, i) => c.g.output(`grad_${i}`, grads.get(p.id)!));
  const session = await ort.InferenceSession.create(toOnnx(c.g.build(), { parametersAsInputs: true }), { graphOptimizationLevel: 'basic', intraOpNumThreads: 1 });
  const base: Record<string, FloatArray> = {};
  for (const p of c.params) {
    const init = c.g.initializerOf(p);
    if (!init || !('data' in init)) throw new Error(`gradCheck: parameter ${p.name} has no in-memory data`);
    base[p.name!] = init.data as FloatArray;
  }
  const run = async (values: Record<string, FloatArray>): Promise<ort.InferenceSession.ReturnType> => {
    const feeds: Record<string, ort.Tensor> = { ...(c.feeds ?? {}) };
    for (const p of c.params) {
      const data = values[p.name!]!;
      feeds[p.name!] = new ort.Tensor(data instanceof Float64Array ? 'float64' : 'float32', data, p.shape as number[]);
    }
    return session.run(feeds);
  };
  const analytic = await run(base);
  let worst = { name: '', index: -1, analytic: 0, numeric: 0, error: -1 };
  let checked = 0;
  for (const [i, p] of c.params.entries()) {
    const data = base[p.name!]!;
    const g = analytic[`grad_${i}`]!.data as FloatArray;
    for (const index of sampleIndices(data.length, options.samplesPerParam ?? 8, options.preferred?.[p.name!])) {
      const numeric = await centralDifference(run, base, p.name!, index, options.eps);
      const a = g[index]!;
      const error = Math.abs(a - numeric) / Math.max(Math.abs(a), Math.abs(numeric), options.floor);
      checked++;
      if (error > worst.error) worst = { name: p.name!, index, analytic: a, numeric, error };
    }
  }
  await session.release();
  return { checked, worst };
}

async function centralDifference(
  run: (values: Record<string, FloatArray>) => Promise<ort.InferenceSession.ReturnType>,
  base: Record<string, FloatArray>, name: string, index: number, eps: number,
): Promise<number> {
  const lossAt = async (delta: number): Promise<number> => {
    const copy = base[name]!.slice();
    copy[index] = copy[index]! + delta;
    const out = await run({ ...base, [name]: copy });
    return Number((out.loss!.data as FloatArray)[0]);
  };
  return ((await lossAt(eps)) - (await lossAt(-eps))) / (2 * eps);
}

/** The preferred indices first, then evenly spread ones, `count` in all (or every index of a small tensor). */
function sampleIndices(length: number, count: number, preferred: readonly number[] = []): number[] {
  const picked = new Set(preferred.slice(0, count));
  const spread = Math.max(1, count - picked.size);
  for (let k = 0; k < spread && picked.size < Math.min(count, length); k++) picked.add(Math.floor(((k + 0.5) * length) / spread));
  return [...picked];
}

/** Deterministic pseudo-random numbers in [-1, 1). */
export function randomArray(n: number, seed: number, dtype: 'float32' | 'float64' = 'float64'): FloatArray {
  let a = seed >>> 0;
  const out = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}
