/**
 * A tiny world of offline sources, written by the tests themselves: an apt Translation-en
 * index, two dictd dictionaries (one gzipped, one plain), man pages (plain, gzipped, a .so
 * link), a BEIR folder with train and test qrels, a training RAG set, and the evaluation data
 * (the BEIR test split, a TREC DL folder, an evaluation RAG set). Some training items are
 * deliberately evaluation data, so the pipeline must drop them.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { tempDir } from '../helpers.js';

/** Evaluation queries, one per evaluation set. */
export const EVAL_BEIR_QUERY = 'Aspirin lowers the risk of a second heart attack.';
export const EVAL_TREC_QUERY = 'how long do sea turtles live';
export const EVAL_RAG_QUERY = 'What did the author work on before college?';
/** An evaluation-only document (a chunk of the evaluation RAG set). */
export const EVAL_RAG_CHUNK = 'Before college the two main things I worked on, outside of school, were writing and programming.';

const PACKAGES: [string, string, string][] = [
  ['bash', 'GNU Bourne Again SHell', 'Bash is an sh-compatible command language interpreter that executes commands read from the standard input or from a file.'],
  ['coreutils', 'GNU core utilities', 'This package contains the basic file, shell and text manipulation utilities which are expected to exist on every operating system.'],
  ['grep', 'GNU grep, egrep and fgrep', 'grep is a utility to search for text in files; it can be used from the command line or in scripts.'],
  ['gzip', 'GNU compression utilities', 'This package provides the standard GNU file compression utilities, which are also the default compression tools for Debian.'],
  ['tar', 'GNU version of the tar archiving utility', 'Tar is a program for packaging a set of files as a single archive in tar format.'],
  ['vim', 'Vi IMproved - enhanced vi editor', 'Vim is an almost compatible version of the UNIX editor Vi, with many new features such as multi level undo and syntax highlighting.'],
  ['curl', 'command line tool for transferring data with URL syntax', 'curl is a command line tool for transferring data with URL syntax, supporting HTTP, HTTPS, FTP and many more protocols.'],
  ['python3', 'interactive high-level object-oriented language', 'Python is an interactive, object-oriented, extensible programming language that combines remarkable power with very clear syntax.'],
  ['sqlite3', 'Command line interface for SQLite 3', 'SQLite is a C library that implements an SQL database engine; programs linked with it can have SQL database access without a separate server.'],
  ['openssh-client', 'secure shell (SSH) client, for secure access to remote machines', 'This is the portable version of OpenSSH, a free implementation of the Secure Shell protocol as specified by the IETF secsh working group.'],
  // Evaluation data disguised as a package: its summary is an evaluation query (dropped from
  // the queries) and its description an evaluation-only chunk (dropped from the documents).
  ['leaky', EVAL_BEIR_QUERY, EVAL_RAG_CHUNK],
];

const GLOSSARY: [string, string][] = [
  ['kernel', 'The essential part of an operating system, responsible for resource allocation, low-level hardware interfaces and security.'],
  ['compiler', 'A program that translates a high-level language into machine code or another lower-level language.'],
  ['daemon', 'A program that is not invoked explicitly but lies dormant waiting for some condition to occur.'],
  ['shell', 'A command interpreter: the program that reads commands typed by a user and runs other programs.'],
  ['archive', 'A single file containing one or more files, usually compressed, for storage or transfer.'],
  ['editor', 'A program used to create and change text files, such as source code or configuration files.'],
  ['protocol', 'A set of formal rules describing how to transmit data, especially across a network.'],
  ['database', 'One or more large structured sets of persistent data, usually associated with software to update and query the data.'],
  ['turtle', EVAL_TREC_QUERY],
];

const WORDS: [string, string][] = [
  ['aspirin', 'n 1: the acetylated derivative of salicylic acid; used as an analgesic anti-inflammatory drug [syn: {aspirin}, {acetylsalicylic acid}]'],
  ['heart', 'n 1: the locus of feelings and intuitions; the hollow muscular organ that pumps the blood'],
  ['zebra', 'n 1: any of several fleet black-and-white striped African equines'],
  ['river', 'n 1: a large natural stream of water (larger than a creek)'],
  ['mountain', 'n 1: a land mass that projects well above its surroundings; higher than a hill'],
  ['library', 'n 1: a room where books are kept; a collection of literary documents or records kept for reference'],
  ['protein', 'n 1: any of a large group of nitrogenous organic compounds that are essential constituents of living cells'],
  ['vaccine', 'n 1: immunogen consisting of a suspension of weakened or dead pathogenic cells injected to stimulate the production of antibodies'],
];

