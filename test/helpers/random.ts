import { Prng } from '../../common/prng.ts';
import type { Tensor64 } from '../../compiler/ir/interpret.ts';

/** Seeded random choices for kernel tests. Tensors hold float32-representable values in [-1, 1). */
export function randomSource(seed: number) {
  const prng = new Prng(seed);
  return {
    prng,
    pick: <T>(items: readonly T[]): T => items[Math.floor(prng.next() * items.length)]!,
    between: (low: number, high: number) => low + Math.floor(prng.next() * (high - low + 1)),
    tensor(shape: number[]): Tensor64 {
      const count = shape.reduce((n, d) => n * d, 1);
      return {
        shape,
        data: Float64Array.from(Float32Array.from({ length: count }, () => prng.uniform(-1, 1))),
      };
    },
  };
}
