import { Prng } from '../../common/prng.ts';
import { relativeError } from '../../common/relative-error.ts';
import { deviceKernel } from '../device-kernels.ts';
import type { GpuContext } from '../gpu/adapter.ts';
import { createPipelines } from '../gpu/pipelines.ts';
import { readMapped } from '../gpu/result-wait.ts';
import type { TunedKernel } from '../kernel-choice.ts';
import type { Binding, Dispatch, DispatchVariant, TrainStepProgram, VariantLaunch } from '../program.ts';
import { stepBindingRegion } from '../train/step-bindings.ts';
import { workgroupCounts } from '../workgroups.ts';
import { fastestCandidate, timeCandidate } from './candidate-timing.ts';
import { variantTolerance } from './tune-kernels.ts';

export interface TrainingTuneOptions {
  readonly batch: number;
  /** Timed runs per candidate (the median counts). */
  readonly repetitions: number;
  readonly seed?: number;
  /** Told after each convolution launch is measured. */
  readonly onProgress?: (done: number, total: number, key: string) => void;
}

export interface TrainingTuneResult {
  /** The fastest matching variant of each choice key, with every matching candidate's time. */
  readonly kernels: Record<string, TunedKernel>;
  /** Candidates whose results differed from the reference's: `key variant: relative error …`. */
  readonly rejected: readonly string[];
}

/** The reference every candidate is checked against: the tiled GEMM, else the first variant. */
const referenceName = 'gemm';

/**
 * Measures both strategies of each convolution launch of a training step (forward, input gradient,
 * weight gradient; one measurement per choice key) as tuneKernels does the forward's: every binding
 * on a buffer of its own filled with the same random values for each candidate, each candidate's
 * launches (a GEMM's stride classes included) run once and every buffer compared with the
 * reference's, then the median of `repetitions` timed runs. Variants of one launch bind the same
 * values, so whatever a kernel writes, whether its own output, a split reduction's partial sums or an
 * accumulated gradient, is compared.
 */
export async function tuneTrainingKernels(
  gpu: GpuContext,
  step: TrainStepProgram,
  kernelCode: ReadonlyMap<string, string>,
  options: TrainingTuneOptions,
): Promise<TrainingTuneResult> {
  const { device } = gpu;
  const choices = new Map<string, Dispatch>();
  for (const dispatch of step.dispatches)
    if (dispatch.choice && !choices.has(dispatch.choice.key)) choices.set(dispatch.choice.key, dispatch);
  const launchesOf = (v: DispatchVariant): VariantLaunch[] => [
    { kernel: deviceKernel(v, device.features), bindings: v.bindings, workgroups: v.workgroups },
    ...(v.followedBy ?? []),
  ];
  const names = [
    ...new Set(
      [...choices.values()].flatMap((d) =>
        d.choice!.variants.flatMap((v) => launchesOf(v).map((l) => l.kernel)),
      ),
    ),
  ];
  const pipelines = await createPipelines(gpu, names, kernelCode, 'training-step tuning');
  const kernels: Record<string, TunedKernel> = {};
  const rejected: string[] = [];
  let done = 0;
  for (const [key, dispatch] of choices) {
    const variants = dispatch.choice!.variants;
    const bindings = variants[0]!.bindings;
    for (const launch of variants.flatMap(launchesOf)) {
      if (JSON.stringify(launch.bindings) !== JSON.stringify(bindings))
        throw new Error(`${key}: the variants of one launch bind different values`);
    }
    const initial = bindings.map((binding, i) =>
      randomValues(bindingBytes(step, binding, options.batch) / 4, (options.seed ?? 0) + i),
    );
    const bound = new CandidateBuffers(device, options.batch, initial);
    try {
      const run = (variant: DispatchVariant) => {
        const encode = (pass: GPUComputePassEncoder) => {
          for (const launch of launchesOf(variant)) {
            const pipeline = pipelines.get(launch.kernel)!;
            pass.setPipeline(pipeline);
            pass.setBindGroup(0, bound.group(pipeline));
            pass.dispatchWorkgroups(...workgroupCounts(launch.workgroups, options.batch));
          }
        };
        return encode;
      };
      // A split reduction's slices each sum a part of the pixels, and the variants may part them
      // differently: what must agree is their sum, which the launch after them computes.
      const slices = splitSlices(step, variants);
      const comparable = (values: Float32Array, binding: number) =>
        binding === 0 && slices ? sumSlices(values, slices) : values;
      const reference = variants.find((v) => v.name === referenceName) ?? variants[0]!;
      const expected = await bound.results(run(reference), `kernel ${reference.kernel}`);
      const ms: Record<string, number> = {};
      for (const variant of variants) {
        const encode = run(variant);
        const results =
          variant === reference ? expected : await bound.results(encode, `kernel ${variant.kernel}`);
        const errors = results.map((values, i) =>
          relativeError(comparable(values, i), comparable(expected[i]!, i)),
        );
        const worst = errors.reduce((w, e, i) => (e > errors[w]! || Number.isNaN(e) ? i : w), 0);
        const error = errors[worst]!;
        if (!(error <= variantTolerance)) {
          rejected.push(
            `${key} ${variant.name}: relative error ${error.toExponential(2)} at @binding(${worst + 1})`,
          );
          continue;
        }
        ms[variant.name] = await timeCandidate(device, encode, options.repetitions);
      }
      const fastest = fastestCandidate(ms);
      if (fastest) kernels[key] = fastest;
    } finally {
      bound.destroy();
    }
    options.onProgress?.(++done, choices.size, key);
  }
  return { kernels, rejected };
}

