/**
 * Small file-system helpers for the checkpoint layer: read and write whole files with errors
 * that name the path and say what went wrong in words, not errno codes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { constants as bufferConstants } from 'node:buffer';
import { FileError } from '../errors.js';

/** A Node file-system error described for a person. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read or written (permission denied)';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'ENOTDIR':
      return 'cannot be reached: a part of its path is a file, not a folder';
    case 'ELOOP':
      return 'cannot be reached: too many symbolic links on the way (a link that points back to itself?)';
    case 'ENOSPC':
      return 'could not be written: the disk is full';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/**
 * What is at `p`, or undefined when nothing is (ENOENT). Anything else that stops us from
 * looking (permission denied, a file used as a folder, a symlink loop) is a FileError naming
 * the path, never a raw errno error.
 */
export function statPath(p: string, hint?: string): fs.Stats | undefined {
  try {
    return fs.statSync(p, { throwIfNoEntry: false });
  } catch (error) {
    throw new FileError(p, describeFsError(error), hint, { cause: error });
  }
}

/** Whether `p` is a file; a path through a file (ENOTDIR) is simply not one. */
export function isFile(p: string): boolean {
  return statOrNotThere(p)?.isFile() ?? false;
}

export function isDirectory(p: string): boolean {
  return statOrNotThere(p)?.isDirectory() ?? false;
}

function statOrNotThere(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new FileError(p, describeFsError(error), undefined, { cause: error });
  }
}

// fs.readSync moves at most 2 GiB per call; read in 1 GiB steps.
const READ_CHUNK = 1 << 30;

/**
 * The whole file in one Buffer of its own (byteOffset 0, not a slice of Node's shared pool), so
 * that typed-array views into it are aligned to the file's own offsets.
 */
export function readFileBytes(file: string): Buffer {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    return readOpenFile(fd, file);
  } catch (error) {
    if (error instanceof FileError) throw error;
    throw new FileError(file, describeFsError(error), undefined, { cause: error });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function readOpenFile(fd: number, file: string): Buffer {
  const size = fs.fstatSync(fd).size;
  if (size > bufferConstants.MAX_LENGTH) {
    throw new FileError(file, `is ${size} bytes, more than this Node.js can hold in memory (${bufferConstants.MAX_LENGTH})`);
  }
  const bytes = Buffer.allocUnsafeSlow(size);
  let done = 0;
  while (done < size) {
    const n = fs.readSync(fd, bytes, done, Math.min(READ_CHUNK, size - done), done);
    if (n === 0) throw new FileError(file, `shrank from ${size} to ${done} bytes while being read`, 'is another program writing it? try again');
    done += n;
  }
  return bytes;
}

/**
 * `length` bytes of a file from `offset`, in a Buffer of their own (byteOffset 0, so typed-array
 * views into it are aligned), and the file's size; a FileError naming the path when it cannot.
 */
export function readFileRange(file: string, offset: number, length: number): { bytes: Buffer; fileSize: number } {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const fileSize = fs.fstatSync(fd).size;
    const bytes = Buffer.allocUnsafeSlow(Math.max(0, Math.min(length, fileSize - offset)));
    let done = 0;
    while (done < bytes.length) {
      const n = fs.readSync(fd, bytes, done, Math.min(READ_CHUNK, bytes.length - done), offset + done);
      if (n === 0) throw new FileError(file, `shrank to ${offset + done} bytes while being read`, 'is another program writing it? try again');
      done += n;
    }
    return { bytes, fileSize };
  } catch (error) {
    if (error instanceof FileError) throw error;
    throw new FileError(file, describeFsError(error), undefined, { cause: error });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** A text file's contents, with a FileError naming the path when it cannot be read. */
export function readTextFile(file: string, hint?: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new FileError(file, describeFsError(error), hint, { cause: error });
  }
}

/**
 * Writes `bytes` to `file` so that readers see either the old file or the whole new one, never a
 * half-written one: write a temporary file in the same folder, fsync it, rename it over `file`.
 */
export function writeFileAtomic(file: string, bytes: Uint8Array): void {
  const dir = path.dirname(path.resolve(file));
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = fs.openSync(temp, 'wx');
    try {
      writeAll(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw new FileError(file, `could not be written: ${describeFsError(error)}`, 'check that the folder exists, is writable and has room', {
      cause: error,
    });
  }
  syncDirectory(dir);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) {
    done += fs.writeSync(fd, bytes, done, Math.min(READ_CHUNK, bytes.length - done));
  }
}

/** Makes the rename itself durable. Some platforms cannot fsync a directory; the file is safe anyway. */
function syncDirectory(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Not supported here (e.g. Windows): the data itself was already fsynced.
  }
}

/** The sha256 of a file, read in 1 MiB pieces (checkpoints and data builds are large). */
export function sha256File(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}
