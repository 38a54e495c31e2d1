import type { Prng } from '../../../common/prng.ts';
import type { Rgb } from '../../image/draw.ts';
import type { Point } from '../../pose/affine.ts';
import type { Canvas } from './raster.ts';

/** A person drawn on a canvas: its joints in MPII and COCO order, and its head box. */
export interface Figure {
  /** MPII order (16). */
  readonly mpii: readonly Point[];
  /** COCO order (17); face points exist only for a figure facing the camera. */
  readonly coco: readonly Point[];
  readonly faceVisible: boolean;
  readonly headBox: readonly [Point, Point];
  /** Body height in pixels. */
  readonly height: number;
}

const degrees = Math.PI / 180;

function along(from: Point, angle: number, length: number): Point {
  return [from[0] + Math.sin(angle) * length, from[1] + Math.cos(angle) * length];
}

function randomColor(prng: Prng, low = 20, high = 235): Rgb {
  return [prng.uniform(low, high), prng.uniform(low, high), prng.uniform(low, high)].map(
    Math.round,
  ) as unknown as Rgb;
}

const skinTones: Rgb[] = [
  [241, 194, 125],
  [224, 172, 105],
  [198, 134, 66],
  [141, 85, 36],
  [92, 58, 30],
  [255, 219, 172],
];

/**
 * Poses a figure from a joint-angle prior and draws it: limbs as tapered segments in clothing and
 * skin colours, a torso polygon and a head, the far side first. Angles are measured from straight
 * down; `yaw` narrows the shoulders and hips as a turned body would.
 */
export function drawFigure(canvas: Canvas, prng: Prng, owner: number, center: Point, height: number): Figure {
  const h = height;
  const lean = prng.normal() * 8 * degrees;
  const yaw = prng.uniform(-70, 70) * degrees;
  const facing = prng.next() < 0.8 ? 1 : -1; // 1: facing the camera (the person's right on the image's left)
  const widthFactor = Math.max(0.35, Math.cos(yaw));
  const down = lean; // torso direction (pelvis → thorax is "up")
  const perp: Point = [Math.cos(lean), -Math.sin(lean)];
  const pelvis: Point = [center[0] - Math.sin(down) * 0.02 * h, center[1] + 0.02 * h];
  const thorax = along(pelvis, Math.PI + down, 0.3 * h);
  const neck = along(thorax, Math.PI + down, 0.06 * h);
  const headTop = along(neck, Math.PI + down + prng.normal() * 8 * degrees, 0.13 * h);
  const side = (point: Point, offset: number): Point => [
    point[0] + perp[0] * offset,
    point[1] + perp[1] * offset,
  ];
  const shoulderHalf = 0.11 * h * widthFactor;
  const hipHalf = 0.075 * h * widthFactor;
  // The person's right is on the image's left when facing the camera.
  const rShoulder = side(thorax, -facing * shoulderHalf);
  const lShoulder = side(thorax, facing * shoulderHalf);
  const rHip = side(pelvis, -facing * hipHalf);
  const lHip = side(pelvis, facing * hipHalf);

  const limb = (
    start: Point,
    outward: number,
    spread: [number, number],
    bend: [number, number],
    lengths: [number, number],
  ) => {
    const upperAngle = down + outward * prng.uniform(spread[0], spread[1]) * degrees;
    const foreshorten = () => prng.uniform(0.65, 1);
    const middle = along(start, upperAngle, lengths[0] * h * foreshorten());
    const lowerAngle =
      upperAngle + outward * prng.uniform(bend[0], bend[1]) * degrees * (prng.next() < 0.5 ? 1 : -1);
    const end = along(middle, lowerAngle, lengths[1] * h * foreshorten());
    return [middle, end] as const;
  };
  // outward: +1 turns toward the image's right.
  const rightOut = -facing;
  const leftOut = facing;
  const [rElbow, rWrist] = limb(rShoulder, rightOut, [-25, 160], [0, 130], [0.17, 0.15]);
  const [lElbow, lWrist] = limb(lShoulder, leftOut, [-25, 160], [0, 130], [0.17, 0.15]);
  const [rKnee, rAnkle] = limb(rHip, rightOut, [-20, 55], [0, 100], [0.24, 0.24]);
  const [lKnee, lAnkle] = limb(lHip, leftOut, [-20, 55], [0, 100], [0.24, 0.24]);

  const skin = skinTones[Math.floor(prng.next() * skinTones.length)]!;
  const shirt = randomColor(prng);
  const pants = randomColor(prng, 10, 180);
  const hair = randomColor(prng, 0, 90);
  const r = (f: number) => Math.max(1, f * h);
  const drawArm = (shoulder: Point, elbow: Point, wrist: Point) => {
    canvas.capsule(...shoulder, ...elbow, r(0.035), r(0.028), shirt, owner);
    canvas.capsule(...elbow, ...wrist, r(0.026), r(0.02), skin, owner);
  };
  const drawLeg = (hip: Point, knee: Point, ankle: Point) => {
    canvas.capsule(...hip, ...knee, r(0.05), r(0.036), pants, owner);
    canvas.capsule(...knee, ...ankle, r(0.034), r(0.024), pants, owner);
  };
  // The far side (depth by yaw) first, then the torso, the near side and the head.
  const rightIsFar = yaw * facing > 0;
  const limbs = {
    right: () => {
      drawLeg(rHip, rKnee, rAnkle);
      drawArm(rShoulder, rElbow, rWrist);
    },
    left: () => {
      drawLeg(lHip, lKnee, lAnkle);
      drawArm(lShoulder, lElbow, lWrist);
    },
  };
  (rightIsFar ? limbs.right : limbs.left)();
  canvas.polygon(
    [
      side(rShoulder, -facing * r(0.02)),
      side(lShoulder, facing * r(0.02)),
      side(lHip, facing * r(0.02)),
      side(rHip, -facing * r(0.02)),
    ],
    shirt,
    owner,
  );
  canvas.capsule(...thorax, ...neck, r(0.025), r(0.022), skin, owner);
  (rightIsFar ? limbs.left : limbs.right)();
  const headCenter: Point = [(neck[0] + headTop[0]) / 2, (neck[1] + headTop[1]) / 2];
  const headAngle = Math.atan2(headTop[0] - neck[0], -(headTop[1] - neck[1]));
  canvas.ellipse(...headCenter, r(0.05), r(0.07), headAngle, skin, owner);
  const hairCenter = along(headCenter, Math.PI + headAngle, r(0.025));
  canvas.ellipse(...hairCenter, r(0.052), r(0.045), headAngle, facing > 0 ? hair : hair, owner);
  if (facing < 0) canvas.ellipse(...headCenter, r(0.048), r(0.066), headAngle, hair, owner);

  // Face points (COCO): eyes, nose and ears around the head center, turned with the yaw.
  const headUp: Point = [Math.sin(headAngle), -Math.cos(headAngle)];
  const headRight: Point = [Math.cos(headAngle), Math.sin(headAngle)];
  const face = (up: number, across: number): Point => [
    headCenter[0] + headUp[0] * up * h + headRight[0] * across * h,
    headCenter[1] + headUp[1] * up * h + headRight[1] * across * h,
  ];
  const turn = Math.sin(yaw) * 0.02;
  const nose = face(-0.005, turn);
  const rEye = face(0.015, turn - facing * 0.02);
  const lEye = face(0.015, turn + facing * 0.02);
  const rEar = face(0.005, -facing * 0.045 + turn * 0.5);
  const lEar = face(0.005, facing * 0.045 + turn * 0.5);
  if (facing > 0) {
    for (const eye of [rEye, lEye])
      canvas.ellipse(...eye, r(0.006), r(0.004), headAngle, [30, 30, 30], owner);
  }
  const headHalf = 0.065 * h;
  return {
    mpii: [
      rAnkle,
      rKnee,
      rHip,
      lHip,
      lKnee,
      lAnkle,
      pelvis,
      thorax,
      neck,
      headTop,
      rWrist,
      rElbow,
      rShoulder,
      lShoulder,
      lElbow,
      lWrist,
    ],
    coco: [
      nose,
      lEye,
      rEye,
      lEar,
      rEar,
      lShoulder,
      rShoulder,
      lElbow,
      rElbow,
      lWrist,
      rWrist,
      lHip,
      rHip,
      lKnee,
      rKnee,
      lAnkle,
      rAnkle,
    ],
    faceVisible: facing > 0,
    headBox: [
      [headCenter[0] - headHalf, headCenter[1] - headHalf * 1.1],
      [headCenter[0] + headHalf, headCenter[1] + headHalf * 1.1],
    ],
    height: h,
  };
}

