/** A 2x3 affine matrix [[a, b, c], [d, e, f]] mapping (x, y) to (a·x + b·y + c, d·x + e·y + f). */
export type Affine = readonly [number, number, number, number, number, number];

export type Point = readonly [number, number];

/** The official pixel_std: a scale of 1 is 200 pixels. */
export const pixelStd = 200;

const f32 = Math.fround;

function rotate([x, y]: Point, radians: number): Point {
  const sin = Math.sin(radians);
  const cos = Math.cos(radians);
  return [x * cos - y * sin, x * sin + y * cos];
}

function thirdPoint(a: Point, b: Point): Point {
  return [f32(b[0] - (a[1] - b[1])), f32(b[1] + (a[0] - b[0]))];
}

/** cv2.getAffineTransform: the affine map sending the three `from` points to the three `to` points. */
export function affineFromPoints(from: readonly Point[], to: readonly Point[]): Affine {
  const [p0, p1, p2] = from as [Point, Point, Point];
  const [q0, q1, q2] = to as [Point, Point, Point];
  const det = p0[0] * (p1[1] - p2[1]) - p0[1] * (p1[0] - p2[0]) + (p1[0] * p2[1] - p2[0] * p1[1]);
  if (det === 0) throw new Error('affine points are collinear');
  const solve = (v0: number, v1: number, v2: number): [number, number, number] => [
    (v0 * (p1[1] - p2[1]) + v1 * (p2[1] - p0[1]) + v2 * (p0[1] - p1[1])) / det,
    (v0 * (p2[0] - p1[0]) + v1 * (p0[0] - p2[0]) + v2 * (p1[0] - p0[0])) / det,
    (v0 * (p1[0] * p2[1] - p2[0] * p1[1]) +
      v1 * (p2[0] * p0[1] - p0[0] * p2[1]) +
      v2 * (p0[0] * p1[1] - p1[0] * p0[1])) /
      det,
  ];
  return [...solve(q0[0], q1[0], q2[0]), ...solve(q0[1], q1[1], q2[1])] as unknown as Affine;
}

/**
 * The official get_affine_transform: maps the box of `scale`·200 pixels (only its width matters)
 * around `center`, rotated by `rotation` degrees, onto an output of `outputSize` [w, h]; with
 * `inverse`, the map back. Points are rounded to float32 as the official numpy code does.
 */
export function getAffineTransform(
  center: Point,
  scale: Point,
  rotation: number,
  outputSize: Point,
  shift: Point = [0, 0],
  inverse = false,
): Affine {
  const scaleWidth = scale[0] * pixelStd;
  const scaleHeight = scale[1] * pixelStd;
  const [dstW, dstH] = outputSize;
  const radians = (Math.PI * rotation) / 180;
  const srcDir = rotate([0, scaleWidth * -0.5], radians);
  const dstDir: Point = [0, f32(dstW * -0.5)];
  const src0: Point = [f32(center[0] + scaleWidth * shift[0]), f32(center[1] + scaleHeight * shift[1])];
  const src1: Point = [
    f32(center[0] + srcDir[0] + scaleWidth * shift[0]),
    f32(center[1] + srcDir[1] + scaleHeight * shift[1]),
  ];
  const dst0: Point = [f32(dstW * 0.5), f32(dstH * 0.5)];
  const dst1: Point = [f32(dstW * 0.5 + dstDir[0]), f32(dstH * 0.5 + dstDir[1])];
  const src = [src0, src1, thirdPoint(src0, src1)];
  const dst = [dst0, dst1, thirdPoint(dst0, dst1)];
  return inverse ? affineFromPoints(dst, src) : affineFromPoints(src, dst);
}

export function applyAffine(t: Affine, [x, y]: Point): Point {
  return [t[0] * x + t[1] * y + t[2], t[3] * x + t[4] * y + t[5]];
}

export function invertAffine(t: Affine): Affine {
  const [a, b, c, d, e, f] = t;
  const det = a * e - b * d;
  return [e / det, -b / det, (b * f - c * e) / det, -d / det, a / det, (c * d - a * f) / det];
}

/**
 * The official _xywh2cs: the box's center, and a scale (in units of 200 pixels) widened to the
 * network's aspect ratio, then enlarged by 1.25.
 */
export function boxToCenterScale(
  x: number,
  y: number,
  w: number,
  h: number,
  aspectRatio: number,
): { center: Point; scale: Point } {
  const center: Point = [f32(x + w * 0.5), f32(y + h * 0.5)];
  let width = w;
  let height = h;
  if (width > aspectRatio * height) height = (width * 1.0) / aspectRatio;
  else if (width < aspectRatio * height) width = height * aspectRatio;
  let scale: Point = [f32(width / pixelStd), f32(height / pixelStd)];
  if (center[0] !== -1) scale = [f32(scale[0] * 1.25), f32(scale[1] * 1.25)];
  return { center, scale };
}
