/**
 * Where the training text comes from. `turborank data sources` fetches what the config names
 * from Debian with apt's own client into OUTPUT/sources (apt's index files with the English
 * long descriptions, under a private state folder so the system's apt is untouched; .deb
 * packages downloaded and unpacked, one folder per package), then records every source's
 * files, hashes and licence. The other steps read the same places back through `loadSources`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TurborankError } from '../errors.js';
import { loadBeir, beirFiles, type BeirDataset } from '../eval/beir.js';
import { loadRagDataset, type RagDataset } from '../eval/rag.js';
import type { DataConfig } from './config.js';
import { readPackageDescriptions, type PackageDescription } from './debian.js';
import { readDictionary, type DictionaryEntry } from './dictd.js';
import type { EvalGuard } from './eval-guard.js';
import { listManPages, readManPage, type ManPage } from './manpage.js';
import { sha256File, type SourceRecord } from './output.js';

/** Licences of the Debian packages this repository's config uses, read from their copyright files. */
const PACKAGE_LICENCES: Record<string, string> = {
  'dict-gcide': 'GPL-2+ (GCIDE, from Webster\'s Revised Unabridged Dictionary 1913, public domain, and WordNet 1.5)',
  'dict-wn': 'WordNet 3.0 licence (Princeton University; permissive, BSD-like)',
  'dict-foldoc': 'GFDL-1.1+ (Free On-line Dictionary of Computing)',
  'dict-jargon': 'public domain (Jargon File 4.4.7); Debian packaging GPL-2+',
  manpages: 'per page: mostly Linux-man-pages-copyleft; some GPL-2+, BSD-2/3/4-clause, Expat (see the copyright file)',
  'manpages-dev': 'per page: mostly Linux-man-pages-copyleft; some GPL-2+, BSD-2/3/4-clause, Expat (see the copyright file)',
};

const DEBIAN_DESCRIPTIONS_LICENCE = 'each package\'s own licence (Debian main: DFSG-free); descriptions as published in the Debian archive\'s Translation-en index';

export class SourceError extends TurborankError {}

export interface Sources {
  readonly packages: readonly PackageDescription[];
  readonly dictionaries: readonly DictionaryEntry[];
  readonly manPages: readonly ManPage[];
  readonly beir: readonly BeirDataset[];
  readonly rag: readonly RagDataset[];
  readonly records: readonly SourceRecord[];
}

export function sourcesDir(config: DataConfig): string {
  return path.join(config.output, 'sources');
}

function aptDirs(config: DataConfig): { lists: string; cache: string } {
  const root = path.join(sourcesDir(config), 'apt');
  return { lists: path.join(root, 'lists'), cache: path.join(root, 'cache') };
}

function packageRoot(config: DataConfig, pkg: string): string {
  return path.join(sourcesDir(config), 'packages', pkg);
}

function wantedPackages(config: DataConfig): string[] {
  return [...new Set([...(config.dictionaries?.packages ?? []), ...(config.man_pages?.packages ?? [])])].sort();
}

/** Fetches what the config asks for from Debian. Returns the commands it ran. */
export function fetchSources(config: DataConfig, log: (line: string) => void): string[] {
  const ran: string[] = [];
  const { lists, cache } = aptDirs(config);
  const aptOptions = [
    '-q', '-o', `Dir::State::Lists=${lists}`, '-o', `Dir::Cache=${cache}`,
    '-o', 'Acquire::Languages=en', '-o', 'Acquire::GzipIndexes=false', '-o', 'APT::Get::List-Cleanup=false',
    // apt drops privileges to _apt for downloads, which cannot write into a root-owned build folder.
    ...(process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : []),
  ];
  if (config.debian?.apt_lists) {
    fs.mkdirSync(path.join(lists, 'partial'), { recursive: true });
    fs.mkdirSync(path.join(cache, 'archives', 'partial'), { recursive: true });
    log(`apt-get update (index files and English descriptions into ${lists})`);
    ran.push(run('apt-get', [...aptOptions, 'update'], undefined));
  }
  const packages = wantedPackages(config);
  if (packages.length) {
    const debs = path.join(sourcesDir(config), 'debs');
    fs.rmSync(debs, { recursive: true, force: true });
    fs.mkdirSync(debs, { recursive: true });
    // With our own lists, download the versions they name; otherwise the system's lists.
    const options = fs.existsSync(lists) ? aptOptions : ['-q'];
    log(`apt-get download ${packages.join(' ')}`);
    ran.push(run('apt-get', [...options, 'download', ...packages], debs));
    for (const pkg of packages) {
      const deb = fs.readdirSync(debs).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
      if (!deb) throw new SourceError(`apt-get download did not produce a .deb for ${pkg}`, 'check the package name with `apt-cache policy ' + pkg + '`');
      const root = packageRoot(config, pkg);
      fs.rmSync(root, { recursive: true, force: true });
      fs.mkdirSync(root, { recursive: true });
      ran.push(run('dpkg-deb', ['-x', path.join(debs, deb), root], undefined));
      fs.writeFileSync(path.join(root, 'DEB'), deb + '\n');
    }
  }
  return ran;
}

