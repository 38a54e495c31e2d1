import type { Sample } from '../data/sample.ts';
import { applyAffine, getAffineTransform, type Point } from '../pose/affine.ts';
import { type Heatmaps, maxPredictions } from '../pose/heatmaps.ts';
import type { JointSet } from '../pose/joints.ts';
import { copyImage, drawLine, drawSkeleton, fillCircle, type Rgb } from './draw.ts';
import type { RgbImage } from './image.ts';
import { imagenetMean, imagenetStd } from './warp.ts';

/** A sample's image with its visible joints and skeleton, and the crop box its center and scale give. */
export function drawSample(image: RgbImage, sample: Sample, joints: JointSet): RgbImage {
  const picture = copyImage(image);
  // The crop box: the corners of a 200·scale box mapped back from a unit output.
  const back = getAffineTransform(
    sample.center,
    sample.scale,
    0,
    [1, sample.scale[1] / sample.scale[0]],
    [0, 0],
    true,
  );
  const h = sample.scale[1] / sample.scale[0];
  const corners = [
    [0, 0],
    [1, 0],
    [1, h],
    [0, h],
  ].map((p) => applyAffine(back, p as [number, number]));
  corners.forEach((p, i) => {
    const q = corners[(i + 1) % 4]!;
    drawLine(picture, p[0], p[1], q[0], q[1], 1, [255, 255, 0]);
  });
  drawSkeleton(
    picture,
    sample.joints.map((p, j) => ({ x: p[0], y: p[1], visible: sample.visibility[j]! > 0 })),
    joints,
  );
  return picture;
}

/** The JET colormap (as cv2.COLORMAP_JET) for a value in [0, 1]. */
export function jet(value: number): Rgb {
  const v = Math.min(1, Math.max(0, value));
  const channel = (offset: number) =>
    Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - offset))));
  return [channel(3), channel(2), channel(1)];
}

/** A normalised network input (CHW, RGB or BGR order) back to an RGB picture. */
export function inputToImage(
  input: Float32Array,
  offset: number,
  width: number,
  height: number,
  colorRgb: boolean,
): RgbImage {
  const plane = width * height;
  const data = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const target = colorRgb ? c : 2 - c;
    for (let i = 0; i < plane; i++) {
      const value = (input[offset + c * plane + i]! * imagenetStd[c]! + imagenetMean[c]!) * 255;
      data[i * 3 + target] = Math.min(255, Math.max(0, Math.round(value)));
    }
  }
  return { width, height, data };
}

function paste(target: RgbImage, source: RgbImage, left: number, top: number): void {
  for (let y = 0; y < source.height; y++) {
    for (let x = 0; x < source.width; x++) {
      const to = ((top + y) * target.width + left + x) * 3;
      const from = (y * source.width + x) * 3;
      (target.data as Uint8Array).set(source.data.subarray(from, from + 3), to);
    }
  }
}

export interface BatchPictureInput {
  readonly input: Float32Array;
  readonly batch: number;
  /** [width, height] of the network input. */
  readonly size: readonly [number, number];
  readonly colorRgb: boolean;
}

/**
 * The official save_batch_image_with_joints: the batch's inputs in a grid (8 per row, 2-pixel
 * padding), each with its joints (in input pixels) drawn where visible.
 */
export function batchGridWithJoints(
  batch: BatchPictureInput,
  joints: readonly (readonly { x: number; y: number; visible: boolean }[])[],
  set: JointSet,
): RgbImage {
  const [w, h] = batch.size;
  const columns = Math.min(8, batch.batch);
  const rows = Math.ceil(batch.batch / columns);
  const padding = 2;
  const grid: RgbImage = {
    width: columns * (w + padding) + padding,
    height: rows * (h + padding) + padding,
    data: new Uint8Array((columns * (w + padding) + padding) * (rows * (h + padding) + padding) * 3),
  };
  for (let k = 0; k < batch.batch; k++) {
    const picture = inputToImage(batch.input, k * 3 * w * h, w, h, batch.colorRgb);
    drawSkeleton(picture, joints[k] ?? [], set, [255, 0, 0]);
    paste(
      grid,
      picture,
      padding + (k % columns) * (w + padding),
      padding + Math.floor(k / columns) * (h + padding),
    );
  }
  return grid;
}

