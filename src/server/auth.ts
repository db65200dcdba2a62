/**
 * Optional API keys: `Authorization: Bearer KEY`, as the Cohere and Jina SDKs send them.
 * Keys come from TURBORANK_API_KEY or a file (one per line), never from the command line,
 * where `ps` would show them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { FileError, UsageError } from '../errors.js';

export class ApiKeys {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /**
   * Whether an Authorization header carries one of the keys. Both sides are hashed to equal
   * length and every key is compared, so the time taken tells nothing about how much of a
   * guess matched, nor which key.
   */
  accepts(authorization: string | undefined): boolean {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    const offered = digest(match?.[1] ?? '');
    let ok = false;
    for (const key of this.digests) ok = timingSafeEqual(key, offered) || ok;
    return ok && match !== null;
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Keys from the environment variable's value and/or a key file: one per line, # comments. */
export function loadApiKeys(envValue: string | undefined, file: string | undefined): string[] {
  const keys: string[] = [];
  if (envValue !== undefined && envValue.trim() !== '') keys.push(...splitKeys(envValue));
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new FileError(file, `cannot read the API key file: ${(err as Error).message}`, 'pass a readable file with one key per line', { cause: err });
    }
    const fromFile = splitKeys(text);
    if (fromFile.length === 0) throw new FileError(file, 'the API key file holds no keys', 'write one key per line (lines starting with # are comments)');
    keys.push(...fromFile);
  }
  for (const key of keys) {
    if (/\s/.test(key) || key.length < 8) throw new UsageError('every API key must be at least 8 characters, without spaces', 'generate one with `openssl rand -hex 32`');
  }
  return keys;
}

function splitKeys(text: string): string[] {
  return text.split(/[\n,]/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
}
