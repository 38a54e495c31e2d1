import { UserError } from '../../common/user-error.ts';
import { kernelsForDevice } from '../device-kernels.ts';
import type { GpuContext } from '../gpu/adapter.ts';
import { DispatchExecutor, type ReadRegion } from '../gpu/dispatch-executor.ts';
import { createPipelines } from '../gpu/pipelines.ts';
import { readMapped, type WaitMode } from '../gpu/result-wait.ts';
import { type ChosenTrainingKernels, chooseTrainingKernels, type TuningFile } from '../kernel-choice.ts';
import type { Binding, Dispatch, FlatEntry, TrainStepProgram } from '../program.ts';
import type { NamedTensor, TensorMap } from '../weights/safetensors.ts';
import { checkTrainingBatchFits } from './batch-fit.ts';
import { stepBindingRegion } from './step-bindings.ts';

export type OptimizerKind = 'adam' | 'sgd';

/** The official get_optimizer: Adam(lr) without weight decay, or SGD(lr, momentum, WD, nesterov). */
export interface OptimizerSettings {
  readonly kind: OptimizerKind;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
}

export const adamBetas = [0.9, 0.999] as const;
export const adamEps = 1e-8;

export interface StepResult {
  readonly loss: number;
  /** B × J × h × w, when asked for. */
  readonly heatmaps?: Float32Array;
  /** The gradient buffer (flat, parameter layout) before the optimizer ran, when asked for. */
  readonly gradients?: Float32Array;
  readonly gradInput?: Float32Array;
}

export interface TrainBatch {
  readonly count: number;
  readonly input: Float32Array;
  readonly target: Float32Array;
  readonly targetWeight: Float32Array;
}

const usage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;

/**
 * Runs generated training steps: parameters, gradients, optimizer moments and BN running statistics
 * live in flat GPU buffers for the whole run; each step is one command buffer (forward in training
 * mode, loss, backward, optimizer). Every reduction has a fixed order, so a step is bit-identical
 * every time it runs on the same inputs.
 */
export class TrainStepRunner {
  private readonly executor: DispatchExecutor;
  /** The dispatches a training step runs (not those only the input's gradient needs). */
  private readonly trainingDispatches: readonly Dispatch[];
  /** The optimizer's one dispatch, as a list for the executor. */
  private readonly optimizerDispatches: readonly Dispatch[];
  private readonly buffers: {
    params: GPUBuffer;
    grads: GPUBuffer;
    running: GPUBuffer;
    fixed: GPUBuffer;
    expAvg: GPUBuffer;
    expAvgSq: GPUBuffer;
    momentumBuffer: GPUBuffer;
    hyper: GPUBuffer;
  };
  /** Optimizer steps taken so far (Adam's bias correction counts them). */
  steps = 0;
  /** Host milliseconds the last step spent uploading its batch, recording and submitting (for benchmarks). */
  lastHostMs = 0;
  /** Dispatches the last step recorded, the optimizer's included. */
  lastDispatches = 0;

  private constructor(
    private readonly gpu: GpuContext,
    readonly program: TrainStepProgram,
    pipelines: ReadonlyMap<string, GPUComputePipeline>,
    readonly optimizer: OptimizerSettings,
    /** Which convolution kernels run, and why (for the user: describeKernelChoice). */
    readonly kernelChoice: ChosenTrainingKernels,
  ) {
    const { device } = gpu;
    const create = (size: number, label: string) =>
      device.createBuffer({ size: Math.max(256, size), usage: usage(), label });
    this.buffers = {
      params: create(program.parameterBytes, 'parameters'),
      grads: create(program.parameterBytes, 'gradients'),
      running: create(program.runningBytes, 'running statistics'),
      fixed: create(program.fixedBytes, 'fixed arena'),
      expAvg: create(optimizer.kind === 'adam' ? program.parameterBytes : 256, 'exp_avg'),
      expAvgSq: create(optimizer.kind === 'adam' ? program.parameterBytes : 256, 'exp_avg_sq'),
      momentumBuffer: create(optimizer.kind === 'sgd' ? program.parameterBytes : 256, 'momentum_buffer'),
      hyper: create(program.optimizer.hyperValues * 4, 'hyperparameters'),
    };
    this.executor = new DispatchExecutor(
      gpu,
      pipelines,
      program.arenaBytesPerImage,
      'training arena',
      (binding, count, arena) => this.resource(binding, count, arena),
    );
    this.trainingDispatches = program.dispatches.filter((d) => !d.onlyForGradInput);
    this.optimizerDispatches = [optimizer.kind === 'adam' ? program.optimizer.adam : program.optimizer.sgd];
  }

