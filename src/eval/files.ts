/**
 * Reading evaluation data files: every problem names the file, the line and what was wrong,
 * because a bad line in a 500 MB corpus is otherwise impossible to find.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { FileError, InputError } from '../errors.js';

/** Throws a FileError unless `file` is a readable regular file. */
export function checkFile(file: string, what: string, hint?: string): void {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) throw new FileError(file, `no such file (the ${what})`, hint);
  if (!stat.isFile()) throw new FileError(file, `is not a file (expected the ${what})`, hint);
}

/** Lines of a text file, streamed, without their line ends (LF or CRLF), numbered from 1. */
export async function* readLines(file: string): AsyncGenerator<{ line: string; number: number }> {
  const input = fs.createReadStream(file, { encoding: 'utf8' });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const line of lines) {
      number++;
      // A byte-order mark at the start of a file is not part of its first line.
      yield { line: number === 1 && line.charCodeAt(0) === 0xfeff ? line.slice(1) : line, number };
    }
  } catch (err) {
    throw new FileError(file, `cannot read line ${number + 1}: ${(err as Error).message}`, undefined, { cause: err });
  } finally {
    lines.close();
    input.destroy();
  }
}

/** JSON objects of a JSON Lines file, blank lines skipped. */
export async function* readJsonLines(file: string): AsyncGenerator<{ value: Record<string, unknown>; number: number }> {
  for await (const { line, number } of readLines(file)) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new InputError(`${file} line ${number}: invalid JSON (${(err as Error).message}): ${line.slice(0, 80)}`,
        'each line must be one JSON object');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new InputError(`${file} line ${number}: expected a JSON object, got ${line.slice(0, 80)}`);
    }
    yield { value: value as Record<string, unknown>, number };
  }
}

/** A whole JSON file. */
export function readJsonFile(file: string, what: string): unknown {
  checkFile(file, what);
  const text = fs.readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InputError(`${file}: invalid JSON (${(err as Error).message})`, `the ${what} must be one JSON document`);
  }
}

/** A string field of a JSON Lines record, or an InputError naming file, line and field. */
export function stringField(value: Record<string, unknown>, field: string, file: string, line: number, optional = false): string {
  const raw = value[field];
  if (raw === undefined && optional) return '';
  if (typeof raw !== 'string') throw badField(field, 'a string', raw, file, line);
  return raw;
}

/** An id field: BEIR ids are strings, but some corpora write numbers, taken as their decimal text. */
export function idField(value: Record<string, unknown>, field: string, file: string, line: number): string {
  const raw = value[field];
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return String(raw);
  if (typeof raw !== 'string' || raw === '') throw badField(field, 'a non-empty string', raw, file, line);
  return raw;
}

function badField(field: string, expected: string, raw: unknown, file: string, line: number): InputError {
  return new InputError(`${file} line ${line}: "${field}" must be ${expected}, got ${JSON.stringify(raw)?.slice(0, 80) ?? 'nothing'}`);
}
