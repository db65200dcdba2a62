/**
 * Reading what users pipe in: documents for `rerank`, JSON Lines pairs for `score`.
 * Bytes are decoded strictly as UTF-8 so a wrong encoding is an error, not mojibake scores.
 */
import fs from 'node:fs';
import { FileError, InputError } from '../errors.js';
import { parseJsonLine, type DocumentInput } from '../rerank/index.js';

// The pair format lives with the library so distributed jobs (src/jobs) parse exactly as `score` does.
export { parseJsonLine, parsePairLine } from '../rerank/index.js';

export type DocumentFormat = 'auto' | 'lines' | 'jsonl' | 'json';

/** Reads FILE, or stdin for '-' / no file. */
export async function readInputBytes(file: string | undefined): Promise<{ bytes: Buffer; source: string }> {
  if (file === undefined || file === '-') {
    if (process.stdin.isTTY) {
      throw new InputError('no documents given: pass a FILE, or pipe them on stdin', 'e.g. `turborank rerank --query "…" docs.txt`');
    }
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return { bytes: Buffer.concat(chunks), source: 'stdin' };
  }
  checkReadableFile(file);
  try {
    return { bytes: fs.readFileSync(file), source: file };
  } catch (err) {
    throw fileError(file, err);
  }
}

function checkReadableFile(file: string): void {
  try {
    if (fs.statSync(file).isDirectory()) throw new FileError(file, 'is a directory, not a file', 'pass the file inside it');
    fs.accessSync(file, fs.constants.R_OK);
  } catch (err) {
    throw err instanceof FileError ? err : fileError(file, err);
  }
}

function fileError(file: string, err: unknown): FileError {
  const code = (err as NodeJS.ErrnoException).code;
  const problem = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
  return new FileError(file, problem, 'check the path', { cause: err });
}

export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    throw new InputError(`${source} is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8(bytes)})`,
      'convert it first, e.g. `iconv -f latin1 -t utf-8`');
  }
}

/** Documents: a JSON array (strings or {text}), JSON Lines with "text", or one document per line. */
export function parseDocuments(text: string, source: string, format: DocumentFormat = 'auto'): DocumentInput[] {
  const first = text.trimStart()[0];
  const kind = format !== 'auto' ? format : first === '[' ? 'json' : first === '{' ? 'jsonl' : 'lines';
  if (kind === 'lines') return splitLines(text);
  try {
    if (kind === 'json') return parseJsonArray(text, source);
    return splitLines(text).map((line, i) => ({ text: textField(parseJsonLine(line, source, i), source, i) }));
  } catch (err) {
    // Plain text whose first line happens to start with '[' or '{' lands here: say why.
    if (format !== 'auto' || !(err instanceof InputError)) throw err;
    throw new InputError(`${err.message}\n  → ${source} starts with '${first}', so it was read as ${kind === 'json' ? 'a JSON array' : 'JSON Lines'}: ` +
      'for plain text, one document per line, pass --format lines', undefined, { cause: err });
  }
}

/** Lines without their terminators; a final newline does not make an extra empty line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function parseJsonArray(text: string, source: string): DocumentInput[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${source}: invalid JSON (${(err as Error).message})`, 'give a JSON array of strings or {"text": …} objects');
  }
  if (!Array.isArray(value)) throw new InputError(`${source}: expected a JSON array of documents`);
  return value.map((item: unknown, i) => {
    if (typeof item === 'string') return item;
    return { text: textField(item, source, i, 'element') };
  });
}

function textField(value: unknown, source: string, index: number, what: 'line' | 'element' = 'line'): string {
  const where = what === 'line' ? `line ${index + 1}` : `element ${index}`;
  if (value === null || typeof value !== 'object' || typeof (value as { text?: unknown }).text !== 'string') {
    throw new InputError(`${source} ${where}: expected an object with a string "text", got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  return (value as { text: string }).text;
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // Binary search on the longest valid prefix is overkill; scan sequences instead.
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (len === 0 || i + len > bytes.length) return i;
    try {
      decoder.decode(bytes.subarray(i, i + len));
    } catch {
      return i;
    }
    i += len;
  }
  return i;
}

/**
 * Lines of FILE or stdin, streamed (bulk scoring inputs can be large), each decoded strictly
 * as UTF-8. Yields [lineIndex, text]; a final newline does not make an extra line.
 */
export function readLines(file: string | undefined): AsyncGenerator<[number, string]> {
  // Checked now, not on the first read: a wrong path should fail before a model is loaded.
  const source = file === undefined || file === '-' ? 'stdin' : file;
  if (source === 'stdin') {
    if (process.stdin.isTTY) throw new InputError('no input given: pass a FILE, or pipe JSON Lines on stdin');
  } else {
    checkReadableFile(source);
  }
  return streamLines(source);
}

async function* streamLines(source: string): AsyncGenerator<[number, string]> {
  const stream: NodeJS.ReadableStream = source === 'stdin' ? process.stdin : fs.createReadStream(source);
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  for await (const chunk of stream) {
    pending = pending.length === 0 ? (chunk as Buffer) : Buffer.concat([pending, chunk as Buffer]);
    let newline: number;
    while ((newline = pending.indexOf(0x0a)) >= 0) {
      yield [index, decodeLine(pending.subarray(0, newline), source, index)];
      index++;
      pending = pending.subarray(newline + 1);
    }
  }
  if (pending.length > 0) yield [index, decodeLine(pending, source, index)];
}

function decodeLine(bytes: Uint8Array, source: string, index: number): string {
  const text = decodeUtf8(bytes, `${source} line ${index + 1}`);
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}
