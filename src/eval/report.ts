/**
 * `turborank report`: saved results → one Markdown report with a table per benchmark, a speed
 * table, and two quality-against-speed charts (BEIR NDCG@10 and RAG MRR against documents per
 * 50 ms). Only the latest result per (benchmark, dataset, model) counts.
 */
import { renderChart, type ChartPoint, type QualitySpeedChart } from './charts.js';
import type { BeirSaved, RagSaved, SavedResult, SpeedSaved, TrecDlSaved } from './results.js';

export interface ReportChart {
  /** File name, e.g. "beir-quality-speed.svg". */
  readonly file: string;
  readonly title: string;
  readonly svg: string;
  readonly points: readonly ChartPoint[];
}

/** The numbers behind the report, for --json. */
export interface ReportNumbers {
  readonly models: readonly string[];
  readonly beir: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly rag: Readonly<Record<string, Readonly<Record<string, { hitRate: number; mrr: number }>>>>;
  readonly trecDl: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly speed: readonly { label: string; precision: string; docsPer50ms: number; docsPerSecond: number; latencyMs: number; peakRssMiB: number; modelBytes: number; parameters: number | null }[];
}

export interface Report {
  readonly markdown: string;
  readonly charts: readonly ReportChart[];
  readonly numbers: ReportNumbers;
}

const FIRST_STAGE = 'BM25';

export async function buildReport(results: readonly SavedResult[], generated = new Date()): Promise<Report> {
  const latest = latestResults(results);
  const beir = latest.filter((r): r is BeirSaved => r.kind === 'beir');
  const rag = latest.filter((r): r is RagSaved => r.kind === 'rag');
  const trec = latest.filter((r): r is TrecDlSaved => r.kind === 'trec-dl');
  const speed = latest.filter((r): r is SpeedSaved => r.kind === 'speed');
  const numbers = collectNumbers(beir, rag, trec, speed);
  const charts = await Promise.all([beirChart(numbers), ragChart(numbers)].map(async (c) => ({ ...c, svg: await renderChart(c.chart) })));
  const sections = [
    `# turborank evaluation report\n\nGenerated ${generated.toISOString()} from ${results.length} saved result${results.length === 1 ? '' : 's'}. ` +
      'Every number is a fraction (1 = perfect); see docs/EVALUATION.md for what each one means.',
    summarySection(numbers),
    beirSection(numbers, beir),
    ragSection(numbers, rag),
    trecSection(numbers, trec),
    speedSection(speed),
    chartSection(charts),
  ].filter((s) => s !== '');
  return {
    markdown: sections.join('\n\n') + '\n',
    charts: charts.map(({ file, chart, svg }) => ({ file, title: chart.title, svg, points: chart.points })),
    numbers,
  };
}

/** Later results replace earlier ones of the same benchmark, dataset and model. */
function latestResults(results: readonly SavedResult[]): SavedResult[] {
  const byKey = new Map<string, SavedResult>();
  for (const r of [...results].sort((a, b) => a.date.localeCompare(b.date))) {
    const key = r.kind === 'speed' ? `speed/${r.label}/${r.precision}` : `${r.kind}/${r.dataset}/${r.kind === 'beir' ? r.split : ''}/${r.label}`;
    byKey.set(key, r);
  }
  return [...byKey.values()];
}

