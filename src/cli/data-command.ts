/** `turborank data <step>`: build training data (corpus, vocabulary, pairs, query sets) from offline sources. */
import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { readDataConfig } from '../corpus/config.js';
import { DATA_STEPS, runDataStep, type DataStep } from '../corpus/pipeline.js';
import { stringOption, writeStdout } from './main.js';

export const DATA_HELP = {
  text: `Usage: turborank data <step> [--config FILE] [options]

Builds the training data for the teacher and the distilled students from offline sources
(Debian package descriptions, dictionaries, man pages, BEIR train splits, RAG sets), as
the config file says (default data/pipeline.json; every field in docs/DATA.md). Each step
writes under the build folder with a manifest.json (sources and licences, counts, seed,
command, sha256 of each output) and refuses any training query or document that matches an
evaluation query or evaluation-only document.

Steps:
  sources   fetch Debian sources with apt-get (private index folder) and record licences
  corpus    pre-training text, corpus/pretrain.jsonl ({"text"}, the mlm loss)
  vocab     WordPiece vocabulary trained on the corpus, vocab/tokenizer.json
  pairs     relevance pairs with BM25 hard negatives, pairs/train.jsonl and dev.jsonl (bce)
  queries   query sets with BM25 candidate lists for the teacher to label, queries/*.jsonl
  check     the evaluation-overlap check on everything built
  all       the steps above in order

Options:
      --config FILE     the data pipeline config (default data/pipeline.json)
      --out DIR         the build folder (default: the config's "output")
      --json            print each step's report (outputs, counts, seconds) as JSON
      --quiet           no progress on stderr
  -h, --help            this help`,
  options: {
    config: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
} as const;

export async function runData(values: Record<string, unknown>, positionals: string[]): Promise<void> {
  const [step, ...extra] = positionals;
  if (step === undefined) throw new UsageError('which step?', `turborank data <${DATA_STEPS.join('|')}>; see \`turborank data --help\``);
  if (!(DATA_STEPS as readonly string[]).includes(step)) throw new UsageError(`unknown data step '${step}'`, `steps: ${DATA_STEPS.join(', ')}`);
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`, 'give one step; `turborank data all` runs them all');
  const configFile = stringOption(values, 'config') ?? 'data/pipeline.json';
  if (stringOption(values, 'config') === undefined && !fs.existsSync(configFile)) {
    throw new UsageError(`no --config given and no ${configFile} here`, 'pass the data pipeline config with --config (see docs/DATA.md)');
  }
  const config = readDataConfig(configFile, stringOption(values, 'out'));
  const quiet = values.quiet === true;
  const log = (line: string): void => { if (!quiet) process.stderr.write(`turborank data: ${line}\n`); };
  const command = ['turborank', 'data', step, ...Object.entries(values).filter(([, v]) => v !== undefined && v !== false)
    .map(([k, v]) => (v === true ? `--${k}` : `--${k} ${String(v)}`))].join(' ');
  const reports = await runDataStep(step as DataStep, config, { command, log });
  if (values.json === true) await writeStdout(JSON.stringify(reports.length === 1 ? reports[0] : reports) + '\n');
}
