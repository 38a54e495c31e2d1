import { decodeJpeg } from '../runtime/image/jpeg.ts';
import type { RgbImage } from '../runtime/image/rgb-image.ts';

/**
 * Decodes an image file into the RGB pixels `hrnet predict` feeds the network in Node. A JPEG goes
 * through the runtime's own decoder (jpeg-js, EXIF orientation applied as predict does), because
 * browsers' JPEG decoders round some samples differently, enough to move a joint. Other images use
 * the browser's decoder with no colour management or alpha premultiplication, and alpha dropped, not
 * composited, as readImage does: for a PNG those are exactly the samples Node reads.
 */
export async function decodeImageFile(file: File): Promise<RgbImage> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return decodeJpeg(bytes, file.name, 'apply');
  const bitmap = await createImageBitmap(file, {
    colorSpaceConversion: 'none',
    premultiplyAlpha: 'none',
    imageOrientation: 'from-image',
  });
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('this browser cannot read pixels from a 2D canvas');
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, o = 0; i < rgba.length; i += 4, o += 3) {
    data[o] = rgba[i]!;
    data[o + 1] = rgba[i + 1]!;
    data[o + 2] = rgba[i + 2]!;
  }
  return { width, height, data };
}
