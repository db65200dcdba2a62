/**
 * GraphBuilder: adds typed, shape-checked nodes to a graph. One method per op in
 * `ir.ts`; each checks its inputs and works out the output's dtype and shape.
 */
import { GraphError } from '../errors.js';
import {
  broadcastShapes,
  numElements,
  shapeToString,
  type AttrValue,
  type Dim,
  type DType,
  type ExternalData,
  type Graph,
  type Initializer,
  type Node,
  type OpType,
  type Shape,
  type TensorData,
  type Value,
} from './ir.js';

const FLOAT_TYPES: ReadonlySet<DType> = new Set(['float32', 'float16', 'float64']);
/** The types ONNX Runtime's CPU CumSum kernel takes. */
const CUMSUM_TYPES: ReadonlySet<DType> = new Set(['int32', 'int64', 'float32', 'float64']);

function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new GraphError(`${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

export class GraphBuilder {
  private nextId = 0;
  private readonly inputs: Value[] = [];
  private readonly outputs: { name: string; value: Value }[] = [];
  private readonly nodes: Node[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly names = new Set<string>();

  /** The nodes so far, in the order added (a topological order): autodiff walks them backwards. */
  get nodeList(): readonly Node[] {
    return this.nodes;
  }

  /** The trainable parameters added so far, in order. */
  parameters(): Value[] {
    return this.initializers.filter((i) => i.kind === 'parameter').map((i) => i.value);
  }

  /** The data of a parameter or constant, or undefined for computed values. */
  initializerOf(v: Value): Initializer | undefined {
    return this.initializers.find((init) => init.value.id === v.id);
  }

  build(): Graph {
    if (this.outputs.length === 0) throw new GraphError('graph has no outputs');
    return { inputs: [...this.inputs], outputs: [...this.outputs], nodes: [...this.nodes], initializers: [...this.initializers] };
  }

  // ── leaves ────────────────────────────────────────────────────────────────

  input(name: string, dtype: DType, shape: Shape): Value {
    const v = this.named(name, dtype, shape);
    this.inputs.push(v);
    return v;
  }

  /** A trainable weight, stored in the checkpoint's own layout and name; float64 for gradient checks. */
  parameter(name: string, shape: Shape, data: Float32Array | Float64Array): Value {
    return this.initializer(name, data instanceof Float64Array ? 'float64' : 'float32', shape, data, 'parameter');
  }

  /** A float32 weight whose bytes ONNX Runtime reads from a file (see ExternalData). */
  parameterInFile(name: string, shape: Shape, external: ExternalData): Value {
    const bytes = numElements(shape) * 4;
    if (external.length !== bytes) throw new GraphError(`parameter '${name}': ${external.length} bytes in ${external.location} for float32 ${shapeToString(shape)} (${bytes})`);
    const value = this.named(name, 'float32', shape);
    this.initializers.push({ value, external, kind: 'parameter' });
    return value;
  }

  constant(name: string, dtype: DType, shape: Shape, data: TensorData): Value {
    return this.initializer(name, dtype, shape, data, 'constant');
  }

  scalar(value: number, dtype: DType = 'float32'): Value {
    return this.constant(this.freshName(`const_${dtype}`), dtype, [], typedArrayOf(dtype, [value]));
  }

  int64s(values: readonly number[]): Value {
    return this.constant(this.freshName('const_i64'), 'int64', [values.length], BigInt64Array.from(values, (v) => BigInt(v)));
  }

  output(name: string, value: Value): void {
    if (this.outputs.some((o) => o.name === name)) throw new GraphError(`duplicate output '${name}'`);
    this.outputs.push({ name, value });
  }

  // ── elementwise ───────────────────────────────────────────────────────────

  add(a: Value, b: Value): Value { return this.binary('Add', a, b); }
  sub(a: Value, b: Value): Value { return this.binary('Sub', a, b); }
  mul(a: Value, b: Value): Value { return this.binary('Mul', a, b); }
  div(a: Value, b: Value): Value { return this.binary('Div', a, b); }
  pow(a: Value, b: Value): Value { return this.binary('Pow', a, b); }
  neg(x: Value): Value { return this.unary('Neg', x); }
  abs(x: Value): Value { return this.unary('Abs', x); }
  sqrt(x: Value): Value { return this.unaryFloat('Sqrt', x); }
  erf(x: Value): Value { return this.unaryFloat('Erf', x); }
  tanh(x: Value): Value { return this.unaryFloat('Tanh', x); }
  sigmoid(x: Value): Value { return this.unaryFloat('Sigmoid', x); }
  relu(x: Value): Value { return this.unaryFloat('Relu', x); }
  exp(x: Value): Value { return this.unaryFloat('Exp', x); }
  log(x: Value): Value { return this.unaryFloat('Log', x); }

  equal(a: Value, b: Value): Value {
    this.sameDtype('Equal', a, b);
    return this.node('Equal', [a, b], {}, 'bool', broadcastShapes(a.shape, b.shape, 'Equal'));
  }

  greater(a: Value, b: Value): Value {
    this.sameDtype('Greater', a, b);
    return this.node('Greater', [a, b], {}, 'bool', broadcastShapes(a.shape, b.shape, 'Greater'));
  }

  /** Broadcasts `x` to a shape computed at run time (an int64 vector); `shape` documents it. */
  expand(x: Value, target: Value, shape: Shape): Value {
    if (target.dtype !== 'int64' || target.shape.length !== 1) throw new GraphError(`Expand: target must be an int64 vector, got ${target.dtype}${shapeToString(target.shape)}`);
    broadcastShapes(x.shape, shape, 'Expand');
    return this.node('Expand', [x, target], {}, x.dtype, shape);
  }

  /** zeros with the run-time shape of `like`. */
  zerosLike(like: Value): Value {
    return this.expand(this.scalar(0, like.dtype), this.shapeOf(like), like.shape);
  }

  /**
   * data with `updates` added at `indices`: indices [..., 1] pick rows of data [V, ...rest],
   * updates are [..., ...rest], and repeated rows accumulate. The gradient of an embedding lookup.
   *
   * Written as ScatterElements (axis 0, reduction 'add') on the index dims flattened, not as
   * ScatterND: ONNX Runtime's CPU ScatterND splits the updates across its threads, and two
   * threads adding into the same row race, so with 2+ threads repeated rows (the token types,
   * [CLS], frequent word pieces) lost updates, differently on each run (the two token-type rows
   * about half). ScatterElements adds its updates one after another.
   */
  scatterAdd(data: Value, indices: Value, updates: Value): Value {
    if (indices.dtype !== 'int64') throw new GraphError(`scatterAdd: indices must be int64, got ${indices.dtype}`);
    if (indices.shape[indices.shape.length - 1] !== 1) throw new GraphError(`scatterAdd: indices must end in a dim of 1, got ${shapeToString(indices.shape)}`);
    this.sameDtype('scatterAdd', data, updates);
    const rest = data.shape.slice(1);
    const indexDims = indices.shape.slice(0, -1);
    if (updates.shape.length !== indexDims.length + rest.length) {
      throw new GraphError(`scatterAdd: updates ${shapeToString(updates.shape)} must be the index dims ${shapeToString(indexDims)} then data's ${shapeToString(rest)}`);
    }
    const n: Dim = indexDims.every((d) => typeof d === 'number') ? (indexDims as number[]).reduce((a, b) => a * b, 1) : indexDims.join('*');
    // updates as [n, ...rest]; the rest dims are read from data at run time (they may be symbolic)
    const restDims = rest.length === 0 ? undefined : this.gather(this.shapeOf(data), this.int64s(rest.map((_, i) => i + 1)), 0);
    const target = restDims === undefined ? this.int64s([-1]) : this.concat([this.int64s([-1]), restDims], 0);
    const flatUpdates = this.node('Reshape', [updates, target], {}, updates.dtype, [n, ...rest]);
    // each update's row index, repeated along its row
    const flatIndices = this.node('Reshape', [indices, this.int64s([-1, ...rest.map(() => 1)])], {}, 'int64', [n, ...rest.map(() => 1)]);
    const rowIndices = rest.length === 0 ? flatIndices : this.expand(flatIndices, this.shapeOf(flatUpdates), flatUpdates.shape);
    return this.node('ScatterElements', [data, rowIndices, flatUpdates], { axis: 0, reduction: 'add' }, data.dtype, data.shape);
  }

  where(cond: Value, a: Value, b: Value): Value {
    if (cond.dtype !== 'bool') throw new GraphError(`Where: condition must be bool, got ${cond.dtype}`);
    this.sameDtype('Where', a, b);
    const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape, 'Where'), b.shape, 'Where');
    return this.node('Where', [cond, a, b], {}, a.dtype, shape);
  }

  /**
   * Running sum along `axis` (ONNX CumSum): [a, b, c] → [a, a+b, a+b+c], or from the end when
   * `reverse`. Added for RoBERTa's position ids, a cumulative count of non-padding tokens: one
   * O(seq) op that is exact in int64, where a MatMul against a triangular [seq, seq] matrix would
   * build and multiply an O(seq²) mask per batch.
   */
  cumsum(x: Value, axis: number, reverse = false): Value {
    const a = normAxis(axis, x.shape.length, 'CumSum');
    if (!CUMSUM_TYPES.has(x.dtype)) throw new GraphError(`CumSum: needs int32, int64, float32 or float64, got ${x.dtype}`);
    return this.node('CumSum', [x, this.scalar(a, 'int64')], reverse ? { reverse: 1 } : {}, x.dtype, x.shape);
  }

  cast(x: Value, to: DType): Value {
    return this.node('Cast', [x], { to: ONNX_DTYPE_CODE[to] }, to, x.shape);
  }

  // ── linear algebra and normalisation ──────────────────────────────────────

  /** Batched matrix product with numpy semantics: [..., m, k] × [..., k, n]. */
  matmul(a: Value, b: Value): Value {
    this.sameDtype('MatMul', a, b);
    if (a.shape.length < 2 || b.shape.length < 2) throw new GraphError(`MatMul: need rank ≥ 2, got ${shapeToString(a.shape)} × ${shapeToString(b.shape)}`);
    const [m, k1] = a.shape.slice(-2) as [Dim, Dim];
    const [k2, n] = b.shape.slice(-2) as [Dim, Dim];
    if (k1 !== k2) throw new GraphError(`MatMul: inner dims differ: ${shapeToString(a.shape)} × ${shapeToString(b.shape)}`);
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'MatMul');
    return this.node('MatMul', [a, b], {}, a.dtype, [...batch, m, n]);
  }

  softmax(x: Value, axis = -1): Value {
    normAxis(axis, x.shape.length, 'Softmax');
    return this.node('Softmax', [this.requireFloat('Softmax', x)], { axis }, x.dtype, x.shape);
  }

  /** log(softmax(x)) along `axis`, computed stably (no log of an underflowed 0). */
  logSoftmax(x: Value, axis = -1): Value {
    normAxis(axis, x.shape.length, 'LogSoftmax');
    return this.node('LogSoftmax', [this.requireFloat('LogSoftmax', x)], { axis }, x.dtype, x.shape);
  }

  /**
   * Training-mode dropout: zeroes each element with probability `ratio` and scales the rest by
   * 1/(1 − ratio). ONNX Runtime draws the mask from a generator seeded by `seed`; the mask is the
   * node's second output, which the backward rule reuses.
   */
  dropout(x: Value, ratio: number, seed: number): Value {
    if (!(ratio > 0 && ratio < 1)) throw new GraphError(`Dropout: ratio must be in (0, 1), got ${ratio}`);
    const y = this.fresh(x.dtype, x.shape);
    const mask = this.fresh('bool', x.shape);
    const inputs = [this.requireFloat('Dropout', x), this.scalar(ratio, x.dtype), this.constant(this.freshName('training'), 'bool', [], Uint8Array.from([1]))];
    this.nodes.push({ op: 'Dropout', inputs, outputs: [y, mask], attrs: { seed } });
    return y;
  }

  /** LayerNorm over the last axis with learned scale and shift. */
  layerNorm(x: Value, scale: Value, bias: Value, epsilon: number): Value {
    const last = x.shape[x.shape.length - 1];
    for (const p of [scale, bias]) {
      if (p.shape.length !== 1 || p.shape[0] !== last) {
        throw new GraphError(`LayerNormalization: parameter ${shapeToString(p.shape)} does not match last dim of ${shapeToString(x.shape)}`);
      }
    }
    return this.node('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: { float: epsilon } }, x.dtype, x.shape);
  }

  reduceMean(x: Value, axes: readonly number[], keepdims = true): Value {
    // Until opset 18, ReduceMean takes its axes as an attribute (ReduceSum has an input since 13).
    const norm = axes.map((a) => normAxis(a, x.shape.length, 'ReduceMean'));
    const shape = x.shape.flatMap((d, i) => (norm.includes(i) ? (keepdims ? [1] : []) : [d]));
    return this.node('ReduceMean', [x], { axes: norm, keepdims: keepdims ? 1 : 0 }, x.dtype, shape);
  }

  reduceSum(x: Value, axes: readonly number[], keepdims = true): Value {
    return this.reduce('ReduceSum', x, axes, keepdims);
  }

  // ── indexing and layout ───────────────────────────────────────────────────

  /** Rows of `table` picked by `indices` along `axis` (embedding lookup with axis 0). */
  gather(table: Value, indices: Value, axis = 0): Value {
    if (indices.dtype !== 'int64' && indices.dtype !== 'int32') throw new GraphError(`Gather: indices must be integer, got ${indices.dtype}`);
    const a = normAxis(axis, table.shape.length, 'Gather');
    const shape = [...table.shape.slice(0, a), ...indices.shape, ...table.shape.slice(a + 1)];
    return this.node('Gather', [table, indices], { axis: a }, table.dtype, shape);
  }

  transpose(x: Value, perm: readonly number[]): Value {
    if (perm.length !== x.shape.length || [...perm].sort().some((p, i) => p !== i)) {
      throw new GraphError(`Transpose: perm [${perm.join(',')}] is not a permutation of rank ${x.shape.length}`);
    }
    return this.node('Transpose', [x], { perm }, x.dtype, perm.map((p) => x.shape[p]!));
  }

  /**
   * Reshape with ONNX's conventions: 0 copies the input dim at that position, -1 is inferred.
   * The target may also carry symbols (e.g. 'batch') for documentation; they are written as 0
   * and must match the input dim at the same position.
   */
  reshape(x: Value, target: readonly Dim[]): Value {
    const written: number[] = [];
    const shape: Dim[] = [];
    target.forEach((d, i) => {
      if (typeof d === 'string' || d === 0) {
        const src = x.shape[i];
        if (src === undefined || (typeof d === 'string' && src !== d)) {
          throw new GraphError(`Reshape: target dim ${i} ('${d}') does not match input ${shapeToString(x.shape)}`);
        }
        written.push(0);
        shape.push(src);
      } else {
        written.push(d);
        shape.push(d);
      }
    });
    const inferred = shape.indexOf(-1);
    if (inferred >= 0) {
      const known = shape.filter((d, i) => i !== inferred);
      const inNumeric = x.shape.filter((d) => typeof d === 'number') as number[];
      const inSymbols = x.shape.filter((d) => typeof d === 'string');
      const outSymbols = known.filter((d) => typeof d === 'string');
      const leftover = inSymbols.filter((s) => !outSymbols.includes(s));
      const numerator = inNumeric.reduce((p, d) => p * d, 1);
      const denominator = (known.filter((d) => typeof d === 'number') as number[]).reduce((p, d) => p * d, 1);
      if (leftover.length === 0) {
        if (numerator % denominator !== 0) throw new GraphError(`Reshape: cannot infer -1 for ${shapeToString(x.shape)} → [${target.join(',')}]`);
        shape[inferred] = numerator / denominator;
      } else {
        const factor = numerator / denominator;
        shape[inferred] = factor === 1 ? leftover.join('*') : `${leftover.join('*')}*${factor}`;
      }
    }
    const allStatic = (dims: readonly Dim[]): boolean => dims.every((d) => typeof d === 'number');
    if (allStatic(x.shape) && allStatic(shape) && numElements(x.shape) !== numElements(shape)) {
      throw new GraphError(`Reshape: ${shapeToString(x.shape)} has ${numElements(x.shape)} elements, [${target.join(',')}] needs ${numElements(shape)}`);
    }
    return this.node('Reshape', [x, this.int64s(written)], {}, x.dtype, shape);
  }

  /**
   * Reshape to a shape computed at run time (an int64 vector), e.g. the batch's own
   * [batch, seq] joined with constant dims. `shape` documents the result for later checks.
   */
  reshapeTo(x: Value, target: Value, shape: Shape): Value {
    if (target.dtype !== 'int64' || target.shape.length !== 1 || target.shape[0] !== shape.length) {
      throw new GraphError(`Reshape: target must be an int64 vector of ${shape.length} dims, got ${target.dtype}${shapeToString(target.shape)}`);
    }
    return this.node('Reshape', [x, target], {}, x.dtype, shape);
  }

  /** Splits `x` along `axis` into pieces of the given sizes. */
  split(x: Value, sizes: readonly number[], axis = -1): Value[] {
    const a = normAxis(axis, x.shape.length, 'Split');
    const total = sizes.reduce((p, s) => p + s, 0);
    if (x.shape[a] !== total) throw new GraphError(`Split: sizes [${sizes.join(',')}] do not add up to dim ${a} of ${shapeToString(x.shape)}`);
    const outs = sizes.map((s) => this.fresh(x.dtype, x.shape.map((d, i) => (i === a ? s : d))));
    this.nodes.push({ op: 'Split', inputs: [x, this.int64s(sizes)], outputs: outs, attrs: { axis: a } });
    return outs;
  }

  unsqueeze(x: Value, axes: readonly number[]): Value {
    const rank = x.shape.length + axes.length;
    const norm = axes.map((a) => normAxis(a, rank, 'Unsqueeze')).sort((p, q) => p - q);
    const shape: Dim[] = [];
    let src = 0;
    for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[src++]!);
    return this.node('Unsqueeze', [x, this.int64s(norm)], {}, x.dtype, shape);
  }

  concat(xs: readonly Value[], axis: number): Value {
    const first = xs[0];
    if (!first) throw new GraphError('Concat: no inputs');
    const a = normAxis(axis, first.shape.length, 'Concat');
    let sum: Dim = 0;
    for (const x of xs) {
      this.sameDtype('Concat', first, x);
      const d = x.shape[a]!;
      sum = typeof sum === 'number' && typeof d === 'number' ? sum + d : `${sum}+${d}`;
    }
    return this.node('Concat', xs, { axis: a }, first.dtype, first.shape.map((d, i) => (i === a ? sum : d)));
  }

  /** The runtime shape of `x` as an int64 vector. */
  shapeOf(x: Value): Value {
    return this.node('Shape', [x], {}, 'int64', [x.shape.length]);
  }

  /** 0, 1, …, n−1 where `n` is an int64 scalar computed at run time; `dim` names the length. */
  range(n: Value, dim: Dim): Value {
    if (n.dtype !== 'int64' || n.shape.length !== 0) throw new GraphError(`Range: limit must be an int64 scalar, got ${n.dtype}${shapeToString(n.shape)}`);
    return this.node('Range', [this.scalar(0, 'int64'), n, this.scalar(1, 'int64')], {}, 'int64', [dim]);
  }

  /** The run-time sizes of some dims of `x`, as an int64 vector. */
  dimsOf(x: Value, axes: readonly number[]): Value {
    return this.gather(this.shapeOf(x), this.int64s(axes.map((a) => normAxis(a, x.shape.length, 'dimsOf'))));
  }

  /** The runtime size of dim `axis` of `x`, as an int64 scalar. */
  dimOf(x: Value, axis: number): Value {
    return this.gather(this.shapeOf(x), this.scalar(normAxis(axis, x.shape.length, 'dimOf'), 'int64'));
  }

  // ── internals ─────────────────────────────────────────────────────────────

  private initializer(name: string, dtype: DType, shape: Shape, data: TensorData, kind: Initializer['kind']): Value {
    const n = numElements(shape);
    if (data.length !== n) throw new GraphError(`${kind} '${name}': ${data.length} values for shape ${shapeToString(shape)} (${n})`);
    const value = this.named(name, dtype, shape);
    this.initializers.push({ value, data, kind });
    return value;
  }

  private named(name: string, dtype: DType, shape: Shape): Value {
    if (this.names.has(name)) throw new GraphError(`duplicate name '${name}'`);
    this.names.add(name);
    return { id: this.nextId++, dtype, shape: [...shape], name };
  }

  private freshName(stem: string): string {
    return `${stem}_${this.nextId}`;
  }

  private fresh(dtype: DType, shape: Shape): Value {
    return { id: this.nextId++, dtype, shape: [...shape] };
  }

  private node(op: OpType, inputs: readonly Value[], attrs: Record<string, AttrValue>, dtype: DType, shape: Shape): Value {
    const out = this.fresh(dtype, shape);
    this.nodes.push({ op, inputs: [...inputs], outputs: [out], attrs });
    return out;
  }

  private binary(op: OpType, a: Value, b: Value): Value {
    this.sameDtype(op, a, b);
    return this.node(op, [a, b], {}, a.dtype, broadcastShapes(a.shape, b.shape, op));
  }

  private unary(op: OpType, x: Value): Value {
    return this.node(op, [x], {}, x.dtype, x.shape);
  }

  private unaryFloat(op: OpType, x: Value): Value {
    return this.unary(op, this.requireFloat(op, x));
  }

  private reduce(op: 'ReduceSum', x: Value, axes: readonly number[], keepdims: boolean): Value {
    const norm = axes.map((a) => normAxis(a, x.shape.length, op));
    const shape = x.shape.flatMap((d, i) => (norm.includes(i) ? (keepdims ? [1] : []) : [d]));
    return this.node(op, [x, this.int64s(norm)], { keepdims: keepdims ? 1 : 0 }, x.dtype, shape);
  }

  private requireFloat(op: string, x: Value): Value {
    if (!FLOAT_TYPES.has(x.dtype)) throw new GraphError(`${op}: needs a float tensor, got ${x.dtype}`);
    return x;
  }

  private sameDtype(op: string, a: Value, b: Value): void {
    if (a.dtype !== b.dtype) throw new GraphError(`${op}: dtypes differ (${a.dtype} vs ${b.dtype})`);
  }
}

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE_CODE: Readonly<Record<DType, number>> = {
  float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11,
};

function typedArrayOf(dtype: DType, values: readonly number[]): TensorData {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'float64': return Float64Array.from(values);
    case 'int64': return BigInt64Array.from(values, (v) => BigInt(v));
    case 'int32': return Int32Array.from(values);
    case 'int8': return Int8Array.from(values);
    case 'uint8': case 'bool': return Uint8Array.from(values);
    case 'float16': throw new GraphError('float16 scalars are not supported; build them in float32 and Cast');
  }
}
