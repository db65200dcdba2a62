/**
 * `distill pack`: what is worth committing between sessions, small: each finished model's
 * weights in float16 (config.json, tokenizer files, model.safetensors; no optimizer state),
 * and the labels gzipped with their provenance. A packed model loads with Reranker.load and
 * starts the next stage (model.init), but cannot resume its own training (no AdamW moments).
 * `distill students --from-pack` trains the students again from a pack's teacher and labels.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { readSafetensors, writeSafetensors } from '../../checkpoint/safetensors.js';
import { sha256File, writeFileAtomic } from '../../checkpoint/files.js';
import { copyTokenizerFiles, latestCheckpoint } from '../checkpoints.js';
import { FileError, InputError } from '../../errors.js';
import { distillPaths, finalTeacher, type DistillConfig, type ModelShape } from './config.js';
import { LABELS_FILE, PROVENANCE_FILE, readProvenance } from './label.js';

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

/**
 * For `distill students --from-pack DIR`: checks that DIR is a whole pack (every file's sha256 as
 * its manifest says; the labels made by the teacher packed beside them; that teacher of the
 * config's shape), restores its labels into RUN/labels (or finds them already there), and
 * returns DIR/teacher, the model students are cut from. Its weights are the teacher's in
 * float16, so a student cut from them differs from one cut from the full checkpoint by float16
 * rounding.
 */
export function unpackTeacherAndLabels(c: DistillConfig, packDir: string, teacherShape: ModelShape, log: (line: string) => void): string {
  const manifestFile = path.join(packDir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) throw new FileError(manifestFile, 'not found: --from-pack needs a folder `turborank distill pack` wrote', 'point --from-pack at RUN/pack or data/distill-pack');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { files: readonly PackedFile[] };
  const entry = (file: string): PackedFile => {
    const found = manifest.files.find((f) => f.file === file);
    if (found === undefined || !fs.existsSync(path.join(packDir, file))) {
      throw new FileError(path.join(packDir, file), 'missing from the pack', 'pack a run whose teacher and labels are finished (`turborank distill pack`)');
    }
    if (sha256File(path.join(packDir, file)) !== found.sha256) {
      throw new FileError(path.join(packDir, file), `does not match the sha256 in ${manifestFile}`, 'the pack was changed after packing: restore it (git checkout) or pack again');
    }
    return found;
  };
  const teacherWeights = entry('teacher/model.safetensors');
  entry('teacher/config.json');
  const labelsGz = entry(`${LABELS_FILE}.gz`);
  entry(PROVENANCE_FILE);
  const provenance = readProvenance(path.join(packDir, PROVENANCE_FILE));
  if (teacherWeights.from !== provenance.teacher.checkpoint) {
    throw new InputError(`${packDir}: its labels were made by ${provenance.teacher.checkpoint}, its teacher packed from ${teacherWeights.from ?? 'an unnamed checkpoint'}`,
      'pack the run again after labelling, so that teacher and labels belong together');
  }
  const config = JSON.parse(fs.readFileSync(path.join(packDir, 'teacher', 'config.json'), 'utf8')) as Record<string, unknown>;
  const mismatched = (Object.keys(teacherShape) as (keyof ModelShape)[]).filter((k) => config[k] !== teacherShape[k]);
  if (mismatched.length > 0) {
    throw new InputError(`${packDir}/teacher: ${mismatched.map((k) => `${k} ${String(config[k])}`).join(', ')}, where ${c.configPath}'s teacher has ${mismatched.map((k) => teacherShape[k]).join(', ')}`,
      'use the distillation config the pack was made with');
  }
  const labels = zlib.gunzipSync(fs.readFileSync(path.join(packDir, labelsGz.file)));
  const p = distillPaths(c);
  const labelsFile = path.join(p.labels, LABELS_FILE);
  if (fs.existsSync(labelsFile)) {
    if (!fs.readFileSync(labelsFile).equals(labels)) {
      throw new InputError(`${labelsFile} holds other labels than ${packDir}`, `delete ${p.labels} to take the pack's, or point "run" at a new folder`);
    }
    log(`students: labels from ${packDir} already in ${p.labels}`);
  } else {
    fs.mkdirSync(p.labels, { recursive: true });
    fs.copyFileSync(path.join(packDir, PROVENANCE_FILE), path.join(p.labels, PROVENANCE_FILE));
    writeFileAtomic(labelsFile, labels);
    log(`students: labels from ${packDir} → ${labelsFile}`);
  }
  log(`students: cutting from ${packDir}/teacher (float16 of ${teacherWeights.from})`);
  return path.join(packDir, 'teacher');
}