function collectNumbers(beir: readonly BeirSaved[], rag: readonly RagSaved[], trec: readonly TrecDlSaved[], speed: readonly SpeedSaved[]): ReportNumbers {
  const beirTable: Record<string, Record<string, number>> = {};
  const ragTable: Record<string, Record<string, { hitRate: number; mrr: number }>> = {};
  const trecTable: Record<string, Record<string, number>> = {};
  for (const r of beir) {
    setCell(beirTable, beirDataset(r), FIRST_STAGE, r.bm25['ndcg@10']);
    if (r.reranked) setCell(beirTable, beirDataset(r), r.label, r.reranked['ndcg@10']);
  }
  for (const r of rag) {
    setCell(ragTable, r.dataset, FIRST_STAGE, { hitRate: r.retrieved.hitRate, mrr: r.retrieved.mrr });
    if (r.reranked) setCell(ragTable, r.dataset, r.label, { hitRate: r.reranked.hitRate, mrr: r.reranked.mrr });
  }
  for (const r of trec) {
    setCell(trecTable, r.dataset, FIRST_STAGE, r.firstStage['ndcg@10']);
    if (r.reranked) setCell(trecTable, r.dataset, r.label, r.reranked['ndcg@10']);
  }
  const labels = [...beir, ...rag, ...trec].filter((r) => r.model !== null).map((r) => r.label).concat(speed.map((s) => s.label));
  return {
    models: [...new Set(labels)].sort(),
    beir: beirTable,
    rag: ragTable,
    trecDl: trecTable,
    speed: speed.map((s) => ({ label: s.label, precision: s.precision, docsPer50ms: s.mix.docsPer50ms, docsPerSecond: s.mix.docsPerSecond, latencyMs: s.mix.latencyMs, peakRssMiB: s.peakRssMiB, modelBytes: s.modelBytes, parameters: s.parameters ?? null })),
  };
}

function setCell<T>(table: Record<string, Record<string, T>>, dataset: string, column: string, value: T): void {
  (table[dataset] ??= {})[column] = value;
}

/** BEIR's test split is the benchmark; another split is named beside the dataset. */
function beirDataset(r: BeirSaved): string {
  return r.split === 'test' ? r.dataset : `${r.dataset} (${r.split})`;
}

function columns(table: Readonly<Record<string, Readonly<Record<string, unknown>>>>): string[] {
  const models = new Set<string>();
  for (const row of Object.values(table)) for (const m of Object.keys(row)) if (m !== FIRST_STAGE) models.add(m);
  return [FIRST_STAGE, ...[...models].sort()];
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const fmt = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(4));

/** Mean of a column over the datasets that have it. */
function columnMean<T>(table: Readonly<Record<string, Readonly<Record<string, T>>>>, column: string, pick: (v: T) => number): { mean: number; count: number } | undefined {
  const values = Object.values(table).map((row) => row[column]).filter((v): v is T => v !== undefined).map(pick);
  return values.length === 0 ? undefined : { mean: values.reduce((a, b) => a + b, 0) / values.length, count: values.length };
}

/**
 * One row per ranking (BM25 first): NDCG@10 per BEIR and TREC DL dataset and their mean, RAG hit
 * rate / MRR per dataset, then speed, parameters and model size: the table rerankers are
 * compared by. Only when some model has a result.
 */
function summarySection(numbers: ReportNumbers): string {
  const ndcg: Record<string, Record<string, number>> = {
    ...Object.fromEntries(Object.entries(numbers.beir).map(([d, row]) => [`${d} NDCG@10`, row])),
    ...Object.fromEntries(Object.entries(numbers.trecDl).map(([d, row]) => [`${d} NDCG@10`, row])),
  };
  if (numbers.models.length === 0) return '';
  const rankings = [FIRST_STAGE, ...numbers.models];
  const ndcgColumns = Object.keys(ndcg);
  const ragColumns = Object.keys(numbers.rag);
  const header = ['ranking', ...ndcgColumns, ...(ndcgColumns.length > 1 ? ['mean NDCG@10'] : []), ...ragColumns.map((d) => `${d} hit rate / MRR`), 'docs per 50 ms', 'parameters', 'model size'];
  const rows = rankings.map((label) => {
    const speed = label === FIRST_STAGE ? undefined : speedFor(numbers, label);
    const mean = columnMean(ndcg, label, (v) => v);
    return [
      label === FIRST_STAGE ? `${FIRST_STAGE} (first stage alone)` : label,
      ...ndcgColumns.map((c) => fmt(ndcg[c]![label])),
      ...(ndcgColumns.length > 1 ? [mean && mean.count === ndcgColumns.length ? fmt(mean.mean) : '–'] : []),
      ...ragColumns.map((d) => { const v = numbers.rag[d]![label]; return v ? `${fmt(v.hitRate)} / ${fmt(v.mrr)}` : '–'; }),
      speed ? speed.docsPer50ms.toFixed(1) : '–',
      speed?.parameters ? `${(speed.parameters / 1e6).toFixed(1)}M` : '–',
      speed ? `${(speed.modelBytes / 2 ** 20).toFixed(1)} MiB` : '–',
    ];
  });
  return `## Summary\n\nNDCG@10 reranking BM25's top 100; RAG hit rate / MRR over the kept chunks; documents per 50 ms on the BEIR-like mix (details below).\n\n${markdownTable(header, rows)}`;
}

