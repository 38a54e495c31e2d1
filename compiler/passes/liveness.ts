/** What one step of a linear schedule reads and writes (value ids). */
export interface ScheduleStep {
  readonly reads: readonly number[];
  /** A launch may compute several values (a fused launch). */
  readonly writes: readonly number[];
}

export interface LiveRange {
  /** The first step that writes it; -1 for values present before the first step. */
  readonly firstStep: number;
  /** The last step that reads (or writes) it; the step count for values read after the end. */
  readonly lastStep: number;
}

/**
 * When each value of a schedule is live, for the memory plan: from its first write to its last use.
 * `before` are present before step 0 (the inputs); `after` are read back after the last step.
 */
export function liveRanges(
  steps: readonly ScheduleStep[],
  before: readonly number[],
  after: readonly number[],
): Map<number, LiveRange> {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const use = (id: number, step: number) => last.set(id, Math.max(last.get(id) ?? step, step));
  for (const id of before) first.set(id, -1);
  steps.forEach(({ reads, writes }, step) => {
    for (const id of writes) {
      if (!first.has(id)) first.set(id, step);
      use(id, step);
    }
    for (const id of reads) use(id, step);
  });
  for (const id of after) use(id, steps.length);
  const ranges = new Map<number, LiveRange>();
  for (const [id, firstStep] of first) ranges.set(id, { firstStep, lastStep: last.get(id) ?? firstStep });
  return ranges;
}
