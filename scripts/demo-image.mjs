// Writes a simple stick-figure PNG for the demo (the synthetic dataset replaces this later).
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

const [width, height] = [96, 128];
const png = new PNG({ width, height });
const set = (x, y, [r, g, b]) => {
  if (x < 0 || y < 0 || x >= width || y >= height) return;
  const i = (Math.round(y) * width + Math.round(x)) * 4;
  png.data[i] = r;
  png.data[i + 1] = g;
  png.data[i + 2] = b;
  png.data[i + 3] = 255;
};
for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) set(x, y, [40 + y, 60, 90]);
const limb = ([x0, y0], [x1, y1]) => {
  for (let t = 0; t <= 1; t += 0.01)
    for (let d = -2; d <= 2; d++) set(x0 + (x1 - x0) * t + d, y0 + (y1 - y0) * t, [230, 190, 150]);
};
const joints = {
  head: [48, 20],
  neck: [48, 34],
  pelvis: [48, 74],
  lh: [40, 76],
  rh: [56, 76],
  lk: [36, 98],
  rk: [60, 98],
  la: [34, 120],
  ra: [62, 120],
  ls: [36, 38],
  rs: [60, 38],
  le: [28, 56],
  re: [68, 56],
  lw: [24, 72],
  rw: [72, 72],
};
for (const [a, b] of [
  ['neck', 'pelvis'],
  ['lh', 'lk'],
  ['lk', 'la'],
  ['rh', 'rk'],
  ['rk', 'ra'],
  ['ls', 'le'],
  ['le', 'lw'],
  ['rs', 're'],
  ['re', 'rw'],
  ['ls', 'rs'],
  ['lh', 'rh'],
])
  limb(joints[a], joints[b]);
for (let a = 0; a < Math.PI * 2; a += 0.02)
  for (let r = 0; r < 9; r++) set(48 + r * Math.cos(a), 20 + r * Math.sin(a), [230, 190, 150]);
writeFileSync(process.argv[2], PNG.sync.write(png));
