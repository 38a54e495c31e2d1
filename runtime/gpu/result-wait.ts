import { withinDeadline } from './gpu-deadline.ts';

export type WaitMode = 'map' | 'sleep';

/**
 * Maps a read-back buffer of a submitted command buffer for reading, with a bounded wait
 * (withinDeadline).
 *
 * While a mapAsync promise is pending, dawn.node keeps the JS thread busy checking for it; on a
 * software adapter that thread takes a core from the driver's worker threads, and the kernels run
 * longer (on 2 cores, compare `npm run bench:forward`'s `map` and `sleep` rows). `sleep` instead
 * blocks the JS thread between single turns of the event loop, where dawn.node checks, so the wait
 * costs almost no CPU and ends within a slice of the result: no estimate of the submission's length
 * is needed, so a step that takes longer than the one before is not polled for its remainder. The
 * slices grow with the wait (a tenth of the time waited, 0.05–5 ms), so short submissions are not
 * held up. In a browser, whose WebGPU does not poll and whose page thread may not block, `sleep`
 * awaits the map as `map` does.
 */
export async function mapRead(
  device: GPUDevice,
  buffer: GPUBuffer,
  wait: WaitMode,
  what: string,
): Promise<void> {
  const mapped = withinDeadline(device, buffer.mapAsync(GPUMapMode.READ), what);
  if (wait === 'map' || !canBlock) return mapped;
  let settled = false;
  const done = mapped.finally(() => {
    settled = true;
  });
  done.catch(() => {});
  const started = performance.now();
  while (!settled) {
    Atomics.wait(blockSlot!, 0, 0, sleepSlice(performance.now() - started));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return done;
}

/** How long a `sleep` wait blocks before the next check, in ms, after waiting `waitedMs`. */
export function sleepSlice(waitedMs: number): number {
  return Math.min(5, Math.max(0.05, waitedMs / 10));
}

/** Node may block its main thread (Atomics.wait); a browser page may not, and its WebGPU does not poll. */
const canBlock = typeof process === 'object' && process.versions?.node !== undefined;
const blockSlot = canBlock ? new Int32Array(new SharedArrayBuffer(4)) : undefined;

/** Maps a read-back buffer (a `sleep` wait) and returns a copy of its contents. */
export async function readMapped(device: GPUDevice, buffer: GPUBuffer, what: string): Promise<ArrayBuffer> {
  await mapRead(device, buffer, 'sleep', what);
  const data = buffer.getMappedRange().slice(0);
  buffer.unmap();
  return data;
}
