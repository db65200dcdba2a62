/**
 * AdamW (Loshchilov & Hutter) with decoupled weight decay, as an ONNX graph over every
 * parameter at once, so the update runs on ONNX Runtime's threads like the rest of training:
 *
 *   g ← g·scale                      (1/accumulation steps × global-norm clipping)
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²
 *   p ← p − lr·( (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε) + λ·p )      λ = 0 for biases and LayerNorms
 */
import ort from 'onnxruntime-node';
import { GraphBuilder, toOnnx } from '../graph/index.js';

export interface AdamWOptions {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWOptions = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 };

/** Biases and LayerNorm scales are not decayed (BERT's and Hugging Face's convention). */
export function decays(name: string): boolean {
  return !(name.endsWith('.bias') || /layernorm|LayerNorm/.test(name));
}

export interface StepScalars {
  readonly learningRate: number;
  /** 1-based step number, for the bias corrections. */
  readonly step: number;
  /** Multiplies every gradient first (1/accumulation × clipping factor). */
  readonly gradientScale: number;
}

export class AdamW {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly options: AdamWOptions,
    private readonly parameters: readonly { name: string; shape: readonly number[] }[],
  ) {}

  static async create(parameters: readonly { name: string; shape: readonly number[] }[], options: AdamWOptions, threads: number): Promise<AdamW> {
    const g = new GraphBuilder();
    const scalar = (name: string): ReturnType<GraphBuilder['input']> => g.input(name, 'float32', []);
    const lr = scalar('lr');
    const correction1 = scalar('correction1');
    const correction2 = scalar('correction2');
    const scale = scalar('scale');
    const c = (v: number): ReturnType<GraphBuilder['scalar']> => g.scalar(v);
    for (const [i, p] of parameters.entries()) {
      const value = g.input(`p${i}`, 'float32', p.shape);
      const grad = g.mul(g.input(`g${i}`, 'float32', p.shape), scale);
      const m = g.add(g.mul(g.input(`m${i}`, 'float32', p.shape), c(options.beta1)), g.mul(grad, c(1 - options.beta1)));
      const v = g.add(g.mul(g.input(`v${i}`, 'float32', p.shape), c(options.beta2)), g.mul(g.mul(grad, grad), c(1 - options.beta2)));
      let update = g.div(g.div(m, correction1), g.add(g.sqrt(g.div(v, correction2)), c(options.epsilon)));
      if (decays(p.name) && options.weightDecay > 0) update = g.add(update, g.mul(value, c(options.weightDecay)));
      g.output(`p${i}_next`, g.sub(value, g.mul(update, lr)));
      g.output(`m${i}_next`, m);
      g.output(`v${i}_next`, v);
    }
    const session = await ort.InferenceSession.create(toOnnx(g.build()), { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    return new AdamW(session, options, parameters);
  }

  /** One update; returns the new parameters and moments (fresh arrays from ORT). */
  async step(params: readonly Float32Array[], grads: readonly Float32Array[], m: readonly Float32Array[], v: readonly Float32Array[], s: StepScalars): Promise<{ params: Float32Array[]; m: Float32Array[]; v: Float32Array[] }> {
    const feeds: Record<string, ort.Tensor> = {
      lr: new ort.Tensor('float32', Float32Array.of(s.learningRate), []),
      correction1: new ort.Tensor('float32', Float32Array.of(1 - this.options.beta1 ** s.step), []),
      correction2: new ort.Tensor('float32', Float32Array.of(1 - this.options.beta2 ** s.step), []),
      scale: new ort.Tensor('float32', Float32Array.of(s.gradientScale), []),
    };
    this.parameters.forEach((p, i) => {
      const dims = [...p.shape];
      feeds[`p${i}`] = new ort.Tensor('float32', params[i]!, dims);
      feeds[`g${i}`] = new ort.Tensor('float32', grads[i]!, dims);
      feeds[`m${i}`] = new ort.Tensor('float32', m[i]!, dims);
      feeds[`v${i}`] = new ort.Tensor('float32', v[i]!, dims);
    });
    const out = await this.session.run(feeds);
    const take = (kind: string): Float32Array[] => this.parameters.map((_, i) => out[`${kind}${i}_next`]!.data as Float32Array);
    return { params: take('p'), m: take('m'), v: take('v') };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** Warm-up from 0 to the peak rate, then linear or cosine decay to 0 at the last step. */
export function learningRate(step: number, peak: number, warmupSteps: number, totalSteps: number, decay: 'linear' | 'cosine' | 'constant'): number {
  if (warmupSteps > 0 && step <= warmupSteps) return (peak * step) / warmupSteps;
  if (decay === 'constant') return peak;
  const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
  return decay === 'linear' ? peak * (1 - progress) : peak * 0.5 * (1 + Math.cos(Math.PI * progress));
}
