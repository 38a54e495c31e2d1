import { UserError } from '../../common/user-error.ts';

/** An 8-bit RGB image, rows top to bottom. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * The most pixels an image may have: 2^26 (8192 x 8192, 67 megapixels). The size is read from the
 * PNG IHDR or JPEG SOF header before anything is decoded, so a header claiming 10^10 pixels is
 * refused without allocating.
 */
export const maxImagePixels = 2 ** 26;
/** The largest image file read: 1 GiB. */
export const maxImageFileBytes = 2 ** 30;

export class ImageError extends UserError {}

export function checkSize(width: number, height: number, what: string): void {
  if (width * height > maxImagePixels) {
    throw new ImageError(
      `${what}: is ${width}x${height} pixels (${width * height}), more than the ${maxImagePixels} (8192x8192) hrnet decodes; scale it down first`,
    );
  }
}
