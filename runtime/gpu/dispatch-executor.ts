import type { Binding, Dispatch } from '../program.ts';
import { workgroupCounts } from '../workgroups.ts';
import type { GpuContext } from './adapter.ts';
import { mapRead, type WaitMode } from './result-wait.ts';
import { timePassesSettled } from './timed-passes.ts';

/**
 * Where a binding's values live for a batch of `count` images: a range of the arena (activations),
 * of a buffer the runner owns (weights, parameters …), or a whole buffer. `window` is the weight
 * window a run of the dispatch binds (see WeightWindows).
 */
export type BindingResolver = (
  binding: Binding,
  count: number,
  arena: GPUBuffer,
  window: number,
) => GPUBufferBinding;

/** A region of a buffer to read back after a submission. */
export interface ReadRegion {
  readonly name: string;
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly bytes: number;
}

/** Regions copied into one staging buffer by an encoder, read once its submission is done. */
export interface StagedRead {
  /** Waits for the submission (see mapRead) and returns each region's values by name. */
  read(wait: WaitMode, what: string): Promise<Map<string, Float32Array>>;
}

/**
 * The one GPU executor under the forward and training-step runners: the arena (grown to the largest
 * batch yet), the uniform that carries the batch size, bind groups per dispatch list and batch size,
 * recording dispatches (once per weight window) with their workgroup counts, read-back of several
 * regions in one staging buffer, and timestamp profiles. Runners say only where bindings live.
 */
export class DispatchExecutor {
  private arena: GPUBuffer | undefined;
  private arenaImages = 0;
  private readonly uniform: GPUBuffer;
  /** Per dispatch list, per batch size: per dispatch, one bind group per run (weight window). */
  private readonly groups = new Map<readonly Dispatch[], Map<number, GPUBindGroup[][]>>();

  constructor(
    private readonly gpu: Pick<GpuContext, 'device'>,
    private readonly pipelines: ReadonlyMap<string, GPUComputePipeline>,
    private readonly arenaBytesPerImage: number,
    private readonly arenaLabel: string,
    private readonly resolve: BindingResolver,
    /** How many runs (weight windows) a dispatch has. */
    private readonly runsOf: (dispatch: Dispatch) => number = () => 1,
  ) {
    this.uniform = gpu.device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  /** The arena for `count` images, after writing `count` to the uniform every kernel reads. */
  arenaFor(count: number): GPUBuffer {
    const { device } = this.gpu;
    if (!this.arena || this.arenaImages < count) {
      this.arena?.destroy();
      this.groups.clear();
      this.arena = device.createBuffer({
        size: Math.max(256, this.arenaBytesPerImage * count),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
        label: this.arenaLabel,
      });
      this.arenaImages = count;
    }
    device.queue.writeBuffer(this.uniform, 0, new Uint32Array([count, 0, 0, 0]));
    return this.arena;
  }

  /** Records dispatch i of `dispatches` (each of its runs) for `count` images into `pass`. */
  record(pass: GPUComputePassEncoder, dispatches: readonly Dispatch[], i: number, count: number): void {
    const dispatch = dispatches[i]!;
    pass.setPipeline(this.pipelines.get(dispatch.kernel)!);
    const [x, y, z] = workgroupCounts(dispatch.workgroups, count);
    for (const group of this.bindGroups(dispatches, count)[i]!) {
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(x, y, z);
    }
  }

  /** Records every dispatch of the list that `include` keeps, in order, in one pass. */
  recordAll(
    encoder: GPUCommandEncoder,
    dispatches: readonly Dispatch[],
    count: number,
    include: (dispatch: Dispatch) => boolean = () => true,
  ): void {
    const pass = encoder.beginComputePass();
    dispatches.forEach((dispatch, i) => {
      if (include(dispatch)) this.record(pass, dispatches, i, count);
    });
    pass.end();
  }

  /** Copies the regions into one staging buffer (recorded into `encoder`); read them after submitting. */
  stage(encoder: GPUCommandEncoder, regions: readonly ReadRegion[]): StagedRead {
    const { device } = this.gpu;
    const padded = (bytes: number) => Math.ceil(bytes / 4) * 4;
    const staging = device.createBuffer({
      size: Math.max(
        4,
        regions.reduce((n, r) => n + padded(r.bytes), 0),
      ),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    let at = 0;
    const placed = regions.map((region) => {
      encoder.copyBufferToBuffer(region.buffer, region.offset, staging, at, region.bytes);
      const start = at;
      at += padded(region.bytes);
      return { ...region, start };
    });
    return {
      read: async (wait, what) => {
        try {
          await mapRead(device, staging, wait, what);
          const mapped = staging.getMappedRange();
          const values = new Map(
            placed.map((r) => [r.name, new Float32Array(mapped.slice(r.start, r.start + r.bytes))] as const),
          );
          staging.unmap();
          return values;
        } finally {
          staging.destroy();
        }
      },
    };
  }

  /**
   * GPU milliseconds of each listed dispatch (all its runs), one timestamped pass each, on the
   * arena's current contents, waited for without polling (timePassesSettled). Needs the
   * `timestamp-query` feature.
   */
  profile(dispatches: readonly Dispatch[], count: number, what: string): Promise<number[]> {
    this.arenaFor(count);
    return timePassesSettled(
      this.gpu.device,
      dispatches.length,
      (pass, i) => this.record(pass, dispatches, i, count),
      what,
    );
  }

  private bindGroups(dispatches: readonly Dispatch[], count: number): GPUBindGroup[][] {
    let byCount = this.groups.get(dispatches);
    if (!byCount) {
      byCount = new Map();
      this.groups.set(dispatches, byCount);
    }
    const cached = byCount.get(count);
    if (cached) return cached;
    const arena = this.arena!;
    const groups = dispatches.map((dispatch) =>
      Array.from({ length: this.runsOf(dispatch) }, (_, window) =>
        this.gpu.device.createBindGroup({
          layout: this.pipelines.get(dispatch.kernel)!.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: this.uniform } },
            ...dispatch.bindings.map((binding, i) => ({
              binding: i + 1,
              resource: this.resolve(binding, count, arena, window),
            })),
          ],
        }),
      ),
    );
    byCount.set(count, groups);
    return groups;
  }

  destroy(): void {
    this.arena?.destroy();
    this.uniform.destroy();
  }
}
