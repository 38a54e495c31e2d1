import { limbColor, type Rgb } from '../image/draw.ts';
import { encodePng, type RgbImage } from '../image/image.ts';
import type { JointSet } from '../pose/joints.ts';
import { chartFont, escapeXml } from './line-chart.ts';
import { svgToPng } from './render.ts';

export interface PredictedJoint {
  /** In the image's pixels. */
  readonly x: number;
  readonly y: number;
  readonly score: number;
}

export interface PredictionPictureOptions {
  /** Joints scoring below it are left out of the skeleton (greyed in the legend). */
  readonly threshold?: number;
  /** Small images are scaled up until their shorter side is at least this many pixels. */
  readonly minSide?: number;
  readonly title?: string;
}

const css = (c: Rgb) => `rgb(${c[0]},${c[1]},${c[2]})`;

/**
 * `hrnet predict`'s picture, as SVG and PNG: the image (a small crop scaled up so its shorter side is
 * at least `minSide`), the skeleton's limbs in colours that tell left from right, each confident joint
 * as a numbered dot in its own colour, and beside it a legend naming every joint with its number and
 * score.
 */
export function predictionPicture(
  image: RgbImage,
  joints: readonly PredictedJoint[],
  set: JointSet,
  options: PredictionPictureOptions = {},
): { svg: string; png: Uint8Array; width: number; height: number; scale: number } {
  const threshold = options.threshold ?? 0;
  const scale = Math.max(1, (options.minSide ?? 256) / Math.max(1, Math.min(image.width, image.height)));
  const shownWidth = Math.round(image.width * scale);
  const shownHeight = Math.round(image.height * scale);
  // Text grows with big photos so it stays readable next to them.
  const font = Math.max(12, Math.round(Math.min(shownWidth, shownHeight) / 45));
  const line = Math.round(font * 1.5);
  const titleHeight = options.title ? Math.round(font * 2.4) : 0;
  const names = set.names.map((name, k) => `${k} ${name}`);
  const legendWidth = Math.ceil(font * (2.6 + 0.62 * Math.max(...names.map((s) => s.length + 7))));
  const legendHeight = line * (names.length + 1) + font;
  const width = shownWidth + legendWidth + font;
  const height = titleHeight + Math.max(shownHeight, legendHeight);
  const visible = joints.map((j) => Number.isFinite(j.x) && Number.isFinite(j.y) && j.score >= threshold);
  const at = (j: PredictedJoint) =>
    [Number((j.x * scale).toFixed(2)), Number((j.y * scale).toFixed(2))] as const;
  const jointColor = (k: number) => css(limbColor(k, set.names.length));
  const radius = Math.max(3, Math.round(Math.min(shownWidth, shownHeight) / 70));
  const dataUri = `data:image/png;base64,${Buffer.from(encodePng(image)).toString('base64')}`;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${chartFont}, sans-serif" font-size="${font}" fill="#222222">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  if (options.title)
    out.push(
      `<text x="${Math.round(width / 2)}" y="${Math.round(titleHeight * 0.68)}" font-weight="bold" font-size="${Math.round(font * 1.25)}" text-anchor="middle">${escapeXml(options.title)}</text>`,
    );
  out.push(
    `<g transform="translate(0 ${titleHeight})">`,
    `<image x="0" y="0" width="${shownWidth}" height="${shownHeight}" preserveAspectRatio="none" xlink:href="${dataUri}"/>`,
  );
  set.skeleton.forEach(([a, b], i) => {
    const p = joints[a];
    const q = joints[b];
    if (!(p && q && visible[a] && visible[b])) return;
    const [x1, y1] = at(p);
    const [x2, y2] = at(q);
    out.push(
      `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${css(limbColor(i, set.skeleton.length))}" stroke-width="${radius}" stroke-linecap="round"/>`,
    );
  });
  joints.forEach((j, k) => {
    if (!visible[k]) return;
    const [x, y] = at(j);
    out.push(
      `<circle cx="${x}" cy="${y}" r="${radius}" fill="${jointColor(k)}" stroke="#ffffff" stroke-width="1.5"/>`,
      `<text x="${x + radius + 2}" y="${y - radius}" font-size="${Math.round(font * 0.85)}" fill="#ffffff" stroke="#000000" stroke-width="2.5" paint-order="stroke">${k}</text>`,
    );
  });
  const legendX = shownWidth + font;
  out.push(
    '</g>',
    `<g transform="translate(${legendX} ${titleHeight})">`,
    `<text x="0" y="${line}" font-weight="bold">joint (score)</text>`,
  );
  names.forEach((name, k) => {
    const y = line * (k + 2);
    const score = joints[k]?.score;
    const label = `${name} (${score === undefined || !Number.isFinite(score) ? '–' : score.toFixed(2)})`;
    out.push(
      `<circle cx="${Math.round(font * 0.6)}" cy="${y - Math.round(font * 0.35)}" r="${Math.round(font * 0.45)}" fill="${jointColor(k)}"/>`,
      `<text x="${Math.round(font * 1.6)}" y="${y}"${visible[k] ? '' : ' fill="#999999"'}>${escapeXml(label)}</text>`,
    );
  });
  out.push('</g>', '</svg>');
  const svg = `${out.join('\n')}\n`;
  return { svg, png: svgToPng(svg), width, height, scale };
}
