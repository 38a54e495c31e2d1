/** One tensor of a linear schedule: its size and the steps that write and last read it. */
export interface PlannedTensor {
  readonly id: number;
  readonly bytes: number;
  /** Step that writes it (-1 for tensors present before the first step, such as the input). */
  readonly firstStep: number;
  /** Last step that reads it (or the end, for tensors read back afterwards). */
  readonly lastStep: number;
}

export interface MemoryPlan {
  /** Byte offset of each tensor id. */
  readonly offsets: ReadonlyMap<number, number>;
  /** Arena size: the peak of live bytes the placement needs. */
  readonly arenaBytes: number;
  /** The lower bound: the most bytes live at any one step. */
  readonly peakLiveBytes: number;
}

export const arenaAlignment = 256;

export function alignUp(n: number, alignment = arenaAlignment): number {
  return Math.ceil(n / alignment) * alignment;
}

/**
 * Places tensors in one arena so that tensors whose lifetimes overlap never overlap in memory.
 * Greedy best fit, largest first: each tensor goes to the lowest offset free for its whole lifetime.
 * Lifetimes are inclusive, so a step's output never shares memory with that step's inputs.
 */
export function planMemory(tensors: readonly PlannedTensor[]): MemoryPlan {
  const sorted = [...tensors].sort((a, b) => b.bytes - a.bytes || a.firstStep - b.firstStep || a.id - b.id);
  const placed: { tensor: PlannedTensor; offset: number }[] = [];
  const offsets = new Map<number, number>();
  let arenaBytes = 0;
  for (const tensor of sorted) {
    const size = alignUp(tensor.bytes);
    const conflicts = placed
      .filter(({ tensor: other }) => other.firstStep <= tensor.lastStep && tensor.firstStep <= other.lastStep)
      .map(({ tensor: other, offset }) => ({ start: offset, end: offset + alignUp(other.bytes) }))
      .sort((a, b) => a.start - b.start);
    let offset = 0;
    for (const range of conflicts) {
      if (offset + size <= range.start) break;
      offset = Math.max(offset, range.end);
    }
    placed.push({ tensor, offset });
    offsets.set(tensor.id, offset);
    arenaBytes = Math.max(arenaBytes, offset + size);
  }
  const steps = new Set(tensors.flatMap((t) => [t.firstStep, t.lastStep]));
  let peakLiveBytes = 0;
  for (const step of steps) {
    const live = tensors
      .filter((t) => t.firstStep <= step && step <= t.lastStep)
      .reduce((n, t) => n + alignUp(t.bytes), 0);
    peakLiveBytes = Math.max(peakLiveBytes, live);
  }
  return { offsets, arenaBytes, peakLiveBytes };
}
