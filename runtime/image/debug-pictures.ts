import type { Sample } from '../data/sample.ts';
import { applyAffine, getAffineTransform } from '../pose/affine.ts';
import type { JointSet } from '../pose/joints.ts';
import { copyImage, drawLine, drawSkeleton } from './draw.ts';
import type { RgbImage } from './image.ts';

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
