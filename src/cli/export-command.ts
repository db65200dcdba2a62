import { UsageError } from '../errors.js';
import { exportModel } from '../rerank/export.js';
import { stringOption, writeStdout } from './main.js';
import { precisionOption } from './precision.js';

export const EXPORT_HELP = {
  text: `Usage: turborank export --model M --out DIR [options]

Writes a Hugging Face-style ONNX folder from a checkpoint: config.json, the tokenizer files,
and onnx/model.onnx (inputs input_ids, attention_mask, token_type_ids; output logits;
weights embedded), the same graph turborank runs. transformers.js loads it with
AutoTokenizer and AutoModelForSequenceClassification from the local path, as does
\`turborank rerank --model DIR\`.

Options:
  -m, --model M         checkpoint directory or cached hub name (required)
  -o, --out DIR         new or empty folder to write (required)
      --precision P     fp32 (default) or int8: the per-token weight products in int8
                        (standard ONNX DynamicQuantizeLinear + MatMulInteger)
      --json            print what was written as JSON
  -h, --help            this help`,
  options: {
    model: { type: 'string', short: 'm' },
    out: { type: 'string', short: 'o' },
    precision: { type: 'string' },
    json: { type: 'boolean' },
  },
} as const;

export async function runExport(values: Record<string, unknown>, positionals: string[]): Promise<void> {
  if (positionals.length > 0) throw new UsageError(`export takes no FILE, got ${positionals.join(' ')}`, 'name the model with --model and the folder with --out');
  const model = stringOption(values, 'model');
  if (model === undefined) throw new UsageError('--model is required', 'e.g. `turborank export --model ./my-reranker --out ./my-reranker-onnx`');
  const out = stringOption(values, 'out');
  if (out === undefined) throw new UsageError('--out is required', 'name a new or empty folder');
  const result = exportModel(model, out, { precision: precisionOption(values) });
  if (values.json === true) {
    await writeStdout(JSON.stringify(result) + '\n');
    return;
  }
  await writeStdout(`exported ${model} (${result.precision}, model_type ${result.modelType}) to ${result.dir}: ${result.files.join(', ')}; onnx/model.onnx ${(result.onnxBytes / 2 ** 20).toFixed(1)} MiB\n`);
}
