/**
 * The graph IR: typed values flowing between a deliberately small set of ops.
 *
 * Every op here maps to one ONNX operator, so the writer is a straight walk; every op
 * also gets exactly one vector-Jacobian rule when autodiff lands, which is why the set
 * stays small (tinygrad's lesson). Composite layers (Linear, GELU, attention) live in
 * `models/layers.ts` and are built from these.
 *
 * Shapes are checked when a node is added: a dim is a number or a symbol ('batch',
 * 'seq'), and two dims agree only if they are equal or one broadcasts (is 1).
 */
import { GraphError } from '../errors.js';

export type DType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';
export type Dim = number | string;
export type Shape = readonly Dim[];

export interface Value {
  readonly id: number;
  readonly dtype: DType;
  readonly shape: Shape;
  /** Set for graph inputs, parameters and constants; intermediates are named by the writer. */
  readonly name?: string;
}

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

/**
 * Where an initializer's bytes already lie in a file (ONNX external data): little-endian, packed,
 * `length` bytes from `offset`. ONNX Runtime reads them itself, so a checkpoint's weights need not
 * pass through JavaScript memory, nor be copied into the model bytes.
 */
export interface ExternalData {
  /** File name, relative to the folder the runtime is told external data lives in. */
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

/** A value whose contents are known when the graph is built: weights and constants, in memory or in a file. */
export type Initializer = {
  readonly value: Value;
  /** Parameters are what training updates; constants never change. */
  readonly kind: 'parameter' | 'constant';
} & ({ readonly data: TensorData } | { readonly external: ExternalData });

export type AttrValue = number | string | readonly number[] | { readonly float: number };

export interface Node {
  readonly op: OpType;
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
  /** Operator set the op comes from: the default ONNX domain unless set (e.g. 'com.microsoft' for ORT's contrib ops). */
  readonly domain?: string;
}

/** The op set. Adding one means: a builder method, a writer case (usually none), and a VJP rule. */
export type OpType =
  | 'Add' | 'Sub' | 'Mul' | 'Div' | 'Neg' | 'Abs' | 'Sqrt' | 'Pow'
  | 'Erf' | 'Tanh' | 'Sigmoid' | 'Relu' | 'Exp' | 'Log'
  | 'MatMul' | 'Softmax' | 'LayerNormalization'
  | 'Gather' | 'Transpose' | 'Reshape' | 'Split' | 'Unsqueeze' | 'Concat'
  | 'Shape' | 'Range' | 'Cast' | 'ReduceMean' | 'ReduceSum' | 'Where' | 'Equal' | 'Greater'
  | 'Expand' | 'ScatterElements' | 'Dropout' | 'LogSoftmax' | 'CumSum'
  // Integer inference only (runtime/quantize.ts rewrites float MatMuls into these; no VJP rules):
  | 'DynamicQuantizeLinear' | 'MatMulInteger' | 'DynamicQuantizeMatMul';

export interface Graph {
  readonly inputs: readonly Value[];
  readonly outputs: readonly { readonly name: string; readonly value: Value }[];
  readonly nodes: readonly Node[];
  readonly initializers: readonly Initializer[];
}

export function shapeToString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Numpy-style broadcast of two shapes, or a GraphError naming both. */
export function broadcastShapes(a: Shape, b: Shape, op: string): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)]!;
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)]!;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else throw new GraphError(`${op}: shapes ${shapeToString(a)} and ${shapeToString(b)} do not broadcast`);
  }
  return out;
}

export function numElements(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') throw new GraphError(`numElements: symbolic dim '${d}' in ${shapeToString(shape)}`);
    n *= d;
  }
  return n;
}
