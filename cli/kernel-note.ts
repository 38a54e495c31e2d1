import { describeKernelChoice, type KernelChoiceSummary } from '../runtime/kernel-choice.ts';

/**
 * Tells the user which convolution kernels run (stderr), and why a tuning file was not used.
 * `what` names the program: the forward's `convolution kernels` or the step's `training kernels`.
 */
export function noteKernelChoice(
  chosen: KernelChoiceSummary | undefined,
  what = 'convolution kernels',
): void {
  if (!chosen) return;
  if (chosen.ignoredTuning) process.stderr.write(`hrnet: warning: ${chosen.ignoredTuning}\n`);
  process.stderr.write(`hrnet: ${what}: ${describeKernelChoice(chosen)}\n`);
}
