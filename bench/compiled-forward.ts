import { readFileSync } from 'node:fs';
import { median } from '../common/median.ts';
import { toForwardProgram } from '../compiler/codegen/forward-program.ts';
import { type KernelProgram, planKernels } from '../compiler/codegen/kernel-plan.ts';
import { loadExperiment } from '../compiler/config/load-experiment.ts';
import type { Graph } from '../compiler/ir/graph.ts';
import { inferencePasses } from '../compiler/passes/inference-passes.ts';
import { runPasses } from '../compiler/passes/pass.ts';
import { lowerExperiment } from '../compiler/pipeline.ts';
import type { GpuContext } from '../runtime/gpu/adapter.ts';
import { ForwardRunner } from '../runtime/gpu/forward-runner.ts';
import { type ChosenKernels, chooseKernels, type TuningFile } from '../runtime/kernel-choice.ts';
import { officialInitialWeights } from '../runtime/weights/init-weights.ts';
import { packWeights } from '../runtime/weights/pack-weights.ts';
import type { TensorMap } from '../runtime/weights/safetensors.ts';

export interface BenchForward {
  readonly name: string;
  /** The source graph (before the inference passes), e.g. for ONNX export or MAC counts. */
  readonly graph: Graph;
  /** The graph the kernels compute (after the inference passes). */
  readonly planned: Graph;
  readonly program: KernelProgram;
  readonly chosen: ChosenKernels;
  readonly weights: TensorMap;
  readonly runner: ForwardRunner;
}

/**
 * An experiment compiled in memory as `hrnetc` would, its kernels chosen as `hrnet forward` would on
 * this adapter (a tuning file's choices when given and measured here), with the official
 * initialisation (seed 0) as weights.
 */
export async function benchForward(
  gpu: GpuContext,
  experimentFile: string,
  tuning?: TuningFile,
): Promise<BenchForward> {
  const loaded = loadExperiment(experimentFile);
  if (!loaded.ok) throw new Error(`invalid ${experimentFile}`);
  const lowered = lowerExperiment(loaded.experiment);
  if (!lowered.ok) throw new Error(lowered.message);
  const planned = runPasses(lowered.graph, inferencePasses).graph;
  const program = planKernels(planned);
  const chosen = chooseKernels(toForwardProgram(program, loaded.experiment.name), program.weights, {
    adapter: gpu.adapterDescription,
    isSoftware: gpu.isSoftware,
    ...(tuning ? { tuning } : {}),
  });
  const weights = officialInitialWeights(program.parameters, 0);
  const runner = await ForwardRunner.create(
    gpu,
    chosen.program,
    new Map(program.kernels.map((k) => [k.name, k.wgsl])),
    packWeights(chosen.weights.entries, chosen.weights.bytes, weights),
    chosen.weights.entries,
  );
  return { name: loaded.experiment.name, graph: lowered.graph, planned, program, chosen, weights, runner };
}

/**
 * The `--tuning FILE` arguments (tuning.json files that `hrnet tune` wrote; several merge, e.g. one
 * per experiment), if any.
 */
export function tuningArgument(argv: readonly string[]): TuningFile | undefined {
  const files = argv.flatMap((arg, i) => {
    if (arg !== '--tuning') return [];
    const path = argv[i + 1];
    if (!path) throw new Error('--tuning needs a file name');
    return [JSON.parse(readFileSync(path, 'utf8')) as TuningFile];
  });
  if (files.length === 0) return undefined;
  const training = files.flatMap((f) => (f.training ? [f.training] : []));
  return {
    ...files[0]!,
    kernels: Object.assign({}, ...files.map((f) => f.kernels)),
    ...(training.length
      ? {
          training: {
            batch: training[0]!.batch,
            kernels: Object.assign({}, ...training.map((t) => t.kernels)),
          },
        }
      : {}),
  };
}

/**
 * Median milliseconds of `repeats` runs, after warming up until a run is no longer 3% faster than the
 * one before (at most 12 runs): the first runs of a process also create pipelines, bind groups and
 * buffers, and JIT-compile the host code, so a fixed warm-up could time some of that rather than the GPU.
 * `after` sees each timed run (e.g. to read the host time it took).
 */
export async function timeSettled(
  run: () => Promise<unknown>,
  repeats = 3,
  after: () => void = () => {},
): Promise<number> {
  let previous = Number.POSITIVE_INFINITY;
  for (let warmup = 0; warmup < 12; warmup++) {
    const started = performance.now();
    await run();
    const ms = performance.now() - started;
    if (ms > previous * 0.97) break;
    previous = ms;
  }
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
    after();
  }
  return median(times);
}
