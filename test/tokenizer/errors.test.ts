import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InputError, TokenizerError } from '../../src/errors.js';
import { PairTokenizer } from '../../src/tokenizer/index.js';
import { fixtureDir, tempDir } from '../helpers.js';

const dir = tempDir('turborank-tokenizer-errors-');
const wordPiecePath = path.join(fixtureDir('jinabert-tiny-golden'), 'tokenizer.json');
const bpePath = path.join(fixtureDir('jinabert-bpe-golden'), 'tokenizer.json');

/** A copy of the WordPiece fixture's tokenizer.json with `edit` applied. */
function editedCopy(name: string, edit: (json: Record<string, unknown>) => void): string {
  const json = JSON.parse(fs.readFileSync(wordPiecePath, 'utf8')) as Record<string, unknown>;
  edit(json);
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(json));
  return file;
}

function tokenizerError(file: string, pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof TokenizerError, `expected TokenizerError, got ${String(err)}`);
    assert.equal(err.path, file);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('loading a tokenizer.json that cannot be used', () => {
  it('names a missing file', async () => {
    const file = path.join(dir, 'nothing-here', 'tokenizer.json');
    await assert.rejects(PairTokenizer.load(file), tokenizerError(file, /no such file/));
  });

  it('names a file that is not JSON', async () => {
    const file = path.join(dir, 'truncated.json');
    fs.writeFileSync(file, fs.readFileSync(wordPiecePath, 'utf8').slice(0, 500));
    await assert.rejects(PairTokenizer.load(file), tokenizerError(file, /not valid JSON/));
  });

  for (const type of ['WordLevel', 'Foo']) {
    it(`refuses model type ${type}, saying which models are supported`, async () => {
      const file = editedCopy(`${type}.json`, (json) => { (json.model as Record<string, unknown>).type = type; });
      await assert.rejects(PairTokenizer.load(file), tokenizerError(file,
        new RegExp(`unsupported tokenizer model '${type}'.*supports WordPiece, BPE \\(byte-level\\) and Unigram`)));
    });
  }

  it('refuses a file without a pad token', async () => {
    const file = editedCopy('no-pad.json', (json) => {
      json.added_tokens = (json.added_tokens as { content: string }[]).filter((t) => t.content !== '[PAD]');
    });
    await assert.rejects(PairTokenizer.load(file), tokenizerError(file, /no padding token/));
  });

  it('refuses a file whose post-processor adds no pair special tokens', async () => {
    const file = editedCopy('no-post-processor.json', (json) => { json.post_processor = null; });
    await assert.rejects(PairTokenizer.load(file), tokenizerError(file, /post_processor \(none\)/));
  });

  it('wraps the binding\'s own error when the file is JSON of the right type but malformed', async () => {
    const file = editedCopy('bad-vocab.json', (json) => { (json.model as Record<string, unknown>).vocab = 'not a vocab'; });
    await assert.rejects(PairTokenizer.load(file), tokenizerError(file, /Hugging Face tokenizers cannot load it/));
  });
});

describe('maxLength too small for a pair', () => {
  const cases = [{ file: wordPiecePath, minimum: 5 }, { file: bpePath, minimum: 6 }];
  for (const { file, minimum } of cases) {
    it(`${path.basename(path.dirname(file))}: throws InputError below ${minimum}, encodes at ${minimum}`, async () => {
      const tokenizer = await PairTokenizer.load(file);
      const pairs = [{ query: 'a long query here', document: 'and a long document too' }];
      await assert.rejects(tokenizer.encodePairs(pairs, minimum - 1), (err: unknown) => {
        assert.ok(err instanceof InputError);
        assert.match(err.message, new RegExp(`at least ${minimum} tokens`));
        return true;
      });
      const [encoded] = await tokenizer.encodePairs(pairs, minimum);
      assert.equal(encoded!.length, minimum);
    });
  }

  it('throws InputError for a maxLength that is not an integer', async () => {
    const tokenizer = await PairTokenizer.load(wordPiecePath);
    await assert.rejects(tokenizer.encodePairs([{ query: 'a', document: 'b' }], 64.5), InputError);
  });
});
