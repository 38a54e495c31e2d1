/**
 * bench/ab: this checkout against another one (a baseline commit's worktree), side by side in one
 * process on one adapter, runs interleaved so that the machine's drift hits both alike. For each
 * case it checks that both compute the same values (the forward's outputs, or the losses of the first
 * two training steps from the same initial weights), then prints the median wall time per run
 * (sleep wait) and per-dispatch GPU time summed (timestamp queries), and the ratios baseline ÷ this.
 *   git worktree add /tmp/base <commit> && ln -s "$PWD/node_modules" /tmp/base/node_modules
 *   npm run bench:ab -- --baseline /tmp/base [--experiment FILE] [--batch 1,8] [--train] [--repeats 5]
 *     [--tuning FILE]
 * Both checkouts' modules are loaded by path, so the baseline must have the same entry points
 * (bench/compiled-forward.ts, compiler/pipeline.ts, runtime/train/train-step-runner.ts, …).
 * `--tuning FILE` (a tuning.json of `hrnet tune`, with `--training` for --train) applies to this
 * checkout's side only: with `--baseline .` it compares the tuned kernels against the defaults.
 */

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median } from '../common/median.ts';
import { openGpu } from '../runtime/gpu/adapter.ts';
import type { TuningFile } from '../runtime/kernel-choice.ts';
import { tuningArgument } from './compiled-forward.ts';
import { optionValue } from './options.ts';
import { printTable } from './table.ts';

const baseline = optionValue('--baseline');
if (!baseline) {
  console.error('bench:ab: --baseline DIR (a checkout of the commit to compare against) is required');
  process.exit(2);
}
const experiment = optionValue('--experiment') ?? 'experiments/coco/w32_256x192.yaml';
const training = process.argv.includes('--train');
const batches = (optionValue('--batch') ?? (training ? '1' : '1,8')).split(',').map(Number);
const repeats = Number(optionValue('--repeats') ?? 5);
const tuning = tuningArgument(process.argv);

/** One side of the comparison: runs once (sleep wait), and once per dispatch with GPU timestamps. */
interface Side {
  /** What must be equal on both sides. */
  readonly values: Float32Array | number[];
  run(): Promise<unknown>;
  profile(): Promise<readonly number[] | undefined>;
  destroy(): void;
}

const load = (root: string, path: string) => import(pathToFileURL(resolve(root, path)).href);

async function forwardSide(root: string, batch: number, tuned?: TuningFile): Promise<Side> {
  const { benchForward } = await load(root, 'bench/compiled-forward.ts');
  const { runner, program } = await benchForward(gpu, experiment, tuned);
  const perImage = (program.input.shape as number[]).reduce((n, d) => n * d, 1);
  const input = new Float32Array(perImage * batch).fill(0.5);
  const values: Float32Array = await runner.run(input, batch);
  return {
    values,
    run: () => runner.run(input, batch, 'sleep'),
    profile: () => runner.profile(input, batch),
    destroy: () => runner.destroy(),
  };
}

async function trainingSide(root: string, batch: number, tuned?: TuningFile): Promise<Side> {
  const [config, pipeline, trainProgram, stepRunner, init, parameters] = await Promise.all(
    [
      'compiler/config/load-experiment.ts',
      'compiler/pipeline.ts',
      'compiler/codegen/train-program.ts',
      'runtime/train/train-step-runner.ts',
      'runtime/weights/init-weights.ts',
      'compiler/ir/parameters.ts',
    ].map((path) => load(root, path)),
  );
  const loaded = config.loadExperiment(experiment);
  if (!loaded.ok) throw new Error(`invalid ${experiment}`);
  const lowered = pipeline.lowerExperiment(loaded.experiment);
  if (!lowered.ok) throw new Error(lowered.message);
  const { program } = pipeline.trainingProgram({
    experiment: loaded.experiment,
    graph: lowered.graph,
    inputName: experiment,
  });
  const runner = await stepRunner.TrainStepRunner.create(
    gpu,
    trainProgram.toTrainStepProgram(program, loaded.experiment.name),
    new Map(program.kernels.map((k: { name: string; wgsl: string }) => [k.name, k.wgsl])),
    { kind: 'adam', momentum: 0.9, weightDecay: 0, nesterov: false },
    tuned,
  );
  runner.setState(init.officialInitialWeights(parameters.graphParameters(lowered.graph), 0));
  const size = (shape: number[]) => shape.reduce((n, d) => n * d, 1) * batch;
  const data = {
    count: batch,
    input: new Float32Array(size(program.inputShapes.input)).map((_, i) => Math.sin(i) * 0.5),
    target: new Float32Array(size(program.inputShapes.target)).map((_, i) => (i % 7) * 0.01),
    targetWeight: new Float32Array(size(program.inputShapes.targetWeight)).fill(1),
  };
  const losses: number[] = [];
  for (let i = 0; i < 2; i++) losses.push((await runner.step(data, 0.001)).loss);
  return {
    values: losses,
    run: () => runner.step(data, 0.001, {}, 'sleep'),
    profile: async () => (await runner.profile(data))?.map((t: { ms: number }) => t.ms),
    destroy: () => runner.destroy(),
  };
}

const gpu = await openGpu();
console.log(`adapter: ${gpu.adapterDescription}${gpu.isSoftware ? ' (software)' : ''}`);
const rows: string[][] = [
  [
    'case',
    'batch',
    'max |Δ|',
    'baseline ms',
    'this ms',
    'wall ratio',
    'baseline GPU ms',
    'this GPU ms',
    'GPU ratio',
  ],
];
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
for (const batch of batches) {
  const make = training ? trainingSide : forwardSide;
  const sides = [await make(resolve(baseline), batch), await make('.', batch, tuning)] as const;
  let difference = 0;
  sides[0].values.forEach((v, i) => {
    difference = Math.max(difference, Math.abs(v - sides[1].values[i]!));
  });
  const wall: number[][] = [[], []];
  const gpuTimes: number[][] = [[], []];
  for (const side of sides) await side.run(); // warm-up
  for (let r = 0; r < repeats; r++) {
    for (const [i, side] of sides.entries()) {
      const started = performance.now();
      await side.run();
      wall[i]!.push(performance.now() - started);
    }
    for (const [i, side] of sides.entries()) {
      const times = await side.profile();
      if (times) gpuTimes[i]!.push(sum(times));
    }
    process.stdout.write(`\r${training ? 'training step' : 'forward'} batch ${batch}: ${r + 1}/${repeats}`);
  }
  process.stdout.write('\n');
  for (const side of sides) side.destroy();
  const [wallA, wallB] = wall.map((t) => median(t));
  const [gpuA, gpuB] = gpuTimes.map((t) => (t.length ? median(t) : Number.NaN));
  rows.push([
    `${training ? 'training step' : 'forward'} ${experiment}`,
    String(batch),
    difference.toExponential(1),
    wallA!.toFixed(0),
    wallB!.toFixed(0),
    `${(wallA! / wallB!).toFixed(2)}×`,
    gpuA!.toFixed(0),
    gpuB!.toFixed(0),
    `${(gpuA! / gpuB!).toFixed(2)}×`,
  ]);
}
const tuned = tuning ? ', this side tuned' : '';
printTable(
  rows,
  `baseline ${baseline} against this checkout${tuned} (medians of ${repeats} interleaved runs)`,
);
process.exit(0);
