/**
 * Latency against offered load as a PNG: a Vega-Lite spec rendered to SVG headlessly by Vega
 * and rasterised by resvg (a prebuilt native binary shipped as an npm package).
 */
import { Resvg } from '@resvg/resvg-js';
import type * as VegaModule from 'vega';

/** vega-lite ships ESM-only types this project's module resolution cannot see; we need one call. */
interface VegaLiteModule {
  compile(spec: object): { spec: VegaModule.Spec };
}

/**
 * vega and vega-lite are ES modules with top-level await, which require() cannot load, and
 * TypeScript compiles `import()` to require() under "module": "commonjs". A function built at
 * run time keeps a real dynamic import.
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- see above; the argument is a constant module name
const importEsm = new Function('specifier', 'return import(specifier)') as (
  specifier: string,
) => Promise<unknown>;

export interface LatencyPoint {
  strategy: string;
  offeredRate: number;
  p50: number;
  p99: number;
}

const FONT = 'DejaVu Sans';
/** The legend shows the marker shapes only, so the labels say which line style is which. */
const P50 = 'p50 (solid)';
const P99 = 'p99 (dashed)';

export async function renderLatencyChart(
  points: readonly LatencyPoint[],
  title: string,
): Promise<Buffer> {
  const values = points.flatMap((point) => [
    { strategy: point.strategy, percentile: P50, rate: point.offeredRate, ms: point.p50 },
    {
      strategy: point.strategy,
      percentile: P99,
      rate: point.offeredRate,
      ms: point.p99,
    },
  ]);
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, fontSize: 15 },
    width: 640,
    height: 380,
    background: 'white',
    data: { values },
    mark: { type: 'line', point: { size: 60, filled: true }, strokeWidth: 2.5 },
    encoding: {
      x: {
        field: 'rate',
        type: 'quantitative',
        title: 'offered load (requests/s, open loop, 2 instances)',
        axis: { grid: true },
      },
      y: {
        field: 'ms',
        type: 'quantitative',
        title: 'latency (ms, log scale)',
        scale: { type: 'log' },
      },
      color: {
        field: 'strategy',
        type: 'nominal',
        title: 'strategy',
        scale: { domain: ['atomic', 'locked'], range: ['#1f77b4', '#d62728'] },
      },
      strokeDash: {
        field: 'percentile',
        type: 'nominal',
        title: 'percentile',
        scale: {
          domain: [P50, P99],
          range: [
            [1, 0],
            [6, 4],
          ],
        },
      },
      shape: {
        field: 'percentile',
        type: 'nominal',
        title: 'percentile',
        scale: { domain: [P50, P99], range: ['circle', 'square'] },
      },
    },
    config: {
      font: FONT,
      axis: { labelFontSize: 12, titleFontSize: 13 },
      legend: { labelFontSize: 12, titleFontSize: 13 },
    },
  };
  return rasterise(await renderSvg(spec));
}

/** A Vega-Lite spec drawn headlessly as SVG text (no browser, no canvas). */
export async function renderSvg(spec: object): Promise<string> {
  const vega = (await importEsm('vega')) as typeof VegaModule;
  const vegaLite = (await importEsm('vega-lite')) as VegaLiteModule;
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG(2);
  view.finalize();
  return svg;
}

/** An SVG rasterised to PNG by resvg, with the charts' font. */
export function rasterise(svg: string): Buffer {
  const png = new Resvg(svg, {
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: FONT, sansSerifFamily: FONT },
  }).render();
  return png.asPng();
}
