/**
 * Training objectives, written as graph ops on the model's outputs so that `backward` derives
 * their gradients like any other part of the graph. Each loss declares the extra inputs it
 * needs (labels, teacher scores) and returns a scalar.
 */
import type { GraphBuilder, Value } from '../graph/index.js';

export type LossName = 'bce' | 'mse' | 'margin-mse' | 'listwise-kl' | 'listwise-ce' | 'mlm';

export const LOSS_NAMES: readonly LossName[] = ['bce', 'mse', 'margin-mse', 'listwise-kl', 'listwise-ce', 'mlm'];

/** log(1 + eˣ) without overflow: max(x, 0) + log(1 + e^−|x|). */
function softplus(g: GraphBuilder, x: Value): Value {
  return g.add(g.relu(x), g.log(g.add(g.scalar(1, x.dtype), g.exp(g.neg(g.abs(x))))));
}

function mean(g: GraphBuilder, x: Value): Value {
  return g.reduceMean(x, x.shape.map((_, i) => i), false);
}

/**
 * The target reshaped to the prediction's run-time shape: symbolic dims of inputs and computed
 * values differ in name, and ORT checks at run time that the element counts agree.
 */
function like(g: GraphBuilder, target: Value, prediction: Value): Value {
  return g.reshapeTo(target, g.shapeOf(prediction), prediction.shape);
}

/** One relevance logit per pair: the classifier's single output, as [pairs]. */
function relevance(g: GraphBuilder, logits: Value): Value {
  return g.reshape(logits, [-1]);
}

/**
 * Pointwise binary cross-entropy on 0/1 labels [pairs]: mean(softplus(s) − y·s), which is
 * −y·log σ(s) − (1 − y)·log(1 − σ(s)) rearranged to stay finite for large |s|.
 */
export function binaryCrossEntropy(g: GraphBuilder, logits: Value, labels: Value): Value {
  const s = relevance(g, logits);
  return mean(g, g.sub(softplus(g, s), g.mul(like(g, labels, s), s)));
}

/** Mean squared error between student and teacher logits [pairs]. */
export function teacherMse(g: GraphBuilder, logits: Value, teacher: Value): Value {
  const s = relevance(g, logits);
  const diff = g.sub(s, like(g, teacher, s));
  return mean(g, g.mul(diff, diff));
}

/**
 * Margin-MSE (Hofstätter et al., 2020): pairs come as (positive, negative) rows in order; the
 * student's margin s⁺ − s⁻ is regressed onto the teacher's margin [pairs/2].
 */
export function marginMse(g: GraphBuilder, logits: Value, teacherMargin: Value): Value {
  const paired = g.reshape(logits, [-1, 2]);
  const sign = g.constant(`margin_sign_${paired.id}`, logits.dtype, [2, 1], logits.dtype === 'float64' ? Float64Array.from([1, -1]) : Float32Array.from([1, -1]));
  const margin = g.reshape(g.matmul(paired, sign), [-1]);
  const diff = g.sub(margin, like(g, teacherMargin, margin));
  return mean(g, g.mul(diff, diff));
}

/**
 * Listwise distillation over a query's candidate list: logits arrive as [queries·k] in list
 * order, teacher scores as [queries, k]; both are softened by the temperature τ. 'kl' is
 * KL(p_teacher ‖ p_student); 'ce' is the cross-entropy −Σ p_teacher log p_student (same gradient,
 * differs by the teacher's entropy). Multiplied by τ² as Hinton et al. do, so gradient scale
 * does not shrink with the temperature.
 */
export function listwise(g: GraphBuilder, logits: Value, teacher: Value, listSize: number, temperature: number, kind: 'kl' | 'ce'): Value {
  const t = g.scalar(temperature, logits.dtype);
  const student = g.logSoftmax(g.div(g.reshape(logits, [-1, listSize]), t), -1);
  const teacherLog = g.logSoftmax(g.div(like(g, teacher, student), t), -1);
  const teacherP = g.exp(teacherLog);
  const perElement = kind === 'kl' ? g.mul(teacherP, g.sub(teacherLog, student)) : g.neg(g.mul(teacherP, student));
  const perQuery = g.reduceSum(perElement, [1], false);
  return g.mul(mean(g, perQuery), g.scalar(temperature * temperature, logits.dtype));
}

/**
 * Masked-LM cross-entropy over vocabulary logits [tokens, vocab] and labels [tokens] (the
 * original id at masked positions, −100 elsewhere, as Hugging Face does), averaged over
 * the masked positions.
 */
export function maskedLanguageModel(g: GraphBuilder, vocabLogits: Value, labels: Value, vocabSize: number): Value {
  const logProbs = g.logSoftmax(vocabLogits, -1);
  labels = g.reshapeTo(labels, g.dimsOf(vocabLogits, [0]), [vocabLogits.shape[0]!]);
  const vocab = g.range(g.dimOf(vocabLogits, 1), vocabSize);
  const oneHot = g.cast(g.equal(g.unsqueeze(labels, [1]), g.unsqueeze(vocab, [0])), vocabLogits.dtype);
  const picked = g.reduceSum(g.mul(logProbs, oneHot), [1], false);
  const masked = g.cast(g.greater(labels, g.scalar(-1, 'int64')), vocabLogits.dtype);
  const count = g.add(g.reduceSum(masked, [0], false), g.scalar(1e-9, vocabLogits.dtype));
  return g.div(g.neg(g.reduceSum(g.mul(picked, masked), [0], false)), count);
}
