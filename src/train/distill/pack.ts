/**
 * `distill pack`: what is worth committing between sessions, small: each finished model's
 * weights in float16 (config.json, tokenizer files, model.safetensors; no optimizer state),
 * and the labels gzipped with their provenance. A packed model loads with Reranker.load and
 * starts the next stage (model.init), but cannot resume its own training (no AdamW moments).
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { readSafetensors, writeSafetensors } from '../../checkpoint/safetensors.js';
import { sha256File } from '../../checkpoint/files.js';
import { copyTokenizerFiles, latestCheckpoint } from '../checkpoints.js';
import { distillPaths, finalTeacher, type DistillConfig } from './config.js';
import { LABELS_FILE, PROVENANCE_FILE } from './label.js';

export interface PackedFile {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly from?: string;
}

/** Writes RUN/pack/ (replacing it) from whatever stages have finished; returns what it wrote. */
export function packRun(c: DistillConfig, log: (line: string) => void): PackedFile[] {
  const p = distillPaths(c);
  const out = path.join(c.run, 'pack');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const written: PackedFile[] = [];
  const describe = (file: string, from?: string): void => {
    written.push({ file: path.relative(out, file), bytes: fs.statSync(file).size, sha256: sha256File(file), ...(from ? { from } : {}) });
  };
  const runs: [string, string][] = [['teacher', finalTeacher(c).folder]];
  for (const s of c.students.models) for (const loss of s.losses) runs.push([`${s.name}-${loss}`, p.student(s.name, loss)]);
  for (const [name, folder] of runs) {
    const checkpoint = latestCheckpoint(folder);
    if (checkpoint === undefined) continue;
    const dir = path.join(out, name);
    fs.mkdirSync(dir);
    const weights = readSafetensors(path.join(checkpoint, 'model.safetensors'));
    writeSafetensors(path.join(dir, 'model.safetensors'), weights.names().map((n) => ({ name: n, dtype: 'F16' as const, shape: weights.shape(n)!, data: weights.float32(n) })),
      { format: 'pt', producer: 'turborank distill pack', source: path.basename(checkpoint) });
    if (fs.existsSync(path.join(checkpoint, 'config.json'))) fs.copyFileSync(path.join(checkpoint, 'config.json'), path.join(dir, 'config.json'));
    copyTokenizerFiles(checkpoint, dir);
    for (const f of fs.readdirSync(dir)) describe(path.join(dir, f), f === 'model.safetensors' ? checkpoint : undefined);
    log(`pack: ${name} (${checkpoint}) in float16`);
  }
  const labels = path.join(p.labels, LABELS_FILE);
  if (fs.existsSync(labels)) {
    const gz = path.join(out, `${LABELS_FILE}.gz`);
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(labels), { level: 9 }));
    fs.copyFileSync(path.join(p.labels, PROVENANCE_FILE), path.join(out, PROVENANCE_FILE));
    describe(gz, labels);
    describe(path.join(out, PROVENANCE_FILE));
    log(`pack: labels (${fs.statSync(labels).size} bytes, gzipped ${fs.statSync(gz).size})`);
  }
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ created: new Date().toISOString(), config: c.configPath, files: written }, null, 2) + '\n');
  return written;
}
