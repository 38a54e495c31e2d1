import { describe, expect, it } from 'vitest';
import { batchGridWithJoints, batchHeatmaps, inputToImage, jet } from '../../runtime/image/debug-pictures.ts';
import { toNetworkInput } from '../../runtime/image/warp.ts';
import { mpiiJoints } from '../../runtime/pose/joints.ts';

describe('debug pictures', () => {
  it('JET runs blue → cyan → yellow → red', () => {
    expect(jet(0)).toEqual([0, 0, 128]);
    expect(jet(0.5)).toEqual([128, 255, 128]);
    expect(jet(1)).toEqual([128, 0, 0]);
  });

  it('un-normalises inputs back to the picture, in RGB and BGR order', () => {
    const image = { width: 2, height: 1, data: Uint8Array.from([10, 20, 30, 200, 100, 50]) };
    for (const colorRgb of [true, false]) {
      const input = new Float32Array(6);
      toNetworkInput(image, colorRgb, input);
      expect([...inputToImage(input, 0, 2, 1, colorRgb).data]).toEqual([...image.data]);
    }
  });

  it('grids hold 8 images per row with 2-pixel padding; heatmap rows hold the image and one tile per joint', () => {
    const input = new Float32Array(10 * 3 * 8 * 8);
    const grid = batchGridWithJoints({ input, batch: 10, size: [8, 8], colorRgb: true }, [], mpiiJoints);
    expect([grid.width, grid.height]).toEqual([8 * 10 + 2, 2 * 10 + 2]);
    const heatmaps = { batch: 2, joints: 16, height: 4, width: 4, data: new Float32Array(2 * 16 * 16) };
    const rows = batchHeatmaps(
      { input: input.subarray(0, 2 * 3 * 64), batch: 2, size: [8, 8], colorRgb: true },
      heatmaps,
    );
    expect([rows.width, rows.height]).toEqual([4 * 17, 8]);
  });
});
