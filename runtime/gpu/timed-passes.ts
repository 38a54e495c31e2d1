import { readMapped } from './result-wait.ts';

/**
 * Records `count` compute passes in one submission, each bracketed by GPU timestamps, and returns
 * each pass's milliseconds. `encode` fills pass i (pipeline, bind group, dispatch); the pass is ended
 * here. Needs the device's `timestamp-query` feature.
 */
export async function timePasses(
  device: GPUDevice,
  count: number,
  encode: (pass: GPUComputePassEncoder, i: number) => void,
  what: string,
): Promise<number[]> {
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * count });
  const resolved = device.createBuffer({
    size: 16 * count,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const readback = device.createBuffer({
    size: 16 * count,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = device.createCommandEncoder();
    for (let i = 0; i < count; i++) {
      const pass = encoder.beginComputePass({
        timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
      });
      encode(pass, i);
      pass.end();
    }
    encoder.resolveQuerySet(querySet, 0, 2 * count, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, readback, 0, 16 * count);
    device.queue.submit([encoder.finish()]);
    const stamps = new BigUint64Array(await readMapped(device, readback, what));
    return Array.from({ length: count }, (_, i) => Number(stamps[2 * i + 1]! - stamps[2 * i]!) / 1e6);
  } finally {
    readback.destroy();
    resolved.destroy();
    querySet.destroy();
  }
}
