import { lineChartSvg } from '../runtime/chart/line-chart.ts';
import type { TrainingConfig } from '../runtime/train/trainer.ts';
import type { StepRecord } from './page-training.ts';

/** The experiment's optimizer settings, in one line, as the official get_optimizer applies them. */
export function optimizerLine(config: TrainingConfig): string {
  const t = config.TRAIN;
  const schedule = `LR ${t.LR}, ×${t.LR_FACTOR} at epochs ${t.LR_STEP.join(', ')}`;
  const rest =
    t.OPTIMIZER === 'adam'
      ? 'Adam (β = 0.9, 0.999; ε = 1e-8; no weight decay)'
      : `SGD (momentum ${t.MOMENTUM}, weight decay ${t.WD}${t.NESTEROV ? ', Nesterov' : ''})`;
  return `From the experiment: ${rest}, ${schedule}; shuffle ${t.SHUFFLE ? 'on' : 'off'}; augmentation as DATASET says.`;
}

/** The loss and the training accuracy per step, as `hrnet train`'s curves draw them per epoch. */
export function stepChartSvg(history: readonly StepRecord[], experiment: string): string {
  return lineChartSvg({
    title: `${experiment}: training in the page`,
    xTitle: 'step',
    x: history.map((r) => r.step),
    xIntegers: true,
    width: 680,
    panelHeight: 190,
    panels: [
      {
        yTitle: 'loss',
        series: [{ label: 'training loss', color: '#c83232', values: history.map((r) => r.loss) }],
        yInclude: [0],
      },
      {
        yTitle: 'accuracy',
        series: [{ label: 'training accuracy', color: '#2f5ec8', values: history.map((r) => r.accuracy) }],
        yInclude: [0, 1],
      },
    ],
  });
}

/** One row of the step table; the full-precision loss is on the row for scripts and tests. */
export function appendStepRow(table: HTMLTableElement, record: StepRecord): void {
  const row = table.tBodies[0]!.insertRow();
  row.dataset.loss = String(record.loss);
  row.dataset.accuracy = String(record.accuracy);
  for (const cell of [
    String(record.step),
    String(record.epoch),
    record.lr.toPrecision(3),
    record.loss.toExponential(4),
    record.accuracy.toFixed(3),
    record.imagesPerSecond.toFixed(2),
  ])
    row.insertCell().textContent = cell;
}

/** Points `link` at a new download of `bytes`, releasing the one it had. */
export function setDownload(link: HTMLAnchorElement, bytes: Uint8Array, name: string, label: string): void {
  if (link.href.startsWith('blob:')) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(
    new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
  );
  link.download = name;
  link.textContent = label;
  link.hidden = false;
}
