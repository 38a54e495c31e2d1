import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { predictionPicture } from '../../runtime/chart/prediction-picture.ts';
import { cocoJoints, mpiiJoints } from '../../runtime/pose/joints.ts';

function gradient(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set([80 + (i % width), 120, 160], i * 3);
  return { width, height, data };
}

const joints = mpiiJoints.names.map((_, k) => ({ x: 4 + 3 * k, y: 10 + 4 * k, score: k === 15 ? 0.1 : 0.9 }));

describe('prediction picture', () => {
  it('scales a small crop up to 256 pixels on its shorter side and names every joint', () => {
    const picture = predictionPicture(gradient(64, 96), joints, mpiiJoints, {
      threshold: 0.2,
      title: 'a & b',
    });
    expect(picture.scale).toBe(4);
    const png = PNG.sync.read(Buffer.from(picture.png));
    expect([png.width, png.height]).toEqual([picture.width, picture.height]);
    expect(png.width).toBeGreaterThan(256);
    expect(png.height).toBeGreaterThanOrEqual(384);
    const texts = [...picture.svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(texts).toContain('a &amp; b');
    expect(texts).toContain('0 r_ankle (0.90)');
    expect(texts).toContain('15 l_wrist (0.10)');
    // Below the threshold: greyed in the legend, no dot or limb on the picture.
    expect(picture.svg).toMatch(/fill="#999999">15 l_wrist/);
    expect(picture.svg.match(/<circle[^>]*stroke="#ffffff"/g)).toHaveLength(15);
    // The legend is really drawn: dark pixels right of the image.
    let dark = 0;
    for (let y = 0; y < png.height; y++)
      for (let x = 256 + 12; x < png.width; x++) if (png.data[(y * png.width + x) * 4]! < 80) dark++;
    expect(dark).toBeGreaterThan(500);
  });

  it('keeps a large image at its size and lists the COCO joints', () => {
    const coco = cocoJoints.names.map((_, k) => ({ x: 10 * k, y: 10 * k, score: 0.5 }));
    const picture = predictionPicture(gradient(300, 400), coco, cocoJoints);
    expect(picture.scale).toBe(1);
    expect(picture.svg).toContain('16 right_ankle (0.50)');
  });
});
