import { Prng } from '../../common/prng.ts';
import type { OptimizerSettings } from '../../runtime/train/train-step-runner.ts';
import { testInput } from './test-weights.ts';

/** The batch scripts/reference/train_step_reference.py draws: input, target in [0, 1), weights 0/1. */
export function testTrainBatch(
  batch: number,
  joints: number,
  size: readonly [number, number],
  heatmap: readonly [number, number],
  seed: number,
) {
  const input = testInput(batch * 3 * size[0] * size[1], seed);
  const prng = new Prng(seed + 1);
  const target = Float32Array.from({ length: batch * joints * heatmap[0] * heatmap[1] }, () => prng.next());
  const targetWeight = Float32Array.from({ length: batch * joints }, () => (prng.next() < 0.8 ? 1 : 0));
  return { input, target, targetWeight };
}

/** Adam, as the reference scripts step it (the SGD fields unused). */
export const testAdam: OptimizerSettings = { kind: 'adam', momentum: 0.9, weightDecay: 0, nesterov: false };
