import { availableParallelism } from 'node:os';
import type { GpuContext } from './adapter.ts';
import { withinDeadline } from './gpu-deadline.ts';

/** Pipelines created at once: enough to keep a driver's compiler threads busy, few enough to watch. */
const creationBatch = 16;
/** Kernels whose first dispatch shares one submission and one wait. */
const warmUpBatch = 4;
/** Below this many kernels, helper devices cost more than they save. */
const helpersFrom = 8;

/**
 * Compiles the named kernels into compute pipelines that are ready to run: each shader's
 * compilation messages are checked (a broken kernel is reported by name and line), pipelines are
 * created a batch at a time, and every kernel is dispatched once on scratch buffers. The dispatch
 * matters on software adapters: Mesa's lavapipe compiles a shader to machine code at its first
 * dispatch, not at pipeline creation, and only on its queue's one thread; with an empty shader cache
 * the first real command buffer would compile every kernel serially inside one submission (minutes,
 * with no sign of progress). Here that work is split into small submissions, each waited for with a
 * bound and reported, and spread over helper devices (one queue thread each) whose results reach
 * this device through Mesa's on-disk shader cache.
 */
export async function createPipelines(
  gpu: Pick<GpuContext, 'device' | 'onKernelProgress' | 'requestHelperDevice'>,
  names: readonly string[],
  kernels: ReadonlyMap<string, string>,
  what: string,
): Promise<Map<string, GPUComputePipeline>> {
  const { device } = gpu;
  const total = names.length;
  let done = 0;
  gpu.onKernelProgress?.(what, 0, total);
  // The last step (loading what helpers compiled) is quick; the bar completes after it.
  const advance = (count: number) => {
    done += count;
    gpu.onKernelProgress?.(what, Math.min(done, total - 1), total);
  };
  const pipelines = await compilePipelines(device, names, kernels, what);
  const helpers = await helperDevices(gpu, total);
  if (helpers.length === 0) {
    await warmUp(device, names, pipelines, kernels, what, advance);
  } else {
    const shares = [device, ...helpers].map((_, d, all) => names.filter((_, i) => i % all.length === d));
    try {
      await Promise.all(
        [device, ...helpers].map(async (on, d) => {
          const share = shares[d]!;
          const own = on === device ? pipelines : await compilePipelines(on, share, kernels, what);
          await warmUp(on, share, own, kernels, what, advance);
        }),
      );
    } finally {
      for (const helper of helpers) helper.destroy();
    }
    await warmUp(device, shares.slice(1).flat(), pipelines, kernels, what, () => {});
  }
  gpu.onKernelProgress?.(what, total, total);
  return pipelines;
}

/**
 * Extra devices that compile in parallel: only on software adapters that offer them, with a core
 * each to spare, and while Mesa's disk cache (which carries their work over) is on.
 */
async function helperDevices(
  gpu: Pick<GpuContext, 'requestHelperDevice'>,
  kernelCount: number,
): Promise<GPUDevice[]> {
  const cacheOff = /^(1|true|yes)$/i.test(process.env.MESA_SHADER_CACHE_DISABLE ?? '');
  if (!gpu.requestHelperDevice || kernelCount < helpersFrom || cacheOff) return [];
  const count = Math.min(availableParallelism() - 1, 3);
  return Promise.all(Array.from({ length: Math.max(0, count) }, () => gpu.requestHelperDevice!()));
}

async function compilePipelines(
  device: GPUDevice,
  names: readonly string[],
  kernels: ReadonlyMap<string, string>,
  what: string,
): Promise<Map<string, GPUComputePipeline>> {
  const pipelines = new Map<string, GPUComputePipeline>();
  await inValidationScope(device, `creating the ${what} pipelines`, async () => {
    for (let start = 0; start < names.length; start += creationBatch) {
      const batch = names.slice(start, start + creationBatch);
      const created = await Promise.all(batch.map((name) => createPipeline(device, name, kernels)));
      for (const [i, pipeline] of created.entries()) pipelines.set(batch[i]!, pipeline);
    }
  });
  return pipelines;
}

