/**
 * Bulk scoring across processes, end to end with real parts: a redis-server started here (no
 * persistence, torn down after), real `turborank worker` processes, the real CLI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { connectRedis, readRunStatus, type RunStatus } from '../../src/jobs/index.js';
import { runTurborank, startLocalRedis, startWorkerProcess, syntheticPairs, type LocalRedis, type WorkerLogLine, type WorkerProcess } from '../../src/bench/job-processes.js';
import { fixtureDir, tempDir } from '../helpers.js';

/** Short locks so a killed worker's shard is retried within seconds, not the default 30 s. */
const FAST_LOCKS = ['--lock-duration', '2000', '--stalled-interval', '1000'];

describe('turborank jobs and worker', () => {
  let redis: LocalRedis;
  let connection: Redis;
  const workers: WorkerProcess[] = [];
  const dir = tempDir('turborank-jobs-');

  before(async () => {
    redis = await startLocalRedis();
    connection = await connectRedis(redis.url);
  });
  after(async () => {
    connection?.disconnect();
    for (const w of workers) w.kill();
    await Promise.all(workers.map((w) => w.exited));
    await redis.stop();
  });

  const env = (): NodeJS.ProcessEnv => ({ TURBORANK_REDIS_URL: redis.url });
  const worker = async (args: string[]): Promise<WorkerProcess> => {
    const w = await startWorkerProcess([...args, '--threads', '1', ...FAST_LOCKS], env());
    workers.push(w);
    return w;
  };
  const submit = async (args: string[]): Promise<string> => {
    const r = await runTurborank(['jobs', 'submit', ...args], env());
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    assert.match(id, /^[0-9a-z][0-9a-z._-]+$/, r.stdout);
    return id;
  };
  /** Where a job stands, read in this process (the CLI's status and wait are tested on their own). */
  const status = (id: string): Promise<RunStatus> => readRunStatus(connection, id);
  const finished = async (id: string, timeoutMs = 60_000): Promise<RunStatus> => {
    for (const deadline = Date.now() + timeoutMs; ;) {
      const s = await status(id);
      if (s.finished || Date.now() > deadline) return s;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const isShardEvent = (event: string, shard?: number) => (line: WorkerLogLine): boolean => line.event === event && (shard === undefined || line.shard === shard);

  test('two workers, one killed with SIGKILL mid-shard: the collected scores equal `turborank score` line for line', async () => {
    const input = path.join(dir, 'pairs.jsonl');
    // Enough shards that the doomed worker cannot finish the job alone before the kill (a
    // 300-pair shard takes under 0.1 s with the default model).
    fs.writeFileSync(input, syntheticPairs(12000));
    const out = path.join(dir, 'out-kill');
    const expected = runTurborank(['score', '--threads', '1', input]);
    const id = await submit(['--in', input, '--out', out, '--shard-size', '300', '--queue', 'kill']);

    const [doomed, survivor] = await Promise.all([worker(['--queue', 'kill']), worker(['--queue', 'kill'])]);
    // Let the doomed worker finish a couple of shards, then kill it right after it starts one
    // (300 pairs a shard: with the fast default model, 100 could finish before the kill landed).
    // Only a start logged from now on counts: waitFor also matches lines already seen, and by now
    // the worker may have done several shards, the first of whose starts would match at once.
    const seenBefore = doomed.logs.length;
    await doomed.waitFor((line) => doomed.logs.indexOf(line) >= seenBefore && doomed.logs.filter(isShardEvent('shard-done')).length >= 2 && line.event === 'shard-start');
    const startsBefore = doomed.logs.filter(isShardEvent('shard-start')).length;
    doomed.kill('SIGKILL');
    const killed = await doomed.exited;
    assert.equal(killed.signal, 'SIGKILL');
    const starts = doomed.logs.filter(isShardEvent('shard-start'));
    assert.equal(starts.length, startsBefore, 'no shard started between the decision and the kill');
    const lost = starts[starts.length - 1]!.shard!;
    assert.ok(!doomed.logs.some(isShardEvent('shard-done', lost)), `shard ${lost} was finished before the kill: not a mid-shard kill`);

    const waited = await runTurborank(['jobs', 'wait', '--timeout', '90', out], env());
    assert.equal(waited.code, 0, waited.stderr);
    // The lost shard was retried by the survivor once its lock expired (stalled check).
    const retry = await survivor.waitFor(isShardEvent('shard-done', lost), 1000);
    assert.equal(retry.run, id);
    assert.ok(survivor.logs.some((l) => l.event === 'shard-start' && l.shard === lost && Number(l.stalled) >= 1), 'the retry comes from the stalled check');

    const collected = await runTurborank(['jobs', 'collect', id], env());
    assert.equal(collected.code, 0, collected.stderr);
    const want = await expected;
    assert.equal(want.code, 0, want.stderr);
    const got = fs.readFileSync(path.join(out, 'scores.jsonl'), 'utf8');
    const gotLines = got.split('\n');
    const wantLines = want.stdout.split('\n');
    assert.equal(gotLines.length, wantLines.length, 'one score per input line');
    for (let i = 0; i < wantLines.length; i++) assert.equal(gotLines[i], wantLines[i], `line ${i + 1}`);

    // SIGTERM: the survivor stops taking shards and exits 0.
    survivor.kill('SIGTERM');
    assert.deepEqual(await survivor.exited, { code: 0, signal: null });
    assert.ok(survivor.logs.some((l) => l.event === 'stopped'));
  });

  test('SIGTERM past --shutdown-grace hands the current shard back to the queue at once, without spending an attempt', async () => {
    const input = path.join(dir, 'pairs.jsonl'); // 3000 pairs, written by the first test: one shard of several seconds
    const id = await submit(['--in', input, '--out', path.join(dir, 'out-release'), '--shard-size', '3000', '--queue', 'release']);
    const w = await worker(['--queue', 'release', '--shutdown-grace', '0']);
    await w.waitFor(isShardEvent('shard-start', 0));
    w.kill('SIGTERM');
    assert.deepEqual(await w.exited, { code: 0, signal: null });
    assert.ok(w.logs.some(isShardEvent('shard-released', 0)), JSON.stringify(w.logs));
    assert.ok(!w.logs.some(isShardEvent('shard-done')));
    const s = await status(id);
    assert.deepEqual({ done: s.doneShards, active: s.activeShards, failed: s.failed.length }, { done: 0, active: 0, failed: 0 }, 'back in the queue, not active and not failed');
  });

  test('a poisoned shard fails at once with its line named, the rest are scored, and collect refuses naming it', async () => {
    const lines = syntheticPairs(250, 7).split('\n');
    lines[136] = '{"query": "q", "document": '; // line 137: bad JSON, in shard 2 (lines 101-150)
    lines[201] = '{"query": "q", "doc": "no document field"}'; // line 202: shard 4
    const input = path.join(dir, 'poisoned.jsonl');
    fs.writeFileSync(input, lines.join('\n'));
    const out = path.join(dir, 'out-poison');
    const id = await submit(['--in', input, '--out', out, '--shard-size', '50', '--queue', 'poison']);

    // Before any worker runs, collect names every shard as waiting and writes nothing.
    const early = await runTurborank(['jobs', 'collect', out], env());
    assert.equal(early.code, 1, early.stderr);
    assert.match(early.stderr, /5 of 5 shards have no scores/);
    assert.match(early.stderr, /shard 0 \(lines 1-50\): waiting/);

    const w = await worker(['--queue', 'poison']);
    const waited = await runTurborank(['jobs', 'wait', '--timeout', '60', id], env());
    assert.equal(waited.code, 1, waited.stderr);
    assert.match(waited.stderr, /2 of 5 shards failed/);
    assert.match(waited.stderr, /shard 2 \(lines 101-150\): failed: .*poisoned\.jsonl line 137: invalid JSON/);
    assert.match(waited.stderr, /shard 4 \(lines 201-250\): failed: .*line 202: expected \{"query": string, "document": string\}/);
    // Bad input is not retried: one attempt each.
    assert.equal(w.logs.filter(isShardEvent('shard-start', 2)).length, 1);

    const s = await status(id);
    assert.deepEqual({ done: s.doneShards, lines: s.doneLines, failed: s.failed.map((f) => f.shard), finished: s.finished, complete: s.complete },
      { done: 3, lines: 150, failed: [2, 4], finished: true, complete: false });

    const collected = await runTurborank(['jobs', 'collect', id], env());
    assert.equal(collected.code, 1);
    assert.match(collected.stderr, /2 of 5 shards have no scores \(2 failed\)/);
    assert.match(collected.stderr, /shard 2 \(lines 101-150\): failed: .*line 137/);
    assert.ok(!fs.existsSync(path.join(out, 'scores.jsonl')), 'no partial output');
    assert.deepEqual(fs.readdirSync(out), ['job.json']);
  });

  test('candidate lists (TREC DL JSON): collect also writes the reranked TREC run, each score at its pair', async () => {
    // Scored by the worker the previous test left running on the 'poison' queue.
    const candidates = [
      { query: 'what is alibi', hits: ['alibi biases attention by distance', 'paris is in france', 'rerankers score pairs', 'lambda mu'] },
      { query: 'capital of france', hits: ['paris is the capital of france', 'berlin', 'a marathon is 42 km'] },
      { query: 'empty one', hits: [] },
      { query: 'gamma', hits: ['gamma delta', 'epsilon'] },
    ].map((q, qi) => ({ query: q.query, hits: q.hits.map((content, di) => ({ qid: 100 + qi, docid: `d${qi}-${di}`, content, rank: di + 1, score: 10 - di })) }));
    const input = path.join(dir, 'dl.json');
    fs.writeFileSync(input, JSON.stringify(candidates));
    const out = path.join(dir, 'out-dl');
    const id = await submit(['--format', 'trec-dl', '--in', input, '--out', out, '--shard-size', '4', '--queue', 'poison']);
    assert.equal((await finished(id)).complete, true);
    const collected = await runTurborank(['jobs', 'collect', '--json', id], env());
    assert.equal(collected.code, 0, collected.stderr);
    assert.deepEqual(Object.keys(JSON.parse(collected.stdout) as object).sort(), ['file', 'job', 'lines', 'run']);

    const logits = fs.readFileSync(path.join(out, 'scores.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { logit: number }).logit);
    const pairs = candidates.flatMap((q) => q.hits.map((h) => ({ qid: String(h.qid), docid: h.docid })));
    assert.equal(logits.length, pairs.length);
    const run = fs.readFileSync(path.join(out, 'run.trec'), 'utf8').trim().split('\n').map((l) => l.split(' '));
    assert.equal(run.length, pairs.length);
    for (const qid of ['100', '101', '103']) {
      const rows = run.filter((r) => r[0] === qid);
      const want = pairs.map((p, i) => ({ ...p, logit: logits[i]! })).filter((p) => p.qid === qid).sort((a, b) => b.logit - a.logit);
      assert.deepEqual(rows.map((r) => [r[2], Number(r[3]), Number(r[4]), r[5]]), want.map((p, i) => [p.docid, i + 1, p.logit, 'turborank']), `query ${qid}`);
    }
  });

  test('a worker serving other model files refuses the shards without spending attempts; a matching worker scores them', async () => {
    const model = fixtureDir('bert-minilm-golden');
    const input = path.join(dir, 'mismatch.jsonl');
    fs.writeFileSync(input, syntheticPairs(40, 3));
    const out = path.join(dir, 'out-mismatch');
    const id = await submit(['--model', model, '--in', input, '--out', out, '--shard-size', '20', '--queue', 'mismatch']);

    const wrong = await worker(['--queue', 'mismatch']); // the shipped default model
    await wrong.waitFor(isShardEvent('shard-refused'));
    const shown = await runTurborank(['jobs', 'status', id], env());
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /0\/40 lines scored/);
    assert.match(shown.stdout, /refused by worker .*turborank-tiny-en/);

    await worker(['--queue', 'mismatch', '--model', model]);
    assert.equal((await finished(id)).complete, true);
    assert.ok(!wrong.logs.some(isShardEvent('shard-start')), 'the mismatched worker never scored a shard');
    assert.ok(!wrong.logs.some(isShardEvent('shard-failed')), 'refusals spend no attempts');

    const collected = await runTurborank(['jobs', 'collect', id], env());
    assert.equal(collected.code, 0, collected.stderr);
    const want = await runTurborank(['score', '--model', model, '--threads', '1', input]);
    assert.equal(fs.readFileSync(path.join(out, 'scores.jsonl'), 'utf8'), want.stdout);
  });

  test('usage: no Redis URL is exit 2, so is a --max-length over the model\'s limit; an unreachable Redis is exit 1 with the URL; an unknown job is named', async () => {
    const noUrl = await runTurborank(['jobs', 'status', 'x'], { TURBORANK_REDIS_URL: '' });
    assert.equal(noUrl.code, 2);
    assert.match(noUrl.stderr, /no Redis given: pass --redis URL or set TURBORANK_REDIS_URL/);

    const unreachable = await runTurborank(['jobs', 'status', '--redis', 'redis://127.0.0.1:1', 'x']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);

    const few = path.join(dir, 'few.jsonl');
    fs.writeFileSync(few, syntheticPairs(3));
    const tooLong = await runTurborank(['jobs', 'submit', '--in', few, '--out', path.join(dir, 'out-usage'), '--max-length', '9999999'], env());
    assert.equal(tooLong.code, 2, tooLong.stderr);
    assert.match(tooLong.stderr, /--max-length 9999999: .*at most 8192/);

    const unknown = await runTurborank(['jobs', 'collect', 'no-such-job'], env());
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no job 'no-such-job'/);
    assert.ok(!unknown.stderr.includes('    at '), unknown.stderr);
  });
});
