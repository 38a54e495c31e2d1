import { kernelsForDevice } from '../device-kernels.ts';
import { type ChosenKernels, chooseKernels } from '../kernel-choice.ts';
import type { ForwardProgram, WeightEntry } from '../program.ts';
import type { CompiledProgram } from '../program-loader.ts';
import { weightRange, windowCount } from '../weight-windows.ts';
import { checkWeights, packWeights } from '../weights/pack-weights.ts';
import type { TensorMap } from '../weights/safetensors.ts';
import { workgroupCounts } from '../workgroups.ts';
import type { GpuContext } from './adapter.ts';
import { DispatchExecutor } from './dispatch-executor.ts';
import { createPipelines } from './pipelines.ts';
import type { WaitMode } from './result-wait.ts';

export type { WaitMode } from './result-wait.ts';

/**
 * Runs a generated forward program: pipelines are created once (asynchronously), weights are
 * uploaded once, and each batch chunk is one command buffer with every dispatch and the read-back.
 */
export class ForwardRunner {
  private readonly executor: DispatchExecutor;

  private constructor(
    private readonly gpu: GpuContext,
    private readonly program: ForwardProgram,
    pipelines: ReadonlyMap<string, GPUComputePipeline>,
    private readonly weights: GPUBuffer,
    /** Bytes of packed weights (the buffer may be larger: it is at least 16). */
    private readonly weightBytes: number,
    private readonly weightEntries: readonly WeightEntry[],
    /** Largest batch one command buffer may run (buffer, binding and dispatch limits). */
    readonly maxChunk: number,
    /** How the kernels were chosen, for runners made by forCompiled. */
    readonly kernelChoice: ChosenKernels | undefined,
  ) {
    const tensors = new Map(program.tensors.map((t) => [t.id, t]));
    this.executor = new DispatchExecutor(
      gpu,
      pipelines,
      program.arenaBytesPerImage,
      'arena',
      (binding, count, arena, window) => {
        if (binding.kind === 'activation') {
          const tensor = tensors.get(binding.tensor)!;
          return { buffer: arena, offset: tensor.offset * count, size: tensor.bytes * count };
        }
        if (binding.kind !== 'weight')
          throw new Error(`a forward program cannot bind ${binding.kind} buffers`);
        return { buffer: weights, ...weightRange(weightEntries[binding.entry]!, window) };
      },
      (dispatch) => windowCount(dispatch.bindings, weightEntries),
    );
  }

  /**
   * A runner for a compiled experiment with weights by official name: checked against the manifest's
   * parameters (missing, unexpected and wrong-shaped names are errors), then packed as it says.
   */
  static async forCompiled(
    gpu: GpuContext,
    compiled: Pick<CompiledProgram, 'manifest' | 'forward' | 'kernels' | 'tuning'>,
    weights: TensorMap | 'zeros',
  ): Promise<ForwardRunner> {
    if (weights !== 'zeros') checkWeights(compiled.manifest.parameters, weights);
    const chosen = chooseForAdapter(gpu, compiled);
    const packed =
      weights === 'zeros'
        ? new Float32Array(chosen.weights.bytes / 4)
        : packWeights(chosen.weights.entries, chosen.weights.bytes, weights);
    return ForwardRunner.create(
      gpu,
      chosen.program,
      compiled.kernels,
      packed,
      chosen.weights.entries,
      chosen,
    );
  }

  /**
   * Milliseconds the last run spent on the host recording, uploading and submitting its work (not
   * waiting for it), for benchmarks.
   */
  lastHostMs = 0;

  static async create(
    gpu: GpuContext,
    program: ForwardProgram,
    kernels: ReadonlyMap<string, string>,
    weightData: Float32Array,
    weightEntries: readonly WeightEntry[],
    kernelChoice?: ChosenKernels,
  ): Promise<ForwardRunner> {
    const { device, limits } = gpu;
    for (const entry of weightEntries) {
      if (entry.bytes > limits.maxStorageBufferBindingSize) {
        throw new Error(
          `a weight of ${entry.bytes} bytes exceeds this adapter's maxStorageBufferBindingSize (${limits.maxStorageBufferBindingSize})`,
        );
      }
    }
    const maxChunk = largestChunk(program, limits);
    if (maxChunk < 1) {
      throw new Error(
        `one image needs more GPU memory per binding or buffer than this adapter allows (arena ${program.arenaBytesPerImage} bytes; maxBufferSize ${limits.maxBufferSize}, maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize})`,
      );
    }
    const runnable = kernelsForDevice(program, device.features);
    const names = [...new Set(runnable.dispatches.map((d) => d.kernel))];
    const pipelines = await createPipelines(gpu, names, kernels, 'forward');
    const weights = device.createBuffer({
      size: Math.max(16, weightData.byteLength),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'weights',
    });
    device.queue.writeBuffer(weights, 0, ownBuffer(weightData));
    return new ForwardRunner(
      gpu,
      runnable,
      pipelines,
      weights,
      weightData.byteLength,
      weightEntries,
      maxChunk,
      kernelChoice,
    );
  }