function beirSection(numbers: ReportNumbers, saved: readonly BeirSaved[]): string {
  if (saved.length === 0) return '';
  const cols = columns(numbers.beir);
  const queries = new Map(saved.map((r) => [beirDataset(r), r.queries]));
  const rows = Object.entries(numbers.beir).map(([dataset, row]) => [`${dataset} (${queries.get(dataset)} queries)`, ...cols.map((c) => fmt(row[c]))]);
  if (rows.length > 1) rows.push(['**mean**', ...cols.map((c) => fmt(columnMean(numbers.beir, c, (v) => v)?.mean))]);
  // BM25 once per dataset (every result carries the same first stage), then each model.
  const firstStages = new Map(saved.map((r) => [beirDataset(r), r.bm25]));
  const detail = [
    ...[...firstStages].map(([dataset, m]) => [dataset, FIRST_STAGE, fmt(m['mrr@10']), fmt(m['recall@100'])]),
    ...saved.filter((r) => r.reranked).map((r) => [beirDataset(r), r.label, fmt(r.reranked!['mrr@10']), fmt(r.reranked!['recall@100'])]),
  ];
  return `## BEIR: NDCG@10\n\nBM25 (Lucene English analyser, k1 = 0.9, b = 0.4) retrieves the top 100; each model reranks them.\n\n${markdownTable(['dataset', ...cols], rows)}\n\n` +
    `MRR@10 and Recall@100:\n\n${markdownTable(['dataset', 'ranking', 'MRR@10', 'Recall@100'], detail)}`;
}

function ragSection(numbers: ReportNumbers, saved: readonly RagSaved[]): string {
  if (saved.length === 0) return '';
  const cols = columns(numbers.rag);
  const info = new Map(saved.map((r) => [r.dataset, r]));
  const rows = Object.entries(numbers.rag).map(([dataset, row]) => {
    const r = info.get(dataset)!;
    return [`${dataset} (${r.queries} queries, top ${r.topK} → ${r.topN})`, ...cols.map((c) => (row[c] ? `${fmt(row[c].hitRate)} / ${fmt(row[c].mrr)}` : '–'))];
  });
  return `## RAG: hit rate / MRR\n\nLlamaIndex's RetrieverEvaluator over the top n chunks: BM25's own top n, and each model's top n of BM25's top k.\n\n${markdownTable(['dataset', ...cols], rows)}`;
}

function trecSection(numbers: ReportNumbers, saved: readonly TrecDlSaved[]): string {
  if (saved.length === 0) return '';
  const cols = columns(numbers.trecDl);
  const queries = new Map(saved.map((r) => [r.dataset, r.queries]));
  const rows = Object.entries(numbers.trecDl).map(([dataset, row]) => [`${dataset} (${queries.get(dataset)} queries)`, ...cols.map((c) => fmt(row[c]))]);
  return `## TREC Deep Learning: NDCG@10\n\nThe given BM25 top 100 reranked; graded qrels (0-3).\n\n${markdownTable(['dataset', ...cols], rows)}`;
}

