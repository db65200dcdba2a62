/**
 * The data pipeline end to end on a tiny world the test writes itself (test/corpus/fixtures.ts):
 * every step's outputs, formats the trainer reads, the trained vocabulary through our own
 * tokenizer, determinism, manifests, and the evaluation-overlap rule (dropped while building,
 * refused by the check, refused as a source).
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readDataConfig } from '../../src/corpus/config.js';
import { EvalGuard, EvalOverlapError } from '../../src/corpus/eval-guard.js';
import { runDataStep, type StepReport } from '../../src/corpus/pipeline.js';
import { loadSources } from '../../src/corpus/sources.js';
import { PairTokenizer } from '../../src/tokenizer/index.js';
import { readExamples } from '../../src/train/data.js';
import { repoRoot } from '../helpers.js';
import { BEIR_DOCS, EVAL_BEIR_QUERY, EVAL_RAG_CHUNK, EVAL_RAG_QUERY, EVAL_TREC_QUERY, writeTinyWorld, type TinyWorld } from './fixtures.js';

const quiet = { command: 'test', log: (): void => {} };

function lines(file: string): Record<string, unknown>[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('turborank data on a tiny world', () => {
  let world: TinyWorld;
  let out: string;
  let reports: StepReport[];

  before(async () => {
    world = writeTinyWorld();
    const config = readDataConfig(world.config);
    out = config.output;
    reports = await runDataStep('all', config, quiet);
  });

  test('runs every step and writes a manifest with licences, counts and sha256 of each output', () => {
    assert.deepEqual(reports.map((r) => r.step), ['sources', 'corpus', 'vocab', 'pairs', 'queries', 'check']);
    for (const report of reports) {
      const manifest = JSON.parse(fs.readFileSync(report.manifest!, 'utf8')) as { seed: number; sources: { name: string; licence: string }[]; outputs: { file: string; sha256: string; lines: number }[] };
      assert.equal(manifest.seed, 7);
      for (const o of manifest.outputs) {
        const bytes = fs.readFileSync(path.join(out, o.file));
        assert.equal(crypto.createHash('sha256').update(bytes).digest('hex'), o.sha256, `${o.file} sha256`);
      }
      if (report.step === 'corpus' || report.step === 'pairs') {
        assert.deepEqual(manifest.sources.map((s) => s.name).sort(), ['beir:tiny', 'debian-packages', 'dict:foldoc', 'dict:wn', `man:${path.join(world.root, 'man')}`, 'rag:train']);
        assert.ok(manifest.sources.every((s) => s.licence.length > 0));
      }
    }
  });

  test('the corpus holds every source, in the mlm format, without evaluation text', () => {
    const corpus = lines(path.join(out, 'corpus', 'pretrain.jsonl'));
    const sources = new Set(corpus.map((l) => l.source));
    for (const s of ['debian', 'dict:foldoc', 'dict:wn', 'man', 'beir:tiny', 'rag:train']) assert.ok(sources.has(s), `corpus has ${s}`);
    assert.ok(corpus.some((l) => String(l.text).includes('list directory contents')), 'man page NAME line');
    assert.ok(!corpus.some((l) => String(l.text).includes('.SH') || String(l.text).includes('\\f')), 'roff markup removed');
    assert.ok(!corpus.some((l) => String(l.text).includes(EVAL_RAG_CHUNK)), 'a package quoting an evaluation chunk is dropped');
    assert.ok(!corpus.some((l) => String(l.text).includes(EVAL_BEIR_QUERY)), 'and the long evaluation query with it');
    assert.ok(corpus.some((l) => String(l.text).includes(EVAL_TREC_QUERY)), 'a short query inside a longer text is ordinary prose: kept');
    assert.ok(readExamples(path.join(out, 'corpus', 'pretrain.jsonl'), { name: 'mlm' }).length === corpus.length);
    const counts = reports.find((r) => r.step === 'corpus')!.counts;
    assert.ok((counts.eval_matches_dropped as number) >= 1);
  });

  test('the vocabulary loads in our tokenizer: BERT specials, lower case, [CLS] A [SEP] B [SEP]', async () => {
    const tokenizer = await PairTokenizer.load(path.join(out, 'vocab', 'tokenizer.json'));
    assert.equal(tokenizer.kind, 'wordpiece');
    assert.deepEqual([tokenizer.padId, tokenizer.tokenId('[UNK]'), tokenizer.clsId, tokenizer.sepId, tokenizer.maskId], [0, 1, 2, 3, 4]);
    assert.equal(tokenizer.vocabSize, 400);
    const [upper] = await tokenizer.encodePairs([{ query: 'GNU Shell', document: 'Copy FILES' }], 64);
    const [lower] = await tokenizer.encodePairs([{ query: 'gnu shell', document: 'copy files' }], 64);
    assert.deepEqual([...upper!.ids], [...lower!.ids], 'lower-cased');
    const ids = [...lower!.ids];
    assert.equal(ids[0], 2);
    assert.equal(ids.filter((i) => i === 3).length, 2);
    assert.ok(!ids.includes(1), 'corpus words are in the vocabulary, no [UNK]');
    assert.deepEqual([...lower!.typeIds].slice(0, ids.indexOf(3) + 1).every((t) => t === 0), true);
    assert.equal(lower!.typeIds[ids.length - 1], 1);
  });

  test('pairs: positives and BM25 hard negatives in the bce format, no evaluation query', () => {
    const train = path.join(out, 'pairs', 'train.jsonl');
    const examples = readExamples(train, { name: 'bce' });
    const pairs = lines(train).concat(lines(path.join(out, 'pairs', 'dev.jsonl')));
    assert.equal(examples.length, lines(train).length);
    assert.ok(pairs.some((p) => p.label === 1) && pairs.some((p) => p.label === 0));
    const bash = pairs.filter((p) => p.source === 'debian' && p.query === 'GNU Bourne Again SHell');
    assert.ok(bash.some((p) => p.label === 1 && String(p.document).startsWith('Bash is an sh-compatible')));
    assert.ok(bash.filter((p) => p.label === 0).every((p) => p.document_id !== 'bash'), 'negatives are never the positive');
    const scifact = pairs.filter((p) => p.source === 'beir:tiny');
    assert.deepEqual([...new Set(scifact.map((p) => p.query_id))].sort(), ['t1', 't2', 't3', 't4'], 'train-split queries only');
    assert.ok(!pairs.some((p) => p.query === EVAL_BEIR_QUERY || p.document === EVAL_RAG_CHUNK));
    const counts = reports.find((r) => r.step === 'pairs')!.counts;
    assert.ok((counts.eval_queries_dropped as number) >= 1 && (counts.eval_documents_dropped as number) >= 1);
  });

  test('query sets: BM25 candidate lists, unlabelled queries included, documents stored once', () => {
    const queries = lines(path.join(out, 'queries', 'queries.jsonl'));
    const documents = new Map(lines(path.join(out, 'queries', 'documents.jsonl')).map((d) => [d.id, d.text]));
    assert.ok(queries.some((q) => q.kind === 'unlabelled'), 'queries no one labelled');
    assert.ok(queries.some((q) => q.kind === 'labelled'));
    for (const q of queries) {
      const candidates = q.candidates as { id: string; bm25: number }[];
      assert.ok(candidates.length >= 1 && candidates.length <= 3);
      for (let i = 1; i < candidates.length; i++) assert.ok(candidates[i - 1]!.bm25 >= candidates[i]!.bm25);
      for (const c of candidates) assert.ok(documents.has(c.id), `${c.id} stored`);
    }
    assert.equal(documents.size, new Set(queries.flatMap((q) => (q.candidates as { id: string }[]).map((c) => c.id))).size);
  });

  test('pairs: random_negatives adds easy negatives from the pool; queries_per_task caps one task and refuses an unknown name', async () => {
    const easy = readDataConfig(world.variant('easy', (c) => {
      c.pairs = { queries_per_source: 50, queries_per_task: { 'dict:wn': 1 }, negatives: 2, random_negatives: 1, negative_depth: 5, dev_fraction: 0, document_chars: 500 };
    }), path.join(world.root, 'easy-out'));
    await runDataStep('sources', easy, quiet);
    const [report] = await runDataStep('pairs', easy, quiet);
    const pairs = lines(path.join(easy.output, 'pairs', 'train.jsonl'));
    const before = lines(path.join(out, 'pairs', 'train.jsonl')).concat(lines(path.join(out, 'pairs', 'dev.jsonl')));
    const queries = (rows: Record<string, unknown>[], source: string): number => new Set(rows.filter((p) => p.source === source).map((p) => p.query_id)).size;
    assert.equal(queries(pairs, 'dict:wn'), 1, 'dict:wn capped at 1 query');
    assert.equal(queries(pairs, 'dict:foldoc'), queries(before, 'dict:foldoc'), 'other tasks keep queries_per_source');
    const easyRows = pairs.filter((p) => p.negative === 'easy');
    assert.ok(easyRows.length > 0 && easyRows.every((p) => p.label === 0));
    assert.equal(report!.counts.easy_negatives, easyRows.length);
    const byQuery = new Map<string, Record<string, unknown>[]>();
    for (const p of pairs) {
      const key = `${String(p.source)}|${String(p.query_id)}`;
      byQuery.set(key, [...byQuery.get(key) ?? [], p]);
    }
    for (const [id, rows] of byQuery) {
      const negatives = rows.filter((p) => p.label === 0).map((p) => p.document_id);
      assert.equal(new Set(negatives).size, negatives.length, `${id}: no negative twice`);
      assert.ok(!rows.some((p) => p.label === 0 && rows.some((q) => q.label === 1 && q.document_id === p.document_id)), `${id}: no positive as negative`);
    }
    const typo = readDataConfig(world.variant('typo', (c) => { c.pairs = { queries_per_task: { 'dict:wordnet': 5 } }; }), path.join(world.root, 'easy-out'));
    await assert.rejects(runDataStep('pairs', typo, quiet), /queries_per_task names 'dict:wordnet'[\s\S]*use one of: .*dict:wn/);
  });

  test('pairs: title_pairs adds title → abstract pairs from the BEIR corpus, kept out of the query sets', async () => {
    const titled = readDataConfig(world.variant('titled', (c) => {
      c.beir = [{ dir: 'beir/tiny', split: 'train', licence: 'test data', title_pairs: true }];
    }), path.join(world.root, 'titled-out'));
    await runDataStep('sources', titled, quiet);
    await runDataStep('pairs', titled, quiet);
    await runDataStep('queries', titled, quiet);
    const pairs = lines(path.join(titled.output, 'pairs', 'train.jsonl')).concat(lines(path.join(titled.output, 'pairs', 'dev.jsonl')));
    const rows = pairs.filter((p) => p.source === 'beir:tiny-title-abstract');
    const positives = rows.filter((p) => p.label === 1);
    assert.ok(positives.length >= 3, `${positives.length} title pairs`);
    for (const p of positives) {
      const paper = BEIR_DOCS.find((d) => d._id === p.document_id)!;
      assert.deepEqual([p.query, p.document], [paper.title, paper.text], 'the title asks for its own abstract, the title left out of the document');
    }
    assert.ok(rows.some((p) => p.label === 0) && rows.filter((p) => p.label === 0).every((p) => !String(p.document).includes(String(p.query))));
    const others = (file: string): string => lines(file).filter((p) => p.source !== 'beir:tiny-title-abstract').map((p) => JSON.stringify(p)).join('\n');
    assert.equal(others(path.join(titled.output, 'pairs', 'train.jsonl')), others(path.join(out, 'pairs', 'train.jsonl')), 'the other tasks\' pairs are unchanged');
    const queries = lines(path.join(titled.output, 'queries', 'queries.jsonl'));
    assert.ok(!queries.some((q) => String(q.source).endsWith('-title-abstract')), 'the titles are already asked there, unlabelled');
    assert.equal(queries.length, lines(path.join(out, 'queries', 'queries.jsonl')).length);
    assert.equal(pairs.some((p) => p.source === 'beir:tiny-title-abstract'), true);
    assert.equal(lines(path.join(out, 'pairs', 'train.jsonl')).some((p) => p.source === 'beir:tiny-title-abstract'), false, 'off by default');
  });

  test('dictionaries.headword_in_document: each definition starts with its headword, so the word asked about is in its answer; off by default', async () => {
    const headed = readDataConfig(world.variant('headed', (c) => {
      c.dictionaries = { files: ['dict/foldoc.index', 'dict/wn.index'], licence: 'test data', headword_in_document: true };
    }), path.join(world.root, 'headed-out'));
    await runDataStep('sources', headed, quiet);
    await runDataStep('pairs', headed, quiet);
    await runDataStep('queries', headed, quiet);
    const positives = (dir: string): Map<string, string> => new Map(['train.jsonl', 'dev.jsonl'].flatMap((f) => lines(path.join(dir, 'pairs', f)))
      .filter((p) => String(p.source).startsWith('dict:') && p.label === 1)
      .map((p) => [`${String(p.source)}|${String(p.query_id)}|${String(p.query)}`, String(p.document)]));
    const plain = positives(out);
    const headedPositives = positives(headed.output);
    assert.ok(plain.size > 0);
    // Every question asked before is asked again (one with no BM25 negative before may now have one, and join).
    for (const [key, definition] of plain) {
      const document = headedPositives.get(key);
      assert.ok(document !== undefined, `${key} still asked`);
      const headword = document.slice(0, Math.max(0, document.length - definition.length - 2));
      assert.equal(document, `${headword}: ${definition}`, `${key}: "headword: " and the definition`);
      assert.ok(headword.length > 0 && key.toLowerCase().includes(headword.toLowerCase()), `${key}: the word asked about (${headword}) is in its answer`);
      assert.ok(!definition.startsWith(`${headword}: `), 'not by default');
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(headed.output, 'pairs', 'manifest.json'), 'utf8')) as { settings: Record<string, unknown> };
    assert.equal(manifest.settings.dictionary_headword_in_document, true, 'recorded in the manifest');
    const queryDocuments = new Map(lines(path.join(headed.output, 'queries', 'documents.jsonl')).map((d) => [String(d.id), String(d.text)]));
    const dictQuery = lines(path.join(headed.output, 'queries', 'queries.jsonl')).find((q) => String(q.source).startsWith('dict:'))!;
    assert.ok((dictQuery.candidates as { id: string }[]).every((c) => /^[^:]+: /.test(queryDocuments.get(c.id)!)), 'the query sets\' dictionary candidates too');
  });

  test('is deterministic: the same config and seed give the same bytes', async () => {
    const again = readDataConfig(world.config, path.join(world.root, 'again'));
    const second = [...await runDataStep('corpus', again, quiet), ...await runDataStep('pairs', again, quiet)];
    const first = reports.filter((r) => r.step === 'corpus' || r.step === 'pairs');
    assert.deepEqual(second.flatMap((r) => r.outputs.map((o) => o.sha256)), first.flatMap((r) => r.outputs.map((o) => o.sha256)));
  });

  test('the check refuses a built file holding an evaluation query, with the CLI exiting 1', async () => {
    const config = readDataConfig(world.config, path.join(world.root, 'tainted'));
    fs.mkdirSync(path.join(config.output, 'pairs'), { recursive: true });
    fs.writeFileSync(path.join(config.output, 'pairs', 'train.jsonl'),
      JSON.stringify({ query: 'GNU Bourne Again SHell', document: 'Bash', label: 1 }) + '\n' +
      JSON.stringify({ query: `  ${EVAL_RAG_QUERY.toUpperCase()}  `, document: 'anything', label: 0 }) + '\n');
    await assert.rejects(runDataStep('check', config, quiet), (err: unknown) =>
      err instanceof EvalOverlapError && /line 2: "query" matches rag:eval/.test(err.message));
    const cli = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'turborank.js'), 'data', 'check', '--config', world.config, '--out', config.output], { encoding: 'utf8' });
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, /match evaluation data/);
    const bogus = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'turborank.js'), 'data', 'bogus', '--config', world.config], { encoding: 'utf8' });
    assert.equal(bogus.status, 2);
    assert.match(bogus.stderr, /unknown data step 'bogus'[\s\S]*sources, corpus, vocab, pairs, queries, check, all/);
  });

  test('refuses to read evaluation qrels as a training source, and to run with no evaluation sets', async () => {
    const onTest = readDataConfig(world.variant('train-on-test', (c) => { c.beir = [{ dir: 'beir/tiny', split: 'test', licence: 'x' }]; }));
    const guard = await EvalGuard.load(onTest);
    await assert.rejects(loadSources(onTest, guard, () => {}), (err: unknown) => err instanceof EvalOverlapError && /qrels[/\\]test\.tsv is evaluation data/.test(err.message));
    const ragEval = readDataConfig(world.variant('rag-eval', (c) => { c.rag = [{ file: 'rag/eval/qa_dataset.json', licence: 'x' }]; }));
    await assert.rejects(loadSources(ragEval, guard, () => {}), EvalOverlapError);
    const blind = readDataConfig(world.variant('blind', (c) => { c.evaluation = {}; }));
    await assert.rejects(EvalGuard.load(blind), /names no evaluation sets/);
  });
});
