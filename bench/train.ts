/**
 * bench/train: time per training step (forward in training mode, loss, backward, Adam) and images/s
 * for the tiny model and W32 256x192 at a few batch sizes on the available adapter, with the planned
 * peak GPU memory, waiting both ways (mapAsync at once, or sleeping between checks; img/s and GFLOP/s are for
 * sleeping, the runtime's default), and the dispatches per step with the host time spent uploading,
 * recording and submitting them. Run:
 *   npm run bench:train [-- --quick] [-- --profile] [-- --experiment FILE [--batch B]] [-- --tuning FILE]
 * --profile also prints GPU time per kernel kind (timestamp queries, one pass per dispatch);
 * --experiment times one experiment at one batch size (default 1); --tuning (`hrnet tune --training`
 * output, several merged) chooses the step's kernels instead of the adapter class's defaults.
 */

import { openGpu } from '../runtime/gpu/adapter.ts';
import { tuningArgument } from './compiled-forward.ts';
import { optionValue } from './options.ts';
import { printTable } from './table.ts';
import { timeTrainSteps } from './train-step-timing.ts';

const quick = process.argv.includes('--quick');
const profile = process.argv.includes('--profile');
const only = optionValue('--experiment');
const cases = only
  ? [{ experiment: only, batches: [Number(optionValue('--batch') ?? 1)] }]
  : quick
    ? [{ experiment: 'experiments/tiny/w8_64x64.yaml', batches: [16] }]
    : [
        { experiment: 'experiments/tiny/w8_64x64.yaml', batches: [4, 16, 32] },
        { experiment: 'experiments/coco/w32_256x192.yaml', batches: [1, 4] },
      ];

const tuning = tuningArgument(process.argv);
const gpu = await openGpu();
console.log(`adapter: ${gpu.adapterDescription}${gpu.isSoftware ? ' (software)' : ''}`);
const rows: string[][] = [
  [
    'experiment',
    'batch',
    'ms/step (map)',
    'ms/step (sleep)',
    'sleep/map',
    'dispatches',
    'host ms',
    'img/s',
    'GFLOP/s (≈3× forward)',
    'peak memory (MiB)',
    'memory/image (MiB)',
  ],
];
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

for (const { experiment, batches } of cases) {
  for (const t of await timeTrainSteps(
    gpu,
    experiment,
    batches,
    profile ? printProfile : undefined,
    tuning,
  )) {
    console.log(`${t.experiment} batch ${t.batch}: training kernels: ${t.kernels}`);
    rows.push([
      t.experiment,
      String(t.batch),
      t.msMap.toFixed(0),
      t.msSleep.toFixed(0),
      (t.msSleep / t.msMap).toFixed(2),
      String(t.dispatches),
      t.hostMs.toFixed(1),
      ((t.batch * 1000) / t.msSleep).toFixed(2),
      ((3 * 2 * t.macsPerImage * t.batch) / 1e9 / (t.msSleep / 1000)).toFixed(2),
      mib(t.peakBytes),
      mib(t.arenaBytesPerImage),
    ]);
  }
}

printTable(rows);

/** GPU time per kernel kind (the kernel name without its hash), largest first. */
function printProfile(
  timings: readonly { module: string; kernel: string; ms: number }[] | undefined,
  label: string,
  descriptions: ReadonlyMap<string, string>,
): void {
  if (!timings) {
    console.log(`${label}: the adapter has no timestamp queries`);
    return;
  }
  const byKind = new Map<string, { ms: number; count: number }>();
  for (const t of timings) {
    const kind = t.kernel.replace(/_[0-9a-f]{8}$/, '');
    const entry = byKind.get(kind) ?? { ms: 0, count: 0 };
    entry.ms += t.ms;
    entry.count++;
    byKind.set(kind, entry);
  }
  const total = timings.reduce((n, t) => n + t.ms, 0);
  console.log(`${label}: ${total.toFixed(0)} ms of GPU time in ${timings.length} dispatches`);
  for (const [kind, { ms, count }] of [...byKind].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25))
    console.log(
      `  ${kind.padEnd(36)} ${String(count).padStart(4)}× ${ms.toFixed(1).padStart(8)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%`,
    );
  console.log('  slowest dispatches:');
  for (const t of [...timings].sort((a, b) => b.ms - a.ms).slice(0, 12))
    console.log(
      `  ${t.ms.toFixed(1).padStart(8)} ms  ${t.module}: ${descriptions.get(t.kernel) ?? t.kernel}`,
    );
}
