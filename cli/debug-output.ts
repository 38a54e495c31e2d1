import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.ts';
import type { Batch } from '../runtime/data/batch-loader.ts';
import { datasetSettings, type RuntimeConfig } from '../runtime/experiment-settings.ts';
import { debugPictures } from '../runtime/image/debug-pictures.ts';
import { encodePng } from '../runtime/image/image.ts';
import type { Heatmaps } from '../runtime/pose/heatmaps.ts';

/**
 * Writes the official DEBUG pictures for every PRINT_FREQ-th batch: <dir>/<prefix>_<i>_gt.png, _pred.png,
 * _hm_gt.png, _hm_pred.png, as chosen by DEBUG.SAVE_*.
 */
export function debugWriter(config: RuntimeConfig, dir: string, prefix: string) {
  const c = config as RuntimeConfig & {
    PRINT_FREQ: number;
    DEBUG: {
      SAVE_BATCH_IMAGES_GT: boolean;
      SAVE_BATCH_IMAGES_PRED: boolean;
      SAVE_HEATMAPS_GT: boolean;
      SAVE_HEATMAPS_PRED: boolean;
    };
  };
  const { item } = datasetSettings(config);
  return (index: number, batch: Batch, heatmaps: Heatmaps) => {
    if (index % c.PRINT_FREQ !== 0) return;
    const target: Heatmaps = { ...heatmaps, data: batch.target };
    const pictures = debugPictures(
      { input: batch.input, batch: batch.indices.length, size: item.imageSize, colorRgb: item.colorRgb },
      item.joints,
      { joints: batch.items.map((i) => i.joints), visibility: batch.items.map((i) => i.visibility), target },
      heatmaps,
      {
        gt: c.DEBUG.SAVE_BATCH_IMAGES_GT,
        pred: c.DEBUG.SAVE_BATCH_IMAGES_PRED,
        heatmapsGt: c.DEBUG.SAVE_HEATMAPS_GT,
        heatmapsPred: c.DEBUG.SAVE_HEATMAPS_PRED,
      },
    );
    for (const { suffix, image } of pictures)
      writeFileAtomic(join(dir, `${prefix}_${index}_${suffix}.png`), encodePng(image));
  };
}
