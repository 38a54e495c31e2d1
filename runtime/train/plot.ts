import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import { type LineChart, lineChartSvg } from '../chart/line-chart.ts';
import { svgToPng } from '../chart/render.ts';
import type { EpochRecord } from './trainer.ts';

/** The fields of a train-log.jsonl line that the curves show. */
export type CurvePoint = Pick<EpochRecord, 'epoch' | 'lr' | 'loss' | 'accuracy' | 'validAccuracy' | 'perf'>;

export interface CurveOptions {
  /** The chart's title; by default the experiment's name. */
  readonly title?: string;
  /** What `perf` is: "PCKh mean (%)" for MPII, "AP" for COCO. */
  readonly metric?: string;
}

/**
 * The training curves, one point per epoch (the epoch numbers of train-log.jsonl): the training loss;
 * the training and validation accuracy (PCK on heatmaps, 0 to 1); the dataset metric; the learning rate.
 */
export function trainingCurvesChart(records: readonly CurvePoint[], options: CurveOptions = {}): LineChart {
  const metric = options.metric ?? 'validation metric';
  return {
    title: options.title ?? 'training curves',
    xTitle: 'epoch',
    x: records.map((r) => r.epoch),
    xIntegers: true,
    panels: [
      {
        yTitle: 'loss',
        series: [{ label: 'training loss', color: '#c83232', values: records.map((r) => r.loss) }],
        yInclude: [0],
      },
      {
        yTitle: 'accuracy',
        series: [
          { label: 'training accuracy', color: '#2f5ec8', values: records.map((r) => r.accuracy) },
          { label: 'validation accuracy', color: '#2a9a3c', values: records.map((r) => r.validAccuracy) },
        ],
        yInclude: [0, 1],
      },
      {
        yTitle: metric,
        series: [{ label: `validation ${metric}`, color: '#8a3fb0', values: records.map((r) => r.perf) }],
        // The metric's whole scale, so an untrained model's 0 does not stretch to fill the panel.
        yInclude: metric.endsWith('(%)') ? [0, 100] : metric === 'AP' ? [0, 1] : [0],
      },
      {
        yTitle: 'learning rate',
        series: [
          { label: 'learning rate', color: '#666666', values: records.map((r) => r.lr), dashed: true },
        ],
        yInclude: [0],
      },
    ],
  };
}

/**
 * The defaults for a run's output folder, `OUTPUT_DIR/<dataset>/<model>/<experiment>` as the official
 * create_logger names it: the experiment's name as the title and the dataset's metric.
 */
export function curveOptionsFor(outputDir: string): CurveOptions {
  const experiment = basename(outputDir);
  const model = basename(dirname(outputDir));
  const dataset = basename(dirname(dirname(outputDir)));
  const metric = dataset.startsWith('mpii') ? 'PCKh mean (%)' : dataset.startsWith('coco') ? 'AP' : undefined;
  return {
    title: experiment ? `${experiment} (${[dataset, model].filter(Boolean).join(', ')})` : 'training curves',
    ...(metric ? { metric } : {}),
  };
}

/** The chart as SVG text and as PNG bytes. */
export function renderTrainingCurves(
  records: readonly CurvePoint[],
  options: CurveOptions = {},
): { svg: string; png: Uint8Array } {
  const svg = lineChartSvg(trainingCurvesChart(records, options));
  return { svg, png: svgToPng(svg) };
}

/** Writes training-curves.svg and training-curves.png into `outputDir`, each atomically. */
export function writeTrainingCurves(
  outputDir: string,
  records: readonly CurvePoint[],
  options: CurveOptions = curveOptionsFor(outputDir),
): void {
  const { svg, png } = renderTrainingCurves(records, options);
  writeFileAtomic(join(outputDir, 'training-curves.svg'), svg);
  writeFileAtomic(join(outputDir, 'training-curves.png'), png);
}
