import { describe, expect, it } from 'vitest';
import { Prng } from '../../common/prng.ts';
import { alignUp, type PlannedTensor, planMemory } from '../../compiler/passes/memory-plan.ts';

function overlaps(a: PlannedTensor, b: PlannedTensor): boolean {
  return a.firstStep <= b.lastStep && b.firstStep <= a.lastStep;
}

describe('memory plan (no device)', () => {
  it('reuses memory across disjoint lifetimes and never overlaps live tensors', () => {
    // A chain: each step reads the previous tensor only.
    const chain: PlannedTensor[] = [0, 1, 2, 3, 4].map((i) => ({
      id: i,
      bytes: 1000,
      firstStep: i - 1,
      lastStep: i,
    }));
    const plan = planMemory(chain);
    expect(plan.arenaBytes).toBe(2 * alignUp(1000));
    expect(plan.peakLiveBytes).toBe(2 * alignUp(1000));
  });

  it('keeps a long-lived tensor (a residual) apart from everything it overlaps', () => {
    const tensors: PlannedTensor[] = [
      { id: 0, bytes: 4096, firstStep: -1, lastStep: 3 },
      { id: 1, bytes: 1024, firstStep: 0, lastStep: 1 },
      { id: 2, bytes: 1024, firstStep: 1, lastStep: 2 },
      { id: 3, bytes: 2048, firstStep: 2, lastStep: 3 },
      { id: 4, bytes: 4096, firstStep: 3, lastStep: 4 },
    ];
    const plan = planMemory(tensors);
    for (const a of tensors) {
      for (const b of tensors) {
        if (a.id >= b.id || !overlaps(a, b)) continue;
        const [sa, sb] = [plan.offsets.get(a.id)!, plan.offsets.get(b.id)!];
        expect(sa + alignUp(a.bytes) <= sb || sb + alignUp(b.bytes) <= sa, `${a.id} and ${b.id}`).toBe(true);
      }
      expect(plan.offsets.get(a.id)! % 256).toBe(0);
    }
    expect(plan.arenaBytes).toBeGreaterThanOrEqual(plan.peakLiveBytes);
    expect(plan.peakLiveBytes).toBe(4096 + 2048 + 4096);
  });

  it('random schedules: no live overlap, arena within twice the peak', () => {
    const prng = new Prng(1);
    const random = () => prng.next();
    for (let trial = 0; trial < 50; trial++) {
      const tensors: PlannedTensor[] = Array.from({ length: 30 }, (_, id) => {
        const firstStep = Math.floor(random() * 20) - 1;
        return {
          id,
          bytes: 1 + Math.floor(random() * 10000),
          firstStep,
          lastStep: firstStep + 1 + Math.floor(random() * 6),
        };
      });
      const plan = planMemory(tensors);
      for (const a of tensors) {
        for (const b of tensors) {
          if (a.id >= b.id || !overlaps(a, b)) continue;
          const [sa, sb] = [plan.offsets.get(a.id)!, plan.offsets.get(b.id)!];
          expect(sa + alignUp(a.bytes) <= sb || sb + alignUp(b.bytes) <= sa).toBe(true);
        }
      }
      expect(plan.arenaBytes).toBeLessThanOrEqual(2 * plan.peakLiveBytes);
    }
  });
});
