import { median } from '../common/median.ts';
import { toTrainStepProgram } from '../compiler/codegen/train-program.ts';
import { loadExperiment } from '../compiler/config/load-experiment.ts';
import { graphParameters } from '../compiler/ir/parameters.ts';
import { summarize } from '../compiler/ir/summary.ts';
import { lowerExperiment, trainingProgram } from '../compiler/pipeline.ts';
import type { GpuContext } from '../runtime/gpu/adapter.ts';
import type { WaitMode } from '../runtime/gpu/result-wait.ts';
import { describeKernelChoice, type TuningFile } from '../runtime/kernel-choice.ts';
import { type TrainBatch, TrainStepRunner } from '../runtime/train/train-step-runner.ts';
import { officialInitialWeights } from '../runtime/weights/init-weights.ts';
import { timeSettled } from './compiled-forward.ts';

export interface TrainStepTiming {
  readonly experiment: string;
  readonly batch: number;
  /** Median of 3 steps, waiting for results by awaiting mapAsync at once, or sleeping between checks. */
  readonly msMap: number;
  readonly msSleep: number;
  /** Host milliseconds per step (median, sleep wait) spent uploading, recording and submitting. */
  readonly hostMs: number;
  /** Dispatches per step, the optimizer's included. */
  readonly dispatches: number;
  /** Which convolution kernels the step ran, and why (describeKernelChoice). */
  readonly kernels: string;
  /** Multiply-accumulates of one forward per image (a step is about 3 forwards). */
  readonly macsPerImage: number;
  /** Planned GPU memory: arena for the batch, fixed values, running stats, parameters + gradients + Adam. */
  readonly peakBytes: number;
  readonly arenaBytesPerImage: number;
}

/**
 * A training-step runner (Adam, official initialisation) for an experiment, and a timer of its steps
 * at several batch sizes on constant data; `profile` receives each batch's per-dispatch GPU times.
 * The kernels are those the tuning file's training part names (`hrnet tune --training`), else the
 * adapter class's defaults.
 */
export async function timeTrainSteps(
  gpu: GpuContext,
  experimentFile: string,
  batches: readonly number[],
  profile?: (
    timings: Awaited<ReturnType<TrainStepRunner['profile']>>,
    label: string,
    descriptions: ReadonlyMap<string, string>,
  ) => void,
  tuning?: TuningFile,
): Promise<TrainStepTiming[]> {
  const loaded = loadExperiment(experimentFile);
  if (!loaded.ok) throw new Error(`invalid ${experimentFile}`);
  const lowered = lowerExperiment(loaded.experiment);
  if (!lowered.ok) throw new Error(lowered.message);
  const { program } = trainingProgram({
    experiment: loaded.experiment,
    graph: lowered.graph,
    inputName: experimentFile,
  });
  const macs = summarize(lowered.graph).macs;
  const runner = await TrainStepRunner.create(
    gpu,
    toTrainStepProgram(program, loaded.experiment.name),
    new Map(program.kernels.map((k) => [k.name, k.wgsl])),
    { kind: 'adam', momentum: 0.9, weightDecay: 0, nesterov: false },
    tuning,
  );
  runner.setState(officialInitialWeights(graphParameters(lowered.graph), 0));
  const [input, target, weight] = [
    program.inputShapes.input,
    program.inputShapes.target,
    program.inputShapes.targetWeight,
  ].map((s) => s.reduce((n, d) => n * d, 1));
  const timings: TrainStepTiming[] = [];
  for (const batch of batches) {
    const data: TrainBatch = {
      count: batch,
      input: new Float32Array(input! * batch).fill(0.1),
      target: new Float32Array(target! * batch).fill(0.01),
      targetWeight: new Float32Array(weight! * batch).fill(1),
    };
    await runner.step(data, 0.001); // warm-up: compilation and allocation
    // Settled, as bench:forward times the forward (see timeSettled).
    const hostTimes: number[] = [];
    const settled = (wait: WaitMode) =>
      timeSettled(
        () => runner.step(data, 0.001, {}, wait),
        3,
        () => hostTimes.push(runner.lastHostMs),
      );
    const msMap = await settled('map');
    hostTimes.length = 0;
    const msSleep = await settled('sleep');
    if (profile)
      profile(
        await runner.profile(data),
        `${loaded.experiment.name} batch ${batch}`,
        new Map(program.kernels.map((k) => [k.name, k.description])),
      );
    timings.push({
      experiment: loaded.experiment.name,
      batch,
      msMap,
      msSleep,
      hostMs: median(hostTimes),
      dispatches: runner.lastDispatches,
      kernels: describeKernelChoice(runner.kernelChoice),
      macsPerImage: macs,
      peakBytes:
        program.arenaBytesPerImage * batch +
        program.fixedBytes +
        program.runningBytes +
        4 * program.parameterBytes,
      arenaBytesPerImage: program.arenaBytesPerImage,
    });
  }
  runner.destroy();
  return timings;
}
