import { type Affine, invertAffine } from '../pose/affine.ts';
import type { RgbImage } from './image.ts';

/**
 * cv2.warpAffine with INTER_LINEAR and a constant 0 border: each output pixel samples the source at
 * the inverse-mapped position with bilinear weights (in floating point; OpenCV's fixed-point weights
 * can differ by one grey level).
 */
export function warpAffine(source: RgbImage, transform: Affine, width: number, height: number): RgbImage {
  const inverse = invertAffine(transform);
  const out = new Uint8Array(width * height * 3);
  const { width: sw, height: sh, data } = source;
  const pixel = (x: number, y: number, c: number) =>
    x >= 0 && y >= 0 && x < sw && y < sh ? data[(y * sw + x) * 3 + c]! : 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sx = inverse[0] * x + inverse[1] * y + inverse[2];
      const sy = inverse[3] * x + inverse[4] * y + inverse[5];
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < -1 || y0 < -1 || x0 >= sw || y0 >= sh) continue;
      const fx = sx - x0;
      const fy = sy - y0;
      for (let c = 0; c < 3; c++) {
        const top = pixel(x0, y0, c) * (1 - fx) + pixel(x0 + 1, y0, c) * fx;
        const bottom = pixel(x0, y0 + 1, c) * (1 - fx) + pixel(x0 + 1, y0 + 1, c) * fx;
        out[(y * width + x) * 3 + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return { width, height, data: out };
}

/** ImageNet mean and std, applied per channel in the channel order given (as the official code does). */
export const imagenetMean = [0.485, 0.456, 0.406] as const;
export const imagenetStd = [0.229, 0.224, 0.225] as const;

/**
 * The official input pipeline after the crop: channels in RGB order when COLOR_RGB, else BGR (the
 * order cv2 reads), /255, then ImageNet normalisation; written as CHW float32 into `target`.
 */
export function toNetworkInput(image: RgbImage, colorRgb: boolean, target: Float32Array, offset = 0): void {
  const plane = image.width * image.height;
  for (let c = 0; c < 3; c++) {
    const sourceChannel = colorRgb ? c : 2 - c;
    const mean = imagenetMean[c]!;
    const std = imagenetStd[c]!;
    for (let i = 0; i < plane; i++) {
      target[offset + c * plane + i] = (image.data[i * 3 + sourceChannel]! / 255 - mean) / std;
    }
  }
}
