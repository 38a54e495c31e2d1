import type { Affine } from '../pose/affine.ts';
import type { RgbImage } from './image.ts';

const interBits = 5;
const interTabSize = 1 << interBits;
const abBits = 10;
const abScale = 1 << abBits;
const coefBits = 15;
const coefScale = 1 << coefBits;

/** cvRound: round half to even, as lrint does. */
function cvRound(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * OpenCV's bilinear weight table: for each of 32×32 sub-pixel positions, four 15-bit fixed-point
 * weights adjusted to sum exactly to 1 << 15 (initInterTab2D).
 */
const bilinearTable: Int32Array = (() => {
  const table = new Int32Array(interTabSize * interTabSize * 4);
  for (let i = 0; i < interTabSize; i++) {
    for (let j = 0; j < interTabSize; j++) {
      const fy = i / interTabSize;
      const fx = j / interTabSize;
      const y = [1 - fy, fy];
      const x = [1 - fx, fx];
      const weights = [0, 1, 2, 3].map((k) => cvRound(y[k >> 1]! * x[k & 1]! * coefScale));
      const sum = weights.reduce((a, b) => a + b, 0);
      if (sum !== coefScale) {
        // Move the rounding error onto the largest (or smallest) weight, as OpenCV does.
        let min = 3;
        let max = 3;
        for (let k = 0; k < 4; k++) {
          if (weights[k]! < weights[min]!) min = k;
          else if (weights[k]! > weights[max]!) max = k;
        }
        const diff = sum - coefScale;
        if (diff < 0) weights[max]! -= diff;
        else weights[min]! -= diff;
      }
      table.set(weights, (i * interTabSize + j) * 4);
    }
  }
  return table;
})();

/**
 * cv2.warpAffine(src, M, (width, height), flags=INTER_LINEAR) with a constant 0 border, reproducing
 * OpenCV's arithmetic: the inverse map in double, source positions in fixed point with 1/32-pixel
 * steps, and 15-bit bilinear weights, so crops equal the official pipeline's to the grey level.
 */
export function warpAffine(source: RgbImage, transform: Affine, width: number, height: number): RgbImage {
  // cv::warpAffine's own inversion, in its order of operations.
  let [m0, m1, m2, m3, m4, m5] = transform;
  let d = m0 * m4 - m1 * m3;
  d = d !== 0 ? 1 / d : 0;
  const a11 = m4 * d;
  const a22 = m0 * d;
  m0 = a11;
  m1 *= -d;
  m3 *= -d;
  m4 = a22;
  const b1 = -m0 * m2 - m1 * m5;
  const b2 = -m3 * m2 - m4 * m5;
  m2 = b1;
  m5 = b2;

  const out = new Uint8Array(width * height * 3);
  const { width: sw, height: sh, data } = source;
  const roundDelta = abScale / interTabSize / 2;
  const adelta = Int32Array.from({ length: width }, (_, x) => cvRound(m0 * x * abScale));
  const bdelta = Int32Array.from({ length: width }, (_, x) => cvRound(m3 * x * abScale));
  const pixel = (x: number, y: number, c: number) =>
    x >= 0 && y >= 0 && x < sw && y < sh ? data[(y * sw + x) * 3 + c]! : 0;
  for (let y = 0; y < height; y++) {
    const x0 = cvRound((m1 * y + m2) * abScale) + roundDelta;
    const y0 = cvRound((m4 * y + m5) * abScale) + roundDelta;
    for (let x = 0; x < width; x++) {
      const X = (x0 + adelta[x]!) >> (abBits - interBits);
      const Y = (y0 + bdelta[x]!) >> (abBits - interBits);
      const sx = X >> interBits;
      const sy = Y >> interBits;
      const w = ((Y & (interTabSize - 1)) * interTabSize + (X & (interTabSize - 1))) * 4;
      const target = (y * width + x) * 3;
      if (sx >= sw || sx + 1 < 0 || sy >= sh || sy + 1 < 0) continue;
      for (let c = 0; c < 3; c++) {
        const value =
          pixel(sx, sy, c) * bilinearTable[w]! +
          pixel(sx + 1, sy, c) * bilinearTable[w + 1]! +
          pixel(sx, sy + 1, c) * bilinearTable[w + 2]! +
          pixel(sx + 1, sy + 1, c) * bilinearTable[w + 3]!;
        out[target + c] = Math.min(255, Math.max(0, (value + (1 << (coefBits - 1))) >> coefBits));
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
