import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { chartSize, formatTicks, niceTicks } from '../../runtime/chart/line-chart.ts';
import {
  type CurvePoint,
  curveOptionsFor,
  renderTrainingCurves,
  trainingCurvesChart,
  writeTrainingCurves,
} from '../../runtime/train/plot.ts';

const records: CurvePoint[] = Array.from({ length: 6 }, (_, epoch) => ({
  epoch,
  lr: epoch < 4 ? 1e-3 : 1e-4,
  loss: 0.0012 * Math.exp(-epoch / 3) + 0.0003,
  accuracy: 0.8 - 0.6 * Math.exp(-epoch / 2),
  validAccuracy: 0.7 - 0.6 * Math.exp(-epoch / 2),
  perf: 80 - 60 * Math.exp(-epoch / 2),
}));

const options = { title: 'w32_256x256_adam_lr1e-3 (mpii, pose_hrnet)', metric: 'PCKh mean (%)' };

/** Pixels of rows [top, bottom) that are not near-white. */
function inkPixels(png: PNG, top: number, bottom: number): number {
  let count = 0;
  for (let y = top; y < bottom; y++)
    for (let x = 0; x < png.width; x++) {
      const i = (y * png.width + x) * 4;
      if (png.data[i]! < 200 || png.data[i + 1]! < 200 || png.data[i + 2]! < 200) count++;
    }
  return count;
}

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('nice ticks', () => {
  it('covers the range with round steps', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 11, 8, true)).toEqual([0, 2, 4, 6, 8, 10, 12]);
    expect(niceTicks(0, 0.0015, 5)).toEqual([0, 0.0005, 0.001, 0.0015]);
    expect(niceTicks(3, 3, 5, true)).toEqual([2, 3, 4]);
  });

  it('labels an axis in one style', () => {
    expect(formatTicks([0, 0.2, 0.4])).toEqual(['0.0', '0.2', '0.4']);
    expect(formatTicks([0, 25, 50])).toEqual(['0', '25', '50']);
    expect(formatTicks([0, 0.00025, 0.0005])).toEqual(['0', '2.5e-4', '5e-4']);
  });
});

describe('training curves', () => {
  it('draws title, axis titles, tick labels and a legend in the SVG', () => {
    const { svg } = renderTrainingCurves(records, options);
    expect(svg.startsWith('<svg')).toBe(true);
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(texts).toContain(options.title);
    for (const title of ['epoch', 'loss', 'accuracy', 'PCKh mean (%)', 'learning rate'])
      expect(texts).toContain(title);
    for (const legend of [
      'training loss',
      'training accuracy',
      'validation accuracy',
      'validation PCKh mean (%)',
      'learning rate',
    ])
      expect(texts).toContain(legend);
    for (const tick of ['0', '1', '2', '5', '0.2', '1.0', '80', '1e-3', '5e-4'])
      expect(texts).toContain(tick);
    expect(svg).toContain('font-family="DejaVu Sans');
  });

  it('escapes text and leaves gaps for non-finite values', () => {
    const odd = records.map((r, i) => (i === 2 ? { ...r, loss: Number.NaN } : r));
    const { svg } = renderTrainingCurves(odd, { title: 'a<b & "c"' });
    expect(svg).toContain('a&lt;b &amp; &quot;c&quot;');
    expect(svg).not.toContain('NaN');
    const lossPath = svg.match(/<g class="panel" id="panel-0">[\s\S]*?<path d="([^"]*)"/)?.[1];
    expect(lossPath?.match(/M/g)).toHaveLength(2);
  });

  it('renders text into the PNG at the chart size', () => {
    const chart = trainingCurvesChart(records, options);
    const { width, height } = chartSize(chart);
    const png = PNG.sync.read(Buffer.from(renderTrainingCurves(records, options).png));
    expect([png.width, png.height]).toEqual([width, height]);
    const untitled = PNG.sync.read(Buffer.from(renderTrainingCurves(records, { ...options, title: '' }).png));
    const titleInk = inkPixels(png, 0, 44);
    expect(titleInk).toBeGreaterThan(200);
    expect(inkPixels(untitled, 0, 44)).toBe(0);
    // Dark (text-coloured) pixels, not only antialiasing.
    let dark = 0;
    for (let i = 0; i < width * 44 * 4; i += 4) if (png.data[i]! < 80 && png.data[i + 1]! < 80) dark++;
    expect(dark).toBeGreaterThan(100);
    // The rest of the picture is the same without a title.
    expect(inkPixels(untitled, 44, height)).toBe(inkPixels(png, 44, height));
  });

  it('draws one epoch and no epochs without failing', () => {
    for (const some of [records.slice(0, 1), []]) {
      const png = PNG.sync.read(Buffer.from(renderTrainingCurves(some, options).png));
      expect(png.width).toBeGreaterThan(0);
    }
    expect(renderTrainingCurves(records.slice(0, 1), options).svg).not.toMatch(/>-1</);
  });

  it('writes the SVG and the PNG into the output folder, titled after the experiment', () => {
    const root = mkdtempSync(join(tmpdir(), 'hrnet-plot-'));
    tempDirs.push(root);
    const outputDir = join(root, 'mpii', 'pose_hrnet', 'w8_64x64');
    expect(curveOptionsFor(outputDir)).toEqual({
      title: 'w8_64x64 (mpii, pose_hrnet)',
      metric: 'PCKh mean (%)',
    });
    expect(curveOptionsFor(join(root, 'coco', 'pose_hrnet', 'x')).metric).toBe('AP');
    writeTrainingCurves(outputDir, records);
    expect(readdirSync(outputDir).sort()).toEqual(['training-curves.png', 'training-curves.svg']);
    expect(readFileSync(join(outputDir, 'training-curves.svg'), 'utf8')).toContain(
      'w8_64x64 (mpii, pose_hrnet)',
    );
    const png = PNG.sync.read(readFileSync(join(outputDir, 'training-curves.png')));
    expect(png.width).toBe(760);
    // Rewriting replaces both files and leaves no temporary file behind.
    writeTrainingCurves(outputDir, records.slice(0, 3));
    expect(readdirSync(outputDir).sort()).toEqual(['training-curves.png', 'training-curves.svg']);
    expect(existsSync(join(outputDir, 'training-curves.png'))).toBe(true);
  });
});
