import { withinDeadline } from './gpu-deadline.ts';

export type WaitMode = 'map' | 'sleep';

/**
 * Waits for a submitted command buffer by mapping its read-back buffer. While a mapAsync promise is
 * pending, dawn.node keeps the JS thread busy polling; on a software adapter that thread competes with
 * the driver's worker threads for the cores. `sleep` first sleeps for most of the shortest time a
 * submission of the same size has taken, so the wait costs almost no CPU; `map` maps at once.
 *
 * The shortest, not the last: one slow submission (a kernel compiled at its first dispatch, a busy
 * machine) must not make every later wait sleep that long. A sleep after which the result is already
 * there says only that the submission was shorter: the next wait alone then sleeps a fifth less (a
 * probe), so the sleep meets the real length in a few submissions rather than 10% at a time, while the
 * shortest time stays a measured one (a probe that wakes too early polls, and polling slows a software
 * adapter, so an underestimate kept for good would slow every later wait). Each wait is bounded
 * (withinDeadline).
 */
export class ResultWait {
  private readonly shortestMs = new Map<number, number>();
  /** The next wait's sleep, per size, after one that found the result already there. */
  private readonly probeMs = new Map<number, number>();

  /** Maps `buffer` for reading; call right after queue.submit, with the submission's size key. */
  async mapRead(
    device: GPUDevice,
    buffer: GPUBuffer,
    wait: WaitMode,
    sizeKey: number,
    what: string,
  ): Promise<void> {
    const submitted = performance.now();
    const sleep = wait === 'sleep' ? this.sleepMs(sizeKey) : 0;
    if (sleep > 0) await new Promise((resolve) => setTimeout(resolve, sleep));
    const mapping = performance.now();
    await withinDeadline(device, buffer.mapAsync(GPUMapMode.READ), what);
    const done = performance.now();
    const took = done - submitted;
    this.shortestMs.set(sizeKey, Math.min(took, this.shortestMs.get(sizeKey) ?? took));
    if (sleep > 0 && done - mapping < finishedWithinMs) this.probeMs.set(sizeKey, sleep * 0.8);
    else this.probeMs.delete(sizeKey);
  }

  /** How long a `sleep` wait for a submission of this size sleeps before it maps. */
  sleepMs(sizeKey: number): number {
    const shortest = this.shortestMs.get(sizeKey) ?? 0;
    if (shortest <= 4) return 0;
    return Math.min(shortest * 0.9, this.probeMs.get(sizeKey) ?? Number.POSITIVE_INFINITY);
  }
}

/** A map that resolves this soon after the sleep found the work already done. */
const finishedWithinMs = 2;

/** Maps a read-back buffer with a bounded wait and returns a copy of its contents. */
export async function readMapped(device: GPUDevice, buffer: GPUBuffer, what: string): Promise<ArrayBuffer> {
  await withinDeadline(device, buffer.mapAsync(GPUMapMode.READ), what);
  const data = buffer.getMappedRange().slice(0);
  buffer.unmap();
  return data;
}
