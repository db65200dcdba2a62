/**
 * The ONNX writer: Graph → ModelProto bytes, encoded with protobufjs's Writer.
 *
 * Field numbers follow onnx/onnx.proto (IR version 8, default-domain opset 17, which has
 * LayerNormalization). Intermediate values are named `v<id>`; inputs, outputs and
 * initializers keep their names, so a parameter is findable by its checkpoint name.
 */
import protobuf from 'protobufjs/minimal.js';
import { GraphError } from '../errors.js';
import { ONNX_DTYPE_CODE } from './builder.js';
import type { AttrValue, Graph, Initializer, Node, Value } from './ir.js';

const { Writer } = protobuf;
type ProtoWriter = protobuf.Writer;

export const ONNX_OPSET = 17;
const IR_VERSION = 8;

// wire types
const VARINT = 0;
const LEN = 2;
const FIXED32 = 5;

function tag(field: number, wire: number): number {
  return (field << 3) | wire;
}

export interface OnnxWriteOptions {
  /** Write parameters as graph inputs instead of initializers (training feeds them). */
  readonly parametersAsInputs?: boolean;
  readonly producer?: string;
  readonly docString?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export function toOnnx(graph: Graph, options: OnnxWriteOptions = {}): Uint8Array {
  const names = nameValues(graph);
  const w = Writer.create();
  w.uint32(tag(1, VARINT)).int64(IR_VERSION);
  w.uint32(tag(2, LEN)).string(options.producer ?? 'turborank');
  w.uint32(tag(3, LEN)).string('0.1.0');
  if (options.docString) w.uint32(tag(6, LEN)).string(options.docString);
  w.uint32(tag(7, LEN)).fork();
  writeGraph(w, graph, names, options);
  w.ldelim();
  w.uint32(tag(8, LEN)).fork(); // opset_import
  w.uint32(tag(1, LEN)).string('');
  w.uint32(tag(2, VARINT)).int64(ONNX_OPSET);
  w.ldelim();
  for (const domain of new Set(graph.nodes.flatMap((n) => (n.domain ? [n.domain] : [])))) {
    w.uint32(tag(8, LEN)).fork();
    w.uint32(tag(1, LEN)).string(domain);
    w.uint32(tag(2, VARINT)).int64(1); // ORT's contrib domain 'com.microsoft' has version 1
    w.ldelim();
  }
  for (const [key, value] of Object.entries(options.metadata ?? {})) {
    w.uint32(tag(14, LEN)).fork();
    w.uint32(tag(1, LEN)).string(key);
    w.uint32(tag(2, LEN)).string(value);
    w.ldelim();
  }
  return w.finish();
}

function nameValues(graph: Graph): Map<number, string> {
  const names = new Map<number, string>();
  for (const v of graph.inputs) names.set(v.id, v.name!);
  for (const init of graph.initializers) names.set(init.value.id, init.value.name!);
  // An output's producing node writes straight into the output's name.
  for (const out of graph.outputs) {
    if (names.has(out.value.id)) throw new GraphError(`output '${out.name}' is an input or initializer; outputs must be computed`);
    names.set(out.value.id, out.name);
  }
  // Intermediates get generated names that must not collide with a user's (an input called
  // "v6", say): skip any name already taken.
  const taken = new Set(names.values());
  for (const node of graph.nodes) {
    for (const v of node.outputs) {
      if (names.has(v.id)) continue;
      let name = `v${v.id}`;
      while (taken.has(name)) name = `_${name}`;
      taken.add(name);
      names.set(v.id, name);
    }
  }
  return names;
}

function writeGraph(w: ProtoWriter, graph: Graph, names: Map<number, string>, options: OnnxWriteOptions): void {
  const nameOf = (v: Value): string => {
    const name = names.get(v.id);
    if (name === undefined) throw new GraphError(`value ${v.id} is used but neither an input, an initializer nor computed by a node`);
    return name;
  };
  for (const node of graph.nodes) {
    w.uint32(tag(1, LEN)).fork();
    writeNode(w, node, nameOf);
    w.ldelim();
  }
  w.uint32(tag(2, LEN)).string('turborank');
  const asInputs = options.parametersAsInputs === true;
  for (const init of graph.initializers) {
    if (asInputs && init.kind === 'parameter') continue;
    w.uint32(tag(5, LEN)).fork();
    writeTensor(w, init);
    w.ldelim();
  }
  const inputs: Value[] = [...graph.inputs];
  if (asInputs) for (const init of graph.initializers) if (init.kind === 'parameter') inputs.push(init.value);
  for (const v of inputs) {
    w.uint32(tag(11, LEN)).fork();
    writeValueInfo(w, nameOf(v), v);
    w.ldelim();
  }
  for (const out of graph.outputs) {
    w.uint32(tag(12, LEN)).fork();
    writeValueInfo(w, out.name, out.value);
    w.ldelim();
  }
}

function writeNode(w: ProtoWriter, node: Node, nameOf: (v: Value) => string): void {
  for (const v of node.inputs) w.uint32(tag(1, LEN)).string(nameOf(v));
  for (const v of node.outputs) w.uint32(tag(2, LEN)).string(nameOf(v));
  w.uint32(tag(4, LEN)).string(node.op);
  if (node.domain) w.uint32(tag(7, LEN)).string(node.domain);
  for (const [name, value] of Object.entries(node.attrs)) {
    w.uint32(tag(5, LEN)).fork();
    writeAttribute(w, name, value);
    w.ldelim();
  }
}

// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

function writeAttribute(w: ProtoWriter, name: string, value: AttrValue): void {
  w.uint32(tag(1, LEN)).string(name);
  if (typeof value === 'number') {
    w.uint32(tag(3, VARINT)).int64(value);
    w.uint32(tag(20, VARINT)).int32(ATTR_INT);
  } else if (typeof value === 'string') {
    w.uint32(tag(4, LEN)).bytes(Buffer.from(value, 'utf8'));
    w.uint32(tag(20, VARINT)).int32(ATTR_STRING);
  } else if (Array.isArray(value)) {
    for (const i of value as readonly number[]) w.uint32(tag(8, VARINT)).int64(i);
    w.uint32(tag(20, VARINT)).int32(ATTR_INTS);
  } else {
    w.uint32(tag(2, FIXED32)).float((value as { float: number }).float);
    w.uint32(tag(20, VARINT)).int32(ATTR_FLOAT);
  }
}

function writeTensor(w: ProtoWriter, init: Initializer): void {
  for (const d of init.value.shape) w.uint32(tag(1, VARINT)).int64(d as number);
  w.uint32(tag(2, VARINT)).int32(ONNX_DTYPE_CODE[init.value.dtype]);
  w.uint32(tag(8, LEN)).string(init.value.name!);
  if ('external' in init) {
    const { location, offset, length } = init.external;
    for (const [key, value] of [['location', location], ['offset', String(offset)], ['length', String(length)]] as const) {
      w.uint32(tag(13, LEN)).fork(); // external_data: StringStringEntryProto
      w.uint32(tag(1, LEN)).string(key);
      w.uint32(tag(2, LEN)).string(value);
      w.ldelim();
    }
    w.uint32(tag(14, VARINT)).int32(DATA_LOCATION_EXTERNAL);
    return;
  }
  const data = init.data;
  // raw_data is little-endian, which is every platform Node runs on.
  w.uint32(tag(9, LEN)).bytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** TensorProto.DataLocation: the bytes are in a file named by external_data. */
const DATA_LOCATION_EXTERNAL = 1;

function writeValueInfo(w: ProtoWriter, name: string, v: Value): void {
  w.uint32(tag(1, LEN)).string(name);
  w.uint32(tag(2, LEN)).fork(); // TypeProto
  w.uint32(tag(1, LEN)).fork(); // TypeProto.Tensor
  w.uint32(tag(1, VARINT)).int32(ONNX_DTYPE_CODE[v.dtype]);
  w.uint32(tag(2, LEN)).fork(); // TensorShapeProto
  for (const d of v.shape) {
    w.uint32(tag(1, LEN)).fork();
    if (typeof d === 'number') w.uint32(tag(1, VARINT)).int64(d);
    else w.uint32(tag(2, LEN)).string(d);
    w.ldelim();
  }
  w.ldelim();
  w.ldelim();
  w.ldelim();
}
