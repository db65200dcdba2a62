/**
 * Dictionaries in the dictd format Debian ships them in (dict-gcide, dict-wn, dict-foldoc,
 * dict-jargon): NAME.index lines `headword<TAB>offset<TAB>length`, offsets and lengths in
 * dictd's base64 digits, into NAME.dict.dz (gzip, with dictzip's random-access header, which
 * plain gunzip ignores) or an uncompressed NAME.dict. Several headwords can point at one
 * entry (WordNet lists every synonym); an entry is read once.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { FileError, InputError } from '../errors.js';
import { checkFile } from '../eval/files.js';
import { squash } from './text.js';

export interface DictionaryEntry {
  /** The dictionary's name: the index file's name without `.index` ("gcide", "wn"). */
  readonly dictionary: string;
  /** The first headword pointing at this entry. */
  readonly headword: string;
  /** The definition text without the repeated headword line, whitespace squashed. */
  readonly definition: string;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function decodeDictNumber(digits: string): number {
  let n = 0;
  for (const c of digits) {
    const d = B64.indexOf(c);
    if (d < 0) throw new Error(`not a dictd number: ${digits}`);
    n = n * 64 + d;
  }
  return n;
}

export function readDictionary(indexFile: string): DictionaryEntry[] {
  checkFile(indexFile, 'dictd index', 'run `turborank data sources` first, or give NAME.index files in the data config');
  const name = path.basename(indexFile).replace(/\.index$/, '');
  const base = indexFile.replace(/\.index$/, '');
  const dataFile = fs.existsSync(`${base}.dict.dz`) ? `${base}.dict.dz` : `${base}.dict`;
  checkFile(dataFile, `dictd data next to ${indexFile}`, 'a dictd dictionary is NAME.index plus NAME.dict.dz (or NAME.dict)');
  let data: Buffer;
  try {
    const raw = fs.readFileSync(dataFile);
    data = dataFile.endsWith('.dz') ? zlib.gunzipSync(raw) : raw;
  } catch (err) {
    throw new FileError(dataFile, `cannot read or decompress (${(err as Error).message})`, 'download the package again with `turborank data sources`', { cause: err });
  }
  const entries: DictionaryEntry[] = [];
  const seenOffsets = new Set<number>();
  const lines = fs.readFileSync(indexFile, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const [headword, offsetDigits, lengthDigits] = line.split('\t');
    if (headword === undefined || offsetDigits === undefined || lengthDigits === undefined) {
      throw new InputError(`${indexFile} line ${i + 1}: expected headword<TAB>offset<TAB>length`);
    }
    // dictd's own entries (00-database-info, 00databaseurl, …) describe the file, not words.
    if (/^00-?database/.test(headword)) return;
    let offset: number;
    let length: number;
    try {
      offset = decodeDictNumber(offsetDigits.trim());
      length = decodeDictNumber(lengthDigits.trim());
    } catch {
      throw new InputError(`${indexFile} line ${i + 1}: offset and length must be dictd base64 numbers, got ${JSON.stringify(line.slice(0, 60))}`);
    }
    if (offset + length > data.length) {
      throw new InputError(`${indexFile} line ${i + 1}: entry runs past the end of ${dataFile}`, 'the index and data files come from different versions');
    }
    if (seenOffsets.has(offset)) return;
    seenOffsets.add(offset);
    const definition = cleanEntry(data.subarray(offset, offset + length).toString('utf8'));
    if (definition !== '') entries.push({ dictionary: name, headword: headword.trim(), definition });
  });
  return entries;
}

/**
 * The entry without its first line (the headword again, with GCIDE's pronunciation), with
 * dictd markup made plain: `{cross reference}` braces dropped, GCIDE's source tags
 * (`[1913 Webster]`, `[WordNet 1.5]`) and FOLDOC's trailing date stamps removed.
 */
export function cleanEntry(raw: string): string {
  const lines = raw.split('\n');
  // FOLDOC repeats variant spellings as several headword lines before the indented body.
  let start = 1;
  while (start < lines.length && lines[start]!.trim() !== '' && !/^\s/.test(lines[start]!)) start++;
  const body = lines.slice(start).join('\n')
    .replace(/\[(?:\d{4} Webster|WordNet [\d.]+|PJC|Webster 1913 Suppl\.)\]/g, ' ')
    .replace(/\(\d{4}-\d{2}-\d{2}\)/g, ' ')
    .replace(/[{}]/g, '');
  return squash(body);
}
