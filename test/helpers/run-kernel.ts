import type { KernelBinding } from '../../compiler/codegen/wgsl/bindings.ts';
import { createPipelines } from '../../runtime/gpu/pipelines.ts';
import { readMapped } from '../../runtime/gpu/result-wait.ts';
import { standaloneBindings } from '../../runtime/gpu/standalone-dispatch.ts';
import type { WeightWindows } from '../../runtime/program.ts';
import { testGpu } from './gpu.ts';

/**
 * Runs one generated kernel on the test device with each binding in its own buffer, and returns the
 * contents of binding `out` (the first) afterwards. A value split into weight windows runs the
 * kernel once per window.
 */
export async function runKernel(
  wgsl: string,
  bindings: readonly KernelBinding[],
  data: readonly Float32Array[],
  batch: number,
  workgroups: readonly [number, number, number],
  windowed?: { readonly value: number; readonly windows: WeightWindows },
): Promise<Float32Array> {
  return (await runKernelReadAll(wgsl, bindings, data, batch, workgroups, windowed))[0]!;
}

/** As runKernel, returning every binding's contents afterwards. */
export async function runKernelReadAll(
  wgsl: string,
  bindings: readonly KernelBinding[],
  data: readonly Float32Array[],
  batch: number,
  workgroups: readonly [number, number, number],
  windowed?: { readonly value: number; readonly windows: WeightWindows },
): Promise<Float32Array[]> {
  if (bindings.length !== data.length)
    throw new Error(`${bindings.length} bindings but ${data.length} arrays of data`);
  const gpu = await testGpu();
  const { device } = gpu;
  const pipeline = (await createPipelines(gpu, ['kernel'], new Map([['kernel', wgsl]]), 'test')).get(
    'kernel',
  )!;
  device.pushErrorScope('validation');
  const { groups, buffers, destroy } = standaloneBindings(device, pipeline, batch, data, windowed);
  const readbacks = buffers.map((b) =>
    device.createBuffer({ size: b.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
  );
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  for (const group of groups) {
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(...workgroups);
  }
  pass.end();
  for (const [i, b] of buffers.entries()) encoder.copyBufferToBuffer(b, 0, readbacks[i]!, 0, b.size);
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  if (error) throw new Error(error.message);
  const results = await Promise.all(
    readbacks.map(async (readback, i) => {
      const bytes = await readMapped(device, readback, 'a test kernel');
      return new Float32Array(bytes.slice(0, data[i]!.byteLength));
    }),
  );
  for (const buffer of readbacks) buffer.destroy();
  destroy();
  return results;
}