export const BEIR_DOCS = [
  { _id: 'd1', title: 'Aspirin and cardiovascular prevention', text: 'Low-dose aspirin reduces the risk of recurrent myocardial infarction in patients with prior heart disease.' },
  { _id: 'd2', title: 'Vaccines and antibodies', text: 'Vaccination stimulates the production of neutralising antibodies against the pathogen.' },
  { _id: 'd3', title: 'Protein folding in cells', text: 'Chaperone proteins assist the folding of newly synthesised polypeptides in living cells.' },
  { _id: 'd4', title: 'Exercise and blood pressure', text: 'Regular aerobic exercise lowers systolic blood pressure in adults with hypertension.' },
  { _id: 'd5', title: 'Statins and cholesterol', text: 'Statin therapy lowers LDL cholesterol and the incidence of major vascular events.' },
  { _id: 'd6', title: 'Sleep and memory', text: 'Sleep after learning improves the consolidation of declarative memory.' },
];
const BEIR_QUERIES = [
  { _id: 't1', text: 'Vaccination induces neutralising antibodies.' },
  { _id: 't2', text: 'Chaperones help proteins fold.' },
  { _id: 't3', text: 'Aerobic exercise reduces blood pressure.' },
  { _id: 't4', text: 'Statins reduce vascular events.' },
  { _id: 'e1', text: EVAL_BEIR_QUERY },
  { _id: 'e2', text: 'Sleep improves memory consolidation.' },
];

export interface TinyWorld {
  readonly root: string;
  readonly config: string;
  /** Writes a config variant next to the main one and returns its path. */
  variant(name: string, change: (config: Record<string, unknown>) => void): string;
}

