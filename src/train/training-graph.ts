/**
 * The training graph: model + head + loss, with its gradients from `backward`. Parameters are
 * graph inputs (the trainer owns their values), and the graph outputs the loss, the squared
 * global gradient norm (for clipping) and one gradient per parameter.
 */
import type { ModelSpec } from '../checkpoint/spec.js';
import { GraphBuilder, backward, toOnnx, type Value } from '../graph/index.js';
import { encoder, maskedLanguageModelLogits, type DropoutOptions, type WeightLookup } from '../models/index.js';
import { poolerClassifier } from '../models/layers.js';
import { binaryCrossEntropy, listwise, marginMse, maskedLanguageModel, teacherMse, type LossName } from './losses.js';

export type LossConfig =
  | { readonly name: 'bce' | 'mse' | 'margin-mse' | 'mlm' }
  | { readonly name: 'listwise-kl' | 'listwise-ce'; readonly listSize: number; readonly temperature: number };

/** What a batch must carry besides token ids for a loss, as the graph input it feeds. */
export interface TargetInput {
  readonly name: 'labels' | 'teacher' | 'teacher_margin';
  readonly dtype: 'float32' | 'int64';
  /** Rank of the target: [pairs], [pairs/2], [queries, k] or [tokens]. */
  readonly rank: 1 | 2;
}

export interface TrainingGraph {
  readonly onnx: Uint8Array;
  /** Parameter names and shapes, in the order of the gradient outputs. */
  readonly parameters: readonly { readonly name: string; readonly shape: readonly number[] }[];
  readonly target: TargetInput;
  /** Forward FLOPs are not counted here; see bench/random-model.ts. */
  readonly loss: LossName;
}

export const GRADIENT_PREFIX = 'grad:';

export function targetFor(loss: LossConfig): TargetInput {
  switch (loss.name) {
    case 'bce': return { name: 'labels', dtype: 'float32', rank: 1 };
    case 'mse': return { name: 'teacher', dtype: 'float32', rank: 1 };
    case 'margin-mse': return { name: 'teacher_margin', dtype: 'float32', rank: 1 };
    case 'listwise-kl':
    case 'listwise-ce': return { name: 'teacher', dtype: 'float32', rank: 2 };
    case 'mlm': return { name: 'labels', dtype: 'int64', rank: 1 };
  }
}

/** Adds model, head and loss to `g`; returns the scalar loss. */
export function addLoss(g: GraphBuilder, spec: ModelSpec, weights: WeightLookup, loss: LossConfig, dropout?: DropoutOptions): Value {
  // The cross-encoder losses read the first token alone, so its last layer computes only that row
  // ('first-token', not folded: every checkpoint weight must stay a parameter, the key bias too).
  const enc = encoder(g, spec, weights, { dropout, lastLayer: loss.name === 'mlm' ? 'every-row' : 'first-token' });
  const target = targetFor(loss);
  const shape = target.rank === 2 ? ['queries', 'list'] : ['targets'];
  const t = g.input(target.name, target.dtype, shape);
  switch (loss.name) {
    case 'mlm': return maskedLanguageModel(g, maskedLanguageModelLogits(g, enc, spec), t, spec.vocabSize);
    case 'bce': return binaryCrossEntropy(g, poolerClassifier(g, enc, spec), t);
    case 'mse': return teacherMse(g, poolerClassifier(g, enc, spec), t);
    case 'margin-mse': return marginMse(g, poolerClassifier(g, enc, spec), t);
    case 'listwise-kl':
    case 'listwise-ce':
      return listwise(g, poolerClassifier(g, enc, spec), t, loss.listSize, loss.temperature, loss.name === 'listwise-kl' ? 'kl' : 'ce');
  }
}

export function buildTrainingGraph(spec: ModelSpec, weights: WeightLookup, loss: LossConfig, dropout?: DropoutOptions): TrainingGraph {
  const g = new GraphBuilder();
  const lossValue = addLoss(g, spec, weights, loss, dropout);
  const params = g.parameters();
  const grads = backward(g, lossValue, params);
  g.output('loss', lossValue);
  let normSquared: Value | undefined;
  for (const p of params) {
    const grad = grads.get(p.id)!;
    g.output(GRADIENT_PREFIX + p.name!, grad);
    const sq = g.reduceSum(g.mul(grad, grad), p.shape.map((_, i) => i), false);
    normSquared = normSquared ? g.add(normSquared, sq) : sq;
  }
  g.output('grad_norm_squared', normSquared!);
  return {
    onnx: toOnnx(g.build(), { parametersAsInputs: true }),
    parameters: params.map((p) => ({ name: p.name!, shape: p.shape as number[] })),
    target: targetFor(loss),
    loss: loss.name,
  };
}
