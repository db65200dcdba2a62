import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

/** Repository root, found from this compiled file (dist/test/helpers.js) or the source (test/helpers.ts). */
export const repoRoot: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root from ' + import.meta.url);
    dir = up;
  }
  return dir;
})();

export const GOLDEN_FIXTURES = ['jinabert-tiny-golden', 'jinabert-bpe-golden', 'bert-minilm-golden', 'xlmr-golden', 'deberta-v2-golden'] as const;
export type GoldenFixture = (typeof GOLDEN_FIXTURES)[number];

export function fixtureDir(name: GoldenFixture): string {
  return path.join(repoRoot, 'test', 'fixtures', name);
}

export interface GoldenCase {
  id: string;
  tags: string[];
  query: string;
  document: string;
  input_ids: number[];
  token_type_ids: number[];
  length: number;
  logit: number;
  logit_fp32: number;
  score: number;
}
export interface GoldenBatch {
  id: string;
  case_ids: string[];
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids?: number[][];
  logits: number[];
}
export interface GoldenDiagnostics {
  case_id: string;
  correct_logit: number;
  /** The logit a named mistake gives instead. */
  wrong_logits: Record<string, number>;
  /** The xlmr/deberta fixtures: what ignoring the attention mask does to batch `batch_id`. */
  batch_id?: string;
  batch_logits_if_padding_not_masked?: number[];
}
export interface GoldenExpected {
  tokenizer: { max_length: number; pad_token_id: number };
  model?: { num_parameters?: number; relative_position_bucket_of_distance?: { distances: number[]; buckets: number[] } };
  cases: GoldenCase[];
  batches: GoldenBatch[];
  diagnostics?: GoldenDiagnostics;
  /** The same for the longest case (xlmr/deberta fixtures). */
  diagnostics_long_case?: GoldenDiagnostics;
}

export function loadExpected(name: GoldenFixture): GoldenExpected {
  return JSON.parse(fs.readFileSync(path.join(fixtureDir(name), 'expected.json'), 'utf8')) as GoldenExpected;
}

/** A fresh temporary directory, removed when the process exits. */
export function tempDir(prefix = 'turborank-test-'): string {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), prefix));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
