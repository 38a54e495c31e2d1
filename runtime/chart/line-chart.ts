/**
 * A small SVG line-chart builder: one or more panels stacked vertically that share an x axis, each
 * with its own y axis (ticks, tick labels, a title), grid lines and a legend naming its series, under
 * a chart title. Plain SVG 1.1 text, so resvg (see render.ts) and any browser draw the same picture.
 */

export interface LineSeries {
  readonly label: string;
  /** A CSS colour: `#c83232`. */
  readonly color: string;
  /** One value per entry of the chart's `x`; a non-finite value leaves a gap. */
  readonly values: readonly number[];
  readonly dashed?: boolean;
}

export interface ChartPanel {
  readonly yTitle: string;
  readonly series: readonly LineSeries[];
  /** The y range always covers these (e.g. [0, 1] for an accuracy); the data widens it. */
  readonly yInclude?: readonly number[];
}

export interface LineChart {
  readonly title: string;
  readonly xTitle: string;
  readonly x: readonly number[];
  readonly panels: readonly ChartPanel[];
  /** Ticks on x at whole numbers only (epochs). */
  readonly xIntegers?: boolean;
  readonly width?: number;
  readonly panelHeight?: number;
}

export const chartFont = 'DejaVu Sans';

const titleBand = 44;
const margin = { left: 78, top: 14, bottom: 48 };
/** About the width of an average DejaVu Sans character at 12 px, to size the legend. */
const legendCharWidth = 7.3;
const ink = '#222222';
const gridColor = '#e4e4e4';
const axisColor = '#555555';

/** The size `lineChartSvg` draws `chart` at. */
export function chartSize(chart: LineChart): { width: number; height: number } {
  const width = chart.width ?? 760;
  return { width, height: titleBand + (chart.panelHeight ?? 210) * Math.max(1, chart.panels.length) };
}