function speedSection(speed: readonly SpeedSaved[]): string {
  if (speed.length === 0) return '';
  const lengths = [...new Set(speed.flatMap((s) => s.lengths.map((l) => l.tokensPerPair!)))].sort((a, b) => a - b);
  const rows = speed.map((s) => [
    s.label, s.precision, s.mix.docsPer50ms.toFixed(2), s.mix.docsPerSecond.toFixed(1), `${s.mix.latencyMs.toFixed(0)} ms`,
    ...lengths.map((n) => s.lengths.find((l) => l.tokensPerPair === n)?.docsPer50ms.toFixed(2) ?? '–'),
    `${s.peakRssMiB.toFixed(0)} MiB`, `${(s.modelBytes / 2 ** 20).toFixed(1)} MiB`,
  ]);
  const machines = [...new Set(speed.map((s) => `${s.machine}, ${s.threads ?? 'all'} threads`))];
  return `## Speed\n\nRequests of ${speed[0]!.documentsPerRequest} documents through \`Reranker.rerank\` (tokenization included); "mix" draws documents with BEIR-like lengths (${[...new Set(speed.map((s) => s.textSource))].join('; ')}).\n\n` +
    markdownTable(['model', 'precision', 'docs per 50 ms (mix)', 'docs/s (mix)', 'latency, 100 docs', ...lengths.map((n) => `docs per 50 ms at ${n} tokens`), 'peak RSS', 'model size'], rows) +
    `\n\nMachine${machines.length > 1 ? 's (numbers from different machines do not compare)' : ''}: ${machines.join('; ')}.`;
}

function chartSection(charts: readonly { file: string; chart: QualitySpeedChart }[]): string {
  const lines = charts.map(({ file, chart }) =>
    chart.points.length === 0
      ? `- ${chart.title}: no model has both a quality and a speed result yet.`
      : `![${chart.title}](${file})`);
  return `## Quality against speed\n\nOne point per model; documents per 50 ms on the BEIR-like mix. The y axes do not start at zero.\n\n${lines.join('\n\n')}`;
}

/**
 * The speed result behind a quality label: the model's fp32 measurement, or for an int8 run
 * (`eval` labels it `<model>-int8`) the model's int8 one.
 */
function speedFor(numbers: ReportNumbers, label: string): ReportNumbers['speed'][number] | undefined {
  const int8 = label.endsWith('-int8') ? label.slice(0, -'-int8'.length) : undefined;
  return numbers.speed.find((s) => s.label === label && s.precision === 'fp32')
    ?? (int8 !== undefined ? numbers.speed.find((s) => s.label === int8 && s.precision === 'int8') : undefined)
    ?? numbers.speed.find((s) => s.label === label);
}

function speedOf(numbers: ReportNumbers, label: string): number | undefined {
  return speedFor(numbers, label)?.docsPer50ms;
}

function qualitySpeedPoints<T>(numbers: ReportNumbers, table: Readonly<Record<string, Readonly<Record<string, T>>>>, pick: (v: T) => number): ChartPoint[] {
  const points: ChartPoint[] = [];
  for (const label of numbers.models) {
    const quality = columnMean(table, label, pick);
    const docsPer50ms = speedOf(numbers, label);
    if (quality && docsPer50ms !== undefined) points.push({ label, docsPer50ms, quality: quality.mean });
  }
  return points;
}

function beirChart(numbers: ReportNumbers): { file: string; chart: QualitySpeedChart } {
  const datasets = Object.keys(numbers.beir);
  const bm25 = columnMean(numbers.beir, FIRST_STAGE, (v) => v);
  return {
    file: 'beir-quality-speed.svg',
    chart: {
      title: 'BEIR: NDCG@10 against reranking speed',
      quality: datasets.length === 1 ? `NDCG@10 on ${datasets[0]}` : `NDCG@10, mean over ${datasets.length} datasets`,
      speed: 'documents per 50 ms (BEIR-like mix)',
      points: qualitySpeedPoints(numbers, numbers.beir, (v) => v),
      baseline: bm25 ? { label: 'BM25 alone', quality: bm25.mean } : undefined,
    },
  };
}

function ragChart(numbers: ReportNumbers): { file: string; chart: QualitySpeedChart } {
  const datasets = Object.keys(numbers.rag);
  const bm25 = columnMean(numbers.rag, FIRST_STAGE, (v) => v.mrr);
  return {
    file: 'rag-quality-speed.svg',
    chart: {
      title: 'RAG: MRR against reranking speed',
      quality: datasets.length === 1 ? `MRR on ${datasets[0]}` : `MRR, mean over ${datasets.length} datasets`,
      speed: 'documents per 50 ms (BEIR-like mix)',
      points: qualitySpeedPoints(numbers, numbers.rag, (v) => v.mrr),
      baseline: bm25 ? { label: 'BM25 alone', quality: bm25.mean } : undefined,
    },
  };
}
