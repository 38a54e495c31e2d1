import { UserError } from '../../common/user-error.ts';

/** The standard COCO keypoint sigmas (person, 17 joints). */
export const cocoSigmas = [
  0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89,
].map((s) => s / 10);

export interface CocoGroundTruth {
  readonly images: readonly {
    readonly id: number;
    readonly width?: number;
    readonly height?: number;
    readonly file_name?: string;
  }[];
  readonly annotations: readonly CocoAnnotation[];
  readonly categories: readonly { readonly id: number; readonly name?: string }[];
}

export interface CocoAnnotation {
  readonly id: number;
  readonly image_id: number;
  readonly category_id: number;
  readonly bbox: readonly [number, number, number, number];
  readonly area: number;
  readonly iscrowd?: number;
  readonly keypoints: readonly number[];
  readonly num_keypoints: number;
}

export interface CocoResult {
  readonly image_id: number;
  readonly category_id: number;
  readonly keypoints: readonly number[];
  readonly score: number;
}

export const cocoStatNames = [
  'AP',
  'AP50',
  'AP75',
  'APm',
  'APl',
  'AR',
  'AR50',
  'AR75',
  'ARm',
  'ARl',
] as const;
export type CocoStats = Record<(typeof cocoStatNames)[number], number>;

const epsilon = 2.220446049250313e-16; // np.spacing(1)

/** numpy.linspace(start, stop, num): start + i·step, the last value exactly stop. */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : i * step + start));
}

const iouThresholds = linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1);
const recallThresholds = linspace(0, 1, Math.round((1 - 0) / 0.01) + 1);
const areaRanges: readonly [number, number][] = [
  [0, 1e10],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e10],
];
const maxDetections = 20;

interface Detection {
  readonly id: number;
  readonly keypoints: readonly number[];
  readonly score: number;
  readonly area: number;
}

interface EvalImage {
  readonly dtMatched: boolean[][];
  readonly dtIgnore: boolean[][];
  readonly dtScores: number[];
  readonly gtIgnore: boolean[];
}

/**
 * The standard COCO keypoint evaluation (pycocotools COCOeval with iouType 'keypoints'): OKS with the
 * standard sigmas, crowd and keypoint-less ground truth ignored, areas all/medium/large, at most 20
 * detections per image, greedy matching by score, and 101-point interpolated precision. The ten
 * summary numbers are fractions; -1 means nothing to evaluate, as in pycocotools.
 */
