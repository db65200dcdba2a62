/**
 * The committed data pipeline configs: data/pipeline.json (the shipped models' data) and
 * data/pipeline-headword.json (the same with dictionary documents that hold their headword,
 * docs/DISTILL.md). The variant must differ from the main config in that setting and its
 * output folder alone, or results measured on it would mix two changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readDataConfig } from '../../src/corpus/config.js';
import { repoRoot } from '../helpers.js';

test('data/pipeline-headword.json is data/pipeline.json with headword_in_document and its own output folder', () => {
  const main = readDataConfig(path.join(repoRoot, 'data', 'pipeline.json'));
  const headword = readDataConfig(path.join(repoRoot, 'data', 'pipeline-headword.json'));
  assert.equal(main.dictionaries?.headword_in_document, false);
  assert.equal(headword.dictionaries?.headword_in_document, true);
  assert.notEqual(headword.output, main.output);
  const { configPath: _a, output: _b, dictionaries: d1, ...restMain } = main;
  const { configPath: _c, output: _d, dictionaries: d2, ...restHeadword } = headword;
  assert.deepEqual(restHeadword, restMain);
  assert.deepEqual({ ...d2, headword_in_document: false }, d1);
});
