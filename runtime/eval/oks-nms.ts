import { cocoSigmas } from './coco-eval.ts';

/** One person prediction, as the official evaluate() groups them per image. */
export interface PersonKeypoints {
  /** [x, y, score] per joint. */
  readonly keypoints: readonly (readonly [number, number, number])[];
  readonly area: number;
  score: number;
}

const epsilon = 2.220446049250313e-16;

/** The official oks_iou: OKS of `g` against each of `ds`, with the boxes' mean area. */
export function oksIou(g: PersonKeypoints, ds: readonly PersonKeypoints[], sigmas = cocoSigmas): number[] {
  const variances = sigmas.map((s) => (s * 2) ** 2);
  return ds.map((d) => {
    let sum = 0;
    for (let k = 0; k < sigmas.length; k++) {
      const dx = d.keypoints[k]![0] - g.keypoints[k]![0];
      const dy = d.keypoints[k]![1] - g.keypoints[k]![1];
      sum += Math.exp(-((dx ** 2 + dy ** 2) / variances[k]! / ((g.area + d.area) / 2 + epsilon) / 2));
    }
    return sum / sigmas.length;
  });
}

/** Indices sorted by descending score; ties keep numpy's argsort()[::-1] order (later index first). */
function descending(scores: readonly number[]): number[] {
  return scores
    .map((_, i) => i)
    .sort((a, b) => scores[a]! - scores[b]! || a - b)
    .reverse();
}

/** The official oks_nms: greedy by score, dropping predictions whose OKS with a kept one exceeds the threshold. */
export function oksNms(people: readonly PersonKeypoints[], threshold: number): number[] {
  let order = descending(people.map((p) => p.score));
  const keep: number[] = [];
  while (order.length > 0) {
    const i = order[0]!;
    keep.push(i);
    const rest = order.slice(1);
    const overlaps = oksIou(
      people[i]!,
      rest.map((r) => people[r]!),
    );
    order = rest.filter((_, j) => overlaps[j]! <= threshold);
  }
  return keep;
}

/** The official soft_oks_nms: Gaussian rescoring by OKS, at most 20 kept. */
export function softOksNms(people: readonly PersonKeypoints[], threshold: number, maxKept = 20): number[] {
  let order = descending(people.map((p) => p.score));
  let scores = order.map((i) => people[i]!.score);
  const keep: number[] = [];
  while (order.length > 0 && keep.length < maxKept) {
    const i = order[0]!;
    const overlaps = oksIou(
      people[i]!,
      order.slice(1).map((r) => people[r]!),
    );
    order = order.slice(1);
    scores = scores.slice(1).map((s, j) => s * Math.exp(-(overlaps[j]! ** 2) / threshold));
    const resorted = descending(scores);
    order = resorted.map((j) => order[j]!);
    scores = resorted.map((j) => scores[j]!);
    keep.push(i);
  }
  return keep;
}

/**
 * The official rescoring before NMS: the box score times the mean of the joint scores above
 * IN_VIS_THRE (the box score alone... times 0 when no joint passes, as the official code does).
 */
export function rescore(person: PersonKeypoints, inVisThreshold: number): number {
  let sum = 0;
  let valid = 0;
  for (const [, , s] of person.keypoints) {
    if (s > inVisThreshold) {
      sum += s;
      valid++;
    }
  }
  return (valid > 0 ? sum / valid : 0) * person.score;
}
