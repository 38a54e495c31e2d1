import { limbColor, type Rgb } from '../runtime/image/draw.ts';
import type { JointPrediction } from '../runtime/pose/heatmaps.ts';
import type { JointSet } from '../runtime/pose/joints.ts';

const css = (c: Rgb) => `rgb(${c[0]},${c[1]},${c[2]})`;

/**
 * Draws what `hrnet predict`'s picture shows, on a canvas: the image (small ones scaled up so the
 * shorter side is at least 256 pixels), the limbs between joints scoring at least `threshold`, each
 * such joint as a numbered dot, a legend with every joint's score, and the forward time.
 */
export function drawPrediction(
  canvas: HTMLCanvasElement,
  picture: CanvasImageSource & { width: number; height: number },
  joints: readonly JointPrediction[],
  set: JointSet,
  options: { threshold: number; caption: string },
): void {
  const scale = Math.max(1, 256 / Math.max(1, Math.min(picture.width, picture.height)));
  const shownWidth = Math.round(picture.width * scale);
  const shownHeight = Math.round(picture.height * scale);
  const font = Math.max(12, Math.round(Math.min(shownWidth, shownHeight) / 45));
  const line = Math.round(font * 1.5);
  const captionHeight = Math.round(font * 2);
  const labels = set.names.map((name, k) => {
    const score = joints[k]?.score;
    return `${k} ${name} (${score === undefined || !Number.isFinite(score) ? '–' : score.toFixed(2)})`;
  });
  const legendWidth = Math.ceil(font * (2.6 + 0.62 * Math.max(...labels.map((s) => s.length))));
  canvas.width = shownWidth + legendWidth + font;
  canvas.height = captionHeight + Math.max(shownHeight, line * (labels.length + 1) + font);
  const context = canvas.getContext('2d');
  if (!context) throw new Error('this browser cannot draw on a 2D canvas');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.font = `${font}px sans-serif`;
  context.fillStyle = '#222222';
  context.fillText(options.caption, font * 0.5, captionHeight * 0.7);

  context.save();
  context.translate(0, captionHeight);
  context.imageSmoothingEnabled = scale === 1;
  context.drawImage(picture, 0, 0, shownWidth, shownHeight);
  // Joints may be predicted outside the image (an untrained network does): they stay off the legend.
  context.beginPath();
  context.rect(0, 0, shownWidth, shownHeight);
  context.clip();
  const visible = joints.map(
    (j) => Number.isFinite(j.x) && Number.isFinite(j.y) && j.score >= options.threshold,
  );
  const radius = Math.max(3, Math.round(Math.min(shownWidth, shownHeight) / 70));
  context.lineCap = 'round';
  context.lineWidth = radius;
  set.skeleton.forEach(([a, b], i) => {
    const p = joints[a];
    const q = joints[b];
    if (!(p && q && visible[a] && visible[b])) return;
    context.strokeStyle = css(limbColor(i, set.skeleton.length));
    context.beginPath();
    context.moveTo(p.x * scale, p.y * scale);
    context.lineTo(q.x * scale, q.y * scale);
    context.stroke();
  });
  context.font = `${Math.round(font * 0.85)}px sans-serif`;
  joints.forEach((j, k) => {
    if (!visible[k]) return;
    const [x, y] = [j.x * scale, j.y * scale];
    context.fillStyle = css(limbColor(k, set.names.length));
    context.strokeStyle = '#ffffff';
    context.lineWidth = 1.5;
    context.beginPath();
    context.arc(x, y, radius, 0, 2 * Math.PI);
    context.fill();
    context.stroke();
    context.lineWidth = 2.5;
    context.strokeStyle = '#000000';
    context.strokeText(String(k), x + radius + 2, y - radius);
    context.fillStyle = '#ffffff';
    context.fillText(String(k), x + radius + 2, y - radius);
  });
  context.restore();

  context.save();
  context.translate(shownWidth + font, captionHeight);
  context.font = `bold ${font}px sans-serif`;
  context.fillStyle = '#222222';
  context.fillText('joint (score)', 0, line);
  context.font = `${font}px sans-serif`;
  labels.forEach((label, k) => {
    const y = line * (k + 2);
    context.fillStyle = css(limbColor(k, set.names.length));
    context.beginPath();
    context.arc(font * 0.6, y - font * 0.35, font * 0.45, 0, 2 * Math.PI);
    context.fill();
    context.fillStyle = visible[k] ? '#222222' : '#999999';
    context.fillText(label, font * 1.6, y);
  });
  context.restore();
}
