/**
 * The race against transformers.js (`npm run bench:peers`), run on a few pairs so that the
 * harness cannot rot: every contender runs in its own process, reports its speed and memory,
 * and scores the pairs as the others do. How fast each is, is for the real run to say.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTENDERS, raceTable, runRace, type Contender } from '../../src/bench/peers.js';
import { renderRaceChart } from '../../src/bench/peers-chart.js';

test('bench:peers races transformers.js and turborank fp32 and int8 on the same pairs, each in its own process', async () => {
  const result = await runRace({ pairs: 6, threads: 1, documentsPerRequest: 3, maxLength: 1024, models: ['golden-tiny'], contenders: CONTENDERS });
  assert.equal(result.results.length, CONTENDERS.length);
  const byName = new Map(result.results.map((r) => [r.contender, r]));
  for (const r of result.results) {
    assert.equal(r.documents, 6);
    assert.equal(r.requests, 2);
    assert.ok(r.docsPerSecond > 0 && Number.isFinite(r.docsPerSecond), `${r.contender}: ${r.docsPerSecond}`);
    assert.ok(r.p50Ms > 0 && r.p95Ms >= r.p50Ms, `${r.contender}: p50 ${r.p50Ms}, p95 ${r.p95Ms}`);
    // Each process's own peak: Node, ONNX Runtime and a model, but not the others' models.
    assert.ok(r.peakRssMiB > 30 && r.peakRssMiB < 4096, `${r.contender}: peak RSS ${r.peakRssMiB} MiB`);
    assert.equal(r.firstLogits.length, 3);
  }
  // transformers.js runs our export: the same scores as turborank fp32 (int8: close to them).
  const logits = (c: Contender): readonly number[] => byName.get(c)!.firstLogits;
  for (const c of ['transformers.js', 'transformers.js, length-bucketed'] as const) {
    logits(c).forEach((v, i) => assert.ok(Math.abs(v - logits('turborank fp32')[i]!) < 1e-4, `${c} pair ${i}: ${v} vs ${logits('turborank fp32')[i]}`));
  }
  logits('turborank int8').forEach((v, i) => assert.ok(Math.abs(v - logits('turborank fp32')[i]!) < 0.5, `int8 pair ${i}: ${v} vs ${logits('turborank fp32')[i]}`));
  const base = byName.get('transformers.js')!.docsPerSecond;
  for (const r of result.ratios) assert.ok(Math.abs(r.overTransformersJs - byName.get(r.contender)!.docsPerSecond / base) < 1e-9);
  const [workload] = result.workload;
  assert.ok(workload && workload.meanTokens > 0 && workload.paddingBucketed <= workload.paddingOneBatchPerRequest + 1e-12, JSON.stringify(workload));

  const table = raceTable(result);
  for (const c of CONTENDERS) assert.ok(table.includes(`| golden-tiny | ${c} |`), table);
  const svg = await renderRaceChart('race', result.results.map((r) => ({ model: r.model, contender: r.contender, docsPerSecond: r.docsPerSecond })));
  assert.match(svg, /^<svg/);
  for (const c of CONTENDERS) assert.ok(svg.includes(c.replace('&', '&amp;')), `chart names ${c}`);
});
