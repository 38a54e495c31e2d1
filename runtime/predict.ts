import type { ForwardRunner } from './gpu/forward-runner.ts';
import type { RgbImage } from './image/image.ts';
import { mirrorImage } from './image/mirror.ts';
import { toNetworkInput, warpAffine } from './image/warp.ts';
import { boxToCenterScale, getAffineTransform, type Point } from './pose/affine.ts';
import {
  averageHeatmaps,
  finalPredictions,
  flipBack,
  type Heatmaps,
  type JointPrediction,
} from './pose/heatmaps.ts';
import type { JointSet } from './pose/joints.ts';

/** The config keys prediction follows, as the official test code reads them. */
export interface PredictSettings {
  /** [width, height]. */
  readonly imageSize: readonly [number, number];
  readonly heatmapSize: readonly [number, number];
  readonly colorRgb: boolean;
  readonly flipTest: boolean;
  readonly shiftHeatmap: boolean;
  readonly postProcess: boolean;
  readonly joints: JointSet;
}

export interface PersonBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface Prediction {
  readonly center: Point;
  readonly scale: Point;
  readonly joints: readonly JointPrediction[];
}

/** Center and scale of a box (the whole image when no box is given), as the official _box2cs. */
export function cropFor(image: RgbImage, box: PersonBox | undefined, settings: PredictSettings) {
  const b = box ?? { x: 0, y: 0, width: image.width, height: image.height };
  return boxToCenterScale(b.x, b.y, b.width, b.height, settings.imageSize[0] / settings.imageSize[1]);
}

/**
 * The official inference path for a set of crops: affine crop, normalisation, forward (and the
 * flipped forward when FLIP_TEST, flipped back and averaged), then decoding back to image pixels.
 */
export async function predictCrops(
  runner: Pick<ForwardRunner, 'run'>,
  crops: readonly { image: RgbImage; center: Point; scale: Point }[],
  settings: PredictSettings,
): Promise<Prediction[]> {
  const [width, height] = settings.imageSize;
  const perImage = 3 * width * height;
  const copies = settings.flipTest ? 2 : 1;
  const input = new Float32Array(perImage * crops.length * copies);
  crops.forEach((crop, i) => {
    const transform = getAffineTransform(crop.center, crop.scale, 0, [width, height]);
    const patch = warpAffine(crop.image, transform, width, height);
    toNetworkInput(patch, settings.colorRgb, input, i * perImage);
    if (settings.flipTest)
      toNetworkInput(mirrorImage(patch), settings.colorRgb, input, (crops.length + i) * perImage);
  });
  const output = await runner.run(input, crops.length * copies);
  const [hw, hh] = settings.heatmapSize;
  const count = crops.length * settings.joints.names.length * hw * hh;
  let heatmaps: Heatmaps = {
    batch: crops.length,
    joints: settings.joints.names.length,
    height: hh,
    width: hw,
    data: output.subarray(0, count),
  };
  if (settings.flipTest) {
    const flipped: Heatmaps = { ...heatmaps, data: output.subarray(count, 2 * count) };
    heatmaps = averageHeatmaps(heatmaps, flipBack(flipped, settings.joints.flipPairs, settings.shiftHeatmap));
  }
  const predictions = finalPredictions(
    heatmaps,
    crops.map((c) => c.center),
    crops.map((c) => c.scale),
    settings.postProcess,
  );
  return predictions.map((joints, i) => ({ center: crops[i]!.center, scale: crops[i]!.scale, joints }));
}