/**
 * The official save_batch_heatmaps: one row per image — the input shrunk to the heatmap size, then
 * each joint's heatmap in JET blended 0.7/0.3 over it, with a dot at the heatmap's maximum.
 */
export function batchHeatmaps(batch: BatchPictureInput, heatmaps: Heatmaps): RgbImage {
  const { width: hw, height: hh, joints } = heatmaps;
  const out: RgbImage = {
    width: hw * (joints + 1),
    height: hh * batch.batch,
    data: new Uint8Array(hw * (joints + 1) * hh * batch.batch * 3),
  };
  const [w, h] = batch.size;
  for (let n = 0; n < batch.batch; n++) {
    const full = inputToImage(batch.input, n * 3 * w * h, w, h, batch.colorRgb);
    const small = shrink(full, hw, hh);
    paste(out, small, 0, n * hh);
    for (let j = 0; j < joints; j++) {
      const base = (n * joints + j) * hw * hh;
      let max = base;
      const tile: RgbImage = { width: hw, height: hh, data: new Uint8Array(hw * hh * 3) };
      for (let i = 0; i < hw * hh; i++) {
        const v = heatmaps.data[base + i]!;
        if (v > heatmaps.data[max]!) max = base + i;
        const color = jet(v);
        for (let c = 0; c < 3; c++)
          (tile.data as Uint8Array)[i * 3 + c] = Math.round(color[c]! * 0.7 + small.data[i * 3 + c]! * 0.3);
      }
      fillCircle(tile, (max - base) % hw, Math.floor((max - base) / hw), 1, [255, 0, 255]);
      paste(out, tile, (j + 1) * hw, n * hh);
    }
  }
  return out;
}

/** Box-filter downscale, enough for thumbnails. */
function shrink(image: RgbImage, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  const sx = image.width / width;
  const sy = image.height / height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor(x * sx);
      const y0 = Math.floor(y * sy);
      const x1 = Math.max(x0 + 1, Math.floor((x + 1) * sx));
      const y1 = Math.max(y0 + 1, Math.floor((y + 1) * sy));
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let yy = y0; yy < y1; yy++)
          for (let xx = x0; xx < x1; xx++) sum += image.data[(yy * image.width + xx) * 3 + c]!;
        data[(y * width + x) * 3 + c] = Math.round(sum / ((x1 - x0) * (y1 - y0)));
      }
    }
  }
  return { width, height, data };
}

/**
 * The official save_debug_images for one batch: `<prefix>_gt.png` and `_pred.png` (joints on the
 * inputs; predictions are heatmap argmaxes × the stride) and `_hm_gt.png`, `_hm_pred.png`.
 */
export function debugPictures(
  batch: BatchPictureInput,
  set: JointSet,
  truth: {
    joints: readonly (readonly Point[])[];
    visibility: readonly (readonly number[])[];
    target: Heatmaps;
  },
  output: Heatmaps,
  flags: { gt: boolean; pred: boolean; heatmapsGt: boolean; heatmapsPred: boolean },
): { suffix: string; image: RgbImage }[] {
  const pictures: { suffix: string; image: RgbImage }[] = [];
  const stride = batch.size[0] / output.width;
  if (flags.gt) {
    const joints = truth.joints.map((js, n) =>
      js.map((p, j) => ({ x: p[0], y: p[1], visible: truth.visibility[n]![j]! > 0 })),
    );
    pictures.push({ suffix: 'gt', image: batchGridWithJoints(batch, joints, set) });
  }
  if (flags.pred) {
    const predicted = maxPredictions(output).map((js) =>
      js.map((p) => ({ x: p.x * stride, y: p.y * stride, visible: true })),
    );
    pictures.push({ suffix: 'pred', image: batchGridWithJoints(batch, predicted, set) });
  }
  if (flags.heatmapsGt) pictures.push({ suffix: 'hm_gt', image: batchHeatmaps(batch, truth.target) });
  if (flags.heatmapsPred) pictures.push({ suffix: 'hm_pred', image: batchHeatmaps(batch, output) });
  return pictures;
}
