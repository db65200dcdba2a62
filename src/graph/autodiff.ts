/**
 * Reverse-mode automatic differentiation on the graph IR.
 *
 * `backward` walks the builder's nodes in reverse and, for each node between the parameters
 * and the loss, emits its vector-Jacobian product as ordinary graph ops (one rule per op in
 * `VJP_RULES`), so the gradient graph is plain ONNX and runs on stock ONNX Runtime.
 */
import { GraphError } from '../errors.js';
import type { GraphBuilder } from './builder.js';
import { shapeToString, type Dim, type Node, type OpType, type Shape, type Value } from './ir.js';

/** Gradients of each input of `node`, given the gradients of its outputs (undefined: zero). */
type VjpRule = (g: GraphBuilder, node: Node, dOutputs: readonly (Value | undefined)[], needs: readonly boolean[]) => (Value | undefined)[];

/**
 * Emits d(loss)/d(x) for every x in `wrt` and returns them by value id. `loss` may have any
 * shape; its seed gradient is ones (so a non-scalar loss is implicitly summed).
 */
export function backward(g: GraphBuilder, loss: Value, wrt: readonly Value[]): Map<number, Value> {
  const nodes = [...g.nodeList];
  const requires = dependsOn(nodes, wrt);
  if (!requires.has(loss.id)) throw new GraphError('backward: the loss does not depend on any of the given values');
  const grads = new Map<number, Value>();
  grads.set(loss.id, g.expand(g.scalar(1, loss.dtype), g.shapeOf(loss), loss.shape));

  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    const dOutputs = node.outputs.map((o) => grads.get(o.id));
    if (dOutputs.every((d) => d === undefined)) continue;
    const needs = node.inputs.map((v) => requires.has(v.id));
    if (!needs.some(Boolean)) continue;
    const rule = VJP_RULES[node.op];
    if (!rule) throw new GraphError(`backward: ${node.op} is not differentiable, but it lies between the parameters and the loss`);
    rule(g, node, dOutputs, needs).forEach((d, k) => {
      const input = node.inputs[k]!;
      if (!d || !needs[k]) return;
      checkSameShape(node.op, input, d);
      const previous = grads.get(input.id);
      grads.set(input.id, previous ? g.add(previous, d) : d);
    });
  }
  const result = new Map<number, Value>();
  for (const v of wrt) result.set(v.id, grads.get(v.id) ?? g.zerosLike(v));
  return result;
}

/** Ids of every value computed from one of `sources` (the sources included). */
function dependsOn(nodes: readonly Node[], sources: readonly Value[]): Set<number> {
  const ids = new Set(sources.map((v) => v.id));
  for (const node of nodes) {
    // Only float values carry gradients: a Shape, comparison or index computed from a parameter does not.
    if (node.inputs.some((v) => ids.has(v.id))) for (const o of node.outputs) if (o.dtype.startsWith('float')) ids.add(o.id);
  }
  return ids;
}

function checkSameShape(op: OpType, input: Value, grad: Value): void {
  const same = input.shape.length === grad.shape.length && input.shape.every((d, i) => d === grad.shape[i]);
  if (!same) throw new GraphError(`backward: ${op} gave a gradient of shape ${shapeToString(grad.shape)} for an input of shape ${shapeToString(input.shape)}`);
}

// ── helpers ─────────────────────────────────────────────────────────────────

/** Sums a broadcast gradient back down to the shape of the input that was broadcast. */
export function unbroadcast(g: GraphBuilder, grad: Value, target: Shape): Value {
  const leading = grad.shape.length - target.length;
  if (leading < 0) throw new GraphError(`unbroadcast: gradient ${shapeToString(grad.shape)} has lower rank than ${shapeToString(target)}`);
  const kept: number[] = [];
  target.forEach((d, i) => {
    if (d === 1 && grad.shape[leading + i] !== 1) kept.push(leading + i);
  });
  let out = grad;
  if (kept.length > 0) out = g.reduceSum(out, kept, true);
  if (leading > 0) out = g.reduceSum(out, Array.from({ length: leading }, (_, i) => i), false);
  return out;
}

function swapLastTwo(g: GraphBuilder, x: Value): Value {
  const r = x.shape.length;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return g.transpose(x, perm);
}

function scalarLike(g: GraphBuilder, v: number, like: Value): Value {
  return g.scalar(v, like.dtype);
}

function one(node: Node, k: number): Value {
  return node.inputs[k]!;
}

function out0(node: Node): Value {
  return node.outputs[0]!;
}

function only(d: readonly (Value | undefined)[]): Value {
  return d[0]!;
}

/** Reshape a gradient to the run-time shape of the value it belongs to. */
function reshapeLike(g: GraphBuilder, grad: Value, like: Value): Value {
  return g.reshapeTo(grad, g.shapeOf(like), like.shape);
}

// ── the rules ───────────────────────────────────────────────────────────────

const elementwise = (f: (g: GraphBuilder, x: Value, y: Value, dy: Value) => Value): VjpRule =>
  (g, node, d) => [f(g, one(node, 0), out0(node), only(d))];

