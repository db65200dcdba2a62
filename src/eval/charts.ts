/**
 * Quality-against-speed charts as SVG, drawn by Vega-Lite and rendered by Vega headless (no
 * browser, no canvas): one labelled point per model, documents per 50 ms on x, quality on y,
 * and the first stage's quality as a dashed line for reference.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface ChartPoint {
  readonly label: string;
  readonly docsPer50ms: number;
  readonly quality: number;
}

export interface QualitySpeedChart {
  readonly title: string;
  /** The quality measure, e.g. "BEIR NDCG@10 (mean over 3 datasets)". */
  readonly quality: string;
  readonly speed: string;
  readonly points: readonly ChartPoint[];
  /** The first stage alone (BM25), drawn as a dashed horizontal line. */
  readonly baseline?: { readonly label: string; readonly quality: number };
}

export function chartSpec(chart: QualitySpeedChart): TopLevelSpec {
  const x = { field: 'docsPer50ms', type: 'quantitative', title: chart.speed } as const;
  // Models differ by a few points of quality: a zero-based axis would flatten them into a line.
  const y = { field: 'quality', type: 'quantitative', title: `${chart.quality} (axis does not start at 0)`, scale: { zero: false, nice: true } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: chart.title,
    width: 520,
    height: 340,
    layer: [
      { data: { values: chart.points.map((p) => ({ ...p })) }, mark: { type: 'point' as const, filled: true, size: 90 }, encoding: { x, y } },
      { data: { values: chart.points.map((p) => ({ ...p })) }, mark: { type: 'text' as const, align: 'left' as const, dx: 8, dy: -8, fontSize: 12 }, encoding: { x, y, text: { field: 'label' } } },
      ...(chart.baseline
        ? [
            { data: { values: [{ ...chart.baseline }] }, mark: { type: 'rule' as const, strokeDash: [5, 4], color: 'gray' }, encoding: { y } },
            { data: { values: [{ ...chart.baseline }] }, mark: { type: 'text' as const, align: 'left' as const, baseline: 'bottom' as const, dy: -3, x: 4, color: 'gray' }, encoding: { y, text: { field: 'label' } } },
          ]
        : []),
    ],
  };
}

export async function renderChart(chart: QualitySpeedChart): Promise<string> {
  const compiled = compile(chartSpec(chart)).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