  static async create(
    gpu: GpuContext,
    program: TrainStepProgram,
    kernels: ReadonlyMap<string, string>,
    optimizer: OptimizerSettings,
    tuning?: TuningFile,
  ): Promise<TrainStepRunner> {
    // The kernels the tuning file's training part names for this adapter, else those of its class
    // (a program chosen already passes through unchanged).
    const choice = chooseTrainingKernels(program, {
      adapter: gpu.adapterDescription,
      isSoftware: gpu.isSoftware,
      ...(tuning ? { tuning } : {}),
    });
    const runnable = kernelsForDevice(choice.program, gpu.device.features);
    const names = [
      ...new Set(
        [...runnable.dispatches, runnable.optimizer.adam, runnable.optimizer.sgd].map((d) => d.kernel),
      ),
    ];
    const pipelines = await createPipelines(gpu, names, kernels, 'training');
    return new TrainStepRunner(gpu, runnable, pipelines, optimizer, choice);
  }

  /** Checks that a batch of `count` fits the device: training cannot split a batch (BN needs all of it). */
  checkBatch(count: number): void {
    checkTrainingBatchFits(this.gpu.limits, this.program, count);
  }

  /** Loads parameters and running statistics by official name (other tensors are ignored). */
  setState(tensors: TensorMap): void {
    const write = (buffer: GPUBuffer, entries: readonly FlatEntry[], bytes: number) => {
      const data = new Float32Array(bytes / 4);
      for (const entry of entries) {
        const tensor = tensors.get(entry.name);
        if (!tensor) throw new UserError(`the weights lack ${entry.name}`);
        data.set(tensor.data, entry.offset / 4);
      }
      this.gpu.device.queue.writeBuffer(buffer, 0, data);
    };
    write(this.buffers.params, this.program.parameters, this.program.parameterBytes);
    write(this.buffers.running, this.program.running, this.program.runningBytes);
  }

  /** Loads the optimizer's moments (`exp_avg.<name>` …) and step count, as checkpoints store them. */
  setOptimizerState(steps: number, tensors: TensorMap): void {
    this.steps = steps;
    const slots =
      this.optimizer.kind === 'adam' ? (['exp_avg', 'exp_avg_sq'] as const) : (['momentum_buffer'] as const);
    for (const slot of slots) {
      const data = new Float32Array(this.program.parameterBytes / 4);
      for (const entry of this.program.parameters) {
        const tensor = tensors.get(`optimizer.${slot}.${entry.name}`);
        if (!tensor) throw new UserError(`the checkpoint lacks optimizer.${slot}.${entry.name}`);
        data.set(tensor.data, entry.offset / 4);
      }
      const buffer =
        slot === 'exp_avg'
          ? this.buffers.expAvg
          : slot === 'exp_avg_sq'
            ? this.buffers.expAvgSq
            : this.buffers.momentumBuffer;
      this.gpu.device.queue.writeBuffer(buffer, 0, data);
    }
  }

  private async read(buffer: GPUBuffer, bytes: number): Promise<Float32Array> {
    const { device } = this.gpu;
    const staging = device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
    device.queue.submit([encoder.finish()]);
    const data = new Float32Array(await readMapped(device, staging, 'reading the training state back'));
    staging.destroy();
    return data;
  }

  private split(data: Float32Array, entries: readonly FlatEntry[], prefix = ''): Map<string, NamedTensor> {
    return new Map(
      entries.map((e) => {
        const count = e.shape.reduce((n, d) => n * d, 1);
        return [
          `${prefix}${e.name}`,
          { shape: e.shape, data: data.slice(e.offset / 4, e.offset / 4 + count) },
        ] as const;
      }),
    );
  }

  /** Parameters and running statistics by official name, in state_dict order. */
  async readState(): Promise<Map<string, NamedTensor>> {
    const params = this.split(
      await this.read(this.buffers.params, this.program.parameterBytes),
      this.program.parameters,
    );
    const running = this.split(
      await this.read(this.buffers.running, this.program.runningBytes),
      this.program.running,
    );
    return new Map([...params, ...running]);
  }

  async readOptimizerState(): Promise<Map<string, NamedTensor>> {
    const bytes = this.program.parameterBytes;
    if (this.optimizer.kind === 'adam') {
      return new Map([
        ...this.split(
          await this.read(this.buffers.expAvg, bytes),
          this.program.parameters,
          'optimizer.exp_avg.',
        ),
        ...this.split(
          await this.read(this.buffers.expAvgSq, bytes),
          this.program.parameters,
          'optimizer.exp_avg_sq.',
        ),
      ]);
    }
    return this.split(
      await this.read(this.buffers.momentumBuffer, bytes),
      this.program.parameters,
      'optimizer.momentum_buffer.',
    );
  }

  /** The gradient buffer as tensors by official name. */
  gradientTensors(gradients: Float32Array): Map<string, NamedTensor> {
    return this.split(gradients, this.program.parameters);
  }

  private resource(binding: Binding, count: number, arena: GPUBuffer): GPUBufferBinding {
    const region = stepBindingRegion(this.program, binding, count);
    const b = this.buffers;
    const buffer = {
      arena,
      fixed: b.fixed,
      parameters: b.params,
      gradients: b.grads,
      running: b.running,
      expAvg: b.expAvg,
      expAvgSq: b.expAvgSq,
      momentumBuffer: b.momentumBuffer,
      hyper: b.hyper,
    }[region.buffer];
    return region.bytes === undefined ? { buffer } : { buffer, offset: region.offset, size: region.bytes };
  }

