/**
 * The overlap check over built files: every query and document field of every line is
 * compared (in matchKey's normal form) with the evaluation queries and evaluation-only
 * documents. Any match is refused with an EvalOverlapError naming the file, the line and
 * the evaluation set. The steps run it on their own outputs; `turborank data check` runs it
 * on everything built (or on files given to it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { readJsonLines } from '../eval/files.js';
import { EvalOverlapError, type EvalGuard } from './eval-guard.js';

/** Fields read as queries and as documents, whatever the file's format. */
const QUERY_FIELDS = ['query'];
const DOCUMENT_FIELDS = ['text', 'document', 'positive', 'negative'];

export interface CheckResult {
  readonly files: { file: string; lines: number }[];
  readonly lines: number;
}

export interface Overlap {
  readonly file: string;
  readonly line: number;
  readonly field: string;
  readonly set: string;
  readonly text: string;
}

export async function checkFiles(guard: EvalGuard, files: readonly string[]): Promise<CheckResult> {
  const overlaps: Overlap[] = [];
  const checked: { file: string; lines: number }[] = [];
  let total = 0;
  for (const file of files) {
    let lines = 0;
    for await (const { value, number } of readJsonLines(file)) {
      lines++;
      for (const field of QUERY_FIELDS) {
        const text = value[field];
        const set = typeof text === 'string' ? guard.queryMatch(text) : undefined;
        if (set !== undefined) overlaps.push({ file, line: number, field, set, text: String(text) });
      }
      for (const field of DOCUMENT_FIELDS) {
        const text = value[field];
        const set = typeof text === 'string' ? guard.documentMatch(text) : undefined;
        if (set !== undefined) overlaps.push({ file, line: number, field, set, text: String(text) });
      }
      const docs = value.documents;
      if (Array.isArray(docs)) {
        docs.forEach((d) => {
          const set = typeof d === 'string' ? guard.documentMatch(d) : undefined;
          if (set !== undefined) overlaps.push({ file, line: number, field: 'documents', set, text: String(d) });
        });
      }
    }
    checked.push({ file, lines });
    total += lines;
  }
  if (overlaps.length) {
    const shown = overlaps.slice(0, 5).map((o) => `  ${o.file} line ${o.line}: "${o.field}" matches ${o.set}: ${JSON.stringify(o.text.slice(0, 80))}`).join('\n');
    throw new EvalOverlapError(`${overlaps.length} training item(s) match evaluation data:\n${shown}${overlaps.length > 5 ? `\n  … and ${overlaps.length - 5} more` : ''}`,
      'remove them (rebuild with `turborank data all`, whose steps drop such items) and never train on evaluation queries or documents');
  }
  return { files: checked, lines: total };
}

/** Every JSON Lines file the steps write under the build folder that exists. */
export function builtFiles(output: string): string[] {
  return ['corpus/pretrain.jsonl', 'pairs/train.jsonl', 'pairs/dev.jsonl', 'queries/queries.jsonl', 'queries/documents.jsonl']
    .map((f) => path.join(output, f))
    .filter((f) => fs.existsSync(f));
}