  /**
   * Runs `batch` images (NCHW float32, per-image shape program.input.shape) and returns the output.
   * `wait` chooses how to wait for the GPU (see mapRead).
   */
  async run(input: Float32Array, batch: number, wait: WaitMode = 'sleep'): Promise<Float32Array> {
    const inputPerImage = this.program.input.shape.reduce((n, d) => n * d, 1);
    const outputPerImage = this.program.output.shape.reduce((n, d) => n * d, 1);
    if (input.length !== inputPerImage * batch) {
      throw new Error(
        `input has ${input.length} values; ${batch} images of ${this.program.input.shape.join('x')} need ${inputPerImage * batch}`,
      );
    }
    const output = new Float32Array(outputPerImage * batch);
    this.lastHostMs = 0;
    for (let start = 0; start < batch; start += this.maxChunk) {
      const chunk = Math.min(this.maxChunk, batch - start);
      const result = await this.runChunk(
        input.subarray(start * inputPerImage, (start + chunk) * inputPerImage),
        chunk,
        wait,
      );
      output.set(result, start * outputPerImage);
    }
    return output;
  }

  private async runChunk(input: Float32Array, chunk: number, wait: WaitMode): Promise<Float32Array> {
    const { device } = this.gpu;
    const hostStarted = performance.now();
    const arena = this.executor.arenaFor(chunk);
    const output = this.tensor(this.program.output.tensor);
    device.queue.writeBuffer(arena, this.tensor(this.program.input.tensor).offset * chunk, ownBuffer(input));
    const encoder = device.createCommandEncoder();
    this.executor.recordAll(encoder, this.program.dispatches, chunk);
    const staged = this.executor.stage(encoder, [
      {
        name: 'output',
        buffer: arena,
        offset: output.offset * chunk,
        bytes: this.program.output.shape.reduce((n, d) => n * d, 1) * 4 * chunk,
      },
    ]);
    device.queue.submit([encoder.finish()]);
    this.lastHostMs += performance.now() - hostStarted;
    return (await staged.read(wait, `a forward pass of ${chunk} images`)).get('output')!;
  }

  private tensor(id: number) {
    const tensor = this.program.tensors.find((t) => t.id === id);
    if (!tensor) throw new Error(`tensor ${id} is not in the program's arena`);
    return tensor;
  }

  /**
   * Times each dispatch (all its windows) with GPU timestamps, one compute pass each, for benchmarks. Returns
   * milliseconds per dispatch, or undefined when the adapter has no timestamp queries.
   */
  async profile(input: Float32Array, batch: number): Promise<number[] | undefined> {
    const { device } = this.gpu;
    if (!device.features.has('timestamp-query') || batch > this.maxChunk) return undefined;
    const arena = this.executor.arenaFor(batch);
    device.queue.writeBuffer(arena, this.tensor(this.program.input.tensor).offset * batch, ownBuffer(input));
    return this.executor.profile(this.program.dispatches, batch, 'a profiled forward pass');
  }

  /** Replaces the packed weights (e.g. after a training epoch); the layout is the program's. */
  updateWeights(weightData: Float32Array): void {
    this.gpu.device.queue.writeBuffer(this.weights, 0, ownBuffer(weightData));
  }

  /** Packs official tensors (e.g. a training run's state) for the kernels this runner runs. */
  updateState(state: TensorMap): void {
    this.updateWeights(packWeights(this.weightEntries, this.weightBytes, state));
  }

  destroy(): void {
    this.executor.destroy();
    this.weights.destroy();
  }
}

/** The largest batch whose arena, per-tensor bindings and workgroup counts fit the device limits. */
export function largestChunk(program: ForwardProgram, limits: GPUSupportedLimits): number {
  const largestTensor = Math.max(...program.tensors.map((t) => t.bytes));
  let chunk = Math.min(
    Math.floor(limits.maxBufferSize / Math.max(1, program.arenaBytesPerImage)),
    Math.floor(limits.maxStorageBufferBindingSize / Math.max(1, largestTensor)),
    1024,
  );
  const fits = (c: number) =>
    program.dispatches.every((d) =>
      workgroupCounts(d.workgroups, c).every((n) => n <= limits.maxComputeWorkgroupsPerDimension),
    );
  while (chunk > 0 && !fits(chunk)) chunk = Math.floor(chunk / 2);
  return chunk;
}

/** npm `webgpu` rejects SharedArrayBuffer-backed arrays: upload from an ordinary ArrayBuffer. */
function ownBuffer(data: Float32Array): Float32Array<ArrayBuffer> {
  return data.buffer instanceof ArrayBuffer ? (data as Float32Array<ArrayBuffer>) : new Float32Array(data);
}

/** The program's kernel choices for this adapter: its tuning file when measured here, else defaults. */
export function chooseForAdapter(
  gpu: Pick<GpuContext, 'adapterDescription' | 'isSoftware'>,
  compiled: Pick<CompiledProgram, 'manifest' | 'forward' | 'tuning'>,
): ChosenKernels {
  return chooseKernels(compiled.forward, compiled.manifest.weights, {
    adapter: gpu.adapterDescription,
    isSoftware: gpu.isSoftware,
    ...(compiled.tuning ? { tuning: compiled.tuning } : {}),
  });
}
