import type { WeightWindows } from '../program.ts';

/**
 * One kernel's bindings on buffers of its own, for running a kernel outside a program (the tuner,
 * kernel tests): the batch uniform at binding 0, then one buffer per value at 1, 2, …, each usable as
 * storage or uniform and copyable both ways. A value split into `windows` (values[windows.value]) is
 * bound a window at a time: one bind group per window, each dispatched in turn. `destroy` frees them.
 */
export function standaloneBindings(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  batch: number,
  values: readonly Float32Array[],
  windowed?: { readonly value: number; readonly windows: WeightWindows },
): { groups: GPUBindGroup[]; buffers: GPUBuffer[]; destroy: () => void } {
  const uniform = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(uniform, 0, new Uint32Array([batch, 0, 0, 0]));
  const buffers = values.map((data) => {
    const buffer = device.createBuffer({
      size: Math.max(16, Math.ceil(data.byteLength / 16) * 16),
      usage:
        GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    device.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>);
    return buffer;
  });
  const groups = Array.from({ length: windowed?.windows.count ?? 1 }, (_, window) =>
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: uniform } },
        ...buffers.map((buffer, i) => ({
          binding: i + 1,
          resource:
            windowed?.value === i
              ? { buffer, offset: window * windowed.windows.bytes, size: windowed.windows.bytes }
              : { buffer },
        })),
      ],
    }),
  );
  return {
    groups,
    buffers,
    destroy: () => {
      for (const buffer of [uniform, ...buffers]) buffer.destroy();
    },
  };
}
