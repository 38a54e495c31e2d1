import { Prng } from '../../common/prng.ts';
import { relativeError } from '../../common/relative-error.ts';
import { deviceKernel } from '../device-kernels.ts';
import type { GpuContext } from '../gpu/adapter.ts';
import { createPipelines } from '../gpu/pipelines.ts';
import { readMapped } from '../gpu/result-wait.ts';
import { standaloneBindings } from '../gpu/standalone-dispatch.ts';
import type { TunedKernel, TuningFile } from '../kernel-choice.ts';
import type { Dispatch, DispatchVariant, ParameterInfo, WeightEntry } from '../program.ts';
import type { CompiledProgram } from '../program-loader.ts';
import { packWeights } from '../weights/pack-weights.ts';
import type { NamedTensor, TensorMap } from '../weights/safetensors.ts';
import { workgroupCounts } from '../workgroups.ts';
import { fastestCandidate, timeCandidate } from './candidate-timing.ts';

export interface TuneOptions {
  readonly batch: number;
  /** Timed dispatches per candidate (the median counts). */
  readonly repetitions: number;
  readonly seed?: number;
  /** Told after each convolution is measured. */
  readonly onProgress?: (done: number, total: number, key: string) => void;
}

/** One convolution's measurement: the candidates' times, and the ones that did not match. */
export interface TuneResult {
  readonly file: TuningFile;
  /** Candidates whose output differed from the reference, by key: `variant: relative error`. */
  readonly rejected: readonly string[];
  /** How the times were taken. */
  readonly clock: 'timestamp queries' | 'wall clock';
}

/**
 * Largest |candidate − reference| / max |reference| accepted as the same convolution: float32 sums
 * in another order differ by a few ulps of the largest partial sums, far below this; a wrong index
 * or a missed tap differs by O(1).
 */
export const variantTolerance = 1e-4;

/** The reference every candidate is checked against: the tiled GEMM, else the first variant. */
const referenceName = 'gemm';

/**
 * Measures every kernel variant of each convolution (one measurement per choice key) on this
 * adapter: random inputs and weights, each candidate's output checked against the reference
 * variant's before it is timed, then the median of `repetitions` dispatches (GPU timestamps where
 * the adapter has them, else the wall clock of one submission). The fastest matching candidate wins;
 * ties keep the order the compiler listed them in, so the result is deterministic given the times.
 */
export async function tuneKernels(
  gpu: GpuContext,
  compiled: Pick<CompiledProgram, 'manifest' | 'forward' | 'kernels'>,
  options: TuneOptions,
): Promise<TuneResult> {
  const { device } = gpu;
  const choices = new Map<string, Dispatch>();
  for (const dispatch of compiled.forward.dispatches)
    if (dispatch.choice && !choices.has(dispatch.choice.key)) choices.set(dispatch.choice.key, dispatch);
  // A variant that needs subgroups runs its twin on a device without them, as the runtime would.
  const kernelOf = (v: DispatchVariant) => deviceKernel(v, device.features);
  const names = [...new Set([...choices.values()].flatMap((d) => d.choice!.variants.map(kernelOf)))];
  const pipelines = await createPipelines(gpu, names, compiled.kernels, 'tuning');
  const tensors = randomParameters(compiled.manifest.parameters, options.seed ?? 0);
  const timestamps = device.features.has('timestamp-query');
  const kernels: Record<string, TunedKernel> = {};
  const rejected: string[] = [];
  let done = 0;
  for (const [key, dispatch] of choices) {
    const variants = dispatch.choice!.variants;
    const reference = variants.find((v) => v.name === referenceName) ?? variants[0]!;
    const activations = activationData(dispatch, compiled, options.batch, options.seed ?? 0);
    const expected = await runVariant(gpu, pipelines.get(kernelOf(reference))!, reference, activations, {
      tensors,
      entries: compiled.manifest.weights.entries,
      batch: options.batch,
      repetitions: 0,
    });
    const ms: Record<string, number> = {};
    for (const variant of variants) {
      const run = await runVariant(gpu, pipelines.get(kernelOf(variant))!, variant, activations, {
        tensors,
        entries: compiled.manifest.weights.entries,
        batch: options.batch,
        repetitions: options.repetitions,
      });
      const error = relativeError(run.output, expected.output);
      if (!(error <= variantTolerance)) {
        rejected.push(`${key} ${variant.name}: relative error ${error.toExponential(2)}`);
        continue;
      }
      ms[variant.name] = run.ms;
    }
    const fastest = fastestCandidate(ms);
    if (fastest) kernels[key] = fastest;
    options.onProgress?.(++done, choices.size, key);
  }
  return {
    file: {
      format: 'hrnetc-tuning',
      version: 1,
      adapter: gpu.adapterDescription,
      experiment: compiled.forward.experiment,
      batch: options.batch,
      kernels,
    },
    rejected,
    clock: timestamps ? 'timestamp queries' : 'wall clock',
  };
}

