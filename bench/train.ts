/**
 * bench/train: time per training step (forward in training mode, loss, backward, Adam) and images/s
 * for the tiny model and W32 256x192 at a few batch sizes on the available adapter, with the planned
 * peak GPU memory, waiting both ways (mapAsync at once, or sleeping first; img/s and GFLOP/s are for
 * sleeping, the runtime's default). Run:
 *   npm run bench:train [-- --quick] [-- --profile]
 * --profile also prints GPU time per kernel kind (timestamp queries, one pass per dispatch).
 */

import { toTrainStepProgram } from '../compiler/codegen/train-program.ts';
import { loadExperiment } from '../compiler/config/load-experiment.ts';
import { graphParameters } from '../compiler/ir/parameters.ts';
import { summarize } from '../compiler/ir/summary.ts';
import { lowerExperiment, trainingProgram } from '../compiler/pipeline.ts';
import { openGpu } from '../runtime/gpu/adapter.ts';
import type { WaitMode } from '../runtime/gpu/result-wait.ts';
import { TrainStepRunner } from '../runtime/train/train-step-runner.ts';
import { officialInitialWeights } from '../runtime/weights/init-weights.ts';

const quick = process.argv.includes('--quick');
const profile = process.argv.includes('--profile');
const cases = quick
  ? [{ experiment: 'experiments/tiny/w8_64x64.yaml', batches: [16] }]
  : [
      { experiment: 'experiments/tiny/w8_64x64.yaml', batches: [4, 16, 32] },
      { experiment: 'experiments/coco/w32_256x192.yaml', batches: [1, 4] },
    ];

const gpu = await openGpu();
console.log(`adapter: ${gpu.adapterDescription}${gpu.isSoftware ? ' (software)' : ''}`);
const rows: string[][] = [
  [
    'experiment',
    'batch',
    'ms/step (map)',
    'ms/step (sleep)',
    'sleep/map',
    'img/s',
    'GFLOP/s (≈3× forward)',
    'peak memory (MiB)',
    'memory/image (MiB)',
  ],
];
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

for (const { experiment, batches } of cases) {
  const loaded = loadExperiment(experiment);
  if (!loaded.ok) throw new Error(`invalid ${experiment}`);
  const lowered = lowerExperiment(loaded.experiment);
  if (!lowered.ok) throw new Error(lowered.message);
  const { program } = trainingProgram({
    experiment: loaded.experiment,
    graph: lowered.graph,
    inputName: experiment,
  });
  const macs = summarize(lowered.graph).macs;
  const runner = await TrainStepRunner.create(
    gpu,
    toTrainStepProgram(program, loaded.experiment.name),
    new Map(program.kernels.map((k) => [k.name, k.wgsl])),
    {
      kind: 'adam',
      momentum: 0.9,
      weightDecay: 0,
      nesterov: false,
    },
  );
  runner.setState(officialInitialWeights(graphParameters(lowered.graph), 0));
  const [input, target, weight] = [
    program.inputShapes.input,
    program.inputShapes.target,
    program.inputShapes.targetWeight,
  ].map((s) => s.reduce((n, d) => n * d, 1));
  for (const batch of batches) {
    const data = {
      count: batch,
      input: new Float32Array(input! * batch).fill(0.1),
      target: new Float32Array(target! * batch).fill(0.01),
      targetWeight: new Float32Array(weight! * batch).fill(1),
    };
    await runner.step(data, 0.001); // warm-up: compilation and allocation
    const median = async (wait: WaitMode) => {
      const times: number[] = [];
      for (let rep = 0; rep < 3; rep++) {
        const started = performance.now();
        await runner.step(data, 0.001, {}, wait);
        times.push(performance.now() - started);
      }
      return times.sort((a, b) => a - b)[1]!;
    };
    const mapMs = await median('map');
    const ms = await median('sleep');
    if (profile) {
      const descriptions = new Map(program.kernels.map((k) => [k.name, k.description]));
      printProfile(await runner.profile(data), `${loaded.experiment.name} batch ${batch}`, descriptions);
    }
    const peak =
      program.arenaBytesPerImage * batch +
      program.fixedBytes +
      program.runningBytes +
      4 * program.parameterBytes;
    rows.push([
      loaded.experiment.name,
      String(batch),
      mapMs.toFixed(0),
      ms.toFixed(0),
      (ms / mapMs).toFixed(2),
      ((batch * 1000) / ms).toFixed(2),
      ((3 * 2 * macs * batch) / 1e9 / (ms / 1000)).toFixed(2),
      mib(peak),
      mib(program.arenaBytesPerImage),
    ]);
  }
  runner.destroy();
}

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
rows.forEach((row, r) => {
  console.log(
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '),
  );
  if (r === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
});

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