const VJP_RULES: Partial<Record<OpType, VjpRule>> = {
  Add: (g, n, d) => [unbroadcast(g, only(d), one(n, 0).shape), unbroadcast(g, only(d), one(n, 1).shape)],
  Sub: (g, n, d) => [unbroadcast(g, only(d), one(n, 0).shape), unbroadcast(g, g.neg(only(d)), one(n, 1).shape)],
  Mul: (g, n, d, needs) => [
    needs[0] ? unbroadcast(g, g.mul(only(d), one(n, 1)), one(n, 0).shape) : undefined,
    needs[1] ? unbroadcast(g, g.mul(only(d), one(n, 0)), one(n, 1).shape) : undefined,
  ],
  Div: (g, n, d, needs) => [
    needs[0] ? unbroadcast(g, g.div(only(d), one(n, 1)), one(n, 0).shape) : undefined,
    // d(a/b)/db = −a/b² = −y/b
    needs[1] ? unbroadcast(g, g.neg(g.div(g.mul(only(d), out0(n)), one(n, 1))), one(n, 1).shape) : undefined,
  ],
  Pow: (g, n, d, needs) => {
    const [a, b, y, dy] = [one(n, 0), one(n, 1), out0(n), only(d)];
    return [
      needs[0] ? unbroadcast(g, g.mul(dy, g.mul(b, g.pow(a, g.sub(b, scalarLike(g, 1, b))))), a.shape) : undefined,
      needs[1] ? unbroadcast(g, g.mul(dy, g.mul(y, g.log(a))), b.shape) : undefined,
    ];
  },
  Neg: elementwise((g, _x, _y, dy) => g.neg(dy)),
  Abs: elementwise((g, x, _y, dy) => g.where(g.greater(x, scalarLike(g, 0, x)), dy, g.neg(dy))),
  Sqrt: elementwise((g, _x, y, dy) => g.div(dy, g.mul(y, scalarLike(g, 2, y)))),
  Erf: elementwise((g, x, _y, dy) => g.mul(dy, g.mul(g.exp(g.neg(g.mul(x, x))), scalarLike(g, 2 / Math.sqrt(Math.PI), x)))),
  Tanh: elementwise((g, _x, y, dy) => g.mul(dy, g.sub(scalarLike(g, 1, y), g.mul(y, y)))),
  Sigmoid: elementwise((g, _x, y, dy) => g.mul(dy, g.mul(y, g.sub(scalarLike(g, 1, y), y)))),
  Relu: elementwise((g, x, _y, dy) => g.mul(dy, g.cast(g.greater(x, scalarLike(g, 0, x)), dy.dtype))),
  Exp: elementwise((g, _x, y, dy) => g.mul(dy, y)),
  Log: elementwise((g, x, _y, dy) => g.div(dy, x)),

  MatMul: (g, n, d, needs) => {
    const [a, b, dy] = [one(n, 0), one(n, 1), only(d)];
    return [
      needs[0] ? unbroadcast(g, g.matmul(dy, swapLastTwo(g, b)), a.shape) : undefined,
      needs[1] ? unbroadcast(g, g.matmul(swapLastTwo(g, a), dy), b.shape) : undefined,
    ];
  },

  Softmax: (g, n, d) => {
    const [y, dy] = [out0(n), only(d)];
    const axis = n.attrs.axis as number;
    return [g.mul(y, g.sub(dy, g.reduceSum(g.mul(dy, y), [axis], true)))];
  },

  LogSoftmax: (g, n, d) => {
    const [y, dy] = [out0(n), only(d)];
    const axis = n.attrs.axis as number;
    return [g.sub(dy, g.mul(g.exp(y), g.reduceSum(dy, [axis], true)))];
  },

  Dropout: (g, n, d) => {
    const [x, ratio, dy] = [one(n, 0), one(n, 1), only(d)];
    const keep = g.cast(n.outputs[1]!, x.dtype);
    return [g.div(g.mul(dy, keep), g.sub(scalarLike(g, 1, ratio), ratio))];
  },

  LayerNormalization: (g, n, d, needs) => {
    const [x, scale, dy] = [one(n, 0), one(n, 1), only(d)];
    const eps = (n.attrs.epsilon as { float: number }).float;
    // Recompute the normalised input: x̂ = (x − μ)/σ, σ = √(var + ε).
    const centred = g.sub(x, g.reduceMean(x, [-1], true));
    const inv = g.div(scalarLike(g, 1, x), g.sqrt(g.add(g.reduceMean(g.mul(centred, centred), [-1], true), scalarLike(g, eps, x))));
    const xHat = g.mul(centred, inv);
    const dxHat = g.mul(dy, scale);
    const dx = g.mul(inv, g.sub(g.sub(dxHat, g.reduceMean(dxHat, [-1], true)), g.mul(xHat, g.reduceMean(g.mul(dxHat, xHat), [-1], true))));
    return [
      needs[0] ? dx : undefined,
      needs[1] ? unbroadcast(g, g.mul(dy, xHat), scale.shape) : undefined,
      needs[2] ? unbroadcast(g, dy, one(n, 2).shape) : undefined,
    ];
  },

  Gather: (g, n, d) => {
    const [table, indices, dy] = [one(n, 0), one(n, 1), only(d)];
    const axis = n.attrs.axis as number;
    if (indices.shape.length === 0) {
      // One slice picked: the gradient is dy placed at that index, zeros elsewhere.
      const positions = g.range(g.dimOf(table, axis), table.shape[axis]!);
      const hit = g.cast(g.equal(positions, indices), dy.dtype);
      const otherAxes = table.shape.map((_, i) => i).filter((i) => i !== axis);
      return [g.mul(g.unsqueeze(dy, [axis]), g.unsqueeze(hit, otherAxes))];
    }
    if (axis === 0) return [g.scatterAdd(g.zerosLike(table), g.unsqueeze(indices, [-1]), dy)];
    // Along another axis (DeBERTa's relative-position gathers): bring that axis to the front of
    // the table and the index dims to the front of dy, scatter-add rows there, and move back.
    const rank = table.shape.length;
    const tableToFront = [axis, ...range(0, axis), ...range(axis + 1, rank)];
    const indexRank = indices.shape.length;
    const dyToFront = [...range(axis, axis + indexRank), ...range(0, axis), ...range(axis + indexRank, dy.shape.length)];
    const front = g.scatterAdd(g.zerosLike(g.transpose(table, tableToFront)), g.unsqueeze(indices, [-1]), g.transpose(dy, dyToFront));
    return [g.transpose(front, tableToFront.map((_, i) => tableToFront.indexOf(i)))];
  },

  // y_k = Σ_{j≤k} x_j, so dx_j = Σ_{k≥j} dy_k: the running sum taken from the other end.
  CumSum: (g, n, d) => [g.cumsum(only(d), cumsumAxis(g, n), n.attrs.reverse !== 1)],

  Transpose: (g, n, d) => {
    const perm = n.attrs.perm as readonly number[];
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [g.transpose(only(d), inverse)];
  },
  Reshape: (g, n, d) => [reshapeLike(g, only(d), one(n, 0))],
  Unsqueeze: (g, n, d) => [reshapeLike(g, only(d), one(n, 0))],
  Expand: (g, n, d) => [unbroadcast(g, only(d), one(n, 0).shape)],
  Cast: (g, n, d) => [g.cast(only(d), one(n, 0).dtype)],

  Split: (g, n, d) => {
    const axis = n.attrs.axis as number;
    const pieces = n.outputs.map((o, k) => d[k] ?? g.zerosLike(o));
    return [g.concat(pieces, axis)];
  },

  ReduceSum: (g, n, d) => [spreadReduced(g, one(n, 0), only(d), reducedAxes(g, n), n.attrs.keepdims === 1)],
  ReduceMean: (g, n, d) => {
    const x = one(n, 0);
    const axes = reducedAxes(g, n);
    const spread = spreadReduced(g, x, only(d), axes, n.attrs.keepdims === 1);
    const count = g.reduceSum(g.expand(scalarLike(g, 1, x), g.shapeOf(x), x.shape), axes, true);
    return [g.div(spread, count)];
  },

  Where: (g, n, d, needs) => {
    const [cond, a, b, dy] = [one(n, 0), one(n, 1), one(n, 2), only(d)];
    const zeros = g.zerosLike(dy);
    return [
      undefined,
      needs[1] ? unbroadcast(g, g.where(cond, dy, zeros), a.shape) : undefined,
      needs[2] ? unbroadcast(g, g.where(cond, zeros, dy), b.shape) : undefined,
    ];
  },
};

