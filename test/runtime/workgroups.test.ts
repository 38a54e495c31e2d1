import { describe, expect, it } from 'vitest';
import { workgroupCounts } from '../../runtime/workgroups.ts';

describe('workgroup counts (no device)', () => {
  it('evaluates every kind for a batch', () => {
    const tiles = { kind: 'tiles', columnsPerImage: 100, columnsPerGroup: 64, rows: 3 } as const;
    expect(workgroupCounts(tiles, 1)).toEqual([2, 3, 1]);
    expect(workgroupCounts(tiles, 8)).toEqual([13, 3, 1]);
    const split = {
      kind: 'split-tiles',
      columnsPerImage: 10,
      fixedColumns: 70,
      columnsPerGroup: 32,
      rows: 2,
      splits: 5,
    } as const;
    expect(workgroupCounts(split, 1)).toEqual([3, 2, 5]);
    expect(workgroupCounts(split, 3)).toEqual([4, 2, 5]);
    const grid = { kind: 'grid-stride', elementsPerImage: 1000, threads: 256, maxGroups: 10 } as const;
    expect(workgroupCounts(grid, 1)).toEqual([4, 1, 1]);
    expect(workgroupCounts(grid, 4)).toEqual([10, 1, 1]);
    expect(workgroupCounts({ kind: 'fixed', x: 7 }, 9)).toEqual([7, 1, 1]);
  });
});