function run(command: string, args: string[], cwd: string | undefined): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  const line = `${command} ${args.join(' ')}`;
  if (result.error) {
    throw new SourceError(`cannot run ${command} (${result.error.message})`,
      'fetching Debian sources needs apt-get and dpkg-deb (a Debian or Ubuntu machine); elsewhere give files in the data config (debian.files, dictionaries.files, man_pages.dirs)');
  }
  if (result.status !== 0) {
    throw new SourceError(`${line} failed (exit ${result.status}):\n${(result.stderr || result.stdout).trim().slice(-2000)}`,
      'check the network connection to the Debian mirror and the package names');
  }
  return line;
}

/** apt's Translation-en files: the config's own, else those `data sources` fetched. */
export function debianFiles(config: DataConfig): string[] {
  if (!config.debian) return [];
  if (config.debian.files.length) return config.debian.files;
  const { lists } = aptDirs(config);
  const found = fs.existsSync(lists) ? fs.readdirSync(lists).filter((f) => /_Translation-en$/.test(f)).sort().map((f) => path.join(lists, f)) : [];
  if (found.length === 0) {
    throw new SourceError(`no Translation-en index files in ${lists}`, 'run `turborank data sources` first (with "debian": {"apt_lists": true}), or list files in "debian.files"');
  }
  return found;
}

/** dictd index files, with the package each came from (undefined for files named in the config). */
export function dictionaryFiles(config: DataConfig): { file: string; pkg?: string }[] {
  const out: { file: string; pkg?: string }[] = (config.dictionaries?.files ?? []).map((file) => ({ file }));
  for (const pkg of config.dictionaries?.packages ?? []) {
    const dir = path.join(packageRoot(config, pkg), 'usr', 'share', 'dictd');
    const found = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.index')).sort() : [];
    if (found.length === 0) throw new SourceError(`${pkg}: no dictd .index file in ${dir}`, 'run `turborank data sources` first');
    for (const f of found) out.push({ file: path.join(dir, f), pkg });
  }
  return out;
}

export function manDirs(config: DataConfig): { dir: string; pkg?: string }[] {
  const out: { dir: string; pkg?: string }[] = (config.man_pages?.dirs ?? []).map((dir) => ({ dir }));
  for (const pkg of config.man_pages?.packages ?? []) {
    const dir = path.join(packageRoot(config, pkg), 'usr', 'share', 'man');
    if (!fs.existsSync(dir)) throw new SourceError(`${pkg}: no man pages in ${dir}`, 'run `turborank data sources` first');
    out.push({ dir, pkg });
  }
  return out;
}

function packageVersion(config: DataConfig, pkg: string): string {
  const file = path.join(packageRoot(config, pkg), 'DEB');
  const deb = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
  const match = /^[^_]+_([^_]+)_/.exec(deb);
  return match ? decodeURIComponent(match[1]!) : 'unknown version';
}

function packageRecord(config: DataConfig, pkg: string, name: string, files: string[]): SourceRecord {
  const copyright = path.join(packageRoot(config, pkg), 'usr', 'share', 'doc', pkg, 'copyright');
  const licence = PACKAGE_LICENCES[pkg] ?? dep5Licences(copyright);
  return {
    name,
    licence,
    origin: `Debian package ${pkg} ${packageVersion(config, pkg)}`,
    ...(fs.existsSync(copyright) ? { copyright: path.relative(config.output, copyright) } : {}),
    files: files.map((f) => fileRecord(config, f)),
  };
}

