import type { Binding, WeightEntry } from './program.ts';

/**
 * How many times a dispatch runs: once per window of the windowed weight it binds (see
 * WeightWindows), else once.
 */
export function windowCount(bindings: readonly Binding[], entries: readonly WeightEntry[]): number {
  const counts = bindings.flatMap((b) =>
    b.kind === 'weight' && entries[b.entry]!.windows ? [entries[b.entry]!.windows!.count] : [],
  );
  if (counts.some((c) => c !== counts[0])) throw new Error('a dispatch binds weights of unequal windows');
  return counts[0] ?? 1;
}

/** The bytes of a weight entry that run `window` of a dispatch binds: that window, or the whole entry. */
export function weightRange(entry: WeightEntry, window: number): { offset: number; size: number } {
  if (!entry.windows) return { offset: entry.offset, size: entry.bytes };
  return { offset: entry.offset + window * entry.windows.bytes, size: entry.windows.bytes };
}
