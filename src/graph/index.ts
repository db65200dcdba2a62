export * from './ir.js';
export { GraphBuilder, ONNX_DTYPE_CODE } from './builder.js';
export { toOnnx, ONNX_OPSET, type OnnxWriteOptions } from './onnx.js';
export { backward, unbroadcast } from './autodiff.js';
