/**
 * ALiBi models take 8192-token pairs. The fixture JinaBERT (4 heads) at full length: the
 * attention tensors are [1, 4, 8192, 8192] float32 (1 GiB each), so this also exercises the
 * arena-free session used for long batches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reranker } from '../../src/rerank/index.js';
import { fixtureDir } from '../helpers.js';

test('a single 8192-token pair scores in bounded memory', async () => {
  const reranker = await Reranker.load(fixtureDir('jinabert-bpe-golden'), { threads: 2, maxLength: 8192 });
  const words = ['capital', 'france', 'paris', 'river', 'city', 'museum', 'tower', 'bridge'];
  const document = Array.from({ length: 12000 }, (_, i) => words[(i * 5) % words.length]).join(' ');
  const [logit] = await reranker.score([{ query: 'what is the capital of france?', document }]);
  assert.ok(Number.isFinite(logit), `logit ${logit}`);
  const rssGiB = process.resourceUsage().maxRSS / 2 ** 20;
  assert.ok(rssGiB < 8, `peak RSS ${rssGiB.toFixed(1)} GiB`);
  await reranker.close();
});
