/**
 * One kernel's bindings on buffers of its own, for running a kernel outside a program (the tuner,
 * kernel tests): the batch uniform at binding 0, then one buffer per value at 1, 2, …, each usable as
 * storage or uniform and copyable both ways. `destroy` frees them.
 */
export function standaloneBindings(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  batch: number,
  values: readonly Float32Array[],
): { group: GPUBindGroup; buffers: GPUBuffer[]; destroy: () => void } {
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
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: uniform } },
      ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
    ],
  });
  return {
    group,
    buffers,
    destroy: () => {
      for (const buffer of [uniform, ...buffers]) buffer.destroy();
    },
  };
}