export function writeTinyWorld(): TinyWorld {
  const root = tempDir('turborank-data-test-');
  const w = (file: string, content: string | Buffer): void => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  };
  w('apt/Translation-en', PACKAGES.map(([name, summary, long]) =>
    `Package: ${name}\nDescription-md5: 00000000000000000000000000000000\nDescription-en: ${summary}\n ${long}\n .\n Second paragraph of ${name}.\n`).join('\n'));
  writeDictd(root, 'dict/foldoc', GLOSSARY, false);
  writeDictd(root, 'dict/wn', WORDS, true);
  w('man/man1/ls.1', '.\\" comment\n.TH LS 1\n.SH NAME\nls \\- list directory contents\n.SH SYNOPSIS\n.B ls\n[\\fIOPTION\\fR]... [\\fIFILE\\fR]...\n.SH DESCRIPTION\nList information about the FILEs (the current directory by default).\nSort entries alphabetically if none of\n.B \\-cftuvSUX\nis specified.\n');
  w('man/man1/cp.1', '.TH CP 1\n.SH NAME\ncp \\- copy files and directories\n.SH DESCRIPTION\nCopy SOURCE to DEST, or multiple SOURCE(s) to DIRECTORY.\n');
  w('man/man1/mv.1.gz', zlib.gzipSync('.TH MV 1\n.SH NAME\nmv \\- move (rename) files\n.SH DESCRIPTION\nRename SOURCE to DEST, or move SOURCE(s) to DIRECTORY.\n'));
  w('man/man1/dir.1', '.so man1/ls.1\n');
  w('man/man2/open.2', '.TH open 2\n.SH NAME\nopen, openat \\- open and possibly create a file\n.SH DESCRIPTION\nThe\n.BR open ()\nsystem call opens the file specified by\n.IR pathname .\n');
  w('beir/tiny/corpus.jsonl', BEIR_DOCS.map((d) => JSON.stringify(d)).join('\n') + '\n');
  w('beir/tiny/queries.jsonl', BEIR_QUERIES.map((q) => JSON.stringify(q)).join('\n') + '\n');
  w('beir/tiny/qrels/train.tsv', 'query-id\tcorpus-id\tscore\r\nt1\td2\t1\r\nt2\td3\t1\r\nt3\td4\t1\r\nt4\td5\t1\r\n');
  w('beir/tiny/qrels/test.tsv', 'query-id\tcorpus-id\tscore\ne1\td1\t1\ne2\td6\t1\n');
  w('rag/train/qa_dataset.json', JSON.stringify({
    queries: { q1: 'What was the revenue growth?', q2: 'Who are the competitors?', q3: 'What are the main risks to the business?' },
    corpus: { c1: 'Revenue grew 36% year over year to 3.2 billion dollars.', c2: 'We compete with Uber, taxi companies and public transit.', c3: 'Our business depends on attracting drivers and riders; regulation is a risk.' },
    relevant_docs: { q1: ['c1'], q2: ['c2'], q3: ['c3'] },
  }));
  w('rag/eval/qa_dataset.json', JSON.stringify({
    queries: { p1: EVAL_RAG_QUERY, p2: 'Where did the author go to art school?' },
    corpus: { k1: EVAL_RAG_CHUNK, k2: 'I went to art school at RISD and later to the Accademia in Florence.' },
    relevant_docs: { p1: ['k1'], p2: ['k2'] },
  }));
  w('trec/dl/bm25-top100.json', JSON.stringify([
    { query: EVAL_TREC_QUERY, hits: [{ qid: 1, docid: 'p1', content: 'Sea turtles can live for more than fifty years in the wild.', score: 9.5 }] },
  ]));
  w('trec/dl/qrels.txt', '1 0 p1 3\n');
  const config = {
    seed: 7,
    output: 'build',
    debian: { files: ['apt/Translation-en'] },
    dictionaries: { files: ['dict/foldoc.index', 'dict/wn.index'], licence: 'test data' },
    man_pages: { dirs: ['man'], licence: 'test data' },
    beir: [{ dir: 'beir/tiny', split: 'train', licence: 'test data' }],
    rag: [{ file: 'rag/train/qa_dataset.json', licence: 'test data' }],
    evaluation: { beir: [{ dir: 'beir/tiny', split: 'test' }], trec_dl: ['trec/dl'], rag: ['rag/eval/qa_dataset.json'] },
    corpus: { max_megabytes: 1, chunk_chars: 200 },
    vocab: { size: 400 },
    pairs: { queries_per_source: 50, negatives: 2, negative_depth: 5, dev_fraction: 0.2, document_chars: 500 },
    queries: { per_source: 50, candidates: 3, document_chars: 500 },
  };
  const configFile = path.join(root, 'pipeline.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  return {
    root,
    config: configFile,
    variant(name, change) {
      const copy = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
      change(copy);
      const file = path.join(root, `${name}.json`);
      fs.writeFileSync(file, JSON.stringify(copy, null, 2));
      return file;
    },
  };
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function encodeDictNumber(n: number): string {
  let s = '';
  do { s = B64[n % 64]! + s; n = Math.floor(n / 64); } while (n > 0);
  return s;
}

/** dictd files: each entry is the headword line, then the indented definition. */
function writeDictd(root: string, base: string, entries: [string, string][], gzip: boolean): void {
  const parts: Buffer[] = [];
  const index: string[] = [];
  let offset = 0;
  const info = Buffer.from('00-database-info\n   This file was converted by a test.\n');
  index.push(`00-database-info\t${encodeDictNumber(0)}\t${encodeDictNumber(info.length)}`);
  parts.push(info);
  offset += info.length;
  for (const [headword, definition] of entries) {
    const entry = Buffer.from(`${headword}\n    ${definition}\n\n`);
    index.push(`${headword}\t${encodeDictNumber(offset)}\t${encodeDictNumber(entry.length)}`);
    parts.push(entry);
    offset += entry.length;
  }
  const dir = path.dirname(path.join(root, base));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(root, `${base}.index`), index.join('\n') + '\n');
  const data = Buffer.concat(parts);
  fs.writeFileSync(path.join(root, gzip ? `${base}.dict.dz` : `${base}.dict`), gzip ? zlib.gzipSync(data) : data);
}
