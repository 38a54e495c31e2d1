import { UserError } from '../../common/user-error.ts';

/** The GPU device was lost (driver reset, device removed, destroyed) while work was under way. */
export class DeviceLostError extends UserError {}

/** The GPU could not allocate memory for a buffer. */
export class DeviceOutOfMemoryError extends UserError {}

/** The part of a GPUDevice a guard uses (a test can pass a stand-in). */
export type GuardedDevice = Pick<GPUDevice, 'lost' | 'pushErrorScope' | 'popErrorScope'>;

/** One line of a WebGPU message (Dawn's run over several, with the calls that led to them). */
function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

/**
 * Watches a device for loss and for failed allocations while GPU work runs, so that neither can hang a
 * command or let it go on with invalid buffers:
 * - `run` races the work against `device.lost`, so a lost device rejects at once with a
 *   DeviceLostError (even if the work would never settle);
 * - `run` also catches out-of-memory and validation errors raised by the device meanwhile: the first
 *   becomes a DeviceOutOfMemoryError, the second an internal error (one line), instead of Dawn's
 *   uncaptured-error warnings and a result read from invalid buffers.
 * `explain` adds what the user should know to both messages (e.g. where the last checkpoint is).
 */
export class DeviceGuard {
  private lostInfo: GPUDeviceLostInfo | undefined;
  private readonly lost: Promise<never>;

  constructor(
    private readonly device: GuardedDevice,
    private readonly explain: { lost?: () => string; outOfMemory?: () => string } = {},
  ) {
    this.lost = device.lost.then((info) => {
      this.lostInfo = info;
      throw this.lostError();
    });
    // Rejections are seen through `run`; nobody need be waiting when the device goes.
    this.lost.catch(() => {});
  }

  /** Whether the device has been lost (known once `device.lost` has resolved). */
  get isLost(): boolean {
    return this.lostInfo !== undefined;
  }

  private lostError(): DeviceLostError {
    const info = this.lostInfo!;
    const message = firstLine(info.message ?? '');
    const kind = info.reason === 'unknown' || message.includes(info.reason) ? '' : info.reason;
    const reason = message && kind ? `${message} (${kind})` : message || kind || 'no reason given';
    return new DeviceLostError(`the GPU device was lost: ${reason}${this.explain.lost?.() ?? ''}`);
  }

  /**
   * Runs `work` (GPU calls and waits); `what` says what it was doing (e.g. 'training step 3 of epoch
   * 2') in an out-of-memory message. A rejection of `work` after the device was lost becomes the
   * DeviceLostError.
   */
  async run<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.lostInfo) throw this.lostError();
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let failure: unknown;
    let value: T | undefined;
    let failed = false;
    try {
      const pending = work();
      pending.catch(() => {});
      value = await Promise.race([pending, this.lost]);
    } catch (e) {
      failed = true;
      failure = e;
    }
    if (!this.lostInfo) {
      // A failure may come from the device having just gone: give device.lost a moment to say so.
      if (failed && !(failure instanceof UserError))
        await Promise.race([this.lost, new Promise((resolve) => setTimeout(resolve, 100))]).catch(() => {});
    }
    if (this.lostInfo) throw this.lostError();
    let validation: GPUError | null = null;
    let outOfMemory: GPUError | null = null;
    try {
      validation = await this.device.popErrorScope();
      outOfMemory = await this.device.popErrorScope();
    } catch (e) {
      if (this.lostInfo) throw this.lostError();
      throw e;
    }
    if (outOfMemory)
      throw new DeviceOutOfMemoryError(
        `the GPU ran out of memory during ${what} (${firstLine(outOfMemory.message)})${this.explain.outOfMemory?.() ?? ''}`,
      );
    if (validation)
      throw new Error(`the GPU rejected a call during ${what}: ${firstLine(validation.message)}`);
    if (failed) throw failure;
    return value as T;
  }
}
