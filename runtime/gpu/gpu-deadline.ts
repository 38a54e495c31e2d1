import { UserError } from '../../common/user-error.ts';

/** The GPU did not finish a piece of work in the time allowed: a driver stall, not a slow kernel. */
export class GpuTimeoutError extends UserError {}

/** The device went away (driver reset, out of memory, destroyed) while work was pending. */
export class GpuDeviceLostError extends UserError {}

/** Seconds any single GPU wait may take before it is reported as a stall (HRNETC_GPU_TIMEOUT overrides). */
export const defaultGpuTimeoutSeconds = 600;

export function gpuTimeoutMs(): number {
  const configured = Number(process.env.HRNETC_GPU_TIMEOUT);
  return (Number.isFinite(configured) && configured > 0 ? configured : defaultGpuTimeoutSeconds) * 1000;
}

const lostReasons = new WeakMap<GPUDevice, Promise<never>>();

/** A promise that rejects with a GpuDeviceLostError once `device` is lost (never resolves). */
function whenLost(device: GPUDevice): Promise<never> {
  let lost = lostReasons.get(device);
  if (!lost) {
    lost = device.lost.then((info) => {
      throw new GpuDeviceLostError(
        `the GPU device was lost (${info.reason}${info.message ? `: ${info.message.trim()}` : ''})`,
      );
    });
    // Nobody may be waiting when the device goes; that is not an unhandled rejection.
    lost.catch(() => {});
    lostReasons.set(device, lost);
  }
  return lost;
}

/**
 * Waits for GPU work with a bound: every promise the WebGPU implementation hands out (a map, a
 * compilation, a pipeline, queue completion) settles, is cut short by the device's loss, or fails
 * with a clear message after the timeout. The timer keeps the process alive on purpose: a wait that
 * nothing else holds open must end in an error, not in a silent exit.
 */
export async function withinDeadline<T>(
  device: GPUDevice,
  work: Promise<T>,
  what: string,
  timeoutMs: number = gpuTimeoutMs(),
): Promise<T> {
  // Settling after the deadline is nobody's concern any more.
  work.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new GpuTimeoutError(
            `the GPU did not finish ${what} within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`} (set HRNETC_GPU_TIMEOUT=SECONDS to allow longer)`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work, timeout, whenLost(device)]);
  } finally {
    clearTimeout(timer);
  }
}