/** The distinct "License:" values of a machine-readable (DEP-5) copyright file. */
function dep5Licences(copyright: string): string {
  if (!fs.existsSync(copyright)) return 'unknown: no copyright file';
  const names = [...new Set(fs.readFileSync(copyright, 'utf8').split('\n').filter((l) => l.startsWith('License:')).map((l) => l.slice(8).trim()))];
  return names.length ? names.join(', ') : 'see the copyright file';
}

function fileRecord(config: DataConfig, file: string): { path: string; bytes: number; sha256: string } {
  const rel = path.relative(config.output, file);
  return { path: rel.startsWith('..') ? file : rel, bytes: fs.statSync(file).size, sha256: sha256File(file) };
}

/** One record per source the config names: what it is, where it came from, its licence. */
export function describeSources(config: DataConfig): SourceRecord[] {
  const records: SourceRecord[] = [];
  if (config.debian) {
    const files = debianFiles(config);
    records.push({
      name: 'debian-packages',
      licence: config.debian.licence ?? DEBIAN_DESCRIPTIONS_LICENCE,
      origin: config.debian.files.length ? 'files named in the config' : 'apt-get update (Debian archive index, Acquire::Languages=en)',
      files: files.map((f) => fileRecord(config, f)),
    });
  }
  for (const { file, pkg } of dictionaryFiles(config)) {
    const name = `dict:${path.basename(file, '.index')}`;
    const data = [file, ...[`${file.replace(/\.index$/, '')}.dict.dz`, `${file.replace(/\.index$/, '')}.dict`].filter((f) => fs.existsSync(f)).slice(0, 1)];
    records.push(pkg !== undefined ? packageRecord(config, pkg, name, data)
      : { name, licence: config.dictionaries?.licence ?? 'not given in the config', origin: file, files: data.map((f) => fileRecord(config, f)) });
  }
  for (const { dir, pkg } of manDirs(config)) {
    const pages = listManPages([dir]);
    if (pkg !== undefined) {
      const record = packageRecord(config, pkg, `man:${pkg}`, []);
      records.push({ ...record, files: [{ path: path.relative(config.output, dir), bytes: pages.reduce((n, f) => n + fs.statSync(f).size, 0), sha256: `${pages.length} pages` }] });
    } else {
      records.push({ name: `man:${dir}`, licence: config.man_pages?.licence ?? 'per page: see /usr/share/doc/<package>/copyright of the package that installed it', origin: dir });
    }
  }
  for (const b of config.beir) {
    const files = beirFiles(b.dir, b.split);
    records.push({ name: `beir:${path.basename(b.dir)}`, licence: b.licence, origin: `${b.dir} (${b.split} split)`,
      files: [files.corpus, files.queries, files.qrels].map((f) => fileRecord(config, f)) });
  }
  for (const x of config.rag) {
    records.push({ name: `rag:${path.basename(path.dirname(x.file))}`, licence: x.licence, origin: x.file, files: [fileRecord(config, x.file)] });
  }
  return records;
}

/** Reads every configured source. Evaluation files are refused before anything is read. */
export async function loadSources(config: DataConfig, guard: EvalGuard, log: (line: string) => void): Promise<Sources> {
  for (const b of config.beir) guard.refuseEvalFile(beirFiles(b.dir, b.split).qrels, `beir training source ${b.dir} (split ${b.split})`);
  for (const x of config.rag) guard.refuseEvalFile(x.file, 'rag training source');
  const records = describeSources(config);
  const packages = config.debian ? await readPackageDescriptions(debianFiles(config)) : [];
  if (config.debian) log(`debian: ${packages.length} packages with distinct descriptions`);
  const dictionaries: DictionaryEntry[] = [];
  for (const { file } of dictionaryFiles(config)) {
    const entries = readDictionary(file);
    log(`${path.basename(file, '.index')}: ${entries.length} entries`);
    for (const e of entries) dictionaries.push(e);
  }
  const manPages: ManPage[] = [];
  const manFiles = listManPages(manDirs(config).map((d) => d.dir));
  for (const file of manFiles) {
    const page = readManPage(file);
    if (page) manPages.push(page);
  }
  if (manFiles.length) log(`man pages: ${manPages.length} of ${manFiles.length} files have a NAME section`);
  const beir: BeirDataset[] = [];
  for (const b of config.beir) beir.push(await loadBeir(b.dir, b.split));
  const rag = config.rag.map((x) => loadRagDataset(x.file));
  return { packages, dictionaries, manPages, beir, rag, records };
}
