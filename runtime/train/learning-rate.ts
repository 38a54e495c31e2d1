/**
 * The official schedule: MultiStepLR(LR_STEP, LR_FACTOR) stepped at the start of every epoch, so epoch
 * e (0-based) trains at LR · LR_FACTOR^(number of milestones ≤ e + 1) — one epoch earlier than the
 * milestone numbers suggest, as the official train.py does.
 */
export function learningRate(epoch: number, lr: number, steps: readonly number[], factor: number): number {
  const passed = steps.filter((milestone) => milestone <= epoch + 1).length;
  return lr * factor ** passed;
}