  private hyperparameters(lr: number): Float32Array<ArrayBuffer> {
    const t = this.steps;
    const values = new Float32Array(this.program.optimizer.hyperValues);
    if (this.optimizer.kind === 'adam') {
      const [beta1, beta2] = adamBetas;
      values.set([
        lr / (1 - beta1 ** t),
        beta1,
        1 - beta1,
        beta2,
        1 - beta2,
        Math.sqrt(1 - beta2 ** t),
        adamEps,
        0,
        0,
        0,
        0,
      ]);
    } else {
      values.set([
        lr,
        0,
        0,
        0,
        0,
        1,
        0,
        this.optimizer.weightDecay,
        this.optimizer.momentum,
        t === 1 ? 1 : 0,
        this.optimizer.nesterov ? 1 : 0,
      ]);
    }
    return values;
  }

  /**
   * One training step on a batch at learning rate `lr`: forward, loss, backward and the optimizer in
   * one command buffer. Returns the loss and whatever else was asked for.
   */
  async step(
    batch: TrainBatch,
    lr: number,
    read: { heatmaps?: boolean; gradients?: boolean; gradInput?: boolean } = {},
    wait: WaitMode = 'sleep',
  ): Promise<StepResult> {
    const { device } = this.gpu;
    const hostStarted = performance.now();
    const count = batch.count;
    this.checkBatch(count);
    const arena = this.executor.arenaFor(count);
    const tensor = (id: number) => this.program.tensors.find((t) => t.id === id)!;
    for (const [id, data] of [
      [this.program.inputs.input, batch.input],
      [this.program.inputs.target, batch.target],
      [this.program.inputs.targetWeight, batch.targetWeight],
    ] as const) {
      const expected = (tensor(id).shape.reduce((n, d) => n * d, 1) as number) * count;
      if (data.length !== expected)
        throw new UserError(`a training batch input has ${data.length} values, expected ${expected}`);
      device.queue.writeBuffer(
        arena,
        tensor(id).offset * count,
        data.buffer instanceof ArrayBuffer ? (data as Float32Array<ArrayBuffer>) : new Float32Array(data),
      );
    }
    this.steps++;
    device.queue.writeBuffer(this.buffers.hyper, 0, this.hyperparameters(lr));
    const encoder = device.createCommandEncoder();
    const recorded = (dispatch: Dispatch) => !dispatch.onlyForGradInput || read.gradInput === true;
    this.executor.recordAll(encoder, this.program.dispatches, count, recorded);
    // Read-backs are copied before the optimizer changes anything.
    const lossTensor = this.program.fixedTensors.find((t) => t.id === this.program.outputs.loss)!;
    const regions: ReadRegion[] = [
      { name: 'loss', buffer: this.buffers.fixed, offset: lossTensor.offset, bytes: 4 },
    ];
    const arenaRegion = (name: string, id: number): ReadRegion => {
      const t = tensor(id);
      return {
        name,
        buffer: arena,
        offset: t.offset * count,
        bytes: t.shape.reduce((n, d) => n * d, 1) * 4 * count,
      };
    };
    if (read.heatmaps) regions.push(arenaRegion('heatmaps', this.program.outputs.heatmaps));
    if (read.gradients)
      regions.push({
        name: 'gradients',
        buffer: this.buffers.grads,
        offset: 0,
        bytes: this.program.parameterBytes,
      });
    if (read.gradInput && this.program.outputs.gradInput !== undefined)
      regions.push(arenaRegion('gradInput', this.program.outputs.gradInput));
    const staged = this.executor.stage(encoder, regions);
    this.executor.recordAll(encoder, this.optimizerDispatches, count);
    device.queue.submit([encoder.finish()]);
    this.lastHostMs = performance.now() - hostStarted;
    this.lastDispatches = this.program.dispatches.filter(recorded).length + this.optimizerDispatches.length;
    const result = await staged.read(wait, `a training step of ${count} images`);
    return {
      loss: result.get('loss')![0]!,
      ...(result.has('heatmaps') ? { heatmaps: result.get('heatmaps')! } : {}),
      ...(result.has('gradients') ? { gradients: result.get('gradients')! } : {}),
      ...(result.has('gradInput') ? { gradInput: result.get('gradInput')! } : {}),
    };
  }

  /**
   * Times each dispatch of a training step with GPU timestamps (one pass per dispatch), for benchmarks,
   * the optimizer's included (so the parameters take one more update). Undefined when the adapter has
   * no timestamp queries.
   */
  async profile(batch: TrainBatch): Promise<{ module: string; kernel: string; ms: number }[] | undefined> {
    if (!this.gpu.device.features.has('timestamp-query')) return undefined;
    const dispatches = [...this.trainingDispatches, ...this.optimizerDispatches];
    const ms = await this.executor.profile(dispatches, batch.count, 'a profiled training step');
    return dispatches.map((dispatch, i) => ({
      module: dispatch.module,
      kernel: dispatch.kernel,
      ms: ms[i]!,
    }));
  }

  destroy(): void {
    this.executor.destroy();
    for (const buffer of Object.values(this.buffers)) buffer.destroy();
  }
}
