import type { ForwardRunner } from '../runtime/gpu/forward-runner.ts';
import { describeKernelChoice } from '../runtime/kernel-choice.ts';

/** Tells the user which convolution kernels run (stderr), and why a tuning file was not used. */
export function noteKernelChoice(runner: ForwardRunner): void {
  const chosen = runner.kernelChoice;
  if (!chosen) return;
  if (chosen.ignoredTuning) process.stderr.write(`hrnet: warning: ${chosen.ignoredTuning}\n`);
  process.stderr.write(`hrnet: convolution kernels: ${describeKernelChoice(chosen)}\n`);
}
