/**
 * max |a − b| / max |b|: the error relative to the tensor's scale. Element-wise relative error is
 * meaningless where the reference is near zero, so every parity check in the project uses this.
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length)
    throw new Error(`lengths differ: ${actual.length} vs ${expected.length}`);
  let maxError = 0;
  let maxReference = 0;
  for (let i = 0; i < expected.length; i++) {
    const difference = Math.abs(actual[i]! - expected[i]!);
    if (!(difference <= maxError))
      maxError = Number.isNaN(difference) ? Number.POSITIVE_INFINITY : difference;
    maxReference = Math.max(maxReference, Math.abs(expected[i]!));
  }
  return maxReference === 0 ? maxError : maxError / maxReference;
}