export function cocoKeypointEval(gt: CocoGroundTruth, results: readonly CocoResult[]): CocoStats {
  const imageIds = new Set(gt.images.map((i) => i.id));
  const unknown = results.find((r) => !imageIds.has(r.image_id));
  if (unknown)
    throw new UserError(
      `results refer to image_id ${unknown.image_id}, which the ground truth does not have`,
    );
  for (const r of results) {
    if (r.keypoints.length !== cocoSigmas.length * 3)
      throw new UserError(
        `a result for image ${r.image_id} has ${r.keypoints.length} keypoint values; 51 expected`,
      );
  }
  const categories = [...new Set(gt.categories.map((c) => c.id))].sort((a, b) => a - b);
  const images = [...imageIds].sort((a, b) => a - b);

  // loadRes: each result's area and id come from its keypoints' extent and its position.
  const detections = results.map((r, i): Detection & { image_id: number; category_id: number } => {
    const xs = r.keypoints.filter((_, k) => k % 3 === 0);
    const ys = r.keypoints.filter((_, k) => k % 3 === 1);
    const area = (Math.max(...xs) - Math.min(...xs)) * (Math.max(...ys) - Math.min(...ys));
    return {
      id: i + 1,
      keypoints: r.keypoints,
      score: r.score,
      area,
      image_id: r.image_id,
      category_id: r.category_id,
    };
  });

  const precision: number[][][][] = []; // [t][r][k][a]
  const recall: number[][][] = []; // [t][k][a]
  for (let t = 0; t < iouThresholds.length; t++) {
    precision.push(recallThresholds.map(() => categories.map(() => areaRanges.map(() => -1))));
    recall.push(categories.map(() => areaRanges.map(() => -1)));
  }

  categories.forEach((category, k) => {
    const perImage = new Map<number, { gts: CocoAnnotation[]; dts: typeof detections }>();
    for (const image of images) perImage.set(image, { gts: [], dts: [] });
    for (const a of gt.annotations)
      if (a.category_id === category && perImage.has(a.image_id)) perImage.get(a.image_id)!.gts.push(a);
    for (const d of detections) if (d.category_id === category) perImage.get(d.image_id)!.dts.push(d);

    // computeOks per image, over detections sorted by score and cut to maxDets.
    const oks = new Map<number, number[][]>();
    for (const [image, { gts, dts }] of perImage)
      oks.set(image, computeOks(gts, sortByScore(dts).slice(0, maxDetections)));

    areaRanges.forEach((range, a) => {
      const evaluated: EvalImage[] = [];
      for (const [image, { gts, dts }] of perImage) {
        const result = evaluateImage(gts, dts, oks.get(image)!, range);
        if (result) evaluated.push(result);
      }
      accumulate(evaluated, k, a, precision, recall);
    });
  });

  const mean = (values: number[]) => {
    const valid = values.filter((v) => v > -1);
    return valid.length === 0 ? -1 : valid.reduce((s, v) => s + v, 0) / valid.length;
  };
  const ap = (iou?: number, area = 0) =>
    mean(
      precision
        .filter((_, t) => iou === undefined || iouThresholds[t] === iou)
        .flatMap((byRecall) => byRecall.flatMap((byCategory) => byCategory.map((byArea) => byArea[area]!))),
    );
  const ar = (iou?: number, area = 0) =>
    mean(
      recall
        .filter((_, t) => iou === undefined || iouThresholds[t] === iou)
        .flatMap((byCategory) => byCategory.map((byArea) => byArea[area]!)),
    );
  return {
    AP: ap(),
    AP50: ap(0.5),
    AP75: ap(0.75),
    APm: ap(undefined, 1),
    APl: ap(undefined, 2),
    AR: ar(),
    AR50: ar(0.5),
    AR75: ar(0.75),
    ARm: ar(undefined, 1),
    ARl: ar(undefined, 2),
  };
}

/** Stable sort by descending score (numpy's mergesort of −score). */
function sortByScore<T extends { score: number }>(items: readonly T[]): T[] {
  return items
    .map((item, i) => ({ item, i }))
    .sort((x, y) => y.item.score - x.item.score || x.i - y.i)
    .map(({ item }) => item);
}

function computeOks(gts: readonly CocoAnnotation[], dts: readonly Detection[]): number[][] {
  if (gts.length === 0 || dts.length === 0) return [];
  const variances = cocoSigmas.map((s) => (s * 2) ** 2);
  const ious = dts.map(() => gts.map(() => 0));
  gts.forEach((g, j) => {
    const visible = cocoSigmas.map((_, k) => g.keypoints[k * 3 + 2]! > 0);
    const anyVisible = visible.some(Boolean);
    const [bx, by, bw, bh] = g.bbox;
    const x0 = bx - bw;
    const x1 = bx + bw * 2;
    const y0 = by - bh;
    const y1 = by + bh * 2;
    dts.forEach((d, i) => {
      let sum = 0;
      let n = 0;
      for (let k = 0; k < cocoSigmas.length; k++) {
        const xd = d.keypoints[k * 3]!;
        const yd = d.keypoints[k * 3 + 1]!;
        let dx: number;
        let dy: number;
        if (anyVisible) {
          if (!visible[k]) continue;
          dx = xd - g.keypoints[k * 3]!;
          dy = yd - g.keypoints[k * 3 + 1]!;
        } else {
          // No visible keypoints: distance to the doubled ground-truth box.
          dx = Math.max(0, x0 - xd) + Math.max(0, xd - x1);
          dy = Math.max(0, y0 - yd) + Math.max(0, yd - y1);
        }
        const e = (dx ** 2 + dy ** 2) / variances[k]! / (g.area + epsilon) / 2;
        sum += Math.exp(-e);
        n++;
      }
      ious[i]![j] = sum / n;
    });
  });
  return ious;
}

