/** `turborank report`: saved `turborank eval` results → report.md and two SVG charts. */
import path from 'node:path';
import { InputError } from '../errors.js';
import { buildReport } from '../eval/report.js';
import { loadResults } from '../eval/results.js';
import { writeAtomically } from '../eval/trec-run.js';
import { stringOption, writeStdout } from './main.js';

export const REPORT_HELP = {
  text: `Usage: turborank report [options] [DIR|FILE ...]

Gathers the results that \`turborank eval\` saved (result.*.json, found recursively under each
DIR; default turborank-eval) into a Markdown report: BEIR NDCG@10, RAG hit rate and MRR, TREC
DL NDCG@10, speed and memory per model, and two charts of quality against documents per
50 ms (beir-quality-speed.svg, rag-quality-speed.svg). The latest result per benchmark,
dataset and model counts.

Options:
      --out DIR         where report.md and the charts go (default turborank-eval/report)
      --json            print the report's numbers as JSON
      --quiet           no notes on stderr
  -h, --help            this help`,
  options: {
    out: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
} as const;

export async function runReport(values: Record<string, unknown>, positionals: string[]): Promise<void> {
  const inputs = positionals.length > 0 ? positionals : ['turborank-eval'];
  const out = stringOption(values, 'out') ?? path.join('turborank-eval', 'report');
  const found = loadResults(inputs);
  if (found.length === 0) {
    throw new InputError(`no result.*.json under ${inputs.join(', ')}`, 'run `turborank eval …` first (its --out folder holds the results), or pass the folders that hold them');
  }
  const report = await buildReport(found.map((f) => f.result));
  const reportFile = path.join(out, 'report.md');
  writeAtomically(reportFile, report.markdown);
  for (const chart of report.charts) writeAtomically(path.join(out, chart.file), chart.svg);
  if (values.json === true) {
    await writeStdout(JSON.stringify({ report: reportFile, charts: report.charts.map((c) => path.join(out, c.file)), results: found.map((f) => f.file), ...report.numbers }) + '\n');
  } else {
    await writeStdout(report.markdown);
  }
  if (values.quiet !== true) {
    const charted = report.charts.map((c) => `${c.points.length} model${c.points.length === 1 ? '' : 's'} in ${c.file}`).join(', ');
    process.stderr.write(`turborank: report of ${found.length} results written to ${reportFile} (${charted})\n`);
  }
}
