import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';

const require = createRequire(import.meta.url);

/** DejaVu Sans (regular and bold) from the dejavu-fonts-ttf package: the only fonts charts use. */
export function chartFontFiles(): string[] {
  return ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((file) =>
    require.resolve(`dejavu-fonts-ttf/ttf/${file}`),
  );
}

/**
 * An SVG document as PNG bytes, drawn by resvg with the fonts above and no system fonts, so a chart
 * looks the same on every machine.
 */
export function svgToPng(svg: string): Uint8Array {
  const resvg = new Resvg(svg, {
    background: '#ffffff',
    font: { loadSystemFonts: false, fontFiles: chartFontFiles(), defaultFontFamily: 'DejaVu Sans' },
  });
  return new Uint8Array(resvg.render().asPng());
}
