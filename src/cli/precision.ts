/** `--precision fp32|int8`, shared by the commands that load a model. */
import { UsageError } from '../errors.js';
import { PRECISIONS, type Precision } from '../runtime/index.js';

export const PRECISION_HELP_LINE = `      --precision P     fp32 (default) or int8: weights of the per-token matrix products in int8
                        per output channel, activations quantized at run time (needs a checkpoint)`;

export function parsePrecision(raw: string, option = '--precision'): Precision {
  if (!(PRECISIONS as readonly string[]).includes(raw)) throw new UsageError(`${option} must be one of ${PRECISIONS.join(', ')}, got '${raw}'`);
  return raw as Precision;
}

export function precisionOption(values: Record<string, unknown>): Precision | undefined {
  const raw = values.precision;
  return typeof raw === 'string' ? parsePrecision(raw) : undefined;
}