/** A cluttered background: a gradient, random shapes and noise. */
export function drawBackground(canvas: Canvas, prng: Prng): void {
  const top = randomColor(prng);
  const bottom = randomColor(prng);
  for (let y = 0; y < canvas.height; y++) {
    const t = y / Math.max(1, canvas.height - 1);
    const color = top.map((c, i) => Math.round(c * (1 - t) + bottom[i]! * t)) as unknown as Rgb;
    for (let x = 0; x < canvas.width; x++) canvas.set(x, y, color, -1);
  }
  const shapes = 6 + Math.floor(prng.next() * 14);
  for (let s = 0; s < shapes; s++) {
    const color = randomColor(prng);
    const x = prng.uniform(0, canvas.width);
    const y = prng.uniform(0, canvas.height);
    const size = prng.uniform(3, Math.min(canvas.width, canvas.height) / 3);
    const kind = prng.next();
    if (kind < 0.4)
      canvas.polygon(rectangle(x, y, size, size * prng.uniform(0.3, 2), prng.uniform(0, Math.PI)), color, -1);
    else if (kind < 0.75)
      canvas.ellipse(x, y, size / 2, size * prng.uniform(0.2, 0.8), prng.uniform(0, Math.PI), color, -1);
    else
      canvas.capsule(
        x,
        y,
        x + prng.uniform(-size, size) * 2,
        y + prng.uniform(-size, size) * 2,
        1,
        prng.uniform(1, 3),
        color,
        -1,
      );
  }
}

export function rectangle(cx: number, cy: number, w: number, h: number, angle: number): [number, number][] {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  return [
    [-w / 2, -h / 2],
    [w / 2, -h / 2],
    [w / 2, h / 2],
    [-w / 2, h / 2],
  ].map(([u, v]) => [cx + u! * cos - v! * sin, cy + u! * sin + v! * cos]);
}

/** Noise over the whole image, so flat regions are not trivially flat. */
export function addNoise(canvas: Canvas, prng: Prng, amplitude: number): void {
  for (let i = 0; i < canvas.data.length; i++) {
    canvas.data[i] = Math.min(
      255,
      Math.max(0, canvas.data[i]! + Math.round((prng.next() - 0.5) * 2 * amplitude)),
    );
  }
}
