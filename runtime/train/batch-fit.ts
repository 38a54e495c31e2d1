import { UserError } from '../../common/user-error.ts';
import type { TrainStepProgram } from '../program.ts';

/** Bytes as people read them: 512 B, 256 KiB, 1.50 GiB. */
function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  let value = n;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1).replace(/\.?0+$/, '')} ${units[unit]}`;
}

/**
 * Checks, before any GPU memory is allocated, that a training batch of `count` images fits the device's
 * limits: the step keeps every activation of the batch in one buffer (maxBufferSize) and binds each
 * tensor for the whole batch (maxStorageBufferBindingSize). Training cannot split a batch (BatchNorm
 * needs all of it), so a batch that does not fit is an error that names the buffer, its size, the limit
 * and the largest batch that fits.
 */
export function checkTrainingBatchFits(
  limits: Pick<GPUSupportedLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>,
  step: Pick<TrainStepProgram, 'arenaBytesPerImage' | 'tensors' | 'parameterBytes' | 'fixedBytes'>,
  count: number,
  gpus = 1,
): void {
  const { maxBufferSize, maxStorageBufferBindingSize } = limits;
  if (step.parameterBytes > maxStorageBufferBindingSize || step.fixedBytes > maxBufferSize) {
    throw new UserError(
      `this GPU cannot hold the model: its parameters need ${formatBytes(step.parameterBytes)} in one binding (maxStorageBufferBindingSize ${formatBytes(maxStorageBufferBindingSize)}) and its fixed buffers ${formatBytes(step.fixedBytes)} (maxBufferSize ${formatBytes(maxBufferSize)})`,
    );
  }
  const largest = step.tensors.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const fitsArena = Math.floor(maxBufferSize / Math.max(1, step.arenaBytesPerImage));
  const fitsBinding = Math.floor(maxStorageBufferBindingSize / Math.max(1, largest.bytes));
  const fits = Math.min(fitsArena, fitsBinding);
  if (count <= fits) return;
  const problems: string[] = [];
  if (count > fitsArena)
    problems.push(
      `its activations need one buffer of ${formatBytes(step.arenaBytesPerImage * count)} (${formatBytes(step.arenaBytesPerImage)} per image), over this GPU's maxBufferSize of ${formatBytes(maxBufferSize)}`,
    );
  if (count > fitsBinding)
    problems.push(
      `the activation '${largest.label.replace(/^%\d+ /, '')}' needs ${formatBytes(largest.bytes * count)} in one binding (${formatBytes(largest.bytes)} per image), over this GPU's maxStorageBufferBindingSize of ${formatBytes(maxStorageBufferBindingSize)}`,
    );
  const perGpu = Math.floor(fits / gpus);
  throw new UserError(
    `a training batch of ${count} images is too large for this GPU: ${problems.join('; and ')}; ${
      perGpu < 1
        ? 'not even one image per GPU fits'
        : `the largest that fits is ${fits}: set TRAIN.BATCH_SIZE_PER_GPU ${perGpu}${gpus > 1 ? ` (× ${gpus} GPUS)` : ''} or lower`
    }`,
  );
}
