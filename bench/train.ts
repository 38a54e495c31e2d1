/**
 * bench/train: time per training step (forward in training mode, loss, backward, Adam) and images/s
 * for the tiny model and W32 256x192 at a few batch sizes on the available adapter, with the planned
 * peak GPU memory, waiting both ways (mapAsync at once, or sleeping first). Run:
 *   npm run bench:train [-- --quick]
 */

import { toTrainStepProgram } from '../compiler/codegen/train-program.ts';
import { loadExperiment } from '../compiler/config/load-experiment.ts';
import { graphParameters } from '../compiler/ir/parameters.ts';
import { summarize } from '../compiler/ir/summary.ts';
import { lowerExperiment, trainingProgram } from '../compiler/pipeline.ts';
import { openGpu } from '../runtime/gpu/adapter.ts';
import { TrainStepRunner } from '../runtime/train/train-step-runner.ts';
import { officialInitialWeights } from '../runtime/weights/init-weights.ts';

const quick = process.argv.includes('--quick');
const cases = quick
  ? [{ experiment: 'experiments/tiny/w8_64x64.yaml', batches: [4, 16] }]
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
    'ms/step',
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
    const times: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const started = performance.now();
      await runner.step(data, 0.001);
      times.push(performance.now() - started);
    }
    const ms = times.sort((a, b) => a - b)[1]!;
    const peak =
      program.arenaBytesPerImage * batch +
      program.fixedBytes +
      program.runningBytes +
      4 * program.parameterBytes;
    rows.push([
      loaded.experiment.name,
      String(batch),
      ms.toFixed(0),
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