/** "Nice" ticks (1, 2, 2.5, 5 × 10^k) covering [low, high], about `count` of them. */
export function niceTicks(low: number, high: number, count = 5, integers = false): number[] {
  if (!(Number.isFinite(low) && Number.isFinite(high))) return [0, 1];
  if (high < low) [low, high] = [high, low];
  if (high === low) {
    const pad = integers ? 1 : Math.abs(low) > 0 ? Math.abs(low) * 0.1 : 1;
    low -= pad;
    high += pad;
  }
  const rough = (high - low) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(rough));
  let step = power * ([1, 2, 2.5, 5, 10].find((m) => m * power >= rough) ?? 10);
  if (integers) step = Math.max(1, Math.round(step));
  const first = Math.floor(low / step + 1e-9);
  const last = Math.ceil(high / step - 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/**
 * Labels for one axis's ticks, all in one style: as many decimals as the step needs, or exponent form
 * (`2.5e-4`) when the largest tick is under 0.01 or at least a million.
 */
export function formatTicks(ticks: readonly number[]): string[] {
  const largest = Math.max(0, ...ticks.map(Math.abs));
  if (largest > 0 && (largest < 1e-2 || largest >= 1e6))
    return ticks.map((t) => (t === 0 ? '0' : Number(t.toPrecision(10)).toExponential()));
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : 1;
  let decimals = 0;
  while (decimals < 6 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6)
    decimals++;
  return ticks.map((t) => t.toFixed(decimals));
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const n = (v: number) => Number(v.toFixed(2));

/** The chart as an SVG document. */
export function lineChartSvg(chart: LineChart): string {
  const { width, height } = chartSize(chart);
  const panelHeight = chart.panelHeight ?? 210;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${chartFont}, sans-serif" fill="${ink}">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${n(width / 2)}" y="29" font-size="18" font-weight="bold" text-anchor="middle">${escapeXml(chart.title)}</text>`,
  ];
  const xs = chart.x.filter(Number.isFinite);
  let xLow = xs.length ? Math.min(...xs) : 0;
  let xHigh = xs.length ? Math.max(...xs) : 1;
  if (xLow === xHigh) [xLow, xHigh] = [xLow - 0.5, xHigh + 0.5];
  const xTicks = niceTicks(xLow, xHigh, 8, chart.xIntegers).filter(
    (t) => t >= xLow - 1e-9 && t <= xHigh + 1e-9,
  );
  const xLabels = formatTicks(xTicks);
  const longestLabel = Math.max(
    0,
    ...chart.panels.flatMap((panel) => panel.series.map((s) => s.label.length)),
  );
  const legendWidth = Math.ceil(48 + legendCharWidth * longestLabel);
  const left = margin.left;
  const right = width - legendWidth - 26;
  const px = (v: number) => left + ((right - left) * (v - xLow)) / (xHigh - xLow);
  chart.panels.forEach((panel, p) => {
    const top = titleBand + p * panelHeight + margin.top;
    const bottom = titleBand + (p + 1) * panelHeight - margin.bottom;
    const values = [...panel.series.flatMap((s) => s.values), ...(panel.yInclude ?? [])].filter(
      Number.isFinite,
    );
    const yTicks = niceTicks(Math.min(...values), Math.max(...values), 5);
    const yLow = yTicks[0]!;
    const yHigh = yTicks[yTicks.length - 1]!;
    const yLabels = formatTicks(yTicks);
    const py = (v: number) => bottom - ((bottom - top) * (v - yLow)) / (yHigh - yLow);
    out.push(`<g class="panel" id="panel-${p}">`);
    yTicks.forEach((t, i) => {
      out.push(`<line x1="${left}" y1="${n(py(t))}" x2="${right}" y2="${n(py(t))}" stroke="${gridColor}"/>`);
      out.push(
        `<text x="${left - 7}" y="${n(py(t) + 4)}" font-size="11" text-anchor="end">${yLabels[i]}</text>`,
      );
    });
    xTicks.forEach((t, i) => {
      out.push(
        `<line x1="${n(px(t))}" y1="${bottom}" x2="${n(px(t))}" y2="${bottom + 5}" stroke="${axisColor}"/>`,
      );
      out.push(
        `<text x="${n(px(t))}" y="${bottom + 18}" font-size="11" text-anchor="middle">${xLabels[i]}</text>`,
      );
    });
    out.push(
      `<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="${axisColor}"/>`,
      `<text x="${n((left + right) / 2)}" y="${bottom + 38}" font-size="13" text-anchor="middle">${escapeXml(chart.xTitle)}</text>`,
      `<text transform="translate(${left - 54} ${n((top + bottom) / 2)}) rotate(-90)" font-size="13" text-anchor="middle">${escapeXml(panel.yTitle)}</text>`,
    );
    for (const s of panel.series) {
      const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
      let path = '';
      let pen = false;
      s.values.forEach((v, i) => {
        const x = chart.x[i];
        if (!(Number.isFinite(v) && x !== undefined && Number.isFinite(x))) {
          pen = false;
          return;
        }
        path += `${pen ? 'L' : 'M'}${n(px(x))} ${n(py(v))} `;
        pen = true;
      });
      if (path)
        out.push(
          `<path d="${path.trim()}" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round"${dash}/>`,
        );
      if (s.values.length <= 60)
        s.values.forEach((v, i) => {
          const x = chart.x[i];
          if (Number.isFinite(v) && x !== undefined && Number.isFinite(x))
            out.push(`<circle cx="${n(px(x))}" cy="${n(py(v))}" r="3" fill="${s.color}"/>`);
        });
    }
    const legendX = right + 16;
    const legendHeight = 10 + 20 * panel.series.length;
    out.push(
      `<rect x="${legendX}" y="${top}" width="${legendWidth}" height="${legendHeight}" fill="#ffffff" stroke="#bbbbbb"/>`,
    );
    panel.series.forEach((s, i) => {
      const y = top + 15 + 20 * i;
      const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
      out.push(
        `<line x1="${legendX + 8}" y1="${y}" x2="${legendX + 32}" y2="${y}" stroke="${s.color}" stroke-width="2"${dash}/>`,
        `<circle cx="${legendX + 20}" cy="${y}" r="3" fill="${s.color}"/>`,
        `<text x="${legendX + 40}" y="${y + 4}" font-size="12">${escapeXml(s.label)}</text>`,
      );
    });
    out.push('</g>');
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
