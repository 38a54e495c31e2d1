import { drawLine, fillCircle, type Rgb } from '../image/draw.ts';
import type { RgbImage } from '../image/image.ts';

export interface Series {
  readonly label: string;
  readonly color: Rgb;
  readonly values: readonly number[];
}

/**
 * A small line chart per panel (one panel per group of series sharing a scale), as a picture: enough to
 * see loss falling and accuracy rising epoch by epoch without a plotting library.
 */
export function plotPanels(panels: readonly (readonly Series[])[], width = 480, panelHeight = 200): RgbImage {
  const height = panelHeight * panels.length;
  const image: RgbImage = { width, height, data: new Uint8Array(width * height * 3).fill(255) };
  const margin = 24;
  panels.forEach((series, p) => {
    const top = p * panelHeight + margin / 2;
    const bottom = (p + 1) * panelHeight - margin / 2;
    const values = series.flatMap((s) => s.values).filter(Number.isFinite);
    const count = Math.max(2, ...series.map((s) => s.values.length));
    const low = Math.min(0, ...values);
    const high = Math.max(low + 1e-9, ...values);
    const x = (i: number) => margin + ((width - 2 * margin) * i) / (count - 1);
    const y = (v: number) => bottom - ((bottom - top) * (v - low)) / (high - low);
    drawLine(image, margin, bottom, width - margin, bottom, 1, [120, 120, 120]);
    drawLine(image, margin, top, margin, bottom, 1, [120, 120, 120]);
    for (const s of series) {
      s.values.forEach((v, i) => {
        if (!Number.isFinite(v)) return;
        if (i > 0 && Number.isFinite(s.values[i - 1]!))
          drawLine(image, x(i - 1), y(s.values[i - 1]!), x(i), y(v), 2, s.color);
        fillCircle(image, x(i), y(v), 2.5, s.color);
      });
    }
  });
  return image;
}
