import type { WorkgroupCounts } from './program.ts';

/** The workgroup counts (x, y, z) of a dispatch for a batch of `batch` images. */
export function workgroupCounts(counts: WorkgroupCounts, batch: number): [number, number, number] {
  switch (counts.kind) {
    case 'tiles':
      return [Math.ceil((batch * counts.columnsPerImage) / counts.columnsPerGroup), counts.rows, 1];
    case 'split-tiles':
      return [
        Math.ceil((batch * counts.columnsPerImage + counts.fixedColumns) / counts.columnsPerGroup),
        counts.rows,
        counts.splits,
      ];
    case 'grid-stride':
      return [
        Math.min(Math.ceil((batch * counts.elementsPerImage) / counts.threads), counts.maxGroups),
        1,
        1,
      ];
    case 'fixed':
      return [counts.x, 1, 1];
  }
}