async function createPipeline(
  device: GPUDevice,
  name: string,
  kernels: ReadonlyMap<string, string>,
): Promise<GPUComputePipeline> {
  const code = kernels.get(name);
  if (code === undefined) throw new Error(`kernel ${name} is missing from the program's kernels/`);
  const module = device.createShaderModule({ code, label: name });
  const info = await withinDeadline(device, module.getCompilationInfo(), `compiling kernel ${name}`);
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length > 0)
    throw new Error(
      `kernel ${name} does not compile: ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`,
    );
  return withinDeadline(
    device,
    device.createComputePipelineAsync({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
      label: name,
    }),
    `creating the pipeline of kernel ${name}`,
  );
}

/** The group-0 binding numbers a kernel declares; undefined when it uses other groups. */
export function kernelBindings(code: string): number[] | undefined {
  const bindings: number[] = [];
  for (const match of code.matchAll(/@group\((\d+)\)\s*@binding\((\d+)\)\s*var/g)) {
    if (match[1] !== '0') return undefined;
    bindings.push(Number(match[2]));
  }
  return bindings;
}

/** Bytes of each scratch buffer: covers any fixed-size array a generated or test kernel declares. */
const scratchBytes = 64 * 1024;

/**
 * Runs one workgroup of every kernel on zero-filled scratch buffers (batch size 0 in the uniform,
 * so generated kernels touch no element), a few kernels per submission. Kernels that declare
 * bindings outside group 0 are left to compile at their first real dispatch.
 */
async function warmUp(
  device: GPUDevice,
  names: readonly string[],
  pipelines: ReadonlyMap<string, GPUComputePipeline>,
  kernels: ReadonlyMap<string, string>,
  what: string,
  advance: (count: number) => void,
): Promise<void> {
  const scratch = new Map<number, GPUBuffer>();
  const scratchFor = (binding: number) => {
    let buffer = scratch.get(binding);
    if (!buffer) {
      buffer = device.createBuffer({
        size: scratchBytes,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM,
        label: `warm-up scratch ${binding}`,
      });
      scratch.set(binding, buffer);
    }
    return buffer;
  };
  let lastBatchMs = 0;
  try {
    await inValidationScope(device, `preparing the ${what} kernels`, async () => {
      for (let start = 0; start < names.length; start += warmUpBatch) {
        const batch = names.slice(start, start + warmUpBatch);
        const encoder = device.createCommandEncoder({ label: `${what} warm-up` });
        const pass = encoder.beginComputePass();
        for (const name of batch) {
          const bindings = kernelBindings(kernels.get(name)!);
          if (!bindings) continue;
          const pipeline = pipelines.get(name)!;
          pass.setPipeline(pipeline);
          pass.setBindGroup(
            0,
            device.createBindGroup({
              layout: pipeline.getBindGroupLayout(0),
              entries: bindings.map((binding) => ({ binding, resource: { buffer: scratchFor(binding) } })),
            }),
          );
          pass.dispatchWorkgroups(1);
        }
        pass.end();
        const submitted = performance.now();
        device.queue.submit([encoder.finish()]);
        // Waiting polls on the JS thread; sleeping through most of the expected time leaves that core
        // to the driver's compiler (a cold kernel takes about a second, a cached one a millisecond).
        if (lastBatchMs > 20) await new Promise((resolve) => setTimeout(resolve, lastBatchMs * 0.8));
        await withinDeadline(
          device,
          device.queue.onSubmittedWorkDone(),
          `preparing ${what} kernels ${batch.join(', ')}`,
        );
        lastBatchMs = performance.now() - submitted;
        advance(batch.length);
      }
    });
  } finally {
    for (const buffer of scratch.values()) buffer.destroy();
  }
}

/** Runs `work` inside a validation error scope; a validation error fails it with `what`. */
async function inValidationScope(device: GPUDevice, what: string, work: () => Promise<void>): Promise<void> {
  device.pushErrorScope('validation');
  let failure: unknown;
  try {
    await work();
  } catch (e) {
    failure = e;
  }
  const error = await withinDeadline(device, device.popErrorScope(), what);
  if (failure) throw failure;
  if (error) throw new Error(`${what} failed: ${error.message}`);
}