/**
 * Random official parameters: weights and biases in [-0.5, 0.5), running variances in [0.5, 1.5),
 * so folded and unfolded weights are all of ordinary size.
 */
function randomParameters(parameters: readonly ParameterInfo[], seed: number): TensorMap {
  const prng = new Prng(seed);
  const tensors = new Map<string, NamedTensor>();
  for (const p of parameters) {
    const count = p.shape.reduce((n, d) => n * d, 1);
    const data = new Float32Array(count);
    const low = p.role === 'running_var' ? 0.5 : -0.5;
    for (let i = 0; i < count; i++) data[i] = low + prng.next();
    tensors.set(p.name, { shape: p.shape, data });
  }
  return tensors;
}

/** Random contents for the dispatch's activation bindings (the output's too: it is overwritten). */
function activationData(
  dispatch: Dispatch,
  compiled: Pick<CompiledProgram, 'forward'>,
  batch: number,
  seed: number,
): Map<number, Float32Array> {
  const prng = new Prng(seed + 1);
  const data = new Map<number, Float32Array>();
  for (const binding of dispatch.bindings) {
    if (binding.kind !== 'activation' || data.has(binding.tensor)) continue;
    const tensor = compiled.forward.tensors.find((t) => t.id === binding.tensor)!;
    const values = new Float32Array((tensor.bytes * batch) / 4);
    for (let i = 0; i < values.length; i++) values[i] = prng.next() * 2 - 1;
    data.set(binding.tensor, values);
  }
  return data;
}

interface RunSettings {
  readonly tensors: TensorMap;
  readonly entries: readonly WeightEntry[];
  readonly batch: number;
  readonly repetitions: number;
}

/**
 * One candidate on buffers of its own (each binding separate): one dispatch for the output, then
 * `repetitions` timed ones. Returns the output binding's values and the median milliseconds.
 */
async function runVariant(
  gpu: GpuContext,
  pipeline: GPUComputePipeline,
  variant: DispatchVariant,
  activations: ReadonlyMap<number, Float32Array>,
  settings: RunSettings,
): Promise<{ output: Float32Array; ms: number }> {
  const { device } = gpu;
  const values = variant.bindings.map((binding) => {
    if (binding.kind === 'activation') return activations.get(binding.tensor)!;
    if (binding.kind === 'weight') {
      const entry = { ...settings.entries[binding.entry]!, offset: 0 };
      return packWeights([entry], entry.bytes, settings.tensors);
    }
    throw new Error(`a forward dispatch cannot bind ${binding.kind} buffers`);
  });
  // A windowed weight (see WeightWindows) is bound a window at a time, one dispatch each.
  const windowed = variant.bindings.flatMap((b, value) => {
    const windows = b.kind === 'weight' ? settings.entries[b.entry]!.windows : undefined;
    return windows ? [{ value, windows }] : [];
  })[0];
  const { groups, buffers, destroy } = standaloneBindings(device, pipeline, settings.batch, values, windowed);
  const workgroups = workgroupCounts(variant.workgroups, settings.batch);
  const dispatch = (pass: GPUComputePassEncoder) => {
    pass.setPipeline(pipeline);
    for (const group of groups) {
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(...workgroups);
    }
  };
  try {
    const output = buffers[0]!;
    const readback = device.createBuffer({
      size: output.size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const first = device.createCommandEncoder();
    const pass = first.beginComputePass();
    dispatch(pass);
    pass.end();
    first.copyBufferToBuffer(output, 0, readback, 0, output.size);
    device.queue.submit([first.finish()]);
    const values = new Float32Array(await readMapped(device, readback, `kernel ${variant.kernel}`));
    readback.destroy();
    const ms = settings.repetitions > 0 ? await timeCandidate(device, dispatch, settings.repetitions) : 0;
    return { output: values, ms };
  } finally {
    destroy();
  }
}
