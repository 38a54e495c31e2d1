export type WaitMode = 'map' | 'sleep';

/**
 * Waits for a submitted command buffer by mapping its read-back buffer. While a mapAsync promise is
 * pending, dawn.node keeps the JS thread busy polling; on a software adapter that thread competes with
 * the driver's worker threads for the cores. `sleep` first sleeps for most of the time the last
 * submission of the same size took, so the wait costs almost no CPU; `map` maps at once.
 */
export class ResultWait {
  private readonly lastMs = new Map<number, number>();

  /** Maps `buffer` for reading; call right after queue.submit, with the submission's size key. */
  async mapRead(buffer: GPUBuffer, wait: WaitMode, sizeKey: number): Promise<void> {
    const submitted = performance.now();
    const expected = this.lastMs.get(sizeKey) ?? 0;
    if (wait === 'sleep' && expected > 4) await new Promise((resolve) => setTimeout(resolve, expected * 0.9));
    await buffer.mapAsync(GPUMapMode.READ);
    this.lastMs.set(sizeKey, performance.now() - submitted);
  }
}
