/**
 * `npm run bench:jobs`: bulk scoring through the queue against scoring directly, on the same
 * pairs and model: pairs per second for direct scoring (what `turborank score` does: chunks
 * of 1024 pairs, one thread), for one worker process and for two (one thread each), and the
 * queue's overhead per shard, (one worker's time − direct time) / shards.
 *
 *   npm run bench:jobs -- --pairs 4000 --shard-size 256             # the bundled test model
 *   npm run bench:jobs -- --shape tiny --pairs 1000 --shard-size 100  # a real reranker's shape
 *
 * Workers are real `turborank worker` processes against a throwaway redis-server on loopback;
 * the job's time runs from submission to the last shard's result in Redis (workers are started
 * and have loaded the model before). The collected output is checked against the direct one.
 * CPU seconds (workers + redis-server, or this process for direct scoring) are reported beside
 * wall time: on a shared machine they are the steadier measure of what the queue costs.
 * The bundled test model is the smallest there is, so its overhead share is the worst case.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { collectRun, connectRedis, modelChecksum, readRunStatus, submitRun } from '../jobs/index.js';
import { Reranker, SCORE_CHUNK_LINES, testModelPath, formatScoreLines, parsePairLine } from '../rerank/index.js';
import { processCpuSeconds, startLocalRedis, startWorkerProcess, syntheticPairs, type WorkerProcess } from './job-processes.js';
import type { ShapeName } from './random-model.js';
import { writeShapedModel } from './serve-load.js';
import { machineDescription } from './throughput.js';

interface Row {
  readonly setup: string;
  readonly seconds: number;
  readonly cpuSeconds: number;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { shape: { type: 'string', default: 'test' }, model: { type: 'string' }, pairs: { type: 'string', default: '4000' }, 'shard-size': { type: 'string', default: '256' } },
  });
  const pairsCount = Number(values.pairs);
  const shardSize = Number(values['shard-size']);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'turborank-bench-jobs-'));
  const model = values.model ?? (values.shape === 'test' ? testModelPath() : writeShapedModel(values.shape as ShapeName, path.join(work, `random-${values.shape}`)));
  const modelLabel = values.model ?? (values.shape === 'test' ? 'the bundled test model (models/test-jinabert-bpe)' : `random-weight ${values.shape} shape`);
  const text = syntheticPairs(pairsCount);
  const lines = text.slice(0, -1).split('\n');
  const redis = await startLocalRedis();
  const workers: WorkerProcess[] = [];
  try {
    const rows: Row[] = [];
    const direct = await scoreDirectly(model, lines, SCORE_CHUNK_LINES);
    rows.push({ setup: `direct (as \`turborank score\`: chunks of ${SCORE_CHUNK_LINES}, 1 thread)`, seconds: direct.seconds, cpuSeconds: direct.cpuSeconds });
    // Scoring in shard-sized pieces batches fewer pairs together (less choice of lengths, more
    // padding): that cost is the shard size's, not the queue's, so it is measured apart.
    const sharded = await scoreDirectly(model, lines, shardSize);
    rows.push({ setup: `direct, chunks of ${shardSize} (the shard size)`, seconds: sharded.seconds, cpuSeconds: sharded.cpuSeconds });
    const { checksum } = await modelChecksum(model);
    for (const count of [1, 2]) {
      const started = await Promise.all(Array.from({ length: count }, () => startWorkerProcess(['--model', model, '--threads', '1', '--quiet', '--queue', `bench${count}`], { TURBORANK_REDIS_URL: redis.url })));
      workers.push(...started);
      const pids = [...started.map((w) => w.child.pid!), redis.pid];
      const cpuBefore = pids.map(processCpuSeconds);
      const seconds = await runJob(redis.url, `bench${count}`, model, checksum, lines, shardSize, work, direct.output);
      const cpuSeconds = pids.map(processCpuSeconds).reduce((sum, cpu, i) => sum + cpu - cpuBefore[i]!, 0);
      rows.push({ setup: `${count} worker${count > 1 ? 's' : ''} (1 thread each)`, seconds, cpuSeconds });
      for (const w of started) w.kill('SIGTERM');
      await Promise.all(started.map((w) => w.exited));
    }
    const again = await scoreDirectly(model, lines, shardSize);
    rows.push({ setup: `direct, chunks of ${shardSize}, again (noise check)`, seconds: again.seconds, cpuSeconds: again.cpuSeconds });
    const shards = Math.ceil(pairsCount / shardSize);
    const directSeconds = (sharded.seconds + again.seconds) / 2;
    const directCpu = (sharded.cpuSeconds + again.cpuSeconds) / 2;
    const oneWorker = rows[2]!;
    const overheadMs = ((oneWorker.seconds - directSeconds) * 1000) / shards;
    const overheadCpuMs = ((oneWorker.cpuSeconds - directCpu) * 1000) / shards;
    const report = [
      `machine ${machineDescription()}; model ${modelLabel}; ${pairsCount} pairs (1-60 words), shards of ${shardSize} (${shards} shards)`,
      '',
      '| setup | wall s | pairs/s | speed vs direct | CPU s | CPU ms per pair |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.setup} | ${r.seconds.toFixed(2)} | ${(pairsCount / r.seconds).toFixed(0)} | ${(direct.seconds / r.seconds).toFixed(2)}× | ` +
        `${r.cpuSeconds.toFixed(2)} | ${((r.cpuSeconds * 1000) / pairsCount).toFixed(2)} |`),
      '',
      `queue overhead per shard, (1 worker − mean of the two direct runs in chunks of ${shardSize}) / ${shards} shards: ` +
        `${overheadMs.toFixed(1)} ms wall (${((overheadMs * shards) / 1000 / directSeconds * 100).toFixed(1)}% of direct), ` +
        `${overheadCpuMs.toFixed(1)} ms CPU (${((overheadCpuMs * shards) / 1000 / directCpu * 100).toFixed(1)}% of direct)`,
    ].join('\n');
    process.stdout.write(report + '\n');
  } finally {
    for (const w of workers) w.kill();
    await redis.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** What `turborank score --chunk N` does, in this process: parse, score in chunks, format. */
