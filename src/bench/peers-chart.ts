/**
 * The race's chart: documents per second of each contender, one group of bars per model, drawn
 * by Vega-Lite and rendered to SVG by Vega headless (as eval/charts.ts does).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface RaceBar {
  readonly model: string;
  readonly contender: string;
  readonly docsPerSecond: number;
}

export function raceChartSpec(title: string, bars: readonly RaceBar[]): TopLevelSpec {
  const values = bars.map((b) => ({ ...b, label: b.docsPerSecond.toFixed(b.docsPerSecond < 100 ? 1 : 0) }));
  const contenders = [...new Set(bars.map((b) => b.contender))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values },
    facet: { row: { field: 'model', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left', labelFontSize: 12 } } },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 460,
      height: { step: 22 },
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            y: { field: 'contender', type: 'nominal', sort: contenders, title: null },
            x: { field: 'docsPerSecond', type: 'quantitative', title: 'documents per second (more is better)' },
            color: { field: 'contender', type: 'nominal', sort: contenders, legend: null },
          },
        },
        {
          mark: { type: 'text', align: 'left', dx: 4 },
          encoding: {
            y: { field: 'contender', type: 'nominal', sort: contenders },
            x: { field: 'docsPerSecond', type: 'quantitative' },
            text: { field: 'label' },
          },
        },
      ],
    },
  };
}

export async function renderRaceChart(title: string, bars: readonly RaceBar[]): Promise<string> {
  const view = new vega.View(vega.parse(compile(raceChartSpec(title, bars)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