function evaluateImage(
  gtsIn: readonly CocoAnnotation[],
  dtsIn: readonly Detection[],
  oks: number[][],
  [low, high]: [number, number],
): EvalImage | undefined {
  if (gtsIn.length === 0 && dtsIn.length === 0) return undefined;
  const ignoredGt = gtsIn.map(
    (g) => Boolean(g.iscrowd) || g.num_keypoints === 0 || g.area < low || g.area > high,
  );
  // Ignored ground truth last (stable), detections by score, cut to maxDets.
  const gtOrder = gtsIn.map((_, i) => i).sort((a, b) => Number(ignoredGt[a]) - Number(ignoredGt[b]) || a - b);
  const gts = gtOrder.map((i) => gtsIn[i]!);
  const gtIgnore = gtOrder.map((i) => ignoredGt[i]!);
  const dts = sortByScore(dtsIn).slice(0, maxDetections);
  const crowd = gts.map((g) => Boolean(g.iscrowd));
  const ious = oks.length > 0 ? oks.map((row) => gtOrder.map((i) => row[i]!)) : [];
  const T = iouThresholds.length;
  const gtMatched = Array.from({ length: T }, () => gts.map(() => 0));
  const dtMatchedId = Array.from({ length: T }, () => dts.map(() => 0));
  const dtIgnore = Array.from({ length: T }, () => dts.map(() => false));
  if (ious.length > 0) {
    iouThresholds.forEach((t, ti) => {
      dts.forEach((d, di) => {
        let iou = Math.min(t, 1 - 1e-10);
        let m = -1;
        for (let gi = 0; gi < gts.length; gi++) {
          if (gtMatched[ti]![gi]! > 0 && !crowd[gi]) continue;
          if (m > -1 && !gtIgnore[m] && gtIgnore[gi]) break;
          if (ious[di]![gi]! < iou) continue;
          iou = ious[di]![gi]!;
          m = gi;
        }
        if (m === -1) return;
        dtIgnore[ti]![di] = gtIgnore[m]!;
        dtMatchedId[ti]![di] = gts[m]!.id;
        gtMatched[ti]![m] = d.id;
      });
    });
  }
  const outside = dts.map((d) => d.area < low || d.area > high);
  return {
    // A match to a ground truth whose id is 0 counts as no match, as in pycocotools.
    dtMatched: dtMatchedId.map((row) => row.map((id) => id !== 0)),
    dtIgnore: dtIgnore.map((row, ti) =>
      row.map((ignored, di) => ignored || (dtMatchedId[ti]![di] === 0 && outside[di]!)),
    ),
    dtScores: dts.map((d) => d.score),
    gtIgnore,
  };
}

function accumulate(
  evaluated: readonly EvalImage[],
  k: number,
  a: number,
  precision: number[][][][],
  recall: number[][][],
): void {
  if (evaluated.length === 0) return;
  const entries = evaluated.flatMap((e, ei) => e.dtScores.map((score, di) => ({ score, ei, di })));
  // Stable descending order of scores across images (numpy mergesort of −score).
  const order = entries.map((_, i) => i).sort((x, y) => entries[y]!.score - entries[x]!.score || x - y);
  const npig = evaluated.reduce((n, e) => n + e.gtIgnore.filter((ignored) => !ignored).length, 0);
  if (npig === 0) return;
  iouThresholds.forEach((_, t) => {
    let tp = 0;
    let fp = 0;
    const rc: number[] = [];
    const pr: number[] = [];
    for (const index of order) {
      const { ei, di } = entries[index]!;
      const matched = evaluated[ei]!.dtMatched[t]![di]!;
      const ignored = evaluated[ei]!.dtIgnore[t]![di]!;
      if (matched && !ignored) tp++;
      if (!matched && !ignored) fp++;
      rc.push(tp / npig);
      pr.push(tp / (fp + tp + epsilon));
    }
    const nd = rc.length;
    recall[t]![k]![a] = nd ? rc[nd - 1]! : 0;
    for (let i = nd - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
    recallThresholds.forEach((threshold, r) => {
      // np.searchsorted(rc, threshold, side='left'); thresholds past the last recall give 0.
      let lo = 0;
      let hi = nd;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (rc[mid]! < threshold) lo = mid + 1;
        else hi = mid;
      }
      precision[t]![r]![k]![a] = lo < nd ? pr[lo]! : 0;
    });
  });
}