async function scoreDirectly(model: string, lines: readonly string[], chunkLines: number): Promise<{ seconds: number; cpuSeconds: number; output: string }> {
  const reranker = await Reranker.load(model, { threads: 1 });
  try {
    const started = performance.now();
    const cpu = process.cpuUsage();
    let output = '';
    for (let start = 0; start < lines.length; start += chunkLines) {
      const chunk = lines.slice(start, start + chunkLines).map((line, i) => parsePairLine(line, 'bench', start + i));
      output += formatScoreLines(await reranker.score(chunk));
    }
    const used = process.cpuUsage(cpu);
    return { seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6, output };
  } finally {
    await reranker.close();
  }
}

/** Submits the pairs and waits until every shard has a result; checks the collected output. */
async function runJob(url: string, queue: string, model: string, checksum: string, lines: readonly string[], shardSize: number, work: string, expected: string): Promise<number> {
  const connection = await connectRedis(url);
  try {
    async function* source(): AsyncGenerator<[number, string]> {
      for (let i = 0; i < lines.length; i++) yield [i, lines[i]!];
    }
    const started = performance.now();
    const manifest = await submitRun({
      connection, queue, lines: source(), source: 'bench', model, checksum, out: path.join(work, queue),
      shardSize, maxLength: undefined, batchSize: undefined, attempts: 1, keepDays: 1,
    });
    for (;;) {
      const status = await readRunStatus(connection, manifest.id);
      if (status.finished) {
        if (!status.complete) throw new Error(`bench job failed: ${JSON.stringify(status.failed)}`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (performance.now() - started) / 1000;
    const collected = await collectRun(connection, manifest.id);
    if (fs.readFileSync(collected.file, 'utf8') !== expected) throw new Error('the collected scores differ from direct scoring');
    return seconds;
  } finally {
    connection.disconnect();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`bench:jobs: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
