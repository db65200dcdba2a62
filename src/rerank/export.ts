/**
 * `turborank export`: a checkpoint → a Hugging Face-style ONNX folder that other runtimes load
 * as they load any Hub ONNX export (transformers.js: AutoTokenizer and
 * AutoModelForSequenceClassification from a local path; Optimum; plain onnxruntime):
 *
 *   config.json              the checkpoint's, with model_type naming a class those libraries have
 *   tokenizer.json, …        copied; tokenizer_config.json's model_max_length set to the model's limit
 *   onnx/model.onnx          inputs input_ids, attention_mask, token_type_ids (int64 [batch, seq]);
 *                            output logits [batch, labels]; weights embedded
 *
 * The graph is the one turborank runs (models/), so an export scores exactly as turborank does;
 * with precision 'int8' it is the quantized graph (standard ONNX integer ops).
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadCheckpoint, locateModel, readConfigJson } from '../checkpoint/index.js';
import type { Architecture } from '../checkpoint/index.js';
import { FileError, InputError } from '../errors.js';
import { toOnnx } from '../graph/index.js';
import { buildCrossEncoder } from '../models/index.js';
import { quantizeGraph, type Precision } from '../runtime/index.js';

export interface ExportOptions {
  readonly precision?: Precision;
  /**
   * Compute every token's row in the last layer, as an export of the PyTorch model (Optimum's)
   * does, instead of the [CLS] row alone: the same logits, more work. For benchmarks that stand
   * in for such an export.
   */
  readonly everyRow?: boolean;
  /** Environment for Hugging Face cache lookup. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface ExportResult {
  readonly dir: string;
  readonly onnxPath: string;
  readonly onnxBytes: number;
  readonly precision: Precision;
  readonly modelType: string;
  readonly files: readonly string[];
}

/**
 * The model_type other libraries map to a sequence-classification class. JinaBERT is BERT plus
 * ALiBi and GEGLU: Jina's own config says "bert" and loads the custom code through auto_map,
 * which an ONNX runtime never runs. An ONNX export carries its whole computation in the graph,
 * and transformers.js's BertForSequenceClassification only feeds the graph's inputs and reads
 * `logits`, so "bert" is right for the export.
 */
const MODEL_TYPES: Readonly<Record<Architecture, string>> = {
  jinabert: 'bert',
  bert: 'bert',
  'xlm-roberta': 'xlm-roberta',
  'deberta-v2': 'deberta-v2',
};

/** Tokenizer files copied when present (tokenizer.json is required by the checkpoint already). */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'vocab.json', 'merges.txt', 'spm.model', 'sentencepiece.bpe.model'];

/** Protobuf messages are limited to 2 GiB; ONNX models larger than that need external data. */
const MAX_EMBEDDED_BYTES = 2 ** 31 - 2 ** 24;

export function exportModel(model: string, outDir: string, options: ExportOptions = {}): ExportResult {
  const precision = options.precision ?? 'fp32';
  const located = locateModel(model, options.env ?? process.env);
  if (located.kind !== 'checkpoint') {
    throw new InputError(`${model} is already an ONNX export (${located.onnxPath})`, 'export from the safetensors checkpoint (config.json + model.safetensors)');
  }
  const checkpoint = loadCheckpoint(located);
  if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0) {
    throw new FileError(outDir, 'exists and is not empty', 'pass --out with a new or empty folder');
  }

  let graph = buildCrossEncoder(checkpoint.spec, (name) => checkpoint.weights.float32(name), { tokenTypeInput: true, ...(options.everyRow === true ? { lastLayer: 'every-row' as const } : {}) });
  if (precision === 'int8') graph = quantizeGraph(graph).graph;
  const bytes = toOnnx(graph, { producer: 'turborank', docString: `turborank export of ${model} (${precision})` });
  if (bytes.byteLength > MAX_EMBEDDED_BYTES) {
    throw new InputError(`${model}: the ONNX model would be ${(bytes.byteLength / 2 ** 30).toFixed(2)} GiB, over protobuf's 2 GiB limit for one file`,
      'export with --precision int8 (a quarter of the size)');
  }

  fs.mkdirSync(path.join(outDir, 'onnx'), { recursive: true });
  const onnxPath = path.join(outDir, 'onnx', 'model.onnx');
  fs.writeFileSync(onnxPath, bytes);
  const files = ['onnx/model.onnx'];

  const config = readConfigJson(checkpoint.configPath) as Record<string, unknown>;
  const modelType = MODEL_TYPES[checkpoint.spec.architecture];
  const exported = { ...config, model_type: modelType, turborank_export: { precision, architecture: checkpoint.spec.architecture } };
  fs.writeFileSync(path.join(outDir, 'config.json'), JSON.stringify(exported, null, 2) + '\n');
  files.push('config.json');

  const from = path.dirname(checkpoint.tokenizerPath);
  for (const name of TOKENIZER_FILES) {
    const src = path.join(from, name);
    if (!fs.existsSync(src) || name === 'tokenizer_config.json') continue;
    fs.copyFileSync(src, path.join(outDir, name));
    files.push(name);
  }
  // transformers.js's AutoTokenizer reads tokenizer_config.json and caps every max_length at its
  // model_max_length (Jina ships 512 for models that take 8192): the export carries the limit
  // turborank applies, the model's own.
  const tokenizerConfigPath = path.join(from, 'tokenizer_config.json');
  const tokenizerConfig = fs.existsSync(tokenizerConfigPath) ? (JSON.parse(fs.readFileSync(tokenizerConfigPath, 'utf8')) as Record<string, unknown>) : {};
  fs.writeFileSync(path.join(outDir, 'tokenizer_config.json'), JSON.stringify({ ...tokenizerConfig, model_max_length: checkpoint.spec.maxPositions }, null, 2) + '\n');
  files.push('tokenizer_config.json');
  return { dir: outDir, onnxPath, onnxBytes: bytes.byteLength, precision, modelType, files };
}
