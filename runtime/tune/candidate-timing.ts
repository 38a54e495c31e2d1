import { median } from '../../common/median.ts';
import { timePassesSettled } from '../gpu/timed-passes.ts';
import type { TunedKernel } from '../kernel-choice.ts';

/**
 * Median milliseconds of `repetitions` passes of `encode`: GPU timestamp queries where the device
 * has them (waited for by the sleep wait, so the JS thread's polling does not slow what it times),
 * else the wall clock of one submission each.
 */
export async function timeCandidate(
  device: GPUDevice,
  encode: (pass: GPUComputePassEncoder) => void,
  repetitions: number,
): Promise<number> {
  if (device.features.has('timestamp-query'))
    return median(await timePassesSettled(device, repetitions, encode, 'timed kernel dispatches'));
  const times: number[] = [];
  for (let r = 0; r < repetitions; r++) {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    encode(pass);
    pass.end();
    const started = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    times.push(performance.now() - started);
  }
  return median(times);
}

/**
 * The fastest of the candidates that matched the reference; ties keep the order the compiler listed
 * them in, so the choice is deterministic given the times. Undefined when none matched.
 */
export function fastestCandidate(ms: Readonly<Record<string, number>>): TunedKernel | undefined {
  const fastest = Object.entries(ms).reduce<[string, number] | undefined>(
    (best, entry) => (best === undefined || entry[1] < best[1] ? entry : best),
    undefined,
  );
  return fastest ? { variant: fastest[0], ms } : undefined;
}
