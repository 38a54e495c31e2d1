import { type Batch, BatchLoader } from './data/batch-loader.ts';
import type { ItemSettings } from './data/joints-dataset.ts';
import type { Sample } from './data/sample.ts';
import type { ForwardRunner } from './gpu/forward-runner.ts';
import { pixelStd } from './pose/affine.ts';
import {
  averageHeatmaps,
  finalPredictions,
  flipBack,
  type Heatmaps,
  type JointPrediction,
} from './pose/heatmaps.ts';

export interface ValidateSettings {
  readonly item: ItemSettings;
  readonly batchSize: number;
  readonly workers: number;
  readonly flipTest: boolean;
  readonly shiftHeatmap: boolean;
  readonly postProcess: boolean;
  /** Called with each batch and its (flip-averaged) heatmaps, e.g. for DEBUG pictures. */
  readonly onBatchHeatmaps?: (index: number, batch: Batch, heatmaps: Heatmaps) => void;
}

/** Per sample, what the official validate() collects: joints with scores, and the box. */
export interface SamplePrediction {
  readonly sample: Sample;
  readonly joints: readonly JointPrediction[];
  /** prod(scale × 200), the official all_boxes[:, 4]. */
  readonly area: number;
}

/** Mirrors NCHW tensors along W (np.flip(input, 3)). */
export function flipTensor(data: Float32Array, planes: number, height: number, width: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < height; y++) {
      const row = (p * height + y) * width;
      for (let x = 0; x < width; x++) out[row + x] = data[row + width - 1 - x]!;
    }
  }
  return out;
}

/**
 * The official validate(): batches of the test split in file order, the forward (and, with
 * FLIP_TEST, the forward of the mirrored input, flipped back, shifted and averaged), then
 * get_final_preds from each sample's center and scale.
 */
export async function predictDataset(
  runner: ForwardRunner,
  samples: readonly Sample[],
  settings: ValidateSettings,
  onBatch?: (done: number, total: number) => void,
): Promise<SamplePrediction[]> {
  const loader = new BatchLoader({
    samples,
    batchSize: settings.batchSize,
    shuffle: false,
    augment: false,
    seed: 0,
    itemSettings: settings.item,
    workers: settings.workers,
  });
  const [width, height] = settings.item.imageSize;
  const [hw, hh] = settings.item.heatmapSize;
  const joints = settings.item.joints.names.length;
  const predictions: SamplePrediction[] = [];
  let batchIndex = 0;
  try {
    for await (const batch of loader.epoch(0)) {
      const count = batch.indices.length;
      const input = settings.flipTest ? new Float32Array(batch.input.length * 2) : batch.input;
      if (settings.flipTest) {
        input.set(batch.input);
        input.set(flipTensor(batch.input, count * 3, height, width), batch.input.length);
      }
      const output = await runner.run(input, settings.flipTest ? count * 2 : count);
      const size = count * joints * hw * hh;
      let heatmaps: Heatmaps = {
        batch: count,
        joints,
        height: hh,
        width: hw,
        data: output.subarray(0, size),
      };
      if (settings.flipTest) {
        const flipped: Heatmaps = { ...heatmaps, data: output.subarray(size, 2 * size) };
        heatmaps = averageHeatmaps(
          heatmaps,
          flipBack(flipped, settings.item.joints.flipPairs, settings.shiftHeatmap),
        );
      }
      settings.onBatchHeatmaps?.(batchIndex++, batch, heatmaps);
      const batchSamples = batch.indices.map((i) => samples[i]!);
      const decoded = finalPredictions(
        heatmaps,
        batchSamples.map((s) => s.center),
        batchSamples.map((s) => s.scale),
        settings.postProcess,
      );
      decoded.forEach((jointsOfSample, k) => {
        const sample = batchSamples[k]!;
        predictions.push({
          sample,
          joints: jointsOfSample,
          area: sample.scale[0] * pixelStd * sample.scale[1] * pixelStd,
        });
      });
      onBatch?.(predictions.length, samples.length);
    }
  } finally {
    await loader.close();
  }
  return predictions;
}
