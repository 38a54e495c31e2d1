import { readMapped } from './result-wait.ts';

/**
 * Records `count` compute passes in one submission, each bracketed by GPU timestamps, and returns
 * each pass's milliseconds. `encode` fills pass i (pipeline, bind group, dispatch); the pass is ended
 * here. Needs the device's `timestamp-query` feature. The result is awaited with a `sleep` wait (see
 * mapRead): awaiting mapAsync at once keeps the JS thread polling, which on a software adapter takes
 * a core from the kernels being timed (they measured 1.6× slower on 2 cores).
 */
async function timePasses(
  device: GPUDevice,
  count: number,
  encode: (pass: GPUComputePassEncoder, i: number) => void,
  what: string,
): Promise<number[]> {
  // WebGPU caps a query set at 4096 queries: 2048 passes per set, all in one submission.
  const perSet = 2048;
  const sets = Array.from({ length: Math.ceil(count / perSet) }, (_, k) =>
    device.createQuerySet({ type: 'timestamp', count: 2 * Math.min(perSet, count - k * perSet) }),
  );
  const resolved = device.createBuffer({
    size: Math.max(16, 16 * count),
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const readback = device.createBuffer({
    size: Math.max(16, 16 * count),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = device.createCommandEncoder();
    for (let i = 0; i < count; i++) {
      const querySet = sets[Math.floor(i / perSet)]!;
      const j = i % perSet;
      const pass = encoder.beginComputePass({
        timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * j, endOfPassWriteIndex: 2 * j + 1 },
      });
      encode(pass, i);
      pass.end();
    }
    for (const [k, querySet] of sets.entries())
      encoder.resolveQuerySet(querySet, 0, querySet.count, resolved, 16 * k * perSet);
    encoder.copyBufferToBuffer(resolved, 0, readback, 0, 16 * count);
    device.queue.submit([encoder.finish()]);
    const data = await readMapped(device, readback, what);
    const stamps = new BigUint64Array(data);
    return Array.from({ length: count }, (_, i) => Number(stamps[2 * i + 1]! - stamps[2 * i]!) / 1e6);
  } finally {
    readback.destroy();
    resolved.destroy();
    for (const querySet of sets) querySet.destroy();
  }
}

/**
 * timePasses repeated until the total stops falling by 3% (3 to 4 runs; a machine's noise is mostly
 * slowdowns), returning the run with the smallest total.
 */
export async function timePassesSettled(
  device: GPUDevice,
  count: number,
  encode: (pass: GPUComputePassEncoder, i: number) => void,
  what: string,
): Promise<number[]> {
  const total = (times: readonly number[]) => times.reduce((a, b) => a + b, 0);
  let best = await timePasses(device, count, encode, what);
  for (let run = 1; run < 4; run++) {
    const times = await timePasses(device, count, encode, what);
    const improved = total(times) < total(best) * 0.97;
    if (total(times) < total(best)) best = times;
    if (!improved && run >= 2) break;
  }
  return best;
}
