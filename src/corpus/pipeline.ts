/**
 * The steps of `turborank data`, each reading the config, writing its outputs under the build
 * folder with a manifest.json (sources and licences, counts, seed, command, sha256 of every
 * output), and then running the overlap check on what it wrote.
 *
 *   sources → corpus → vocab        (pre-training text, WordPiece vocabulary)
 *   sources → pairs                 (teacher fine-tuning: BM25 hard negatives)
 *   sources → queries               (BM25 candidate lists for the teacher to label)
 *   check                           (the overlap check on everything built)
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { buildQuerySets } from './candidates.js';
import { builtFiles, checkFiles } from './check.js';
import type { DataConfig } from './config.js';
import { EvalGuard } from './eval-guard.js';
import { sha256File, writeManifest, type OutputFile, type StepManifest } from './output.js';
import { buildPairs } from './pairs.js';
import { buildPretrainCorpus } from './pretrain.js';
import { describeSources, fetchSources, loadSources, sourcesDir, type Sources } from './sources.js';
import { buildTasks } from './tasks.js';
import { trainVocabulary } from './vocab.js';

export const DATA_STEPS = ['sources', 'corpus', 'vocab', 'pairs', 'queries', 'check', 'all'] as const;
export type DataStep = (typeof DATA_STEPS)[number];

export interface StepOptions {
  /** The command line, recorded in manifests. */
  readonly command: string;
  readonly log: (line: string) => void;
}

export interface StepReport {
  readonly step: string;
  readonly manifest?: string;
  readonly seconds: number;
  readonly outputs: readonly OutputFile[];
  readonly counts: StepManifest['counts'];
}

export async function runDataStep(step: DataStep, config: DataConfig, options: StepOptions): Promise<StepReport[]> {
  if (!(DATA_STEPS as readonly string[]).includes(step)) {
    throw new UsageError(`unknown data step '${step}'`, `steps: ${DATA_STEPS.join(', ')}`);
  }
  fs.mkdirSync(config.output, { recursive: true });
  if (step === 'all') {
    const reports: StepReport[] = [];
    for (const s of ['sources', 'corpus', 'vocab', 'pairs', 'queries', 'check'] as const) reports.push(...(await runDataStep(s, config, options)));
    return reports;
  }
  const started = Date.now();
  const log = options.log;
  const finish = (dir: string, outputs: OutputFile[], counts: StepManifest['counts'], sources: StepManifest['sources'], settings?: Record<string, unknown>): StepReport => {
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    const manifest = writeManifest(dir, {
      step, command: options.command, seed: config.seed,
      config: { file: config.configPath, sha256: sha256File(config.configPath) },
      created: new Date().toISOString(), seconds, sources, outputs, counts, ...(settings ? { settings } : {}),
    });
    log(`${step}: done in ${seconds} s → ${path.relative(process.cwd(), dir) || '.'}`);
    return { step, manifest, seconds, outputs, counts };
  };

  switch (step) {
    case 'sources': {
      const commands = fetchSources(config, log);
      const records = describeSources(config);
      const guard = await EvalGuard.load(config);
      return [finish(sourcesDir(config), [], { sources: records.length, commands: commands.length, evaluation_sets: Object.fromEntries(guard.sets.map((s) => [s.name, s.queries])) }, records, { commands })];
    }
    case 'corpus': {
      const { guard, sources } = await prepare(config, log);
      const result = buildPretrainCorpus(config, sources, guard);
      await checkOutputs(guard, config, result.outputs, log);
      return [finish(path.join(config.output, 'corpus'), result.outputs, result.counts, sources.records, { ...config.corpus })];
    }
    case 'vocab': {
      const corpusFile = path.join(config.output, 'corpus', 'pretrain.jsonl');
      const result = await trainVocabulary(corpusFile, path.join(config.output, 'vocab'), config.output, config.vocab.size);
      log(`vocab: ${result.counts.vocab_size} tokens, ${result.counts.tokens_per_word} tokens per word, ${result.counts.unk_per_10k_tokens} [UNK] per 10k tokens`);
      const corpusManifest = path.join(config.output, 'corpus', 'manifest.json');
      const sources = fs.existsSync(corpusManifest) ? (JSON.parse(fs.readFileSync(corpusManifest, 'utf8')) as StepManifest).sources : [];
      return [finish(path.join(config.output, 'vocab'), result.outputs, result.counts, sources,
        { ...config.vocab, trainer: 'tokenizers (npm) Tokenizer.train: WordPieceTrainer defaults, BertNormalizer(lowercase, strip accents), BertPreTokenizer', corpus: path.relative(config.output, corpusFile), corpus_sha256: sha256File(corpusFile) })];
    }
    case 'pairs':
    case 'queries': {
      const { guard, sources } = await prepare(config, log);
      const { tasks, dropped } = buildTasks(sources, guard, { seed: config.seed, maxPool: config.pool_documents, documentChars: step === 'pairs' ? config.pairs.document_chars : config.queries.document_chars,
        titlePairs: config.beir.filter((b) => b.title_pairs).map((b) => path.basename(b.dir)),
        headwordInDocument: config.dictionaries?.headword_in_document ?? false });
      const result = step === 'pairs' ? buildPairs(config, tasks, log) : buildQuerySets(config, tasks, log);
      await checkOutputs(guard, config, result.outputs, log);
      const counts = { ...result.counts, eval_queries_dropped: dropped.evalQueries, eval_documents_dropped: dropped.evalDocuments, pool_documents: Object.fromEntries(tasks.map((t) => [t.name, t.documents.length])) };
      return [finish(path.join(config.output, step), result.outputs, counts, sources.records, { ...(step === 'pairs' ? config.pairs : config.queries), pool_documents: config.pool_documents,
        ...(config.dictionaries?.headword_in_document ? { dictionary_headword_in_document: true } : {}) })];
    }
    case 'check': {
      const guard = await EvalGuard.load(config);
      const files = builtFiles(config.output);
      if (files.length === 0) throw new UsageError(`nothing built in ${config.output} to check`, 'run the other data steps first (or `turborank data all`)');
      const result = await checkFiles(guard, files);
      log(`check: ${result.lines} lines in ${files.length} files, none matches the evaluation sets (${guard.sets.map((s) => s.name).join(', ')})`);
      return [finish(path.join(config.output, 'check'), [],
        { lines: result.lines, files: Object.fromEntries(result.files.map((f) => [path.relative(config.output, f.file), f.lines])), evaluation_queries: Object.fromEntries(guard.sets.map((s) => [s.name, s.queries])) }, [])];
    }
  }
}

async function prepare(config: DataConfig, log: (line: string) => void): Promise<{ guard: EvalGuard; sources: Sources }> {
  const guard = await EvalGuard.load(config);
  log(`evaluation sets guarded: ${guard.sets.map((s) => `${s.name} (${s.queries} queries${s.documents ? `, ${s.documents} documents` : ''})`).join(', ')}`);
  return { guard, sources: await loadSources(config, guard, log) };
}

async function checkOutputs(guard: EvalGuard, config: DataConfig, outputs: readonly OutputFile[], log: (line: string) => void): Promise<void> {
  const files = outputs.filter((o) => o.file.endsWith('.jsonl')).map((o) => path.join(config.output, o.file));
  const result = await checkFiles(guard, files);
  log(`overlap check: ${result.lines} lines, no evaluation query or document`);
}
