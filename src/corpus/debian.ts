/**
 * Debian package descriptions from apt's Translation-en index files (the control format:
 * stanzas separated by blank lines, "Package:", "Description-en:" with the one-line summary
 * on the field line and the long description on continuation lines, " ." for a blank line).
 * Packages files with a plain "Description:" field holding the long text are read the same way.
 */
import { InputError } from '../errors.js';
import { checkFile, readLines } from '../eval/files.js';
import { matchKey, squash } from './text.js';

export interface PackageDescription {
  readonly name: string;
  /** The one-line synopsis ("GNU Bourne Again SHell"). */
  readonly summary: string;
  /** The long description, paragraphs joined by blank lines. Empty when the index has none. */
  readonly description: string;
}

/**
 * Reads every file's stanzas. A package in several files (bookworm and bookworm-security)
 * keeps its first description; packages whose long descriptions are the same text (library
 * variants) keep only the first by name, so neither the corpus nor the pairs repeat them.
 */
export async function readPackageDescriptions(files: readonly string[]): Promise<PackageDescription[]> {
  const byName = new Map<string, PackageDescription>();
  for (const file of files) {
    checkFile(file, 'apt package index (Translation-en or Packages)', 'run `turborank data sources` first, or give the file in the data config');
    let stanzas = 0;
    for await (const stanza of readStanzas(file)) {
      const name = stanza.get('package');
      const field = stanza.get('description-en') ?? stanza.get('description');
      if (name === undefined || field === undefined) continue;
      stanzas++;
      if (byName.has(name)) continue;
      byName.set(name, parseDescription(name, field));
    }
    if (stanzas === 0) {
      throw new InputError(`${file}: no package stanzas with a Package and a Description(-en) field`,
        'expected an apt index file such as …_main_i18n_Translation-en (uncompressed)');
    }
  }
  const seen = new Set<string>();
  const out: PackageDescription[] = [];
  for (const name of [...byName.keys()].sort()) {
    const pkg = byName.get(name)!;
    const key = matchKey(pkg.description);
    if (key !== '' && seen.has(key)) continue;
    seen.add(key);
    out.push(pkg);
  }
  return out;
}

/** Splits a Description field's raw value (first line, then continuation lines) into its parts. */
export function parseDescription(name: string, raw: string): PackageDescription {
  const [first = '', ...rest] = raw.split('\n');
  const paragraphs: string[] = [];
  let current: string[] = [];
  for (const line of rest) {
    const text = line.replace(/^ /, '');
    if (text.trim() === '.') {
      if (current.length) paragraphs.push(squash(current.join(' ')));
      current = [];
    } else {
      current.push(text);
    }
  }
  if (current.length) paragraphs.push(squash(current.join(' ')));
  return { name, summary: squash(first), description: paragraphs.filter((p) => p !== '').join('\n\n') };
}

/** Stanzas as maps of lower-cased field name → raw value (continuation lines kept after "\n"). */
async function* readStanzas(file: string): AsyncGenerator<Map<string, string>> {
  let stanza = new Map<string, string>();
  let field: string | undefined;
  for await (const { line } of readLines(file)) {
    if (line.trim() === '') {
      if (stanza.size) yield stanza;
      stanza = new Map();
      field = undefined;
    } else if ((line.startsWith(' ') || line.startsWith('\t')) && field !== undefined) {
      stanza.set(field, `${stanza.get(field)}\n${line}`);
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue; // not a field line; apt itself ignores such noise
      field = line.slice(0, colon).toLowerCase();
      stanza.set(field, line.slice(colon + 1).trim());
    }
  }
  if (stanza.size) yield stanza;
}