/** CumSum's axis, a constant int64 scalar input. */
function cumsumAxis(g: GraphBuilder, n: Node): number {
  const axis = g.initializerOf(n.inputs[1]!);
  if (!axis || !('data' in axis) || !(axis.data instanceof BigInt64Array)) throw new GraphError('backward: CumSum needs a constant axis');
  return Number(axis.data[0]);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/** The axes a reduce node summed over: ReduceMean keeps them as an attribute, ReduceSum as a constant input. */
function reducedAxes(g: GraphBuilder, n: Node): number[] {
  const attr = n.attrs.axes as readonly number[] | undefined;
  if (attr) return [...attr];
  const axes = n.inputs[1] ? g.initializerOf(n.inputs[1]) : undefined;
  if (!axes || !('data' in axes) || !(axes.data instanceof BigInt64Array)) throw new GraphError(`backward: ${n.op} needs constant axes`);
  return Array.from(axes.data, Number);
}

/** dy of a reduction, broadcast back over the reduced axes to x's shape. */
function spreadReduced(g: GraphBuilder, x: Value, dy: Value, axes: readonly number[], keepdims: boolean): Value {
  const kept = keepdims ? dy : g.unsqueeze(dy, axes);
  return g.expand(kept, g.shapeOf(x), x.shape as Dim[]);
}
