/**
 * Writing the pipeline's outputs: JSON Lines written to a temporary file and renamed into
 * place when complete (a crash never leaves a half file under the final name), with the
 * sha256, size and line count a manifest records; and the manifests themselves.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface OutputFile {
  /** Relative to the build folder. */
  readonly file: string;
  readonly lines: number;
  readonly bytes: number;
  readonly sha256: string;
}

export class JsonlWriter {
  private readonly tmp: string;
  private readonly fd: number;
  private readonly hash = crypto.createHash('sha256');
  private buffer: string[] = [];
  private buffered = 0;
  private lines = 0;
  private bytes = 0;

  constructor(private readonly file: string, private readonly root: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.tmp = `${file}.${process.pid}.tmp`;
    this.fd = fs.openSync(this.tmp, 'w');
  }

  write(record: object): void {
    const line = JSON.stringify(record) + '\n';
    this.buffer.push(line);
    this.buffered += line.length;
    this.lines++;
    if (this.buffered > 1 << 20) this.flush();
  }

  get count(): number {
    return this.lines;
  }

  close(): OutputFile {
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    fs.renameSync(this.tmp, this.file);
    return { file: path.relative(this.root, this.file), lines: this.lines, bytes: this.bytes, sha256: this.hash.digest('hex') };
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const chunk = Buffer.from(this.buffer.join(''), 'utf8');
    this.hash.update(chunk);
    this.bytes += chunk.length;
    fs.writeSync(this.fd, chunk);
    this.buffer = [];
    this.buffered = 0;
  }
}

/** Writes a whole file atomically and describes it. */
export function writeFileAtomic(file: string, content: string | Buffer, root: string): OutputFile {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
  const lines = bytes.length === 0 ? 0 : bytes.toString('utf8').split('\n').length - (bytes[bytes.length - 1] === 10 ? 1 : 0);
  return { file: path.relative(root, file), lines, bytes: bytes.length, sha256: sha256(bytes) };
}

export function sha256(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

export { sha256File } from '../checkpoint/files.js';

/** What every step writes beside its outputs as manifest.json. */
/** What a data step built: its files, and the counts its manifest records. */
export interface StepResult {
  readonly outputs: OutputFile[];
  readonly counts: Record<string, number | Record<string, number>>;
}

export interface StepManifest {
  readonly step: string;
  readonly command: string;
  readonly seed: number;
  readonly config: { readonly file: string; readonly sha256: string };
  readonly created: string;
  readonly seconds: number;
  /** Where the data came from and under what licence. */
  readonly sources: readonly SourceRecord[];
  readonly outputs: readonly OutputFile[];
  readonly counts: Readonly<Record<string, number | Record<string, number>>>;
  readonly settings?: Readonly<Record<string, unknown>>;
}

export interface SourceRecord {
  /** A stable short name: "debian-packages", "dict:gcide", "man-pages", "beir:scifact", "rag:lyft-10k". */
  readonly name: string;
  readonly licence: string;
  /** Package name and version, or the file/folder it was read from. */
  readonly origin: string;
  /** The Debian copyright file, where there is one. */
  readonly copyright?: string;
  readonly files?: readonly { readonly path: string; readonly bytes: number; readonly sha256: string }[];
}

export function writeManifest(dir: string, manifest: StepManifest): string {
  const file = path.join(dir, 'manifest.json');
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(manifest, null, 2) + '\n');
  fs.renameSync(tmp, file);
  return file;
}
