/**
 * Manual pages (man(7) roff source, plain or gzipped) as plain text by section. Only what a
 * training corpus needs: requests are dropped or reduced to their text arguments, font and
 * character escapes become plain characters, and `.SH` starts a section. Pages that are only a
 * `.so` link to another page are skipped. This is not a roff formatter: tables and
 * equations come out as their source text, which is still English words and commands.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { squash } from './text.js';

export interface ManPage {
  /** "open(2)": the file's name and section. */
  readonly name: string;
  /** The NAME section's one-liner after the dash ("open and possibly create a file"). */
  readonly summary: string;
  /** Section heading (upper case) → text. */
  readonly sections: ReadonlyMap<string, string>;
}

const NAMED_CHARS: Record<string, string> = {
  em: '—', en: '–', hy: '-', aq: "'", dq: '"', lq: '"', rq: '"', oq: "'", cq: "'", bu: '•', co: '©',
  rg: '®', tm: '™', mu: '×', di: '÷', '+-': '±', '<=': '≤', '>=': '≥', '!=': '≠', ti: '~', ha: '^',
  rs: '\\', ga: '`', sl: '/', ba: '|', 'lh': '<', 'rh': '>', 'ua': '↑', 'da': '↓', 'ra': '→', 'la': '←',
};

/** Every man page file under the directories (man1 … man9 and the like), sorted by path. */
export function listManPages(dirs: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        // Translated pages live in language folders (de/, fr/…): English only.
        if (/^man[0-9a-z]*$/i.test(entry.name)) walk(full);
      } else if (entry.isFile() && /\.[0-9][a-z0-9]*(\.gz)?$/i.test(entry.name)) {
        files.push(full);
      }
    }
  };
  for (const dir of dirs) if (fs.existsSync(dir)) walk(dir);
  return files.sort();
}

/** Reads one page; undefined for `.so` links and pages without a NAME section. */
export function readManPage(file: string): ManPage | undefined {
  const raw = fs.readFileSync(file);
  const source = (file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
  const base = path.basename(file).replace(/\.gz$/, '');
  const dot = base.lastIndexOf('.');
  const name = `${base.slice(0, dot)}(${base.slice(dot + 1)})`;
  const sections = parseRoff(source);
  const nameLine = sections.get('NAME');
  if (nameLine === undefined) return undefined;
  const dash = nameLine.search(/\s[-—–]\s/);
  const summary = dash >= 0 ? nameLine.slice(dash + 3).trim() : '';
  return { name, summary, sections };
}

/** Section heading → text, for man(7) source. */
export function parseRoff(source: string): Map<string, string> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  const lines = source.replace(/\\\n/g, '').split('\n');
  if (lines.some((l) => /^\.so\s/.test(l)) && lines.filter((l) => l.trim() !== '' && !l.startsWith('.\\"') && !l.startsWith("'\\\"")).length <= 2) return new Map();
  for (const line of lines) {
    if (line.startsWith('.\\"') || line.startsWith("'\\\"") || line.startsWith('\\"')) continue;
    if (line.startsWith('.') || line.startsWith("'")) {
      const match = /^[.'] *([A-Za-z]+)\s*(.*)$/.exec(line);
      if (!match) continue;
      const [, request, args = ''] = match;
      if (request === 'SH') {
        const heading = plainText(unquote(args)).toUpperCase();
        current = [];
        sections.set(heading, current);
        continue;
      }
      // Font and paragraph macros whose arguments are text: keep the words.
      if (/^(B|I|BI|BR|IB|IR|RB|RI|SM|SB|SS|TP|IP|UR|MT|Nm|Nd|Fn|Fa|Ar|Op|Fl|Xr|Sy|Em|Dq|Sq|Li|Pa|Va|Cm|Dv|Er|Ev|Ic)$/.test(request!)) {
        current?.push(plainText(unquote(args)));
      }
      continue;
    }
    current?.push(plainText(line));
  }
  const out = new Map<string, string>();
  for (const [heading, text] of sections) {
    const body = squash(text.join(' '));
    if (body !== '' && !out.has(heading)) out.set(heading, body);
  }
  return out;
}

/** Macro arguments: "a b" quoting and alternating-font macros' separate words joined. */
function unquote(args: string): string {
  return args.replace(/"([^"]*)"/g, '$1');
}

/** Roff escapes made plain. */
export function plainText(text: string): string {
  return text
    .replace(/\\f(?:\[[^\]]*\]|\(..|.)/g, '')
    .replace(/\\s[+-]?\d/g, '')
    .replace(/\\\[([^\]]+)\]/g, (_, n: string) => NAMED_CHARS[n] ?? ' ')
    .replace(/\\\((..)/g, (_, n: string) => NAMED_CHARS[n] ?? ' ')
    .replace(/\\\*(?:\[[^\]]*\]|\(..|.)/g, '')
    .replace(/\\-/g, '-')
    .replace(/\\e/g, '\u0000')
    .replace(/\\[&|^%:)]/g, '')
    .replace(/\\[ ~0]/g, ' ')
    .replace(/\\(.)/g, '$1')
    .replace(/\u0000/g, '\\');
}