/**
 * The slices of partial sums a launch writes to its first binding, when it is a split reduction
 * (every variant splits alike; the planner shares their buffer): how many, and each one's length.
 */
function splitSlices(
  step: TrainStepProgram,
  variants: readonly DispatchVariant[],
): { count: number; length: number } | undefined {
  const splits = new Set(
    variants.map((v) => (v.workgroups.kind === 'split-tiles' ? v.workgroups.splits : 1)),
  );
  if (splits.size !== 1)
    throw new Error(`the variants of ${variants[0]!.kernel} split their reduction differently`);
  const count = [...splits][0]!;
  if (count === 1) return undefined;
  const output = variants[0]!.bindings[0]!;
  const tensor = output.kind === 'fixed' ? step.fixedTensors.find((t) => t.id === output.tensor) : undefined;
  if (tensor === undefined || tensor.shape[0] !== count)
    throw new Error(
      `${variants[0]!.kernel} writes ${count} partial sums to a value not shaped [${count}, …]`,
    );
  return { count, length: tensor.shape.slice(1).reduce((n, d) => n * d, 1) };
}

/** Element-wise sum of the slices of partial sums. */
function sumSlices(values: Float32Array, { count, length }: { count: number; length: number }): Float64Array {
  const sum = new Float64Array(length);
  for (let slice = 0; slice < count; slice++)
    for (let i = 0; i < length; i++) sum[i] = sum[i]! + values[slice * length + i]!;
  return sum;
}

/** Bytes a binding covers for a batch, as the training-step runner binds it. */
function bindingBytes(step: TrainStepProgram, binding: Binding, batch: number): number {
  const region = stepBindingRegion(step, binding, batch);
  if (region.bytes !== undefined) return region.bytes;
  if (region.buffer === 'parameters' || region.buffer === 'gradients') return step.parameterBytes;
  if (region.buffer === 'running') return step.runningBytes;
  throw new Error(`a convolution launch cannot bind the ${region.buffer} buffer`);
}

function randomValues(count: number, seed: number): Float32Array {
  const prng = new Prng(seed);
  return Float32Array.from({ length: count }, () => prng.next() * 2 - 1);
}

/**
 * One buffer per binding (binding i at @binding(i + 1), the batch uniform at 0), with a bind group
 * per pipeline, since each kernel's layout is its own. `results` restores the initial values, runs
 * the launches once and reads every buffer back.
 */
class CandidateBuffers {
  private readonly uniform: GPUBuffer;
  private readonly buffers: GPUBuffer[];
  private readonly groups = new Map<GPUComputePipeline, GPUBindGroup>();

  constructor(
    private readonly device: GPUDevice,
    batch: number,
    private readonly initial: readonly Float32Array[],
  ) {
    this.uniform = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(this.uniform, 0, new Uint32Array([batch, 0, 0, 0]));
    this.buffers = initial.map((data) =>
      device.createBuffer({
        size: Math.max(16, data.byteLength),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
      }),
    );
  }

  group(pipeline: GPUComputePipeline): GPUBindGroup {
    let group = this.groups.get(pipeline);
    if (!group) {
      group = this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: this.uniform } },
          ...this.buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
        ],
      });
      this.groups.set(pipeline, group);
    }
    return group;
  }

  async results(encode: (pass: GPUComputePassEncoder) => void, what: string): Promise<Float32Array[]> {
    const { device } = this;
    const offsets: number[] = [];
    let total = 0;
    this.initial.forEach((data, i) => {
      device.queue.writeBuffer(this.buffers[i]!, 0, data as Float32Array<ArrayBuffer>);
      offsets.push(total);
      total += data.byteLength;
    });
    const readback = device.createBuffer({
      size: total,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      encode(pass);
      pass.end();
      this.initial.forEach((data, i) => {
        encoder.copyBufferToBuffer(this.buffers[i]!, 0, readback, offsets[i]!, data.byteLength);
      });
      device.queue.submit([encoder.finish()]);
      const bytes = await readMapped(device, readback, what);
      return this.initial.map((data, i) => new Float32Array(bytes, offsets[i]!, data.length));
    } finally {
      readback.destroy();
    }
  }

  destroy(): void {
    for (const buffer of [this.uniform, ...this.buffers]) buffer.destroy();
  }
}
